"""The numeric exercises: each generator takes a seed, builds a problem from
the simulation itself (so the hidden answer is what memlab computes), lists
the worked steps, and names the mistakes students commonly make so a wrong
answer gets a diagnosis, not just "not quite". Several are *predictions*:
the student answers, then :meth:`Exercise.run` makes the simulation do it.
"""

from __future__ import annotations

import random

from ..machine import Machine
from ..page_alloc import Zone
from ..slub import kmalloc_index, kmalloc_size_of_index
from ..units import NR_PAGE_ORDERS
from .addressing import ADDRESSING
from .core import Exercise

__all__ = [
    "buddy_of",
    "next_pfn",
    "fragmentation_index",
    "largest_block",
    "objs_per_slab",
    "kmalloc_class",
    "mempool_curr_nr",
    "NUMERIC",
]


def buddy_of(seed):
    """What is the buddy of the order-k block at pfn P?"""
    rng = random.Random(seed)
    order = rng.randint(0, 6)
    pfn = rng.randrange(0, 4096 >> order) << order
    answer = pfn ^ (1 << order)
    steps = [
        f"A block of order {order} covers 2**{order} = {1 << order} pages and starts at a multiple of {1 << order}.",
        f"Its buddy is the other half of the order-{order + 1} block that contains it: flip bit {order} "
        f"of the PFN, pfn ^ (1 << {order}).",
        f"{pfn} = {pfn:#b}; flipping bit {order} gives {answer:#b} = {answer}.",
        f"So the buddy is pfn {answer}, and the pair merges into the order-{order + 1} block at pfn "
        f"{pfn & answer} (pfn & buddy).",
    ]
    return Exercise(
        "buddy_of",
        seed,
        f"What is the PFN of the buddy of the order-{order} block at pfn {pfn}?",
        answer,
        steps,
        hint="write the PFN in binary and flip one bit",
        mistakes=[
            (
                pfn ^ (1 << (order + 1)),
                f"you flipped bit {order + 1}: that is the buddy at order {order + 1}; an "
                f"order-{order} block flips bit {order}",
            ),
            *(
                [
                    (
                        pfn ^ (1 << (order - 1)),
                        f"you flipped bit {order - 1}: that is the buddy at order {order - 1}; "
                        f"an order-{order} block flips bit {order}",
                    )
                ]
                if order
                else []
            ),
            (
                pfn + (1 << order),
                f"you added the block size; the buddy lies below when bit {order} is set "
                f"(pfn ^ 2**{order}, not pfn + 2**{order})",
            ),
            (
                pfn - (1 << order),
                f"you subtracted the block size; the buddy lies above when bit {order} is clear (pfn ^ 2**{order})",
            ),
            (pfn & ~(1 << order), "that is where the merged block starts (pfn & ~2**order), not the buddy"),
        ],
    )


def _next_pfn_setup(seed, nr_pages, n_ops):
    """next_pfn's zone after its seeded history, the history in words, and
    the order of the request to predict."""
    rng = random.Random(seed)
    zone = Zone("Normal", nr_pages)
    live = []
    history = []
    for _ in range(n_ops):
        if live and rng.random() < 0.35:
            page = live.pop(rng.randrange(len(live)))
            zone.free_pages(page, page.order)
            history.append(f"free_pages(pfn {page.pfn}, order {page.order})")
        else:
            order = rng.choice([0, 0, 1, 1, 2, 3])
            if not any(zone.free_area[o].nr_free for o in range(order, NR_PAGE_ORDERS)):
                continue
            page = zone.alloc_pages(order)
            live.append(page)
            history.append(f"alloc_pages({order}) -> pfn {page.pfn}")
    order = rng.choice([o for o in range(4) if any(zone.free_area[x].nr_free for x in range(o, NR_PAGE_ORDERS))])
    return zone, history, order


