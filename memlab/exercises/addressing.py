"""The numeric exercises about addresses: page-table indices, what
copy_from_user() leaves, TLB misses around a context switch (address
spaces, lesson 01) and the 8237A count register (DMA, lesson 05). Like
:mod:`.numeric`, each names the common mistakes, and the predictions can
be run in the simulation.
"""

from __future__ import annotations

import random

from ..machine import Machine
from .core import Exercise

__all__ = ["pgtable_index", "copy_from_user_left", "dma_count_register", "tlb_misses", "ADDRESSING"]


def pgtable_index(seed):
    """Split a virtual address into its 9/9/9/9/12 page-table indices."""
    from ..mm import LEVELS, pgtable_indices

    rng = random.Random(seed)
    vaddr = (
        rng.choice([0x555555554000, 0x7FFFE7000000, 0x7FFE00000000, 0x400000])
        + (rng.randrange(1 << 16) << 12)
        + rng.randrange(4096)
    )
    level = rng.randrange(4)
    idx = pgtable_indices(vaddr)
    shift = 39 - 9 * level
    steps = [
        f"x86-64 4-level paging splits bits 47-0 of {vaddr:#x} as 9/9/9/9/12: PGD bits 47-39, PUD 38-30, "
        f"PMD 29-21, PTE 20-12, offset 11-0.",
        f"The {LEVELS[level]} index is (vaddr >> {shift}) & 0x1ff = ({vaddr:#x} >> {shift}) & 511 = {idx[level]}.",
        "All five fields: " + ", ".join(f"{n} {v}" for n, v in zip(list(LEVELS) + ["offset"], idx)) + ".",
    ]
    return Exercise(
        "pgtable_index",
        seed,
        f"Which {LEVELS[level]} index does the MMU use for the virtual address {vaddr:#x}?",
        idx[level],
        steps,
        hint="shift right by 39, 30, 21 or 12 and keep 9 bits",
        mistakes=[
            *[
                (
                    idx[other],
                    f"that is the {LEVELS[other]} index; the {LEVELS[level]} index is bits "
                    f"{47 - 9 * level}-{39 - 9 * level}",
                )
                for other in range(4)
                if other != level
            ],
            (vaddr >> shift, "you shifted but did not keep only the low 9 bits (& 0x1ff)"),
        ],
    )


