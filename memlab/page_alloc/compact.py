"""Memory compaction: moving movable pages together so that free pages merge.

Kernel (Linux 6.12, read in Debian's 6.12.117 source): mm/compaction.c
compact_zone(), compact_finished() / __compact_finished(),
compact_scanners_met(), isolate_migratepages(),
isolate_migratepages_block(), skip_isolation_on_order(),
suitable_migration_target(), isolate_freepages(),
isolate_freepages_block(), compaction_alloc(), release_free_list(),
compact_node() (``echo 1 > /proc/sys/vm/compact_memory``); mm/page_alloc.c
__isolate_free_page(); mm/migrate.c migrate_pages() (the old folio is freed
with folio_put(), so a small one lands on the CPU's per-CPU list).

The migration scanner walks up from the bottom of the zone, taking up to
COMPACT_CLUSTER_MAX (32) pages of movable blocks at a time; the free scanner
walks down from the top, taking free blocks out of Movable pageblocks; each
movable block is copied into a free one and its old place freed; when the
scanners meet, the run is over. :meth:`CompactionMixin.compact_zone` with
``order=-1`` is compact_memory's run over the whole zone (MIGRATE_SYNC,
skip hints ignored), which the kernel does exactly this way. With an
``order`` it is a direct compaction that stops as soon as a block of that
order is free (compact_finished()); there the kernel also uses its fast
searches of the free lists (fast_find_migrateblock(),
fast_isolate_freepages()), the pageblock skip bits, the cached scanner
positions and asynchronous mode, which memlab leaves out: a simplification,
its direct compaction scans like compact_memory does.

Migrating a block moves its :class:`memlab.Page`: the zone changes the
handle's ``pfn`` (the kernel changes the page-table entries that point at
the page, through the reverse map), and calls each function in
``zone.migrate_callbacks`` with ``(old_pfn, new_pfn, order)`` so that a
machine can move the bytes and its own references.
"""

from __future__ import annotations

from collections import deque

from ..records import Record
from ..units import NR_PAGE_ORDERS
from .migratetype import (
    MIGRATE_ISOLATE,
    MIGRATE_MOVABLE,
    MIGRATE_PCPTYPES,
    gfp_migratetype,
    pageblock_nr_pages,
    pageblock_order,
)

__all__ = ["COMPACT_CLUSTER_MAX", "COMPACT_MAX_DEFER_SHIFT", "CompactionResult", "CompactionMixin"]

COMPACT_CLUSTER_MAX = 32  # SWAP_CLUSTER_MAX
COMPACT_MAX_DEFER_SHIFT = 6


class CompactionResult(Record):
    """What one :meth:`compact_zone` run did: ``result`` (COMPACT_COMPLETE,
    COMPACT_SUCCESS, COMPACT_CONTENDED, COMPACT_SKIPPED), blocks and pages
    migrated, pages the two scanners looked at, pages isolated, and where
    they met."""

    __slots__ = (
        "result",
        "migrated_blocks",
        "migrated_pages",
        "migrate_scanned",
        "free_scanned",
        "isolated",
        "migrate_pfn",
        "free_pfn",
        "steps",
    )

    def __init__(self, **fields):
        for name in self.__slots__:
            setattr(self, name, fields[name])

    def __str__(self):
        return (
            f"{self.result}: {self.migrated_blocks} blocks ({self.migrated_pages} pages) migrated; "
            f"the migration scanner read {self.migrate_scanned} pages, the free scanner {self.free_scanned}; "
            f"they met at pfn {self.migrate_pfn}/{self.free_pfn}"
        )


class _Control:
    """struct compact_control, the parts memlab uses."""

    def __init__(self, order, start, end):
        self.order = order
        self.migrate_pfn = start
        self.free_pfn = (end - 1) & ~(pageblock_nr_pages - 1)
        self.freepages = [deque() for _ in range(NR_PAGE_ORDERS)]
        self.migratepages: list[int] = []
        self.nr_freepages = 0
        self.nr_migratepages = 0
        self.migrate_scanned = 0
        self.free_scanned = 0
        self.isolated = 0
        self.migrated = 0
        self.migrated_pages = 0
        self.finish_pageblock = False
        self.proactive_wmark = None
        self.migratetype = MIGRATE_MOVABLE

    def scanners_met(self):
        return (self.free_pfn >> pageblock_order) <= (self.migrate_pfn >> pageblock_order)


