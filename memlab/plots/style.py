"""The course's colours and grid sizes, shared by every drawing.

The palette is colour-blind safe (Okabe-Ito for categories, viridis for the
free-block orders: dark purple = single pages, yellow = 4 MiB blocks, with
every odd order lightened so that neighbouring orders never look alike);
allocated pages are a light neutral grey.
"""

from __future__ import annotations

from ..units import MAX_PAGE_ORDER, NR_PAGE_ORDERS

__all__ = [
    "order_colors",
    "ALLOCATED_COLOR",
    "OUTSIDE_COLOR",
    "USED_COLOR",
    "FREE_COLOR",
    "NO_OBJECT_COLOR",
    "SLAB_PAGE_COLOR",
    "HIGHLIGHT_COLOR",
    "REGION_COLORS",
    "grid_width",
]

ALLOCATED_COLOR = (0.86, 0.86, 0.86, 1.0)
OUTSIDE_COLOR = (1.0, 1.0, 1.0, 1.0)
USED_COLOR = "#0072B2"  # objects handed out
FREE_COLOR = "#CFE8F7"  # objects on a freelist
NO_OBJECT_COLOR = "#FFFFFF"
SLAB_PAGE_COLOR = "#56B4E9"
HIGHLIGHT_COLOR = "#D55E00"
REGION_COLORS = {
    "TEXT": "#0072B2",
    "DATA": "#009E73",
    "BSS": "#56B4E9",
    "HEAP": "#E69F00",
    "MMAP": "#CC79A7",
    "STACK": "#D55E00",
    "vdso": "#999999",
    "kernel": "#444444",
    "hole": "#FFFFFF",
    "user": "#88CCEE",
}


#: How far odd orders are blended towards white (0 = plain viridis).
ODD_ORDER_LIGHTEN = 0.35


def order_colors():
    """RGBA colour of each free order 0..10: viridis from dark purple
    (order 0) to yellow (order 10), odd orders lightened by
    :data:`ODD_ORDER_LIGHTEN`. Plain viridis puts orders 4 and 5 in nearly
    the same teal (CIE76 distance 21, and 13 between orders 0 and 1); with
    the alternation every two orders are at least 20 apart
    (tests/test_plots.py measures it)."""
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    out = []
    for o in range(NR_PAGE_ORDERS):
        r, g, b, a = cmap(o / MAX_PAGE_ORDER)
        if o % 2:
            k = ODD_ORDER_LIGHTEN
            r, g, b = r + (1 - r) * k, g + (1 - g) * k, b + (1 - b) * k
        out.append((r, g, b, a))
    return out


def grid_width(n):
    """A near-square power-of-two row width for ``n`` pages (>= 16)."""
    width = 16
    while width * width < n:
        width *= 2
    return width
