"""Drawings of memory pools: a kernel mempool's reserve over time, a
user-space object pool's slots, and :class:`MempoolDrawing` that follows a
mempool."""

from __future__ import annotations

import numpy as np

from .figure import RENDER_DPI, Drawing
from .style import FREE_COLOR, NO_OBJECT_COLOR, USED_COLOR

__all__ = ["mempool_history", "object_pool_map", "MempoolDrawing"]

_EVENT_STYLE = {
    "backing": ("o", "#009E73", "from the backing allocator"),
    "reserve": ("v", "#E69F00", "from the reserve\n(backing failed)"),
    "backing_failed": ("x", "#D55E00", "backing failed,\nreserve empty"),
    "null": ("s", "#CC79A7", "NULL (may not sleep)"),
    "sleep": ("D", "#000000", "sleeps on pool->wait"),
    "woken": ("*", "#0072B2", "woken with an element"),
}


def mempool_history(ax, pool, last=200):
    """The reserve level ``curr_nr`` after each event of a mempool, with a
    marker per event (backing success or failure, reserve use, NULL, sleep,
    wake-up), against ``min_nr``."""
    events = pool.history[-last:]
    steps = [e.step for e in events]
    levels = [e.curr_nr for e in events]
    ax.step(steps, levels, where="post", color="#0072B2", linewidth=1.5, label="curr_nr (reserve)")
    ax.axhline(pool.min_nr, color="black", linestyle="--", linewidth=0.8, label=f"min_nr = {pool.min_nr}")
    for kind, (marker, color, label) in _EVENT_STYLE.items():
        xs = [s for s, e, _ in events if e == kind]
        ys = [lvl for s, e, lvl in events if e == kind]
        if xs:
            ax.scatter(xs, ys, marker=marker, color=color, s=28, zorder=3, label=label)
    from matplotlib.ticker import MaxNLocator

    ax.set_ylim(-0.5, max(pool.min_nr, max(levels, default=0)) + 1.5)
    # event numbers are whole: at least ten events wide, so a new pool's lone event is not at -0.04..0.04
    first = steps[0] if steps else 0
    ax.set_xlim(first - 0.5, max(steps[-1] if steps else 0, first + 10) + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("event")
    ax.set_ylabel("elements in reserve")
    ax.set_title(f"mempool {pool.name}: reserve over time")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


def object_pool_map(ax, pool, width=32):
    """The chunk of an :class:`memlab.mempool.ObjectPool`: one cell per slot,
    dark when in use."""
    from matplotlib.colors import ListedColormap

    cells = np.frombuffer(bytes(pool.isfree), dtype=np.uint8) ^ 1  # 1 = in use
    rows = -(-pool.capacity // width)
    grid = np.full(rows * width, 2, dtype=np.uint8)
    grid[: pool.capacity] = cells
    ax.imshow(
        grid.reshape(rows, width),
        cmap=ListedColormap([FREE_COLOR, USED_COLOR, NO_OBJECT_COLOR]),
        vmin=0,
        vmax=2,
        aspect="auto",
        interpolation="nearest",
        extent=(0, width, rows, 0),
    )
    ax.set_title(f"{pool.name}: {pool.in_use} of {pool.capacity} slots in use ({pool.stride}-byte slots)")
    ax.set_xlabel("slot within row")
    ax.set_ylabel(f"row ({width} slots per row)")
    return ax


class MempoolDrawing(Drawing):
    """The reserve of a mempool over its last ``last`` events, following it."""

    def __init__(self, figsize=(7.2, 3.0), dpi=RENDER_DPI, last=40):
        super().__init__(figsize, dpi, margins=dict(left=0.1, right=0.66, bottom=0.17, top=0.88))
        self.ax = self.fig.subplots()
        self.last = last

    def update(self, pool):
        self.ax.cla()
        mempool_history(self.ax, pool, last=self.last)
        return self
