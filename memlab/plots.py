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
           "fragmentation_over_time", "buddy_figure", "slab_rows", "kmalloc_waste", "slab_page_map",
           "mempool_history", "object_pool_map", "address_space", "process_regions", "layouts_side_by_side",
           "page_walk", "dma_timing"]

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


# ------------------------------------------------------------------- slabs
USED_COLOR = "#0072B2"      # objects handed out
FREE_COLOR = "#CFE8F7"      # objects on a freelist
NO_OBJECT_COLOR = "#FFFFFF"


def slab_rows(ax, cache, max_slabs=24):
    """Each slab of ``cache`` as a row of object cells (dark: in use, light:
    free), labelled with its list (cpu / partial / full) and first PFN;
    the CPU slab first, then the partial list in order, then full slabs."""
    from matplotlib.colors import ListedColormap

    slabs = cache.slabs()[:max_slabs]
    width = max([cache.objperslab] + [s.objects for s in slabs])
    grid = np.zeros((max(1, len(slabs)), width), dtype=np.uint8)      # 0 = no object
    for row, slab in enumerate(slabs):
        grid[row, :slab.objects] = 2
        if slab.freelist:
            grid[row, np.fromiter(slab.freelist, dtype=np.int64)] = 1
    cmap = ListedColormap([NO_OBJECT_COLOR, FREE_COLOR, USED_COLOR])
    ax.imshow(grid, cmap=cmap, vmin=0, vmax=2, aspect="auto", interpolation="nearest",
              extent=(0, width, grid.shape[0], 0))
    if width <= 128:
        ax.vlines(range(1, width), 0, grid.shape[0], colors="white", linewidth=0.4)
    ax.hlines(range(1, grid.shape[0]), 0, width, colors="black", linewidth=0.6)
    ax.set_yticks([r + 0.5 for r in range(len(slabs))])
    ax.set_yticklabels([f"{s.state} {'(empty) ' if s.inuse == 0 else ''}pfn {s.page.pfn}" for s in slabs],
                       fontsize="small")
    ax.set_xlabel(f"object index ({cache.size}-byte slots, {cache.objperslab} per "
                  f"{cache.pagesperslab}-page slab)")
    more = f", first {max_slabs} of {cache.nr_slabs} slabs" if cache.nr_slabs > max_slabs else ""
    ax.set_title(f"{cache.name}: {cache.objects_in_use} of {cache.total_objects} objects in use{more}")
    if not slabs:
        ax.text(width / 2, 0.5, "no slabs yet", ha="center", va="center")
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=USED_COLOR, label="in use"), Patch(facecolor=FREE_COLOR, edgecolor="black",
                                                                       linewidth=0.4, label="free")],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


def kmalloc_waste(ax, slub):
    """Bytes asked for versus bytes used by live kmalloc objects, per
    kmalloc cache (the internal fragmentation of size classes)."""
    rows = []
    for cache in slub.caches:
        if cache.requested:
            asked, used = slub.cache_stats(cache)
            rows.append((cache.object_size, cache.name, asked, used))
    rows.sort()
    names = [r[1] for r in rows]
    asked = [r[2] for r in rows]
    used = [r[3] for r in rows]
    x = np.arange(len(rows))
    ax.bar(x - 0.2, used, 0.4, color="#E69F00", label="bytes used (objects x class size)")
    ax.bar(x + 0.2, asked, 0.4, color="#0072B2", label="bytes asked for")
    for i, (a, u) in enumerate(zip(asked, used)):
        if u:
            ax.annotate(f"{100 * (u - a) / u:.0f}%", (i, u), ha="center", va="bottom", fontsize="x-small")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=45, ha="right", fontsize="small")
    ax.set_ylabel("bytes (log scale)")
    if rows:
        ax.set_yscale("log")
    ax.set_title("internal fragmentation per kmalloc class (label: share wasted)")
    ax.legend(fontsize="small")
    return ax


