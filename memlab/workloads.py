"""Seeded workloads that drive the allocators, for notebooks and benchmarks.

Every workload takes a seed; the same seed gives the same operations and,
because the allocators are deterministic, the same final state.
"""

import random
from bisect import bisect_right

from .errors import BadSize, OutOfMemory
from .units import NR_PAGE_ORDERS

__all__ = [
    "BUDDY_V1_ORDER_WEIGHTS",
    "BUDDY_V1_ALLOC_SHARE",
    "BUDDY_V1_CUMULATIVE",
    "buddy_v1",
    "BuddyWorkloadResult",
    "fill_and_free",
    "fill_and_reclaim",
    "FILL_AND_RECLAIM_ORDERS",
    "kmalloc_mix",
    "pool_vs_malloc",
    "bio_writeback",
    "machine_mix",
    "reclaim_run",
    "compaction_frames",
]

#: buddy-v1 (benchmarks/README.md): order weights 60/20/10/6 for orders 0-3, 4/7 each for 4-10.
BUDDY_V1_ORDER_WEIGHTS = (60, 20, 10, 6) + (4 / 7,) * 7
#: Share of operations that allocate; the rest free a random live block.
BUDDY_V1_ALLOC_SHARE = 0.55


def _cumulative(weights):
    total, acc, out = sum(weights), 0.0, []
    for w in weights[:-1]:
        acc += w
        out.append(acc / total)
    return tuple(out)


#: Cumulative order weights of buddy-v1: ``bisect_right(BUDDY_V1_CUMULATIVE, u)``
#: turns a uniform ``u`` in [0, 1) into an order.
BUDDY_V1_CUMULATIVE = _cumulative(BUDDY_V1_ORDER_WEIGHTS)


class BuddyWorkloadResult:
    """What a workload run did: counts, the live blocks it left, samples."""

    def __init__(self, ops, allocs, frees, failures, live, samples, pinned=None):
        self.ops = ops
        self.allocs = allocs
        self.frees = frees
        self.failures = failures
        self.live = live
        self.samples = samples
        #: long-lived blocks that are never freed (fill_and_reclaim), else None
        self.pinned = pinned

    def __repr__(self):
        pinned = "" if self.pinned is None else f", pinned={len(self.pinned)}"
        return (
            f"BuddyWorkloadResult(ops={self.ops}, allocs={self.allocs}, frees={self.frees}, "
            f"failures={self.failures}, live={len(self.live)}{pinned})"
        )


def buddy_v1(zone, n_ops, seed, live=None, sample_every=0, sample_order=4, progress=None):
    """Run workload buddy-v1 on ``zone`` (a :class:`memlab.Zone`).

    Each operation draws one ``random.Random(seed).random()`` value ``r``:
    below 0.55 it allocates an order drawn with weights 60/20/10/6 for orders
    0-3 and 4/7 each for orders 4-10 (``r / 0.55`` through the cumulative
    weights); otherwise it frees the live block at index ``(r - 0.55) / 0.45
    * len(live)`` (swap-remove). A failed allocation (OutOfMemory) counts as
    a failure and changes nothing. ``live`` (a list of Pages) lets a run
    continue an earlier one. With ``sample_every`` > 0, every that many
    operations a sample ``(op, nr_free_pages, fragmentation_index,
    unusable_index)`` at ``sample_order`` is recorded. ``progress(done)`` is
    called at each sample.

    On a zone with the compiled buddy core (``zone.core == "c"``) the same
    decisions are drawn in Python and replayed in C (:meth:`CZone.replay`):
    the same blocks, failures and samples, many times faster.
    """
    rng = random.Random(seed)
    rand = rng.random
    live = [] if live is None else live
    if getattr(zone, "replay", None) is not None:
        return _buddy_v1_replay(zone, n_ops, rand, live, sample_every, sample_order, progress)
    alloc, free = zone.alloc_pages, zone.free_pages
    share = BUDDY_V1_ALLOC_SHARE
    rest = 1.0 - share
    cum = BUDDY_V1_CUMULATIVE
    allocs = frees = failures = 0
    samples = []
    step = sample_every if sample_every > 0 else n_ops + 1
    done = 0
    while done < n_ops:
        chunk = min(step, n_ops - done)
        for _ in range(chunk):
            r = rand()
            if r < share:
                try:
                    live.append(alloc(bisect_right(cum, r / share)))
                    allocs += 1
                except OutOfMemory:
                    failures += 1
            elif live:
                i = int((r - share) / rest * len(live))
                page = live[i]
                last = live.pop()
                if i < len(live):
                    live[i] = last
                free(page, page.order)
                frees += 1
        done += chunk
        if sample_every > 0:
            samples.append(
                (done, zone.nr_free_pages, zone.fragmentation_index(sample_order), zone.unusable_index(sample_order))
            )
            if progress is not None:
                progress(done)
    return BuddyWorkloadResult(n_ops, allocs, frees, failures, live, samples)


