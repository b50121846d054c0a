"""Slabs and caches: ``struct slab`` and ``struct kmem_cache``.

Kernel: mm/slab.h struct slab, include/linux/slub_def.h struct kmem_cache,
mm/slub.c calculate_sizes() (the object layout with its free pointer and
debug metadata), set_min_partial(), get_slabinfo().
"""

from __future__ import annotations

from ..gfp import GFP
from ..layout import pfn_to_virt
from ..records import StrEnum
from ..units import PAGE_SIZE, order_for_size
from .geometry import (
    MAX_PARTIAL,
    MIN_PARTIAL,
    OBJECT_POISON,
    SLAB_CACHE_DMA,
    SLAB_CACHE_DMA32,
    SLAB_DEBUG_FLAGS,
    SLAB_KMALLOC,
    SLAB_POISON,
    SLAB_RECLAIM_ACCOUNT,
    SLAB_RED_ZONE,
    SLAB_STORE_USER,
    SLUB_MAX_ORDER,
    TRACK_SIZE,
    WORD,
    align_up,
    calc_slab_order,
    calculate_alignment,
    calculate_order,
    fls,
    order_objects,
)

__all__ = ["Slab", "KmemCache", "SlabState"]


class SlabState(StrEnum):
    """Which list a slab is on: the CPU slab, the node's partial list, the
    full slabs (SLUB keeps these on no list without debugging; memlab tracks
    them for the drawings), or freed back to the page allocator."""

    NEW = "new"
    CPU = "cpu"
    PARTIAL = "partial"
    FULL = "full"
    FREED = "freed"


class Slab:
    """One slab: ``2**order`` pages cut into ``objects`` objects.

    ``freelist`` is the LIFO free list of object indices (the head is its
    last element, as SLUB pushes and pops at the head); ``inuse`` the number
    of objects handed out. Kernel: struct slab (mm/slab.h).
    """

    __slots__ = ("cache", "page", "base", "obj0", "objects", "inuse", "freelist", "isfree", "state")

    def __init__(self, cache, page):
        self.cache = cache
        self.page = page
        self.base = pfn_to_virt(page.pfn)
        self.obj0 = self.base + cache.red_left_pad  # address of object 0
        self.objects = order_objects(page.order, cache.size)
        self.inuse = 0
        self.freelist = list(range(self.objects - 1, -1, -1))  # head (object 0) last
        self.isfree = bytearray(b"\x01") * self.objects
        self.state = SlabState.NEW

    def object_address(self, index):
        return self.obj0 + index * self.cache.size

    def __repr__(self):
        return (
            f"<Slab {self.cache.name} pfn {self.page.pfn} order {self.page.order}: "
            f"{self.inuse}/{self.objects} in use, {self.state}>"
        )


