"""The buddy allocator's steps in words: what ``Zone.explain()`` prints.

Kernel: the same steps as mm/page_alloc.c __rmqueue_smallest() and expand()
for an allocation, __free_one_page() and buddy_merge_likely() for a free.
"""

from __future__ import annotations

from collections import namedtuple

from ..units import MAX_PAGE_ORDER, PAGE_SIZE, format_size

__all__ = ["AllocStep", "FreeStep", "explain_step", "step_record"]


class AllocStep(namedtuple("AllocStep", "op pfn order from_order")):
    """One allocation in a zone's trail: the block at ``pfn`` of ``order``
    was cut from a free block of ``from_order`` (``== order``: no split)."""

    __slots__ = ()


class FreeStep(namedtuple("FreeStep", "op pfn order final_order to_tail")):
    """One free in a zone's trail: the block at ``pfn`` of ``order`` merged
    up to ``final_order`` and went to the tail (``to_tail``) or the head of
    its free list."""

    __slots__ = ()


def step_record(raw: tuple) -> AllocStep | FreeStep:
    """A raw trail tuple as its record."""
    return AllocStep(*raw) if raw[0] == "alloc" else FreeStep(*raw)


def explain_step(zone, record: tuple) -> list[str]:
    """The steps of one buddy operation of ``zone`` in words.

    ``record`` is an entry of the zone's trail: ``("alloc", pfn, order,
    from_order)`` or ``("free", pfn, order, final_order, to_tail)``
    (an :class:`AllocStep` / :class:`FreeStep` or the plain tuple).
    """
    if record[0] == "alloc":
        _, pfn, order, current = record
        steps = []
        if current > order:
            if current - order > 2:
                empties = f"free_area[{order}] to free_area[{current - 1}] are"
            else:
                empties = " and ".join(f"free_area[{o}]" for o in range(order, current))
                empties += " are" if current - order > 1 else " is"
            steps.append(
                f"alloc_pages(order={order}): {empties} empty; __rmqueue_smallest takes the head "
                f"of free_area[{current}]: the order-{current} block at pfn {pfn} "
                f"(pfns {pfn}-{pfn + (1 << current) - 1})."
            )
            for high in range(current - 1, order - 1, -1):
                half = pfn + (1 << high)
                steps.append(
                    f"expand(): order-{high + 1} block at pfn {pfn} split: upper half pfn {half}"
                    + (f"-{half + (1 << high) - 1}" if high else "")
                    + f" goes to the head of free_area[{high}], lower half pfn {pfn} kept."
                )
        else:
            steps.append(
                f"alloc_pages(order={order}): __rmqueue_smallest takes the head of "
                f"free_area[{order}]: the block at pfn {pfn}; no split needed."
            )
        steps.append(
            f"Returned pfn {pfn} (order {order}, {1 << order} page{'s' if order else ''}, "
            f"{format_size(PAGE_SIZE << order)})."
        )
        return steps
    _, pfn, order, final, to_tail = record
    steps = [f"free_pages(pfn {pfn}, order {order})."]
    cur = pfn
    for o in range(order, final):
        buddy = cur ^ (1 << o)
        merged = cur & buddy
        steps.append(
            f"Buddy pfn {buddy} is free at order {o}: take it off free_area[{o}] and merge into "
            f"the order-{o + 1} block at pfn {merged}."
        )
        cur = merged
    if final == MAX_PAGE_ORDER:
        steps.append(f"Order {final} is MAX_PAGE_ORDER: no further merging.")
    else:
        buddy = cur ^ (1 << final)
        where = "" if zone.contains_pfn(buddy) else f" (it lies outside zone {zone.name})"
        steps.append(f"Buddy pfn {buddy} is not free at order {final}{where}: merging stops.")
    if to_tail:
        parent = cur & ~(1 << final)
        steps.append(
            f"Added at the tail of free_area[{final}]: buddy_merge_likely() saw that the buddy "
            f"(pfn {parent ^ (1 << (final + 1))}) of its parent block at pfn {parent} is free at "
            f"order {final + 1}, so this block may merge soon; keep it for last."
        )
    else:
        steps.append(f"Added at the head of free_area[{final}].")
    return steps
