"""Drawings of DMA: the 8237A's signals clock by clock, and
:class:`DmaTimingDrawing` that follows a controller's trace."""

from __future__ import annotations

from .figure import Drawing

__all__ = ["dma_timing", "DmaTimingDrawing"]


def dma_timing(ax, trace, channel, last=48):
    """A timing diagram of the 8237A signals, one lane per signal (high =
    asserted), for the last ``last`` clocks of ``trace``; the controller
    state of each clock is written above."""
    rows = trace[-last:]
    if not rows:
        ax.text(0.5, 0.5, "no clocks yet", ha="center", va="center", transform=ax.transAxes)
        ax.axis("off")
        return ax
    clocks = [r["clock"] for r in rows]
    lanes = [
        ("DREQ", lambda r: r["DREQ"][channel]),
        ("HRQ", lambda r: r["HRQ"]),
        ("HLDA", lambda r: r["HLDA"]),
        ("DACK", lambda r: int(r["DACK"] == channel)),
        ("AEN", lambda r: r["AEN"]),
        ("MEMR", lambda r: r["MEMR"]),
        ("MEMW", lambda r: r["MEMW"]),
        ("IOR", lambda r: r["IOR"]),
        ("IOW", lambda r: r["IOW"]),
        ("EOP", lambda r: r["EOP"]),
    ]
    colors = [
        "#0072B2",
        "#009E73",
        "#009E73",
        "#E69F00",
        "#999999",
        "#CC79A7",
        "#CC79A7",
        "#D55E00",
        "#D55E00",
        "#000000",
    ]
    xs = clocks + [clocks[-1] + 1]
    for i, ((name, get), color) in enumerate(zip(lanes, colors)):
        base = (len(lanes) - 1 - i) * 1.5
        ys = [base + 0.9 * get(r) for r in rows]
        ax.step(xs, ys + [ys[-1]], where="post", color=color, linewidth=1.4)
        ax.text(
            clocks[0] - 0.6,
            base + 0.35,
            name + (str(channel) if name in ("DREQ", "DACK") else ""),
            ha="right",
            va="center",
            fontsize="x-small",
        )
    top = len(lanes) * 1.5
    for r in rows:
        ax.text(
            r["clock"] + 0.5,
            top,
            r["state"],
            ha="center",
            va="bottom",
            fontsize=6,
            color="#B00020" if r["state"] in ("S1", "S2", "S3", "S4") else "#444444",
        )
    ax.set_xlim(clocks[0] - 4, clocks[-1] + 1.5)
    ax.set_ylim(-0.3, top + 0.9)
    ax.set_yticks([])
    ax.set_xlabel("clock")
    ax.set_title(f"8237A channel {channel}: signals per clock (high = asserted)", fontsize="medium")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return ax


class DmaTimingDrawing(Drawing):
    """The timing diagram of one channel, following a controller:
    ``update(controller, channel)``."""

    def __init__(self, figsize=(11, 3.6), dpi=64, last=48):
        super().__init__(figsize, dpi)
        self.fig.subplots_adjust(left=0.07, right=0.99, bottom=0.14, top=0.9)
        self.last = last

    def update(self, controller, channel):
        self.fig.clear()
        dma_timing(self.fig.subplots(), controller.trace, channel, last=self.last)
        return self
