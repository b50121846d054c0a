"""The per-CPU page lists of a zone: ``struct per_cpu_pages``.

Kernel (Linux 6.12, read in Debian's 6.12.117 source): mm/page_alloc.c
zone_batchsize(), zone_highsize(), zone_set_pageset_high_and_batch(),
order_to_pindex(), pcp_allowed_order(), nr_pcp_alloc(), nr_pcp_high(),
nr_pcp_free(); include/linux/mmzone.h struct per_cpu_pages; mm/vmstat.c
zoneinfo_show_print() for the ``pagesets`` lines of /proc/zoneinfo.

Every allocation of order 0-3 (PAGE_ALLOC_COSTLY_ORDER) or of the THP order
9 is first served from the CPU's list for that order and migratetype; an
empty list is refilled with ``batch``-sized bulk allocations from the buddy
lists (rmqueue_bulk()), and a free goes to the head of the CPU's list, which
is drained back to the buddy lists (free_pcppages_bulk()) when it holds
``high`` pages. ``high`` tunes itself between ``high_min`` (the zone's low
watermark shared among the CPUs) and ``high_max`` (1/8 of the zone shared
among the CPUs), as nr_pcp_alloc() and nr_pcp_high() do.

The walks through the lists live in :mod:`memlab.page_alloc.mobility`; this
module holds the sizes and the arithmetic. Not modelled: decay_pcp_high()
(the vmstat worker that lowers ``high`` every second), remote draining, the
boot pageset, ``percpu_pagelist_high_fraction`` set at run time (it can be
given when the zone is made).
"""

from __future__ import annotations

from collections import deque

__all__ = [
    "PAGE_ALLOC_COSTLY_ORDER",
    "HPAGE_PMD_ORDER",
    "NR_LOWORDER_PCP_LISTS",
    "NR_PCP_LISTS",
    "CONFIG_PCP_BATCH_SCALE_MAX",
    "MIN_PERCPU_PAGELIST_HIGH_FRACTION",
    "PCPF_PREV_FREE_HIGH_ORDER",
    "PCPF_FREE_HIGH_BATCH",
    "PerCpuPages",
    "zone_batchsize",
    "zone_highsize",
    "pcp_allowed_order",
    "order_to_pindex",
    "pindex_to_order",
    "pagesets_text",
    "PerCpuListsMixin",
]

PAGE_ALLOC_COSTLY_ORDER = 3
HPAGE_PMD_ORDER = 9  # (x86-64, CONFIG_TRANSPARENT_HUGEPAGE=y as on the host)
MIGRATE_PCPTYPES = 3
NR_LOWORDER_PCP_LISTS = MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1)
NR_PCP_LISTS = NR_LOWORDER_PCP_LISTS + 2  # NR_PCP_THP: unmovable and movable THP lists
CONFIG_PCP_BATCH_SCALE_MAX = 5  # mm/Kconfig default
MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8
PCPF_PREV_FREE_HIGH_ORDER = 1
PCPF_FREE_HIGH_BATCH = 2
_MIGRATE_MOVABLE = 1


