"""Page geometry constants and size parsing/printing (x86-64, 4 KiB pages).

Kernel: include/asm-generic/page.h / arch/x86/include/asm/page_types.h
(PAGE_SHIFT 12), include/linux/mmzone.h (MAX_PAGE_ORDER, NR_PAGE_ORDERS).
"""

import re

from .errors import BadOrder, BadSize, reject

__all__ = [
    "PAGE_SHIFT",
    "PAGE_SIZE",
    "MAX_PAGE_ORDER",
    "NR_PAGE_ORDERS",
    "MAX_ORDER_NR_PAGES",
    "parse_size",
    "format_size",
    "pages_for",
    "order_for_size",
    "check_order",
]

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
#: Largest buddy order, inclusive (Linux >= 6.4 meaning): 1024 pages = 4 MiB.
MAX_PAGE_ORDER = 10
#: Number of free lists per zone: orders 0..MAX_PAGE_ORDER.
NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1
MAX_ORDER_NR_PAGES = 1 << MAX_PAGE_ORDER

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "kb": 1 << 10,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mb": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 1 << 30,
    "gib": 1 << 30,
    "t": 1 << 40,
    "tb": 1 << 40,
    "tib": 1 << 40,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value):
    """Bytes from an int or a string such as ``"1GiB"``, ``"16 MiB"``, ``"4k"``.

    Units are binary (1 KiB = 1024 bytes, as the kernel counts); ``MB`` and
    ``GB`` are read as MiB and GiB, the way ``free`` and ``/proc`` mean them.
    """
    if isinstance(value, bool):
        raise BadSize(f"size {value!r} is a bool; give bytes or a string like '1GiB'")
    if isinstance(value, int):
        if value < 0:
            raise BadSize(f"size {value} is negative; sizes are byte counts >= 0")
        return value
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m and m.group(2).lower() in _UNITS:
            number = float(m.group(1)) * _UNITS[m.group(2).lower()]
            if number != int(number):
                raise BadSize(f"size {value!r} is not a whole number of bytes")
            return int(number)
        raise BadSize(f"size {value!r} is not understood; write e.g. 4096, '64KiB', '1GiB'")
    raise BadSize(f"size {value!r} has type {type(value).__name__}; give an int or a string like '1GiB'")


def format_size(nbytes):
    """``4096 -> '4 KiB'``, ``6291456 -> '6 MiB'``, ``1536 -> '1.5 KiB'``."""
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if nbytes >= 1 << shift:
            value = nbytes / (1 << shift)
            text = f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{text} {unit}"
    return f"{nbytes} B"


def pages_for(nbytes):
    """Number of pages needed to hold ``nbytes`` (rounded up)."""
    return (nbytes + PAGE_SIZE - 1) >> PAGE_SHIFT


def order_for_size(nbytes):
    """The buddy order the kernel's ``get_order()`` gives for ``nbytes``.

    Kernel: include/asm-generic/getorder.h get_order(): the smallest order
    whose block (PAGE_SIZE << order) holds ``nbytes``.
    """
    if nbytes <= 0:
        raise BadSize(f"size {nbytes} must be > 0 to have an order")
    pages = pages_for(nbytes)
    return (pages - 1).bit_length()


def check_order(order: object, what: str = "alloc_pages") -> None:
    """Raise :class:`BadOrder` unless ``order`` is an int in 0..MAX_PAGE_ORDER."""
    if order.__class__ is not int:
        raise reject(
            BadOrder, order, f"{what}: order {order!r} must be an int from 0 to MAX_PAGE_ORDER {MAX_PAGE_ORDER}"
        )
    if order < 0:
        raise BadOrder(f"{what}: order {order} is negative; orders run 0..{MAX_PAGE_ORDER} (block = 2**order pages)")
    if order > MAX_PAGE_ORDER:
        big = format_size(PAGE_SIZE << order) if order < 64 else f"2**{order + PAGE_SHIFT} bytes"
        raise BadOrder(
            f"{what}: order {order} exceeds MAX_PAGE_ORDER {MAX_PAGE_ORDER} (the largest buddy block is "
            f"{format_size(PAGE_SIZE << MAX_PAGE_ORDER)}); the kernel WARNs and returns NULL. "
            f"Use vmalloc (virtually contiguous) or CMA / alloc_contig_range() for {big}"
        )
