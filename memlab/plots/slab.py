"""Drawings of SLUB: a cache's slabs as rows of objects, the internal
fragmentation of kmalloc classes, the pages under the slabs, and
:class:`SlabDrawing` that shows a cache and its pages and follows them."""

from __future__ import annotations

import numpy as np

from .figure import RENDER_DPI, Drawing, canvas_png
from .style import (
    ALLOCATED_COLOR,
    FREE_COLOR,
    HIGHLIGHT_COLOR,
    NO_OBJECT_COLOR,
    SLAB_PAGE_COLOR,
    USED_COLOR,
    grid_width,
)

__all__ = ["slab_rows", "slab_grid", "kmalloc_waste", "slab_page_states", "slab_page_map", "SlabDrawing"]

# cell values of slab_grid() and slab_page_states()
_NO_OBJECT, _FREE_OBJECT, _USED_OBJECT = 0, 1, 2
_FREE_PAGE, _OTHER_PAGE, _SLAB_PAGE, _HIGHLIGHT_PAGE = 0, 1, 2, 3


def slab_grid(slabs, width, rows=None):
    """A ``uint8`` grid, one row per slab: 2 object in use, 1 free, 0 no object."""
    grid = np.zeros((max(1, rows or len(slabs)), width), dtype=np.uint8)
    for row, slab in enumerate(slabs[: grid.shape[0]]):
        grid[row, : slab.objects] = _USED_OBJECT
        if slab.freelist:
            grid[row, np.fromiter(slab.freelist, dtype=np.int64)] = _FREE_OBJECT
    return grid


def _slab_label(slab):
    return f"{slab.state}{' (empty)' if slab.inuse == 0 else ''} pfn {slab.page.pfn}"