def _buddy_v1_replay(zone, n_ops, rand, live, sample_every, sample_order, progress):
    """buddy_v1() through ``zone.replay``: the decisions drawn in chunks
    (an order to allocate, or the fraction of the live list to free)."""
    share, rest, cum = BUDDY_V1_ALLOC_SHARE, 1.0 - BUDDY_V1_ALLOC_SHARE, BUDDY_V1_CUMULATIVE
    samples = []
    base = 0

    def sample(k):
        done = base + k
        samples.append(
            (done, zone.nr_free_pages, zone.fragmentation_index(sample_order), zone.unusable_index(sample_order))
        )
        if progress is not None:
            progress(done)

    every = sample_every if sample_every > 0 else 0
    chunk = every * max(1, 65536 // every) if every else 65536
    allocs = frees = failures = 0
    while base < n_ops:
        n = min(chunk, n_ops - base)
        ops = []
        for _ in range(n):
            r = rand()
            ops.append(bisect_right(cum, r / share) if r < share else (r - share) / rest)
        a, f, x = zone.replay(ops, live, every, sample)
        allocs, frees, failures = allocs + a, frees + f, failures + x
        base += n
    if every and n_ops % every:
        sample(0)  # the last, shorter stretch (base == n_ops)
    return BuddyWorkloadResult(n_ops, allocs, frees, failures, live, samples)


assert len(BUDDY_V1_ORDER_WEIGHTS) == NR_PAGE_ORDERS


def fill_and_free(zone, seed, free_share=0.5, order=0):
    """Fill ``zone`` with blocks of ``order``, then free a seeded random
    ``free_share`` of them: the textbook picture of external fragmentation
    (much memory free, little of it contiguous). Returns the live Pages."""
    if not 0.0 <= free_share <= 1.0:
        raise BadSize(f"free_share {free_share!r} must be between 0 and 1")
    rng = random.Random(seed)
    live = []
    while True:
        try:
            live.append(zone.alloc_pages(order))
        except OutOfMemory:
            break
    rng.shuffle(live)
    cut = round(len(live) * free_share)
    for page in live[:cut]:
        zone.free_pages(page, order)
    kept = live[cut:]
    kept.sort(key=lambda p: p.pfn)
    return kept


#: fill_and_reclaim: the orders of its allocations, drawn uniformly from this tuple.
FILL_AND_RECLAIM_ORDERS = (0, 0, 0, 0, 1, 1, 2, 3)


def fill_and_reclaim(
    zone,
    n_ops,
    seed,
    pinned_share=0.01,
    low=0.02,
    high=0.70,
    sample_every=0,
    sample_order=9,
    progress=None,
    gfp=None,
):
    """Fill ``zone``, reclaim, fill again: external fragmentation with plenty
    of memory free.

    Most allocations are short-lived, like page-cache pages: the zone fills
    until less than ``low`` of it is free (or an allocation fails), then
    "reclaim" frees seeded random short-lived blocks until more than
    ``high`` is free, and the cycle repeats. A ``pinned_share`` of the
    allocations is long-lived (a kernel object, a page table): it is never
    freed. Orders are drawn from :data:`FILL_AND_RECLAIM_ORDERS`. The pinned
    blocks end up scattered over the zone, so after reclaim most memory is
    free but hardly any large block can form: the failure of a large request
    is then due to fragmentation, not to a lack of memory. (The kernel's
    answer, grouping allocations by mobility so that unmovable ones share
    pageblocks, is not modelled by a plain :class:`memlab.Zone`.)

    ``gfp=(pinned_gfp, short_gfp)``, for a :class:`memlab.MobilityZone`:
    each allocation is first drawn pinned or not and asks with that GFP
    expression (e.g. ``("GFP_KERNEL", "GFP_HIGHUSER_MOVABLE")``), so that the
    zone can group them (the draws then come in another order: the same seed
    gives another run than without ``gfp``).

    One operation is one allocation or one free. Samples, every
    ``sample_every`` operations, are ``(op, nr_free_pages,
    fragmentation_index, unusable_index)`` at ``sample_order``, as
    :func:`buddy_v1` records them. Returns a :class:`BuddyWorkloadResult`
    whose ``pinned`` lists the long-lived blocks.
    """
    for label, value in (("pinned_share", pinned_share), ("low", low), ("high", high)):
        if not 0.0 <= value <= 1.0:
            raise BadSize(f"fill_and_reclaim: {label} {value!r} must be between 0 and 1")
    if not low < high:
        raise BadSize(
            f"fill_and_reclaim: low {low!r} must be below high {high!r} (fill down to low, reclaim up to high)"
        )
    rng = random.Random(seed)
    rand = rng.random
    orders = FILL_AND_RECLAIM_ORDERS
    alloc, free = zone.alloc_pages, zone.free_pages
    low_pages, high_pages = low * zone.managed_pages, high * zone.managed_pages
    live, pinned, samples = [], [], []
    allocs = frees = failures = 0
    filling = True
    for done in range(1, n_ops + 1):
        if (filling or not live) and gfp is not None:
            is_pinned = rand() < pinned_share
            try:
                page = alloc(orders[int(rand() * len(orders))], gfp[0] if is_pinned else gfp[1])
            except OutOfMemory:
                failures += 1
                filling = False
            else:
                allocs += 1
                (pinned if is_pinned else live).append(page)
                if zone.nr_free_pages < low_pages:
                    filling = False
        elif filling or not live:
            try:
                page = alloc(orders[int(rand() * len(orders))])
            except OutOfMemory:
                failures += 1
                filling = False
            else:
                allocs += 1
                (pinned if rand() < pinned_share else live).append(page)
                if zone.nr_free_pages < low_pages:
                    filling = False
        else:
            i = int(rand() * len(live))
            page = live[i]
            last = live.pop()
            if i < len(live):
                live[i] = last
            free(page, page.order)
            frees += 1
            if zone.nr_free_pages > high_pages:
                filling = True
        if sample_every > 0 and done % sample_every == 0:
            samples.append(
                (done, zone.nr_free_pages, zone.fragmentation_index(sample_order), zone.unusable_index(sample_order))
            )
            if progress is not None:
                progress(done)
    return BuddyWorkloadResult(n_ops, allocs, frees, failures, live, samples, pinned)


def kmalloc_mix(machine, n, seed, max_size=4096):
    """``n`` kmalloc calls with sizes drawn log-uniformly from 1 to
    ``max_size`` bytes (small requests are more common, as in a kernel),
    seeded. Returns ``[(address, size)]``; nothing is freed."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        size = max(1, int(2 ** rng.uniform(0, max_size.bit_length() - 1)))
        out.append((machine.kmalloc(size), size))
    return out


def pool_vs_malloc(n, seed, object_size=48, max_live=2000):
    """The same seeded alloc/free sequence of ``object_size``-byte objects on
    an :class:`memlab.mempool.ObjectPool` and on :class:`memlab.heap.Malloc`,
    interleaved with long-lived odd-sized mallocs on the heap (as a real
    program has). Returns a dict of figures per allocator: operations per
    second in the simulation, bytes reserved, overhead, fragmentation."""
    import time

    from .heap import Malloc
    from .userpool import ObjectPool

    rng = random.Random(seed)
    ops = []
    live = 0
    for _ in range(n):
        if live < max_live and (live == 0 or rng.random() < 0.55):
            ops.append(1)
            live += 1
        else:
            ops.append(-rng.random())
            live -= 1
    results = {}
    pool = ObjectPool(object_size, max_live)
    heap = Malloc()
    for name, alloc, free in (
        ("object pool", pool.allocate, pool.deallocate),
        ("malloc", lambda: heap.malloc(object_size), heap.free),
    ):
        rng2 = random.Random(seed + 1)
        held = []
        others = []
        start = time.perf_counter()
        for op in ops:
            if op > 0:
                held.append(alloc())
                if name == "malloc" and rng2.random() < 0.05:
                    others.append(heap.malloc(rng2.randint(20, 700)))  # long-lived neighbours
            else:
                i = int(-op * len(held))
                held[i], held[-1] = held[-1], held[i]
                free(held.pop())
        elapsed = time.perf_counter() - start
        if name == "object pool":
            results[name] = {
                "ops_per_s": n / elapsed,
                "reserved_bytes": pool.chunk_bytes,
                "live_bytes": pool.in_use * object_size,
                "overhead_per_object": pool.stride - object_size,
                "fragmentation": 0.0,
                "peak_live": pool.peak,
            }
        else:
            st = heap.stats()
            results[name] = {
                "ops_per_s": n / elapsed,
                "reserved_bytes": st["heap_size"],
                "live_bytes": len(held) * object_size,
                "overhead_per_object": (st["chunk_bytes_in_use"] - st["requested"]) / max(1, len(held) + len(others)),
                "fragmentation": st["fragmentation"],
                "free_chunks": st["free_chunks"],
                "searches_per_malloc": heap.searches / max(1, sum(1 for o in ops if o > 0)),
            }
    return results


def bio_writeback(machine, pool, n_steps, seed, submit_per_step=3, io_time=(2, 6), fail_probability=60):
    """A seeded block-I/O scenario: each step the writeback thread submits
    up to ``submit_per_step`` bios (``mempool_alloc(pool, GFP_NOIO)``), and
    bios whose I/O finished are freed (``mempool_free``), after a random
    ``io_time`` steps. The backing allocator fails ``fail_probability`` % of
    the time for allocations that may not reclaim (failslab / fail_page_alloc,
    seeded): memory is tight. Returns per-step ``(step, curr_nr, in_flight,
    waiting)`` samples and the number of bios completed; every submitted
    bio completes: the reserve guarantees forward progress."""
    from .mempool import MempoolWaiter

    rng = random.Random(seed)
    for fa in (machine.failslab, machine.fail_page_alloc):
        fa.configure(probability=fail_probability, times=-1, seed=seed, ignore_gfp_reclaim=False, min_order=0)
    in_flight = []  # (done_at_step, element)
    waiting = []
    completed = 0
    submitted = 0
    samples = []
    try:
        for step in range(n_steps):
            for w in [w for w in waiting if w.state == "done"]:
                waiting.remove(w)
                in_flight.append((step + rng.randint(*io_time), w.element))
            if not waiting:
                for _ in range(submit_per_step):
                    result = machine.mempool_alloc(pool, "GFP_NOIO", task="writeback")
                    submitted += 1
                    if isinstance(result, MempoolWaiter):
                        waiting.append(result)
                        break
                    in_flight.append((step + rng.randint(*io_time), result))
            for item in [x for x in in_flight if x[0] <= step]:
                in_flight.remove(item)
                machine.mempool_free(item[1], pool)
                completed += 1
            samples.append((step, pool.curr_nr, len(in_flight), sum(w.state == "waiting" for w in waiting)))
    finally:
        machine.failslab.disable()
        machine.fail_page_alloc.disable()
    return {
        "samples": samples,
        "submitted": submitted,
        "completed": completed,
        "in_flight": [e for _, e in in_flight],
        "waiting": waiting,
    }


def machine_mix(machine, n_ops, seed, max_live=256):
    """A seeded mix of every allocator's calls on one :class:`memlab.Machine`,
    each kind's live set bounded by ``max_live``: alloc_pages/free_pages
    through the zonelist (orders 0-3), kmalloc/kfree (8 bytes to 8 KiB),
    kmem_cache_alloc/free, mempool_alloc/free, and a process that mmaps,
    touches (reads and writes, so page faults, the zero page and
    copy-on-write frames), munmaps, moves brk and goes through the TLB.
    At the end everything is freed, the process exits and the cache and
    pool are destroyed, so calls can be repeated. Used to check that host
    memory per simulated operation stays O(1) (tests/test_scale.py,
    ``make bench``). Returns the count of calls that failed with
    :class:`OutOfMemory` (none on a machine of 256 MiB or more).
    """
    rng = random.Random(seed)
    cache = machine.kmem_cache_create(f"mix-{seed}", 192)
    pool = machine.mempool_create_slab_pool(8, cache)
    proc = machine.spawn("mix", seed=seed)
    pages, objs, kmem, elems, maps = [], [], [], [], []
    failures = 0
    heap = proc.brk()
    machine.tlb.switch_to(proc, cpu=0)

    def drop(live):
        i = rng.randrange(len(live))
        live[i], live[-1] = live[-1], live[i]
        return live.pop()

    for _ in range(n_ops):
        kind = rng.randrange(6)
        grow = rng.random() < 0.5
        try:
            if kind == 0:
                if grow and len(pages) < max_live:
                    order = rng.randrange(4)
                    pages.append((machine.alloc_pages(order, "GFP_KERNEL"), order))
                elif pages:
                    page, order = drop(pages)
                    machine.free_pages(page, order)
            elif kind == 1:
                if grow and len(kmem) < max_live:
                    kmem.append(machine.kmalloc(rng.randrange(8, 8193)))
                elif kmem:
                    machine.kfree(drop(kmem))
            elif kind == 2:
                if grow and len(objs) < max_live:
                    objs.append(machine.kmem_cache_alloc(cache))
                elif objs:
                    machine.kmem_cache_free(cache, drop(objs))
            elif kind == 3:
                if grow and len(elems) < max_live:
                    elems.append(machine.mempool_alloc(pool, "GFP_NOIO"))
                elif elems:
                    machine.mempool_free(drop(elems), pool)
            elif kind == 4:
                if grow and len(maps) < 16:
                    length = rng.randrange(1, 9) * 4096
                    maps.append((proc.mmap(length=length), length))
                elif maps:
                    addr, length = drop(maps)
                    proc.munmap(addr, length)
            elif maps:
                addr, length = maps[rng.randrange(len(maps))]
                where = addr + rng.randrange(length)
                action = rng.randrange(4)
                if action == 0:
                    proc.touch(where, write=rng.random() < 0.5)
                elif action == 1:
                    proc.write(where & ~7, rng.randrange(1, 256).to_bytes(8, "little"))
                elif action == 2:
                    machine.tlb.access(proc, where, write=False)
                else:
                    proc.brk(heap + rng.randrange(4) * 4096)
        except OutOfMemory:
            failures += 1
    for page, order in pages:
        machine.free_pages(page, order)
    for addr in kmem:
        machine.kfree(addr)
    for elem in elems:
        machine.mempool_free(elem, pool)
    machine.mempool_destroy(pool)
    for obj in objs:
        machine.kmem_cache_free(cache, obj)
    machine.kmem_cache_destroy(cache)
    proc.exit()
    return failures


def reclaim_run(machine, file_size=32 << 20, anon_size=40 << 20, step=1 << 20):
    """Memory pressure on a machine made with ``reclaim=True``: a process
    reads a file of ``file_size`` bytes (``step`` at a time: the page cache
    grows), then another process writes to ``anon_size`` bytes of anonymous
    memory, ``step`` at a time. kswapd and, if it must, direct reclaim free
    page-cache pages; if the anonymous memory does not fit, the OOM killer
    ends the run. Returns ``(samples, marks, killed)``: a sample per step,
    ``(step, free pages, page-cache pages, pages kswapd reclaimed in the
    step, pages reclaimed directly, min, low, high)``, the watermarks as
    the allocator sees them then (with any boost, ``wmark_pages()``), all
    summed over the zones; ``marks``, the watermarks without boost; the name
    of the process the OOM killer chose, or None."""
    if not getattr(machine, "reclaim", False):
        raise BadSize("reclaim_run: the machine does not reclaim; make it with memlab.Machine(..., reclaim=True)")
    ev = machine.vm_events
    zones = machine.populated_zones
    marks = {name: sum(z.wmark_pages(name) for z in zones) for name in ("min", "low", "high")}
    samples = []
    last = [ev["pgsteal_kswapd"], ev["pgsteal_direct"]]

    def sample():
        cache = sum(len(f.page_cache) for f in machine.cached_files.values())
        now = [ev["pgsteal_kswapd"], ev["pgsteal_direct"]]
        marks_now = [sum(z.wmark_pages(name) for z in zones) for name in ("min", "low", "high")]
        free = sum(z.nr_free_pages for z in zones)
        samples.append((len(samples), free, cache, now[0] - last[0], now[1] - last[1], *marks_now))
        last[:] = now

    reader = machine.spawn("reader")
    f = machine.create_file("/var/data", file_size)
    fd = reader.sys.open(f)
    buf = reader.mmap(length=step)
    for _ in range(0, file_size, step):
        reader.sys.read(fd, buf, step)
        sample()
    hog = machine.spawn("hog")
    area = hog.mmap(length=anon_size)
    killed = None
    try:
        for start in range(0, anon_size, step):
            for off in range(start, min(start + step, anon_size), 4096):
                hog.touch(area + off, write=True)
            sample()
    except OutOfMemory:
        killed = hog.name if hog.killed_by else None
        sample()
    return samples, marks, killed


def compaction_frames(zone, n_frames=4, order=-1):
    """Compact ``zone`` (a :class:`memlab.MobilityZone`) and keep
    ``n_frames`` pictures of it for :func:`memlab.plots.compaction_strip`:
    before, evenly spaced batches, after. Returns ``(result, frames)``,
    frames as ``(page_map, migrate offset, free offset, label)`` with the
    scanners' positions counted from the zone's first pfn."""
    base = zone.zone_start_pfn
    first = (zone.page_map(), 0, zone.spanned_pages - 1, "before")
    snaps = []
    result = zone.compact_zone(order, on_batch=lambda mp, fp: snaps.append((zone.page_map(), mp - base, fp - base)))
    middle = max(0, n_frames - 2)
    picks = sorted({(i + 1) * len(snaps) // (middle + 1) - 1 for i in range(middle)} - {-1}) if snaps else []
    frames = [first] + [(*snaps[i], f"after batch {i + 1} of {len(snaps)}") for i in picks]
    frames.append((zone.page_map(), result.migrate_pfn - base, result.free_pfn - base, "scanners met"))
    return result, frames
