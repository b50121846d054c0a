"""Drawings of address spaces: a process's regions to scale (with breaks),
the x86-64 and i386 layouts, and a 4-level page walk; :class:`AddressSpaceDrawing`
and :class:`PageWalkDrawing` follow a process."""

from __future__ import annotations

import math

from ..layout import I386_LAYOUT, TASK_SIZE_MAX, X86_64_LAYOUT
from ..mm import VM_EXEC
from ..units import format_size
from .figure import RENDER_DPI, Drawing, canvas_png
from .style import REGION_COLORS

__all__ = [
    "process_regions",
    "address_space",
    "layouts_side_by_side",
    "page_walk",
    "AddressSpaceDrawing",
    "PageWalkDrawing",
]


def _region_height(size):
    return 1.0 + math.log2(max(size, 4096) / 4096) / 6  # to scale, with breaks: log size


def _draw_regions(ax, regions, title, x=0.0, width=1.0, ranges=True):
    """regions: (start, end_exclusive, label, color_key), drawn bottom (low
    addresses) to top with heights by log size; holes get a zigzag."""
    y = 0.0
    for start, end, label, key in regions:
        h = _region_height(end - start)
        if key == "hole":
            ax.add_patch(_rect(x, y, width, h, "#FFFFFF", hatch="////"))
        else:
            ax.add_patch(_rect(x, y, width, h, REGION_COLORS.get(key, "#BBBBBB")))
        text = (
            f"{label}: {start:#x}-{end - 1:#x} ({format_size(end - start)})"
            if ranges
            else f"{label} ({format_size(end - start)})"
        )
        ax.text(x + width + 0.05, y + h / 2, text, va="center", fontsize="x-small")
        y += h
    ax.set_xlim(x - 0.1, x + width + 4.5)
    ax.set_ylim(0, y)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize="medium")
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.text(x - 0.05, 0, "low addresses", rotation=90, va="bottom", ha="right", fontsize="x-small")
    ax.text(x - 0.05, y, "high addresses", rotation=90, va="top", ha="right", fontsize="x-small")
    return ax


def _rect(x, y, w, h, color, hatch=None):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=color, edgecolor="black", linewidth=0.6, hatch=hatch)


def process_regions(process):
    """The user address space of a process as (start, end, label, kind)
    regions, with the unmapped gaps between them, bottom to top."""
    mm = process.mm
    bss_start, bss_end = process.segments["BSS"]
    regions = []
    pos = 0
    for vma in mm.vmas:
        if vma.start > pos:
            regions.append((pos, vma.start, "unmapped", "hole"))
        kind = process.segment_of(vma.start)
        if vma.name == "[stack]":
            kind, label = "STACK", "[stack]"
        elif vma.name in ("[vvar]", "[vdso]"):
            kind, label = "vdso", vma.name
        elif vma.file is not None:
            kind = "TEXT" if vma.flags & VM_EXEC else "DATA"
            label = f"{kind} {vma.perms} {vma.file.name.rsplit('/', 1)[-1]}"
        else:
            holds_bss = vma.start < bss_end and bss_start < vma.end
            if mm.is_initial_heap(vma):
                kind, label = "HEAP", ("BSS + " if holds_bss else "") + "[heap] (brk)"
            elif kind == "BSS" or holds_bss:
                kind, label = "BSS", "BSS (anonymous)"
            else:
                kind, label = "MMAP", f"mmap {vma.perms}"
        regions.append((vma.start, vma.end, label, kind))
        pos = vma.end

    if pos < TASK_SIZE_MAX:
        regions.append((pos, TASK_SIZE_MAX, "unmapped", "hole"))
    return regions


def address_space(ax, process=None, kernel=True, ranges=True):
    """The address space drawn to scale with breaks (heights grow with the
    log of the size): a process's VMAs and gaps, then the kernel half.
    ``ranges=False`` leaves the address ranges out of the labels."""
    regions = (
        process_regions(process)
        if process is not None
        else [(X86_64_LAYOUT[0][0], X86_64_LAYOUT[0][1] + 1, "user space", "user")]
    )
    if kernel:
        regions.append((X86_64_LAYOUT[1][0], X86_64_LAYOUT[1][1] + 1, "non-canonical hole", "hole"))
        if process is not None:
            regions.append((X86_64_LAYOUT[2][0], 1 << 64, "kernel half (the same in every process)", "kernel"))
        else:
            for start, end, name in X86_64_LAYOUT[2:]:
                if "unused" in name or "guard" in name:
                    continue
                regions.append((start, end + 1, name.split(" (")[0], "kernel"))
    title = f"address space of {process.name} (pid {process.pid})" if process is not None else "x86-64 address space"
    return _draw_regions(ax, regions, title, ranges=ranges)


def layouts_side_by_side(ax_i386, ax_x86_64):
    """The i386 3G/1G layout (with highmem's PKMAP window) beside x86-64's."""
    _draw_regions(
        ax_i386,
        [(s, e + 1, n, "user" if n.startswith("user") else "kernel") for s, e, n in I386_LAYOUT],
        "i386 (32-bit, 3G/1G split)",
    )
    _draw_regions(
        ax_x86_64,
        [
            (s, e + 1, n.split(" (")[0], "user" if n.startswith("user") else ("hole" if "hole" in n else "kernel"))
            for s, e, n in X86_64_LAYOUT
            if "unused" not in n
        ],
        "x86-64 (4-level paging)",
    )
    return ax_i386, ax_x86_64


