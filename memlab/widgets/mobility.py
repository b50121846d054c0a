"""The anti-fragmentation dashboard: migratetypes, pageblocks, compaction.

A :class:`memlab.MobilityZone` with its per-CPU lists: allocate pages of a
migratetype, free the movable ones, compact, drain the per-CPU lists, and
watch the page map, the pageblocks (:class:`memlab.plots.MobilityDrawing`)
and /proc/pagetypeinfo change; the host's own /proc/pagetypeinfo on a
button."""

from __future__ import annotations

import random

import ipywidgets as W

from .. import procfs
from ..errors import MemlabError
from ..page_alloc import MobilityZone
from ..plots import MobilityDrawing
from .base import Dashboard, number, panels, picture, pre, row

__all__ = ["MobilityDashboard"]

_GFP = {
    "Unmovable (GFP_KERNEL)": "GFP_KERNEL",
    "Movable (GFP_HIGHUSER_MOVABLE)": "GFP_HIGHUSER_MOVABLE",
    "Reclaimable (GFP_KERNEL | __GFP_RECLAIMABLE)": "GFP_KERNEL|__GFP_RECLAIMABLE",
}


class MobilityDashboard(Dashboard):
    """``MobilityDashboard(nr_pages=16384, seed=0)``: a Normal zone of
    ``nr_pages`` pages (32 pageblocks for the default). Controls: how many
    blocks, their order and migratetype, *allocate*; *free half the movable
    blocks* (seeded); *compact* (compact_memory); *drain per-CPU lists*;
    *reset*; *this computer's pagetypeinfo*."""

    def __init__(self, nr_pages=16384, seed=0):
        super().__init__("Allocate some Unmovable pages into a zone full of Movable ones, then compact.")
        self.nr_pages, self.seed = nr_pages, seed
        self.zone = MobilityZone("Normal", nr_pages, zone_idx=2)
        self.rng = random.Random(seed)
        self.live = []
        self.drawing = MobilityDrawing()
        self.count = number(64, "blocks", 1, 100_000, "1 to 100,000 blocks at a time")
        self.order = W.Dropdown(options=list(range(11)), value=0, description="order", layout=W.Layout(width="130px"))
        self.kind = W.Dropdown(options=list(_GFP), value="Movable (GFP_HIGHUSER_MOVABLE)", description="type",
                               layout=W.Layout(width="380px"))  # fmt: skip
        self.alloc_button = W.Button(description="allocate", button_style="primary")
        self.free_button = W.Button(description="free half the movable blocks", layout=W.Layout(width="220px"))
        self.compact_button = W.Button(description="compact", button_style="success",
                                       tooltip="echo 1 > /proc/sys/vm/compact_memory")  # fmt: skip
        self.drain_button = W.Button(description="drain per-CPU lists", layout=W.Layout(width="160px"))
        self.reset_button = W.Button(description="reset", button_style="warning")
        self.host_button = W.Button(description="this computer's pagetypeinfo", layout=W.Layout(width="230px"))
        self.image = picture(self.drawing)
        self.text = W.HTML(layout=W.Layout(overflow="auto"))
        self.trail = W.HTML(layout=W.Layout(overflow="auto"))
        self.wire(
            [
                (self.alloc_button, self._on_alloc),
                (self.free_button, self._on_free),
                (self.compact_button, self._on_compact),
                (self.drain_button, self._on_drain),
                (self.reset_button, self._on_reset),
                (self.host_button, self._on_host),
            ]
        )
        controls = W.VBox(
            [
                row(self.count, self.order, self.kind, self.alloc_button),
                row(self.free_button, self.compact_button, self.drain_button, self.reset_button, self.host_button),
            ]
        )
        self.children = [controls, self.status, self.image, panels(self.text, self.trail, min_width="460px")]
        self.refresh()

    def __repr__(self):
        return f"MobilityDashboard({self.nr_pages} pages, seed {self.seed})"

    def refresh(self):
        z = self.zone
        self.image.value = self.drawing.update(z).png()
        self.text.value = "<b>/proc/pagetypeinfo</b>" + pre(procfs.pagetypeinfo(z), wrap=False)
        self.trail.value = "<b>What happened last</b>" + pre("\n".join(z.explain()))

    def _on_alloc(self):
        n, order, gfp = self.value_of(self.count), self.order.value, _GFP[self.kind.value]
        got = 0
        for _ in range(n):
            try:
                self.live.append((self.zone.alloc_pages(order, gfp), gfp))
            except MemlabError:
                if got:
                    break
                raise
            got += 1
        self.refresh()
        counts = self.zone.pageblock_counts()
        tail = "" if got == n else f"; only {got} of {n}: the zone has no free block of order {order} left"
        mixed = len(self.zone.mixed_pageblocks())
        self.ok(f"{got} order-{order} blocks of type {self.kind.value.split()[0]}{tail}. Pageblocks: {counts[0]} "
                f"Unmovable, {counts[1]} Movable, {counts[2]} Reclaimable; {mixed} mixed.")  # fmt: skip

    def _on_free(self):
        movable = [i for i, (_, gfp) in enumerate(self.live) if gfp == "GFP_HIGHUSER_MOVABLE"]
        if not movable:
            self.error("No movable block to free: allocate some Movable ones first.")
            return
        chosen = set(self.rng.sample(movable, (len(movable) + 1) // 2))
        for i in sorted(chosen):
            page = self.live[i][0]
            self.zone.free_pages(page, page.order)
        self.live = [entry for i, entry in enumerate(self.live) if i not in chosen]
        self.refresh()
        self.ok(f"{len(chosen)} movable blocks freed (seed {self.seed}): free memory is now in holes between the "
                f"others; the largest free block is order {self._largest()}.")  # fmt: skip

    def _largest(self):
        orders = [o for o, n in enumerate(self.zone.nr_free_by_order()) if n]
        return max(orders) if orders else "none"

    def _on_compact(self):
        before = self._largest()
        r = self.zone.compact_zone()
        self.refresh()
        self.ok(f"{r.result}: {r.migrated_pages} pages migrated, {r.migrate_scanned} pages read by the migration "
                f"scanner and {r.free_scanned} by the free scanner; largest free block: order {before} before, "
                f"order {self._largest()} after.")  # fmt: skip

    def _on_drain(self):
        held = sum(p.count for p in self.zone.pcp)
        self.zone.drain_all_pages()
        self.refresh()
        self.ok(f"drain_all_pages(): {held} pages went from the per-CPU lists back to the buddy lists.")

    def _on_reset(self):
        self.zone = MobilityZone("Normal", self.nr_pages, zone_idx=2)
        self.rng = random.Random(self.seed)
        self.live = []
        self.refresh()
        self.ok(f"A fresh zone: {self.nr_pages} pages, every pageblock Movable.")

    def _on_host(self):
        host = procfs.read_host("/proc/pagetypeinfo")
        if host is None:
            self.error("This computer's /proc/pagetypeinfo cannot be read here (it is readable by root only).")
            return
        self.text.value = "<b>/proc/pagetypeinfo of this computer</b>" + pre(host, wrap=False)
        self.info("This computer's pagetypeinfo, read now (press any other button to go back to the simulation).")
