"""Watermarks, lowmem reserves and the reserve rights of an allocation.

Kernel: mm/page_alloc.c calculate_min_free_kbytes(), __setup_per_zone_wmarks(),
setup_per_zone_lowmem_reserve(), gfp_to_alloc_flags(), __zone_watermark_ok();
mm/internal.h for the ALLOC_* flag values (Linux 6.12).

Checked against the host: from its managed pages and ``min_free_kbytes`` these
formulas reproduce the min/low/high/promo lines and the ``protection:`` line
of its /proc/zoneinfo exactly (tests/test_physmem.py).
"""

from __future__ import annotations

from math import isqrt

from ..gfp import GFP, ZONE_MOVABLE
from ..units import PAGE_SHIFT, PAGE_SIZE

__all__ = [
    "WMARK_NAMES",
    "SWAP_CLUSTER_MAX",
    "LOWMEM_RESERVE_RATIO",
    "calculate_min_free_kbytes",
    "setup_per_zone_wmarks",
    "setup_per_zone_lowmem_reserve",
    "gfp_to_alloc_flags",
    "zone_watermark_ok",
    "alloc_flags_names",
    "ALLOC_WMARK_MIN",
    "ALLOC_WMARK_LOW",
    "ALLOC_WMARK_HIGH",
    "ALLOC_NO_WATERMARKS",
    "ALLOC_OOM",
    "ALLOC_NON_BLOCK",
    "ALLOC_MIN_RESERVE",
    "ALLOC_CPUSET",
    "ALLOC_CMA",
    "ALLOC_NOFRAGMENT",
    "ALLOC_HIGHATOMIC",
    "ALLOC_KSWAPD",
    "ALLOC_RESERVES",
]

WMARK_NAMES = ("min", "low", "high", "promo")
#: include/linux/swap.h; the floor of the min watermark of a movable zone.
SWAP_CLUSTER_MAX = 32

# mm/internal.h (6.12): the low bits index zone->_watermark[]; the rest are flags.
ALLOC_WMARK_MIN, ALLOC_WMARK_LOW, ALLOC_WMARK_HIGH = 0, 1, 2
ALLOC_NO_WATERMARKS = 0x04  # don't check watermarks at all
ALLOC_OOM = 0x08  # an OOM victim: may dip further
ALLOC_NON_BLOCK = 0x10  # caller cannot block: 25 % of the min reserve (62.5 % with __GFP_HIGH)
ALLOC_MIN_RESERVE = 0x20  # __GFP_HIGH: 50 % of the min watermark (the same bit as __GFP_HIGH)
ALLOC_CPUSET = 0x40  # check for correct cpuset
ALLOC_CMA = 0x80  # allow allocations from CMA areas
ALLOC_NOFRAGMENT = 0x100  # avoid mixing pageblock types (CONFIG_ZONE_DMA32)
ALLOC_HIGHATOMIC = 0x200  # allows access to MIGRATE_HIGHATOMIC
ALLOC_KSWAPD = 0x800  # allow waking of kswapd (the same bit as __GFP_KSWAPD_RECLAIM)
#: Flags that allow allocations below the min watermark.
ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM

_FLAG_NAMES = (
    ("ALLOC_NO_WATERMARKS", ALLOC_NO_WATERMARKS),
    ("ALLOC_OOM", ALLOC_OOM),
    ("ALLOC_NON_BLOCK", ALLOC_NON_BLOCK),
    ("ALLOC_MIN_RESERVE", ALLOC_MIN_RESERVE),
    ("ALLOC_CPUSET", ALLOC_CPUSET),
    ("ALLOC_CMA", ALLOC_CMA),
    ("ALLOC_NOFRAGMENT", ALLOC_NOFRAGMENT),
    ("ALLOC_HIGHATOMIC", ALLOC_HIGHATOMIC),
    ("ALLOC_KSWAPD", ALLOC_KSWAPD),
)
assert GFP["__GFP_HIGH"] == ALLOC_MIN_RESERVE and GFP["__GFP_KSWAPD_RECLAIM"] == ALLOC_KSWAPD  # BUILD_BUG_ON


def gfp_to_alloc_flags(mask, order=0):
    """The slow path's alloc_flags for a GFP mask.

    Kernel: mm/page_alloc.c gfp_to_alloc_flags(): ALLOC_WMARK_MIN |
    ALLOC_CPUSET, plus the __GFP_HIGH and __GFP_KSWAPD_RECLAIM bits copied
    as ALLOC_MIN_RESERVE and ALLOC_KSWAPD; a caller that cannot reclaim
    directly (and did not say __GFP_NOMEMALLOC) gets ALLOC_NON_BLOCK (and
    ALLOC_HIGHATOMIC for order > 0); non-blocking __GFP_HIGH callers drop
    ALLOC_CPUSET. Not modelled: the real-time-task boost and CMA.
    """
    flags = ALLOC_WMARK_MIN | ALLOC_CPUSET | (mask & (ALLOC_MIN_RESERVE | ALLOC_KSWAPD))
    if not mask & GFP["__GFP_DIRECT_RECLAIM"]:
        if not mask & GFP["__GFP_NOMEMALLOC"]:
            flags |= ALLOC_NON_BLOCK
            if order > 0:
                flags |= ALLOC_HIGHATOMIC
        if flags & ALLOC_MIN_RESERVE:
            flags &= ~ALLOC_CPUSET
    return flags


