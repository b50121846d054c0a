"""The user-space heap of a simulated process: glibc's chunks along the
address line (:class:`memlab.libc.Libc`), coloured by where each one is."""

from __future__ import annotations

from .figure import RENDER_DPI, Drawing

__all__ = ["HEAP_STATE_COLORS", "heap_chunks", "HeapDrawing"]

#: chunk state -> colour (Okabe-Ito): in use dark, cached light, binned pale, the top grey
HEAP_STATE_COLORS = {
    "inuse": "#0072B2",
    "tcache": "#56B4E9",
    "fast": "#009E73",
    "unsorted": "#E69F00",
    "small": "#F0E442",
    "large": "#CC79A7",
    "top": "#DDDDDD",
}


def heap_chunks(ax, libc, max_bytes=None, title=None):
    """The brk heap of ``libc`` as a bar from the first chunk to the end of
    the top chunk, every chunk a box in its state's colour, widths to scale
    (``max_bytes`` cuts the bar, so a huge top does not squeeze the rest);
    mmapped chunks are listed in the title. Returns ``ax``."""
    from matplotlib.patches import Patch, Rectangle

    chunks = [c for c in libc.chunk_list() if c[2] != "mmapped"]
    if not chunks:
        ax.text(0.5, 0.5, "no heap yet: nothing was malloc'ed", ha="center", va="center", transform=ax.transAxes)
        ax.axis("off")
        return ax
    base = chunks[0][0]
    end = chunks[-1][0] + chunks[-1][1]
    limit = end - base if max_bytes is None else min(end - base, max_bytes)
    for addr, size, state in chunks:
        x = addr - base
        if x >= limit:
            break
        ax.add_patch(
            Rectangle((x, 0), min(size, limit - x), 1, facecolor=HEAP_STATE_COLORS[state], edgecolor="black", lw=0.4)
        )
    ax.set_xlim(0, limit)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_xlabel(f"offset from the heap's start {base:#x} (bytes)")
    mmapped = [c for c in libc.chunk_list() if c[2] == "mmapped"]
    extra = f"; {len(mmapped)} mmapped chunk{'s' * (len(mmapped) != 1)} beside it" if mmapped else ""
    ax.set_title(title or f"brk heap: {len(chunks) - 1} chunks and the top{extra}", fontsize="medium")
    present = {state for _, _, state in chunks}
    handles = [Patch(color=color, label=state) for state, color in HEAP_STATE_COLORS.items() if state in present]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


class HeapDrawing(Drawing):
    """The brk heap of a process's C library, redrawn per call:
    ``update(libc)`` (see :func:`heap_chunks`)."""

    def __init__(self, figsize=(7.2, 1.5), dpi=RENDER_DPI, max_bytes=16384):
        super().__init__(figsize, dpi, layout="constrained")
        self.ax = self.fig.subplots()
        self.max_bytes = max_bytes

    def update(self, libc):
        self.ax.clear()
        heap_chunks(self.ax, libc, max_bytes=self.max_bytes)
        return self
