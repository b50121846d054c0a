"""Drawings read the model correctly and stay one image for big zones."""

import numpy as np
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


def test_order_colours_are_distinct_from_allocated():
    colors = [tuple(c) for c in plots.order_colors()]
    assert len(set(colors)) == 11
    assert plots.ALLOCATED_COLOR not in colors


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
    unusable, frag = ax.lines
    assert list(unusable.get_ydata()) == [10, 900]
    ydata = frag.get_ydata()
    assert np.isnan(ydata[0]) and ydata[1] == 800
