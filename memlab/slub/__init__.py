"""SLUB and kmalloc: geometry, slabs and caches, the allocator, slub_debug.

The public names are re-exported here (``from memlab.slub import Slub,
SLAB_HWCACHE_ALIGN, kmalloc_index, ...``).
"""

from ..errors import BadCache, SlabCorruption
from .allocator import Slub
from .cache import KmemCache, Slab, SlabState
from .geometry import (ARCH_SLAB_MINALIGN, CACHE_LINE_SIZE, KMALLOC_MAX_CACHE_SIZE, KMALLOC_SHIFT_HIGH,
                       KMALLOC_SHIFT_LOW, KMALLOC_TYPES, MAX_OBJS_PER_PAGE, MAX_PARTIAL, MIN_PARTIAL, OBJECT_POISON,
                       POISON_END, POISON_FREE, POISON_INUSE, SLAB_ACCOUNT, SLAB_CACHE_DMA, SLAB_CACHE_DMA32,
                       SLAB_CONSISTENCY_CHECKS, SLAB_DEBUG_FLAGS, SLAB_HWCACHE_ALIGN, SLAB_KMALLOC, SLAB_POISON,
                       SLAB_RECLAIM_ACCOUNT, SLAB_RED_ZONE, SLAB_STORE_USER, SLUB_MAX_ORDER, SLUB_MIN_ORDER,
                       SLUB_RED_ACTIVE, SLUB_RED_INACTIVE, WORD, ZERO_SIZE_PTR, calc_slab_order,
                       calculate_alignment, calculate_order, kmalloc_index, kmalloc_name, kmalloc_size_of_index,
                       order_objects, parse_slub_debug)

__all__ = [
    "Slub", "KmemCache", "Slab", "SlabState", "SlabCorruption", "BadCache",
    "calculate_order", "calc_slab_order", "calculate_alignment", "order_objects", "kmalloc_index",
    "kmalloc_size_of_index", "kmalloc_name", "parse_slub_debug",
    "SLAB_CONSISTENCY_CHECKS", "SLAB_RED_ZONE", "SLAB_POISON", "SLAB_KMALLOC", "SLAB_HWCACHE_ALIGN",
    "SLAB_CACHE_DMA", "SLAB_CACHE_DMA32", "SLAB_STORE_USER", "SLAB_RECLAIM_ACCOUNT", "SLAB_ACCOUNT",
    "SLAB_DEBUG_FLAGS", "OBJECT_POISON", "POISON_INUSE", "POISON_FREE", "POISON_END", "SLUB_RED_INACTIVE",
    "SLUB_RED_ACTIVE", "ZERO_SIZE_PTR", "WORD", "CACHE_LINE_SIZE", "ARCH_SLAB_MINALIGN", "SLUB_MAX_ORDER",
    "SLUB_MIN_ORDER", "MAX_OBJS_PER_PAGE", "MIN_PARTIAL", "MAX_PARTIAL", "KMALLOC_SHIFT_LOW",
    "KMALLOC_SHIFT_HIGH", "KMALLOC_MAX_CACHE_SIZE", "KMALLOC_TYPES",
]
