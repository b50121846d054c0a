"""Matplotlib drawings of the model, one module per topic.

Two kinds of drawing: functions ``f(ax, model)`` that draw once on an axes
you give them and return it (for notebook figures), and :class:`Drawing`
handles (``BuddyDrawing(zone)``, ``SlabDrawing()``, ...) that own a figure
and redraw it with ``update(model)``, which the dashboards use and a notebook
can display directly. Drawings only read the model; the simulation modules
never import matplotlib.
"""

from .address_space import (
    AddressSpaceDrawing,
    PageWalkDrawing,
    address_space,
    layouts_side_by_side,
    page_walk,
    process_regions,
)
from .buddy import (
    BuddyDrawing,
    buddy_figure,
    draw_block_outlines,
    fragmentation_over_time,
    free_area_chart,
    memory_map,
    memory_map_image,
    show_buddy,
)
from .dma import DmaTimingDrawing, dma_timing
from .figure import Drawing, canvas_png, figure_png, new_figure
from .mempool import MempoolDrawing, mempool_history, object_pool_map
from .slab import SlabDrawing, kmalloc_waste, slab_grid, slab_page_map, slab_page_states, slab_rows
from .style import (
    ALLOCATED_COLOR,
    FREE_COLOR,
    HIGHLIGHT_COLOR,
    NO_OBJECT_COLOR,
    OUTSIDE_COLOR,
    REGION_COLORS,
    SLAB_PAGE_COLOR,
    USED_COLOR,
    grid_width,
    order_colors,
)

__all__ = [
    "order_colors",
    "grid_width",
    "ALLOCATED_COLOR",
    "OUTSIDE_COLOR",
    "USED_COLOR",
    "FREE_COLOR",
    "NO_OBJECT_COLOR",
    "SLAB_PAGE_COLOR",
    "HIGHLIGHT_COLOR",
    "REGION_COLORS",
    "new_figure",
    "figure_png",
    "canvas_png",
    "Drawing",
    "memory_map",
    "memory_map_image",
    "draw_block_outlines",
    "free_area_chart",
    "show_buddy",
    "buddy_figure",
    "fragmentation_over_time",
    "BuddyDrawing",
    "slab_rows",
    "slab_grid",
    "kmalloc_waste",
    "slab_page_states",
    "slab_page_map",
    "SlabDrawing",
    "mempool_history",
    "object_pool_map",
    "MempoolDrawing",
    "address_space",
    "process_regions",
    "layouts_side_by_side",
    "page_walk",
    "AddressSpaceDrawing",
    "PageWalkDrawing",
    "dma_timing",
    "DmaTimingDrawing",
]