class CompactionMixin:
    """compact_zone() for :class:`memlab.page_alloc.mobility.MobilityZone`
    (which supplies the free lists, the allocated blocks and their types,
    the Page handles of Movable blocks and the free path)."""

    # ------------------------------------------------------------- page walks
    def _walk_block(self, start, end):
        """(pfn, kind, nr_pages) for each piece of [start, end): "free",
        "movable" or "alloc" (an allocated block, by its allocation's
        type), "pcp" or "other"."""
        free, alloc, alloc_mt, on_pcp = self._free, self._alloc, self._alloc_mt, self._on_pcp
        pfn = start
        while pfn < end:
            o = free.get(pfn)
            if o is not None:
                yield pfn, "free", 1 << o
                pfn += 1 << o
                continue
            o = alloc.get(pfn)
            if o is not None:
                n = min(1 << o, end - pfn)
                yield pfn, ("movable" if alloc_mt[pfn] == MIGRATE_MOVABLE else "alloc"), n
                pfn += n
                continue
            entry = on_pcp.get(pfn)
            if entry is not None:
                yield pfn, "pcp", 1 << entry[1]
                pfn += 1 << entry[1]
                continue
            head = self._alloc_head(pfn)  # inside a larger allocated block that began before start
            if head is not None:
                n = min(head[0] + (1 << head[1]), end) - pfn
                yield pfn, ("movable" if alloc_mt[head[0]] == MIGRATE_MOVABLE else "alloc"), n
                pfn += n
                continue
            yield pfn, "other", 1
            pfn += 1

    def _alloc_head(self, pfn):
        for o in range(1, NR_PAGE_ORDERS):
            head = pfn & ~((1 << o) - 1)
            if self._alloc.get(head) == o:
                return head, o
        return None

    def _count_block(self, start, end):
        """prep_move_freepages_block(): free pages and movable pages."""
        free_pages = movable = 0
        for _, kind, n in self._walk_block(start, end):
            if kind == "free":
                free_pages += n
            elif kind == "movable":
                movable += n
        return free_pages, movable

    # ------------------------------------------------------ deferred compaction
    #: zone->compact_considered, compact_defer_shift, compact_order_failed (0 at boot)
    compact_considered = 0
    compact_defer_shift = 0
    compact_order_failed = 0

    def defer_compaction(self, order):
        """defer_compaction(): compaction failed for ``order``; skip the next
        1, 2, 4 ... 64 attempts (COMPACT_MAX_DEFER_SHIFT 6)."""
        self.compact_considered = 0
        self.compact_defer_shift = min(self.compact_defer_shift + 1, COMPACT_MAX_DEFER_SHIFT)
        if order < self.compact_order_failed:
            self.compact_order_failed = order

    def compaction_deferred(self, order):
        """compaction_deferred(): True while this attempt is to be skipped."""
        if order < self.compact_order_failed:
            return False
        limit = 1 << self.compact_defer_shift
        self.compact_considered += 1
        if self.compact_considered >= limit:
            self.compact_considered = limit
            return False
        return True

    def compaction_defer_reset(self, order, alloc_success):
        """compaction_defer_reset(): compaction worked (and the allocation
        too, ``alloc_success``)."""
        if alloc_success:
            self.compact_considered = 0
            self.compact_defer_shift = 0
        if order >= self.compact_order_failed:
            self.compact_order_failed = order + 1

    def fragmentation_score(self):
        """fragmentation_score_zone(): extfrag_for_order(zone, 9), the share
        (percent) of free memory not in free blocks of 2 MiB or more."""
        counts = self.nr_free_by_order()
        free = sum(n << o for o, n in enumerate(counts))
        if not free:
            return 0
        suitable = sum(n << (o - pageblock_order) for o, n in enumerate(counts) if o >= pageblock_order)
        return (free - (suitable << pageblock_order)) * 100 // free

    def compaction_suit_allocation_order(self, order, highest_zoneidx=None):
        """COMPACT_SUCCESS if a block of ``order`` passes the min watermark
        already, COMPACT_SKIPPED if compaction_suitable() says no (too
        little free memory, or a failure not due to fragmentation), else
        COMPACT_CONTINUE."""
        from .compaction import compaction_suitable
        from .watermarks import zone_watermark_ok

        hz = (self.zone_idx or 0) if highest_zoneidx is None else highest_zoneidx
        if zone_watermark_ok(self, order, self.wmark_pages("min"), hz):
            return "COMPACT_SUCCESS"
        if not compaction_suitable(self, order, hz).suitable:
            return "COMPACT_SKIPPED"
        return "COMPACT_CONTINUE"

    # -------------------------------------------------------------- compaction
    def compact_zone(self, order=-1, gfp="GFP_HIGHUSER_MOVABLE", on_batch=None, proactive_wmark=None):
        """Compact the zone: with ``order=-1`` the whole zone, as
        ``echo 1 > /proc/sys/vm/compact_memory`` does; with an order, for a
        request of that order and ``gfp``: not at all if a block is already
        there (COMPACT_SUCCESS) or if compaction_suitable() says no
        (COMPACT_SKIPPED), else until compact_finished() sees a suitable
        free block. ``on_batch(migrate_pfn, free_pfn)`` is called after each
        batch of migrations (to draw the scanners). ``proactive_wmark``: a
        proactive run, over as soon as :meth:`fragmentation_score` is at or
        below it (COMPACT_SUCCESS). Returns a :class:`CompactionResult`."""
        if order.__class__ is not int or not -1 <= order <= 10:
            from ..errors import BadOrder, reject

            raise reject(BadOrder, order, f"compact_zone: order {order!r} must be -1 (the whole zone) or 0..10")
        cc = _Control(order, self.zone_start_pfn, self.zone_end_pfn)
        cc.proactive_wmark = proactive_wmark
        cc.migratetype = gfp_migratetype(gfp)
        steps: list = []
        if order >= 0:
            verdict = self.compaction_suit_allocation_order(order)
            if verdict != "COMPACT_CONTINUE":
                return self._compaction_result(cc, verdict, steps)
        last_migrated_pfn = 0
        while True:
            result = self._compact_finished(cc)
            if result != "COMPACT_CONTINUE":
                break
            # a second pass over the pageblock just migrated from takes the rest of it, not 32 pages
            cc.finish_pageblock = (last_migrated_pfn >> pageblock_order) == (cc.migrate_pfn >> pageblock_order)
            if self._isolate_migratepages(cc, steps):
                last_migrated_pfn = max(self.zone_start_pfn, (cc.migrate_pfn - 1) & ~(pageblock_nr_pages - 1))
                ok = self._migrate_pages(cc, steps)
                if on_batch is not None:
                    on_batch(cc.migrate_pfn, cc.free_pfn)
                if not ok and not cc.scanners_met():
                    result = "COMPACT_CONTENDED"  # migrate_pages() -ENOMEM: no free page left to move into
                    break
            # check_drain: past the order-aligned block migrated from, free what was freed on the way
            if cc.order > 0 and 0 < last_migrated_pfn < cc.migrate_pfn & ~((1 << cc.order) - 1):
                self._drain_local(steps)
                last_migrated_pfn = 0
        for o in range(NR_PAGE_ORDERS):  # release_free_list(): the unused isolated pages go back
            while cc.freepages[o]:
                self._free_migrated(cc.freepages[o].popleft(), o)
        cc.nr_freepages = 0
        self.events["compact_migrate_scanned"] = self.events.get("compact_migrate_scanned", 0) + cc.migrate_scanned
        self.events["compact_free_scanned"] = self.events.get("compact_free_scanned", 0) + cc.free_scanned
        self.events["compact_isolated"] = self.events.get("compact_isolated", 0) + cc.isolated
        self.events["pgmigrate_success"] = self.events.get("pgmigrate_success", 0) + cc.migrated_pages
        self._trail.append(("compact", cc.migrate_pfn, order, result, 0, tuple(steps[-8:])))
        return self._compaction_result(cc, result, steps)

    def _compaction_result(self, cc, result, steps):
        return CompactionResult(
            result=result,
            migrated_blocks=cc.migrated,
            migrated_pages=cc.migrated_pages,
            migrate_scanned=cc.migrate_scanned,
            free_scanned=cc.free_scanned,
            isolated=cc.isolated,
            migrate_pfn=cc.migrate_pfn,
            free_pfn=cc.free_pfn,
            steps=tuple(steps),
        )

    def _compact_finished(self, cc):
        if cc.scanners_met():
            return "COMPACT_COMPLETE"
        if cc.proactive_wmark is not None:
            return "COMPACT_CONTINUE" if self.fragmentation_score() > cc.proactive_wmark else "COMPACT_SUCCESS"
        if cc.order < 0 or cc.migrate_pfn % pageblock_nr_pages:
            return "COMPACT_CONTINUE"
        for o in range(cc.order, NR_PAGE_ORDERS):  # a suitable page is free?
            if len(self._lists[o][cc.migratetype]) or self._find_suitable_fallback(o, cc.migratetype)[1]:
                return "COMPACT_SUCCESS"
        return "COMPACT_CONTINUE"

    def _isolate_migratepages(self, cc, steps):
        """isolate_migratepages(): the pageblock at the migration scanner, if
        it lies below the free scanner; True if blocks were isolated."""
        block_end = (cc.migrate_pfn & ~(pageblock_nr_pages - 1)) + pageblock_nr_pages
        if block_end > cc.free_pfn:
            return False
        start = cc.migrate_pfn
        self._isolate_migratepages_block(cc, start, min(block_end, self.zone_end_pfn))
        if cc.migratepages:
            steps.append(("isolate", start, cc.migrate_pfn, cc.nr_migratepages, cc.finish_pageblock))
        return bool(cc.migratepages)

    def _isolate_migratepages_block(self, cc, low_pfn, end_pfn):
        """isolate_migratepages_block(): skip free blocks, take movable
        blocks whole (folios on the LRU) until COMPACT_CLUSTER_MAX pages are
        taken, step over everything else a page at a time."""
        free, alloc, alloc_mt = self._free, self._alloc, self._alloc_mt
        scanned = 0
        while low_pfn < end_pfn:
            scanned += 1
            o = free.get(low_pfn)
            if o is not None:  # PageBuddy: skip the free block
                low_pfn += 1 << o
                scanned += (1 << o) - 1
                continue
            o = alloc.get(low_pfn)
            if o is not None:
                # skip_isolation_on_order(): a compound page of the target order or more, or a pageblock
                if o and ((cc.order >= 0 and o >= cc.order) or o >= pageblock_order):
                    low_pfn += 1 << o
                    scanned += (1 << o) - 1
                    continue
                if alloc_mt[low_pfn] == MIGRATE_MOVABLE:  # on the LRU: isolate the whole folio
                    cc.migratepages.append(low_pfn)
                    cc.nr_migratepages += 1 << o
                    cc.isolated += 1 << o
                    low_pfn += 1 << o
                    scanned += (1 << o) - 1
                    if cc.nr_migratepages >= COMPACT_CLUSTER_MAX and not cc.finish_pageblock:
                        break
                    continue
            low_pfn += 1  # not on the LRU (kernel pages, per-CPU lists, tail pages): one page at a time
        cc.migrate_scanned += scanned
        cc.migrate_pfn = low_pfn

    def _migrate_pages(self, cc, steps):
        """migrate_pages(): each isolated block copied into a free block from
        compaction_alloc(); False if the free pages ran out (-ENOMEM)."""
        ok = True
        todo, cc.migratepages = cc.migratepages, []
        for src in todo:
            order = self._alloc[src]
            dst = self._compaction_alloc(cc, order)
            if dst is None:  # -ENOMEM; putback_movable_pages(): the rest stay where they are
                ok = False
                break
            self._move_block(src, dst, order)
            cc.migrated += 1
            cc.migrated_pages += 1 << order
            steps.append(("migrate", src, dst, order))
        cc.nr_migratepages = 0
        return ok

    def _move_block(self, src, dst, order):
        mt = self._alloc_mt.pop(src)
        del self._alloc[src]
        self._alloc[dst] = order
        self._alloc_mt[dst] = mt
        page = self._pages.pop(src, None)
        if page is not None:
            page.pfn = dst
            self._pages[dst] = page
        for callback in self.migrate_callbacks:
            callback(src, dst, order)
        self._free_migrated(src, order)  # folio_put() of the old folio

    def _free_migrated(self, pfn, order):
        """__free_pages() of a block the zone holds no record of (to the
        per-CPU list of CPU 0 for the orders it keeps, as folio_put() does)."""
        mt = self._pb[(pfn >> pageblock_order) - self._pb_base]
        if self.use_pcp and (order <= 3 or order == 9) and mt != MIGRATE_ISOLATE:
            self._free_unref_page_commit(self.pcp[0], pfn, mt if mt < MIGRATE_PCPTYPES else MIGRATE_MOVABLE, order, [])
        else:
            self._split_large_buddy(pfn, order, False)

    def _drain_local(self, steps):
        """lru_add_drain_cpu_zone() -> drain_local_pages(): CPU 0's lists."""
        self._drain_pages_zone(self.pcp[0], steps)

    def _compaction_alloc(self, cc, order):
        isolated = False
        while True:
            for start in range(order, NR_PAGE_ORDERS):
                if cc.freepages[start]:
                    pfn = cc.freepages[start].popleft()
                    while start > order:  # split: the upper halves back to the head of the lower lists
                        start -= 1
                        cc.freepages[start].appendleft(pfn + (1 << start))
                    cc.nr_freepages -= 1 << order
                    cc.nr_migratepages -= 1 << order
                    return pfn
            if isolated:
                return None
            self._isolate_freepages(cc)
            isolated = True

    def _isolate_freepages(self, cc):
        """isolate_freepages(): walk down from the free scanner's pageblock,
        taking free blocks out of Movable pageblocks until there are as many
        free pages as pages to migrate."""
        isolate_start = cc.free_pfn
        block_start = isolate_start & ~(pageblock_nr_pages - 1)
        block_end = min(block_start + pageblock_nr_pages, self.zone_end_pfn)
        low_pfn = (cc.migrate_pfn & ~(pageblock_nr_pages - 1)) + pageblock_nr_pages
        while block_start >= low_pfn:
            if self._suitable_migration_target(cc, block_start):
                isolate_start = self._isolate_freepages_block(cc, isolate_start, block_end)
                if cc.nr_freepages >= cc.nr_migratepages:
                    if isolate_start >= block_end:
                        isolate_start = block_start - pageblock_nr_pages
                    break
                if isolate_start < block_end:
                    break
            block_end = block_start
            block_start -= pageblock_nr_pages
            isolate_start = block_start
        cc.free_pfn = isolate_start

    def _suitable_migration_target(self, cc, pfn):
        if not self.contains_pfn(pfn):
            return False
        o = self._free.get(pfn)
        if o is not None and o >= (cc.order if cc.order > 0 else pageblock_order):
            return False  # a large free block: leave it be
        return self.pageblock_migratetype(pfn) == MIGRATE_MOVABLE

    def _isolate_freepages_block(self, cc, start, end):
        pfn = max(start, self.zone_start_pfn)
        free, alloc = self._free, self._alloc
        while pfn < end:
            cc.free_scanned += 1
            o = alloc.get(pfn)
            if o and pfn + (1 << o) <= end:  # a compound page: skip it whole
                pfn += 1 << o
                cc.free_scanned += (1 << o) - 1
                continue
            o = free.get(pfn)
            if o is None:
                pfn += 1
                continue
            if self._nr_free <= self._watermark["min"] + (1 << o):  # __isolate_free_page(): keep the min mark
                break
            mt = self.pageblock_migratetype(pfn)
            self._lists[o][mt].delete(pfn)
            del free[pfn]
            self._nr_free -= 1 << o
            if o >= pageblock_order - 1:
                for block in range(pfn, pfn + (1 << o), pageblock_nr_pages):
                    block_mt = self.pageblock_migratetype(block)
                    if block_mt < MIGRATE_PCPTYPES and block_mt != MIGRATE_MOVABLE:
                        self._move_freepages_block(block & ~(pageblock_nr_pages - 1), block_mt, MIGRATE_MOVABLE)
            cc.freepages[o].append(pfn)
            cc.nr_freepages += 1 << o
            cc.isolated += 1 << o
            cc.free_scanned += (1 << o) - 1
            pfn += 1 << o
            if cc.nr_migratepages <= cc.nr_freepages:
                break
        return min(pfn, end)
