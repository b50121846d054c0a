"""The shared pieces of the house: records, per-machine identities, bounded
trails, the facade's served calls, the ALLOC_* values, the Dashboard base
and the Drawing handles."""

import pytest

import memlab
from memlab import Machine, Zone
from memlab.page_alloc import AllocStep, FreeStep, NodeAlloc, NodeFree
from memlab.records import Record


class _Row(Record):
    __slots__ = ("a", "b")

    def __init__(self, a, b=None):
        self.a, self.b = a, b


def test_records_read_as_dicts_and_tuples():
    row = _Row(1)
    assert (row["a"], row[0], row.get("b", 7), row.keys()) == (1, 1, 7, ["a", "b"])
    assert "a" in row and "b" not in row and "c" not in row
    assert row == _Row(1) and row != _Row(2)
    assert repr(row) == "_Row(a=1, b=None)"
    with pytest.raises(KeyError):
        row["c"]


def test_walk_records_keep_the_dict_access_of_earlier_versions():
    m = Machine(ram="64MiB")
    p = m.spawn("t")
    addr = p.mmap(length=memlab.PAGE_SIZE)
    p.touch(addr, write=True)
    steps, result = p.mm.walk(addr)
    assert result.phys == result["phys"] and "phys" in result and "fault" not in result
    assert [s.level for s in steps] == [s["level"] for s in steps] == ["PGD", "PUD", "PMD", "PTE"]
    _, missing = p.mm.walk(addr + 16 * memlab.PAGE_SIZE)
    assert "fault" in missing and missing.phys is None


def test_zone_and_machine_trails_are_records_and_bounded():
    z = Zone("Normal", 64)
    page = z.alloc_pages(1)
    z.free_pages(page, 1)
    alloc, free = z.trail
    assert alloc == AllocStep("alloc", 0, 1, 6) and alloc.from_order == 6
    assert free == FreeStep("free", 0, 1, 6, False) and free[3] == free.final_order == 6
    m = Machine(ram="64MiB")
    for _ in range(200):
        m.free_pages(m.alloc_pages(0), 0)
    trail = m.trail
    assert len(trail) == 64 and len(z.trail) <= 64
    assert isinstance(trail[-2], NodeAlloc) and isinstance(trail[-1], NodeFree)
    assert trail[-2].zone == "DMA32" and trail[-2].watermark == "low"


def test_process_ids_and_inodes_belong_to_a_machine():
    a, b = Machine(ram="64MiB"), Machine(ram="64MiB")
    pa1, pb1, pa2 = a.spawn("x"), b.spawn("y"), a.spawn("z")
    assert (pa1.pid, pb1.pid, pa2.pid) == (1000, 1000, 1001)
    assert pa1.exe.inode == pb1.exe.inode != pa2.exe.inode
    f = memlab.mm.File("/tmp/data", 8192)
    assert f.inode is None
    pa1.mmap(length=8192, flags=memlab.mm.MAP_PRIVATE, file=f)
    assert f.inode == a.alloc_inode() - 1  # the next inode of that machine
    assert a.create_file("/tmp/other", 4096).inode == f.inode + 2


def test_facade_calls_are_the_subsystems_own_methods():
    m = Machine(ram="64MiB")
    assert m.kmalloc == m.slub.kmalloc and m.kmalloc.__self__ is m.slub
    assert m.dma_map_single.__self__ is m.dma
    assert "kmalloc" in Machine.kmalloc.__doc__ and "machine.slub.kmalloc" in Machine.kmalloc.__doc__
    addr = m.kmalloc(100)
    assert m.ksize(addr) == 128


def test_alloc_flags_have_the_values_of_mm_internal_h():
    from memlab.gfp import GFP
    from memlab.page_alloc import watermarks as w

    # mm/internal.h, Linux 6.12
    assert (w.ALLOC_NO_WATERMARKS, w.ALLOC_OOM, w.ALLOC_NON_BLOCK, w.ALLOC_MIN_RESERVE) == (0x04, 0x08, 0x10, 0x20)
    assert (w.ALLOC_CPUSET, w.ALLOC_CMA, w.ALLOC_NOFRAGMENT, w.ALLOC_HIGHATOMIC, w.ALLOC_KSWAPD) == (
        0x40,
        0x80,
        0x100,
        0x200,
        0x800,
    )
    assert GFP["__GFP_HIGH"] == w.ALLOC_MIN_RESERVE and GFP["__GFP_KSWAPD_RECLAIM"] == w.ALLOC_KSWAPD
    atomic = w.gfp_to_alloc_flags(GFP["GFP_ATOMIC"], order=1)
    assert atomic & w.ALLOC_MIN_RESERVE and atomic & w.ALLOC_NON_BLOCK and atomic & w.ALLOC_HIGHATOMIC
    assert not atomic & w.ALLOC_CPUSET  # non-blocking __GFP_HIGH ignores cpusets
    kernel = w.gfp_to_alloc_flags(GFP["GFP_KERNEL"])
    assert kernel == w.ALLOC_WMARK_MIN | w.ALLOC_CPUSET | w.ALLOC_KSWAPD
    assert w.alloc_flags_names(kernel) == "ALLOC_WMARK_MIN|ALLOC_CPUSET|ALLOC_KSWAPD"