def alloc_flags_names(flags):
    """``'ALLOC_WMARK_MIN|ALLOC_NON_BLOCK|...'`` for an alloc_flags value."""
    wmark = ("ALLOC_WMARK_MIN", "ALLOC_WMARK_LOW", "ALLOC_WMARK_HIGH", "?")[flags & 3]
    return "|".join([wmark] + [name for name, bit in _FLAG_NAMES if flags & bit])


def zone_watermark_ok(zone, order, mark, highest_zoneidx, alloc_flags=0):
    """Kernel: mm/page_alloc.c __zone_watermark_ok().

    The zone passes if, after taking ``2**order`` pages, more than ``mark +
    lowmem_reserve[highest_zoneidx]`` pages stay free, and for order > 0 a
    free block of at least that order exists. Reserve-entitled allocations
    lower ``mark``: ALLOC_MIN_RESERVE by half, then ALLOC_NON_BLOCK by a
    further quarter, ALLOC_OOM by half again. Not modelled: the
    highatomic and CMA pages the kernel subtracts from free pages.
    """
    free_pages = zone.nr_free_pages - ((1 << order) - 1)
    wmin = mark
    if alloc_flags & ALLOC_RESERVES:
        if alloc_flags & ALLOC_MIN_RESERVE:
            wmin -= wmin // 2
            if alloc_flags & ALLOC_NON_BLOCK:
                wmin -= wmin // 4
        if alloc_flags & ALLOC_OOM:
            wmin -= wmin // 2
    reserve = zone.lowmem_reserve[highest_zoneidx] if zone.lowmem_reserve else 0  # (a standalone zone: none)
    if free_pages <= wmin + reserve:
        return False
    if not order:
        return True
    return zone.has_free_block(order)


def calculate_min_free_kbytes(lowmem_pages):
    """``min_free_kbytes`` the kernel picks at boot.

    Kernel: mm/page_alloc.c calculate_min_free_kbytes():
    ``clamp(int_sqrt(lowmem_kbytes * 16), 128, 262144)`` where lowmem_kbytes
    is nr_free_buffer_pages() in KiB (the managed pages of zones up to
    Normal). Not modelled: khugepaged raising it when THP is enabled
    (set_recommended_min_free_kbytes), which is why a real host often shows
    a bigger value.
    """
    lowmem_kbytes = lowmem_pages * (PAGE_SIZE >> 10)
    return max(128, min(262144, isqrt(lowmem_kbytes * 16)))


def _mult_frac(x, numer, denom):
    return (x // denom) * numer + (x % denom) * numer // denom


def setup_per_zone_wmarks(managed, min_free_kbytes, zone_idx=None, watermark_scale_factor=10):
    """Per-zone ``_watermark[]`` (min, low, high, promo) in pages.

    ``managed`` is a list of managed page counts, one per zone; ``zone_idx``
    the matching zone types (default 0, 1, 2, ...: DMA, DMA32, Normal,
    Movable, Device). Kernel: mm/page_alloc.c __setup_per_zone_wmarks():
    pages_min = min_free_kbytes / 4 is shared among the lowmem zones (all but
    Movable on x86-64) in proportion to their managed pages; a movable zone's
    min is managed/1024 clamped to [SWAP_CLUSTER_MAX, 128]; the gaps
    low-min = high-low = promo-high are max(share/4, managed *
    watermark_scale_factor / 10000).
    """
    if zone_idx is None:
        zone_idx = list(range(len(managed)))
    pages_min = min_free_kbytes >> (PAGE_SHIFT - 10)
    lowmem_pages = sum(m for m, idx in zip(managed, zone_idx) if idx != ZONE_MOVABLE)
    result = []
    for m, idx in zip(managed, zone_idx):
        tmp = pages_min * m // lowmem_pages if lowmem_pages else 0
        if idx == ZONE_MOVABLE:
            wmin = max(SWAP_CLUSTER_MAX, min(128, m // 1024))
        else:
            wmin = tmp
        gap = max(tmp >> 2, _mult_frac(m, watermark_scale_factor, 10000))
        result.append({"min": wmin, "low": wmin + gap, "high": wmin + 2 * gap, "promo": wmin + 3 * gap})
    return result


#: /proc/sys/vm/lowmem_reserve_ratio default on x86-64 (DMA, DMA32, Normal, Movable, Device).
LOWMEM_RESERVE_RATIO = (256, 256, 32, 0, 0)


def setup_per_zone_lowmem_reserve(managed, ratios=LOWMEM_RESERVE_RATIO):
    """``lowmem_reserve[]`` of every zone (the ``protection:`` line of zoneinfo).

    Kernel: mm/page_alloc.c setup_per_zone_lowmem_reserve(): zone i keeps
    back, from an allocation that could have used zone j > i, the managed
    pages of zones i+1..j divided by lowmem_reserve_ratio[i] (0 when the
    ratio is 0 or zone i has no managed pages). ``managed`` has one entry
    per zone type, empty zones included.
    """
    n = len(managed)
    reserve = []
    for i in range(n):
        row = [0] * n
        ratio = ratios[i] if i < len(ratios) else 0
        clear = not ratio or not managed[i]
        upper = 0
        for j in range(i + 1, n):
            upper += managed[j]
            row[j] = 0 if clear else upper // ratio
        reserve.append(row)
    return reserve
