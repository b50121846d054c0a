"""memlab benchmarks (``make bench``): speed and memory figures for the
closing notes of issues. Prints one line per figure with its target.

Figures:
* buddy-v1 (benchmarks/README.md): 200,000 operations on a 262,144-page zone, all
  features on (exact list order, explanation trail, error checks); the same
  on a 16 GiB zone; a plain set-per-order buddy (benchmarks/baseline_buddy.py)
  under the same driver as the yardstick;
* per-operation cost with 100,000 blocks on the order-0 free list;
* host memory of a simulated 16 GiB machine; drawing a 262,144-page map;
  one dashboard click; ``import memlab``; the notebook suite (``--notebooks``).
"""

import argparse
import gc
import os
import random
import subprocess
import sys
import time
import tracemalloc
from bisect import bisect_right
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from baseline_buddy import PlainBuddy

import memlab
from memlab.workloads import BUDDY_V1_ALLOC_SHARE, BUDDY_V1_CUMULATIVE


def buddy_v1_ops(n, seed):
    """The buddy-v1 decisions, drawn up front: an order >= 0 allocates, a
    negative fraction frees the live block at that fraction of the list."""
    rng = random.Random(seed)
    share = BUDDY_V1_ALLOC_SHARE
    ops = []
    for _ in range(n):
        r = rng.random()
        ops.append(bisect_right(BUDDY_V1_CUMULATIVE, r / share) if r < share else -(r - share) / (1 - share))
    return ops


def drive(zone, ops):
    """Seconds to apply ``ops`` to ``zone`` (alloc_pages / free_pages)."""
    live = []
    alloc, free = zone.alloc_pages, zone.free_pages
    append, pop = live.append, live.pop
    oom = memlab.OutOfMemory
    gc.disable()
    start = time.perf_counter()
    for op in ops:
        if op >= 0:
            try:
                append(alloc(op))
            except oom:
                pass
        elif live:
            i = int(-op * len(live))
            page = live[i]
            last = pop()
            if i < len(live):
                live[i] = last
            free(page, page.order)
    elapsed = time.perf_counter() - start
    gc.enable()
    return elapsed


def best_rate(make_zone, ops, repeat):
    return max(len(ops) / drive(make_zone(), ops) for _ in range(repeat))


def line(name, value, target=""):
    print(f"{name:58} {value:>18}  {target}")


def bench_buddy(repeat):
    ops = buddy_v1_ops(200_000, seed=1)
    small = best_rate(lambda: memlab.Zone("Normal", 262_144), ops, repeat)
    big = best_rate(lambda: memlab.Zone("Normal", 4 << 20), ops, repeat)
    plain = best_rate(lambda: PlainBuddy(262_144), ops, repeat)
    line("buddy-v1, 262,144-page zone (memlab, all features)", f"{small / 1e6:.2f} M ops/s", "target >= 1.5")
    line("buddy-v1, 16 GiB zone (memlab)", f"{big / 1e6:.2f} M ops/s", "target: same per-op cost")
    line("buddy-v1, plain set-per-order buddy, same driver", f"{plain / 1e6:.2f} M ops/s", "yardstick")
    line("memlab / plain", f"{small / plain:.2f}", "")
    return small, big, plain


def bench_long_free_list(repeat):
    """alloc+free pairs of order 0 with 3 vs 100,000 blocks on free_area[0]."""
    results = []
    for holes in (3, 100_000):
        zone = memlab.Zone("Normal", 4 * holes + 4096)
        pages = [zone.alloc_pages(0) for _ in range(2 * holes)]
        for p in pages[::2]:
            zone.free_pages(p, 0)  # isolated free pages: buddies stay allocated
        assert zone.free_area[0].nr_free >= holes
        n = 100_000
        best = 0.0
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(n):
                p = zone.alloc_pages(0)
                zone.free_pages(p, 0)
            best = max(best, n / (time.perf_counter() - start))
        results.append(best)
        line(
            f"alloc+free order 0, {zone.free_area[0].nr_free:,} blocks on free_area[0]",
            f"{best / 1e6:.2f} M pairs/s",
            "target: flat" if holes > 3 else "",
        )
    return results


