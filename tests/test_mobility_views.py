"""The pageblock map of a MobilityZone."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from memlab import MobilityZone, plots
from memlab.page_alloc import MIGRATE_MOVABLE, MIGRATE_UNMOVABLE


def test_mixed_pageblocks_are_those_holding_another_types_pages():
    z = MobilityZone("Normal", 2048, pcp=False)
    pages = [z.alloc_pages(0, "GFP_KERNEL") for _ in range(1024)]
    assert z.mixed_pageblocks() == []
    z.free_pages(pages[5], 0)
    [z.alloc_pages(10, "GFP_HIGHUSER_MOVABLE")]  # the other two pageblocks: Movable, whole
    page = z.alloc_pages(0, "GFP_HIGHUSER_MOVABLE")  # nothing Movable left: steals pfn 5
    assert page.pfn == 5 and z.mixed_pageblocks() == [0]


def test_pageblock_map_colours_each_pageblock_by_type_and_crosses_out_mixed_ones():
    z = MobilityZone("Normal", 2048, pcp=False)
    pages = [z.alloc_pages(0, "GFP_KERNEL") for _ in range(1024)]
    z.free_pages(pages[5], 0)
    z.alloc_pages(10, "GFP_HIGHUSER_MOVABLE")
    z.alloc_pages(0, "GFP_HIGHUSER_MOVABLE")
    fig, ax = plt.subplots()
    assert plots.pageblock_map(ax, z, width=2) is ax
    img = ax.images[0].get_array()
    assert img.shape[:2] == (2, 2)
    red, blue = (np.array(matplotlib.colors.to_rgb(plots.MIGRATETYPE_COLORS[mt])) for mt in (0, 1))
    # a full pageblock is drawn in its type's own colour
    assert np.allclose(img[0, 0], red) and np.allclose(img[1, 1], blue)
    assert [z.pageblock_migratetype(p) for p, _ in z.pageblocks()] == [MIGRATE_UNMOVABLE] * 2 + [MIGRATE_MOVABLE] * 2
    assert len(ax.lines) == 2  # one X: pageblock 0 holds the stolen Movable page
    assert "1 mixed" in ax.get_title()
    plt.close(fig)


def test_a_free_pageblock_is_a_light_tint_of_its_colour():
    z = MobilityZone("Normal", 1024)
    fig, ax = plt.subplots()
    plots.pageblock_map(ax, z, width=2)
    img = ax.images[0].get_array()
    blue = np.array(matplotlib.colors.to_rgb(plots.MIGRATETYPE_COLORS[1]))
    assert np.allclose(img[0, 0], 1 - (1 - blue) * 0.25)
    assert len(ax.lines) == 0
    plt.close(fig)