def test_mempool_history_is_bounded_and_typed():
    from memlab.mempool import HISTORY_LEN, MempoolEvent, PoolEvent

    m = Machine(ram="64MiB")
    pool = m.mempool_create_kmalloc_pool(2, 64)
    for _ in range(HISTORY_LEN):
        m.mempool_free(m.mempool_alloc(pool, "GFP_KERNEL"), pool)
    history = pool.history
    assert len(history) == HISTORY_LEN and isinstance(history[-1], MempoolEvent)
    assert pool.last_event == history[-1] and history[-1].event is PoolEvent.FREE_TO_BACKING
    assert history[-1].step == 2 * HISTORY_LEN  # events are numbered from create (step 0)
    assert history[-1][1] == "free_to_backing"  # and read like the tuples they replaced


W = pytest.importorskip("ipywidgets")


def test_dashboard_base_shows_errors_never_raises():
    from memlab.widgets import Dashboard

    class Demo(Dashboard):
        def __init__(self):
            super().__init__("ready")
            self.bad = W.Button()
            self.buggy = W.Button()
            self.good = W.Button()
            self.wire([(self.bad, self._bad), (self.buggy, self._buggy), (self.good, self._good)])
            self.children = [self.bad, self.buggy, self.good, self.status]

        def _bad(self):
            raise memlab.BadSize("size -1 must be >= 0")

        def _buggy(self):
            return {}["missing"]

        def _good(self):
            self.ok("done")

    d = Demo()
    assert "ready" in d.status.value
    d.bad.click()
    assert "memlab-error" in d.status.value and "size -1 must be &gt;= 0" in d.status.value
    assert isinstance(d.last_error, memlab.BadSize)
    d.buggy.click()
    assert "internal error (KeyError)" in d.status.value
    d.good.click()
    assert "memlab-ok" in d.status.value and "done" in d.status.value


def test_parse_int_names_the_box():
    from memlab.widgets import parse_int

    assert parse_int("0x1_000", "address") == 4096 and parse_int("1000", "address") == 4096
    assert parse_int("1000", "bytes", base=10) == 1000
    with pytest.raises(memlab.BadSize, match="address 'zz'"):
        parse_int("zz", "address")


def test_drawings_update_and_show_themselves_as_png():
    from memlab import plots

    z = Zone("Normal", 256)
    drawing = plots.BuddyDrawing(z)
    before = drawing.png()
    z.alloc_pages(3)
    after = drawing.update(z).png()
    assert before.startswith(b"\x89PNG") and after != before
    assert drawing._repr_png_() == after
    m = Machine(ram="64MiB")
    pool = m.mempool_create_kmalloc_pool(3, 64)
    m.mempool_alloc(pool, "GFP_KERNEL")
    png = plots.MempoolDrawing().update(pool).png()
    assert png.startswith(b"\x89PNG")


def test_exercise_widget_is_wired_by_the_package():
    from memlab.widgets import ExerciseWidget

    w = memlab.exercises.buddy_of(seed=1).widget()
    assert isinstance(w, ExerciseWidget) and w.exercise.kind == "buddy_of"


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.alloc_pages(1.5),
        lambda m: m.alloc_pages(0, 3.0),
        lambda m: m.kmalloc("100"),
        lambda m: m.kmem_cache_alloc(None),
        lambda m: m.mempool_alloc(None),
        lambda m: m.dma_map_single("nic", 0xFFFF888000100000, 64, 1),
        lambda m: m.zones["DMA32"].free_pages(1.0, 0),
        lambda m: m.spawn("a").write(0x10000, 5),
    ],
)
def test_a_wrong_type_is_a_memlab_error_and_a_type_error(call):
    m = memlab.Machine(ram="64MiB")
    with pytest.raises(TypeError) as info:
        call(m)
    assert isinstance(info.value, memlab.MemlabError)  # both: except TypeError and except MemlabError work


def test_a_wrong_value_of_the_right_type_is_not_a_type_error():
    m = memlab.Machine(ram="64MiB")
    with pytest.raises(memlab.BadOrder) as info:
        m.alloc_pages(11)
    assert not isinstance(info.value, TypeError)
