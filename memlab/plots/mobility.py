"""How Linux fights fragmentation, drawn: the pageblocks of a
:class:`memlab.MobilityZone` (one cell per 512-page pageblock coloured by its
migratetype, mixed pageblocks crossed out, each cell shaded by how much of
it is in use), the pageblocks a plain zone's long-lived pages pin, a
compaction run as a strip of page maps with its two scanners, and free
memory against the watermarks while kswapd reclaims."""

from __future__ import annotations

import numpy as np

from .figure import Drawing
from .style import grid_width

__all__ = [
    "MIGRATETYPE_COLORS",
    "pageblock_map",
    "pinned_map",
    "compaction_strip",
    "reclaim_timeline",
    "MobilityDrawing",
    "pageblock_image",
]

#: Okabe-Ito colours per migratetype (Unmovable, Movable, Reclaimable, HighAtomic, Isolate)
MIGRATETYPE_COLORS = ("#D55E00", "#0072B2", "#E69F00", "#CC79A7", "#999999")


def pageblock_image(zone, width=None):
    """The pageblocks of ``zone`` as an RGB image ``(rows, width, 3)``, with
    the row width, the number of pageblocks and the cells of the mixed ones."""
    from matplotlib.colors import to_rgb

    blocks = zone.pageblocks()
    n = len(blocks)
    width = width or max(4, grid_width(n) // 4)
    rows = max(1, -(-n // width))
    img = np.ones((rows, width, 3))
    used = _used_share(zone, blocks)
    for i, (_, mt) in enumerate(blocks):
        rgb = np.array(to_rgb(MIGRATETYPE_COLORS[mt]))
        img[i // width, i % width] = 1 - (1 - rgb) * (0.25 + 0.75 * used[i])  # free pageblock: a light tint
    base = blocks[0][0] >> 9 if blocks else 0
    return img, width, n, [(pfn >> 9) - base for pfn in zone.mixed_pageblocks()]


def _crosses(ax, mixed, width):
    for i in mixed:
        r, c = divmod(i, width)
        ax.plot([c + 0.15, c + 0.85], [r + 0.15, r + 0.85], color="black", linewidth=1)
        ax.plot([c + 0.15, c + 0.85], [r + 0.85, r + 0.15], color="black", linewidth=1)


def _pageblock_title(zone, n, mixed):
    counts = zone.pageblock_counts()
    names = ("Unmovable", "Movable", "Reclaimable")
    kinds = ", ".join(f"{c} {name}" for c, name in zip(counts, names) if c)
    return f"{n} pageblocks, {kinds}; {len(mixed)} mixed"


def pageblock_map(ax, zone, width=None, legend=True, title=None):
    """Every pageblock of ``zone`` as a cell: the colour of its migratetype,
    light where its pages are free and dark where they are in use, an X
    where the pageblock is mixed (:meth:`MobilityZone.mixed_pageblocks`).
    Returns ``ax``."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    img, width, n, mixed = pageblock_image(zone, width)
    rows = img.shape[0]
    ax.imshow(img, interpolation="nearest", aspect="auto", extent=(0, width, rows, 0))
    _crosses(ax, mixed, width)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"pageblock in row ({width} pageblocks of 2 MiB per row)")
    ax.set_ylabel("row")
    ax.set_title(title or f"zone {zone.name}: " + _pageblock_title(zone, n, mixed))
    if legend:
        names = ("Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate")
        handles = [Patch(color=MIGRATETYPE_COLORS[mt], label=names[mt]) for mt in range(3)]
        handles.append(Patch(facecolor="white", edgecolor="black", label="X: mixed (holds another type)"))
        handles.append(Patch(facecolor="#F2F2F2", edgecolor="grey", label="light: mostly free"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


def _used_share(zone, blocks):
    """Share of each pageblock's pages not in a free buddy block."""
    free = np.zeros(len(blocks))
    first = blocks[0][0] - blocks[0][0] % 512 if blocks else 0
    for pfn, order in zone.free_blocks():
        size = 1 << order
        start = pfn
        while size > 0:  # a free block larger than a pageblock covers several
            i = (start - first) // 512
            piece = min(size, 512 - start % 512)
            if 0 <= i < len(blocks):
                free[i] += piece
            start += piece
            size -= piece
    return 1 - np.clip(free / 512, 0, 1)


def pinned_map(ax, zone, pinned, width=None, title=None):
    """Every pageblock of ``zone`` (any zone) as a cell: dark if one of the
    ``pinned`` blocks (Pages that will never be freed) lies in it, white if
    not. A pinned pageblock can never become a free 2 MiB block. Returns
    ``ax``."""
    first = zone.zone_start_pfn >> 9
    n = ((zone.zone_end_pfn + 511) >> 9) - first
    width = width or max(4, grid_width(n) // 4)
    rows = max(1, -(-n // width))
    cells = np.zeros(rows * width)
    for page in pinned:
        for block in range(page.pfn >> 9, (page.pfn + (1 << page.order) - 1 >> 9) + 1):
            cells[block - first] = 1
    img = np.where(cells.reshape(rows, width, 1) > 0, np.array([0.25, 0.25, 0.25]), np.array([1.0, 1.0, 1.0]))
    img[(np.arange(rows * width) >= n).reshape(rows, width)] = (0.93, 0.93, 0.93)
    ax.imshow(img, interpolation="nearest", aspect="auto", extent=(0, width, rows, 0))
    ax.set_xticks(range(width + 1))
    ax.set_yticks(range(rows + 1))
    ax.grid(True, color="#BBBBBB", linewidth=0.5)
    ax.tick_params(labelbottom=False, labelleft=False, length=0)
    pinned_blocks = int(cells.sum())
    ax.set_title(title or f"{pinned_blocks} of {n} pageblocks hold a long-lived page (dark)")
    return ax


def compaction_strip(frames, zone_name="", width=None, figsize=(11, 2.9)):
    """A compaction run as a strip of page maps: ``frames`` are
    ``(page_map array, migrate_pfn, free_pfn, label)`` tuples (saved with
    ``compact_zone(on_batch=...)``, offsets from the zone's first pfn); the
    migration scanner is the blue arrow moving down the zone, the free
    scanner the orange one moving up. Returns the figure."""
    import matplotlib.pyplot as plt

    from .buddy import page_state_image

    fig, axes = plt.subplots(1, len(frames), figsize=figsize, squeeze=False)
    for ax, (state, migrate, free, label) in zip(axes[0], frames):
        img, w = page_state_image(state, width)
        rows = img.shape[0]
        ax.imshow(img, interpolation="nearest", aspect="auto", extent=(0, w, rows, 0))
        for pfn, color, text, shift in ((migrate, "#0072B2", "migrate", -0.05), (free, "#D55E00", "free", 0.05)):
            row, col = divmod(max(0, min(pfn, len(state) - 1)), w)
            arrow = {"arrowstyle": "->", "color": color}
            ax.annotate(text, xy=(col, row), xytext=(w * 1.02, row + shift * rows), color=color, fontsize=8,
                        va="center", arrowprops=arrow, annotation_clip=False)  # fmt: skip
        ax.set_title(label, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"compaction of zone {zone_name} (first pfn at the top left): the migration scanner takes movable "
                 "pages from low pfns, the free scanner finds free pages at high pfns", fontsize=10)  # fmt: skip
    fig.tight_layout()
    return fig


def reclaim_timeline(ax, samples, marks, zoom=False):
    """Free pages over a run (``samples`` from
    :func:`memlab.workloads.reclaim_run`: step, free pages, page-cache pages,
    pages kswapd and direct reclaim freed in the step, and the min, low and
    high watermarks then, boosts included) against the watermarks (drawn as
    steps: a boost raises them for a while; ``marks`` are the plain ones).
    ``zoom``: only the steps where reclaim ran, and free memory up to four
    times the highest watermark. Returns ``ax``."""
    steps = [s[0] for s in samples]
    ax.plot(steps, [s[1] for s in samples], color="#0072B2", label="free pages")
    ax.plot(steps, [s[2] for s in samples], color="#009E73", linestyle="--", label="page cache")
    for i, (name, color) in enumerate((("min", "#D55E00"), ("low", "#E69F00"), ("high", "#999999"))):
        ax.step(steps, [s[5 + i] if len(s) > 5 else marks[name] for s in samples], where="mid", color=color,
                linewidth=1, linestyle=":", label=f"{name} watermark")  # fmt: skip
    kswapd = [s for s in samples if s[3]]
    direct = [s for s in samples if s[4]]
    if kswapd:
        ax.scatter([s[0] for s in kswapd], [s[1] for s in kswapd], marker="v", color="#CC79A7", zorder=3, s=40,
                   label="kswapd reclaimed")  # fmt: skip
    if direct:
        ax.scatter([s[0] for s in direct], [s[1] for s in direct], marker="x", color="black", zorder=3,
                   label="direct reclaim")  # fmt: skip
    if zoom:
        busy = [s[0] for s in samples if s[3] or s[4]]
        if busy:
            ax.set_xlim(max(0, busy[0] - 3), busy[-1] + 1)
        top = max([s[7] for s in samples if len(s) > 7] or [marks["high"]])
        ax.set_ylim(0, 4 * top)
    ax.set_xlabel("step")
    ax.set_ylabel("pages")
    ax.set_title("near the watermarks: kswapd at work" if zoom else "the whole run")
    if not zoom:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


class MobilityDrawing(Drawing):
    """A :class:`memlab.MobilityZone` beside its pageblocks: the page map
    (free blocks by order, allocated pages grey) and :func:`pageblock_map`.

    As :class:`memlab.plots.BuddyDrawing` does, the axes, ticks and legend
    are drawn once and cached; an update changes the two images, the
    titles, the crosses and the block outlines, and :meth:`png` draws only
    those on the cached background."""

    def __init__(self):
        super().__init__(figsize=(10.5, 3.3), margins={"left": 0.06, "right": 0.74, "bottom": 0.15, "top": 0.9,
                                                       "wspace": 0.25})  # fmt: skip
        self.ax_map, self.ax_blocks = self.fig.subplots(1, 2, width_ratios=[1, 1.25])
        self.background = None
        self.shape = None

    def _dynamic(self):
        return [*self.ax_map.images, *self.ax_map.collections, *self.ax_blocks.images, *self.ax_blocks.lines,
                self.ax_map.title, self.ax_blocks.title]  # fmt: skip

    def update(self, zone):
        from .buddy import draw_block_outlines, memory_map, memory_map_image

        shape = (zone.zone_start_pfn, zone.spanned_pages)
        if self.background is None or shape != self.shape:
            self.ax_map.cla()
            self.ax_blocks.cla()
            memory_map(self.ax_map, zone, legend=False, compact=True, title=" ")
            pageblock_map(self.ax_blocks, zone, title=" ")
            self.shape = shape
            self.cache_background()
        img, width = memory_map_image(zone)
        self.ax_map.images[0].set_data(img)
        for coll in list(self.ax_map.collections):
            coll.remove()
        if zone.spanned_pages <= 4096:
            draw_block_outlines(self.ax_map, zone, width)
        blocks, bwidth, n, mixed = pageblock_image(zone)
        self.ax_blocks.images[0].set_data(blocks)
        for line in list(self.ax_blocks.lines):
            line.remove()
        _crosses(self.ax_blocks, mixed, bwidth)
        self.ax_map.set_title(f"{zone.nr_free_pages} of {zone.managed_pages} pages free")
        self.ax_blocks.set_title(_pageblock_title(zone, n, mixed))
        return self

    def png(self):
        """PNG bytes: the cached background plus what changed."""
        return self.blit_png()
