"""Grouping pages by mobility: migratetypes, pageblocks and per-CPU lists.

:class:`MobilityZone` is a :class:`memlab.Zone` whose buddy allocator works as
Linux 6.12's does with ``page_group_by_mobility_disabled`` off: every
512-page pageblock has a migratetype, every ``free_area[order]`` has one free
list per migratetype, an allocation asks for the type its GFP flags name
(``gfp_migratetype()``: ``__GFP_MOVABLE`` -> Movable, ``__GFP_RECLAIMABLE``
-> Reclaimable, neither -> Unmovable), and when that type's lists are empty
it falls back to another type's, claiming a whole pageblock when it can so
that unmovable pages do not end up scattered over memory. With ``pcp=True``
(the default) orders 0-3 and 9 go through the per-CPU lists first
(:mod:`memlab.page_alloc.pcp`).

Kernel (read in Debian's 6.12.117 source, whose fallback code has the
6.12-stable form): mm/page_alloc.c __rmqueue(), __rmqueue_smallest(),
__rmqueue_claim(), __rmqueue_steal(), find_suitable_fallback(),
can_steal_fallback(), try_to_steal_block(), __move_freepages_block(),
expand(), __free_one_page() (no merge across pageblocks whose types cannot
merge; a merged buddy takes the freed block's type), split_large_buddy(),
boost_watermark(), the pcp functions named in pcp.py, and the
ALLOC_NOFRAGMENT retry of get_page_from_freelist(); mm/mm_init.c
memmap_init_range() (a pageblock starts Movable if its first page is in the
zone; one that starts before it stays Unmovable, as the host's DMA zone shows).

Simplifications: an allocated page counts as movable when its allocation
asked for Movable (the kernel asks PageLRU() or __PageMovable()); no
MIGRATE_HIGHATOMIC reserves and no CMA (the host's kernel has no CMA and
empty HighAtomic lists); ZONE_BELOW_HIGH and ZONE_RECLAIM_ACTIVE are never
set (no reclaim yet). The PFNs could not be compared with a running kernel
here (the host's own state is unknown); the rules were read in the source
and the boot state and /proc formats checked against the host.
"""

from __future__ import annotations

from ..errors import BadFree, BadGFP, BadSize, reject
from ..units import MAX_PAGE_ORDER, NR_PAGE_ORDERS, check_order
from .buddy import Page, Zone, check_blocks_tile
from .compact import CompactionMixin
from .migratetype import (
    ALLOC_NOFRAGMENT,
    FALLBACKS,
    MIGRATE_HIGHATOMIC,
    MIGRATE_ISOLATE,
    MIGRATE_MOVABLE,
    MIGRATE_PCPTYPES,
    MIGRATE_TYPES,
    MIGRATE_UNMOVABLE,
    MIGRATETYPE_NAMES,
    FreeList,
    gfp_migratetype,
    pageblock_nr_pages,
    pageblock_order,
)
from .pcp import (
    PerCpuListsMixin,
    pindex_to_order,
)

_NORMAL, _CMA, _CLAIM, _STEAL = range(4)  # enum rmqueue_mode
_ZONE_NORMAL, _WATERMARK_BOOST_FACTOR = 2, 15000  # ZONE_NORMAL; vm.watermark_boost_factor default

__all__ = ["MobilityZone"]

_MT_OF_GFP: dict = {}  # gfp expression -> gfp_migratetype(), for the hot path