def bench_slab(repeat):
    m = memlab.Machine(ram="1GiB", cpus=2)
    cache = m.kmem_cache_create("bench", 128)
    alloc, free = m.kmem_cache_alloc, m.kmem_cache_free
    n = 200_000
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(n):
            free(cache, alloc(cache))
        best = max(best, n / (time.perf_counter() - start))
    line("kmem_cache_alloc + kmem_cache_free pairs", f"{best / 1e6:.2f} M pairs/s", "target >= 1")
    # mixed kmalloc/kfree: log-uniform sizes 1..8192, 60 % kmalloc while under 20,000 live
    rng = random.Random(5)
    sizes = [max(1, int(2 ** rng.uniform(0, 13))) for _ in range(n)]
    choices = [rng.random() for _ in range(n)]
    best = 0.0
    for _ in range(repeat):
        m = memlab.Machine(ram="1GiB", cpus=2)
        kmalloc, kfree = m.kmalloc, m.kfree
        live = []
        start = time.perf_counter()
        for size, r in zip(sizes, choices):
            if (r < 0.6 and len(live) < 20_000) or not live:
                live.append(kmalloc(size))
            else:
                i = int(r * len(live)) % len(live)
                live[i], live[-1] = live[-1], live[i]
                kfree(live.pop())
        best = max(best, n / (time.perf_counter() - start))
    line("kmalloc/kfree, mixed sizes 1..8192 bytes", f"{best / 1e6:.2f} M ops/s", "")


def bench_pools():
    res = memlab.workloads.pool_vs_malloc(100_000, seed=1)
    line("user-space object pool, 48-byte objects", f"{res['object pool']['ops_per_s'] / 1e6:.2f} M ops/s", "")
    line(
        "first-fit malloc, same workload",
        f"{res['malloc']['ops_per_s'] / 1e6:.2f} M ops/s",
        f"{res['malloc']['overhead_per_object']:.0f} B/object overhead",
    )
    m = memlab.Machine(ram="1GiB")
    pool = m.mempool_create_slab_pool(16, m.kmem_cache_create("bio", 256))
    n = 100_000
    start = time.perf_counter()
    for _ in range(n):
        m.mempool_free(m.mempool_alloc(pool, "GFP_NOIO"), pool)
    line(
        "mempool_alloc + mempool_free pairs (slab pool)", f"{n / (time.perf_counter() - start) / 1e6:.2f} M pairs/s", ""
    )


def bench_dma():
    m = memlab.Machine(ram="64MiB")
    phys = m.alloc_pages(4, "GFP_DMA").pfn << 12
    data = bytes(range(256)) * 256  # 64 KiB
    d = memlab.dma.Dma8237(m)
    d.attach(1, memlab.dma.IsaDevice("disk", data=data))
    start = time.perf_counter()
    d.program(1, phys, len(data), memlab.dma.DMA_MODE_BLOCK | 0x04)
    d.run_to_tc(1)
    bulk = time.perf_counter() - start
    line("8237A: 64 KiB block transfer, numpy path", f"{bulk * 1e3:.1f} ms", f"{d.clocks} simulated clocks")
    d2 = memlab.dma.Dma8237(m)
    d2.attach(1, memlab.dma.IsaDevice("disk", data=data))
    d2.program(1, phys, 4096, memlab.dma.DMA_MODE_BLOCK | 0x04)
    start = time.perf_counter()
    d2.run_to_tc(1, trace_limit=10**6)
    clocked = time.perf_counter() - start
    line("8237A: clock-by-clock simulation with trace", f"{d2.clocks / clocked / 1e3:.0f} k clocks/s", "")
    from memlab.widgets import DmaDashboard

    dash = DmaDashboard()
    dash.program_button.click()
    dash.dreq_button.click()
    clicks = [_timed(dash.step_button.click) for _ in range(5)]
    line("DMA dashboard click (step 1 clock + redraw)", f"{min(clicks) * 1e3:.1f} ms", "target < 100")


def bench_memory():
    gc.collect()
    tracemalloc.start()
    m = memlab.Machine(ram="16GiB")
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    line("host memory of a simulated 16 GiB machine", f"{current / 2**20:.2f} MiB", "target < 64")
    live = memlab.workloads.buddy_v1(m.zones["Normal"], 100_000, seed=1).live
    tracemalloc.start()
    m2 = memlab.Machine(ram="16GiB")
    memlab.workloads.buddy_v1(m2.zones["Normal"], 100_000, seed=1)
    current2, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    line(
        f"  ... after 100,000 buddy-v1 ops ({len(live):,} blocks live)",
        f"{current2 / 2**20:.2f} MiB",
        "grows with blocks in use",
    )