def page_walk(ax, vaddr, steps, result, part="all"):
    """The 9/9/9/9/12 split of ``vaddr`` and the four table lookups of the
    walk, each table with the entry used; the physical address or the fault.

    ``part`` draws only the ``"static"`` artists (boxes, bit ranges and
    arrows: the same for every walk of as many steps) or only the
    ``"dynamic"`` ones (values, entries, headings, the verdict), so that
    :class:`PageWalkDrawing` can keep the first as a cached background.
    """
    static, dynamic = part in ("all", "static"), part in ("all", "dynamic")
    fields = [
        ("sign ext.", 63, 48),
        ("PGD", 47, 39),
        ("PUD", 38, 30),
        ("PMD", 29, 21),
        ("PTE", 20, 12),
        ("offset", 11, 0),
    ]
    colors = ["#DDDDDD", "#0072B2", "#009E73", "#E69F00", "#CC79A7", "#D55E00"]
    x = 0.0
    for (name, hi, lo), color in zip(fields, colors):
        w = (hi - lo + 1) / 64 * 10
        value = (vaddr >> lo) & ((1 << (hi - lo + 1)) - 1)
        if static:
            ax.add_patch(_rect(x, 3.7, w, 0.6, color))
            ax.text(x + w / 2, 4.4, f"{hi}-{lo}", ha="center", va="bottom", fontsize="x-small")
        if dynamic:
            ax.text(
                x + w / 2,
                4.0,
                f"{name}\n{value}" if name != "sign ext." else name,
                ha="center",
                va="center",
                fontsize="x-small",
                color="white" if name not in ("sign ext.",) else "black",
            )
        x += w
    if dynamic:
        ax.text(5, 4.95, f"virtual address {vaddr:#018x}", ha="center", fontsize="small")
    for i, step in enumerate(steps):
        bx = i * 2.6
        if static:
            ax.add_patch(_rect(bx, 0.6, 2.0, 2.0, "#F5F5F5"))
            if i + 1 < len(steps):
                ax.annotate("", xy=(bx + 2.6, 1.6), xytext=(bx + 2.0, 1.6), arrowprops=dict(arrowstyle="->"))
        if not dynamic:
            continue
        ax.add_patch(_rect(bx, 0.6 + 2.0 * step.index / 512, 2.0, 0.12, colors[i + 1]))
        where = f"pfn {step.table_pfn}" if step.table_pfn is not None else "kernel"
        ax.text(bx + 1.0, 2.75, f"{step.level} table\n({where})", ha="center", fontsize="x-small")
        ax.text(
            bx + 1.0,
            0.5,
            f"[{step.index}] =\n{step.entry:#x}" if step.present else f"[{step.index}]\nnot present",
            ha="center",
            va="top",
            fontsize="x-small",
            color="black" if step.present else "#B00020",
        )
    if dynamic:
        mapped = result.phys is not None
        verdict = f"physical address {result.phys:#x} (pfn {result.pfn})" if mapped else result.fault
        if mapped and steps and steps[-1].huge:
            shift = 12 + 9 * (4 - len(steps))
            verdict += f"; {steps[-1].huge}: the offset is bits {shift - 1}-0"
        ax.text(
            5,
            -0.4,
            verdict,
            ha="center",
            va="top",
            fontsize="small",
            wrap=True,
            color="#1a6e1a" if mapped else "#B00020",
        )
    ax.set_xlim(-0.2, 10.6)
    ax.set_ylim(-1.3, 5.3)
    ax.axis("off")
    return ax


class AddressSpaceDrawing(Drawing):
    """A process's address space to scale, following it (no address ranges
    in the labels: the dashboard shows /proc/pid/maps beside it)."""

    def __init__(self, figsize=(4.6, 4.4), dpi=RENDER_DPI, ranges=False):
        super().__init__(figsize, dpi, margins=dict(left=0.04, right=0.99, bottom=0.01, top=0.94))
        self.ranges = ranges

    def update(self, process):
        if not self.fig.axes:
            self.fig.subplots()
        ax = self.fig.axes[0]
        ax.clear()  # (cheaper than a new figure and axes per click)
        address_space(ax, process, ranges=self.ranges)
        return self


class PageWalkDrawing(Drawing):
    """The page walk of one address in a process, redrawn per address:
    ``update(process, vaddr)``; ``steps`` and ``result`` keep the walk.

    The boxes, bit ranges and arrows of a walk of n steps are drawn once and
    kept as a background (one per n); an update draws only the values,
    entries and verdict on top of it.
    """

    def __init__(self, figsize=(7.2, 3.4), dpi=RENDER_DPI):
        super().__init__(figsize, dpi, margins=dict(left=0.01, right=0.99, bottom=0.02, top=0.98))
        self.steps, self.result = [], None
        self.ax = self.fig.subplots()
        self._backgrounds = {}  # number of steps -> saved canvas region
        self._dynamic = []
        for n in range(1, 5):  # the usual walks, drawn up front so no click waits for them
            self._background(n)

    def _background(self, n):
        if n not in self._backgrounds:
            self.ax.clear()
            self._dynamic = []
            page_walk(self.ax, 0, [None] * n, None, part="static")
            self.fig.canvas.draw()
            self._backgrounds[n] = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        return self._backgrounds[n]

    def update(self, process, vaddr):
        self.steps, self.result = process.mm.walk(vaddr)
        ax, key = self.ax, len(self.steps)
        self._background(key)
        for artist in self._dynamic:
            artist.remove()
        before = set(ax.texts) | set(ax.patches)
        page_walk(ax, vaddr, self.steps, self.result, part="dynamic")
        self._dynamic = [a for a in [*ax.texts, *ax.patches] if a not in before]
        self._key = key
        return self

    def png(self):
        canvas = self.fig.canvas
        canvas.restore_region(self._backgrounds[self._key])
        renderer = canvas.get_renderer()
        for artist in self._dynamic:
            artist.draw(renderer)
        return canvas_png(canvas)
