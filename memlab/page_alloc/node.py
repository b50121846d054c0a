"""The zoned page allocator of one NUMA node: zones from the RAM size, their
watermarks and lowmem reserves, and ``alloc_pages`` walking the zonelist.

Kernel: mm/mm_init.c free_area_init() (zone boundaries: ZONE_DMA below
16 MiB, ZONE_DMA32 below 4 GiB, ZONE_NORMAL above), include/linux/mmzone.h
struct pglist_data, mm/page_alloc.c __alloc_pages_noprof() ->
get_page_from_freelist() (zonelist walk with watermark checks),
__alloc_pages_slowpath(), mm/fail_page_alloc.c should_fail_alloc_page().

Low memory as on a PC (the host's e820 map shows the same): RAM from PFN 0
to 0x9fc00 (639 KiB; the EBDA and the 640 KiB-1 MiB window of video memory
and ROMs are not RAM), PFN 0 reserved by the firmware map, and since Linux
5.13 the whole first MiB reserved at boot (arch/x86/realmode/init.c
reserve_real_mode(): ``memblock_reserve(0, SZ_1M)``). So the DMA zone spans
PFN 1..4095, its present pages leave out the hole (PFN 159..255), and it
manages only PFN 256 upwards: its first free blocks are of orders 8, 9 and
10, as /proc/buddyinfo shows on a real machine.

Deliberately not modelled: NUMA (one node, node 0), other memory holes (RAM is
one range above 1 MiB; the PCI hole below 4 GiB is not cut out), pages the
kernel reserves above 1 MiB (its image, the memmap, ...), kswapd, direct
reclaim, compaction, the OOM killer, highatomic reserves, CMA. Where the
kernel would reclaim or kill, memlab raises :class:`OutOfMemory` and says so.
"""

from __future__ import annotations

from collections import deque, namedtuple
from functools import partial

from ..errors import BadFree, BadSize, OutOfMemory, reject
from ..faultinject import FaultAttr
from ..gfp import GFP, MAX_NR_ZONES, ZONE_NAMES, ZONE_NORMAL, gfp_names, gfp_zone, parse_gfp
from ..units import MAX_PAGE_ORDER, PAGE_SHIFT, check_order, format_size
from .buddy import Page, Zone
from .mobility import MobilityZone
from .watermarks import (
    calculate_min_free_kbytes,
    gfp_to_alloc_flags,
    setup_per_zone_lowmem_reserve,
    setup_per_zone_wmarks,
    zone_watermark_ok,
)

__all__ = ["Node", "NodeAlloc", "NodeFree", "DMA_END_PFN", "DMA32_END_PFN", "LOW_RAM_END_PFN", "RESERVED_LOW_PFN"]

DMA_END_PFN = (16 << 20) >> PAGE_SHIFT  # 4096: 16 MiB
DMA32_END_PFN = (4 << 30) >> PAGE_SHIFT  # 1048576: 4 GiB
#: e820 "usable" below 1 MiB ends at 0x9fc00: PFNs 0..158 are whole pages of RAM.
LOW_RAM_END_PFN = 0x9FC00 >> PAGE_SHIFT
#: memblock_reserve(0, SZ_1M): nothing below PFN 256 reaches the buddy allocator.
RESERVED_LOW_PFN = (1 << 20) >> PAGE_SHIFT
_MIN_RAM = 2 << 20
_TRAIL_LEN = 64


class NodeAlloc(namedtuple("NodeAlloc", "op order gfp_mask zone watermark skipped")):
    """One ``alloc_pages`` of the node: ``zone`` served it, passing its
    ``watermark`` ("low": fast path, "min": slow path); ``skipped`` zones
    were tried first and failed their check."""

    __slots__ = ()


class NodeFree(namedtuple("NodeFree", "op order pfn")):
    """One ``free_pages`` of the node."""

    __slots__ = ()


def _record(raw):
    return NodeAlloc(*raw) if raw[0] == "alloc" else NodeFree(*raw)


