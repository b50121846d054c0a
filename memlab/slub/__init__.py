"""SLUB and kmalloc: geometry, slabs and caches, the allocator, slub_debug.

The public names are re-exported here (``from memlab.slub import Slub,
SLAB_HWCACHE_ALIGN, kmalloc_index, ...``).
"""

# The public names of every module, re-exported; each module's __all__ is the list.
from ..errors import BadCache, SlabCorruption
from . import allocator, cache, geometry
from .allocator import *
from .cache import *
from .geometry import *

__all__ = ["BadCache", "SlabCorruption", *allocator.__all__, *cache.__all__, *geometry.__all__]
