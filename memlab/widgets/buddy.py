"""The buddy allocator dashboard: allocate, free, run a workload, watch.

Everything it shows is read from the model after each click: the memory map
and the free-area chart (one PNG, redrawn in place), the /proc/buddyinfo
text, the explanation trail of the last operation, and a status line that
carries any error message.
"""

import random

import ipywidgets as W

from .. import plots, procfs
from ..page_alloc import Page, Zone
from ..units import MAX_PAGE_ORDER, PAGE_SIZE, format_size
from ..workloads import buddy_v1
from ._common import guarded, pre, status_html

__all__ = ["BuddyDashboard"]


class _BuddyView:
    """A matplotlib Figure with the map and the free-area chart.

    The axes, ticks and legend are drawn once and cached as a background;
    a click redraws only what changes (the page image, block outlines, bars,
    their labels, the titles) on top of it and encodes the PNG: a few tens of
    milliseconds instead of a full figure render. The background is redrawn
    when the bar chart needs a new scale.
    """

    def __init__(self, zone, figsize=(10.5, 3.8), dpi=80):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.dpi = dpi
        self.fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.fig)
        self.ax_map, self.ax_bar = self.fig.subplots(1, 2, width_ratios=[1.45, 1])
        self.background = None
        self.draw(zone, full=True)

    def _dynamic(self):
        return (list(self.ax_map.images) + list(self.ax_map.collections)
                + list(self.ax_bar.patches) + list(self.ax_bar.texts))

    def draw(self, zone, full=False):
        counts = [zone.free_area[o].nr_free for o in range(MAX_PAGE_ORDER + 1)]
        top = max(counts) or 1
        if not full and self.background is not None:
            ymax = self.ax_bar.get_ylim()[1]
            full = top * 1.05 > ymax or top * 3 < ymax
        if full:
            self.ax_map.clear()
            self.ax_bar.clear()
            plots.memory_map(self.ax_map, zone, title=f"zone {zone.name}: pfn {zone.zone_start_pfn}.."
                                                      f"{zone.zone_end_pfn - 1}")
            plots.free_area_chart(self.ax_bar, zone)
            self.fig.set_layout_engine("constrained")
            self.fig.canvas.draw()
            self.fig.set_layout_engine("none")
            dynamic = self._dynamic()
            for artist in dynamic:
                artist.set_visible(False)
            self.fig.canvas.draw()
            self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
            for artist in dynamic:
                artist.set_visible(True)
            return
        img, _ = plots.memory_map_image(zone)
        self.ax_map.images[0].set_data(img)
        for coll in list(self.ax_map.collections):
            coll.remove()
        if zone.spanned_pages <= 4096:
            plots._outline(self.ax_map, zone, img.shape[1])
        for bar, text, value in zip(self.ax_bar.patches, self.ax_bar.texts, counts):
            bar.set_height(value)
            text.set_text(str(value))
            text.set_position((text.get_position()[0], value))

    def png(self):
        """PNG bytes: the cached background plus the changing artists."""
        import io

        import numpy as np
        from PIL import Image

        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        renderer = canvas.get_renderer()
        for ax in (self.ax_map, self.ax_bar):
            for artist in list(ax.images) + list(ax.collections) + list(ax.patches) + list(ax.texts):
                if artist.get_visible():
                    artist.draw(renderer)
        buf = io.BytesIO()
        Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buf, format="png", compress_level=1)
        return buf.getvalue()