class Node:
    """``struct pglist_data`` of node 0 with its zones and the zoned page
    allocator: ``Node(ram="1GiB", cpus=2)``.

    Zones by physical address: DMA (PFN 1 up to 16 MiB; PFN 0 is reserved
    as on real x86), DMA32 (up to 4 GiB) and Normal (the rest; absent with
    4 GiB of RAM or less). ``zones`` maps the names of populated zones to
    :class:`memlab.Zone`; ``node_zones`` lists all five zone types of node 0
    (Movable and Device stay empty), as /proc/zoneinfo does.
    ``min_free_kbytes`` is the kernel's boot-time formula unless given;
    watermarks and lowmem reserves follow from it. :class:`memlab.Machine`
    is a Node with the other subsystems on top. ``reserved`` lists further
    ``(start_pfn, end_pfn)`` ranges kept back at boot, as memblock_reserve()
    keeps them (the Machine reserves its swiotlb pool this way): present,
    but never managed by the buddy allocator. ``mobility=True`` makes every
    zone a :class:`memlab.MobilityZone` (migratetypes, pageblocks and the
    per-CPU lists of ``cpus`` CPUs); the zonelist walk then passes the
    request's GFP flags on and, when the preferred zone is Normal, walks
    once with ALLOC_NOFRAGMENT and once without (get_page_from_freelist()).
    """

    def __init__(
        self, ram="1GiB", min_free_kbytes=None, watermark_scale_factor=10, reserved=(), mobility=False, cpus=2
    ):
        from ..units import parse_size

        nbytes = parse_size(ram)
        if nbytes < _MIN_RAM:
            raise BadSize(
                f"Machine: ram {format_size(nbytes)} is below the 2 MiB memlab needs (the kernel reserves the "
                f"first MiB at boot, memblock_reserve(0, SZ_1M))"
            )
        if nbytes % (1 << PAGE_SHIFT):
            raise BadSize(f"Machine: ram {nbytes} bytes is not a whole number of 4 KiB pages")
        if min_free_kbytes is not None and (min_free_kbytes.__class__ is not int or min_free_kbytes < 0):
            raise BadSize(f"Machine: min_free_kbytes {min_free_kbytes!r} must be an int >= 0")
        self.ram = nbytes
        self.nr_pages = nbytes >> PAGE_SHIFT
        self.node_id = 0
        self.mobility = bool(mobility)
        make_zone = partial(MobilityZone, nr_cpus=cpus, nofragment=False) if mobility else Zone
        n = self.nr_pages
        spans = [(1, min(n, DMA_END_PFN)), (DMA_END_PFN, min(n, DMA32_END_PFN)), (DMA32_END_PFN, n)]
        self.node_zones = []
        for idx, name in enumerate(ZONE_NAMES):
            if idx < len(spans) and spans[idx][1] > spans[idx][0]:
                start, end = spans[idx]
                present = None
                free = [(start, end)]
                if start < RESERVED_LOW_PFN:  # the DMA zone: the hole and the reserved first MiB
                    present = (min(end, LOW_RAM_END_PFN) - start) + max(0, end - RESERVED_LOW_PFN)
                    free = [(RESERVED_LOW_PFN, end)]
                for lo, hi in reserved:  # memblock reservations: never handed to the buddy allocator
                    free = [
                        piece for a, b in free for piece in ((a, min(b, lo)), (max(a, hi), b)) if piece[1] > piece[0]
                    ]
                zone = make_zone(
                    name, end - start, start_pfn=start, node=0, zone_idx=idx, present_pages=present, free_ranges=free
                )
            else:
                zone = make_zone(name, 0, start_pfn=0, node=0, zone_idx=idx)
            self.node_zones.append(zone)
        self.zones = {z.name: z for z in self.node_zones if z.present_pages}
        self.populated_zones = [z for z in self.node_zones if z.present_pages]
        managed = [z.managed_pages for z in self.node_zones]
        lowmem = sum(z.managed_pages for z in self.node_zones[: ZONE_NORMAL + 1])
        self.user_min_free_kbytes = min_free_kbytes
        self.min_free_kbytes = calculate_min_free_kbytes(lowmem) if min_free_kbytes is None else min_free_kbytes
        self.watermark_scale_factor = watermark_scale_factor
        marks = setup_per_zone_wmarks(managed, self.min_free_kbytes, list(range(MAX_NR_ZONES)), watermark_scale_factor)
        reserves = setup_per_zone_lowmem_reserve(managed)
        for zone, mark, reserve in zip(self.node_zones, marks, reserves):
            zone.set_watermarks(mark, reserve)
        # zonelists: for each highest_zoneidx, the populated zones at or below it, highest first
        self.zonelists = [
            [z for z in reversed(self.node_zones[: hz + 1]) if z.present_pages] for hz in range(MAX_NR_ZONES)
        ]
        self._trail = deque(maxlen=_TRAIL_LEN)
        #: Documentation/fault-injection: make page allocations fail on purpose
        self.fail_page_alloc = FaultAttr("fail_page_alloc", min_order=1)

    # ----------------------------------------------------------------- alloc
    def alloc_pages(self, order: int = 0, gfp: str | int = "GFP_KERNEL") -> Page:
        """Allocate ``2**order`` pages; return the first :class:`Page`.

        Walks the zonelist from the highest zone ``gfp`` allows (Normal for
        GFP_KERNEL, DMA32 for GFP_DMA32, DMA for GFP_DMA) downwards. Fast
        path: a zone is used if it stays above its low watermark plus its
        lowmem reserve for that zone type. Slow path: the same walk against
        the min watermark, lowered for __GFP_HIGH (GFP_ATOMIC) callers. Then
        the real kernel would reclaim, compact or OOM-kill (if it may sleep);
        memlab raises :class:`OutOfMemory`.

        Kernel: mm/page_alloc.c __alloc_pages_noprof(),
        get_page_from_freelist(), __alloc_pages_slowpath().
        """
        if order.__class__ is not int or not 0 <= order <= MAX_PAGE_ORDER:
            check_order(order)
        mask = parse_gfp(gfp)
        if self.fail_page_alloc.probability and self.fail_page_alloc.should_fail(mask, 1 << order, order):
            raise OutOfMemory(
                f"alloc_pages(order={order}, {gfp_names(mask)}): failure injected by "
                f"fail_page_alloc ({self.fail_page_alloc.failures} so far)"
            )
        hz = gfp_zone(mask)
        zonelist = self.zonelists[hz]
        if self.mobility:
            return self._alloc_mobility(order, mask, hz, zonelist)
        skipped: list[str] = []
        for zone in zonelist:  # fast path, ALLOC_WMARK_LOW
            if zone_watermark_ok(zone, order, zone.wmark_pages("low"), hz):
                page = zone.alloc_pages(order)
                self._trail.append(("alloc", order, mask, zone.name, "low", tuple(skipped)))
                return page
            skipped.append(zone.name)
        alloc_flags = gfp_to_alloc_flags(mask, order)
        skipped = []
        for zone in zonelist:  # slow path, ALLOC_WMARK_MIN + reserves
            if zone_watermark_ok(zone, order, zone.wmark_pages("min"), hz, alloc_flags):
                page = zone.alloc_pages(order)
                self._trail.append(("alloc", order, mask, zone.name, "min", tuple(skipped)))
                return page
            skipped.append(zone.name)
        raise self._oom(order, mask, zonelist, hz)

    def _alloc_mobility(self, order, mask, hz, zonelist):
        """The same walks with MobilityZones: each pass first with
        ALLOC_NOFRAGMENT when the preferred zone is Normal
        (alloc_flags_nofragment()), then without; a zone whose lists
        cannot serve the request is skipped like one below its mark."""
        nofragment = bool(zonelist) and zonelist[0].zone_idx == ZONE_NORMAL
        for mark, flags in (("low", 0), ("min", gfp_to_alloc_flags(mask, order))):
            for nofrag in (True, False) if nofragment else (False,):
                skipped: list[str] = []
                for zone in zonelist:
                    if zone_watermark_ok(zone, order, zone.wmark_pages(mark), hz, flags):
                        try:
                            page = zone.alloc_pages(order, mask, nofragment=nofrag)
                        except OutOfMemory:
                            skipped.append(zone.name)
                            continue
                        self._trail.append(("alloc", order, mask, zone.name, mark, tuple(skipped)))
                        return page
                    skipped.append(zone.name)
        raise self._oom(order, mask, zonelist, hz)

    def _oom(self, order, mask, zonelist, hz):
        parts = []
        for zone in zonelist:
            parts.append(
                f"{zone.name}: {zone.nr_free_pages} free, min {zone.wmark_pages('min')}"
                f" + lowmem_reserve {zone.lowmem_reserve[hz]}"
                + ("" if zone.has_free_block(order) else f", no free block of order >= {order}")
            )
        if getattr(self, "reclaim", False):
            then = "the slow path follows (memlab.vmscan)"
        elif mask & GFP["__GFP_DIRECT_RECLAIM"]:
            then = (
                "the kernel would now try direct reclaim and compaction, and in the end the OOM killer; "
                "memlab models none of those"
            )
        else:
            then = "the caller cannot sleep (no __GFP_DIRECT_RECLAIM), so the kernel returns NULL here"
        return OutOfMemory(
            f"alloc_pages(order={order}, {gfp_names(mask)}) failed: no zone passes its "
            f"watermark ({'; '.join(parts) or 'no populated zone allowed'}); {then}"
        )

    def zone_of_pfn(self, pfn: int) -> Zone:
        """The populated zone that holds ``pfn`` (MemlabError if none)."""
        for zone in self.populated_zones:
            if zone.zone_start_pfn <= pfn < zone.zone_start_pfn + zone.spanned_pages:
                return zone
        raise BadFree(f"pfn {pfn} is in no zone of this machine (the zones span pfn 1..{self.nr_pages - 1})")

    def free_pages(self, page: Page | int, order: int) -> None:
        """Free a block from :meth:`alloc_pages` back to its zone's buddy lists.

        Kernel: mm/page_alloc.c __free_pages(); see :meth:`Zone.free_pages`.
        """
        pfn = page.pfn if page.__class__ is Page else page
        if pfn.__class__ is not int:
            raise reject(BadFree, pfn, f"free_pages: {page!r} is neither a Page nor a PFN")
        self.zone_of_pfn(pfn).free_pages(page, order)
        self._trail.append(("free", order, pfn))

    # --------------------------------------------------------------- queries
    @property
    def trail(self):
        """The last allocations and frees of the node, oldest first, as
        :class:`NodeAlloc` and :class:`NodeFree` records (at most 64)."""
        return [_record(raw) for raw in self._trail]

    @property
    def nr_free_pages(self):
        return sum(z.nr_free_pages for z in self.populated_zones)

    @property
    def last_watermark(self):
        """The watermark the last allocation passed: "low" (the fast path)
        or "min" (the slow path's second walk); None before any."""
        last = self._trail[-1] if self._trail else None
        return last[4] if last is not None and last[0] == "alloc" else None

    @property
    def totalram_pages(self):
        return sum(z.managed_pages for z in self.populated_zones)

    def explain(self) -> list[str]:
        """The last allocation or free in words: zone choice, then buddy steps."""
        if not self._trail:
            return ["No allocation or free yet."]
        rec = _record(self._trail[-1])
        if rec.op == "free":
            return self.zone_of_pfn(rec.pfn).explain()
        steps = []
        allowed = [z.name for z in self.zonelists[gfp_zone(rec.gfp_mask)]]
        steps.append(f"{gfp_names(rec.gfp_mask)} allows zones {', '.join(allowed)} (tried in that order).")
        if rec.watermark == "min":
            steps.append(
                "Fast path: no zone stayed above its low watermark plus lowmem reserve; kswapd would be woken."
            )
            if rec.skipped:
                steps.append(f"Slow path (min watermark): skipped {', '.join(rec.skipped)}.")
        elif rec.skipped:
            steps.append(
                f"Fast path: skipped {', '.join(rec.skipped)} (free pages at or below the low "
                f"watermark plus the lowmem reserve)."
            )
        steps.append(f"Zone {rec.zone} passes the {rec.watermark} watermark check.")
        return steps + self.zones[rec.zone].explain()

    def check_invariants(self):
        for zone in self.node_zones:
            zone.check_invariants()
