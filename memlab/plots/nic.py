"""The network card's descriptor rings (:mod:`memlab.dma.nic`): who owns
each descriptor, and where the head and tail registers point."""

from __future__ import annotations

__all__ = ["nic_rings", "RING_COLORS"]

#: descriptor state -> colour: the card's, done and waiting for the driver, the driver's
RING_COLORS = {"card": "#0072B2", "done": "#E69F00", "driver": "#DDDDDD"}


def nic_rings(ax, driver):
    """The receive and transmit rings of an :class:`E1000Driver` as two rows
    of descriptors: blue where the card owns them (from the head register
    up to the tail), orange where the card has written DD and the driver
    has not cleaned yet, grey where the driver holds them. Returns ``ax``."""
    from matplotlib.patches import Patch, Rectangle

    nic, n = driver.nic, driver.ring
    rows = [("RX", "RDH", "RDT", driver.rx_next), ("TX", "TDH", "TDT", driver.tx_clean)]
    for y, (name, h, t, cleaned) in enumerate(rows):
        head, tail = nic.regs[nic_reg(h)], nic.regs[nic_reg(t)]
        top = -y * 1.6
        for i in range(n):
            if (i - head) % n < (tail - head) % n:
                state = "card"
            elif (i - cleaned) % n < (head - cleaned) % n:
                state = "done"  # the card is past it, the driver has not cleaned it yet
            else:
                state = "driver"
            ax.add_patch(Rectangle((i, top), 0.92, 1, facecolor=RING_COLORS[state], edgecolor="black", lw=0.5))
            ax.text(i + 0.46, top + 0.5, str(i), ha="center", va="center", fontsize="small")
        ax.text(-0.3, top + 0.5, name, ha="right", va="center", fontsize="medium")
        for reg, pos, above in ((h, head, True), (t, tail, False)):
            tip = (pos + 0.46, top + (1 if above else 0))
            label = (pos + 0.46, top + (1.4 if above else -0.4))
            ax.annotate(reg, tip, label, ha="center", va="center", fontsize="x-small", arrowprops={"arrowstyle": "->"})
    ax.set_xlim(-1.2, driver.ring + 0.2)
    ax.set_ylim(-2.2, 1.6)
    ax.axis("off")
    labels = {"card": "the card's", "done": "done (DD), not yet cleaned", "driver": "the driver's"}
    handles = [Patch(color=RING_COLORS[state], label=text) for state, text in labels.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return ax


def nic_reg(name):
    from ..dma.nic import E1000_REGS

    return E1000_REGS[name]