def slab_rows(ax, cache, max_slabs=24):
    """Each slab of ``cache`` as a row of object cells (dark: in use, light:
    free), labelled with its list (cpu / partial / full) and first PFN;
    the CPU slab first, then the partial list in order, then full slabs."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    slabs = cache.slabs()[:max_slabs]
    width = max([cache.objperslab] + [s.objects for s in slabs])
    grid = slab_grid(slabs, width)
    cmap = ListedColormap([NO_OBJECT_COLOR, FREE_COLOR, USED_COLOR])
    ax.imshow(
        grid, cmap=cmap, vmin=0, vmax=2, aspect="auto", interpolation="nearest", extent=(0, width, grid.shape[0], 0)
    )
    if width <= 128:
        ax.vlines(range(1, width), 0, grid.shape[0], colors="white", linewidth=0.4)
    ax.hlines(range(1, grid.shape[0]), 0, width, colors="black", linewidth=0.6)
    ax.set_yticks([r + 0.5 for r in range(len(slabs))])
    ax.set_yticklabels([_slab_label(s) for s in slabs], fontsize="small")
    ax.set_xlabel(f"object index ({cache.size}-byte slots, {cache.objperslab} per {cache.pagesperslab}-page slab)")
    more = f", first {max_slabs} of {cache.nr_slabs} slabs" if cache.nr_slabs > max_slabs else ""
    ax.set_title(f"{cache.name}: {cache.objects_in_use} of {cache.total_objects} objects in use{more}")
    if not slabs:
        ax.text(width / 2, 0.5, "no slabs yet", ha="center", va="center")
    ax.legend(
        handles=[
            Patch(color=USED_COLOR, label="in use"),
            Patch(facecolor=FREE_COLOR, edgecolor="black", linewidth=0.4, label="free"),
        ],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize="small",
        frameon=False,
    )
    return ax


def kmalloc_waste(ax, slub):
    """Bytes asked for versus bytes used by live kmalloc objects, per
    kmalloc cache (the internal fragmentation of size classes)."""
    rows = []
    for cache in slub.caches:
        if cache.requested:
            asked, used = slub.cache_stats(cache)
            rows.append((cache.object_size, cache.name, asked, used))
    rows.sort()
    names = [r[1] for r in rows]
    asked = [r[2] for r in rows]
    used = [r[3] for r in rows]
    x = np.arange(len(rows))
    ax.bar(x - 0.2, used, 0.4, color="#E69F00", label="bytes used (objects x class size)")
    ax.bar(x + 0.2, asked, 0.4, color="#0072B2", label="bytes asked for")
    for i, (a, u) in enumerate(zip(asked, used)):
        if u:
            ax.annotate(f"{100 * (u - a) / u:.0f}%", (i, u), ha="center", va="bottom", fontsize="x-small")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=45, ha="right", fontsize="small")
    ax.set_ylabel("bytes (log scale)")
    if rows:
        ax.set_yscale("log")
    ax.set_title("internal fragmentation per kmalloc class (label: share wasted)")
    ax.legend(fontsize="small")
    return ax


def slab_page_states(machine, zone, highlight=None):
    """One ``uint8`` per page of ``zone``: 0 free, 1 allocated by others,
    2 under a slab, 3 under a slab of the ``highlight`` cache."""
    state = np.where(zone.page_map() == 255, _OTHER_PAGE, _FREE_PAGE).astype(np.uint8)
    for pfn, slab in machine.slub.slab_pages():
        if zone.contains_pfn(pfn):
            state[pfn - zone.zone_start_pfn] = _HIGHLIGHT_PAGE if slab.cache is highlight else _SLAB_PAGE
    return state


def _page_cmap():
    from matplotlib.colors import ListedColormap

    return ListedColormap(["#FFFFFF", ALLOCATED_COLOR[:3], SLAB_PAGE_COLOR, HIGHLIGHT_COLOR])


def slab_page_map(ax, machine, zone_name=None, width=None, highlight=None):
    """The pages of a zone: free (white), allocated by others (grey), slab
    pages (one colour per cache, ``highlight`` cache in orange)."""
    from matplotlib.patches import Patch

    if zone_name:
        zone = machine.zones[zone_name]
    else:
        pfns = [pfn for pfn, _ in machine.slub.slab_pages()]
        zone = max(machine.zones.values(), key=lambda z: sum(1 for p in pfns if z.contains_pfn(p)))
    state = slab_page_states(machine, zone, highlight)
    n = len(state)
    width = width or grid_width(n)
    used = np.nonzero(state)[0]
    # crop below the last used page: the rest of the zone is free
    rows = min(-(-n // width), max(4, (int(used[-1]) // width + 2) if len(used) else 4))
    padded = np.zeros(rows * width, dtype=np.uint8)
    shown = min(n, rows * width)
    padded[:shown] = state[:shown]
    ax.imshow(
        padded.reshape(rows, width),
        cmap=_page_cmap(),
        vmin=0,
        vmax=3,
        aspect="auto",
        interpolation="nearest",
        extent=(0, width, rows, 0),
    )
    ax.set_title(
        f"pages of zone {zone.name} under the slabs (pfn {zone.zone_start_pfn}..{zone.zone_start_pfn + shown - 1})"
    )
    ax.set_xlabel(f"page within row ({width} pages per row)")
    ax.set_ylabel(f"row (first pfn = {zone.zone_start_pfn} + row x {width})")
    handles = [
        Patch(facecolor="#FFFFFF", edgecolor="black", linewidth=0.4, label="free page"),
        Patch(color=ALLOCATED_COLOR, label="other allocation"),
        Patch(color=SLAB_PAGE_COLOR, label="slab page"),
    ]
    if highlight is not None:
        handles.append(Patch(color=HIGHLIGHT_COLOR, label=f"slab of {highlight.name}"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


class SlabDrawing(Drawing):
    """A cache's slab rows and the page map of a zone in one figure,
    following them: ``update(machine, cache, zone_name)``. Axes, ticks and
    labels that only depend on the cache and zone are drawn once and cached;
    an update redraws the two images and the changing texts on top."""

    ROWS = 12

    def __init__(self, figsize=(7.2, 3.6), dpi=RENDER_DPI):
        super().__init__(figsize, dpi, margins=dict(left=0.15, right=0.985, bottom=0.2, top=0.9, wspace=0.25))
        self.key = None
        self.dynamic = []

    def _setup(self, machine, cache, zone_name):
        from matplotlib.colors import ListedColormap
        from matplotlib.ticker import MaxNLocator

        fig = self.fig
        self.clear()
        self.ax_slab, self.ax_map = fig.subplots(1, 2, width_ratios=[1.6, 1])
        ax = self.ax_slab
        width = cache.objperslab if cache is not None else 1
        self.width = width
        cmap = ListedColormap([NO_OBJECT_COLOR, FREE_COLOR, USED_COLOR])
        self.slab_img = ax.imshow(
            np.zeros((self.ROWS, width), dtype=np.uint8),
            cmap=cmap,
            vmin=0,
            vmax=2,
            aspect="auto",
            interpolation="nearest",
            extent=(0, width, self.ROWS, 0),
        )
        if width <= 128:
            ax.vlines(range(1, width), 0, self.ROWS, colors="white", linewidth=0.4)
        ax.hlines(range(1, self.ROWS), 0, width, colors="black", linewidth=0.4)
        ax.set_yticks([])
        ax.set_xlabel(
            f"object ({cache.size}-byte slots, {cache.objperslab} per slab)" if cache is not None else "no cache"
        )
        self.row_labels = [
            ax.text(-0.01, r + 0.5, "", transform=ax.get_yaxis_transform(), ha="right", va="center", fontsize="small")
            for r in range(self.ROWS)
        ]
        self.slab_title = ax.text(0.5, 1.02, "", transform=ax.transAxes, ha="center", va="bottom")
        zone = machine.zones[zone_name]
        n = zone.spanned_pages
        self.map_width = grid_width(n)
        self.map_rows = -(-n // self.map_width)
        self.map_img = self.ax_map.imshow(
            np.zeros((self.map_rows, self.map_width), dtype=np.uint8),
            cmap=_page_cmap(),
            vmin=0,
            vmax=3,
            aspect="auto",
            interpolation="nearest",
            extent=(0, self.map_width, self.map_rows, 0),
        )
        self.ax_map.yaxis.set_major_locator(MaxNLocator(integer=True))
        self.ax_map.set_title(f"{zone.name}: pfn {zone.zone_start_pfn}..{zone.zone_end_pfn - 1}", fontsize="medium")
        self.ax_map.set_xlabel(f"page in row ({self.map_width} per row)")
        spines = list(self.ax_slab.spines.values()) + list(self.ax_map.spines.values())
        dynamic = [self.slab_img, self.map_img, self.slab_title] + self.row_labels + spines
        for artist in dynamic:
            artist.set_visible(False)
        fig.canvas.draw()
        self.background = fig.canvas.copy_from_bbox(fig.bbox)
        for artist in dynamic:
            artist.set_visible(True)
        self.dynamic = dynamic
        self.zone = zone

    def update(self, machine, cache=None, zone_name="DMA32"):
        key = (id(cache), cache.objperslab if cache else 0, zone_name)
        if key != self.key:
            self._setup(machine, cache, zone_name)
            self.key = key
        slabs = cache.slabs()[: self.ROWS] if cache is not None else []
        self.slab_img.set_data(slab_grid(slabs, self.width, self.ROWS))
        for row, label in enumerate(self.row_labels):
            label.set_text(_slab_label(slabs[row]) if row < len(slabs) else "")
        if cache is not None:
            more = f" (first {self.ROWS} of {cache.nr_slabs} slabs)" if cache.nr_slabs > self.ROWS else ""
            self.slab_title.set_text(
                f"{cache.name}: {cache.objects_in_use} of {cache.total_objects} objects in use{more}"
            )
        state = slab_page_states(machine, self.zone, cache)
        padded = np.zeros(self.map_rows * self.map_width, dtype=np.uint8)
        padded[: len(state)] = state
        self.map_img.set_data(padded.reshape(self.map_rows, self.map_width))
        return self

    def png(self):
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        renderer = canvas.get_renderer()
        for artist in self.dynamic:
            artist.draw(renderer)
        return canvas_png(canvas)
