"""Fragmentation indices of a zone, from its free-block counts per order.

Kernel: mm/vmstat.c fill_contig_page_info(), __fragmentation_index(),
unusable_free_index() (the figures of /sys/kernel/debug/extfrag/). Every
function takes a buddyinfo row (``nr_free`` per order), so the host's real
/proc/buddyinfo can be fed in as well as a simulated zone.
"""

from __future__ import annotations

from ..units import check_order

__all__ = ["ContigPageInfo", "contig_page_info", "fragmentation_index", "unusable_index"]


class ContigPageInfo:
    """mm/vmstat.c struct contig_page_info for one requested order."""

    __slots__ = ("free_pages", "free_blocks_total", "free_blocks_suitable")

    def __init__(self, free_pages, free_blocks_total, free_blocks_suitable):
        self.free_pages = free_pages
        self.free_blocks_total = free_blocks_total
        self.free_blocks_suitable = free_blocks_suitable

    def __repr__(self):
        return (
            f"ContigPageInfo(free_pages={self.free_pages}, free_blocks_total={self.free_blocks_total}, "
            f"free_blocks_suitable={self.free_blocks_suitable})"
        )


def contig_page_info(nr_free, order):
    """Free pages, free blocks and blocks suitable for ``order`` from a
    zone's nr_free counts per order (a buddyinfo row).

    Kernel: mm/vmstat.c fill_contig_page_info().
    """
    check_order(order, "contig_page_info")
    free_pages = total = suitable = 0
    for o, blocks in enumerate(nr_free):
        total += blocks
        free_pages += blocks << o
        if o >= order:
            suitable += blocks << (o - order)
    return ContigPageInfo(free_pages, total, suitable)


def fragmentation_index(nr_free, order):
    """The extfrag index x1000 for an order-``order`` request.

    0 means a failure would be for lack of memory, 1000 for fragmentation;
    -1000 means a suitable block exists (no failure); 0 too with no free
    blocks at all. Kernel: mm/vmstat.c __fragmentation_index() (integer
    maths, as the kernel). ``nr_free`` is the count per order (buddyinfo).
    """
    info = contig_page_info(nr_free, order)
    if not info.free_blocks_total:
        return 0
    if info.free_blocks_suitable:
        return -1000
    requested = 1 << order
    return 1000 - (1000 + info.free_pages * 1000 // requested) // info.free_blocks_total


def unusable_index(nr_free, order):
    """Share (x1000) of free memory in blocks too small for ``order``.

    Kernel: mm/vmstat.c unusable_free_index(); 1000 with no free memory.
    """
    info = contig_page_info(nr_free, order)
    if info.free_pages == 0:
        return 1000
    return (info.free_pages - (info.free_blocks_suitable << order)) * 1000 // info.free_pages