def bench_drawing(repeat):
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from memlab import plots

    zone = memlab.Zone("Normal", 262_144)
    memlab.workloads.buddy_v1(zone, 50_000, seed=3)
    best_img = min(_timed(lambda: plots.memory_map_image(zone)) for _ in range(repeat))
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()

    def render():
        ax.clear()
        plots.memory_map(ax, zone, legend=False)
        fig.savefig(io.BytesIO(), format="png", dpi=80)

    render()
    best_fig = min(_timed(render) for _ in range(repeat))
    line("map of 262,144 pages: page-state image", f"{best_img * 1e3:.1f} ms", "")
    line("map of 262,144 pages: drawn and encoded as PNG", f"{best_fig * 1e3:.1f} ms", "target < 100")

    from memlab.widgets import BuddyDashboard

    for pages in (1024, 262_144):
        dash = BuddyDashboard(nr_pages=pages)
        clicks = []
        for _ in range(max(repeat, 5)):
            clicks.append(_timed(dash.alloc_button.click))
        line(
            f"buddy dashboard click (alloc + redraw), {pages:,}-page zone",
            f"{min(clicks) * 1e3:.1f} ms",
            f"target < 100 (median {sorted(clicks)[len(clicks) // 2] * 1e3:.1f} ms)",
        )

    from memlab.widgets import SlabDashboard

    dash = SlabDashboard()
    clicks = [_timed(dash.alloc_button.click) for _ in range(max(repeat, 5))]
    line(
        "slab dashboard click (kmem_cache_alloc + redraw)",
        f"{min(clicks) * 1e3:.1f} ms",
        f"target < 100 (median {sorted(clicks)[len(clicks) // 2] * 1e3:.1f} ms)",
    )

    from memlab.widgets import MempoolDashboard

    dash = MempoolDashboard()
    clicks = [_timed(dash.alloc_button.click) for _ in range(max(repeat, 5))]
    line(
        "mempool dashboard click (mempool_alloc + redraw)",
        f"{min(clicks) * 1e3:.1f} ms",
        f"target < 100 (median {sorted(clicks)[len(clicks) // 2] * 1e3:.1f} ms)",
    )

    from memlab.widgets import AddressSpaceDashboard

    dash = AddressSpaceDashboard()
    clicks = [_timed(dash.walk_button.click) for _ in range(5)]
    line("address-space dashboard click (walk + redraw)", f"{min(clicks) * 1e3:.1f} ms", "target < 100")
    clicks = [_timed(dash.mmap_button.click) for _ in range(5)]
    line("address-space dashboard click (mmap + redraw map)", f"{min(clicks) * 1e3:.1f} ms", "target < 100")


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_import():
    code = "import time; t = time.perf_counter(); import memlab; print(time.perf_counter() - t)"
    times = [float(subprocess.check_output([sys.executable, "-c", code], cwd=HERE.parent)) for _ in range(5)]
    line("import memlab", f"{min(times) * 1e3:.0f} ms", "target < 300")


def bench_notebooks():
    sys.path.insert(0, str(HERE.parent / "tools"))
    from run_notebooks import execute

    total = 0.0
    for nb in sorted((HERE.parent / "notebooks").glob("*.ipynb")):
        import shutil
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / nb.name
            shutil.copy(nb, copy)
            t = _timed(lambda path=str(copy): execute(path))
        total += t
        line(f"notebook {nb.name}", f"{t:.1f} s", "target < 20")
    line("notebook suite", f"{total:.1f} s", "target < 120")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--notebooks", action="store_true", help="also time the notebook suite")
    args = parser.parse_args()
    print(f"memlab {memlab.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    bench_buddy(args.repeat)
    bench_long_free_list(args.repeat)
    bench_slab(args.repeat)
    bench_pools()
    bench_dma()
    bench_memory()
    bench_drawing(args.repeat)
    bench_import()
    if args.notebooks:
        bench_notebooks()


if __name__ == "__main__":
    main()
