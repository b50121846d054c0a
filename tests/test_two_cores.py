"""The compiled buddy core against the Python one, side by side: the same
PFNs, free lists, allocated blocks, trails and errors after every step,
invalid steps included (issue 15). Skipped where the core is not built,
except under MEMLAB_REQUIRE_CORE=1 (CI), where a missing core fails."""

import os
import random
from pathlib import Path

import hypothesis.strategies as st
import pytest
from conftest import examples
from hypothesis import settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, multiple, rule

import memlab
from memlab import Page, Zone
from memlab.page_alloc import COMPILED_CORE
from memlab.workloads import buddy_v1

MAX = 10

if not COMPILED_CORE:
    if os.environ.get("MEMLAB_REQUIRE_CORE"):
        raise RuntimeError("MEMLAB_REQUIRE_CORE=1 but memlab.page_alloc._cbuddy was not built")
    pytest.skip("the compiled buddy core is not built here", allow_module_level=True)


def outcome(fn, *args):
    """What a call did: ("ok", value) or ("error", type name, message)."""
    try:
        value = fn(*args)
    except Exception as err:  # every error, with its text
        return ("error", type(err).__name__, str(err))
    if isinstance(value, Page):
        value = (value.pfn, value.order)
    return ("ok", value)


def state(z):
    return (
        [z.free_list(o) for o in range(MAX + 1)],
        z.allocated_blocks(),
        z.nr_free_pages,
        z.nr_free_by_order(),
        z.trail,
    )


class TwoCores(RuleBasedStateMachine):
    pages = Bundle("pages")

    @initialize(
        nr_pages=st.integers(0, 3000),
        start_pfn=st.sampled_from([0, 1, 3, 1024, 4096]),
        holes=st.booleans(),
    )
    def setup(self, nr_pages, start_pfn, holes):
        ranges = None
        if holes and nr_pages > 8:  # two managed ranges, the rest reserved
            third = nr_pages // 3
            ranges = [(start_pfn + 1, start_pfn + third), (start_pfn + 2 * third, start_pfn + nr_pages - 1)]
        self.py = Zone("Normal", nr_pages, start_pfn=start_pfn, free_ranges=ranges, core="python")
        self.c = Zone("Normal", nr_pages, start_pfn=start_pfn, free_ranges=ranges, core="c")
        assert (self.py.core, self.c.core) == ("python", "c")

    def both(self, name, *args):
        a = outcome(getattr(self.py, name), *args)
        b = outcome(getattr(self.c, name), *args)
        assert a == b, f"{name}{args}: python {a}, c {b}"
        return a

    @rule(target=pages, order=st.integers(0, MAX))
    def alloc(self, order):
        result = self.both("alloc_pages", order)
        return multiple() if result[0] == "error" else result[1]

    @rule(block=consumes(pages))
    def free(self, block):
        pfn, order = block
        self.both("free_pages", pfn, order)  # (after a reset the block may be gone: the same error then)

    @rule(block=pages, delta=st.sampled_from([-1, 1, 2, 11]))
    def free_with_wrong_order(self, block, delta):
        pfn, order = block
        self.both("free_pages", pfn, order + delta)  # an error, unless a reset let the pfn be reused

    @rule(block=pages)
    def free_a_page_object(self, block):
        # a Page made by hand for a live block: accepted by neither or both;
        # then the block is allocated again in both so the bundle stays valid
        pfn, order = block
        if self.both("free_pages", Page(pfn, order), order)[0] == "ok":
            assert self.both("alloc_pages", order)[0] == "ok"

    @rule(
        bad=st.one_of(
            st.integers(-5, 6000),
            st.just(2**70),
            st.floats(0, 10),
            st.booleans(),
            st.none(),
            st.text(max_size=2),
            st.builds(Page, st.floats(0, 10), st.integers(0, 3)),
        ),
        order=st.one_of(st.integers(-2, 12), st.floats(0, 3), st.booleans()),
    )
    def free_anything(self, bad, order):
        self.both("free_pages", bad, order)

    @rule(order=st.one_of(st.integers(-3, 14), st.just(2**65), st.floats(0, 4), st.booleans(), st.none(), st.text()))
    def alloc_anything(self, order):
        self.both("alloc_pages", order)

    @rule()
    def reset(self):
        self.py.reset()
        self.c.reset()

    @invariant()
    def same_state(self):
        assert state(self.py) == state(self.c)
        assert self.py.explain() == self.c.explain()
        self.c.check_invariants()