class MobilityZone(CompactionMixin, PerCpuListsMixin, Zone):
    """A zone whose buddy allocator groups pages by mobility.

    ``MobilityZone(name, nr_pages, start_pfn=0, ..., nr_cpus=2, pcp=True,
    nofragment=None)``: the :class:`memlab.Zone` arguments, the number of
    CPUs (each has its per-CPU lists), whether the per-CPU lists are used,
    and whether allocations first try without fragmenting
    (ALLOC_NOFRAGMENT; None: as alloc_flags_nofragment() decides, for a
    Normal zone).

    ``alloc_pages(order, gfp="GFP_KERNEL", cpu=0)`` and
    ``free_pages(page, order, cpu=0)``. :meth:`pageblock_migratetype`,
    :meth:`free_list` with a migratetype, :meth:`nr_free_by_type`,
    :meth:`drain_all_pages`; ``pcp[cpu]`` are the per-CPU lists;
    ``events`` counts pgalloc, pgfree, the fallbacks and the pageblocks
    claimed.
    """

    core = "python"

    def __init__(
        self,
        name,
        nr_pages,
        start_pfn=0,
        node=0,
        zone_idx=None,
        present_pages=None,
        free_ranges=None,
        core=None,
        *,
        nr_cpus=2,
        pcp=True,
        nofragment=None,
        percpu_pagelist_high_fraction=0,
    ):
        if core not in (None, "python"):
            raise reject(BadSize, core, f"MobilityZone: core {core!r}: migratetypes live in the Python core only")
        if nr_cpus.__class__ is not int or not 1 <= nr_cpus <= 64:
            raise reject(BadSize, nr_cpus, f"MobilityZone: nr_cpus {nr_cpus!r} must be an int from 1 to 64")
        self.nr_cpus = nr_cpus
        self.use_pcp = bool(pcp)
        self.percpu_pagelist_high_fraction = percpu_pagelist_high_fraction
        self._nofragment = nofragment
        self.migrate_callbacks: list = []  # f(old_pfn, new_pfn, order) after compaction moves a block
        self.flags: set[str] = set()  # ZONE_BELOW_HIGH, ZONE_RECLAIM_ACTIVE, ZONE_BOOSTED_WATERMARK
        super().__init__(name, nr_pages, start_pfn, node, zone_idx, present_pages, free_ranges)
        if nofragment is None:
            self._nofragment = zone_idx == _ZONE_NORMAL

    # ------------------------------------------------------------------ state
    def _init_free_lists(self):
        self._lists = [[FreeList() for _ in range(MIGRATE_TYPES)] for _ in range(NR_PAGE_ORDERS)]
        self._free: dict[int, int] = {}  # pfn -> order of every free buddy block (PageBuddy)
        self._alloc: dict[int, int] = {}  # pfn -> order of every allocated block
        self._alloc_mt: dict[int, int] = {}  # pfn -> the migratetype its allocation asked for
        self._on_pcp: dict[int, tuple[int, int]] = {}  # pfn -> (cpu, order) of pages on a pcp list
        self._pages: dict = {}  # pfn -> the Page handed out for a Movable block (compaction moves it)
        self._nr_free = 0  # NR_FREE_PAGES
        self.events = {
            "pgalloc": 0,
            "pgfree": 0,
            "extfrag": 0,
            "claimed": 0,
            "stolen": 0,
            "pcp_refill": 0,
            "pcp_drain": 0,
        }
        self._trail.clear()
        first_block = self.zone_start_pfn >> pageblock_order
        nblocks = ((self.zone_end_pfn + pageblock_nr_pages - 1) >> pageblock_order) - first_block
        self._pb_base = first_block
        # memmap_init_range(): a pageblock is set Movable at its first page,
        # so one that starts before the zone (the DMA zone starts at pfn 1)
        # keeps 0, MIGRATE_UNMOVABLE.
        self._pb = bytearray(
            MIGRATE_MOVABLE if (first_block + i) << pageblock_order >= self.zone_start_pfn else MIGRATE_UNMOVABLE
            for i in range(nblocks)
        )
        self._setup_pageset(True)
        for start, end in self.free_ranges:  # __free_pages_memory(), FPI_TO_TAIL
            while start < end:
                order = MAX_PAGE_ORDER if start == 0 else min(MAX_PAGE_ORDER, (start & -start).bit_length() - 1)
                while start + (1 << order) > end:
                    order -= 1
                self._split_large_buddy(start, order, True)
                start += 1 << order

    def set_watermarks(self, marks, lowmem_reserve):
        super().set_watermarks(marks, lowmem_reserve)
        self._setup_pageset(False)  # pcp high_min follows the low watermark

    # --------------------------------------------------------------- pageblocks
    def pageblock_migratetype(self, pfn: int) -> int:
        """get_pageblock_migratetype(): the type of the pageblock holding ``pfn``."""
        return self._pb[(pfn >> pageblock_order) - self._pb_base]

    def _set_pageblock(self, pfn, mt):
        self._pb[(pfn >> pageblock_order) - self._pb_base] = mt

    def pageblocks(self):
        """``(first pfn, migratetype)`` of every pageblock the zone spans
        (what pagetypeinfo_showblockcount_print() counts, from zone_start_pfn
        in steps of 512)."""
        return [
            (pfn, self.pageblock_migratetype(pfn))
            for pfn in range(self.zone_start_pfn, self.zone_end_pfn, pageblock_nr_pages)
        ]

    # ----------------------------------------------------------- buddy steps
    def _expand(self, pfn, low, high, mt):
        lists, free = self._lists, self._free
        while high > low:
            high -= 1
            half = pfn + (1 << high)
            lists[high][mt].add(half)
            free[half] = high

    def _del_and_expand(self, pfn, low, high, mt):
        self._lists[high][mt].delete(pfn)
        del self._free[pfn]
        self._nr_free -= 1 << low
        self._expand(pfn, low, high, mt)

    def _rmqueue_smallest(self, order, mt, steps):
        lists = self._lists
        for current in range(order, NR_PAGE_ORDERS):
            pfn = lists[current][mt].first()
            if pfn >= 0:
                self._del_and_expand(pfn, order, current, mt)
                steps.append(("smallest", pfn, current, mt))
                return pfn
        return None

    def _find_suitable_fallback(self, order, mt):
        """find_suitable_fallback(only_stealable=false): (fallback type or
        -1, can_steal)."""
        lists = self._lists[order]
        if not any(len(lst) for lst in lists):
            return -1, False
        for fallback in FALLBACKS[mt]:
            if len(lists[fallback]):
                return fallback, order >= pageblock_order // 2 or mt != MIGRATE_MOVABLE
        return -1, False

    def _rmqueue_claim(self, order, mt, alloc_flags, steps):
        min_order = pageblock_order if order < pageblock_order and alloc_flags & ALLOC_NOFRAGMENT else order
        for current in range(MAX_PAGE_ORDER, min_order - 1, -1):
            fallback, can_steal = self._find_suitable_fallback(current, mt)
            if fallback == -1:
                continue
            if not can_steal:
                break
            pfn = self._lists[current][fallback].first()
            page = self._try_to_steal_block(pfn, current, order, mt, alloc_flags, steps)
            if page is not None:
                self.events["extfrag"] += 1
                return page
        return None

    def _rmqueue_steal(self, order, mt, steps):
        for current in range(order, NR_PAGE_ORDERS):
            fallback, _ = self._find_suitable_fallback(current, mt)
            if fallback == -1:
                continue
            pfn = self._lists[current][fallback].first()
            self._del_and_expand(pfn, order, current, fallback)
            self.events["extfrag"] += 1
            self.events["stolen"] += 1
            steps.append(("steal", pfn, current, fallback, mt))
            return pfn
        return None

    def _try_to_steal_block(self, pfn, current, order, start_type, alloc_flags, steps):
        block_type = self.pageblock_migratetype(pfn)
        if block_type == MIGRATE_HIGHATOMIC:
            return None
        if current >= pageblock_order:  # take ownership of whole pageblocks
            self._lists[current][block_type].delete(pfn)
            del self._free[pfn]
            self._nr_free -= 1 << order
            for i in range(1 << (current - pageblock_order)):
                self._set_pageblock(pfn + i * pageblock_nr_pages, start_type)
            self._expand(pfn, order, current, start_type)
            self.events["claimed"] += 1 << (current - pageblock_order)
            steps.append(("claim_whole", pfn, current, block_type, start_type))
            return pfn
        self._boost_watermark()
        start = pfn & ~(pageblock_nr_pages - 1)
        end = start + pageblock_nr_pages
        if not (self.contains_pfn(start) and self.contains_pfn(end - 1)):
            return None
        free_pages, movable_pages = self._count_block(start, end)
        if start_type == MIGRATE_MOVABLE:
            alike = movable_pages
        elif block_type == MIGRATE_MOVABLE:
            alike = pageblock_nr_pages - (free_pages + movable_pages)
        else:
            alike = 0
        if free_pages + alike >= 1 << (pageblock_order - 1):
            moved = self._move_freepages_block(start, block_type, start_type)
            self.events["claimed"] += 1
            steps.append(("claim", start, block_type, start_type, free_pages, alike, moved))
            return self._rmqueue_smallest(order, start_type, steps)
        steps.append(("no_claim", start, block_type, start_type, free_pages, alike))
        return None

    def _boost_watermark(self):
        """boost_watermark() (vm.watermark_boost_factor 15000)."""
        if pageblock_nr_pages * 4 > self.managed_pages:
            return
        max_boost = self._watermark["high"] * _WATERMARK_BOOST_FACTOR // 10000
        if not max_boost:
            return
        max_boost = max(pageblock_nr_pages, max_boost)
        self.watermark_boost = min(self.watermark_boost + pageblock_nr_pages, max_boost)
        self.flags.add("ZONE_BOOSTED_WATERMARK")

    def _move_freepages_block(self, start, old_mt, new_mt):
        """__move_freepages_block(): every free block of the pageblock to
        the tail of ``new_mt``'s list, then the pageblock's type."""
        lists, free = self._lists, self._free
        moved = 0
        for pfn, kind, n in list(self._walk_block(start, start + pageblock_nr_pages)):
            if kind == "free":
                o = free[pfn]
                lists[o][old_mt].delete(pfn)
                lists[o][new_mt].add_tail(pfn)
                moved += n
        self._set_pageblock(start, new_mt)
        return moved

    def _rmqueue(self, order, mt, alloc_flags, mode, steps):
        """__rmqueue(): the type's own lists, then claim, then steal."""
        m = mode[0]
        if m == _NORMAL:
            page = self._rmqueue_smallest(order, mt, steps)
            if page is not None:
                return page
        if m <= _CLAIM:
            page = self._rmqueue_claim(order, mt, alloc_flags, steps)
            if page is not None:
                mode[0] = _NORMAL
                return page
        if not alloc_flags & ALLOC_NOFRAGMENT:
            page = self._rmqueue_steal(order, mt, steps)
            if page is not None:
                mode[0] = _STEAL
                return page
        return None

    def _free_one_page(self, pfn, order, mt, to_tail):
        """__free_one_page(): merge while the buddy is free at the same
        order (not across pageblocks whose types cannot merge)."""
        lists, free, pb, base = self._lists, self._free, self._pb, self._pb_base
        start, start_order = pfn, order
        self._nr_free += 1 << order
        while order < MAX_PAGE_ORDER:
            buddy = pfn ^ (1 << order)
            if free.get(buddy) != order:
                break
            buddy_mt = mt
            if order >= pageblock_order:
                buddy_mt = pb[(buddy >> pageblock_order) - base]
                if buddy_mt != mt and (mt >= MIGRATE_PCPTYPES or buddy_mt >= MIGRATE_PCPTYPES):
                    break
            lists[order][buddy_mt].delete(buddy)
            del free[buddy]
            if buddy_mt != mt:  # change_pageblock_range(): the buddy takes our type
                for i in range(1 << (order - pageblock_order)):
                    self._set_pageblock(buddy + i * pageblock_nr_pages, mt)
            pfn &= buddy
            order += 1
        if not to_tail and order < MAX_PAGE_ORDER - 1:  # buddy_merge_likely()
            higher = pfn & ~(1 << order)
            to_tail = free.get(higher ^ (1 << (order + 1))) == order + 1
        if to_tail:
            lists[order][mt].add_tail(pfn)
        else:
            lists[order][mt].add(pfn)
        free[pfn] = order
        return start, start_order, order, to_tail

    def _split_large_buddy(self, pfn, order, to_tail):
        """split_large_buddy(): free a block larger than a pageblock one
        pageblock at a time, each with its own type."""
        end = pfn + (1 << order)
        piece = min(order, pageblock_order)
        result = None
        while pfn < end:
            result = self._free_one_page(pfn, piece, self.pageblock_migratetype(pfn), to_tail)
            pfn += 1 << piece
        return result

    # ------------------------------------------------------------- allocation
    def alloc_pages(self, order: int = 0, gfp="GFP_KERNEL", cpu: int = 0, nofragment=None) -> Page:
        """Allocate ``2**order`` pages of the migratetype ``gfp`` names on
        ``cpu``: rmqueue() -> the per-CPU list, else the buddy lists
        (__rmqueue()); with ALLOC_NOFRAGMENT first without fragmenting,
        then again without it (get_page_from_freelist()'s retry). Raises
        :class:`OutOfMemory` when no block is found. ``nofragment`` True or
        False makes one attempt with or without ALLOC_NOFRAGMENT (a caller
        walking a zonelist does the retry itself)."""
        if order.__class__ is not int or not 0 <= order <= MAX_PAGE_ORDER:
            check_order(order)
        mt = _MT_OF_GFP.get(gfp) if gfp.__class__ in (str, int) else None
        if mt is None:
            mt = gfp_migratetype(gfp)
            if len(_MT_OF_GFP) < 256 and gfp.__class__ in (str, int):
                _MT_OF_GFP[gfp] = mt
        if cpu.__class__ is not int or not 0 <= cpu < self.nr_cpus:
            raise reject(BadGFP, cpu, f"alloc_pages: cpu {cpu!r} must be an int from 0 to {self.nr_cpus - 1}")
        steps: list = []
        flags = ALLOC_NOFRAGMENT if (self._nofragment if nofragment is None else nofragment) else 0
        pfn = self._rmqueue_entry(order, mt, flags, cpu, steps)
        if pfn is None and flags and nofragment is None:
            steps.append(("retry",))
            pfn = self._rmqueue_entry(order, mt, 0, cpu, steps)
        if pfn is None:
            raise self._oom(order)
        page = Page.__new__(Page)
        page.pfn = pfn
        page.order = order
        self._alloc[pfn] = order
        self._alloc_mt[pfn] = mt
        self.events["pgalloc"] += 1 << order
        if mt == MIGRATE_MOVABLE:
            self._pages[pfn] = page
        self._trail.append(("alloc", pfn, order, mt, cpu, tuple(steps)))
        return page

    def _rmqueue_entry(self, order, mt, flags, cpu, steps):
        if self.use_pcp and (order <= 3 or order == 9):  # pcp_allowed_order()
            pfn = self._rmqueue_pcplist(order, mt, flags, cpu, steps)
            if pfn is not None:
                return pfn
        return self._rmqueue(order, mt, flags, [_NORMAL], steps)

    def free_pages(self, page, order: int, cpu: int = 0) -> None:
        """Free a block: to ``cpu``'s list (free_unref_page()) for the
        orders the lists hold, else to the buddy lists (__free_pages_ok()),
        merging as __free_one_page() does."""
        pfn = page.pfn if page.__class__ is Page else page
        if pfn.__class__ is not int or order.__class__ is not int or self._alloc.get(pfn) != order:
            self._diagnose_bad_free(page, order)
        if cpu.__class__ is not int or not 0 <= cpu < self.nr_cpus:
            raise reject(BadFree, cpu, f"free_pages: cpu {cpu!r} must be an int from 0 to {self.nr_cpus - 1}")
        del self._alloc[pfn]
        del self._alloc_mt[pfn]
        self._pages.pop(pfn, None)
        self.events["pgfree"] += 1 << order
        steps: list = []
        mt = self._pb[(pfn >> pageblock_order) - self._pb_base]  # get_pfnblock_migratetype()
        if self.use_pcp and (order <= 3 or order == 9) and mt != MIGRATE_ISOLATE:  # pcp_allowed_order()
            self._free_unref_page_commit(
                self.pcp[cpu], pfn, mt if mt < MIGRATE_PCPTYPES else MIGRATE_MOVABLE, order, steps
            )
        else:
            result = self._split_large_buddy(pfn, order, False)
            steps.append(("buddy_free", *result))
        self._trail.append(("free", pfn, order, mt, cpu, tuple(steps)))

    def _diagnose_bad_free(self, page, order):
        pfn = page.pfn if page.__class__ is Page else page
        entry = self._on_pcp.get(pfn) if pfn.__class__ is int else None
        if entry is not None:
            raise BadFree(
                f"free_pages: double free of pfn {pfn}: it is already free, on cpu {entry[0]}'s "
                f"per-CPU list of order {entry[1]} (free_pages_prepare() would report a bad page)"
            )
        super()._diagnose_bad_free(page, order)

    # ---------------------------------------------------------------- queries
    @property
    def nr_free_pages(self) -> int:
        """NR_FREE_PAGES: pages in free buddy blocks (not those on pcp lists)."""
        return self._nr_free

    def nr_free_by_order(self) -> list[int]:
        counts = [0] * NR_PAGE_ORDERS
        for o in self._free.values():
            counts[o] += 1
        return counts

    def nr_free_by_type(self):
        """``[[nr_free of order 0..10] for each migratetype]``: the free
        table of /proc/pagetypeinfo."""
        return [[len(self._lists[o][mt]) for o in range(NR_PAGE_ORDERS)] for mt in range(MIGRATE_TYPES)]

    def mixed_pageblocks(self):
        """First PFNs of the pageblocks that hold an allocated block of
        another migratetype than their own (what CONFIG_PAGE_OWNER's
        "Number of mixed blocks" counts): the fragmentation the grouping
        could not avoid."""
        pb, base, mts = self._pb, self._pb_base, self._alloc_mt
        return sorted(
            {
                (pfn >> pageblock_order) << pageblock_order
                for pfn in mts
                if pb[(pfn >> pageblock_order) - base] != mts[pfn]
            }
        )

    def pageblock_counts(self):
        """Pageblocks per migratetype, as pagetypeinfo counts them."""
        counts = [0] * MIGRATE_TYPES
        for _, mt in self.pageblocks():
            counts[mt] += 1
        return counts

    def free_list(self, order: int, migratetype: int | None = None) -> list[int]:
        """PFNs on ``free_area[order].free_list[migratetype]``, head first
        (None: every type's list in turn)."""
        types = range(MIGRATE_TYPES) if migratetype is None else (migratetype,)
        return [pfn for mt in types for pfn in self._lists[order][mt]]

    def free_pfns(self, order: int):
        return [pfn for pfn, o in self._free.items() if o == order]

    def is_free(self, pfn, order):
        return self._free.get(pfn) == order

    def pcp_pages(self):
        """``(pfn, cpu, order)`` of every block on a per-CPU list."""
        return [(pfn, cpu, order) for pfn, (cpu, order) in self._on_pcp.items()]

    def explain(self, record=None):
        from .mobility_explain import explain_mobility_step

        if record is None:
            if not self._trail:
                return ["No allocation or free yet in zone " + self.name + "."]
            record = self._trail[-1]
        return explain_mobility_step(self, record)

    @property
    def trail(self):
        return list(self._trail)

    def raw_trail(self):
        return self._trail

    # ------------------------------------------------------------- invariants
    def check_invariants(self):
        """Every managed page in exactly one free block, allocated block or
        per-CPU list entry; each free block on the list of its pageblock's
        type and its order; the pcp counts add up."""
        start, end = self.zone_start_pfn, self.zone_end_pfn
        owner = {}
        for o in range(NR_PAGE_ORDERS):
            for mt in range(MIGRATE_TYPES):
                lst = self._lists[o][mt]
                pfns = list(lst)
                assert len(pfns) == len(lst), f"free list {o}/{MIGRATETYPE_NAMES[mt]} is broken"
                for pfn in pfns:
                    assert self._free.get(pfn) == o, f"pfn {pfn} on free list {o} but not free at order {o}"
                    assert self.pageblock_migratetype(pfn) == mt, (
                        f"free block {pfn} on the {MIGRATETYPE_NAMES[mt]} list of a "
                        f"{MIGRATETYPE_NAMES[self.pageblock_migratetype(pfn)]} pageblock"
                    )
                    assert pfn not in owner, f"pfn {pfn} on two free lists"
                    owner[pfn] = o
        assert len(owner) == len(self._free), "a free block is on no list"
        assert self._nr_free == sum(1 << o for o in owner.values()), "NR_FREE_PAGES out of step"
        assert all(self._alloc_mt.get(p) == MIGRATE_MOVABLE for p in self._pages), "a Page handle out of step"
        for pfn, o in owner.items():
            assert pfn % (1 << o) == 0 and start <= pfn and pfn + (1 << o) <= end, f"free block {pfn} order {o}"
            if o > pageblock_order:
                types = {self.pageblock_migratetype(p) for p in range(pfn, pfn + (1 << o), pageblock_nr_pages)}
                assert len(types) == 1, f"free order-{o} block at {pfn} spans pageblocks of types {types}"
        for pfn, o in self._alloc.items():
            assert pfn not in owner, f"pfn {pfn} is both free and allocated"
            owner[pfn] = o
        counted = [0] * self.nr_cpus
        for pcp in self.pcp:
            for pindex, lst in enumerate(pcp.lists):
                o = pindex_to_order(pindex)
                for pfn in lst:
                    assert self._on_pcp.get(pfn) == (pcp.cpu, o), f"pcp list entry {pfn} out of step"
                    assert pfn not in owner, f"pfn {pfn} is on a pcp list and elsewhere"
                    owner[pfn] = o
                    counted[pcp.cpu] += 1 << o
            assert counted[pcp.cpu] == pcp.count, f"cpu {pcp.cpu} pcp count {pcp.count} != {counted[pcp.cpu]}"
        assert len(owner) == len(self._free) + len(self._alloc) + len(self._on_pcp)
        check_blocks_tile(owner, start, self.managed_pages)

    def __repr__(self):
        return (
            f"<MobilityZone {self.name}: pfns {self.zone_start_pfn}..{self.zone_end_pfn - 1}, "
            f"{self.nr_free_pages}/{self.managed_pages} pages free, "
            f"{sum(p.count for p in self.pcp)} on per-CPU lists>"
        )