class BuddyDashboard(W.VBox):
    """Interactive buddy allocator on one zone.

    ``BuddyDashboard(zone=None, nr_pages=256, seed=0)``: with no zone, a
    fresh standalone ``Zone("Normal", nr_pages)``. Controls: an order and
    *alloc_pages*; a live block and *free_pages*; *free random* (seeded);
    *reset*; a seeded buddy-v1 workload of N operations with a progress bar.
    """

    def __init__(self, zone=None, nr_pages=256, seed=0):
        self.zone = zone if zone is not None else Zone("Normal", nr_pages)
        self.seed = seed
        self.rng = random.Random(seed)
        self.last_error = None
        self.live = [Page(pfn, order) for pfn, order in self.zone.allocated_blocks()]
        self.view = _BuddyView(self.zone)

        order_options = [(f"{o}  ({format_size(PAGE_SIZE << o)})", o) for o in range(MAX_PAGE_ORDER + 1)]
        order_options.append(("11  (8 MiB: too big)", 11))
        self.order = W.Dropdown(options=order_options, value=0, description="order",
                                layout=W.Layout(width="240px"))
        self.alloc_button = W.Button(description="alloc_pages", button_style="primary",
                                     tooltip="zone.alloc_pages(order)")
        self.block = W.Dropdown(options=[], description="block", layout=W.Layout(width="260px"))
        self.free_button = W.Button(description="free_pages", tooltip="zone.free_pages(page, page.order)")
        self.free_random_button = W.Button(description="free random", tooltip="free a random live block (seeded)")
        self.reset_button = W.Button(description="reset", button_style="warning")
        self.ops = W.BoundedIntText(value=1000, min=1, max=1_000_000, description="ops",
                                    layout=W.Layout(width="170px"))
        self.workload_seed = W.IntText(value=seed, description="seed", layout=W.Layout(width="150px"))
        self.run_button = W.Button(description="run buddy-v1", tooltip="seeded workload (memlab.workloads.buddy_v1)")
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="160px"))
        self.status = W.HTML(status_html(f"Zone {self.zone.name} with {self.zone.managed_pages} pages. "
                                         f"Pick an order and press alloc_pages."))
        self.image = W.Image(format="png", layout=W.Layout(width="100%"))
        self.buddyinfo = W.HTML()
        self.summary = W.HTML()
        self.trail = W.HTML()

        self.alloc_button.on_click(self._on_alloc)
        self.free_button.on_click(self._on_free)
        self.free_random_button.on_click(self._on_free_random)
        self.reset_button.on_click(self._on_reset)
        self.run_button.on_click(self._on_run)

        controls = W.VBox([
            W.HBox([self.order, self.alloc_button, self.block, self.free_button, self.free_random_button]),
            W.HBox([self.ops, self.workload_seed, self.run_button, self.progress, self.reset_button]),
        ])
        text = W.VBox([self.summary, self.buddyinfo, W.HTML("<b>What happened</b>"), self.trail])
        super().__init__([controls, self.status, self.image, text])
        self.refresh(full=True)

    def __repr__(self):
        return f"BuddyDashboard(zone {self.zone.name}, {self.zone.managed_pages} pages, seed {self.seed})"

    # ---------------------------------------------------------------- display
    def refresh(self, full=False):
        """Redraw every view from the model."""
        self.view.draw(self.zone, full=full)
        self.image.value = self.view.png()
        z = self.zone
        self.summary.value = (f"<b>/proc/buddyinfo</b> ({z.nr_free_pages} of {z.managed_pages} pages free, "
                              f"{len(self.live)} block{'' if len(self.live) == 1 else 's'} allocated)")
        self.buddyinfo.value = pre(procfs.buddyinfo(z), wrap=False)
        self.trail.value = pre("\n".join(self.zone.explain()))
        options = [(f"pfn {p.pfn}, order {p.order}", p) for p in sorted(self.live, key=lambda p: p.pfn)][:500]
        chosen = self.block.value
        self.block.options = options
        if options:
            live = [p for _, p in options]
            self.block.value = chosen if chosen in live else live[0]

    # -------------------------------------------------------------- callbacks
    @guarded
    def _on_alloc(self, _=None):
        order = self.order.value
        page = self.zone.alloc_pages(order)
        self.live.append(page)
        self.refresh()
        self.block.value = page
        self.status.value = status_html(f"alloc_pages({order}) -> pfn {page.pfn} "
                                        f"({format_size(page.size)})", "ok")

    @guarded
    def _on_free(self, _=None):
        page = self.block.value
        if page is None:
            self.status.value = status_html("No live block to free: allocate one first.", "error")
            return
        self._free(page)

    @guarded
    def _on_free_random(self, _=None):
        if not self.live:
            self.status.value = status_html("No live block to free: allocate one first.", "error")
            return
        self._free(self.live[self.rng.randrange(len(self.live))])

    def _free(self, page):
        self.zone.free_pages(page, page.order)
        self.live.remove(page)
        self.refresh()
        rec = self.zone.trail[-1]
        merged = f"; merged up to order {rec[3]} at pfn {page.pfn & ~((1 << rec[3]) - 1)}" if rec[3] > page.order else ""
        self.status.value = status_html(f"free_pages(pfn {page.pfn}, order {page.order}){merged}", "ok")

    @guarded
    def _on_reset(self, _=None):
        self.zone.reset()
        self.live = []
        self.rng = random.Random(self.seed)
        self.progress.value = 0
        self.refresh()
        self.status.value = status_html(f"Zone {self.zone.name} reset: all {self.zone.managed_pages} pages free.",
                                        "ok")

    @guarded
    def _on_run(self, _=None):
        n = self.ops.value
        seed = self.workload_seed.value
        self.progress.max = n
        self.progress.value = 0

        def progress(done):
            self.progress.value = done

        result = buddy_v1(self.zone, n, seed, live=self.live, sample_every=max(1, n // 20), progress=progress)
        self.refresh()
        self.status.value = status_html(
            f"buddy-v1 seed {seed}: {result.ops} ops, {result.allocs} allocations, {result.frees} frees, "
            f"{result.failures} failed for lack of a block; {len(self.live)} blocks live; "
            f"unusable index for order 4 now {self.zone.unusable_index(4)}/1000.", "ok")
