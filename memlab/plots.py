"""Matplotlib drawings of the model: each function takes ``(ax, model)``.

These functions only read the model (derived state is computed here, when
asked); the simulation modules never import matplotlib. The palette is
colour-blind safe: free blocks use the sequential *viridis* map by order
(dark purple = single pages, yellow = 4 MiB blocks), allocated pages a light
neutral grey. Small zones also get an outline around every block.
"""

import numpy as np

from .units import MAX_PAGE_ORDER, NR_PAGE_ORDERS, PAGE_SIZE, format_size

__all__ = ["order_colors", "ALLOCATED_COLOR", "memory_map", "memory_map_image", "free_area_chart", "show_buddy",
           "fragmentation_over_time", "buddy_figure"]

ALLOCATED_COLOR = (0.80, 0.80, 0.80, 1.0)
OUTSIDE_COLOR = (1.0, 1.0, 1.0, 1.0)


def order_colors():
    """RGBA colour of each free order 0..10 (viridis, colour-blind safe)."""
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(o / MAX_PAGE_ORDER) for o in range(NR_PAGE_ORDERS)]


def _lut():
    lut = np.zeros((256, 4))
    lut[:] = OUTSIDE_COLOR
    lut[:NR_PAGE_ORDERS] = order_colors()
    lut[255] = ALLOCATED_COLOR
    return lut


def _grid_width(n):
    """A near-square power-of-two row width for ``n`` pages (>= 16)."""
    width = 16
    while width * width < n:
        width *= 2
    return width


def memory_map_image(zone, width=None):
    """The zone's pages as an RGBA image array ``(rows, width, 4)``.

    One pixel per page, row by row from the zone's first PFN; padding after
    the last page is white.
    """
    state = zone.page_map()
    n = len(state)
    width = width or _grid_width(n)
    rows = max(1, -(-n // width))
    padded = np.full(rows * width, 254, dtype=np.uint8)
    padded[:n] = state
    return _lut()[padded.reshape(rows, width)], width


def memory_map(ax, zone, width=None, legend=True, title=None, outline_blocks=None):
    """Every page of ``zone`` coloured by the order of its free block, grey if
    allocated; drawn as one image (fast for 262,144 pages). Zones of at most
    4096 pages also get a thin outline around each block (``outline_blocks``
    forces it on or off)."""
    img, width = memory_map_image(zone, width)
    rows = img.shape[0]
    ax.imshow(img, interpolation="nearest", aspect="auto", extent=(0, width, rows, 0))
    if outline_blocks is None:
        outline_blocks = zone.spanned_pages <= 4096
    if outline_blocks:
        _outline(ax, zone, width)
    ax.set_xlabel(f"page within row ({width} pages = {format_size(width * PAGE_SIZE)} per row)")
    ax.set_ylabel(f"row (first pfn of row = {zone.zone_start_pfn} + row x {width})")
    if rows <= 16:
        ax.set_yticks(range(rows + 1))
    ax.set_title(title or f"zone {zone.name}: pfn {zone.zone_start_pfn}..{zone.zone_end_pfn - 1}, "
                 f"{zone.nr_free_pages} of {zone.managed_pages} pages free")
    if legend:
        from matplotlib.patches import Patch

        colors = order_colors()
        handles = [Patch(facecolor=ALLOCATED_COLOR, edgecolor="black", linewidth=0.5, label="allocated")]
        handles += [Patch(color=colors[o], label=f"free order {o}") for o in range(NR_PAGE_ORDERS)]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small",
                  frameon=False)
    return ax


def _outline(ax, zone, width):
    """Thin black rectangles around every free and allocated block."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    rects = []
    base = zone.zone_start_pfn
    for pfn, order in zone.free_blocks() + zone.allocated_blocks():
        offset, size = pfn - base, 1 << order
        row, col = divmod(offset, width)
        if size <= width - col:
            rects.append(Rectangle((col, row), size, 1))
        else:  # aligned blocks wider than a row cover whole rows
            rects.append(Rectangle((0, row), width, size // width))
    ax.add_collection(PatchCollection(rects, facecolor="none", edgecolor="black", linewidth=0.6))


def free_area_chart(ax, zone, pages=False):
    """Bars of ``free_area[order].nr_free`` per order (or free pages per order)."""
    counts = [zone.free_area[o].nr_free for o in range(NR_PAGE_ORDERS)]
    values = [c << o for o, c in enumerate(counts)] if pages else counts
    bars = ax.bar(range(NR_PAGE_ORDERS), values, color=order_colors(), edgecolor="black", linewidth=0.5)
    ax.set_xticks(range(NR_PAGE_ORDERS))
    ax.set_xlabel("order (block = 2**order pages)")
    ax.set_ylabel("free pages" if pages else "free blocks (nr_free)")
    ax.set_title(f"free_area[] of zone {zone.name}")
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    top = max(values) if any(values) else 1
    ax.set_ylim(0, top * 1.18)
    for bar, value in zip(bars, values):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), str(value),
                ha="center", va="bottom", fontsize="x-small")
    return ax


def fragmentation_over_time(ax, samples, order=None):
    """Unusable and fragmentation index (x1000) from workload samples.

    ``samples`` are ``(op, nr_free_pages, fragmentation_index,
    unusable_index)`` tuples, as :func:`memlab.workloads.buddy_v1` records.
    The fragmentation index is only defined when a request would fail; where
    the kernel returns -1000 (a suitable block exists) the line has a gap.
    """
    ops = [s[0] for s in samples]
    frag = [float("nan") if s[2] == -1000 else s[2] for s in samples]
    unusable = [s[3] for s in samples]
    label = f" (order {order})" if order is not None else ""
    ax.plot(ops, unusable, color="#0072B2", label="unusable index" + label)
    ax.plot(ops, frag, color="#D55E00", linestyle="--", marker=".",
            label="fragmentation index" + label + "; gap: a block was free")
    ax.set_ylim(-20, 1050)
    ax.set_xlabel("operations")
    ax.set_ylabel("index (thousandths)")
    ax.set_title("fragmentation over time")
    ax.legend(loc="lower right", fontsize="small")
    return ax


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

    fig, (left, right) = plt.subplots(1, 2, figsize=figsize, width_ratios=[1.5, 1], layout="constrained")
    memory_map(left, zone)
    free_area_chart(right, zone)
    plt.show()
