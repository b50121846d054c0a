"""Drawings read the model correctly and stay one image for big zones."""

import numpy as np
import pytest
from matplotlib.figure import Figure

import memlab
from memlab import plots
from memlab.workloads import buddy_v1


def test_memory_map_image_colours_follow_page_state():
    z = memlab.Zone("Normal", 16)
    z.alloc_pages(0)
    img, width = plots.memory_map_image(z)
    assert img.shape == (1, 16, 4) and width == 16
    colors = plots.order_colors()
    assert tuple(img[0, 0]) == plots.ALLOCATED_COLOR
    assert tuple(img[0, 1]) == tuple(colors[0])
    assert tuple(img[0, 2]) == tuple(colors[1]) and tuple(img[0, 3]) == tuple(colors[1])
    assert all(tuple(img[0, i]) == tuple(colors[3]) for i in range(8, 16))


def _lab(rgb):
    """sRGB (0..1) to CIELAB (D65), for colour distances."""
    c = np.array(rgb[:3], dtype=float)
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    x, y, z = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ c
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in (x / 0.95047, y, z / 1.08883)]
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_order_colours_are_distinct_from_allocated_and_from_each_other():
    colors = [tuple(c) for c in plots.order_colors()]
    assert len(set(colors)) == 11
    assert plots.ALLOCATED_COLOR not in colors
    lab = [_lab(c) for c in colors]
    # CIE76 distance: plain viridis has 13 between orders 0 and 1 and 21 between 4 and 5 (both teal)
    assert min(np.linalg.norm(a - b) for i, a in enumerate(lab) for b in lab[i + 1 :]) >= 19
    grey = _lab(plots.ALLOCATED_COLOR)
    assert min(np.linalg.norm(a - grey) for a in lab) >= 25


def test_big_zone_is_one_image_not_patches():
    z = memlab.Zone("Normal", 262144)
    buddy_v1(z, 5000, seed=1)
    fig = Figure()
    ax = fig.subplots()
    plots.memory_map(ax, z, legend=False)
    assert len(ax.images) == 1 and ax.images[0].get_array().shape[:2] == (512, 512)
    assert not ax.collections and not ax.patches


def test_small_zone_gets_block_outlines():
    z = memlab.Zone("Normal", 64)
    z.alloc_pages(2)
    fig = Figure()
    ax = fig.subplots()
    plots.memory_map(ax, z)
    n_blocks = len(z.free_blocks()) + len(z.allocated_blocks())
    assert len(ax.collections) == 1 and len(ax.collections[0].get_paths()) == n_blocks


def test_free_area_chart_heights_are_nr_free():
    z = memlab.Zone("Normal", 64)
    z.alloc_pages(0)
    fig = Figure()
    ax = fig.subplots()
    plots.free_area_chart(ax, z)
    assert [b.get_height() for b in ax.patches] == [z.free_area[o].nr_free for o in range(11)]
    plots.free_area_chart(ax, z, pages=True)


def test_fragmentation_plot_masks_undefined_values():
    samples = [(100, 50, -1000, 10), (200, 40, 800, 900)]
    fig = Figure()
    ax = fig.subplots()
    plots.fragmentation_over_time(ax, samples, order=4)
    unusable, frag, threshold = ax.lines
    assert list(threshold.get_ydata()) == [500, 500]
    assert list(unusable.get_ydata()) == [10, 900]
    ydata = frag.get_ydata()
    assert np.isnan(ydata[0]) and ydata[1] == 800
    legend = ax.get_legend()
    assert legend.get_bbox_to_anchor().x0 >= ax.get_window_extent().x1  # the legend sits right of the axes


def test_fragmentation_timeline_shows_free_pages_above_the_indices():
    samples = [(100, 3000, -1000, 10), (200, 900, 950, 1000)]
    fig = plots.fragmentation_timeline(samples, 4096, order=9)
    top, bottom = fig.axes[:2]
    free_line = top.lines[0]
    assert list(free_line.get_ydata()) == [3000, 900]
    gap_lines = [line for line in top.lines if list(line.get_ydata()) == [1024, 1024]]
    assert len(gap_lines) == 1  # compact_gap(9) = 2 << 9
    assert list(bottom.lines[0].get_ydata()) == [10, 1000]
    assert any(list(line.get_ydata()) == [500, 500] for line in bottom.lines)  # extfrag_threshold