def slab_page_map(ax, machine, zone_name=None, width=None, highlight=None):
    """The pages of a zone: free (white), allocated by others (grey), slab
    pages (one colour per cache, ``highlight`` cache in orange)."""
    from matplotlib.colors import ListedColormap

    zone = machine.zones[zone_name] if zone_name else max(
        machine.zones.values(), key=lambda z: sum(1 for p in machine.slub._slab_of_pfn if z.contains_pfn(p)))
    state = np.where(zone.page_map() == 255, 1, 0).astype(np.uint8)    # 1 allocated, 0 free
    for pfn, slab in machine.slub._slab_of_pfn.items():
        if zone.contains_pfn(pfn):
            state[pfn - zone.zone_start_pfn] = 3 if slab.cache is highlight else 2
    n = len(state)
    width = width or _grid_width(n)
    used = np.nonzero(state)[0]
    # crop below the last used page: the rest of the zone is free
    rows = min(-(-n // width), max(4, (int(used[-1]) // width + 2) if len(used) else 4))
    padded = np.zeros(rows * width, dtype=np.uint8)
    shown = min(n, rows * width)
    padded[:shown] = state[:shown]
    cmap = ListedColormap(["#FFFFFF", ALLOCATED_COLOR[:3], "#56B4E9", "#D55E00"])
    ax.imshow(padded.reshape(rows, width), cmap=cmap, vmin=0, vmax=3, aspect="auto", interpolation="nearest",
              extent=(0, width, rows, 0))
    ax.set_title(f"pages of zone {zone.name} under the slabs (pfn {zone.zone_start_pfn}.."
                 f"{zone.zone_start_pfn + shown - 1})")
    ax.set_xlabel(f"page within row ({width} pages per row)")
    ax.set_ylabel(f"row (first pfn = {zone.zone_start_pfn} + row x {width})")
    from matplotlib.patches import Patch

    handles = [Patch(facecolor="#FFFFFF", edgecolor="black", linewidth=0.4, label="free page"),
               Patch(color=ALLOCATED_COLOR, label="other allocation"),
               Patch(color="#56B4E9", label="slab page")]
    if highlight is not None:
        handles.append(Patch(color="#D55E00", label=f"slab of {highlight.name}"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


# ----------------------------------------------------------------- mempools
_EVENT_STYLE = {
    "backing": ("o", "#009E73", "element from the backing allocator"),
    "reserve": ("v", "#E69F00", "backing failed: element from the reserve"),
    "backing_failed": ("x", "#D55E00", "backing failed, reserve empty"),
    "null": ("s", "#CC79A7", "NULL returned (caller may not sleep)"),
    "sleep": ("D", "#000000", "caller sleeps on pool->wait"),
    "woken": ("*", "#0072B2", "sleeper woken with an element"),
}


def mempool_history(ax, pool, last=200):
    """The reserve level ``curr_nr`` after each event of a mempool, with a
    marker per event (backing success or failure, reserve use, NULL, sleep,
    wake-up), against ``min_nr``."""
    events = pool.history[-last:]
    steps = [e[0] for e in events]
    levels = [e[2] for e in events]
    ax.step(steps, levels, where="post", color="#0072B2", linewidth=1.5, label="curr_nr (reserve)")
    ax.axhline(pool.min_nr, color="black", linestyle="--", linewidth=0.8, label=f"min_nr = {pool.min_nr}")
    for kind, (marker, color, label) in _EVENT_STYLE.items():
        xs = [s for s, e, _ in events if e == kind]
        ys = [lvl for s, e, lvl in events if e == kind]
        if xs:
            ax.scatter(xs, ys, marker=marker, color=color, s=28, zorder=3, label=label)
    ax.set_ylim(-0.5, max(pool.min_nr, max(levels, default=0)) + 1.5)
    ax.set_xlabel("event")
    ax.set_ylabel("elements in reserve")
    ax.set_title(f"mempool {pool.name}: reserve over time")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


def object_pool_map(ax, pool, width=32):
    """The chunk of an :class:`memlab.mempool.ObjectPool`: one cell per slot,
    dark when in use."""
    from matplotlib.colors import ListedColormap

    cells = np.frombuffer(bytes(pool.isfree), dtype=np.uint8) ^ 1          # 1 = in use
    rows = -(-pool.capacity // width)
    grid = np.full(rows * width, 2, dtype=np.uint8)
    grid[:pool.capacity] = cells
    ax.imshow(grid.reshape(rows, width), cmap=ListedColormap([FREE_COLOR, USED_COLOR, NO_OBJECT_COLOR]),
              vmin=0, vmax=2, aspect="auto", interpolation="nearest", extent=(0, width, rows, 0))
    ax.set_title(f"{pool.name}: {pool.in_use} of {pool.capacity} slots in use ({pool.stride}-byte slots)")
    ax.set_xlabel("slot within row")
    ax.set_ylabel(f"row ({width} slots per row)")
    return ax


# ----------------------------------------------------------- address spaces
_REGION_COLORS = {"TEXT": "#0072B2", "DATA": "#009E73", "BSS": "#56B4E9", "HEAP": "#E69F00", "MMAP": "#CC79A7",
                  "STACK": "#D55E00", "vdso": "#999999", "kernel": "#444444", "hole": "#FFFFFF", "user": "#88CCEE"}


def _region_height(size):
    import math

    return 1.0 + math.log2(max(size, 4096) / 4096) / 6          # to scale, with breaks: log size


def _draw_regions(ax, regions, title, x=0.0, width=1.0, ranges=True):
    """regions: (start, end_exclusive, label, color_key), drawn bottom (low
    addresses) to top with heights by log size; holes get a zigzag."""
    y = 0.0
    for start, end, label, key in regions:
        h = _region_height(end - start)
        if key == "hole":
            ax.add_patch(_rect(x, y, width, h, "#FFFFFF", hatch="////"))
        else:
            ax.add_patch(_rect(x, y, width, h, _REGION_COLORS.get(key, "#BBBBBB")))
        text = f"{label}: {start:#x}-{end - 1:#x} ({format_size(end - start)})" if ranges else \
            f"{label} ({format_size(end - start)})"
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
    from .mm import TASK_SIZE_MAX, VM_EXEC

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
            if vma.start <= mm.brk and vma.end >= mm.start_brk and mm.brk > mm.start_brk:
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
    from .mm import X86_64_LAYOUT

    regions = process_regions(process) if process is not None else [
        (X86_64_LAYOUT[0][0], X86_64_LAYOUT[0][1] + 1, "user space", "user")]
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
    from .mm import I386_LAYOUT, X86_64_LAYOUT

    _draw_regions(ax_i386, [(s, e + 1, n, "user" if n.startswith("user") else "kernel") for s, e, n in I386_LAYOUT],
                  "i386 (32-bit, 3G/1G split)")
    _draw_regions(ax_x86_64, [(s, e + 1, n.split(" (")[0], "user" if n.startswith("user") else
                               ("hole" if "hole" in n else "kernel")) for s, e, n in X86_64_LAYOUT
                              if "unused" not in n], "x86-64 (4-level paging)")
    return ax_i386, ax_x86_64


def page_walk(ax, vaddr, steps, result):
    """The 9/9/9/9/12 split of ``vaddr`` and the four table lookups of the
    walk, each table with the entry used; the physical address or the fault."""
    fields = [("sign ext.", 63, 48), ("PGD", 47, 39), ("PUD", 38, 30), ("PMD", 29, 21), ("PTE", 20, 12),
              ("offset", 11, 0)]
    colors = ["#DDDDDD", "#0072B2", "#009E73", "#E69F00", "#CC79A7", "#D55E00"]
    x = 0.0
    for (name, hi, lo), color in zip(fields, colors):
        w = (hi - lo + 1) / 64 * 10
        value = (vaddr >> lo) & ((1 << (hi - lo + 1)) - 1)
        ax.add_patch(_rect(x, 3.2, w, 0.6, color))
        ax.text(x + w / 2, 3.5, f"{name}\n{value}" if name != "sign ext." else name, ha="center", va="center",
                fontsize="x-small", color="white" if name not in ("sign ext.",) else "black")
        ax.text(x + w / 2, 3.9, f"{hi}-{lo}", ha="center", va="bottom", fontsize="xx-small")
        x += w
    ax.text(5, 4.4, f"virtual address {vaddr:#018x}", ha="center", fontsize="small")
    for i, step in enumerate(steps):
        bx = i * 2.6
        ax.add_patch(_rect(bx, 0.6, 2.0, 2.0, "#F5F5F5"))
        ax.add_patch(_rect(bx, 0.6 + 2.0 * step["index"] / 512, 2.0, 0.12, colors[i + 1]))
        pfn = step["table_pfn"]
        where = f"pfn {pfn}" if pfn is not None else "kernel"
        ax.text(bx + 1.0, 2.75, f"{step['level']} table\n({where})", ha="center", fontsize="x-small")
        ax.text(bx + 1.0, 0.35, f"[{step['index']}] = {step['entry']:#x}" if step["present"] else
                f"[{step['index']}] not present", ha="center", fontsize="xx-small",
                color="black" if step["present"] else "#B00020")
        if i + 1 < len(steps):
            ax.annotate("", xy=(bx + 2.6, 1.6), xytext=(bx + 2.0, 1.6), arrowprops=dict(arrowstyle="->"))
    verdict = (f"physical address {result['phys']:#x} (pfn {result['pfn']})" if "phys" in result
               else result["fault"])
    ax.text(5, -0.3, verdict, ha="center", fontsize="small", wrap=True,
            color="#1a6e1a" if "phys" in result else "#B00020")
    ax.set_xlim(-0.2, 10.6)
    ax.set_ylim(-0.7, 4.8)
    ax.axis("off")
    return ax


# ---------------------------------------------------------------------- DMA
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
    lanes = [("DREQ", lambda r: r["DREQ"][channel]), ("HRQ", lambda r: r["HRQ"]), ("HLDA", lambda r: r["HLDA"]),
             ("DACK", lambda r: int(r["DACK"] == channel)), ("AEN", lambda r: r["AEN"]),
             ("MEMR", lambda r: r["MEMR"]), ("MEMW", lambda r: r["MEMW"]), ("IOR", lambda r: r["IOR"]),
             ("IOW", lambda r: r["IOW"]), ("EOP", lambda r: r["EOP"])]
    colors = ["#0072B2", "#009E73", "#009E73", "#E69F00", "#999999", "#CC79A7", "#CC79A7", "#D55E00", "#D55E00",
              "#000000"]
    xs = clocks + [clocks[-1] + 1]
    for i, ((name, get), color) in enumerate(zip(lanes, colors)):
        base = (len(lanes) - 1 - i) * 1.5
        ys = [base + 0.9 * get(r) for r in rows]
        ax.step(xs, ys + [ys[-1]], where="post", color=color, linewidth=1.4)
        ax.text(clocks[0] - 0.6, base + 0.35, name + (str(channel) if name in ("DREQ", "DACK") else ""),
                ha="right", va="center", fontsize="x-small")
    top = len(lanes) * 1.5
    for r in rows:
        ax.text(r["clock"] + 0.5, top, r["state"], ha="center", va="bottom", fontsize=6,
                color="#B00020" if r["state"] in ("S1", "S2", "S3", "S4") else "#444444")
    ax.set_xlim(clocks[0] - 4, clocks[-1] + 1.5)
    ax.set_ylim(-0.3, top + 0.9)
    ax.set_yticks([])
    ax.set_xlabel("clock")
    ax.set_title(f"8237A channel {channel}: signals per clock (high = asserted)", fontsize="medium")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return ax
