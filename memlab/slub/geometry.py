"""SLUB's arithmetic: flag values, object layout and slab order, kmalloc
size classes.

Kernel: mm/slub.c order_objects(), calc_slab_order(), calculate_order();
mm/slab_common.c calculate_alignment(); include/linux/slab.h flag values
and kmalloc_index(); include/linux/poison.h (Linux 6.12).

Checked against the host: with its CPU count, every row of the host's real
/proc/slabinfo (235 caches with 2 CPUs) has the objsize, objperslab and
pagesperslab these functions compute (tests/test_slub.py).
"""

from __future__ import annotations

from ..errors import BadCache
from ..units import MAX_PAGE_ORDER, PAGE_SHIFT, PAGE_SIZE, order_for_size

__all__ = [
    "calculate_order",
    "calc_slab_order",
    "calculate_alignment",
    "order_objects",
    "kmalloc_index",
    "kmalloc_size_of_index",
    "kmalloc_name",
    "parse_slub_debug",
    "SLAB_CONSISTENCY_CHECKS",
    "SLAB_RED_ZONE",
    "SLAB_POISON",
    "SLAB_KMALLOC",
    "SLAB_HWCACHE_ALIGN",
    "SLAB_CACHE_DMA",
    "SLAB_CACHE_DMA32",
    "SLAB_STORE_USER",
    "SLAB_RECLAIM_ACCOUNT",
    "SLAB_ACCOUNT",
    "SLAB_DEBUG_FLAGS",
    "TRACK_SIZE",
    "OBJECT_POISON",
    "POISON_INUSE",
    "POISON_FREE",
    "POISON_END",
    "SLUB_RED_INACTIVE",
    "SLUB_RED_ACTIVE",
    "ZERO_SIZE_PTR",
    "WORD",
    "CACHE_LINE_SIZE",
    "ARCH_SLAB_MINALIGN",
    "SLUB_MAX_ORDER",
    "SLUB_MIN_ORDER",
    "MAX_OBJS_PER_PAGE",
    "MIN_PARTIAL",
    "MAX_PARTIAL",
    "KMALLOC_SHIFT_LOW",
    "KMALLOC_SHIFT_HIGH",
    "KMALLOC_MAX_CACHE_SIZE",
    "KMALLOC_TYPES",
    "fls",
    "align_up",
]

# include/linux/slab.h flag values used here (6.12 bit positions)
SLAB_CONSISTENCY_CHECKS = 1 << 8
SLAB_RED_ZONE = 1 << 10
SLAB_POISON = 1 << 11
SLAB_KMALLOC = 1 << 12
SLAB_HWCACHE_ALIGN = 1 << 13
SLAB_CACHE_DMA = 1 << 14
SLAB_CACHE_DMA32 = 1 << 15
SLAB_STORE_USER = 1 << 16
SLAB_RECLAIM_ACCOUNT = 1 << 18
SLAB_ACCOUNT = 1 << 26
SLAB_DEBUG_FLAGS = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER
#: sizeof(struct track) on x86-64 with CONFIG_STACKDEPOT (which SLUB_DEBUG selects):
#: addr 8, handle 4, cpu 4, pid 4, (4 padding), when 8.
TRACK_SIZE = 32
OBJECT_POISON = 1 << 31  # __OBJECT_POISON: SLUB-internal

# include/linux/poison.h
POISON_INUSE = 0x5A  # for use-uninitialised poisoning (fresh slab memory, padding)
POISON_FREE = 0x6B  # for use-after-free poisoning
POISON_END = 0xA5  # end-byte of poisoning
SLUB_RED_INACTIVE = 0xBB
SLUB_RED_ACTIVE = 0xCC

ZERO_SIZE_PTR = 0x10
WORD = 8  # sizeof(void *)
CACHE_LINE_SIZE = 64  # cache_line_size() on x86-64
ARCH_SLAB_MINALIGN = 8  # __alignof__(unsigned long long)
SLUB_MAX_ORDER = 3  # slub_max_order = PAGE_ALLOC_COSTLY_ORDER
SLUB_MIN_ORDER = 0
MAX_OBJS_PER_PAGE = 32767
MIN_PARTIAL, MAX_PARTIAL = 5, 10
KMALLOC_SHIFT_LOW, KMALLOC_SHIFT_HIGH = 3, PAGE_SHIFT + 1
KMALLOC_MAX_CACHE_SIZE = 1 << KMALLOC_SHIFT_HIGH  # 8 KiB: larger kmalloc uses alloc_pages
KMALLOC_TYPES = (
    ("normal", "kmalloc-", 0),
    ("rcl", "kmalloc-rcl-", SLAB_RECLAIM_ACCOUNT),
    ("dma", "dma-kmalloc-", SLAB_CACHE_DMA),
    ("cg", "kmalloc-cg-", SLAB_ACCOUNT),
)


