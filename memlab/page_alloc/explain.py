"""The buddy allocator's steps in words: what ``Zone.explain()`` prints.

Kernel: the same steps as mm/page_alloc.c __rmqueue_smallest() and expand()
for an allocation, __free_one_page() and buddy_merge_likely() for a free.
"""

from __future__ import annotations

from collections import namedtuple

from ..errors import BadFree, reject, wrong_type
from ..units import MAX_PAGE_ORDER, NR_PAGE_ORDERS, PAGE_SIZE, check_order, format_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

__all__ = ["AllocStep", "FreeStep", "diagnose_bad_free", "explain_step", "step_record"]


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


def diagnose_bad_free(zone, page, order, page_class) -> NoReturn:
    """Raise the :class:`BadFree` that says what is wrong with a free
    ``zone.free_pages(page, order)`` refused (``page_class``: the Page
    type). Reads the zone through its public queries only, so either
    buddy core gives the same message."""
    if page.__class__ is page_class:
        pfn = page.pfn
        if pfn.__class__ is not int:
            raise reject(
                BadFree, pfn, f"free_pages: {page!r} has pfn {pfn!r} of type {type(pfn).__name__}; a PFN is an int"
            )
    elif page.__class__ is int:
        pfn = page
    else:
        raise wrong_type(
            BadFree,
            f"free_pages: {page!r} ({type(page).__name__}) is neither a Page nor a PFN (an int, not a bool)",
        )
    check_order(order, "free_pages")
    if not zone.contains_pfn(pfn):
        raise BadFree(
            f"free_pages: pfn {pfn} is outside zone {zone.name} (pfns {zone.zone_start_pfn}..{zone.zone_end_pfn - 1})"
        )
    if not zone.is_managed(pfn):
        raise BadFree(
            f"free_pages: pfn {pfn} of zone {zone.name} is reserved (a hole or kept by the kernel at boot): "
            f"the buddy allocator never owned it"
        )
    have = zone.allocated_order(pfn)
    if have is not None:
        raise BadFree(
            f"free_pages: the block at pfn {pfn} was allocated with order {have} but freed with "
            f"order {order}; __free_pages() must get the order alloc_pages() used "
            f"(the kernel would corrupt its free lists)"
        )
    free_head = zone.free_block_containing(pfn)
    if free_head is not None:
        head, o = free_head
        raise BadFree(
            f"free_pages: double free of pfn {pfn}: it is already free, part of the free order-{o} block at pfn {head}"
        )
    for o in range(1, NR_PAGE_ORDERS):
        head = pfn & ~((1 << o) - 1)
        if zone.allocated_order(head) == o:
            raise BadFree(
                f"free_pages: pfn {pfn} lies inside the order-{o} block that starts at pfn {head}; "
                f"free a block by its first page"
            )
    raise BadFree(f"free_pages: pfn {pfn} was never allocated")
