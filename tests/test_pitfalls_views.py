"""Lesson 07's pictures, dashboard and exercises (issue 11): each drawn
from the simulated sanitizers, each checked against the model."""

import pytest

pytest.importorskip("matplotlib")
W = pytest.importorskip("ipywidgets")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

from memlab import exercises, native, plots  # noqa: E402
from memlab.pitfalls import PITFALLS, Sanitizer, SanitizerError, ThreadProgram, counter_program  # noqa: E402
from memlab.widgets import PitfallDashboard  # noqa: E402


def _stopped(name):
    s = Sanitizer(f"{name}.cpp")
    with pytest.raises(SanitizerError):
        PITFALLS[name].faulty(s)
    return s


def test_the_heap_picture_shows_the_freed_chunk_the_dangling_pointer_and_the_guilty_granule():
    s = _stopped("heap_use_after_free")
    ax = Figure().subplots()
    plots.asan_heap(ax, s)
    freed = [p for p in ax.patches if p.get_facecolor()[:3] == matplotlib.colors.to_rgb("#CC79A7")]
    assert len(freed) == 2  # the user's 4 bytes, and its shadow byte fd
    lo = int(ax.get_xlabel().split()[2], 16)  # "bytes from 0x..."
    guilty = [p for p in ax.patches if p.get_linewidth() == 2]
    assert len(guilty) == 1 and guilty[0].get_x() == (s.finding.addr & ~7) - lo
    texts = [t.get_text() for t in ax.texts]
    assert "n, alias" in texts and "fd" in texts  # both pointers still point at the freed bytes
    assert "heap-use-after-free" in ax.get_title()


def test_the_heap_picture_reaches_the_overflowing_write():
    s = _stopped("heap_buffer_overflow")
    ax = Figure().subplots()
    plots.asan_heap(ax, s)
    lo = int(ax.get_xlabel().split()[2], 16)
    assert ax.lines[0].get_xdata()[0] == s.finding.addr - lo <= ax.get_xlim()[1]  # the red line: the bad address
    shadow = [t.get_text() for t in ax.texts if len(t.get_text()) == 2]
    assert shadow.count("00") == 5 and "fa" in shadow  # the 40 bytes, then the redzone


def test_the_timeline_marks_the_stores_that_lost_updates_and_the_reported_race():
    result = counter_program(None, iterations=300, seed=0).run()
    ax = Figure().subplots()
    plots.thread_timeline(ax, result, start=1, steps=len(result.timeline))
    red = [p for p in ax.patches if p.get_linewidth() == 2.5]
    assert len(red) == len(result.lost_at) > 0
    stars = [line for line in ax.lines if line.get_marker() == "*"]
    assert len(stars) == 2  # the two accesses of the report
    assert f"{result.lost} updates lost" in ax.get_title()


def test_the_dashboard_runs_every_pitfall_and_its_fix():
    d = PitfallDashboard()
    for name in PITFALLS:
        d.choice.value = name
        d.faulty_button.click()
        assert d.found is not None and d.found.kind == native.PITFALLS[name][1], name
        assert "simulated report" in d.report_view.value and d.found.kind in d.status.value
        assert f"{name}.cpp" in d.source.value and bytes(d.image.value).startswith(b"\x89PNG")
        d.fixed_button.click()
        assert d.found is None and "ran clean" in d.status.value, name
        assert "fixed/" in d.source.value


def test_the_dashboard_refuses_a_bad_seed_and_keeps_its_report():
    d = PitfallDashboard("data_race")
    before = d.report_view.value
    d.seed.value = -5
    d.faulty_button.click()
    assert "seed -5 is outside" in d.status.value and d.report_view.value == before


@pytest.mark.skipif(native.compiler() is None, reason="no g++ here")
def test_the_dashboard_shows_the_real_report_beside():
    d = PitfallDashboard("double_free")
    d.real_button.click()
    assert "the real report" in d.report_view.value and "attempting double-free" in d.report_view.value


@pytest.mark.parametrize("seed", range(25))
def test_find_the_bug_answers_the_line_the_sanitizer_stops_at(seed):
    ex = exercises.find_the_bug(seed)
    assert ex.check(ex._answer).correct
    report = "\n".join(ex.demo())
    assert f"exercise.cpp:{ex._answer}" in report
    made = next(v for v, why in ex.mistakes if "makes the block" in why)
    assert "makes the block" in ex.check(made).message


@pytest.mark.parametrize("seed", range(10))
def test_lost_update_answers_what_the_given_order_leaves(seed):
    ex = exercises.lost_update(seed)
    order = [int(t[1]) for t in ex.question.split("order: ")[1].split(".")[0].split()]
    counter, regs = 0, {1: 0, 2: 0}  # the schedule replayed by hand
    steps = {1: 0, 2: 0}
    for t in order:
        k = steps[t] % 3
        if k == 0:
            regs[t] = counter
        elif k == 1:
            regs[t] += 1
        else:
            counter = regs[t]
        steps[t] += 1
    assert ex._answer == counter and ex.check(counter).correct


def test_a_schedule_that_names_a_finished_thread_is_refused():
    from memlab import MemlabError

    prog = ThreadProgram()
    prog.global_var("c")
    prog.thread("w", [("load", "c", 1)], line=2)
    prog.thread("w", [("load", "c", 1)], line=2)
    with pytest.raises(MemlabError, match="step 2 names thread 1"):
        prog.run(schedule=[1, 1])
