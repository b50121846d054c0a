"""memlab benchmarks (``make bench``): every speed figure as a ratio to a
yardstick measured in the same run, every latency pinned to one CPU.

Each case of benchmarks/cases.py runs in a fresh Python process, paired with
the yardstick ("ref", a plain set-per-order buddy returning ints, under the
same buddy-v1 driver) in a fresh process of its own: ref then case in one
round, case then ref in the next, so load on this shared machine hits both
alike. Inside a process the case is set up, then run ``--repeat`` times and
the median kept. Per round the case's cost per operation is divided into
ref's; the report gives the median of those ratios over ``--rounds`` with
their min..max, and the median absolute cost. Every process is pinned to one
CPU (Binder gives one). Memory figures come from tracemalloc in a fresh
process and do not need a yardstick.

Results go to ``benchmarks/results/<time>-<commit>.json``;
``make bench-compare`` (``--compare [OLD NEW]``) sets two such files side by
side, by ratio (the absolute figures of two runs at different times are not
comparable on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

from cases import CASES, REF

_HARNESS = """
import json, os, statistics, sys, time
sys.path.insert(0, {root!r})
BENCH_DIR = {bench!r}
_t = [0.0]
def start():
    _t[0] = time.perf_counter()
{body}
import gc
times, notes = [], []
for _ in range({repeat}):
    gc.collect()
    out = run()
    if out is None:
        times.append(time.perf_counter() - _t[0])
    else:
        times.append(out[0]); notes.append(out[1])
print(json.dumps({{"t": statistics.median(times), "notes": notes}}))
"""

_MEMORY = """
import gc, json, random, sys, tracemalloc
sys.path.insert(0, {root!r})
import memlab
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
out = {{}}
before = rss()
m = memlab.Machine(ram="16GiB")
core = m.zones["Normal"].core
out[f"RSS of a simulated 16 GiB machine at rest ({{core}} core)"] = rss() - before
del m
gc.collect(); tracemalloc.start()
m = memlab.Machine(ram="16GiB")
out["Python objects of a simulated 16 GiB machine at rest"] = tracemalloc.get_traced_memory()[0]
tracemalloc.stop(); del m
gc.collect(); tracemalloc.start()
mix = memlab.Machine(ram="1GiB", cpus=2)
mix.mem.retain = 64
memlab.workloads.machine_mix(mix, 100_000, seed=1)
before = tracemalloc.get_traced_memory()[0]
memlab.workloads.machine_mix(mix, 1_000_000, seed=2)
gc.collect()
out["left behind by 1,000,000 mixed operations (machine_mix)"] = tracemalloc.get_traced_memory()[0] - before
tracemalloc.stop(); del mix
gc.collect(); tracemalloc.start()
m = memlab.Machine(ram="16GiB")
p = m.spawn("toucher")
base = p.mmap(length=1 << 30)
before = tracemalloc.get_traced_memory()[0]
for i in range(0, 1 << 30, 4096):
    p.touch(base + i)  # read faults: the shared zero page
out["... plus 1 GiB of a process read (262,144 read faults)"] = tracemalloc.get_traced_memory()[0] - before
before = tracemalloc.get_traced_memory()[0]
for i in range(0, 1 << 28, 4096):
    p.touch(base + i, write=True)  # write faults: zeroed frames, nothing stored
out["... plus 256 MiB of it written (65,536 write faults)"] = tracemalloc.get_traced_memory()[0] - before
print(json.dumps(out))
"""

IMPORT = """
import sys, time
sys.path.insert(0, {root!r})
t = time.perf_counter()
import memlab
print(time.perf_counter() - t)
"""


def _pin():
    """The CPU every measured process runs on: the last one allowed."""
    return max(os.sched_getaffinity(0))


def _python(script, cpu, env=None):
    def pin():
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, preexec_fn=pin, check=False
    )
    if out.returncode:
        raise SystemExit(f"benchmark process failed:\n{out.stderr}")
    return out.stdout.strip().splitlines()[-1]


def measure(case, cpu, repeat, root=ROOT, env=None):
    """Seconds per operation of ``case`` in a fresh process with the memlab
    tree ``root`` first on sys.path, and its notes (the slowest buttons)."""
    script = _HARNESS.format(root=str(root), bench=str(HERE), body=textwrap.dedent(case.code), repeat=repeat)
    out = json.loads(_python(script, cpu, env))
    return out["t"] / case.ops, out["notes"]


def _spread(values, fmt):
    return f"{fmt(statistics.median(values))} [{fmt(min(values))}..{fmt(max(values))}]"


def _cost(seconds):
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e9:.0f} ns"


def line(name, value, target=""):
    print(f"{name:56} {value:>34}  {target}", flush=True)


def bench_cases(cases, rounds, repeat, cpu):
    figures = {}
    line("case", "cost per op, median [min..max]")
    for case in cases:
        costs, refs, ratios, notes = [], [], [], []
        for r in range(rounds):
            if r % 2 == 0:
                ref, _ = measure(REF, cpu, repeat)
                cost, note = measure(case, cpu, repeat)
            else:
                cost, note = measure(case, cpu, repeat)
                ref, _ = measure(REF, cpu, repeat)
            costs.append(cost)
            refs.append(ref)
            ratios.append(ref / cost)
            notes += note
        fig = {
            "kind": case.kind,
            "target": case.target,
            "seconds_per_op": costs,
            "ref_seconds_per_op": refs,
            "speed_vs_ref": ratios,
        }
        figures[case.name] = fig
        if case.kind == "speed":
            value = f"{_spread(ratios, lambda x: f'{x:.2f}')}x ref"
            line(case.name, value, f"{_cost(statistics.median(costs))}/op; target {case.target}")
        else:
            worst = max(set(notes), key=notes.count) if notes else ""
            value = _spread(costs, _cost)
            line(case.name, value, f"{case.target}" + (f"; slowest: {worst}" if worst else ""))
            fig["slowest"] = worst
    line(REF.name, _spread([c for f in figures.values() for c in f["ref_seconds_per_op"]], _cost), "yardstick")
    return figures


def bench_memory(cpu):
    out = json.loads(_python(_MEMORY.format(root=str(ROOT)), cpu))
    for name, nbytes in out.items():
        target = (
            "target < 64 MiB"
            if "rest" in name
            else "bound 1 MiB"
            if "mixed" in name
            else "page tables only: no 4 KiB of zeros per page"
        )
        line(name, f"{nbytes / 2**20:.2f} MiB", target)
    return {name: {"kind": "memory", "bytes": nbytes} for name, nbytes in out.items()}


def bench_import(rounds, cpu):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    _python(IMPORT.format(root=str(ROOT)), cpu, env)  # bytecode cached, as installed
    times = [float(_python(IMPORT.format(root=str(ROOT)), cpu, env)) for _ in range(rounds)]
    line("import memlab (first import in a process)", _spread(times, _cost), "target < 300 ms")
    return {"import memlab": {"kind": "latency", "seconds_per_op": times}}


def bench_notebooks(cpu):
    script = f"""
