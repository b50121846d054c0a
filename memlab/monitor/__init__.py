"""What an administrator reads about memory (lesson 08): /proc/meminfo,
/proc/vmstat, ``free``, ``vmstat``, ``top``, ``ps`` and ``drop_caches``,
for the simulated machine and, beside it, for the real one (:mod:`.proc`,
:mod:`.tools`, :mod:`.procs`)."""

from . import proc, procs, tools
from .proc import *
from .procs import *
from .tools import *

__all__ = [*proc.__all__, *tools.__all__, *procs.__all__]