def zone_batchsize(managed_pages: int) -> int:
    """``pcp->batch``: about 0.1 % of the zone or 1 MiB, whichever is
    smaller, divided by 4 and clamped to ``2**n - 1``; at least 1
    (zone_batchsize() and the ``max(1, ...)`` of
    zone_set_pageset_high_and_batch())."""
    batch = min(managed_pages >> 10, (1 << 20) // 4096) // 4
    batch = max(batch, 1)
    n = batch + batch // 2
    batch = (1 << (n.bit_length() - 1)) - 1  # rounddown_pow_of_two(n) - 1
    return max(1, batch)


def zone_highsize(total_pages: int, batch: int, nr_cpus: int, cpu_online: int = 0) -> int:
    """zone_highsize(): ``total_pages`` (the low watermark, or the managed
    pages divided by a high fraction) shared among the node's CPUs (plus
    ``cpu_online`` while a CPU comes up), at least ``4 * batch``."""
    return max(total_pages // (nr_cpus + cpu_online), batch << 2)


def pcp_allowed_order(order: int) -> bool:
    """Orders served by the per-CPU lists: 0-3 and the THP order (9)."""
    return order <= PAGE_ALLOC_COSTLY_ORDER or order == HPAGE_PMD_ORDER


def order_to_pindex(migratetype: int, order: int) -> int:
    """The index of the pcp list for (``migratetype``, ``order``)."""
    if order > PAGE_ALLOC_COSTLY_ORDER:
        return NR_LOWORDER_PCP_LISTS + (migratetype == _MIGRATE_MOVABLE)
    return MIGRATE_PCPTYPES * order + migratetype


def pindex_to_order(pindex: int) -> int:
    return HPAGE_PMD_ORDER if pindex >= NR_LOWORDER_PCP_LISTS else pindex // MIGRATE_PCPTYPES


class PerCpuPages:
    """One CPU's ``struct per_cpu_pages`` for one zone.

    ``lists[pindex]`` is a deque of PFNs, head on the left: a free adds at
    the head (list_add), an allocation takes the head (list_first_entry), a
    bulk refill adds at the tail (list_add_tail), a drain takes the tail
    (list_last_entry). ``count`` is in pages.
    """

    __slots__ = (
        "cpu",
        "count",
        "high",
        "high_min",
        "high_max",
        "batch",
        "free_count",
        "alloc_factor",
        "flags",
        "lists",
    )

    def __init__(self, cpu: int, batch: int, high_min: int, high_max: int) -> None:
        self.cpu = cpu
        self.count = 0
        self.high = 0  # (memset to 0; clamped into [high_min, high_max] on first use)
        self.batch = batch
        self.high_min = high_min
        self.high_max = high_max
        self.free_count = 0
        self.alloc_factor = 0
        self.flags = 0
        self.lists: list[deque[int]] = [deque() for _ in range(NR_PCP_LISTS)]

    def nr_pcp_alloc(self, order: int, below_high: bool) -> int:
        """How many blocks rmqueue_bulk() fetches to refill an empty list
        (nr_pcp_alloc(); raises ``high`` and doubles ``alloc_factor`` on
        consecutive order-0 refills)."""
        base_batch, high_min, high_max = self.batch, self.high_min, self.high_max
        high = self.high = min(max(self.high, high_min), high_max)
        if high < base_batch:
            return 1
        batch = base_batch if order else base_batch << self.alloc_factor
        if high_min != high_max and not below_high:
            high = self.high = min(high + batch, high_max)
        if not order:
            max_nr_alloc = max(high - self.count - base_batch, base_batch)
            if batch <= max_nr_alloc and self.alloc_factor < CONFIG_PCP_BATCH_SCALE_MAX:
                self.alloc_factor += 1
            batch = min(batch, max_nr_alloc)
        if batch > 1:
            batch = max(batch >> order, 2)
        return batch

    def nr_pcp_high(self, batch: int, free_high: bool, below_high: bool, reclaim_active: bool) -> int:
        """The fill level at which a free drains the lists (nr_pcp_high())."""
        high_min, high_max = self.high_min, self.high_max
        high = self.high = min(max(self.high, high_min), high_max)
        if not high:
            return 0
        if free_high:
            self.high = max(high - (batch << CONFIG_PCP_BATCH_SCALE_MAX), high_min)
            return 0
        if reclaim_active:
            free_count = max(self.free_count, batch)
            self.high = max(high - free_count, high_min)
            return min(batch << 2, self.high)
        if high_min == high_max:
            return high
        if below_high:
            free_count = max(self.free_count, batch)
            self.high = max(high - free_count, high_min)
            high = max(self.count, high_min)
        elif self.count >= high:
            need_high = self.free_count + batch
            if self.high < need_high:
                self.high = min(max(need_high, high_min), high_max)
        return high

    def nr_pcp_free(self, batch: int, high: int, free_high: bool) -> int:
        """How many pages a drain gives back (nr_pcp_free())."""
        if free_high:
            return min(self.count, batch << CONFIG_PCP_BATCH_SCALE_MAX)
        if high < batch:
            return 1
        return min(max(self.free_count, batch), high - batch)

    def __repr__(self):
        return f"<per_cpu_pages cpu {self.cpu}: count {self.count} high {self.high} batch {self.batch}>"


def pagesets_text(pcps, thresholds, host_format: bool = False) -> str:
    """The ``pagesets`` part of a zone in /proc/zoneinfo, as 6.12's
    zoneinfo_show_print() prints it; ``host_format``: as later kernels
    print it (this host's 6.18: the values aligned and ``high_min`` /
    ``high_max`` lines added)."""
    out = ["\n  pagesets"]
    for pcp, threshold in zip(pcps, thresholds):
        out.append(f"\n    cpu: {pcp.cpu}")
        if host_format:
            out.append(
                f"\n              count:    {pcp.count}"
                f"\n              high:     {pcp.high}"
                f"\n              batch:    {pcp.batch}"
                f"\n              high_min: {pcp.high_min}"
                f"\n              high_max: {pcp.high_max}"
            )
        else:
            out.append(
                f"\n              count: {pcp.count}\n              high:  {pcp.high}\n              batch: {pcp.batch}"
            )
        out.append(f"\n  vm stats threshold: {threshold}")
    return "".join(out)


class PerCpuListsMixin:
    """The walks through a zone's per-CPU lists, for
    :class:`memlab.page_alloc.mobility.MobilityZone` (which supplies the
    buddy steps ``_rmqueue`` and ``_free_one_page``, ``pcp``, ``flags``,
    ``events`` and ``_on_pcp``, the pfn -> (cpu, order) map of the pages
    on the lists)."""

    def _rmqueue_pcplist(self, order, mt, alloc_flags, cpu, steps):
        pcp = self.pcp[cpu]
        pcp.free_count >>= 1
        lst = pcp.lists[order_to_pindex(mt, order)]
        if not lst:
            batch = pcp.nr_pcp_alloc(order, "ZONE_BELOW_HIGH" in self.flags)
            mode = [0]  # RMQUEUE_NORMAL, remembered from one block to the next
            at = len(steps)
            got = 0
            for _ in range(batch):  # rmqueue_bulk(): each block to the tail
                page = self._rmqueue(order, mt, alloc_flags, mode, steps)
                if page is None:
                    break
                lst.append(page)
                self._on_pcp[page] = (cpu, order)
                got += 1
            pcp.count += got << order
            self.events["pcp_refill"] += 1
            steps.insert(at, ("bulk", cpu, order, mt, got, batch))
            if not lst:
                return None
        pfn = lst.popleft()
        del self._on_pcp[pfn]
        pcp.count -= 1 << order
        steps.append(("pcp_take", cpu, order, mt, pfn))
        return pfn

    def _free_unref_page_commit(self, pcp, pfn, mt, order, steps):
        pcp.alloc_factor >>= 1
        pindex = order_to_pindex(mt, order)
        pcp.lists[pindex].appendleft(pfn)
        self._on_pcp[pfn] = (pcp.cpu, order)
        pcp.count += 1 << order
        batch = pcp.batch
        free_high = False
        if order and order <= PAGE_ALLOC_COSTLY_ORDER:
            free_high = (
                pcp.free_count >= batch
                and bool(pcp.flags & PCPF_PREV_FREE_HIGH_ORDER)
                and (not pcp.flags & PCPF_FREE_HIGH_BATCH or pcp.count >= batch)
            )
            pcp.flags |= PCPF_PREV_FREE_HIGH_ORDER
        elif pcp.flags & PCPF_PREV_FREE_HIGH_ORDER:
            pcp.flags &= ~PCPF_PREV_FREE_HIGH_ORDER
        if pcp.free_count < batch << CONFIG_PCP_BATCH_SCALE_MAX:
            pcp.free_count += 1 << order
        high = pcp.nr_pcp_high(batch, free_high, "ZONE_BELOW_HIGH" in self.flags, "ZONE_RECLAIM_ACTIVE" in self.flags)
        steps.append(("pcp_put", pcp.cpu, order, mt, pcp.count, high))
        if pcp.count >= high:
            self._free_pcppages_bulk(pcp.nr_pcp_free(batch, high, free_high), pcp, pindex, steps)

    def _free_pcppages_bulk(self, count, pcp, pindex, steps):
        """free_pcppages_bulk(): ``count`` pages back to the buddy lists,
        round robin over the lists from ``pindex``, each from its tail."""
        count = min(pcp.count, count)
        pindex -= 1
        freed = 0
        while count > 0:
            while True:
                pindex += 1
                if pindex > NR_PCP_LISTS - 1:
                    pindex = 0
                lst = pcp.lists[pindex]
                if lst:
                    break
            order = pindex_to_order(pindex)
            while True:
                pfn = lst.pop()
                del self._on_pcp[pfn]
                count -= 1 << order
                pcp.count -= 1 << order
                freed += 1 << order
                self._free_one_page(pfn, order, self.pageblock_migratetype(pfn), False)
                if count <= 0 or not lst:
                    break
        self.events["pcp_drain"] += 1
        steps.append(("drain", pcp.cpu, freed))

    def drain_all_pages(self):
        """drain_all_pages(zone): every CPU's lists back to the buddy lists
        (drain_pages_zone(), at most ``batch << 5`` pages at a time)."""
        steps: list = []
        for pcp in self.pcp:
            self._drain_pages_zone(pcp, steps)
        return steps

    def _drain_pages_zone(self, pcp, steps):
        """drain_pages_zone(): one CPU's lists, ``batch << 5`` pages at a time."""
        while pcp.count:
            self._free_pcppages_bulk(min(pcp.count, pcp.batch << CONFIG_PCP_BATCH_SCALE_MAX), pcp, 0, steps)

    def _setup_pageset(self, fresh):
        """zone_set_pageset_high_and_batch(zone, 0): ``batch``, ``high_min``
        and ``high_max`` of every CPU (``fresh``: new, empty lists, as at boot)."""
        batch = zone_batchsize(self.managed_pages)
        fraction = self.percpu_pagelist_high_fraction
        if fraction:
            high_min = high_max = zone_highsize(self.managed_pages // fraction, batch, self.nr_cpus)
        else:
            high_min = zone_highsize(self.wmark_pages("low"), batch, self.nr_cpus)
            high_max = zone_highsize(self.managed_pages // MIN_PERCPU_PAGELIST_HIGH_FRACTION, batch, self.nr_cpus)
        if fresh:
            self.pcp = [PerCpuPages(cpu, batch, high_min, high_max) for cpu in range(self.nr_cpus)]
        for p in self.pcp:  # pageset_update()
            p.batch, p.high_min, p.high_max = batch, high_min, high_max
