"""The pageblocks of a :class:`memlab.MobilityZone`: one cell per 512-page
pageblock coloured by its migratetype, pageblocks that hold pages of
another type crossed out, each cell shaded by how much of it is free."""

from __future__ import annotations

import numpy as np

from .style import grid_width

__all__ = ["MIGRATETYPE_COLORS", "pageblock_map"]

#: Okabe-Ito colours per migratetype (Unmovable, Movable, Reclaimable, HighAtomic, Isolate)
MIGRATETYPE_COLORS = ("#D55E00", "#0072B2", "#E69F00", "#CC79A7", "#999999")


def pageblock_map(ax, zone, width=None, legend=True, title=None):
    """Every pageblock of ``zone`` as a cell: the colour of its migratetype,
    light where its pages are free and dark where they are in use, an X
    where the pageblock is mixed (:meth:`MobilityZone.mixed_pageblocks`).
    Returns ``ax``."""
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Patch

    blocks = zone.pageblocks()
    n = len(blocks)
    width = width or max(4, grid_width(n) // 4)
    rows = max(1, -(-n // width))
    img = np.ones((rows, width, 3))
    used = _used_share(zone, blocks)
    for i, (_, mt) in enumerate(blocks):
        rgb = np.array(to_rgb(MIGRATETYPE_COLORS[mt]))
        img[i // width, i % width] = 1 - (1 - rgb) * (0.25 + 0.75 * used[i])  # free pageblock: a light tint
    ax.imshow(img, interpolation="nearest", aspect="auto", extent=(0, width, rows, 0))
    base = blocks[0][0] >> 9 if blocks else 0
    mixed = [(pfn >> 9) - base for pfn in zone.mixed_pageblocks()]
    for i in mixed:
        r, c = divmod(i, width)
        ax.plot([c + 0.15, c + 0.85], [r + 0.15, r + 0.85], color="black", linewidth=1)
        ax.plot([c + 0.15, c + 0.85], [r + 0.85, r + 0.15], color="black", linewidth=1)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"pageblock in row ({width} pageblocks of 2 MiB per row)")
    ax.set_ylabel("row")
    counts = zone.pageblock_counts()
    ax.set_title(
        title
        or f"zone {zone.name}: {n} pageblocks, "
        + ", ".join(f"{c} {name}" for c, name in zip(counts, ("Unmovable", "Movable", "Reclaimable")) if c)
        + f"; {len(mixed)} mixed"
    )
    if legend:
        names = ("Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate")
        handles = [Patch(color=MIGRATETYPE_COLORS[mt], label=names[mt]) for mt in range(3)]
        handles.append(Patch(facecolor="white", edgecolor="black", label="X: mixed (pages of another type)"))
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
