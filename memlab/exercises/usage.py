"""Exercises of lesson 06 (memory in use): glibc's malloc inside a process.

Every answer is what the simulated glibc (:mod:`memlab.libc`, checked call
by call against the real glibc 2.36) does: :func:`malloc_chunk_size`,
:func:`tcache_reuse`, :func:`mmap_threshold_after_free`, and the *why*
question :func:`why_malloc_costs_no_ram`.
"""

from __future__ import annotations

import random

from ..freelist import POLICIES, FreeListHeap, placement_run
from ..libc import request2size
from ..machine import Machine
from .core import Choice, Exercise

__all__ = [
    "malloc_chunk_size",
    "tcache_reuse",
    "mmap_threshold_after_free",
    "placement",
    "why_malloc_costs_no_ram",
    "USAGE",
]


def _process():
    return Machine(ram="256MiB", cpus=2).spawn("prog")


def malloc_chunk_size(seed):
    """How many bytes of the heap does a malloc(n) take?"""
    rng = random.Random(seed)
    n = rng.choice([rng.randint(0, 24), rng.randint(25, 120), rng.randint(121, 2000)])
    answer = request2size(n)

    def demo():
        p = _process()
        a, b = p.libc.malloc(n), p.libc.malloc(1)
        return [
            f"a = malloc({n}) -> {a:#x}; b = malloc(1) -> {b:#x}",
            f"b - a = {b - a} bytes: the chunk of a; malloc_usable_size(a) = {p.libc.malloc_usable_size(a)}",
        ]

    steps = [
        f"A chunk holds an 8-byte size field and the user's {n} bytes: {n} + 8 = {n + 8}.",
        f"Chunks are 16-byte aligned: round up to {(n + 8 + 15) & ~15}.",
        f"A chunk is at least 32 bytes (room for the free-list pointers once it is freed): {answer} bytes.",
        f"malloc_usable_size() reports {answer - 8}: the chunk less its size field (the next chunk's first 8 "
        f"bytes are lent to it while it is in use).",
    ]
    return Exercise(
        "malloc_chunk_size",
        seed,
        f"A C program calls malloc({n}) with glibc on x86-64. Predict: how many bytes of the heap does the chunk "
        f"take? (Answer, then press Run it: two mallocs in a row, their distance.)",
        answer,
        steps,
        hint="8 bytes of header, then round up to 16; never less than 32",
        mistakes=[
            ((n + 8 + 15) & ~15, "you forgot the 32-byte minimum: a free chunk needs room for its list pointers"),
            ((n + 15) & ~15, "you rounded the request to 16 without the 8-byte size field in front of it"),
            (n + 8, "you added the size field but did not round up to a multiple of 16"),
            ((n + 16 + 15) & ~15, "you counted 16 bytes of header; the chunk borrows the next chunk's prev_size"),
        ],
        demo=demo,
    )


def _reuse_program(seed):
    rng = random.Random(seed)
    sizes = [rng.choice([24, 40, 56]) for _ in range(5)]
    freed = rng.sample(range(5), 3)
    want = rng.choice([sizes[i] for i in freed])
    return sizes, freed, want


def tcache_reuse(seed):
    """Which chunk does the next malloc of a freed size get back?"""
    sizes, freed, want = _reuse_program(seed)
    p = _process()
    c, start = p.libc, p.brk()
    ptrs = [c.malloc(n) for n in sizes]
    for i in freed:
        c.free(ptrs[i])
    got = c.malloc(want)
    answer = ptrs.index(got)
    same = [i for i in freed if request2size(sizes[i]) == request2size(want)]
    calls = "; ".join(f"p{i} = malloc({n})" for i, n in enumerate(sizes))
    frees = "; ".join(f"free(p{i})" for i in freed)

    def demo():
        return [f"p{i} = {q:#x} (heap +{q - start:#x})" for i, q in enumerate(ptrs)] + [
            f"{frees}",
            f"malloc({want}) -> {got:#x}: the address of p{answer}",
        ]

    steps = [
        f"malloc({want}) needs a {request2size(want)}-byte chunk; the tcache bin for that size is checked first.",
        f"The freed chunks of that size went into it in the order {', '.join(f'p{i}' for i in same)}.",
        f"A tcache bin is a stack (last in, first out): the last one freed, p{answer}, comes back.",
    ]
    return Exercise(
        "tcache_reuse",
        seed,
        f"A program runs {calls}; then {frees}; then q = malloc({want}). Predict: q equals which p? (Answer "
        f"with its number, then press Run it.)",
        answer,
        steps,
        hint="a freed small chunk goes to the tcache bin of its chunk size; the bin is last in, first out",
        mistakes=[(same[0], "you took the first chunk freed: the tcache hands out the last one (LIFO)")],
        demo=demo,
    )