def next_pfn(seed, nr_pages=32, n_ops=6):
    """Given a short history of allocations and frees in a small zone, which
    PFN does the next alloc_pages return? A prediction: :meth:`Exercise.run`
    replays the history and the allocation in the simulation."""
    zone, history, order = _next_pfn_setup(seed, nr_pages, n_ops)
    lists = "; ".join(
        f"free_area[{o}] = {zone.free_area[o].free_list}" for o in range(NR_PAGE_ORDERS) if zone.free_area[o].nr_free
    )
    source = next(o for o in range(order, NR_PAGE_ORDERS) if zone.free_area[o].nr_free)
    source_list = zone.free_area[source].free_list
    mistakes = [(source_list[-1], f"you took the tail of free_area[{source}]; __rmqueue_smallest takes its head")]
    if source > order:
        upper = source_list[0] + (1 << source) - (1 << order)
        mistakes.append(
            (
                upper,
                "you kept the upper end of the split block; expand() gives the upper halves back to the free "
                "lists and keeps the lower half",
            )
        )
    lower = next((zone.free_area[o].free_list[0] for o in range(order) if zone.free_area[o].nr_free), None)
    if lower is not None:
        mistakes.append(
            (lower, f"that block is too small: an order-{order} request needs a free block of order >= {order}")
        )
    page = zone.alloc_pages(order)
    steps = [f"Before the request the free lists (head first) are: {lists}."] + zone.explain()
    question = (
        f"A fresh zone of {nr_pages} pages (pfn 0..{nr_pages - 1}) sees: "
        + ", ".join(history)
        + f". Predict: which PFN does the next alloc_pages({order}) return? (Answer, then press Run it.)"
    )

    def demo():
        replay, _history, request = _next_pfn_setup(seed, nr_pages, n_ops)
        got = replay.alloc_pages(request)
        return [
            f"The simulation replays the {len(history)} calls, then alloc_pages({request}):",
            *replay.explain(),
            f"alloc_pages({request}) -> Page(pfn={got.pfn}, order={got.order})",
        ]

    return Exercise(
        "next_pfn",
        seed,
        question,
        page.pfn,
        steps,
        hint="find the smallest order >= the request with a free block; take the head of that list; "
        "a split keeps the lower half",
        mistakes=mistakes,
        demo=demo,
    )