def test_process_regions_tile_user_space():
    from memlab.mm import TASK_SIZE_MAX

    m = memlab.Machine(ram="64MiB")
    p = m.spawn("t", bss=0x3000)
    p.brk(p.mm.brk + 0x4000)
    p.mmap(length=0x3000)
    regions = plots.process_regions(p)
    assert regions[0][0] == 0 and regions[-1][1] == TASK_SIZE_MAX
    assert all(a[1] == b[0] for a, b in zip(regions, regions[1:]))
    kinds = [r[3] for r in regions]
    assert {"TEXT", "DATA", "HEAP", "MMAP", "STACK", "vdso", "hole"} <= set(kinds)
    labels = [r[2] for r in regions]
    assert "BSS (anonymous)" in labels and "[heap] (brk)" in labels  # brk never extends the BSS VMA


def test_page_walk_and_layout_drawings():
    m = memlab.Machine(ram="64MiB")
    p = m.spawn("t")
    addr = p.mmap(length=4096)
    p.touch(addr)
    steps, result = p.mm.walk(addr)
    fig = Figure()
    ax = fig.subplots()
    plots.page_walk(ax, addr, steps, result)
    assert sum(1 for t in ax.texts if "table" in t.get_text()) == 4
    assert any(f"{result['phys']:#x}" in t.get_text() for t in ax.texts)
    fig2 = Figure()
    a1, a2 = fig2.subplots(1, 2)
    plots.layouts_side_by_side(a1, a2)
    assert any("PKMAP" in t.get_text() for t in a1.texts)
    assert any("direct mapping" in t.get_text() for t in a2.texts)


def test_dma_timing_lanes_follow_the_trace():
    m = memlab.Machine(ram="64MiB")
    d = m.dma8237
    phys = m.alloc_pages(0, "GFP_DMA").pfn << 12
    d.attach(1, memlab.dma.IsaDevice("dev", data=b"ab"))
    d.program(1, phys, 2, memlab.dma.DMA_MODE_READ)
    d.dreq(1)
    d.run(17)  # single mode: two transfers, with the bus released for a clock between them
    fig = Figure()
    ax = fig.subplots()
    plots.dma_timing(ax, d.trace, 1)
    assert len(ax.lines) == 10
    eop = ax.lines[-1].get_ydata()
    assert max(eop) - min(eop) == pytest.approx(0.9)  # EOP pulses once at terminal count


def test_slab_and_mempool_drawings():
    m = memlab.Machine(ram="64MiB")
    c = m.kmem_cache_create("x", 1000)
    objs = [m.kmem_cache_alloc(c) for _ in range(20)]
    m.kmem_cache_free(c, objs[0])
    fig = Figure()
    ax = fig.subplots()
    plots.slab_rows(ax, c)
    grid = ax.images[0].get_array()
    assert grid.shape == (c.nr_slabs, c.objperslab)
    assert int((grid == 2).sum()) == c.objects_in_use
    pool = m.mempool_create_kmalloc_pool(3, 64)
    m.mempool_alloc(pool, "GFP_KERNEL")
    fig2 = Figure()
    ax2 = fig2.subplots()
    plots.mempool_history(ax2, pool)
    assert list(ax2.lines[0].get_ydata()) == [e[2] for e in pool.history]