def _run_copy_from_user(start_off, mapped_pages, n):
    from ..mm import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE

    machine = Machine(ram="32MiB", cpus=2)
    p = machine.spawn("reader")
    base = 0x10000000
    p.mmap(addr=base, length=mapped_pages * 4096, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    p.write(base, bytes(mapped_pages * 4096))
    kbuf = machine.kmalloc(n)
    left = p.copy_from_user(kbuf, base + start_off, n)
    return [
        f"mmap {mapped_pages} page(s) at {base:#x}; the page at {base + mapped_pages * 4096:#x} is not mapped",
        f"copy_from_user(kbuf, {base + start_off:#x}, {n}) -> {left} (bytes not copied)",
    ]


def copy_from_user_left(seed):
    """How many bytes does copy_from_user() fail to copy when the buffer runs
    into an unmapped page?"""
    rng = random.Random(seed)
    start_off = rng.randrange(0, 4096, 16)
    mapped_pages = rng.randint(1, 3)
    n = rng.randint(1, 3) * 4096 + rng.randrange(0, 4096, 8)
    available = mapped_pages * 4096 - start_off
    answer = max(0, n - available)
    steps = [
        f"The buffer starts {start_off:#x} bytes into the first of {mapped_pages} mapped page"
        f"{'s' if mapped_pages > 1 else ''}; the page after them is not mapped.",
        f"copy_from_user copies until the first byte it cannot read: {mapped_pages} * 4096 - {start_off} = "
        f"{available} bytes are readable.",
        f"It returns the number of bytes NOT copied: max(0, {n} - {available}) = {answer}"
        + (", and zero-fills that tail of the kernel buffer." if answer else " (0: success)."),
    ]
    return Exercise(
        "copy_from_user_left",
        seed,
        f"A user buffer starts at offset {start_off:#x} of a page; that page and the next "
        f"{mapped_pages - 1} are mapped, the one after is not. Predict: what does copy_from_user(kbuf, buf, "
        f"{n}) return? (Answer, then press Run it.)",
        answer,
        steps,
        hint="it returns the bytes NOT copied",
        mistakes=[
            (min(n, available), "you gave the bytes copied; copy_from_user returns the number of bytes NOT copied"),
            (n, "the whole length fails only when the first byte cannot be read; it copies up to the unmapped page"),
            (0, "0 means success, but the buffer runs into the unmapped page"),
        ],
        demo=lambda: _run_copy_from_user(start_off, mapped_pages, n),
    )


def _run_set_dma_count(ch, nbytes):
    machine = Machine(ram="32MiB", cpus=2)
    dma = machine.dma8237
    dma.set_dma_count(ch, nbytes)
    ctrl, first = (0, 0) if ch <= 3 else (1, 4)
    port = (1 + 2 * (ch - first)) if ctrl == 0 else 0xC2 + 4 * (ch - first)
    dma.clear_dma_ff(ch)
    low, high = dma.inb(port), dma.inb(port)
    return [
        f"set_dma_count({ch}, {nbytes})",
        f"read the count register back: clear the flip-flop, inb({port:#x}) twice -> low {low:#04x}, high "
        f"{high:#04x}: {high << 8 | low} ({high << 8 | low:#06x})",
    ]


def dma_count_register(seed):
    """What does set_dma_count() write into the 8237's count register, and
    how many clocks does a block-mode transfer take?"""
    rng = random.Random(seed)
    ch = rng.choice([1, 2, 3, 5, 6, 7])
    nbytes = rng.randrange(2, 4096, 2)
    width = 1 if ch <= 3 else 2
    value = nbytes // width - 1
    steps = [
        f"Channel {ch} is on the {'first (8-bit, counts bytes)' if width == 1 else 'second (16-bit, counts words)'} "
        f"controller.",
        f"The 8237 performs C + 1 transfers for a count register value C (terminal count is the rollover from 0 "
        f"to 0xFFFF), so set_dma_count writes the number of {'bytes' if width == 1 else 'words'} minus one.",
        f"{nbytes} bytes = {nbytes // width} {'bytes' if width == 1 else 'words'}: C = {nbytes // width} - 1 = "
        f"{value} ({value:#06x}).",
    ]
    return Exercise(
        "dma_count_register",
        seed,
        f"A driver calls set_dma_count({ch}, {nbytes}). Predict: what value does the channel's count register "
        f"hold? (Answer, then press Run it.)",
        value,
        steps,
        hint="C + 1 transfers; channels 5-7 move 16-bit words",
        mistakes=[
            (nbytes, "you gave the byte count; the register holds the number of transfers minus one"),
            (nbytes // width, "you gave the number of transfers; the 8237 does C + 1 transfers, so C is one less"),
            *(
                [(nbytes - 1, f"you counted bytes; channel {ch} is on the 16-bit controller and counts words")]
                if width == 2
                else []
            ),
        ],
        demo=lambda: _run_set_dma_count(ch, nbytes),
    )


def _tlb_run(pcid, first, other, second):
    """Run tlb_misses' scenario on a 4-entry TLB; returns (misses of A, log lines)."""
    machine = Machine(ram="32MiB", cpus=1)
    tlb = machine.set_tlb(pcid=pcid, capacity=4)
    a, b = machine.spawn("A"), machine.spawn("B")
    base_a, base_b = a.mmap(length=8 * 4096), b.mmap(length=8 * 4096)
    for i in range(8):  # every page mapped beforehand: misses come from the TLB alone, no faults
        a.touch(base_a + i * 4096, write=True)
        b.touch(base_b + i * 4096, write=True)
    lines, misses = [], 0
    tlb.switch_to(a)

    def run(proc, base, pages):
        nonlocal misses
        for page in pages:
            rec = tlb.access(proc, base + page * 4096)
            if proc is a and not rec.hit:
                misses += 1
            lines.append(f"{proc.name} page {page}: {'hit' if rec.hit else 'MISS'}")

    run(a, base_a, first)
    lines.append(tlb.switch_to(b).text)
    run(b, base_b, other)
    lines.append(tlb.switch_to(a).text)
    run(a, base_a, second)
    lines.append(f"A missed {misses} times")
    return misses, lines


def tlb_misses(seed):
    """Count the TLB misses of a short access pattern around a context
    switch, on a 4-entry LRU TLB, with or without PCID (lesson 01). A
    prediction: :meth:`Exercise.run` replays it on the model."""
    rng = random.Random(seed)
    pcid = rng.random() < 0.5
    first = [rng.randrange(5) for _ in range(6)]
    other = [rng.randrange(3) for _ in range(rng.randint(1, 3))]
    second = [rng.choice(first) for _ in range(3)]
    answer, _ = _tlb_run(pcid, first, other, second)
    distinct = len(set(first)) + len(set(second) - set(first))
    misses_no_pcid, _ = _tlb_run(False, first, other, second)
    misses_pcid, _ = _tlb_run(True, first, other, second)
    steps = [
        "A 4-entry TLB keeps the 4 most recently used translations; a miss walks the tables and caches the "
        "translation, evicting the least recently used one when full.",
        f"Process A reads pages {first}; then B runs and reads its pages {other}; then A reads pages {second}.",
        (
            "With PCID, A's entries keep their PCID while B runs under another one; B's entries still take "
            "room in the 4-entry TLB and push out A's oldest."
            if pcid
            else "Without PCID, both context switches write CR3 and flush every entry: A starts over with an empty TLB."
        ),
        f"Replaying the pattern entry by entry gives {answer} misses for A.",
    ]
    mistakes = [
        (distinct, "you counted each distinct page once: the TLB holds only 4 entries, and evicted pages miss again")
    ]
    if pcid:
        mistakes.append((misses_no_pcid, "you flushed the TLB at the context switch; with PCID it is not flushed"))
    else:
        mistakes.append(
            (misses_pcid, "you kept A's entries across the switch; without PCID the CR3 write flushes them")
        )
    return Exercise(
        "tlb_misses",
        seed,
        f"A CPU has a 4-entry TLB (LRU) and PCID {'on' if pcid else 'off'}; every page is already mapped. Process A "
        f"reads its pages {first}, then the CPU switches to process B, which reads its pages {other}, then back "
        f"to A, which reads pages {second}. Predict: how many TLB misses does A take in all? (Answer, then press "
        f"Run it.)",
        answer,
        steps,
        hint="follow the 4 entries access by access: a hit moves the entry to the front, a miss evicts the oldest",
        mistakes=mistakes,
        demo=lambda: _tlb_run(pcid, first, other, second)[1],
    )


ADDRESSING = {
    "pgtable_index": pgtable_index,
    "copy_from_user_left": copy_from_user_left,
    "dma_count_register": dma_count_register,
    "tlb_misses": tlb_misses,
}
