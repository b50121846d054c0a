"""Migratetypes: the mobility classes of pages, and the lists that hold them.

Kernel (Linux 6.12): include/linux/mmzone.h enum migratetype,
migratetype_is_mergeable(), pageblock_order; include/linux/gfp.h
gfp_migratetype(); mm/page_alloc.c migratetype_names[] and fallbacks[];
include/linux/list.h for the list operations :class:`FreeList` models.
"""

from __future__ import annotations

from ..errors import BadGFP
from ..gfp import GFP, parse_gfp

__all__ = [
    "MIGRATE_UNMOVABLE",
    "MIGRATE_MOVABLE",
    "MIGRATE_RECLAIMABLE",
    "MIGRATE_HIGHATOMIC",
    "MIGRATE_ISOLATE",
    "MIGRATE_PCPTYPES",
    "MIGRATE_TYPES",
    "MIGRATETYPE_NAMES",
    "FALLBACKS",
    "pageblock_order",
    "pageblock_nr_pages",
    "gfp_migratetype",
    "ALLOC_NOFRAGMENT",
    "FreeList",
]

# enum migratetype (include/linux/mmzone.h) as the host's kernel is built:
# CONFIG_MEMORY_ISOLATION=y, no CONFIG_CMA.
MIGRATE_UNMOVABLE, MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_HIGHATOMIC, MIGRATE_ISOLATE = range(5)
MIGRATE_PCPTYPES = 3
MIGRATE_TYPES = 5
#: migratetype_names[] (mm/page_alloc.c), as /proc/pagetypeinfo prints them
MIGRATETYPE_NAMES = ("Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate")
#: fallbacks[] (mm/page_alloc.c): the types an empty type borrows from, in order
FALLBACKS = {
    MIGRATE_UNMOVABLE: (MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE),
    MIGRATE_MOVABLE: (MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE),
    MIGRATE_RECLAIMABLE: (MIGRATE_UNMOVABLE, MIGRATE_MOVABLE),
}
pageblock_order = 9  # x86-64 with huge pages: HPAGE_PMD_ORDER
pageblock_nr_pages = 1 << pageblock_order
ALLOC_NOFRAGMENT = 0x100  # mm/internal.h
_GFP_MOVABLE_MASK = GFP["__GFP_MOVABLE"] | GFP["__GFP_RECLAIMABLE"]
_GFP_MOVABLE_SHIFT = 3


def gfp_migratetype(gfp) -> int:
    """The migratetype a GFP mask asks for (include/linux/gfp.h
    gfp_migratetype()). Both __GFP_MOVABLE and __GFP_RECLAIMABLE is a bug
    the kernel warns about; memlab refuses it."""
    mask = parse_gfp(gfp)
    if mask & _GFP_MOVABLE_MASK == _GFP_MOVABLE_MASK:
        raise BadGFP(
            f"gfp {gfp!r} has both __GFP_MOVABLE and __GFP_RECLAIMABLE: an allocation is movable or "
            f"reclaimable, not both (gfp_migratetype() warns: VM_WARN_ON)"
        )
    return (mask & _GFP_MOVABLE_MASK) >> _GFP_MOVABLE_SHIFT


class FreeList:
    """A kernel ``list_head`` list of PFNs: add at the head or the tail,
    delete any entry, read the first and the last, all O(1)."""

    __slots__ = ("nxt", "prv")

    def __init__(self) -> None:
        self.nxt = {-1: -1}
        self.prv = {-1: -1}

    def __len__(self):
        return len(self.nxt) - 1

    def add(self, pfn):  # list_add()
        nxt, prv = self.nxt, self.prv
        first = nxt[-1]
        nxt[-1] = pfn
        prv[pfn] = -1
        nxt[pfn] = first
        prv[first] = pfn

    def add_tail(self, pfn):  # list_add_tail()
        nxt, prv = self.nxt, self.prv
        last = prv[-1]
        prv[-1] = pfn
        nxt[pfn] = -1
        prv[pfn] = last
        nxt[last] = pfn

    def delete(self, pfn):  # list_del()
        after = self.nxt.pop(pfn)
        before = self.prv.pop(pfn)
        self.nxt[before] = after
        self.prv[after] = before

    def first(self):
        return self.nxt[-1]

    def __iter__(self):
        nxt = self.nxt
        pfn = nxt[-1]
        while pfn != -1:
            yield pfn
            pfn = nxt[pfn]