TestTwoCores = TwoCores.TestCase
TestTwoCores.settings = settings(max_examples=examples(1.0), stateful_step_count=60)


def test_the_cores_agree_over_a_long_buddy_v1_run():
    # 60,000 operations through the public calls, then every query
    py, c = Zone("Normal", 1 << 14, core="python"), Zone("Normal", 1 << 14, core="c")
    a = buddy_v1(py, 60_000, seed=11, sample_every=5000)
    py_samples = a.samples
    rng = random.Random(11)
    live, failures = [], 0
    for _ in range(60_000):  # the same decisions, driven by hand on the C zone
        r = rng.random()
        if r < memlab.workloads.BUDDY_V1_ALLOC_SHARE:
            from bisect import bisect_right

            try:
                live.append(c.alloc_pages(bisect_right(memlab.workloads.BUDDY_V1_CUMULATIVE, r / 0.55)))
            except memlab.OutOfMemory:
                failures += 1
        elif live:
            i = int((r - 0.55) / 0.45 * len(live))
            page, last = live[i], live.pop()
            if i < len(live):
                live[i] = last
            c.free_pages(page, page.order)
    assert state(py) == state(c) and failures == a.failures
    assert [(p.pfn, p.order) for p in a.live] == [(p.pfn, p.order) for p in live]
    assert py_samples and py.page_map().tolist() == c.page_map().tolist()


def test_replay_gives_what_the_workload_gives_one_call_at_a_time():
    seeds = (1, 42)
    for seed in seeds:
        pure = Zone("Normal", 1 << 12, core="python")
        fast = Zone("Normal", 1 << 12, core="c")
        a = buddy_v1(pure, 30_000, seed=seed, sample_every=1000, sample_order=9)  # Python: one call per op
        b = buddy_v1(fast, 30_000, seed=seed, sample_every=1000, sample_order=9)  # C: replay()
        assert (a.allocs, a.frees, a.failures, a.samples) == (b.allocs, b.frees, b.failures, b.samples)
        assert a.failures > 0  # the zone ran out now and then: failed allocations replayed too
        assert [(p.pfn, p.order) for p in a.live] == [(p.pfn, p.order) for p in b.live]
        assert state(pure) == state(fast)


def test_replay_rejects_a_bad_stream_and_reports_it():
    z = Zone("Normal", 1024, core="c")
    with pytest.raises(TypeError, match="neither an int"):
        z.replay([0, "x"])
    with pytest.raises(memlab.BadOrder):
        z.replay([11])
    with pytest.raises(ValueError, match="outside"):
        z.replay([0, 1.5])


def test_core_choice_and_the_environment(monkeypatch):
    monkeypatch.delenv("MEMLAB_PURE_PYTHON", raising=False)
    assert Zone("N", 8).core == "c"
    monkeypatch.setenv("MEMLAB_PURE_PYTHON", "1")
    assert Zone("N", 8).core == "python" and memlab.Machine(ram="64MiB").zones["DMA"].core == "python"
    monkeypatch.setenv("MEMLAB_PURE_PYTHON", "0")
    assert Zone("N", 8).core == "c"
    with pytest.raises(memlab.MemlabError, match="must be 'c', 'python' or None"):
        Zone("N", 8, core="rust")


def test_replay_refuses_a_block_given_twice_and_keeps_the_given_pages():
    z = Zone("Normal", 1024, core="c")
    a, b = z.alloc_pages(0), z.alloc_pages(1)
    with pytest.raises(ValueError, match="in live twice"):
        z.replay([0.0], [a, b, a])
    assert sorted(z.allocated_blocks()) == [(0, 0), (2, 1)]  # nothing was done
    live = [a, b]
    z.replay([3, 0.0], live)  # allocate order 3 (appended), free live[0] (a: the last moves into its place)
    assert live[1] is b and (live[0].pfn, live[0].order) == (8, 3)
    assert z.allocated_blocks() == [(2, 1), (8, 3)]  # allocation order, as the Python core keeps it