def test_mempool_history_of_a_new_pool_has_whole_event_ticks():
    m = memlab.Machine(ram="64MiB")
    pool = m.mempool_create_kmalloc_pool(2, 64)
    fig = Figure()
    ax = fig.subplots()
    plots.mempool_history(ax, pool)
    lo, hi = ax.get_xlim()
    assert hi - lo >= 10  # not the -0.04..0.04 of a single point
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_swiotlb_bounce_picture_draws_the_copies_of_its_direction():
    from matplotlib.patches import FancyArrowPatch

    from memlab import DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE

    def arrows_and_text(direction):
        fig = Figure()
        ax = fig.subplots()
        plots.swiotlb_bounce(ax, 0x100008000, 0xFC000000, 3000, direction)
        n = sum(isinstance(p, FancyArrowPatch) for p in ax.patches)
        return n, " ".join(t.get_text() for t in ax.texts)

    n, text = arrows_and_text(DMA_TO_DEVICE)
    assert n == 2 and "device reads" in text and "nothing is copied back" in text and "0xfc000000" in text
    n, text = arrows_and_text(DMA_FROM_DEVICE)
    assert n == 3 and "device writes" in text and "copy the slot back" in text
    n, text = arrows_and_text(DMA_BIDIRECTIONAL)
    assert n == 4 and "device reads" in text and "device writes" in text


def test_heap_chunks_draws_every_chunk_in_its_states_colour():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from memlab import Machine, plots

    p = Machine(ram="256MiB").spawn("h")
    c = p.libc
    a, b = c.malloc(24), c.malloc(5000)
    c.malloc(24)
    c.free(a)
    c.free(b)
    fig, ax = plt.subplots()
    plots.heap_chunks(ax, c)
    colors = [patch.get_facecolor()[:3] for patch in ax.patches]
    from matplotlib.colors import to_rgb

    states = [state for _, _, state in c.chunk_list()]
    assert colors == [to_rgb(plots.HEAP_STATE_COLORS[s]) for s in states]
    assert states == ["inuse", "tcache", "unsorted", "inuse", "top"]
    plt.close(fig)
    fig, ax = plt.subplots()
    plots.heap_chunks(ax, Machine(ram="256MiB").spawn("empty").libc)
    assert "no heap yet" in ax.texts[0].get_text()
    plt.close(fig)


def test_nic_rings_show_who_owns_each_descriptor():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb

    from memlab import Machine, plots
    from memlab.dma import E1000, E1000Driver

    m = Machine(ram="256MiB")
    nic = E1000(m)
    drv = E1000Driver(nic)
    nic.irq_handler = None  # interrupts off: received descriptors wait for the driver
    for _ in range(3):
        nic.receive(b"x" * 60)
    fig, ax = plt.subplots()
    plots.nic_rings(ax, drv)
    rx = [patch.get_facecolor()[:3] for patch in ax.patches[:8]]
    c = {k: to_rgb(v) for k, v in plots.RING_COLORS.items()}
    assert rx == [c["done"]] * 3 + [c["card"]] * 4 + [c["driver"]]
    assert [t.get_text() for t in ax.texts if t.get_text() in ("RDH", "RDT")] == ["RDH", "RDT"]
    plt.close(fig)


def test_png_bytes_decode_to_the_pixels_drawn():
    """The dashboards' own PNG encoder: Pillow (an independent decoder) reads
    back exactly the canvas's pixels, for a drawing and for odd shapes."""
    import io
    import zlib

    from PIL import Image

    from memlab.plots.figure import canvas_png, png_bytes

    d = plots.BuddyDrawing(memlab.Zone("Normal", 1024))
    canvas = d.fig.canvas
    canvas.draw()
    drawn = np.asarray(canvas.buffer_rgba())
    png = canvas_png(canvas)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    back = Image.open(io.BytesIO(png))
    assert back.mode == "RGBA" and np.array_equal(np.asarray(back), drawn)
    rng = np.random.default_rng(7)
    for shape in ((1, 1, 4), (3, 5, 4), (17, 2, 4)):
        pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(pixels)))), pixels)
    # every chunk's CRC is checked by a strict reader too: corrupt one byte of IDAT and Pillow refuses it
    bad = bytearray(png_bytes(pixels))
    bad[bad.index(b"IDAT") + 6] ^= 0xFF
    with pytest.raises((SyntaxError, OSError, zlib.error)):
        Image.open(io.BytesIO(bytes(bad))).load()
