"""Page reclaim: kswapd, direct reclaim and the OOM killer of a machine.

Kernel (Linux 6.12, read in Debian's 6.12.117 source): mm/vmscan.c
wakeup_kswapd(), balance_pgdat(), pgdat_balanced(), kswapd_shrink_node(),
shrink_node(), shrink_lruvec() with get_scan_count()'s file-only balance
(no swap, as on this host: ``/proc/swaps`` is empty), shrink_active_list(),
shrink_inactive_list(), shrink_folio_list() with folio_check_references(),
inactive_is_low(), try_to_free_pages() / do_try_to_free_pages();
mm/shrinker.c do_shrink_slab() (``(freeable >> priority) * 4 / seeks``,
batches of 128) with fs/super.c super_cache_scan() splitting the scan
between dentries and inodes; mm/page_alloc.c __alloc_pages_slowpath()
(wake kswapd, direct compaction for costly orders, direct reclaim, drain the
per-CPU lists, retry up to MAX_RECLAIM_RETRIES, then the OOM killer);
mm/oom_kill.c oom_badness() and the "Out of memory: Killed process" line;
mm/compaction.c wakeup_kcompactd(), kcompactd_node_suitable(),
kcompactd_do_work().

Simplifications, each said where it matters: kswapd runs at once, between
two operations of the simulation, rather than beside them; the LRU order of
the page cache is the order pages entered it (and moved between the lists);
a mapped file page is referenced (its PTE is young) and so kept; a dirty
page met by reclaim is written back by the flusher at once; anonymous pages
cannot be reclaimed (no swap); no memory cgroups, no MGLRU (the host has
none), kcompactd runs at once like kswapd (its proactive compaction every
500 ms when :meth:`Vmscan.kcompactd_tick` is called: the model has no
clock), no per-zone throttling.
"""

from __future__ import annotations

from collections import deque

from .gfp import GFP, gfp_names
from .mm.vma import LRU_CLOCK
from .units import PAGE_SHIFT

__all__ = [
    "Vmscan",
    "DEF_PRIORITY",
    "SWAP_CLUSTER_MAX",
    "MAX_RECLAIM_RETRIES",
    "OOM_SCORE_ADJ_MIN",
    "mapped_file_pfns",
    "oom_badness",
    "alloc_pages_slowpath",
]

DEF_PRIORITY = 12
SWAP_CLUSTER_MAX = 32
MAX_RECLAIM_RETRIES = 16
OOM_SCORE_ADJ_MIN = -1000
DEFAULT_SEEKS = 2
SHRINK_BATCH = 128


def mapped_file_pfns(machine):
    """PFNs of page-cache pages some process maps (folio_mapped())."""
    out = set()
    for p in machine.processes.values():
        for vma in p.mm.vmas:
            f = vma.file
            if f is None:
                continue
            for index, pfn in f.page_cache.items():
                if vma.pgoff <= index < vma.pgoff + (vma.size >> PAGE_SHIFT):
                    pte = p.mm.pagetables.lookup_pte(vma.start + ((index - vma.pgoff) << PAGE_SHIFT))
                    if pte is not None and pte.pfn == pfn:
                        out.add(pfn)
    return out


