"""Exercises of lesson 02b (how Linux fights fragmentation).

The answers are what the model computes: :func:`pcp_batch` (the per-CPU
lists' ``batch``, :func:`memlab.page_alloc.zone_batchsize`),
:func:`oom_victim` (the OOM killer's choice, :func:`memlab.vmscan.oom_badness`)
and the *why* question :func:`why_grouping`.
"""

from __future__ import annotations

import random

from .core import Choice, Exercise

__all__ = ["pcp_batch", "oom_victim", "why_grouping", "MOBILITY"]


def pcp_batch(seed):
    """How many pages does a per-CPU list fetch at a time?"""
    from ..page_alloc.pcp import zone_batchsize

    rng = random.Random(seed)
    managed = rng.choice([3840, 61440, 196608, 258048, 772918, 1736704, 4194304]) + rng.randrange(0, 4096)
    answer = zone_batchsize(managed)
    tenth = min(managed >> 10, 256)
    quarter = max(1, tenth // 4)
    n = quarter + quarter // 2
    return Exercise(
        "pcp_batch",
        seed,
        f"A zone manages {managed} pages. What is the batch of its per-CPU page lists (the 'batch:' line of "
        "/proc/zoneinfo), as zone_batchsize() computes it?",
        answer,
        [
            f"About 0.1 % of the zone or 1 MiB (256 pages), whichever is smaller: min({managed} >> 10, 256) = {tenth}.",
            f"Divided by 4 (at least 1): {quarter}.",
            f"Then rounddown_pow_of_two(batch + batch / 2) - 1, a 2^n - 1 value (powers of two alias badly in "
            f"the caches): rounddown_pow_of_two({n}) - 1 = {answer}.",
        ],
        hint="min(managed >> 10, 256), divided by 4, then rounded down to a power of two (after adding half) minus 1",
        mistakes=[
            (tenth, "that is 0.1 % of the zone (or 256): the kernel then divides it by 4"),
            (quarter, "that is before the rounding to 2^n - 1"),
            (min(managed >> 10, 256) // 4 - 1, "add half of it before rounding down to a power of two"),
        ],
    )


def oom_victim(seed):
    """Which process does the OOM killer choose?"""
    from ..vmscan import OOM_SCORE_ADJ_MIN

    rng = random.Random(seed)
    totalpages = rng.choice([262144, 524288, 1048576])
    names = rng.sample(["postgres", "java", "sshd", "chrome", "make", "python3", "nginx", "redis"], 4)
    procs = []
    for i, name in enumerate(names):
        rss = rng.randrange(2000, 60000)
        pt = rss // 400 + rng.randrange(1, 20)
        adj = rng.choice([0, 0, 0, 300, -500, OOM_SCORE_ADJ_MIN]) if i else 0
        procs.append((1000 + i * 17, name, rss, pt, adj))
    big = max(procs, key=lambda p: p[2])
    # make the biggest one protected half of the time: a trap worth learning
    if big[4] != OOM_SCORE_ADJ_MIN and rng.random() < 0.5:
        procs[procs.index(big)] = (*big[:4], OOM_SCORE_ADJ_MIN)

    def points(p):
        return None if p[4] == OOM_SCORE_ADJ_MIN else p[2] + p[3] + p[4] * (totalpages // 1000)

    scored = [(points(p), p) for p in procs if points(p) is not None]
    victim = max(scored, key=lambda s: (s[0], -s[1][0]))[1]
    table = "\n".join(f"  pid {pid:5}  {name:9} RSS {rss:6} pages, page tables {pt:3} pages, oom_score_adj {adj}"
                      for pid, name, rss, pt, adj in procs)  # fmt: skip
    steps = [f"oom_badness() = RSS + page-table pages + oom_score_adj x (totalpages / 1000), totalpages = "
             f"{totalpages} (no swap): each point of oom_score_adj is worth {totalpages // 1000} pages."]  # fmt: skip
    steps += [
        f"pid {p[0]} ({p[1]}): " + ("oom_score_adj -1000: never chosen" if points(p) is None else
                                    f"{p[2]} + {p[3]} + {p[4]} x {totalpages // 1000} = {points(p)}")
        for p in procs
    ]  # fmt: skip
    steps.append(f"The highest score: pid {victim[0]} ({victim[1]}).")
    mistakes = [(big[0], "that is the biggest RSS: oom_score_adj counts too (and -1000 means never)")]
    return Exercise(
        "oom_victim",
        seed,
        f"Memory has run out on a machine of {totalpages} pages without swap; reclaim found nothing. The processes:"
        f"\n\n{table}\n\nWhich pid does the OOM killer kill?",
        victim[0],
        steps,
        hint="oom_badness(): RSS + page tables + oom_score_adj * (totalpages / 1000); -1000 is never chosen",
        mistakes=mistakes,
    )


def why_grouping(seed):
    """Why can a machine that has run for weeks still find a 2 MiB block?"""

    def demo():
        from ..page_alloc import MobilityZone, Zone
        from ..workloads import fill_and_reclaim

        lines = []
        typed = ("GFP_KERNEL", "GFP_HIGHUSER_MOVABLE")
        for label, zone, gfp in (
            ("one list per order (memlab.Zone)", Zone("Normal", 16384, core="python"), None),
            ("grouped by mobility (MobilityZone)", MobilityZone("Normal", 16384), typed),
        ):
            r = fill_and_reclaim(zone, 20000, seed, pinned_share=0.02, gfp=gfp)
            blocks = {pfn >> 9 for p in r.pinned for pfn in (p.pfn, p.pfn + (1 << p.order) - 1)}
            lines.append(f"{label}: {len(r.pinned)} long-lived kernel blocks in {len(blocks)} of 32 pageblocks")
        return lines

    return Choice(
        "why_grouping",
        seed,
        "Kernel allocations (page tables, slabs) cannot be moved. Why do they not end up scattered over all of "
        "memory on a machine that has run for weeks, so that no 2 MiB block could ever be freed again?",
        [
            (
                "Each 2 MiB pageblock has a migratetype, and unmovable allocations are served from Unmovable "
                "pageblocks, claiming a whole new one when they run out",
                "Right: grouping by mobility (__rmqueue_claim(), try_to_steal_block()) keeps them in few "
                "pageblocks; the Movable ones can then be emptied by reclaim or compaction.",
            ),
            (
                "Compaction moves the kernel's pages together at night",
                "Compaction moves only movable pages; a page table or a slab cannot move (their addresses are "
                "stored in other kernel objects).",
            ),
            (
                "The kernel frees its own allocations when memory gets fragmented",
                "Kernel objects live as long as what they describe: a page table as long as its process.",
            ),
            (
                "The buddy allocator never splits a 2 MiB block for a small request",
                "It does (expand()); which free block it splits is what grouping by mobility chooses.",
            ),
        ],
        0,
        demo=demo,
    )


#: Every generator of this module by name.
MOBILITY = {"pcp_batch": pcp_batch, "oom_victim": oom_victim, "why_grouping": why_grouping}
