"""The steps of a :class:`~memlab.page_alloc.mobility.MobilityZone`
operation in words: what its ``explain()`` prints.

Kernel: the functions named in each sentence, mm/page_alloc.c (Linux 6.12).
"""

from __future__ import annotations

__all__ = ["explain_mobility_step"]

_NAMES = ("Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate")
_PAGEBLOCK_ORDER = 9


def _block(pfn):
    return pfn >> _PAGEBLOCK_ORDER


def _sentence(step):
    kind = step[0]
    if kind == "smallest":
        _, pfn, current, mt = step
        return f"__rmqueue_smallest(): the {_NAMES[mt]} list of free_area[{current}] gives the block at pfn {pfn}" + (
            f"; expand() returns the halves it does not need to the {_NAMES[mt]} lists." if current else "."
        )
    if kind == "claim_whole":
        _, pfn, current, old, new = step
        n = 1 << (current - _PAGEBLOCK_ORDER)
        blocks = f"pageblock {_block(pfn)}" if n == 1 else f"pageblocks {_block(pfn)}-{_block(pfn) + n - 1}"
        return (
            f"__rmqueue_claim(): no {_NAMES[new]} block; the largest fallback block is the {_NAMES[old]} "
            f"order-{current} block at pfn {pfn}: {blocks} claimed whole for {_NAMES[new]} "
            f"(try_to_steal_block(), order >= pageblock_order)."
        )
    if kind == "claim":
        _, start, old, new, free, alike, moved = step
        return (
            f"__rmqueue_claim(): {_NAMES[old]} pageblock {_block(start)} (pfns {start}-{start + 511}) has {free} free "
            f"and {alike} compatible pages, at least half of 512: it becomes {_NAMES[new]} and its {moved} free "
            f"pages move to the {_NAMES[new]} lists (__move_freepages_block())."
        )
    if kind == "no_claim":
        _, start, old, new, free, alike = step
        return (
            f"__rmqueue_claim(): {_NAMES[old]} pageblock {_block(start)} has only {free} free and {alike} "
            f"compatible pages (fewer than 256): not claimed."
        )
    if kind == "steal":
        _, pfn, current, fallback, mt = step
        return (
            f"__rmqueue_steal(): a {_NAMES[mt]} allocation takes the order-{current} block at pfn {pfn} from the "
            f"{_NAMES[fallback]} lists; pageblock {_block(pfn)} stays {_NAMES[fallback]}: it is now mixed "
            f"(fragmentation the grouping could not avoid)."
        )
    if kind == "retry":
        return (
            "Nothing found without fragmenting (ALLOC_NOFRAGMENT): get_page_from_freelist() tries again "
            "allowing a steal."
        )
    if kind == "bulk":
        _, cpu, order, mt, got, batch = step
        return (
            f"cpu {cpu}'s {_NAMES[mt]} order-{order} per-CPU list was empty: rmqueue_bulk() moved {got} of "
            f"the {batch} blocks nr_pcp_alloc() asked for to it."
        )
    if kind == "pcp_take":
        _, cpu, order, mt, pfn = step
        return f"rmqueue_pcplist(): pfn {pfn} taken from the head of cpu {cpu}'s {_NAMES[mt]} order-{order} list."
    if kind == "pcp_put":
        _, cpu, order, mt, count, high = step
        return (
            f"free_unref_page(): to the head of cpu {cpu}'s {_NAMES[mt]} order-{order} list; the lists now "
            f"hold {count} pages (drained at high = {high})."
        )
    if kind == "drain":
        _, cpu, freed = step
        return f"free_pcppages_bulk(): {freed} pages from the tails of cpu {cpu}'s lists back to the buddy lists."
    if kind == "isolate":
        _, start, end, n, finish = step
        why = "the rest of the pageblock (a second pass over it)" if finish else "at most COMPACT_CLUSTER_MAX = 32"
        return f"isolate_migratepages_block(): pfns {start}-{end - 1} scanned, {n} movable pages taken ({why})."
    if kind == "migrate":
        _, src, dst, order = step
        what = "page" if not order else f"order-{order} block"
        return f"migrate_pages(): the movable {what} at pfn {src} copied to the free pfn {dst}; the old one freed."
    if kind == "buddy_free":
        _, pfn, order, final, to_tail = step
        where = "tail" if to_tail else "head"
        merged = f"merged up to order {final}" if final > order else "no merge"
        return f"__free_one_page(): {merged}; added at the {where} of its list."
    return str(step)


def explain_mobility_step(zone, record) -> list[str]:
    """Sentences for one trail record ``(op, pfn, order, migratetype, cpu,
    steps)`` of a MobilityZone."""
    op, pfn, order, mt, cpu, steps = record
    if op == "compact":
        what = "the whole zone (compact_memory)" if order < 0 else f"an order-{order} request"
        head = f"compact_zone() for {what}: {mt}; the migration scanner stopped at pfn {pfn}. The last moves:"
        return [head] + [_sentence(s) for s in steps]
    if op == "alloc":
        head = f"alloc_pages(order={order}, {_NAMES[mt]}) on cpu {cpu}: pfn {pfn}."
    else:
        head = f"free_pages(pfn {pfn}, order {order}) on cpu {cpu}; its pageblock is {_NAMES[mt]}."
    return [head] + [_sentence(s) for s in steps]
