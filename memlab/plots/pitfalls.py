"""Pictures of the C/C++ pitfalls (lesson 07): the heap at the moment a
sanitizer stopped the program, and two threads' interleaving.

:func:`asan_heap` draws the chunks around the bad address to scale, each
with its redzones, the user's bytes allocated or freed, the variables that
point there (a dangling pointer is an arrow into a freed chunk) and, below,
the shadow byte of every 8-byte granule as the report prints them.
:func:`thread_timeline` draws a :class:`memlab.pitfalls.RaceResult` step by
step: one row per thread, loads, adds and stores with their values, the
stores that overwrote another thread's update, and the two accesses
ThreadSanitizer reported.
"""

from __future__ import annotations

from .figure import Drawing

__all__ = ["SHADOW_COLORS", "OP_COLORS", "asan_heap", "thread_timeline", "PitfallDrawing"]

#: shadow byte -> colour: addressable, partly addressable, redzone, freed
SHADOW_COLORS = {"00": "#FFFFFF", "partial": "#F0E442", "fa": "#D55E00", "fd": "#CC79A7"}
#: thread step -> colour
OP_COLORS = {
    "load": "#56B4E9",
    "add": "#DDDDDD",
    "store": "#0072B2",
    "lock": "#999999",
    "unlock": "#999999",
    "atomic_add": "#009E73",
}


def _shadow_color(byte):
    if byte == 0:
        return SHADOW_COLORS["00"]
    if byte < 8:
        return SHADOW_COLORS["partial"]
    return SHADOW_COLORS["fd"] if byte == 0xFD else SHADOW_COLORS["fa"]


def asan_heap(ax, sanitizer, addr=None, span=None):
    """The heap of a :class:`memlab.pitfalls.Sanitizer` around ``addr``
    (default: where it found its bug, else its last chunk), ``span`` bytes
    wide (default: the chunk there and its neighbours). Top row: the
    chunks (redzones hatched, user bytes blue or, freed, purple); bottom
    row: one shadow byte per granule. Returns ``ax``."""
    from matplotlib.patches import Rectangle

    chunks = sorted(sanitizer.chunks.values(), key=lambda c: c.block)
    finding = sanitizer.finding
    if addr is None:
        addr = finding.addr if finding is not None and finding.addr is not None else None
    if addr is None and chunks:
        addr = chunks[-1].beg
    if addr is None or not chunks:
        ax.text(0.5, 0.5, "no heap block yet", ha="center", va="center", transform=ax.transAxes)
        ax.axis("off")
        return ax
    near = min(chunks, key=lambda c: 0 if c.block <= addr < c.end else min(abs(addr - c.block), abs(addr - c.end)))
    i = chunks.index(near)
    lo = chunks[max(i - 1, 0)].block - 16 if span is None else addr - span // 2
    hi = chunks[min(i + 1, len(chunks) - 1)].end if span is None else addr + span // 2
    if span is None:  # the bad address and a little beyond it are always in view
        lo, hi = min(lo, addr - 16), max(hi, addr + 24)
    lo, hi = lo & ~7, (hi + 7) & ~7
    if hi - lo > 512 and span is None:  # keep the granules readable
        lo, hi = max(lo, (addr - 256) & ~7), min(hi, (addr + 256 + 7) & ~7)
    # the allocator's own memory (glibc's headers, free space) under everything: poisoned too
    ax.add_patch(Rectangle((0, 1.4), hi - lo, 1, facecolor="#EEEEEE", hatch="..", edgecolor="#999999", lw=0.4))
    for c in chunks:
        if c.end <= lo or c.block >= hi:
            continue
        user = "#CC79A7" if c.state != "allocated" else "#0072B2"
        for start, end, color, hatch in (
            (c.block, c.beg, "#F4C7A8", "///"),
            (c.beg, c.beg + c.size, user, None),
            (c.beg + c.size, c.end, "#F4C7A8", "///"),
        ):
            s, e = max(start, lo), min(end, hi)
            if e > s:
                ax.add_patch(
                    Rectangle((s - lo, 1.4), e - s, 1, facecolor=color, hatch=hatch, edgecolor="black", lw=0.4)
                )
        left, right = max(c.beg, lo), min(c.beg + c.size, hi)
        label = f"{c.size} B, {'freed' if c.state != 'allocated' else c.kind}"
        if (right - left) / (hi - lo) > 0.15:  # room inside the box
            ax.text((left + right) / 2 - lo, 1.9, label, ha="center", va="center", fontsize="x-small", color="white")
        else:
            ax.text((left + right) / 2 - lo, 1.12, label, ha="center", va="center", fontsize="x-small")
    for g in range(lo, hi, 8):  # the shadow row
        byte = sanitizer.shadow_byte(g)
        guilty = finding is not None and finding.addr is not None and g == finding.addr & ~7
        ax.add_patch(
            Rectangle(
                (g - lo, 0.1),
                8,
                0.7,
                facecolor=_shadow_color(byte),
                edgecolor="black" if not guilty else "#B00020",
                lw=0.3 if not guilty else 2,
            )
        )
        if hi - lo <= 256:
            ax.text(g - lo + 4, 0.45, f"{byte:02x}", ha="center", va="center", fontsize=6)
    pointers: dict[int, list[str]] = {}
    for name, value in sanitizer.vars.items():  # the program's pointers into the window
        if lo <= value < hi:
            pointers.setdefault(value, []).append(name)
    for value, names in pointers.items():
        ax.annotate(", ".join(names), xy=(value - lo, 2.4), xytext=(value - lo, 3.05), ha="center", fontsize="small",
                    arrowprops={"arrowstyle": "->", "lw": 1})  # fmt: skip
    if finding is not None and finding.addr is not None and lo <= finding.addr < hi:
        x = finding.addr - lo
        ax.plot([x, x], [0.0, 2.5], color="#B00020", lw=1.5)
        ax.set_title(f"{finding.kind} at {finding.addr:#x} (line {finding.line})", color="#B00020", fontsize="medium")
    ax.set_xlim(0, hi - lo)
    ax.set_ylim(0, 3.45)
    ax.set_yticks([0.45, 1.9])
    ax.set_yticklabels(["shadow", "heap"])
    ax.set_xlabel(f"bytes from {lo:#x} (one shadow byte per 8 bytes)")
    ax.spines[["top", "right", "left"]].set_visible(False)
    return ax