def _python_page():
    """memlab.Page as the Python class (the class without the extension)."""
    src = memlab.page_alloc.buddy.__file__
    ns: dict = {"PAGE_SHIFT": 12, "PAGE_SIZE": 4096}  # (one namespace: __eq__ finds Page in it)
    code = Path(src).read_text().split("class Page:")[1].split("\n\n\n")[0]
    exec("class Page:" + code, ns)
    return ns["Page"]


def test_the_compiled_page_is_the_python_page_without_the_collector():
    import gc
    import inspect

    CPage, PyPage = memlab.page_alloc.core.ext.Page, _python_page()
    pure = os.environ.get("MEMLAB_PURE_PYTHON", "") not in ("", "0")  # (as at import)
    assert (Page is CPage) == (not pure)
    assert inspect.cleandoc(PyPage.__doc__) == CPage.__doc__  # the same words either way
    for args in [(0, 0), (5, 3), (262_143, 10), (0.0, 0)]:
        c, p = CPage(*args), PyPage(*args)
        assert repr(c) == repr(p) and hash(c) == hash(p)
        if args[0].__class__ is int:
            assert (c.nr_pages, c.size, c.phys_addr) == (p.nr_pages, p.size, p.phys_addr)
        assert c == CPage(*args) and not c != CPage(*args) and c != CPage(args[0], args[1] + 1)  # noqa: SIM202 (the != operator itself)
        assert c != args and not (c == args)  # a Page equals only a Page  # noqa: SIM201 (the == operator itself)
    assert not gc.is_tracked(CPage(1, 0)) and gc.is_tracked(PyPage(1, 0))
    assert CPage(pfn=4, order=2) == CPage(4, 2)
    with pytest.raises(TypeError):
        CPage(1)
    with pytest.raises(AttributeError):
        CPage.__new__(CPage).pfn  # noqa: B018 (an empty Page, as object.__new__ makes for the Python class)


def test_a_page_from_the_compiled_zone_behaves_as_the_python_page():
    """The compiled zone keeps a Page's pfn as a C number until it is read
    (_cbuddy.c); reading, replacing and deleting it must still do what they
    do to the Python class's slot, and the zone must free by either form."""
    CPage, PyPage = memlab.page_alloc.core.ext.Page, _python_page()
    if Page is not CPage:  # (MEMLAB_PURE_PYTHON at import: zones make the Python class)
        pytest.skip("memlab.Page is the Python class in this process")
    z = Zone("Normal", 1024, core="c")
    for cls in (CPage, PyPage):
        p = z.alloc_pages(2) if cls is CPage else cls(4, 2)
        first = p.pfn
        assert first == (0 if cls is CPage else 4) and p.pfn is first  # made once, then kept
        p.pfn = 12
        assert (p.pfn, repr(p), p.phys_addr) == (12, "Page(pfn=12, order=2)", 12 << 12)
        del p.pfn
        with pytest.raises(AttributeError):
            p.pfn  # noqa: B018 (the attribute is gone)
        with pytest.raises(AttributeError):
            del p.pfn
        p.pfn = first
        assert p == cls(first, 2) and hash(p) == hash(cls(first, 2))
    unread = z.alloc_pages(3)  # freed without its pfn ever being read
    z.free_pages(unread, 3)
    with pytest.raises(memlab.BadFree):  # the same Page again: a double free, as before
        z.free_pages(unread, 3)
    moved = z.alloc_pages(0)
    moved.pfn = float(moved.pfn)  # a float pfn is refused, read or unread
    with pytest.raises(memlab.BadFree):
        z.free_pages(moved, 0)
    live: list = []
    z.replay([0, 1, 0.0], live)  # the Pages replay makes free by their unread pfn too
    for p in list(live):
        z.free_pages(p, p.order)
    assert sorted(z.allocated_blocks()) == [(0, 2), (int(moved.pfn), 0)]
