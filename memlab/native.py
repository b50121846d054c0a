"""The real programs beside the simulation: build the course's C/C++
examples (``examples/`` in the repository) with the host's compiler, run
them, and read their results.

Lesson 04 uses :func:`pool_check` and :func:`pool_benchmark` on
``examples/pools.cpp``: a fixed-size object pool with placement new, an
``allocator<T>`` for ``std::list``, and ``std::pmr`` pool and monotonic
resources, timed against ``new``/``delete`` on this machine. Every function
returns None where the host cannot do it (no g++, or memlab installed
without its examples), so a notebook can say so instead of failing.

Timing is noisy on a shared machine, so the benchmark interleaves the
allocators round by round and reports, per allocator, the median time per
operation and its ratio to ``new``/``delete`` measured in the same round
(median and range over the rounds), never one quiet run.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

__all__ = [
    "examples_dir",
    "compiler",
    "build",
    "pool_check",
    "pool_benchmark",
    "glibc_version",
    "malloc_trace",
    "PITFALLS",
    "pitfall_compiler",
    "pitfall_source",
    "sanitizer_report",
]

_FLAGS = ["-std=c++17", "-O2", "-Wall", "-Wextra"]
_SANITIZE = ["-std=c++17", "-O1", "-g", "-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
_TOOL_FLAGS = {
    "address": ["-std=c++17", "-O0", "-g", "-fsanitize=address", "-fno-omit-frame-pointer"],
    "thread": ["-std=c++17", "-O1", "-g", "-fsanitize=thread"],
    "memory": ["-std=c++17", "-O0", "-g", "-fsanitize=memory", "-fsanitize-memory-track-origins"],
}

#: examples/pitfalls/<name>.cpp -> (sanitizer, the bug kind its report names)
PITFALLS = {
    "heap_buffer_overflow": ("address", "heap-buffer-overflow"),
    "heap_use_after_free": ("address", "heap-use-after-free"),
    "double_free": ("address", "double-free"),
    "alloc_dealloc_mismatch": ("address", "alloc-dealloc-mismatch"),
    "non_virtual_destructor": ("address", "new-delete-type-mismatch"),
    "memory_leak": ("leak", "detected memory leaks"),
    "iterator_invalidation": ("address", "heap-use-after-free"),
    "data_race": ("thread", "data race"),
    "uninitialized_read": ("memory", "use-of-uninitialized-value"),
    "wild_pointer": ("memory", "use-of-uninitialized-value"),
    "shared_ptr_cycle": ("leak", "detected memory leaks"),
    "auto_ptr_copy": ("address", "SEGV"),
}


def examples_dir():
    """The repository's ``examples/`` folder, or None (memlab installed
    without it)."""
    path = Path(__file__).resolve().parent.parent / "examples"
    return path if path.is_dir() else None


def compiler():
    """The path of g++, or None."""
    return shutil.which("g++")


def pitfall_compiler(name):
    """The compiler that builds pitfall ``name`` (:data:`PITFALLS`): clang++
    for MemorySanitizer (gcc has none), else g++; None when it is missing."""
    return shutil.which("clang++") if PITFALLS[name][0] == "memory" else compiler()


def build(name, sanitize=False):
    """Compile ``examples/<name>`` (a .cpp file with g++, a .c file with
    gcc) into a cached executable and return its path; with ``sanitize``
    under AddressSanitizer and UndefinedBehaviorSanitizer. None without the
    compiler or the examples; a compile error raises
    ``subprocess.CalledProcessError`` with the compiler's messages."""
    examples = examples_dir()
    gxx = shutil.which("gcc") if name.endswith(".c") else compiler()
    if examples is None or gxx is None:
        return None
    source = examples / name
    out_dir = Path(tempfile.gettempdir()) / "memlab-build"
    out_dir.mkdir(exist_ok=True)
    exe = out_dir / (source.stem + ("-asan" if sanitize else ""))
    if not exe.exists() or exe.stat().st_mtime < source.stat().st_mtime:
        flags = _SANITIZE if sanitize else _FLAGS
        if name.endswith(".c"):
            flags = ["-std=gnu11" if flag.startswith("-std=") else flag for flag in flags]
        subprocess.run([gxx, *flags, "-o", str(exe), str(source)], check=True, capture_output=True, text=True)
    return exe


def pool_check(sanitize=True):
    """Run ``pools --check`` (built with the sanitizers by default): the
    pool's LIFO reuse, its fixed capacity, the allocator in std::list and
    std::vector, the pmr resources. Returns the program's output, or None."""
    exe = build("pools.cpp", sanitize=sanitize)
    if exe is None:
        return None
    result = subprocess.run([str(exe), "--check"], check=True, capture_output=True, text=True)
    return result.stdout.strip()