def thread_timeline(ax, result, start=None, steps=40):
    """``steps`` steps of a :class:`memlab.pitfalls.RaceResult` from
    ``start`` (default: a little before the first lost update, else the
    reported race): one row per thread, each step a box in its op's colour
    with the value it loaded or stored; a red edge marks a store that overwrote an
    update it never saw, red stars the two accesses ThreadSanitizer
    reported. Returns ``ax``."""
    from matplotlib.patches import Patch, Rectangle

    timeline = result.timeline
    if not timeline:
        ax.text(0.5, 0.5, "no steps", ha="center", va="center", transform=ax.transAxes)
        ax.axis("off")
        return ax
    if start is None:
        focus = result.lost_at[0] if result.lost_at else (result.race_steps or (1,))[0]
        start = max(1, focus - steps // 2)
    window = [s for s in timeline if start <= s[0] < start + steps]
    threads = sorted({s[1] for s in timeline})
    lost = set(result.lost_at)
    raced = set(result.race_steps or ())
    from matplotlib.collections import PolyCollection

    verts, colors = [], []
    for step, t, op, _arg, value, _line in window:  # the boxes as one artist (a redraw stays cheap)
        y = threads.index(t)
        verts.append(
            [(step - 0.45, y - 0.35), (step + 0.45, y - 0.35), (step + 0.45, y + 0.35), (step - 0.45, y + 0.35)]
        )
        colors.append(OP_COLORS[op])
        if value is not None and op != "add":  # the value loaded or stored
            ink = "white" if op in ("store", "atomic_add") else "black"
            ax.text(step, y, str(value), ha="center", va="center", fontsize=6, color=ink)
        if step in lost:
            ax.add_patch(Rectangle((step - 0.45, y - 0.35), 0.9, 0.7, facecolor="none", edgecolor="#B00020", lw=2.5))
        if step in raced:
            ax.plot(step, y + 0.5, marker="*", color="#B00020", markersize=9)
    ax.add_collection(PolyCollection(verts, facecolors=colors, edgecolors="black", linewidths=0.4))
    ax.set_xlim(start - 1, start + steps)
    ax.set_ylim(-0.7, len(threads) - 0.2)
    ax.set_yticks(range(len(threads)))
    ax.set_yticklabels([f"T{t}" for t in threads])
    ax.invert_yaxis()
    ax.set_xlabel("step of the interleaving")
    handles = [Patch(color=OP_COLORS[o], label=o) for o in ("load", "add", "store", "atomic_add")]
    handles.append(Patch(facecolor="white", edgecolor="#B00020", lw=2, label="lost an update"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small", frameon=False)
    ax.set_title(
        f"final {', '.join(f'{k} = {v}' for k, v in result.values.items())}; {result.lost} updates lost",
        fontsize="medium",
    )
    return ax


class PitfallDrawing(Drawing):
    """The picture of a pitfall run: ``update(model)`` with a
    :class:`memlab.pitfalls.Sanitizer` (its heap) or a ``RaceResult`` (its
    timeline); anything else (MemorySanitizer) clears the picture."""

    def __init__(self):
        super().__init__(figsize=(7.2, 2.6), margins={"left": 0.1, "right": 0.78, "bottom": 0.2, "top": 0.86})

    def update(self, model):
        self.clear()
        ax = self.fig.add_subplot()
        if hasattr(model, "timeline"):
            thread_timeline(ax, model)
        elif hasattr(model, "chunks"):
            asan_heap(ax, model)
        else:
            ax.text(0.5, 0.5, "(no picture for this checker)", ha="center", va="center", transform=ax.transAxes)
            ax.axis("off")
        return self
