"""Compare the speed of two checkouts of memlab, interleaved, in fresh processes.

    python benchmarks/compare.py OLD_TREE NEW_TREE [--rounds 9]

Each case runs as its own Python process with the tree first on sys.path,
alternating old, new, old, new ... so load on this shared machine hits both
alike. Inside a process the case is set up and timed ``--repeat`` times and
the median kept (so one unlucky run does not decide); per round the ratio
new/old of the two processes is taken; the report gives the median ratio and
its spread (min..max) over the rounds, and the medians of the absolute
times. A ratio below 1 means the new tree is faster. The cases use only the
course API, which both trees must have. ``import memlab`` is timed once per
process (the first import is the one that counts), with the bytecode of both
trees already cached, as an installed package has it: the runs write .pyc
files under a temporary PYTHONPYCACHEPREFIX even where
PYTHONDONTWRITEBYTECODE is set, and each tree is imported once, untimed,
before the first round (otherwise the figure is mostly compile time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap


def _click(make, button, times, *setup):
    """A case that builds a dashboard, presses the ``setup`` buttons (by
    default ``button`` once: the first drawing is untimed), then times
    ``times`` presses of ``button``."""
    cls = make.split("(")[0]
    first = "".join(f"; d.{name}.click()" for name in setup or (button,))
    return f"""
        import matplotlib; matplotlib.use("Agg")
        from memlab.widgets import {cls}
        d = {make}{first}
        def run():
            start()
            for _ in range({times}): d.{button}.click()
    """


# Each case: code that defines run() (setup happens before, untimed).
CASES = {
    "buddy-v1 (Zone, 200k ops)": """
        import random
        from bisect import bisect_right
        import memlab
        W = (60, 20, 10, 6) + (4 / 7,) * 7
        cum, acc = [], 0.0
        for w in W[:-1]:
            acc += w; cum.append(acc / sum(W))
        rng = random.Random(1); ops = []
        for _ in range(200_000):
            r = rng.random()
            ops.append(bisect_right(cum, r / 0.55) if r < 0.55 else -(r - 0.55) / 0.45)
        def run():
            z = memlab.Zone("Normal", 262_144); live = []; alloc, free = z.alloc_pages, z.free_pages
            start()
            for op in ops:
                if op >= 0:
                    try: live.append(alloc(op))
                    except memlab.OutOfMemory: pass
                elif live:
                    i = int(-op * len(live)); page = live[i]; last = live.pop()
                    if i < len(live): live[i] = last
                    free(page, page.order)
    """,
    "Machine.alloc_pages + free_pages (zonelist, 50k pairs)": """
        import memlab
        m = memlab.Machine(ram="1GiB"); a, f = m.alloc_pages, m.free_pages
        def run():
            start()
            for _ in range(50_000):
                f(a(0, "GFP_KERNEL"), 0)
    """,
    "kmem_cache_alloc + kmem_cache_free (100k pairs)": """
        import memlab
        m = memlab.Machine(ram="1GiB"); c = m.kmem_cache_create("bench", 128)
        a, f = m.kmem_cache_alloc, m.kmem_cache_free
        def run():
            start()
            for _ in range(100_000):
                f(c, a(c))
    """,
    "kmalloc/kfree mix (100k ops)": """
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
    "mempool_alloc + mempool_free (50k pairs)": """
        import memlab
        def run():
            m = memlab.Machine(ram="1GiB"); pool = m.mempool_create_slab_pool(16, m.kmem_cache_create("bio", 256))
            start()
            for _ in range(50_000):
                m.mempool_free(m.mempool_alloc(pool, "GFP_NOIO"), pool)
    """,
    "page faults: touch 10,000 pages": """
        import memlab
        def run():
            m = memlab.Machine(ram="1GiB"); p = m.spawn("bench"); base = p.mmap(length=10_000 * 4096)
            start()
            for i in range(10_000):
                p.touch(base + i * 4096, write=True)
    """,
    "8237A clocked, 2,048 transfers": """
        import memlab
        from memlab.dma import Dma8237, IsaDevice, DMA_MODE_BLOCK
        m = memlab.Machine(ram="64MiB"); phys = m.alloc_pages(4, "GFP_DMA").pfn << 12
        def run():
            d = Dma8237(m); d.attach(1, IsaDevice("disk", data=bytes(4096)))
            d.program(1, phys, 2048, DMA_MODE_BLOCK | 0x04)
            start()
            d.run_to_tc(1, trace_limit=10**6)
    """,
    "buddy dashboard click (1,024 pages, x5)": _click("BuddyDashboard(nr_pages=1024)", "alloc_button", 5),
    "slab dashboard click (x5)": _click("SlabDashboard()", "alloc_button", 5),
    "mempool dashboard click (x5)": _click("MempoolDashboard()", "alloc_button", 5),
    "address-space dashboard walk click (x3)": _click("AddressSpaceDashboard()", "walk_button", 3),
    "DMA dashboard step click (x3)": _click("DmaDashboard()", "step_button", 3, "program_button", "dreq_button"),
}

_HARNESS = """
import statistics, sys, time
_t = [0.0]
def start():
    _t[0] = time.perf_counter()
{body}
times = []
for _ in range({repeat}):
    run()
    times.append(time.perf_counter() - _t[0])
print(statistics.median(times))
"""

_IMPORT = """
import time
t = time.perf_counter()
import memlab
print(time.perf_counter() - t)
"""


_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(tree, code, repeat):
    prelude = f"import sys; sys.path.insert(0, {str(tree)!r})\n"
    script = _IMPORT if code is None else _HARNESS.format(body=textwrap.dedent(code), repeat=repeat)
    out = subprocess.run([sys.executable, "-c", prelude + script], capture_output=True, text=True, check=True, env=_ENV)
    return float(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per process (median kept)")
    parser.add_argument("--only", default="", help="run the cases whose name contains this text")
    args = parser.parse_args()
    _ENV["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="memlab-bench-pyc-")
    for tree in (args.old, args.new):  # compile and cache both trees' bytecode, untimed
        run(tree, None, 1)
    print(f"{'case':58} {'old (median)':>13} {'new (median)':>13}  new/old median [min..max]")
    for name, code in [*CASES.items(), ("import memlab (first import in a process)", None)]:
        if args.only not in name:
            continue
        olds, news, ratios = [], [], []
        for r in range(args.rounds):
            first, second = (args.old, args.new) if r % 2 == 0 else (args.new, args.old)
            a = run(first, code, args.repeat)
            b = run(second, code, args.repeat)
            old, new = (a, b) if r % 2 == 0 else (b, a)
            olds.append(old)
            news.append(new)
            ratios.append(new / old)
        print(
            f"{name:58} {statistics.median(olds) * 1e3:10.1f} ms {statistics.median(news) * 1e3:10.1f} ms  "
            f"{statistics.median(ratios):.2f} [{min(ratios):.2f}..{max(ratios):.2f}]",
            flush=True,
        )


if __name__ == "__main__":
    main()