def pool_benchmark(n=200_000, rounds=7):
    """Time ``n`` allocate/free operations of 48-byte objects per
    allocator, ``rounds`` interleaved rounds (``pools --bench``). Returns
    ``{allocator: {"ns_per_op": median, "ns_min":, "ns_max":, "vs_new":
    median ratio to new/delete in the same round, "vs_new_min":,
    "vs_new_max":}}`` in the program's order, or None."""
    exe = build("pools.cpp")
    if exe is None:
        return None
    result = subprocess.run([str(exe), "--bench", str(n), str(rounds)], check=True, capture_output=True, text=True)
    times: dict[str, dict[int, float]] = {}
    for line in result.stdout.splitlines():
        name, round_no, ns = line.rsplit(" ", 2)
        times.setdefault(name, {})[int(round_no)] = float(ns)
    base = times["new/delete"]
    out = {}
    for name, per_round in times.items():
        ratios = [per_round[r] / base[r] for r in per_round]
        values = list(per_round.values())
        out[name] = {
            "ns_per_op": statistics.median(values),
            "ns_min": min(values),
            "ns_max": max(values),
            "vs_new": statistics.median(ratios),
            "vs_new_min": min(ratios),
            "vs_new_max": max(ratios),
        }
    return out


def glibc_version():
    """The host C library's version ("2.36"), or None if it is not glibc."""
    import os

    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        return None
    return text.split()[-1] if text and text.startswith("glibc") else None


def malloc_trace(ops):
    """Run the calls ``ops`` (see :func:`memlab.libc.trace_text`) through the
    host's real glibc (``examples/malloc_trace.c``) and return its report,
    in the same format as :func:`memlab.libc.run_trace`; None without gcc.
    Lesson 06 and the tests set the two side by side."""
    from .libc import trace_text

    exe = build("malloc_trace.c")
    if exe is None:
        return None
    return subprocess.run([str(exe)], input=trace_text(ops), check=True, capture_output=True, text=True).stdout


def pitfall_source(name, fixed=False):
    """``examples/pitfalls/<name>.cpp`` (or its ``fixed`` version) with
    line numbers, or None without the examples."""
    examples = examples_dir()
    if examples is None or name not in PITFALLS:
        return None
    path = examples / "pitfalls" / ("fixed" if fixed else "") / f"{name}.cpp"
    return "\n".join(f"{i:3}  {line}" for i, line in enumerate(path.read_text().splitlines(), 1))


def sanitizer_report(name, fixed=False):
    """Build ``examples/pitfalls/<name>.cpp`` (``fixed``: the corrected
    version in ``examples/pitfalls/fixed/``) under its sanitizer
    (:data:`PITFALLS`: AddressSanitizer, with LeakSanitizer at exit,
    ThreadSanitizer, or MemorySanitizer with clang++), run it, and return
    ``{"tool", "kind", "summary", "report"}``: the sanitizer, the bug kind
    its first line names, its SUMMARY line and the whole report (kind None:
    a clean run). None without the compiler or the examples."""
    import re

    examples, gxx = examples_dir(), pitfall_compiler(name)
    if examples is None or gxx is None:
        return None
    tool = PITFALLS[name][0]
    source = examples / "pitfalls" / ("fixed" if fixed else "") / f"{name}.cpp"
    out_dir = Path(tempfile.gettempdir()) / "memlab-build"
    out_dir.mkdir(exist_ok=True)
    exe = out_dir / f"pitfall-{name}{'-fixed' if fixed else ''}"
    if not exe.exists() or exe.stat().st_mtime < source.stat().st_mtime:
        flags = _TOOL_FLAGS[tool if tool in ("thread", "memory") else "address"]
        subprocess.run([gxx, *flags, "-o", str(exe), str(source)], check=True, capture_output=True, text=True)
    env = {"ASAN_OPTIONS": "detect_leaks=1", "TSAN_OPTIONS": "halt_on_error=1", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([str(exe)], capture_output=True, text=True, env=env, check=False)
    report = run.stderr
    first = re.search(r"(?:ERROR|WARNING): (\w+Sanitizer): (?:attempting )?([\w\- ]+?)(?: on| \(|$)", report, re.M)
    summary = next((line for line in report.splitlines() if line.startswith("SUMMARY:")), "")
    return {
        "tool": first.group(1) if first else None,
        "kind": first.group(2).strip() if first else None,
        "summary": summary,
        "report": report,
    }