# ------------------------------------------------------------------ geometry
def align_up(x, a):
    """``ALIGN(x, a)``: ``x`` rounded up to a multiple of ``a``."""
    return (x + a - 1) // a * a


def fls(x):
    """``fls()``: the position of the highest set bit (1-based, 0 for 0)."""
    return x.bit_length()


def order_objects(order, size):
    """Kernel: mm/slub.c order_objects(): objects of ``size`` in a slab of ``order``."""
    return (PAGE_SIZE << order) // size


def calc_slab_order(size, min_order, max_order, fract_leftover):
    """Kernel: mm/slub.c calc_slab_order(): the smallest order from
    ``min_order`` whose leftover is at most 1/``fract_leftover`` of the slab
    (``max_order + 1`` when none)."""
    order = min_order
    while order <= max_order:
        slab_size = PAGE_SIZE << order
        if slab_size % size <= slab_size // fract_leftover:
            break
        order += 1
    return order


def calculate_order(size, nr_cpus, slub_min_objects=0, slub_max_order=SLUB_MAX_ORDER):
    """Kernel: mm/slub.c calculate_order(): the slab order for objects of
    ``size`` bytes: at least ``min_objects = 4 * (fls(nr_cpus) + 1)`` objects
    (fewer if they do not fit in ``slub_max_order``), then the smallest order
    wasting at most 1/16 of the slab, else 1/8, 1/4, 1/2."""
    min_objects = slub_min_objects or 4 * (fls(nr_cpus) + 1)
    max_objects = max(order_objects(slub_max_order, size), 1)
    min_objects = min(min_objects, max_objects)
    min_order = max(SLUB_MIN_ORDER, order_for_size(min_objects * size))
    if order_objects(min_order, size) > MAX_OBJS_PER_PAGE:
        return order_for_size(size * MAX_OBJS_PER_PAGE) - 1
    fraction = 16
    while fraction > 1:
        order = calc_slab_order(size, min_order, slub_max_order, fraction)
        if order <= slub_max_order:
            return order
        fraction //= 2
    order = order_for_size(size)
    if order <= MAX_PAGE_ORDER:
        return order
    raise BadCache(f"objects of {size} bytes do not fit in any slab (order {order} > MAX_PAGE_ORDER)")


def calculate_alignment(flags, align, size):
    """Kernel: mm/slab_common.c calculate_alignment()."""
    if flags & SLAB_HWCACHE_ALIGN:
        ralign = CACHE_LINE_SIZE
        while size <= ralign // 2:
            ralign //= 2
        align = max(align, ralign)
    align = max(align, ARCH_SLAB_MINALIGN)
    return align_up(align, WORD)


def parse_slub_debug(value):
    """SLAB_* flags from a ``slub_debug=`` option: True (a bare
    ``slub_debug``, which means "FZPU": DEBUG_DEFAULT_FLAGS) or letters:
    F consistency checks (the object checks at alloc and free run only with
    F), Z red zones, P poisoning, U user tracking (space for the alloc and
    free tracks after each object). Kernel: mm/slub.c setup_slub_debug(),
    parse_slub_debug_flags()."""
    if value in (None, False, 0, ""):
        return 0
    if value is True:
        value = "FZPU"
    if not isinstance(value, str):
        raise BadCache(f"slub_debug {value!r}: give True or letters from 'FZPU'")
    letters = {"F": SLAB_CONSISTENCY_CHECKS, "Z": SLAB_RED_ZONE, "P": SLAB_POISON, "U": SLAB_STORE_USER}
    flags = 0
    for letter in value.upper():
        if letter not in letters:
            raise BadCache(
                f"slub_debug letter {letter!r} is not modelled (memlab has F, Z, P and U; "
                f"T tracing and A failslab are not)"
            )
        flags |= letters[letter]
    return flags


def kmalloc_index(size):
    """Kernel: include/linux/slab.h kmalloc_index(): the kmalloc cache index
    for ``size`` (1 = kmalloc-96, 2 = kmalloc-192, n = kmalloc-2**n)."""
    if size <= 8:
        return KMALLOC_SHIFT_LOW
    if 64 < size <= 96:
        return 1
    if 128 < size <= 192:
        return 2
    return (size - 1).bit_length()


def kmalloc_size_of_index(index):
    return {1: 96, 2: 192}.get(index, 1 << index)


def kmalloc_name(prefix, size):
    """The name of a kmalloc cache: ``kmalloc-96``, ``dma-kmalloc-1k``."""
    return prefix + (f"{size >> 10}k" if size >= 1024 else str(size))