def oom_badness(process, totalpages):
    """mm/oom_kill.c oom_badness(): RSS + swap entries + page-table pages,
    plus ``oom_score_adj * (totalpages / 1000)``; None for a process that
    may not be killed (oom_score_adj -1000)."""
    adj = getattr(process, "oom_score_adj", 0)
    if adj == OOM_SCORE_ADJ_MIN:
        return None
    mm = process.mm
    points = mm.rss_anon + mm.rss_file + len(mm.pagetables.pt_pages)
    return points + adj * (totalpages // 1000)


class _Scan:
    """struct scan_control, the parts memlab uses."""

    def __init__(self, nr_to_reclaim, order, kswapd):
        self.nr_to_reclaim = nr_to_reclaim
        self.order = order
        self.kswapd = kswapd
        self.priority = DEF_PRIORITY
        self.nr_scanned = 0
        self.nr_reclaimed = 0


class Vmscan:
    """Reclaim on a :class:`memlab.Machine` (``machine.vmscan``). Counters
    go to ``machine.vm_events`` under their /proc/vmstat names; ``log``
    keeps the last reclaim events in words."""

    def __init__(self, machine):
        self.machine = machine
        self.kswapd_failures = 0
        self.log: deque[str] = deque(maxlen=64)

    # ------------------------------------------------------------ the LRU lists
    def file_lru(self):
        """(inactive, active): the page-cache pages as ``(file, index, pfn)``,
        oldest (the list's tail, reclaimed first) first."""
        pages = []
        for f in self.machine.cached_files.values():
            stamps = f.lru_stamp
            for index, pfn in f.page_cache.items():
                pages.append((stamps.get(index, 0), index in f.active, f, index, pfn))
        pages.sort(key=lambda p: p[0])
        inactive = [(f, i, pfn) for _, active, f, i, pfn in pages if not active]
        active = [(f, i, pfn) for _, active, f, i, pfn in pages if active]
        return inactive, active

    @staticmethod
    def inactive_is_low(inactive, active):
        """inactive_is_low(): the inactive list is short next to the active
        one (ratio int_sqrt(10 * GiB of the lists), at least 1)."""
        gb = (inactive + active) >> (30 - PAGE_SHIFT)
        ratio = int((10 * gb) ** 0.5) if gb else 1
        return inactive * ratio < active

    def _event(self, name, n=1):
        self.machine.vm_events[name] += n

    def _shrink_active_list(self, nr_to_scan, sc, inactive, active):
        """Deactivate the oldest active pages (a mapped page of an
        executable mapping would stay; memlab has none)."""
        moved = 0
        while active and moved < nr_to_scan:
            f, index, pfn = active.popleft()
            f.active.discard(index)
            f.lru_stamp[index] = next(LRU_CLOCK)
            inactive.append((f, index, pfn))
            moved += 1
        self._event("pgrefill", moved)
        self._event("pgdeactivate", moved)
        return moved

    def _shrink_inactive_list(self, nr_to_scan, sc, inactive, active, mapped):
        """Reclaim from the tail of the inactive list: clean unmapped pages
        are freed; a mapped page is kept (activated if referenced twice); a
        dirty page is written back and waits for the next pass."""
        m = self.machine
        taken = [inactive.popleft() for _ in range(min(nr_to_scan, len(inactive)))]
        reclaimed = 0
        for entry in taken:
            f, index, pfn = entry
            if pfn in mapped:  # folio_check_references(): the PTE is young
                f.lru_stamp[index] = next(LRU_CLOCK)
                if index in f.referenced:
                    f.referenced.discard(index)
                    f.active.add(index)
                    active.append(entry)
                    self._event("pgactivate")
                else:
                    f.referenced.add(index)
                    inactive.append(entry)
                continue
            referenced = index in f.referenced
            f.referenced.discard(index)
            if index in f.dirty:
                if referenced:  # FOLIOREF_RECLAIM_CLEAN on a dirty page: keep it
                    f.lru_stamp[index] = next(LRU_CLOCK)
                    inactive.append(entry)
                    continue
                # pageout is the flusher's: woken, it writes the file back; the page goes back to the
                # tail (folio_rotate_reclaimable()), to be reclaimed on the next pass
                written = f.writeback(m)
                m.vm_events["nr_written"] += written
                m.vm_events["pgpgout"] += 4 * written
                inactive.appendleft(entry)
                continue
            del f.page_cache[index]
            f.lru_stamp.pop(index, None)
            m.free_pages(pfn, 0)
            reclaimed += 1
            if not f.page_cache:
                m.cached_files.pop(id(f), None)
        kind = "kswapd" if sc.kswapd else "direct"
        self._event(f"pgscan_{kind}", len(taken))
        self._event(f"pgsteal_{kind}", reclaimed)
        self._event("pgscan_file", len(taken))
        self._event("pgsteal_file", reclaimed)
        sc.nr_scanned += len(taken)
        sc.nr_reclaimed += reclaimed
        return reclaimed

    def shrink_node(self, sc):
        """shrink_node() -> shrink_lruvec() over the file lists (no swap:
        SCAN_FILE), then shrink_slab()."""
        lists = self.file_lru()
        inactive, active = deque(lists[0]), deque(lists[1])
        nr = [len(inactive) >> sc.priority, len(active) >> sc.priority]
        mapped = mapped_file_pfns(self.machine) if nr[0] else set()
        start = sc.nr_reclaimed
        while nr[0] or nr[1]:
            for lru in (0, 1):  # for_each_evictable_lru: inactive file, then active file
                if not nr[lru]:
                    continue
                n = min(nr[lru], SWAP_CLUSTER_MAX)
                nr[lru] -= n
                if lru == 0:
                    self._shrink_inactive_list(n, sc, inactive, active, mapped)
                elif self.inactive_is_low(len(inactive), len(active)):
                    self._shrink_active_list(n, sc, inactive, active)
            if sc.nr_reclaimed - start >= sc.nr_to_reclaim:
                break
        if self.inactive_is_low(len(inactive), len(active)):  # age the active list for the next pass
            self._shrink_active_list(SWAP_CLUSTER_MAX, sc, inactive, active)
        sc.nr_reclaimed += self.shrink_slab(sc.priority)

    def shrink_slab(self, priority):
        """do_shrink_slab() for the dentry and inode caches: scan
        ``(freeable >> priority) * 4 / DEFAULT_SEEKS`` objects in batches of
        128; returns the slab pages freed."""
        vfs = self.machine.__dict__.get("vfs")
        if vfs is None:
            return 0
        freeable = sum(vfs.unused_counts())
        total_scan = (freeable >> priority) * 4 // DEFAULT_SEEKS
        if not freeable:
            return 0
        before = vfs.slab_pages()
        freed = 0
        while total_scan >= SHRINK_BATCH or total_scan >= freeable:
            n = min(SHRINK_BATCH, total_scan)
            freed += vfs.prune(n)
            total_scan -= n
            if not n or not sum(vfs.unused_counts()):
                break
        if freed:
            self._event("slabs_scanned", freed)
        return before - vfs.slab_pages()

    # ------------------------------------------------------------------ kswapd
    def pgdat_balanced(self, order, highest_zoneidx):
        """Some zone up to ``highest_zoneidx`` is above its high watermark
        for ``order`` (checked bottom up)."""
        from .page_alloc.watermarks import zone_watermark_ok

        zones = [z for z in self.machine.node_zones[: highest_zoneidx + 1] if z.managed_pages]
        return not zones or any(zone_watermark_ok(z, order, z.wmark_pages("high"), highest_zoneidx) for z in zones)

    def wakeup_kswapd(self, order, highest_zoneidx, gfp):
        """wakeup_kswapd(): unless the node is balanced (and not boosted) or
        kswapd gave up, kswapd runs (memlab runs it at once)."""
        boosted = any(z.watermark_boost for z in self.machine.node_zones[: highest_zoneidx + 1])
        if self.kswapd_failures >= MAX_RECLAIM_RETRIES or (self.pgdat_balanced(order, highest_zoneidx) and not boosted):
            if not gfp & GFP["__GFP_DIRECT_RECLAIM"]:
                self.wakeup_kcompactd(order, highest_zoneidx)
            return None
        return self.balance_pgdat(order, highest_zoneidx)

    def balance_pgdat(self, order, highest_zoneidx):
        """kswapd's work: reclaim, priority 12 down to 1, until some zone is
        above its high watermark (first paying back watermark boosts).
        Returns the pages reclaimed."""
        m = self.machine
        self._event("pageoutrun")
        zones = m.node_zones[: highest_zoneidx + 1]
        boosts = [z.watermark_boost for z in zones]
        nr_boost_reclaim = sum(boosts)
        sc = _Scan(0, order, kswapd=True)
        while True:  # restart:
            sc.priority = DEF_PRIORITY
            restart = False
            while sc.priority >= 1:
                balanced = self.pgdat_balanced(sc.order, highest_zoneidx)
                if not balanced and nr_boost_reclaim:
                    nr_boost_reclaim = 0
                    restart = True
                    break
                if not nr_boost_reclaim and balanced:
                    break
                raise_priority = not (nr_boost_reclaim and sc.priority == DEF_PRIORITY - 2)
                before = sc.nr_reclaimed
                sc.nr_scanned = 0
                sc.nr_to_reclaim = sum(max(z.wmark_pages("high"), SWAP_CLUSTER_MAX) for z in zones if z.managed_pages)
                self.shrink_node(sc)  # kswapd_shrink_node()
                if sc.order and sc.nr_reclaimed >= 2 << sc.order:
                    sc.order = 0
                if max(sc.nr_scanned, sc.nr_reclaimed - before) >= sc.nr_to_reclaim:
                    raise_priority = False
                got = sc.nr_reclaimed - before
                nr_boost_reclaim -= min(nr_boost_reclaim, got)
                if nr_boost_reclaim and not got:
                    break
                if raise_priority or not got:
                    sc.priority -= 1
            if not restart:
                break
        if not sc.nr_reclaimed and not self.pgdat_balanced(order, highest_zoneidx):
            self.kswapd_failures += 1
        for z, boost in zip(zones, boosts):
            z.watermark_boost -= min(z.watermark_boost, boost)
        if sum(boosts):  # the boost came from fallbacks: kcompactd tidies up whole pageblocks
            self.wakeup_kcompactd(9, highest_zoneidx)
        self.log.append(
            f"kswapd0: woken for order {order}; reclaimed {sc.nr_reclaimed} pages"
            + ("" if self.pgdat_balanced(0, highest_zoneidx) else "; the node is still below its high watermark")
        )
        return sc.nr_reclaimed

    # ---------------------------------------------------------------- kcompactd
    def wakeup_kcompactd(self, order, highest_zoneidx):
        """wakeup_kcompactd() and kcompactd_do_work() (run at once): for an
        order > 0, if some zone would profit (kcompactd_node_suitable()),
        compact each zone up to ``highest_zoneidx`` that is not deferred,
        deferring it again when compaction did not make the block."""
        zones = [z for z in self.machine.node_zones[: highest_zoneidx + 1] if z.present_pages]
        if not order or not all(hasattr(z, "compact_zone") for z in zones):
            return None
        if not any(z.compaction_suit_allocation_order(order, highest_zoneidx) == "COMPACT_CONTINUE" for z in zones):
            return None
        self._event("compact_daemon_wake")
        for zone in zones:
            if zone.compaction_deferred(order):
                continue
            if zone.compaction_suit_allocation_order(order, zone.zone_idx) != "COMPACT_CONTINUE":
                continue
            result = zone.compact_zone(order)
            if result.result == "COMPACT_SUCCESS":
                zone.compaction_defer_reset(order, False)
            elif result.result == "COMPACT_COMPLETE":
                zone.drain_all_pages()
                zone.defer_compaction(order)
            self._event("compact_daemon_migrate_scanned", result.migrate_scanned)
            self._event("compact_daemon_free_scanned", result.free_scanned)
            self.log.append(f"kcompactd0: compacted {zone.name} for order {order}: {result.result}")
        return True

    def fragmentation_score_node(self):
        """fragmentation_score_node(): each zone's fragmentation score
        weighted by its share of the node's present pages."""
        zones = [z for z in self.machine.node_zones if z.present_pages and hasattr(z, "fragmentation_score")]
        present = sum(z.present_pages for z in self.machine.node_zones)
        return sum(z.present_pages * z.fragmentation_score() // (present + 1) for z in zones)

    def kcompactd_tick(self, proactiveness=20):
        """One of kcompactd's wake-ups every 500 ms (HPAGE_FRAG_CHECK_INTERVAL_MSEC):
        if the node's fragmentation score is above the high mark (``100 -
        proactiveness + 10``), compact every zone until its score is at or
        below the low mark (``100 - proactiveness``, at least 5):
        proactive compaction, vm.compaction_proactiveness (20 by default).
        Returns ``(score before, score after)``, or None if nothing ran."""
        if not proactiveness:
            return None
        low = max(100 - proactiveness, 5)
        before = self.fragmentation_score_node()
        if before <= min(low + 10, 100):
            return None
        for zone in self.machine.populated_zones:
            result = zone.compact_zone(-1, proactive_wmark=low)
            self._event("compact_daemon_migrate_scanned", result.migrate_scanned)
            self._event("compact_daemon_free_scanned", result.free_scanned)
        after = self.fragmentation_score_node()
        self.log.append(f"kcompactd0: proactive compaction, fragmentation score {before} -> {after}")
        return before, after

    # --------------------------------------------------------- direct reclaim
    def try_to_free_pages(self, order, gfp, highest_zoneidx):
        """Direct reclaim by the allocating task: SWAP_CLUSTER_MAX pages,
        priority 12 down to 0 until they are found."""
        sc = _Scan(SWAP_CLUSTER_MAX, order, kswapd=False)
        while sc.priority >= 0 and sc.nr_reclaimed < sc.nr_to_reclaim:
            self.shrink_node(sc)
            sc.priority -= 1
        self.log.append(f"direct reclaim for order {order} ({gfp_names(gfp)}): {sc.nr_reclaimed} pages")
        return sc.nr_reclaimed

    # -------------------------------------------------------------- OOM killer
    def out_of_memory(self, order, gfp):
        """out_of_memory(): kill the process with the highest oom_badness()
        and free its memory; returns it, or None if no process may be
        killed."""
        m = self.machine
        totalpages = m.totalram_pages
        scored = [(oom_badness(p, totalpages), p) for p in m.processes.values()]
        scored = [(points, p) for points, p in scored if points is not None]
        if not scored:
            return None
        _, victim = max(scored, key=lambda s: (s[0], -s[1].pid))
        mm = victim.mm
        line = (
            f"Out of memory: Killed process {victim.pid} ({victim.name}) total-vm:{mm.total_vm * 4}kB, "
            f"anon-rss:{mm.rss_anon * 4}kB, file-rss:{mm.rss_file * 4}kB, shmem-rss:0kB, UID:0 "
            f"pgtables:{len(mm.pagetables.pt_pages) * 4}kB oom_score_adj:{getattr(victim, 'oom_score_adj', 0)}\n"
        )
        m.kernel_log.append(line)
        victim.exit()
        victim.killed_by = "the OOM killer"
        self._event("oom_kill")
        self.log.append(line.strip())
        return victim

    @staticmethod
    def may_reclaim(mask):
        return bool(mask & GFP["__GFP_DIRECT_RECLAIM"])


def alloc_pages_slowpath(machine, node_alloc, order, gfp):
    """__alloc_pages_noprof() with the slow path of a machine that reclaims:
    the fast path (low watermark); if it fails, wake kswapd and try again
    at the min watermark; then, for a caller that may sleep, direct
    compaction for a costly order (zones with migratetypes), direct
    reclaim, a drain of the per-CPU lists, more reclaim while it makes
    progress, and at last the OOM killer (orders up to 3, not for
    __GFP_NORETRY). ``node_alloc(order, mask)`` is the zonelist walk
    (:meth:`memlab.page_alloc.Node.alloc_pages`)."""
    from .errors import OutOfMemory
    from .gfp import gfp_zone, parse_gfp

    mask = parse_gfp(gfp)
    hz = gfp_zone(mask)
    vm = machine.vmscan
    try:
        page = node_alloc(order, mask)
    except OutOfMemory as first:
        failure = first
    else:
        if machine.last_watermark == "min" and mask & GFP["__GFP_KSWAPD_RECLAIM"]:
            vm.wakeup_kswapd(order, hz, mask)  # (woken on the way to the min watermark)
        return page

    def attempt():
        try:
            return node_alloc(order, mask)
        except OutOfMemory as again:
            nonlocal failure
            failure = again
            return None

    if mask & GFP["__GFP_KSWAPD_RECLAIM"]:
        vm.wakeup_kswapd(order, hz, mask)
        page = attempt()
        if page is not None:
            return page
    if not vm.may_reclaim(mask):
        raise failure
    zones = [z for z in machine.node_zones[: hz + 1] if z.managed_pages]
    story = []
    if order > 3 and all(hasattr(z, "compact_zone") for z in zones):  # __alloc_pages_direct_compact()
        machine.vm_events["compact_stall"] += 1
        for zone in reversed(zones):  # try_to_compact_pages(): the zonelist, highest zone first
            if zone.compaction_deferred(order):
                story.append(f"compaction of {zone.name} deferred")
                continue
            result = zone.compact_zone(order)
            story.append(f"compaction of {zone.name}: {result.result}")
            if result.result == "COMPACT_SUCCESS":
                zone.compaction_defer_reset(order, False)
                break
            if result.result == "COMPACT_COMPLETE":
                zone.defer_compaction(order)
        page = attempt()
        if page is not None:
            machine.vm_events["compact_success"] += 1
            machine.zone_of_pfn(page.pfn).compaction_defer_reset(order, True)
            return page
        machine.vm_events["compact_fail"] += 1
    drained = False
    no_progress = 0
    while True:
        machine.vm_events[f"allocstall_{zones[-1].name.lower()}"] += 1
        reclaimed = vm.try_to_free_pages(order, mask, hz)
        story.append(f"direct reclaim: {reclaimed} pages")
        page = attempt()
        if page is None and not drained and any(hasattr(z, "drain_all_pages") for z in zones):
            for zone in zones:
                if hasattr(zone, "drain_all_pages"):
                    zone.drain_all_pages()
            drained = True
            page = attempt()
        if page is not None:
            return page
        no_progress = 0 if reclaimed else no_progress + 1
        reclaimable = any(machine.zone_of_pfn(pfn) in zones for f in machine.cached_files.values()
                          for pfn in f.page_cache.values())  # fmt: skip
        if reclaimed or (reclaimable and no_progress <= MAX_RECLAIM_RETRIES):
            continue
        if order > 3 or mask & GFP["__GFP_NORETRY"]:  # the OOM killer is not for these
            break
        victim = vm.out_of_memory(order, mask)
        if victim is None:
            story.append("no process left to kill")
            break
        story.append(f"OOM killer: killed process {victim.pid} ({victim.name})")
        if victim is machine.current:  # the allocating task itself: its fault or system call ends here
            raise OutOfMemory(f"{failure}; {'; '.join(story)}, the task that was allocating")
        no_progress = 0
        page = attempt()
        if page is not None:
            return page
    raise OutOfMemory(f"{failure}; {'; '.join(story)}: the allocation fails")
