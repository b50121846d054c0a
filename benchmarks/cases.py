"""The benchmark cases shared by ``make bench`` (run.py) and compare.py.

A case is Python source that defines ``run()``; setup before ``start()`` is
not timed. Each case runs in a fresh process (see run.py's harness). The
cases use only the course API, so any two versions of memlab can be
compared, except where a case says it needs a newer tree.

``Case.ops`` is the number of operations one ``run()`` performs (for a cost
per operation), ``Case.kind`` says how run.py reports it: ``"speed"`` as a
ratio to the yardstick's cost per operation, ``"latency"`` in milliseconds
per operation against an absolute target (pinned to one CPU, as on Binder).
"""

from __future__ import annotations

from dataclasses import dataclass

# The buddy-v1 decisions (benchmarks/README.md), drawn up front with the
# stdlib only so that the yardstick needs no memlab: an order >= 0 allocates,
# a negative fraction frees the live block at that fraction of the list.
BUDDY_V1_OPS = """
import random
from bisect import bisect_right
W = (60, 20, 10, 6) + (4 / 7,) * 7
cum, acc = [], 0.0
for w in W[:-1]:
    acc += w; cum.append(acc / sum(W))
rng = random.Random(1); ops = []
for _ in range({n}):
    r = rng.random()
    ops.append(bisect_right(cum, r / 0.55) if r < 0.55 else -(r - 0.55) / 0.45)
"""

# The one driver for every buddy under test: it keeps (handle, order) pairs,
# whatever alloc_pages returns (memlab's Page, the yardstick's int pfn).
BUDDY_DRIVER = """
def drive(alloc, free, oom):
    live = []
    append, pop = live.append, live.pop
    for op in ops:
        if op >= 0:
            try:
                append((alloc(op), op))
            except oom:
                pass
        elif live:
            i = int(-op * len(live)); handle, order = live[i]; last = pop()
            if i < len(live):
                live[i] = last
            free(handle, order)
"""

REF_NAME = "ref: plain set-per-order buddy returning ints, buddy-v1"


@dataclass(frozen=True)
class Case:
    name: str
    code: str
    ops: int = 1
    kind: str = "speed"  # or "latency"
    target: str = ""


def _buddy(make, n=200_000, pure=False):
    """buddy-v1 on the zone ``make`` builds; ``pure``: as on a machine
    without a compiler (MEMLAB_PURE_PYTHON set before memlab is imported,
    so Page too is the Python class)."""
    env = 'import os; os.environ["MEMLAB_PURE_PYTHON"] = "1"' if pure else ""
    return (
        BUDDY_V1_OPS.format(n=n)
        + BUDDY_DRIVER
        + f"""
{env}
import memlab
def run():
    z = {make}
    start()
    drive(z.alloc_pages, z.free_pages, memlab.OutOfMemory)
"""
    )


REF = Case(
    REF_NAME,
    BUDDY_V1_OPS.format(n=200_000)
    + BUDDY_DRIVER
    + """
import sys
sys.path.insert(0, BENCH_DIR)
from baseline_buddy import PlainBuddy, NoBlock
def run():
    z = PlainBuddy(262_144)
    start()
    drive(z.alloc_pages, z.free_pages, NoBlock)
""",
    ops=200_000,
    target="yardstick",
)


def _tour(make, buttons, setup=()):
    """A latency case: build a dashboard, press the ``setup`` buttons, then
    press each of ``buttons`` in turn, each timed alone; ``run()`` returns
    the slowest click and its button (the first drawing is made by the
    constructor, untimed)."""
    cls = make.split("(")[0]
    first = "".join(f"; d.{name}.click()" for name in setup)
    return f"""
import time, matplotlib; matplotlib.use("Agg")
from memlab.widgets import {cls}
d = {make}{first}
def run():
    worst = (0.0, "")
    for name in {tuple(buttons)!r}:
        t = time.perf_counter(); getattr(d, name).click(); worst = max(worst, (time.perf_counter() - t, name))
        assert "internal error" not in d.status.value, (name, d.status.value)
    return worst
"""


_CLICK = "< 100 ms per click, pinned to one CPU"


def _dashboard(name, make, buttons, setup=()):
    return Case(f"{name}: slowest click of {len(buttons)}", _tour(make, buttons, setup), kind="latency", target=_CLICK)


def _order0_pairs(holes):
    """alloc+free pairs of order 0 on a zone whose free_area[0] holds
    ``holes`` isolated free pages (their buddies stay allocated)."""
    return f"""
import memlab
z = memlab.Zone("Normal", 4 * {holes} + 4096)
pages = [z.alloc_pages(0) for _ in range(2 * {holes})]
for p in pages[::2]:
    z.free_pages(p, 0)
assert z.free_area[0].nr_free >= {holes}
a, f = z.alloc_pages, z.free_pages
def run():
    start()
    for _ in range(50_000):
        f(a(0), 0)
"""


