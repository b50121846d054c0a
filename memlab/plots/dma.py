"""Drawings of DMA: the 8237A's signals clock by clock, and
:class:`DmaTimingDrawing` that follows a controller's trace."""

from __future__ import annotations

from .figure import RENDER_DPI, Drawing

__all__ = ["dma_timing", "DmaTimingDrawing", "swiotlb_bounce"]


def dma_timing(ax, trace, channel, last=48):
    """A timing diagram of the 8237A signals, one lane per signal (high =
    asserted), for the last ``last`` clocks of ``trace``; the controller
    state of each clock is written above."""
    rows = list(trace)[-last:]  # trace may be a bounded deque
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
            fontsize="x-small",
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

    def __init__(self, figsize=(7.2, 3.4), dpi=RENDER_DPI, last=32):
        super().__init__(figsize, dpi, margins=dict(left=0.02, right=0.99, bottom=0.2, top=0.88))
        self.last = last

    def update(self, controller, channel):
        self.clear()
        dma_timing(self.fig.subplots(), controller.trace, channel, last=self.last)
        return self


def swiotlb_bounce(ax, buffer_phys, slot_phys, size, direction, mask_bits=32):
    """How swiotlb bounces one streaming mapping, as a picture: the CPU's
    buffer (out of the device's reach), the slot in the pool below the
    mask, the device, and the copies in order (numbered arrows, the steps
    listed in words). Kernel: kernel/dma/swiotlb.c swiotlb_tbl_map_single()
    copies the buffer into the slot at map time whatever the direction (so
    bytes the device does not write come back unchanged);
    swiotlb_tbl_unmap_single() and swiotlb_sync_single_for_cpu() copy the
    slot back for DMA_FROM_DEVICE and DMA_BIDIRECTIONAL. ``direction`` is a
    DMA_* value."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    names = {0: "DMA_BIDIRECTIONAL", 1: "DMA_TO_DEVICE", 2: "DMA_FROM_DEVICE"}
    boxes = (
        (0.2, 2.7, f"CPU buffer (kmalloc)\nphysical {buffer_phys:#x}"),
        (4.2, 0.2, f"swiotlb slot\nphysical {slot_phys:#x}\n= the DMA address"),
        (9.0, 0.2, f"device\nDMA mask {mask_bits} bits"),
    )
    for x, y, text in boxes:
        ax.add_patch(FancyBboxPatch((x, y), 3.2, 1.3, boxstyle="round,pad=0.05", fc="#F5F5F5", ec="#333333"))
        ax.text(x + 1.6, y + 0.65, text, ha="center", va="center", fontsize="small")
    reach = f"{1 << (mask_bits - 30)} GiB" if mask_bits >= 30 else f"{1 << (mask_bits - 20)} MiB"
    ax.axhline(2.2, color="#CC79A7", linestyle="--", linewidth=1)
    ax.text(0.2, 2.27, f"above {reach}: out of the device's reach", fontsize="x-small", color="#CC79A7")
    ax.text(0.2, 2.0, f"below {reach}", fontsize="x-small", color="#CC79A7", va="top")

    def arrow(a, b, number, color):
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=14, color=color, linewidth=1.6))
        mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
        ax.text(mx, my, number, fontsize="small", color="white", ha="center", va="center",
                bbox=dict(boxstyle="circle,pad=0.2", fc=color, ec="none"))  # fmt: skip

    from_dev = direction in (0, 2)
    steps = [f"1  dma_map_single(): copy the {size} bytes into the slot (any direction)"]
    arrow((2.4, 2.7), (4.9, 1.5), "1", "#0072B2")
    if direction in (0, 1):
        arrow((7.4, 1.05), (9.0, 1.05), "2", "#009E73")
        steps.append("2  the device reads the slot")
    if from_dev:
        arrow((9.0, 0.6), (7.4, 0.6), "2", "#D55E00")
        steps.append("2  the device writes the slot")
        arrow((6.6, 1.5), (3.4, 3.3), "3", "#D55E00")
        steps.append("3  dma_unmap_single() / dma_sync_single_for_cpu(): copy the slot back")
    else:
        steps.append("3  dma_unmap_single(): nothing is copied back")
    ax.text(4.0, 4.15, "\n".join(steps), fontsize="small", va="top")
    ax.set_title(f"swiotlb bounce, {names.get(direction, direction)}")
    ax.set_xlim(0, 12.4)
    ax.set_ylim(0, 4.3)
    ax.axis("off")
    return ax