class KmemCache:
    """``struct kmem_cache``: a cache of equal-sized objects.

    ``.name``, ``.object_size`` (what the caller asked for), ``.size`` (the
    stride: object plus alignment and debug metadata), ``.align``,
    ``.offset`` (where the free pointer lives), ``.inuse``, ``.order``,
    ``.objperslab``, ``.pagesperslab``, ``.min_partial``, ``.ctor``.
    """

    def __init__(self, slub, name, object_size, align, flags, ctor):
        self.slub = slub
        self.name = name
        self.object_size = object_size
        self.flags = flags
        self.ctor = ctor
        self.align = calculate_alignment(flags, align, object_size)
        self._calculate_sizes(slub.nr_cpus)
        # kmem_cache_debug(): alloc and free go through the debug processing
        self.debug = bool(self.flags & (SLAB_DEBUG_FLAGS | OBJECT_POISON))
        self.min_partial = min(MAX_PARTIAL, max(MIN_PARTIAL, (self.size.bit_length() - 1) // 2))
        self.cpu_slab = None
        self.partial = []  # node partial list, head first
        self.full = []  # full slabs (SLUB keeps these on no list without debug)
        self.nr_slabs = 0
        self.total_objects = 0
        self.alloc_gfp = (  # s->allocflags (mm/slub.c calculate_sizes()), less __GFP_COMP
            (GFP["GFP_DMA"] if flags & SLAB_CACHE_DMA else (GFP["GFP_DMA32"] if flags & SLAB_CACHE_DMA32 else 0))
            | (GFP["__GFP_RECLAIMABLE"] if flags & SLAB_RECLAIM_ACCOUNT else 0)
        )
        self.requested = {}  # address -> bytes asked for (kmalloc), for internal fragmentation

    def _calculate_sizes(self, nr_cpus):
        """Kernel: mm/slub.c calculate_sizes() (6.12): the object rounded to
        a word; a right red zone; the free pointer after the object when it
        may not overwrite it (poisoning, a constructor, or a red zone on a
        tiny or tracked kmalloc object), else in the middle of it; the alloc
        and free tracks and the kmalloc request size (SLAB_STORE_USER); the
        left red zone; then the alignment."""
        flags = self.flags
        size = align_up(self.object_size, WORD)
        if flags & SLAB_POISON and not self.ctor:
            self.flags |= OBJECT_POISON
        if flags & SLAB_RED_ZONE and size == self.object_size:
            size += WORD
        self.inuse = size
        # slub_debug_orig_size(): kmalloc caches with user tracking keep the requested size
        self.orig_size_kept = bool(flags & SLAB_STORE_USER and flags & SLAB_KMALLOC)
        if (
            flags & SLAB_POISON
            or self.ctor
            or (flags & SLAB_RED_ZONE and (self.object_size < WORD or self.orig_size_kept))
        ):
            self.offset = size  # free pointer after the object
            size += WORD
        else:
            self.offset = (self.object_size // 2) // WORD * WORD
        # get_info_end(): where the debug metadata after the object begins
        self.info_end = self.offset + WORD if self.offset >= self.inuse else self.inuse
        if flags & SLAB_STORE_USER:
            size += 2 * TRACK_SIZE
            if flags & SLAB_KMALLOC:
                size += 4  # sizeof(unsigned int): the original request size
        self.pad_start = size  # check_pad_bytes(): padding from here to size_from_object()
        self.red_left_pad = 0
        if flags & SLAB_RED_ZONE:
            size += WORD
            self.red_left_pad = align_up(WORD, self.align)
            size += self.red_left_pad
        self.size = align_up(size, self.align)
        # size_from_object(): the object's stride without the left red zone
        self.size_from_object = self.size - self.red_left_pad
        self.order = calculate_order(self.size, nr_cpus)
        self.min_order = order_for_size(self.size)

    def explain_geometry(self):
        """How SLUB chose this cache's layout and slab order, step by step."""
        nr_cpus = self.slub.nr_cpus
        size = self.size
        steps = [
            f"object_size {self.object_size} -> aligned to {WORD} bytes and to align {self.align}"
            + (", plus the free pointer after the object (constructor)" if self.offset >= self.inuse else "")
            + (", plus red zones" if self.flags & SLAB_RED_ZONE else "")
            + f": size {size}."
        ]
        min_objects = 4 * (fls(nr_cpus) + 1)
        max_objects = max(order_objects(SLUB_MAX_ORDER, size), 1)
        steps.append(
            f"min_objects = 4 * (fls({nr_cpus}) + 1) = {min_objects}; at most {max_objects} fit in "
            f"an order-{SLUB_MAX_ORDER} slab, so SLUB wants {min(min_objects, max_objects)} objects."
        )
        min_order = order_for_size(min(min_objects, max_objects) * size)
        steps.append(f"get_order({min(min_objects, max_objects)} * {size}) = {min_order}: start at order {min_order}.")
        slab_bytes = PAGE_SIZE << self.order
        waste = slab_bytes % size
        fraction = next(
            (f for f in (16, 8, 4, 2) if calc_slab_order(size, min_order, SLUB_MAX_ORDER, f) == self.order), None
        )
        rule = (
            f"at most 1/{fraction} of the slab ({slab_bytes // fraction} bytes) may be left over"
            if fraction
            else "no order up to slub_max_order fits, so get_order(size) is used"
        )
        # calculate_order() asks calc_slab_order() for at most 1/16 left over first, then 1/8, 1/4, 1/2
        for stricter in (16, 8, 4, 2):
            if stricter == fraction or min_order > SLUB_MAX_ORDER:
                break
            tried = ", ".join(
                f"order {o} leaves {(PAGE_SIZE << o) % size} > {(PAGE_SIZE << o) // stricter}"
                for o in range(min_order, SLUB_MAX_ORDER + 1)
            )
            steps.append(
                f"calc_slab_order() with at most 1/{stricter} left over: no order from {min_order} to "
                f"slub_max_order {SLUB_MAX_ORDER} qualifies ({tried}); calculate_order() relaxes to "
                f"1/{stricter // 2}."
            )
        steps.append(
            f"Order {self.order}: {slab_bytes} bytes hold {slab_bytes // size} objects with {waste} "
            f"bytes left over; {rule}."
        )
        return steps

    @property
    def objperslab(self):
        return order_objects(self.order, self.size)

    @property
    def pagesperslab(self):
        return 1 << self.order

    def slabs(self):
        """Every slab of the cache: the CPU slab, then partial, then full."""
        return ([self.cpu_slab] if self.cpu_slab else []) + list(self.partial) + list(self.full)

    def count_objects(self):
        """``(active_objs, num_objs, active_slabs, num_slabs)`` as /proc/slabinfo
        shows them: free objects of the CPU slab count as active (mm/slub.c
        get_slabinfo() subtracts only the partial lists' free objects)."""
        partial_free = sum(s.objects - s.inuse for s in self.partial)
        return self.total_objects - partial_free, self.total_objects, self.nr_slabs, self.nr_slabs

    @property
    def objects_in_use(self):
        return sum(s.inuse for s in self.slabs())

    def __repr__(self):
        return (
            f"<kmem_cache {self.name}: object_size {self.object_size}, size {self.size}, "
            f"{self.objperslab} objects in {self.pagesperslab} page{'s' if self.order else ''}>"
        )
