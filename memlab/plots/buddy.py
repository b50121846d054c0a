"""Drawings of the buddy allocator: the page map of a zone, its free-area
chart, fragmentation over time, and :class:`BuddyDrawing` that puts the map
and the chart side by side and follows the zone."""

from __future__ import annotations

import numpy as np

from ..units import NR_PAGE_ORDERS, PAGE_SIZE, format_size
from .figure import RENDER_DPI, Drawing
from .style import ALLOCATED_COLOR, OUTSIDE_COLOR, grid_width, order_colors

__all__ = [
    "memory_map_image",
    "page_state_image",
    "memory_map",
    "draw_block_outlines",
    "free_area_chart",
    "fragmentation_over_time",
    "free_pages_over_time",
    "fragmentation_timeline",
    "buddy_figure",
    "show_buddy",
    "BuddyDrawing",
]

_ALLOCATED = 255  # page_map() value of an allocated page
_PADDING = 254  # past the last page of the zone


def _lut():
    lut = np.zeros((256, 4))
    lut[:] = OUTSIDE_COLOR
    lut[:NR_PAGE_ORDERS] = order_colors()
    lut[_ALLOCATED] = ALLOCATED_COLOR
    return lut


def memory_map_image(zone, width=None):
    """The zone's pages as an RGBA image array ``(rows, width, 4)`` and the
    row width. One pixel per page, row by row from the zone's first PFN;
    padding after the last page is white."""
    return page_state_image(zone.page_map(), width)


