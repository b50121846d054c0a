"""What an administrator reads about memory (lesson 08): /proc/meminfo,
/proc/vmstat, ``free``, ``vmstat``, and ``drop_caches``, for the simulated
machine and, beside it, for the real one (:mod:`.proc`, :mod:`.tools`)."""

from . import proc, tools
from .proc import *
from .tools import *

__all__ = [*proc.__all__, *tools.__all__]