import sys, time, shutil, tempfile, pathlib
sys.path.insert(0, {str(ROOT / "tools")!r})
from run_notebooks import execute
total = 0.0
for nb in sorted(pathlib.Path({str(ROOT / "notebooks")!r}).glob("*.ipynb")):
    with tempfile.TemporaryDirectory() as tmp:
        copy = pathlib.Path(tmp) / nb.name
        shutil.copy(nb, copy)
        t = time.perf_counter(); execute(str(copy)); total += time.perf_counter() - t
print(total)
"""
    t = float(_python(script, cpu))
    line("notebook suite, executed on one CPU", f"{t:.1f} s", "target < 60 s")
    return {"notebook suite": {"kind": "latency", "seconds_per_op": [t]}}


def _commit():
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "memlab"], capture_output=True, text=True)
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if out.returncode == 0 else "unknown"


def compare(old_path, new_path):
    """Two result files side by side, by ratio to their own run's ref."""
    old, new = (json.loads(Path(p).read_text()) for p in (old_path, new_path))
    print(f"old: {old_path} ({old['meta']['commit']})\nnew: {new_path} ({new['meta']['commit']})")
    line("figure", "old -> new (median)")
    for name, fig in new["figures"].items():
        before = old["figures"].get(name)
        if before is None or before["kind"] != fig["kind"]:
            continue
        if fig["kind"] == "speed":
            a, b = statistics.median(before["speed_vs_ref"]), statistics.median(fig["speed_vs_ref"])
            line(name, f"{a:.2f}x -> {b:.2f}x ref", f"new/old speed {b / a:.2f}")
        elif fig["kind"] == "latency" and "speed_vs_ref" in fig:
            a, b = statistics.median(before["seconds_per_op"]), statistics.median(fig["seconds_per_op"])
            # in units of each run's own ref cost, so machine load cancels out
            ra = a / statistics.median(before["ref_seconds_per_op"])
            rb = b / statistics.median(fig["ref_seconds_per_op"])
            line(name, f"{_cost(a)} -> {_cost(b)}", f"new/old in ref units {rb / ra:.2f}")
        elif fig["kind"] == "memory":
            line(name, f"{before['bytes'] / 2**20:.2f} -> {fig['bytes'] / 2**20:.2f} MiB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="ref/case pairs per case (medians over them)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per process (median kept)")
    parser.add_argument("--only", default="", help="only the cases whose name contains this text")
    parser.add_argument("--notebooks", action="store_true", help="also time the notebook suite on one CPU")
    parser.add_argument("--out", help="result file (default benchmarks/results/<time>-<commit>.json)")
    parser.add_argument("--compare", nargs="*", metavar="FILE", help="compare two result files (default: newest two)")
    args = parser.parse_args()
    if args.compare is not None:
        files = args.compare or [str(p) for p in sorted(RESULTS.glob("*.json"))[-2:]]
        if len(files) != 2:
            raise SystemExit("bench-compare needs two result files: run `make bench` twice, or name two files")
        compare(*files)
        return
    cpu = _pin()
    commit = _commit()
    meta = {
        "commit": commit,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "pinned_cpu": cpu,
        "rounds": args.rounds,
        "repeat": args.repeat,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(
        f"memlab at {commit}, Python {meta['python']}, {meta['cpus']} CPUs, every process pinned to CPU {cpu}; "
        f"{args.rounds} rounds of ref/case pairs, median [min..max]"
    )
    cases = [c for c in CASES if args.only in c.name]
    figures = bench_cases(cases, args.rounds, args.repeat, cpu)
    if not args.only:
        figures.update(bench_memory(cpu))
        figures.update(bench_import(args.rounds, cpu))
    if args.notebooks:
        figures.update(bench_notebooks(cpu))
    out = Path(args.out) if args.out else RESULTS / f"{meta['time'].replace(':', '')}-{commit}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "figures": figures}, indent=1) + "\n")
    print(f"results written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
