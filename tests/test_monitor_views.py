"""Lesson 08's pictures and dashboard (issue 12), checked against the model."""

import pytest

pytest.importorskip("matplotlib")
W = pytest.importorskip("ipywidgets")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

import memlab  # noqa: E402
from memlab import monitor, plots  # noqa: E402
from memlab.widgets import MonitorDashboard  # noqa: E402


def _busy():
    m = memlab.Machine(ram="128MiB")
    p = m.spawn("app")
    f = m.create_file("/f", 4 << 20)
    fd = p.sys.open(f)
    buf = p.mmap(length=4 << 20)
    p.sys.read(fd, buf, 4 << 20)
    return m


def test_the_breakdown_bar_adds_up_to_memtotal_and_marks_what_is_used():
    r = monitor.meminfo_record(_busy())
    ax = Figure().subplots()
    plots.memory_breakdown(ax, r)
    widths = [p.get_width() for p in ax.patches]
    assert len(widths) == len(plots.MEMINFO_PARTS)
    assert sum(widths) == pytest.approx(r["MemTotal"] / 1024)
    by_label = dict(zip([p[0] for p in plots.MEMINFO_PARTS], widths))
    assert r["AnonPages"] > 0 and by_label["anonymous"] == pytest.approx(r["AnonPages"] / 1024)
    assert by_label["page cache, inactive"] + by_label["page cache, active"] == pytest.approx(r["Cached"] / 1024)
    assert ax.lines[0].get_xdata()[0] == pytest.approx((r["MemTotal"] - r["MemAvailable"]) / 1024)


def test_the_timeline_stacks_a_runs_records():
    m = _busy()
    records = [monitor.meminfo_record(m)]
    monitor.drop_caches(m, 1)
    records.append(monitor.meminfo_record(m))
    ax = Figure().subplots()
    plots.meminfo_timeline(ax, records, times=[0, 1])
    assert len(ax.collections) == len(plots.MEMINFO_PARTS) - 1  # every part but free


def test_the_dashboard_shows_the_page_cache_fill_and_drop():
    d = MonitorDashboard(ram="128MiB")
    d.mib.value = 2
    d.read_button.click()
    assert (
        "read 2 MiB" in d.status.value and "Cached:" in d.meminfo_view.value and "(+2,048 kB)" in d.meminfo_view.value
    )
    d.write_button.click()
    assert monitor.meminfo_record(d.machine)["Dirty"] == 2048
    d.drop_buttons[0].click()
    assert monitor.meminfo_record(d.machine)["Cached"] == 2048  # the dirty pages stay
    d.sync_button.click()
    d.drop_buttons[2].click()
    r = monitor.meminfo_record(d.machine)
    assert r["Cached"] == 0 and r["Dirty"] == 0
    assert bytes(d.image.value).startswith(b"\x89PNG") and "free" in d.free_view.value


def test_the_dashboard_refuses_a_bad_size_and_changes_nothing():
    d = MonitorDashboard(ram="128MiB")
    before = monitor.meminfo_record(d.machine)
    d.mib.value = 999
    d.read_button.click()
    assert "999 is outside 1..64" in d.status.value and monitor.meminfo_record(d.machine) == before


@pytest.mark.parametrize("seed", range(8))
def test_free_used_answers_the_used_column_of_free(seed):
    from memlab import exercises

    ex = exercises.free_used(seed)
    used = int(ex.demo()[1].split()[2])
    assert ex.check(used).correct
    total_minus_free = next(v for v, why in ex.mistakes if "total - free:" in why)
    assert "page cache as used" in ex.check(total_minus_free).message


@pytest.mark.parametrize("seed", range(6))
def test_drop_caches_freed_counts_the_clean_unmapped_pages(seed):
    from memlab import exercises

    ex = exercises.drop_caches_freed(seed)
    words = ex.question.split()
    cached = int(words[words.index("whole") + 1].split("-")[0])
    dirty = int(words[words.index("last") + 1])
    mapped = int(words[words.index("first") + 1])
    assert ex._answer == cached - dirty - mapped + 1 and ex.check(ex._answer).correct
    assert "dirty pages are not dropped" in ex.check(cached).message


def test_the_dashboard_run_moves_the_progress_bar_and_draws_the_time_series():
    d = MonitorDashboard(ram="128MiB")
    assert d.timeline_image.layout.display == "none"
    d.run_button.click()
    assert d.progress.value == d.progress.max == 16
    assert d.timeline_image.layout.display is None and bytes(d.timeline_image.value).startswith(b"\x89PNG")
    assert "page cache grew by 16 MiB" in d.status.value
    assert monitor.meminfo_record(d.machine)["Cached"] == 16 * 1024
