"""The buddy allocator dashboard: allocate, free, run a workload, watch.

Everything it shows is read from the model after each click: the memory map
and the free-area chart (:class:`memlab.plots.BuddyDrawing`, one PNG redrawn
in place), the /proc/buddyinfo text, the explanation trail of the last
operation, and a status line that carries any error message.
"""

from __future__ import annotations

import random

import ipywidgets as W

from .. import procfs
from ..page_alloc import Page, Zone
from ..plots import BuddyDrawing
from ..units import MAX_PAGE_ORDER, PAGE_SIZE, format_size
from ..workloads import buddy_v1
from .base import Dashboard, number, picture, pre, row

__all__ = ["BuddyDashboard"]

_MAX_LISTED = 500  # live blocks offered in the dropdown


class BuddyDashboard(Dashboard):
    """Interactive buddy allocator on one zone.

    ``BuddyDashboard(zone=None, nr_pages=256, seed=0)``: with no zone, a
    fresh standalone ``Zone("Normal", nr_pages)``. Controls: an order and
    *alloc_pages*; a live block and *free_pages*; *free random* (seeded);
    *reset*; a seeded buddy-v1 workload of N operations with a progress bar.
    """

    def __init__(self, zone=None, nr_pages=256, seed=0):
        self.zone = zone if zone is not None else Zone("Normal", nr_pages)
        super().__init__(
            f"Zone {self.zone.name} with {self.zone.managed_pages} pages. Pick an order and press alloc_pages."
        )
        self.seed = seed
        self.rng = random.Random(seed)
        self.live = [Page(pfn, order) for pfn, order in self.zone.allocated_blocks()]
        self.drawing = BuddyDrawing(self.zone)

        order_options = [(f"{o}  ({format_size(PAGE_SIZE << o)})", o) for o in range(MAX_PAGE_ORDER + 1)]
        order_options.append(
            (f"{MAX_PAGE_ORDER + 1}  ({format_size(PAGE_SIZE << (MAX_PAGE_ORDER + 1))}: too big)", MAX_PAGE_ORDER + 1)
        )
        self.order = W.Dropdown(options=order_options, value=0, description="order", layout=W.Layout(width="240px"))
        self.alloc_button = W.Button(
            description="alloc_pages", button_style="primary", tooltip="zone.alloc_pages(order)"
        )
        self.block = W.Dropdown(options=[], description="block", layout=W.Layout(width="260px"))
        self.free_button = W.Button(description="free_pages", tooltip="zone.free_pages(page, page.order)")
        self.free_random_button = W.Button(description="free random", tooltip="free a random live block (seeded)")
        self.reset_button = W.Button(description="reset", button_style="warning")
        self.ops = number(1000, "ops", 1, 1_000_000, "a run in the dashboard does 1 to 1,000,000 operations")
        self.workload_seed = W.IntText(value=seed, description="seed", layout=W.Layout(width="150px"))
        self.run_button = W.Button(description="run buddy-v1", tooltip="seeded workload (memlab.workloads.buddy_v1)")
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="160px"))
        self.image = picture(self.drawing)
        self.buddyinfo = W.HTML()
        self.summary = W.HTML()
        self.trail = W.HTML()

        self.wire(
            [
                (self.alloc_button, self._on_alloc),
                (self.free_button, self._on_free),
                (self.free_random_button, self._on_free_random),
                (self.reset_button, self._on_reset),
                (self.run_button, self._on_run),
            ]
        )
        controls = W.VBox(
            [
                row(self.order, self.alloc_button, self.block, self.free_button, self.free_random_button),
                row(self.ops, self.workload_seed, self.run_button, self.progress, self.reset_button),
            ]
        )
        text = W.VBox([self.summary, self.buddyinfo, W.HTML("<b>What happened</b>"), self.trail])
        self.children = [controls, self.status, self.image, text]
        self.refresh(full=True)

    def __repr__(self):
        return f"BuddyDashboard(zone {self.zone.name}, {self.zone.managed_pages} pages, seed {self.seed})"

    # ---------------------------------------------------------------- display
    def refresh(self, full=False):
        """Redraw every view from the model."""
        self.image.value = self.drawing.update(self.zone, full=full).png()
        z = self.zone
        self.summary.value = (
            f"<b>/proc/buddyinfo</b> ({z.nr_free_pages} of {z.managed_pages} pages free, "
            f"{len(self.live)} block{'' if len(self.live) == 1 else 's'} allocated)"
        )
        self.buddyinfo.value = pre(procfs.buddyinfo(z), wrap=False)
        self.trail.value = pre("\n".join(self.zone.explain()))
        options = [(f"pfn {p.pfn}, order {p.order}", p) for p in sorted(self.live, key=lambda p: p.pfn)][:_MAX_LISTED]
        chosen = self.block.value
        self.block.options = options
        if options:
            live = [p for _, p in options]
            self.block.value = chosen if chosen in live else live[0]

    # -------------------------------------------------------------- callbacks
    def _on_alloc(self):
        order = self.order.value
        page = self.zone.alloc_pages(order)
        self.live.append(page)
        self.refresh()
        self.block.value = page
        self.ok(f"alloc_pages({order}) -> pfn {page.pfn} ({format_size(page.size)})")

    def _on_free(self):
        page = self.block.value
        if page is None:
            self.error("No live block to free: allocate one first.")
            return
        self._free(page)

    def _on_free_random(self):
        if not self.live:
            self.error("No live block to free: allocate one first.")
            return
        self._free(self.live[self.rng.randrange(len(self.live))])

    def _free(self, page):
        self.zone.free_pages(page, page.order)
        self.live.remove(page)
        self.refresh()
        final = self.zone.trail[-1].final_order
        merged = f"; merged up to order {final} at pfn {page.pfn & ~((1 << final) - 1)}" if final > page.order else ""
        self.ok(f"free_pages(pfn {page.pfn}, order {page.order}){merged}")

    def _on_reset(self):
        self.zone.reset()
        self.live = []
        self.rng = random.Random(self.seed)
        self.progress.value = 0
        self.refresh()
        self.ok(f"Zone {self.zone.name} reset: all {self.zone.managed_pages} pages free.")

    def _on_run(self):
        n = self.value_of(self.ops)
        seed = self.workload_seed.value
        self.progress.max = n
        self.progress.value = 0

        def progress(done):
            self.progress.value = done

        result = buddy_v1(self.zone, n, seed, live=self.live, sample_every=max(1, n // 20), progress=progress)
        self.refresh()
        self.ok(
            f"buddy-v1 seed {seed}: {result.ops} ops, {result.allocs} allocations, {result.frees} frees, "
            f"{result.failures} failed for lack of a block; {len(self.live)} blocks live; "
            f"unusable index for order 4 now {self.zone.unusable_index(4)}/1000."
        )