def page_state_image(state, width=None):
    """:func:`memory_map_image` of a saved ``zone.page_map()`` array."""
    n = len(state)
    width = width or grid_width(n)
    rows = max(1, -(-n // width))
    padded = np.full(rows * width, _PADDING, dtype=np.uint8)
    padded[:n] = state
    return _lut()[padded.reshape(rows, width)], width


def memory_map(ax, zone, width=None, legend=True, title=None, outline_blocks=None, compact=False):
    """Every page of ``zone`` coloured by the order of its free block, grey if
    allocated; drawn as one image (fast for 262,144 pages). Zones of at most
    4096 pages also get a thin outline around each block (``outline_blocks``
    forces it on or off). ``compact`` shortens the axis labels (for a
    dashboard, where the bars beside the map serve as its colour key).
    Returns ``ax``."""
    img, width = memory_map_image(zone, width)
    rows = img.shape[0]
    ax.imshow(img, interpolation="nearest", aspect="auto", extent=(0, width, rows, 0))
    if outline_blocks is None:
        outline_blocks = zone.spanned_pages <= 4096
    if outline_blocks:
        draw_block_outlines(ax, zone, width)
    if compact:
        ax.set_xlabel(f"page in row ({format_size(width * PAGE_SIZE)} per row)")
        ax.set_ylabel(f"row of {width} pages")
    else:
        ax.set_xlabel(f"page within row ({width} pages = {format_size(width * PAGE_SIZE)} per row)")
        ax.set_ylabel(f"row (first pfn of row = {zone.zone_start_pfn} + row x {width})")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if rows <= 16:
        ax.set_yticks(range(rows + 1))
    ax.set_title(
        title
        or f"zone {zone.name}: pfn {zone.zone_start_pfn}..{zone.zone_end_pfn - 1}, "
        f"{zone.nr_free_pages} of {zone.managed_pages} pages free"
    )
    if legend:
        from matplotlib.patches import Patch

        colors = order_colors()
        handles = [Patch(facecolor=ALLOCATED_COLOR, edgecolor="black", linewidth=0.5, label="allocated")]
        handles += [Patch(color=colors[o], label=f"free order {o}") for o in range(NR_PAGE_ORDERS)]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


def draw_block_outlines(ax, zone, width):
    """Thin black rectangles around every free and allocated block (one
    polygon collection built with numpy: fast enough for every click)."""
    import numpy as np
    from matplotlib.collections import PolyCollection

    blocks = np.array(zone.free_blocks() + zone.allocated_blocks(), dtype=np.int64).reshape(-1, 2)
    size = np.left_shift(1, blocks[:, 1])
    row, col = np.divmod(blocks[:, 0] - zone.zone_start_pfn, width)
    fits = size <= width - col  # else an aligned block wider than a row: whole rows
    x0 = np.where(fits, col, 0)
    x1 = x0 + np.where(fits, size, width)
    y1 = row + np.where(fits, 1, size // width)
    verts = np.stack([np.stack(c, axis=-1) for c in ((x0, row), (x1, row), (x1, y1), (x0, y1))], axis=1)
    ax.add_collection(PolyCollection(verts, facecolors="none", edgecolors="black", linewidths=0.6))


def free_area_chart(ax, zone, pages=False):
    """Bars of ``free_area[order].nr_free`` per order (or free pages per order)."""
    from matplotlib.ticker import MaxNLocator

    counts = zone.nr_free_by_order()
    values = [c << o for o, c in enumerate(counts)] if pages else counts
    bars = ax.bar(range(NR_PAGE_ORDERS), values, color=order_colors(), edgecolor="black", linewidth=0.5)
    ax.set_xticks(range(NR_PAGE_ORDERS))
    ax.set_xlabel("order (block = 2**order pages)")
    ax.set_ylabel("free pages" if pages else "free blocks (nr_free)")
    ax.set_title(f"free_area[] of zone {zone.name}")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    top = max(values) if any(values) else 1
    ax.set_ylim(0, top * 1.18)
    for bar, value in zip(bars, values):
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            bar.get_height(),
            str(value),
            ha="center",
            va="bottom",
            fontsize="x-small",
        )
    return ax


def fragmentation_over_time(ax, samples, order=None, threshold=500):
    """Unusable and fragmentation index (x1000) from workload samples.

    ``samples`` are ``(op, nr_free_pages, fragmentation_index,
    unusable_index)`` tuples, as :func:`memlab.workloads.buddy_v1` records.
    The fragmentation index is only defined when a request would fail; where
    the kernel returns -1000 (a suitable block exists) the line has a gap. A
    dotted line marks ``vm.extfrag_threshold`` (``threshold``; None: no
    line). The legend sits outside the axes, off the curves.
    """
    ops = [s[0] for s in samples]
    frag = [float("nan") if s[2] == -1000 else s[2] for s in samples]
    unusable = [s[3] for s in samples]
    label = f" (order {order})" if order is not None else ""
    ax.plot(ops, unusable, color="#0072B2", label="unusable index" + label)
    ax.plot(
        ops,
        frag,
        color="#D55E00",
        linestyle="--",
        marker=".",
        label="fragmentation index" + label + "\n(gap: a suitable block was free)",
    )
    if threshold is not None:
        ax.axhline(threshold, color="#555555", linestyle=":", linewidth=1, label=f"extfrag_threshold {threshold}")
    ax.set_ylim(-20, 1050)
    ax.set_xlabel("operations")
    ax.set_ylabel("index (thousandths)")
    ax.set_title("fragmentation indices")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


def free_pages_over_time(ax, samples, managed_pages, order=None):
    """Free pages over a workload run (``samples`` as for
    :func:`fragmentation_over_time`), against the zone's size; with
    ``order``, a dashed line at ``compact_gap(order) = 2 << order`` pages:
    below it a failed order-``order`` request is a lack of memory and the
    fragmentation index is not to be trusted (mm/compaction.c
    compaction_suitable(); the zone's watermark comes on top). The legend
    sits outside the axes."""
    ops = [s[0] for s in samples]
    ax.plot(ops, [s[1] for s in samples], color="#009E73", label="free pages")
    ax.axhline(managed_pages, color="#999999", linewidth=1, label=f"zone size {managed_pages}")
    if order is not None:
        gap = 2 << order
        ax.axhline(
            gap, color="#CC79A7", linestyle="--", linewidth=1.2, label=f"2 << {order} = {gap}: compaction's minimum"
        )
    ax.set_ylim(0, managed_pages * 1.05)
    ax.set_xlabel("operations")
    ax.set_ylabel("free pages")
    ax.set_title("free memory")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


def fragmentation_timeline(samples, managed_pages, order, title=None, figsize=(10, 4.6)):
    """A figure: free pages (top) and the two indices (bottom) over one
    workload run, on a shared x axis, so that whether the index can be
    trusted (enough memory free?) is read off directly above it."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    free_pages_over_time(top, samples, managed_pages, order)
    top.set_xlabel("")
    fragmentation_over_time(bottom, samples, order)
    if title:
        fig.suptitle(title)
    return fig


def buddy_figure(zone, figsize=(11, 4.2)):
    """A figure with the memory map and the free-area chart side by side."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1.5, 1])
    memory_map(left, zone)
    free_area_chart(right, zone)
    return fig


def show_buddy(zone, figsize=(11, 4.2)):
    """Draw the memory map and free-area chart with pyplot and show them
    (for notebooks: the inline backend stores the picture as PNG)."""
    import matplotlib.pyplot as plt

    _fig, (left, right) = plt.subplots(1, 2, figsize=figsize, width_ratios=[1.5, 1], layout="constrained")
    memory_map(left, zone)
    free_area_chart(right, zone)
    plt.show()


class BuddyDrawing(Drawing):
    """The memory map and the free-area chart of a zone, following it.

    The axes, ticks and legend are drawn once and cached as a background;
    :meth:`update` changes only what moves (the page image, block outlines,
    bars, their labels) and :meth:`png` draws those on top of the cached
    background: a few tens of milliseconds instead of a full figure render.
    The bars are drawn to scale against the longest one and labelled with
    their counts, so the chart never needs new axes.
    """

    def __init__(self, zone, figsize=(7.2, 3.4), dpi=RENDER_DPI):
        super().__init__(figsize, dpi, layout="constrained")
        self.ax_map, self.ax_bar = self.fig.subplots(1, 2, width_ratios=[1.2, 1])
        self.background = None
        self.update(zone, full=True)

    def _dynamic(self):
        return (
            list(self.ax_map.images)
            + list(self.ax_map.collections)
            + list(self.ax_bar.patches)
            + list(self.ax_bar.texts)
        )

    def update(self, zone, full=False):
        if full or self.background is None:
            self._redraw_background(zone)
            return self
        counts = zone.nr_free_by_order()
        top = max(counts) or 1
        img, _ = memory_map_image(zone)
        self.ax_map.images[0].set_data(img)
        for coll in list(self.ax_map.collections):
            coll.remove()
        if zone.spanned_pages <= 4096:
            draw_block_outlines(self.ax_map, zone, img.shape[1])
        for bar, text, value in zip(self.ax_bar.patches, self.ax_bar.texts, counts):
            bar.set_height(value / top)
            text.set_text(str(value))
            text.set_position((text.get_position()[0], value / top))
        return self

    def _redraw_background(self, zone):
        self.ax_map.clear()
        self.ax_bar.clear()
        memory_map(
            self.ax_map,
            zone,
            legend=False,
            compact=True,
            title=f"{zone.name}: pfn {zone.zone_start_pfn}..{zone.zone_end_pfn - 1} (grey: allocated)",
        )
        free_area_chart(self.ax_bar, zone)
        self.ax_bar.set_title("free_area[]: colour = order")
        # Bars scaled to the longest, each labelled with its count: the axes
        # never need a new scale, so a click redraws only what changed.
        counts = zone.nr_free_by_order()
        top = max(counts) or 1
        for bar, text, value in zip(self.ax_bar.patches, self.ax_bar.texts, counts):
            bar.set_height(value / top)
            text.set_position((text.get_position()[0], value / top))
        self.ax_bar.set_ylim(0, 1.18)
        self.ax_bar.set_yticks([])
        self.ax_bar.set_ylabel("nr_free (bars to scale)")
        self.fig.set_layout_engine("constrained")
        self.fig.canvas.draw()
        self.fig.set_layout_engine("none")
        self.cache_background()

    def png(self):
        """PNG bytes: the cached background plus the changing artists."""
        return self.blit_png()
