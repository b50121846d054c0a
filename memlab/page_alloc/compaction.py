"""When the fragmentation index can be trusted: the kernel's test before it
compacts a zone.

Kernel: mm/compaction.c compaction_suitable() and __compaction_suitable(),
include/linux/compaction.h compact_gap() (Linux 6.12; read in the source, the
refactoring that made compaction_suitable() return a bool is from 6.4).

A failed high-order request has two possible causes: memory has run out, or
the free memory is in pieces (external fragmentation). Compaction (moving
movable pages together) only helps with the second, and it needs free pages
to move pages into. So the kernel asks two questions, in this order:

1. Is there enough free memory? ``__compaction_suitable()``: after an order-0
   allocation the zone must keep more than its watermark (the *low* mark for
   orders above PAGE_ALLOC_COSTLY_ORDER, the *min* mark otherwise) plus
   ``compact_gap(order) = 2 << order`` pages free. If not: COMPACT_SKIPPED,
   reclaim first; the fragmentation index is not even looked at.
2. For costly orders (> 3) only: is the failure due to fragmentation? The
   fragmentation index (mm/vmstat.c) must be above ``vm.extfrag_threshold``
   (500); at or below it the failure is put down to a lack of memory:
   COMPACT_NOT_SUITABLE_ZONE. Small orders are always compacted (the
   alternative would be the OOM killer).

Only when the first answer is yes does the index mean something: with 254
free pages in tiny pieces, an order-9 request (512 pages) fails for lack of
memory, yet the index reads ~990, because its formula only counts how many
free blocks the free memory is split into.

Compaction itself (the migrate and free scanners, deferred compaction) is
:mod:`memlab.page_alloc.compact`'s, for a :class:`memlab.MobilityZone`;
kcompactd is :mod:`memlab.vmscan`'s. Not modelled (deliberately): CMA pages
(ALLOC_CMA) and ``compaction_zonelist_suitable()``'s estimate of
reclaimable pages.
"""

from __future__ import annotations

from ..errors import BadSize, reject
from ..records import Record
from ..units import check_order
from .fragmentation import fragmentation_index

__all__ = [
    "PAGE_ALLOC_COSTLY_ORDER",
    "EXTFRAG_THRESHOLD",
    "COMPACT_SKIPPED",
    "COMPACT_NOT_SUITABLE_ZONE",
    "COMPACT_CONTINUE",
    "compact_gap",
    "CompactionVerdict",
    "compaction_suitable",
]

#: include/linux/mmzone.h: orders above this are "costly" (harder to satisfy).
PAGE_ALLOC_COSTLY_ORDER = 3
#: sysctl vm.extfrag_threshold, default 500 (mm/compaction.c).
EXTFRAG_THRESHOLD = 500
#: include/linux/compaction.h enum compact_result (the values this test returns).
COMPACT_SKIPPED = "COMPACT_SKIPPED"
COMPACT_NOT_SUITABLE_ZONE = "COMPACT_NOT_SUITABLE_ZONE"
COMPACT_CONTINUE = "COMPACT_CONTINUE"


def compact_gap(order: int) -> int:
    """Free pages compaction wants above the watermark: ``2UL << order``
    (include/linux/compaction.h: the free scanner may hold ``1 << order``
    pages and then split an order-1-lower block, so twice that)."""
    check_order(order, "compact_gap")
    return 2 << order


class CompactionVerdict(Record):
    """The answer of :func:`compaction_suitable`, with the figures behind it.

    ``result`` is the compact_result the kernel's tracepoint
    mm_compaction_suitable reports; ``suitable`` the bool it returns;
    ``needed`` the fewest free pages that pass the watermark test
    (watermark + lowmem reserve + compact_gap, plus one: the test is
    "more than"); ``fragindex`` the index, or None where the kernel does not
    read it (skipped, or order <= PAGE_ALLOC_COSTLY_ORDER).
    """

    __slots__ = ("order", "suitable", "result", "nr_free_pages", "needed", "watermark", "fragindex", "reason")

    def __init__(self, order, suitable, result, nr_free_pages, needed, watermark, fragindex, reason):
        self.order = order
        self.suitable = suitable
        self.result = result
        self.nr_free_pages = nr_free_pages
        self.needed = needed
        self.watermark = watermark
        self.fragindex = fragindex
        self.reason = reason

    def __str__(self):
        return f"{self.result}: {self.reason}"


def compaction_suitable(
    zone, order: int, highest_zoneidx: int | None = None, extfrag_threshold: int = EXTFRAG_THRESHOLD
):
    """Would the kernel compact ``zone`` for an order-``order`` request?

    Kernel: mm/compaction.c compaction_suitable(). A standalone
    :class:`memlab.Zone` has zero watermarks, so the test is then plain
    ``nr_free_pages > 2 << order``; a zone of a :class:`memlab.Machine` uses
    its real min/low watermark and lowmem reserve. Returns a
    :class:`CompactionVerdict` whose ``reason`` says it in words.
    """
    check_order(order, "compaction_suitable")
    if extfrag_threshold.__class__ is not int or not 0 <= extfrag_threshold <= 1000:
        raise reject(
            BadSize,
            extfrag_threshold,
            f"extfrag_threshold {extfrag_threshold!r} must be 0..1000 (sysctl vm.extfrag_threshold)",
        )
    mark_name = "low" if order > PAGE_ALLOC_COSTLY_ORDER else "min"
    mark = zone.wmark_pages(mark_name)
    if highest_zoneidx is None:
        highest_zoneidx = zone.zone_idx or 0
    reserve = zone.lowmem_reserve[highest_zoneidx] if zone.lowmem_reserve else 0
    gap = compact_gap(order)
    free = zone.nr_free_pages
    # __zone_watermark_ok(zone, 0, mark + gap, ...): for order 0 the free
    # pages must exceed mark + gap + lowmem_reserve.
    limit = mark + gap + reserve

    def verdict(suitable, result, index, reason):
        return CompactionVerdict(order, suitable, result, free, limit + 1, mark_name, index, reason)

    if free <= limit:
        return verdict(
            False,
            COMPACT_SKIPPED,
            None,
            f"{free} pages free, compaction needs more than {mark_name} watermark {mark} + compact_gap(order {order}) "
            f"{gap}" + (f" + lowmem_reserve {reserve}" if reserve else "") + f" = {limit}: memory is short, "
            "reclaim first (the fragmentation index is not consulted)",
        )
    if order <= PAGE_ALLOC_COSTLY_ORDER:
        return verdict(
            True,
            COMPACT_CONTINUE,
            None,
            f"{free} pages free, more than the {limit} compaction needs; order {order} is not costly "
            f"(<= {PAGE_ALLOC_COSTLY_ORDER}), so compaction runs whatever the fragmentation index says",
        )
    index = fragmentation_index(zone.nr_free_by_order(), order)
    if 0 <= index <= extfrag_threshold:
        return verdict(
            False,
            COMPACT_NOT_SUITABLE_ZONE,
            index,
            f"{free} pages free, enough to compact, but the fragmentation index {index} is at or below "
            f"extfrag_threshold {extfrag_threshold}: a failure would be for lack of memory",
        )
    if index < 0:
        why = "a suitable free block exists (index -1000): the request may succeed as it is"
    else:
        why = f"the fragmentation index {index} is above extfrag_threshold {extfrag_threshold}: external fragmentation"
    return verdict(
        True, COMPACT_CONTINUE, index, f"{free} pages free, more than the {limit} compaction needs, and {why}"
    )