def _malloc_pairs(setup, make):
    """malloc + free pairs of seeded sizes 16..2048 on the allocator that
    ``make`` builds (with 200 blocks already live)."""
    return f"""
import random
{setup}
rng = random.Random(3); sizes = [rng.randrange(16, 2049) for _ in range(20_000)]
def run():
    h = {make}; live = [h.malloc(64) for _ in range(200)]
    start()
    for i, n in enumerate(sizes):
        live.append(h.malloc(n)); h.free(live.pop(i % len(live)))
"""


CASES = [
    Case(
        "buddy-v1, Zone of 262,144 pages (default core)",
        _buddy('memlab.Zone("Normal", 262_144)'),
        200_000,
        target=">= 1.5x ref with the compiled core",
    ),
    Case(
        "buddy-v1, Zone of 262,144 pages, pure-Python core",
        _buddy('memlab.Zone("Normal", 262_144, core="python")', pure=True),
        200_000,
        target=">= 0.55x ref",
    ),
    Case(
        "buddy-v1, MobilityZone of 262,144 pages (migratetypes + per-CPU lists, GFP_KERNEL)",
        _buddy('memlab.MobilityZone("Normal", 262_144)'),
        200_000,
        target="kept usable (needs a tree with MobilityZone)",
    ),
    Case(
        "buddy-v1, MobilityZone of 262,144 pages, per-CPU lists off",
        _buddy('memlab.MobilityZone("Normal", 262_144, pcp=False)'),
        200_000,
        target="kept usable (needs a tree with MobilityZone)",
    ),
    Case(
        "buddy-v1 replayed in C (Zone.replay), 262,144 pages",
        BUDDY_V1_OPS.format(n=200_000)
        + """
import memlab
stream = [op if op >= 0 else -op for op in ops]  # an int allocates that order, a float frees that fraction
def run():
    z = memlab.Zone("Normal", 262_144, core="c")
    start()
    z.replay(stream, [])
""",
        200_000,
        target=">= 20x ref (needs the compiled core)",
    ),
    Case(
        "buddy-v1, Zone of 16 GiB (4,194,304 pages)",
        _buddy('memlab.Zone("Normal", 4 << 20)'),
        200_000,
        target="flat: as the 262,144-page zone",
    ),
    Case(
        "alloc+free order 0, 100,000 blocks on free_area[0]", _order0_pairs(100_000), 50_000, target="flat: as 3 blocks"
    ),
    Case("alloc+free order 0, 3 blocks on free_area[0]", _order0_pairs(3), 50_000),
    Case(
        "Machine.alloc_pages + free_pages (zonelist) pairs",
        """
import memlab
m = memlab.Machine(ram="1GiB"); a, f = m.alloc_pages, m.free_pages
def run():
    start()
    for _ in range(50_000):
        f(a(0, "GFP_KERNEL"), 0)
""",
        50_000,
    ),
    Case(
        "kmem_cache_alloc + kmem_cache_free pairs",
        """
import memlab
m = memlab.Machine(ram="1GiB"); c = m.kmem_cache_create("bench", 128)
a, f = m.kmem_cache_alloc, m.kmem_cache_free
def run():
    start()
    for _ in range(100_000):
        f(c, a(c))
""",
        100_000,
    ),
    Case(
        "kmalloc/kfree mix, sizes 1..8192 bytes",
        """
import random, memlab
rng = random.Random(5); n = 100_000
sizes = [max(1, int(2 ** rng.uniform(0, 13))) for _ in range(n)]; rs = [rng.random() for _ in range(n)]
def run():
    m = memlab.Machine(ram="1GiB"); km, kf = m.kmalloc, m.kfree; live = []
    start()
    for size, r in zip(sizes, rs):
        if r < 0.6 and len(live) < 20_000 or not live:
            live.append(km(size))
        else:
            i = int(r * len(live)) % len(live); live[i], live[-1] = live[-1], live[i]; kf(live.pop())
""",
        100_000,
    ),
    Case(
        "mempool_alloc + mempool_free pairs (slab pool)",
        """
import memlab
def run():
    m = memlab.Machine(ram="1GiB"); pool = m.mempool_create_slab_pool(16, m.kmem_cache_create("bio", 256))
    start()
    for _ in range(50_000):
        m.mempool_free(m.mempool_alloc(pool, "GFP_NOIO"), pool)
""",
        50_000,
    ),
    Case(
        "p.libc malloc + free pairs, sizes 16..2048 (simulated glibc)",
        _malloc_pairs("import memlab", 'memlab.Machine(ram="1GiB").spawn("bench").libc'),
        20_000,
        target="(needs p.libc)",
    ),
    Case(
        "first-fit heap malloc + free pairs, the same sizes (memlab.heap)",
        _malloc_pairs("from memlab.heap import Malloc", "Malloc()"),
        20_000,
    ),
    Case(
        "page faults: write-touch 10,000 pages",
        """
import memlab
def run():
    m = memlab.Machine(ram="1GiB"); p = m.spawn("bench"); base = p.mmap(length=10_000 * 4096)
    start()
    for i in range(10_000):
        p.touch(base + i * 4096, write=True)
""",
        10_000,
    ),
    Case(
        "8237A clock by clock, 2,048 byte transfers",
        """
import memlab
from memlab.dma import Dma8237, IsaDevice, DMA_MODE_BLOCK
m = memlab.Machine(ram="64MiB"); phys = m.alloc_pages(4, "GFP_DMA").pfn << 12
def run():
    d = Dma8237(m); d.attach(1, IsaDevice("disk", data=bytes(4096)))
    d.program(1, phys, 2048, DMA_MODE_BLOCK | 0x04)
    start()
    d.run_to_tc(1, trace_limit=10**6)
""",
        2048,
    ),
    Case(
        "map of 262,144 pages drawn and encoded as PNG",
        """
import io, matplotlib; matplotlib.use("Agg")
from matplotlib.figure import Figure
import memlab
from memlab import plots
zone = memlab.Zone("Normal", 262_144)
memlab.workloads.buddy_v1(zone, 50_000, seed=3)
fig = Figure(figsize=(6, 4)); ax = fig.subplots()
def draw():
    ax.clear(); plots.memory_map(ax, zone, legend=False); fig.savefig(io.BytesIO(), format="png", dpi=80)
draw()
def run():
    start()
    draw()
""",
        1,
        kind="latency",
        target="< 100 ms pinned to one CPU",
    ),
    _dashboard(
        "buddy dashboard, 1,024 pages",
        "BuddyDashboard(nr_pages=1024)",
        ["alloc_button", "alloc_button", "free_button", "free_random_button", "run_button", "reset_button"],
    ),
    _dashboard(
        "buddy dashboard, 262,144 pages",
        "BuddyDashboard(nr_pages=262_144)",
        ["alloc_button", "alloc_button", "free_button", "free_random_button", "run_button", "reset_button"],
    ),
    _dashboard(
        "slab dashboard",
        "SlabDashboard()",
        [
            "alloc_button",
            "alloc_button",
            "free_button",
            "free_random_button",
            "kmalloc_button",
            "kfree_button",
            "shrink_button",
            "destroy_button",
            "create_button",
        ],
    ),
    _dashboard(
        "mempool dashboard",
        "MempoolDashboard()",
        [
            "alloc_button",
            "alloc_button",
            "free_button",
            "free_oldest_button",
            "fault_button",
            "resize_button",
            "destroy_button",
            "create_button",
        ],
    ),
    _dashboard(
        "address-space dashboard",
        "AddressSpaceDashboard()",
        [
            "walk_button",
            "read_button",
            "write_button",
            "brk_up",
            "brk_down",
            "mmap_button",
            "munmap_button",
            "switch_button",
        ],
    ),
    _dashboard(
        "heap dashboard (glibc malloc)",
        "HeapDashboard()",
        [
            "malloc_button",
            "malloc_button",
            "free_button",
            "calloc_button",
            "realloc_button",
            "again_button",
            "overflow_button",
            "reset_button",
        ],
    ),
    _dashboard(
        "pitfall dashboard, heap use after free",
        'PitfallDashboard("heap_use_after_free")',
        ["faulty_button", "fixed_button", "faulty_button"],
        setup=(),
    ),
    _dashboard(
        "pitfall dashboard, data race (200 increments per thread)",
        'PitfallDashboard("data_race")',
        ["faulty_button", "fixed_button", "faulty_button"],
    ),
    _dashboard(
        "monitoring dashboard (4 MiB per click)",
        "MonitorDashboard()",
        [
            "read_button",
            "read_button",
            "write_button",
            "sync_button",
            "anon_button",
            "lookup_button",
            "unmap_button",
            "host_button",
            "run_button",
            "reset_button",
        ],
    ),
    _dashboard(
        "anti-fragmentation dashboard (64 MiB zone, 64 blocks per click)",
        "MobilityDashboard()",
        [
            "alloc_button",
            "alloc_button",
            "free_button",
            "compact_button",
            "drain_button",
            "host_button",
            "reset_button",
        ],
        setup=("alloc_button",) * 20,
    ),
    _dashboard(
        "DMA dashboard",
        "DmaDashboard()",
        [
            "program_button",
            "dreq_button",
            "step_button",
            "step8_button",
            "tc_button",
            "map_button",
            "dev_write_button",
            "sync_button",
            "cpu_read_button",
            "unmap_button",
        ],
    ),
]
