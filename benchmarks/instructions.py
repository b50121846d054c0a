"""Instructions per operation of two checkouts of memlab, counted by
valgrind's callgrind: repeatable whatever else the machine is doing.

    python benchmarks/instructions.py OLD_TREE NEW_TREE

Each case runs twice per tree under ``valgrind --tool=callgrind``, with n and
2n operations; the difference of the two totals divided by n is the cost of
one operation, with start-up and set-up cancelled out. Runs use
PYTHONHASHSEED=0 so string hashing (and with it dict layouts) is the same each
time; what varies left is below 1 %. The cases use only the course API, so any
two versions of memlab can be compared.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import textwrap

# Each case: set-up code (the same for both runs: {N} is 2n), then {n} operations.
CASES = {
    "buddy-v1 op (Zone)": (
        """
        import random
        from bisect import bisect_right
        import memlab
        W = (60, 20, 10, 6) + (4 / 7,) * 7
        cum, acc = [], 0.0
        for w in W[:-1]:
            acc += w; cum.append(acc / sum(W))
        rng = random.Random(1)
        z = memlab.Zone("Normal", 262_144); live = []
        for _ in range(20_000):          # a warm, fragmented zone first
            r = rng.random()
            if r < 0.55:
                try: live.append(z.alloc_pages(bisect_right(cum, r / 0.55)))
                except memlab.OutOfMemory: pass
            elif live:
                p = live.pop(int((r - 0.55) / 0.45 * len(live))); z.free_pages(p, p.order)
        ops = [rng.random() for _ in range({N})]
        """,
        """
        for r in ops[:{n}]:
            if r < 0.55:
                try: live.append(z.alloc_pages(bisect_right(cum, r / 0.55)))
                except memlab.OutOfMemory: pass
            elif live:
                i = int((r - 0.55) / 0.45 * len(live)); p = live[i]; last = live.pop()
                if i < len(live): live[i] = last
                z.free_pages(p, p.order)
        """,
        20_000,
    ),
    "Machine.alloc_pages + free_pages pair": (
        """
        import memlab
        m = memlab.Machine(ram="1GiB")
        """,
        """
        for _ in range({n}):
            m.free_pages(m.alloc_pages(0, "GFP_KERNEL"), 0)
        """,
        10_000,
    ),
    "kmem_cache_alloc + kmem_cache_free pair": (
        """
        import memlab
        m = memlab.Machine(ram="1GiB"); c = m.kmem_cache_create("bench", 128)
        a, f = m.kmem_cache_alloc, m.kmem_cache_free
        """,
        """
        for _ in range({n}):
            f(c, a(c))
        """,
        20_000,
    ),
    "kmalloc + kfree pair (sizes 1..4096)": (
        """
        import memlab
        m = memlab.Machine(ram="1GiB"); sizes = [(i * 37) % 4096 + 1 for i in range({N})]
        """,
        """
        for s in sizes[:{n}]:
            m.kfree(m.kmalloc(s))
        """,
        10_000,
    ),
    "mempool_alloc + mempool_free pair": (
        """
        import memlab
        m = memlab.Machine(ram="1GiB"); pool = m.mempool_create_slab_pool(16, m.kmem_cache_create("bio", 256))
        """,
        """
        for _ in range({n}):
            m.mempool_free(m.mempool_alloc(pool, "GFP_NOIO"), pool)
        """,
        10_000,
    ),
    "page fault (write to an untouched page)": (
        """
        import memlab
        m = memlab.Machine(ram="1GiB"); p = m.spawn("bench"); base = p.mmap(length=8192 * 4096)
        """,
        """
        for i in range({n}):
            p.touch(base + i * 4096, write=True)
        """,
        2_000,
    ),
    "8237A clock": (
        """
        import memlab
        from memlab.dma import Dma8237, IsaDevice, DMA_MODE_BLOCK
        m = memlab.Machine(ram="64MiB"); phys = m.alloc_pages(5, "GFP_DMA").pfn << 12
        d = Dma8237(m); d.attach(1, IsaDevice("disk", data=bytes(65536)))
        d.program(1, phys, 65536, DMA_MODE_BLOCK | 0x04); d.dreq(1)
        d.run(20)
        """,
        """
        d.run({n})
        """,
        5_000,
    ),
}


def instructions(tree, setup, body, n, n_max):
    code = (
        f"import sys; sys.path.insert(0, {str(tree)!r})\n"
        + textwrap.dedent(setup).format(N=2 * n_max)
        + textwrap.dedent(body).format(n=n)
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        env = dict(os.environ, PYTHONHASHSEED="0")  # the same dict layouts in every run
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
        )
        if result.returncode:
            raise RuntimeError(result.stderr[-2000:])
        match = re.search(r"Collected\s*:\s*(\d+)", result.stderr)
        return int(match.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    print(f"{'case':44} {'old instr/op':>13} {'new instr/op':>13}  new/old")
    for name, (setup, body, n) in CASES.items():
        if args.only not in name:
            continue
        per_op = []
        for tree in (args.old, args.new):
            one = instructions(tree, setup, body, n, n)
            two = instructions(tree, setup, body, 2 * n, n)
            per_op.append((two - one) / n)
        print(f"{name:44} {per_op[0]:13,.0f} {per_op[1]:13,.0f}  {per_op[1] / per_op[0]:.3f}", flush=True)


if __name__ == "__main__":
    main()