def fragmentation_index(seed):
    """Compute the kernel's fragmentation index for a given free_area."""
    rng = random.Random(seed)
    order = rng.randint(2, 5)
    counts = [0] * NR_PAGE_ORDERS
    for o in range(order):
        counts[o] = rng.randint(0, 9)
    if not any(counts):
        counts[0] = rng.randint(1, 9)
    free_pages = sum(c << o for o, c in enumerate(counts))
    total = sum(counts)
    requested = 1 << order
    answer = 1000 - (1000 + free_pages * 1000 // requested) // total
    shown = ", ".join(f"order {o}: {c}" for o, c in enumerate(counts[: order + 1]))
    steps = [
        f"No free block has order >= {order}, so the request would fail and the index is defined.",
        f"free_pages = sum(nr_free << order) = {free_pages}; free_blocks_total = {total}; "
        f"requested = 2**{order} = {requested}.",
        f"free_pages * 1000 // requested = {free_pages * 1000 // requested}; plus 1000 = "
        f"{1000 + free_pages * 1000 // requested}; // free_blocks_total = "
        f"{(1000 + free_pages * 1000 // requested) // total}.",
        f"index = 1000 - that = {answer} (toward 1000: the failure is due to fragmentation; toward 0: "
        f"to lack of memory). Kernel: mm/vmstat.c __fragmentation_index().",
    ]
    return Exercise(
        "fragmentation_index",
        seed,
        f"A zone's free_area nr_free counts are {shown} (higher orders: 0). What does the kernel's "
        f"fragmentation index (x1000, integer maths) give for an order-{order} request?",
        answer,
        steps,
        hint="1000 - (1000 + free_pages*1000/requested) / free_blocks_total",
        thousandths=True,
        mistakes=[
            (
                round(1000 - (1000 + free_pages * 1000 / requested) / total),
                "you divided exactly; the kernel uses integer maths and truncates at each division",
            ),
            (
                1000 - free_pages * 1000 // requested // total,
                "you left out the 1 (the 1000 in thousandths) inside the bracket: "
                "1000 - (1000 + free_pages * 1000 / requested) / free_blocks_total",
            ),
            (
                1000,
                "that is the unusable index (every free page is in a block too small for the order), not the "
                "fragmentation index, which stays below 1000",
            ),
        ],
    )


def largest_block(seed):
    """After a few allocations, what is the largest order still free?"""
    rng = random.Random(seed)
    nr_pages = 1 << rng.randint(5, 7)
    zone = Zone("Normal", nr_pages)
    pfns = []
    for _ in range(rng.randint(2, 4)):
        order = rng.randint(0, 3)
        pfns.append((order, zone.alloc_pages(order).pfn))
    answer = max(o for o in range(NR_PAGE_ORDERS) if zone.free_area[o].nr_free)
    steps = [
        "Each allocation splits the smallest block that fits and keeps the lower half: "
        + ", ".join(f"order {o} -> pfn {p}" for o, p in pfns)
        + "."
    ]
    steps.append(
        "Free lists now: "
        + "; ".join(
            f"free_area[{o}] = {zone.free_area[o].free_list}"
            for o in range(NR_PAGE_ORDERS)
            if zone.free_area[o].nr_free
        )
        + "."
    )
    steps.append(
        f"The largest non-empty list is order {answer}, so the largest request that can succeed is {1 << answer} pages."
    )
    question = (
        f"A fresh {nr_pages}-page zone serves alloc_pages with orders "
        + ", ".join(str(o) for o, _ in pfns)
        + ". What is the largest order that still has a free block?"
    )
    return Exercise(
        "largest_block",
        seed,
        question,
        answer,
        steps,
        hint="follow the splits: each leaves one free block at every order between the request and the block it split",
    )


def objs_per_slab(seed):
    """How many objects does SLUB put in one slab of a new cache?"""
    rng = random.Random(seed)
    size = rng.choice([rng.randint(20, 400), rng.randint(400, 1500), rng.randint(1500, 5000)])
    cpus = rng.choice([1, 2, 4, 8, 16])
    machine = Machine(ram="32MiB", cpus=cpus)
    cache = machine.kmem_cache_create("exercise_cache", size)
    steps = cache.explain_geometry() + [
        f"So each slab of {cache.pagesperslab} page{'s' if cache.order else ''} holds {cache.objperslab} objects."
    ]
    return Exercise(
        "objs_per_slab",
        seed,
        f'On a machine with {cpus} CPU{"s" if cpus > 1 else ""}, kmem_cache_create("exercise_cache", '
        f"{size}, 0, 0, NULL) makes a cache of {size}-byte objects. How many objects does one slab hold "
        f"(the <objperslab> column of /proc/slabinfo)?",
        cache.objperslab,
        steps,
        mistakes=[
            (
                4096 // cache.size,
                f"you filled one page; this slab has {cache.pagesperslab} pages (order {cache.order})",
            ),
            (
                min(4 * ((cpus).bit_length() + 1), cache.objperslab * 4),
                "that is min_objects, the least SLUB aims for; the slab holds as many objects as fit in the order "
                "it chose",
            ),
            (
                (4096 << cache.order) // size,
                f"you divided by the object size as asked; SLUB rounds it up to {cache.size} (8-byte words)",
            ),
        ],
        hint="round the size up to 8 bytes; min_objects = 4 * (fls(cpus) + 1); find the smallest "
        "order (up to 3) whose slab holds that many with at most 1/16 of it left over; if no order "
        "manages that, accept 1/8, then 1/4, then 1/2",
    )


def _run_kmalloc(size):
    machine = Machine(ram="32MiB", cpus=2)
    addr = machine.kmalloc(size)
    cache = machine.slub.kmalloc_cache_for(size)
    return [
        f"addr = kmalloc({size}, GFP_KERNEL) -> {addr:#x}, an object of {cache.name}",
        f"ksize(addr) -> {machine.ksize(addr)}",
    ]


def kmalloc_class(seed):
    """Which size class serves a kmalloc, and what does ksize() return?"""
    rng = random.Random(seed)
    size = rng.choice([rng.randint(1, 64), rng.randint(65, 200), rng.randint(200, 8192)])
    index = kmalloc_index(size)
    answer = kmalloc_size_of_index(index)
    steps = [
        "kmalloc caches hold objects of 8, 16, 32, 64, 96, 128, 192, 256, 512, 1k, 2k, 4k and 8k bytes.",
        f"kmalloc({size}) takes the smallest class that fits: kmalloc-"
        f"{answer if answer < 1024 else str(answer >> 10) + 'k'} (kmalloc_index({size}) = {index}).",
        f"ksize() returns the class's object size, {answer}: {answer - size} byte"
        f"{'s' if answer - size != 1 else ''} ({100 * (answer - size) / answer:.0f}% of the object) are "
        f"internal fragmentation.",
    ]
    return Exercise(
        "kmalloc_class",
        seed,
        f"A driver calls kmalloc({size}, GFP_KERNEL). Predict: what does ksize() return for the pointer it "
        f"gets? (Answer, then press Run it.)",
        answer,
        steps,
        hint="the classes are the powers of two from 8 to 8192, plus 96 and 192",
        mistakes=[
            (size, "you gave the size asked for; ksize() returns the object size of the class that serves it"),
            (
                max(8, 1 << (size - 1).bit_length()),
                "you skipped the 96- and 192-byte classes, which sit between 64 and 128 and between 128 and 256",
            ),
        ],
        demo=lambda: _run_kmalloc(size),
    )


def mempool_curr_nr(seed):
    """Follow mempool_alloc/mempool_free under a failing backing allocator:
    what is curr_nr at the end?"""
    rng = random.Random(seed)
    min_nr = rng.randint(2, 5)
    m = Machine(ram="32MiB")
    pool = m.mempool_create_kmalloc_pool(min_nr, 128)
    m.failslab.configure(probability=100, times=-1, ignore_gfp_reclaim=False)
    held = []
    events = []
    steps = [f"mempool_create pre-fills the reserve: curr_nr = {min_nr} (min_nr {min_nr})."]
    for _ in range(rng.randint(4, 7)):
        if held and rng.random() < 0.4:
            e = held.pop(rng.randrange(len(held)))
            before = pool.curr_nr
            pool.free(e)
            events.append("mempool_free")
            steps.append(
                f"mempool_free: curr_nr {before} < min_nr {min_nr}, so the element refills the reserve: "
                f"curr_nr = {pool.curr_nr}."
                if pool.curr_nr > before
                else f"mempool_free: the reserve is full (curr_nr = min_nr), the element goes back to "
                f"kmalloc: curr_nr = {pool.curr_nr}."
            )
        else:
            gfp = rng.choice(["GFP_NOIO", "GFP_ATOMIC"])
            before = pool.curr_nr
            got = pool.alloc(gfp)
            events.append(f"mempool_alloc({gfp})")
            if got is None:
                steps.append(
                    f"mempool_alloc({gfp}): kmalloc fails, the reserve is empty, GFP_ATOMIC may not "
                    f"sleep: NULL; curr_nr stays {pool.curr_nr}."
                )
            elif isinstance(got, int):
                held.append(got)
                steps.append(
                    f"mempool_alloc({gfp}): kmalloc fails, so an element comes from the reserve: "
                    f"curr_nr {before} -> {pool.curr_nr}."
                )
            else:
                steps.append(
                    f"mempool_alloc({gfp}): kmalloc fails twice, the reserve is empty, GFP_NOIO may "
                    f"sleep: the task waits on pool->wait; curr_nr stays {pool.curr_nr}."
                )
                break
    question = (
        f"A mempool is created with min_nr = {min_nr} on top of kmalloc, and from then on every "
        f"kmalloc fails (memory is exhausted). The calls are: "
        + ", ".join(events)
        + ". What is pool->curr_nr after the last call?"
    )
    return Exercise(
        "mempool_curr_nr",
        seed,
        question,
        pool.curr_nr,
        steps,
        hint="alloc tries kmalloc first, then takes from the reserve; free refills the reserve while curr_nr < min_nr",
        mistakes=[
            (
                min_nr,
                "you assumed the reserve refills by itself; only mempool_free refills it, and only while "
                "curr_nr < min_nr",
            ),
            (0, "the reserve is not always drained: each mempool_free puts an element back while curr_nr < min_nr"),
        ],
        demo=lambda: ["The simulation's trace, call by call:", *steps],
    )


NUMERIC = {
    "buddy_of": buddy_of,
    "next_pfn": next_pfn,
    "fragmentation_index": fragmentation_index,
    "largest_block": largest_block,
    "objs_per_slab": objs_per_slab,
    "kmalloc_class": kmalloc_class,
    "mempool_curr_nr": mempool_curr_nr,
    **ADDRESSING,
}
