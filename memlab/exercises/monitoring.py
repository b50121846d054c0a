"""Exercises of lesson 08 (monitoring): reading free, predicting drop_caches.

The answers are what :mod:`memlab.monitor` computes (its ``free`` is
procps-ng 4.0.2's, checked against the real tool): :func:`free_used` (the
"used" column), :func:`drop_caches_freed` (the pages ``echo 1`` frees) and
the *why* question :func:`why_available`.
"""

from __future__ import annotations

import random

from .core import Choice, Exercise

__all__ = ["free_used", "drop_caches_freed", "why_available", "MONITORING"]


def free_used(seed):
    """What does free print under "used"?"""
    from ..monitor import free

    rng = random.Random(seed)
    total = rng.choice([2, 4, 8, 16]) << 20  # kB
    free_kb = rng.randrange(total // 20, total // 3)
    cached = rng.randrange(total // 10, total // 2)
    buffers = rng.randrange(1000, 200_000)
    srec = rng.randrange(10_000, 400_000)
    available = min(total, free_kb + cached // 2 + srec // 2)
    record = {"MemTotal": total, "MemFree": free_kb, "MemAvailable": available, "Buffers": buffers,
              "Cached": cached, "SReclaimable": srec, "Shmem": 0, "SwapTotal": 0, "SwapFree": 0}  # fmt: skip
    answer = total - available
    lines = "\n".join(f"{k + ':':<16}{v:>8} kB" for k, v in record.items() if k not in ("SwapTotal", "SwapFree"))

    def demo():
        return free(record).splitlines()

    return Exercise(
        "free_used",
        seed,
        f"/proc/meminfo says:\n\n{lines}\n\nWhat does free (procps-ng 4) print in the 'used' column (kB)? "
        "(Answer, then press Run it: free's output for these figures.)",
        answer,
        [
            "procps-ng 4's free computes used = MemTotal - MemAvailable: what is not available to new programs.",
            f"{total} - {available} = {answer} kB.",
        ],
        hint="free takes used from MemAvailable, not from MemFree",
        mistakes=[
            (total - free_kb, "that is total - free: it counts the page cache as used, though the kernel can drop it"),
            (total - free_kb - buffers - cached - srec, "that was free's formula before procps-ng 4: total - free - "
             "buff/cache"),
            (total - free_kb - buffers - cached, "total - free - buffers - cached leaves out SReclaimable, and free 4 "
             "uses MemAvailable"),
        ],
        demo=demo,
    )  # fmt: skip


def drop_caches_freed(seed):
    """How many pages does ``echo 1 > /proc/sys/vm/drop_caches`` free?"""
    from ..machine import Machine
    from ..mm import MAP_PRIVATE, PROT_READ
    from ..monitor import drop_caches

    rng = random.Random(seed)
    cached = rng.randrange(40, 120)
    dirty = rng.randrange(1, 15)
    mapped = rng.randrange(1, 15)

    def scenario():
        m = Machine(ram="64MiB")
        p = m.spawn("app")
        f = m.create_file("/data", cached << 12)
        fd = p.sys.open(f)
        buf = p.mmap(length=cached << 12)
        p.sys.read(fd, buf, cached << 12)  # every page cached, clean
        p.sys.lseek(fd, (cached - dirty) << 12)
        p.sys.write(fd, buf, dirty << 12)  # the last pages dirty
        view = p.mmap(length=mapped << 12, prot=PROT_READ, flags=MAP_PRIVATE, file=f)
        for i in range(mapped):
            p.touch(view + (i << 12))  # the first pages mapped
        return m, drop_caches

    m, drop = scenario()
    answer = drop(m, 1)

    def demo():
        m2, drop2 = scenario()
        freed = drop2(m2, 1)
        return [f"echo 1 > /proc/sys/vm/drop_caches freed {freed} pages"]

    return Exercise(
        "drop_caches_freed",
        seed,
        f"A process reads a whole {cached}-page file (every page now in the page cache), writes its last {dirty} pages "
        f"(not synced yet) and maps its first {mapped} pages and touches them. Looking the file up also read one "
        "4 KiB block of the inode table (Buffers). How many pages does echo 1 > /proc/sys/vm/drop_caches free? "
        "(Answer, then press Run it.)",
        answer,
        [
            "echo 1 drops clean page-cache pages that no process maps: dirty pages must be written first, mapped "
            "pages are in use.",
            f"{cached} cached - {dirty} dirty - {mapped} mapped = {cached - dirty - mapped} file pages, plus the "
            f"block device's clean page (Buffers): {answer}.",
        ],
        hint="which pages can the kernel simply forget, because the disk has the same bytes and nobody is using them?",
        mistakes=[
            (cached, "dirty pages are not dropped (the disk does not have their bytes yet), nor mapped ones"),
            (cached - dirty - mapped, "right for the file; the block device's metadata page is clean and dropped too"),
            (cached - dirty + 1, "mapped pages stay: a process is using them"),
            (cached - mapped + 1, "dirty pages stay until they are written back (sync)"),
        ],
        demo=demo,
    )


def why_available(seed):
    """Why is MemAvailable, not MemFree, the figure to watch?"""

    def demo():
        from ..machine import Machine
        from ..monitor import meminfo_record

        m = Machine(ram="512MiB")
        p = m.spawn("cat")
        f = m.create_file("/big", 128 << 20)
        fd = p.sys.open(f)
        buf = p.mmap(length=1 << 20)
        p.write(buf, bytes(1 << 20))  # the 1 MiB buffer, reused for every read
        before = meminfo_record(m)
        while p.sys.read(fd, buf, 1 << 20):
            pass
        after = meminfo_record(m)
        return [
            f"before reading a 128 MiB file: MemFree {before['MemFree']} kB,"
            + f" MemAvailable {before['MemAvailable']} kB",
            f"after: MemFree {after['MemFree']} kB, MemAvailable {after['MemAvailable']} kB, "
            f"Cached {after['Cached']} kB",
        ]

    return Choice(
        "why_available",
        seed,
        "After a big file is read, MemFree falls by its size and a naive monitor raises an alarm. Why does "
        "MemAvailable fall much less?",
        [
            (
                "The file's pages stay in the page cache, and the kernel can drop clean cache pages whenever a "
                "program needs the memory",
                "Right: si_mem_available() counts free pages (less the reserves) plus the page cache and the "
                "reclaimable slab, each less what is likely still in use. Free memory is wasted memory to Linux: it "
                "keeps the cache until someone needs the frames.",
            ),
            (
                "MemAvailable is only updated once a second",
                "Both come from the same counters at the moment /proc/meminfo is read.",
            ),
            (
                "The file's pages were swapped out",
                "Nothing is swapped (this machine has no swap); the pages are in RAM, in the page cache.",
            ),
            (
                "MemAvailable ignores files larger than the RAM",
                "The size of the file does not matter; what matters is that cache pages can be dropped.",
            ),
        ],
        0,
        demo=demo,
    )


#: Every generator of this module by name.
MONITORING = {"free_used": free_used, "drop_caches_freed": drop_caches_freed, "why_available": why_available}