def mmap_threshold_after_free(seed):
    """What is glibc's mmap threshold after a big block is freed?"""
    rng = random.Random(seed)
    n = rng.choice([rng.randint(140_000, 900_000), rng.randint(1 << 20, 8 << 20), rng.randint(40 << 20, 60 << 20)])
    p = _process()
    a = p.libc.malloc(n)
    chunk = p.libc.mmapped[a - 16]
    p.libc.free(a)
    answer = p.libc.mmap_threshold
    raised = answer != 128 * 1024
    steps = [
        f"malloc({n:,}) is at or above the threshold (128 KiB at start), so it gets its own mmap: its chunk, "
        f"request2size({n:,}) = {request2size(n):,}, plus 8 bytes (no next chunk lends it a prev_size), rounded "
        f"up to whole pages = {chunk:,} bytes.",
        (
            f"free() of an mmapped chunk larger than the threshold and at most 32 MiB raises the threshold to the "
            f"chunk's size, {chunk:,} (and the trim threshold to twice that)."
            if raised
            else f"free() raises the threshold only for chunks up to 32 MiB (DEFAULT_MMAP_THRESHOLD_MAX); {chunk:,} "
            f"is larger, so the threshold stays {answer:,}."
        ),
    ]
    return Exercise(
        "mmap_threshold_after_free",
        seed,
        f"A program calls p = malloc({n:,}); free(p). Predict: glibc's mmap threshold afterwards, in bytes? "
        f"(It starts at 131,072.)",
        answer,
        steps,
        hint="the dynamic threshold follows freed mmapped chunks, up to 32 MiB",
        mistakes=[
            (131_072, "the threshold moves when an mmapped chunk above it is freed (if that chunk is at most 32 MiB)"),
            (n, "the threshold becomes the chunk's size: request2size(n) + 8, rounded up to whole pages"),
            (chunk, "that chunk is larger than 32 MiB: glibc leaves the threshold alone"),
        ],
    )


def placement(seed):
    """OSTEP-style: follow a free list under a placement policy; where does
    the last allocation land?"""
    rng = random.Random(seed)
    policy = POLICIES[seed % len(POLICIES)]
    ops, live, k = [], [], 0
    while k < 6:
        if live and rng.random() < 0.4:
            ops.append(("free", live.pop(rng.randrange(len(live)))))
        else:
            ops.append(("alloc", rng.randint(2, 12)))
            live.append(k)
            k += 1

    def outcome(pol):
        return placement_run(FreeListHeap(64, 1000, pol, "address"), ops)

    lines, ptrs = outcome(policy)
    answer = ptrs[-1]
    shown = []
    for op, arg in ops:
        shown.append(f"Alloc({arg})" if op == "alloc" else f"Free(ptr[{arg}])")
    rule = {
        "first": "the first block in the list that is large enough",
        "next": "the first large-enough block from where the last search stopped (wrapping around)",
        "best": "the smallest block that is large enough (the first of equal ones)",
        "worst": "the largest block",
    }[policy]
    mistakes = [
        (outcome(other)[1][-1], f"that is where {other} fit would put it; {policy} fit takes {rule}")
        for other in POLICIES
        if other != policy
    ]
    return Exercise(
        "placement",
        seed,
        f"A heap of 64 bytes at address 1000, no headers, one free list sorted by address, no coalescing, "
        f"{policy.upper()} fit. The calls: {', '.join(shown)}. Predict: the address the last Alloc returns "
        f"(-1 if none fits).",
        answer,
        [f"{policy} fit takes {rule}; a block larger than the request is split and its rest stays in the list."]
        + lines,
        hint=f"{policy} fit takes {rule}",
        mistakes=mistakes,
    )


def why_malloc_costs_no_ram(seed):
    """malloc(1 GiB) and the RSS (lesson 06)."""

    def demo():
        p = _process()
        before = p.rss_kb
        a = p.libc.malloc(1 << 30)
        lines = [f"RSS {before} kB; malloc(1 GiB) -> {a:#x}; RSS {p.rss_kb} kB"]
        p.write(a + (1 << 29), b"x")
        lines.append(f"after writing one byte in the middle: RSS {p.rss_kb} kB")
        return lines

    return Choice(
        "why_malloc_costs_no_ram",
        seed,
        "A program calls malloc(1 GiB) on a machine with 2 GiB of RAM and writes nothing yet. Predict: how much "
        "does its RSS grow? (Pick, then press Run it.)",
        [
            (
                "By one page: glibc maps the block with mmap and writes only the chunk's header",
                "A request that large gets its own mmap; the kernel creates a VMA and maps no frame until a page "
                "is touched. glibc writes the 16-byte header at the start, so one page is faulted in.",
            ),
            (
                "By 1 GiB: malloc reserves the memory",
                "malloc only reserves addresses. Frames come page by page on first touch (demand paging), so a "
                "program can malloc far more than it ever uses.",
            ),
            (
                "Not at all, and malloc fails: 1 GiB is more than half the RAM",
                "With the default overcommit heuristic the kernel accepts such a mapping; nothing fails until the "
                "pages are actually used.",
            ),
            (
                "By 1 GiB, because glibc clears the block",
                "Only calloc clears, and not even calloc clears fresh mmapped memory: the kernel's zero-filled "
                "pages are already zero.",
            ),
        ],
        0,
        demo=demo,
    )


#: Every generator of this module by name.
USAGE = {
    "malloc_chunk_size": malloc_chunk_size,
    "tcache_reuse": tcache_reuse,
    "mmap_threshold_after_free": mmap_threshold_after_free,
    "placement": placement,
    "why_malloc_costs_no_ram": why_malloc_costs_no_ram,
}
