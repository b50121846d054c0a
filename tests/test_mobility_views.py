"""The pageblock map of a MobilityZone."""

import re

import matplotlib
import pytest

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


def test_pinned_map_darkens_the_pageblocks_that_hold_a_long_lived_page():
    from memlab import Zone

    z = Zone("Normal", 4096, core="python")
    pages = [z.alloc_pages(0) for _ in range(4096)]
    pinned = [pages[0], pages[1500], pages[4095]]  # pageblocks 0, 2, 7
    fig, ax = plt.subplots()
    plots.pinned_map(ax, z, pinned, width=4)
    img = ax.images[0].get_array()
    dark = [i for i in range(8) if img[i // 4, i % 4][0] < 0.5]
    assert dark == [0, 2, 7] and ax.get_title().startswith("3 of 8 pageblocks")
    plt.close(fig)


def test_compaction_frames_and_strip_show_the_scanners_closing_in():
    from memlab import workloads

    z = MobilityZone("Normal", 4096, pcp=False)
    pages = [z.alloc_pages(0, "GFP_HIGHUSER_MOVABLE") for _ in range(4096)]
    for p in pages[1::2]:
        z.free_pages(p, 0)
    result, frames = workloads.compaction_frames(z, n_frames=4)
    assert [f[3] for f in frames][0] == "before" and frames[-1][3] == "scanners met" and len(frames) == 4
    migrate = [f[1] for f in frames]
    free = [f[2] for f in frames]
    assert migrate == sorted(migrate) and free == sorted(free, reverse=True)  # they move towards each other
    assert (free[-1] >> 9) <= (migrate[-1] >> 9) and result.result == "COMPACT_COMPLETE"
    assert (frames[0][0] == 255).sum() == 2048 == (frames[-1][0] == 255).sum()  # pages moved, none lost
    fig = plots.compaction_strip(frames, "Normal")
    assert len(fig.axes) == 4 and all(len(ax.texts) == 2 for ax in fig.axes)
    plt.close(fig)


def test_reclaim_timeline_marks_the_steps_where_kswapd_ran():
    import memlab
    from memlab import workloads

    m = memlab.Machine(ram="64MiB", reclaim=True)
    samples, marks, killed = workloads.reclaim_run(m, 32 << 20, 40 << 20)
    assert killed is None and marks["min"] < marks["low"] < marks["high"]
    ran = [s[0] for s in samples if s[3]]
    assert ran and all(s[1] >= marks["min"] for s in samples)
    fig, ax = plt.subplots()
    plots.reclaim_timeline(ax, samples, marks, zoom=True)
    assert len(ax.collections[0].get_offsets()) == len(ran)
    plt.close(fig)
    with pytest.raises(memlab.MemlabError, match="reclaim=True"):
        workloads.reclaim_run(memlab.Machine(ram="64MiB"))


def test_the_dashboard_allocates_frees_compacts_and_reports_in_its_status_line():
    from memlab.widgets import MobilityDashboard

    d = MobilityDashboard(nr_pages=4096)
    d.count.value = 3000
    d.alloc_button.click()
    assert "3000 order-0 blocks of type Movable" in d.status.value
    d.kind.value = "Unmovable (GFP_KERNEL)"
    d.count.value = 50
    d.alloc_button.click()
    assert "1 Unmovable" in d.status.value or "2 Unmovable" in d.status.value
    d.free_button.click()
    assert "1500 movable blocks freed" in d.status.value
    d.compact_button.click()
    assert "COMPACT_COMPLETE" in d.status.value and "pages migrated" in d.status.value
    assert "Page block order: 9" in d.text.value
    d.order.value, d.count.value = 9, 100
    d.alloc_button.click()
    assert re.search(r"only \d of 100: the zone has no free block of order 9 left", d.status.value)
    d.order.value = 10
    d.alloc_button.click()  # not one: the zone's own OutOfMemory message, in the status line
    assert "memlab-error" in d.status.value and "no free block for an order-10 request" in d.status.value
    d.count.value = 0
    d.alloc_button.click()
    assert "blocks" in d.status.value and "internal error" not in d.status.value  # the rule, not a traceback
    d.reset_button.click()
    assert d.zone.nr_free_pages == 4096 and d.live == []
    d.free_button.click()
    assert "No movable block" in d.status.value
