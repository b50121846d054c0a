"""GFP ("get free pages") flags: what an allocation may do and where from.

Kernel: include/linux/gfp_types.h (Linux 6.12 bit values), include/linux/gfp.h
gfp_zone(), mm/page_alloc.c gfp_to_alloc_flags().

A flag expression is a string such as ``"GFP_KERNEL"``,
``"GFP_ATOMIC | __GFP_NOWARN"`` or ``"GFP_KERNEL|__GFP_DMA32"``, or the
integer mask itself.
"""

from .errors import BadGFP, wrong_type

__all__ = [
    "GFP",
    "parse_gfp",
    "gfp_zone",
    "gfp_names",
    "ZONE_DMA",
    "ZONE_DMA32",
    "ZONE_NORMAL",
    "ZONE_MOVABLE",
    "ZONE_DEVICE",
    "ZONE_NAMES",
    "MAX_NR_ZONES",
]

# enum zone_type on x86-64 with CONFIG_ZONE_DMA, CONFIG_ZONE_DMA32 and
# CONFIG_ZONE_DEVICE (as distribution kernels and the host here are built).
ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_MOVABLE, ZONE_DEVICE = range(5)
ZONE_NAMES = ("DMA", "DMA32", "Normal", "Movable", "Device")
MAX_NR_ZONES = len(ZONE_NAMES)

_BITS = [
    "__GFP_DMA",
    "__GFP_HIGHMEM",
    "__GFP_DMA32",
    "__GFP_MOVABLE",
    "__GFP_RECLAIMABLE",
    "__GFP_HIGH",
    "__GFP_IO",
    "__GFP_FS",
    "__GFP_ZERO",
    None,  # ___GFP_UNUSED_BIT
    "__GFP_DIRECT_RECLAIM",
    "__GFP_KSWAPD_RECLAIM",
    "__GFP_WRITE",
    "__GFP_NOWARN",
    "__GFP_RETRY_MAYFAIL",
    "__GFP_NOFAIL",
    "__GFP_NORETRY",
    "__GFP_MEMALLOC",
    "__GFP_COMP",
    "__GFP_NOMEMALLOC",
    "__GFP_HARDWALL",
    "__GFP_THISNODE",
    "__GFP_ACCOUNT",
    "__GFP_ZEROTAGS",
]

GFP = {name: 1 << bit for bit, name in enumerate(_BITS) if name}
GFP["__GFP_RECLAIM"] = GFP["__GFP_DIRECT_RECLAIM"] | GFP["__GFP_KSWAPD_RECLAIM"]
GFP["GFP_ATOMIC"] = GFP["__GFP_HIGH"] | GFP["__GFP_KSWAPD_RECLAIM"]
GFP["GFP_KERNEL"] = GFP["__GFP_RECLAIM"] | GFP["__GFP_IO"] | GFP["__GFP_FS"]
GFP["GFP_KERNEL_ACCOUNT"] = GFP["GFP_KERNEL"] | GFP["__GFP_ACCOUNT"]
GFP["GFP_NOWAIT"] = GFP["__GFP_KSWAPD_RECLAIM"]
GFP["GFP_NOIO"] = GFP["__GFP_RECLAIM"]
GFP["GFP_NOFS"] = GFP["__GFP_RECLAIM"] | GFP["__GFP_IO"]
GFP["GFP_USER"] = GFP["GFP_KERNEL"] | GFP["__GFP_HARDWALL"]
GFP["GFP_DMA"] = GFP["__GFP_DMA"]
GFP["GFP_DMA32"] = GFP["__GFP_DMA32"]
GFP["GFP_HIGHUSER"] = GFP["GFP_USER"] | GFP["__GFP_HIGHMEM"]
GFP["GFP_HIGHUSER_MOVABLE"] = GFP["GFP_HIGHUSER"] | GFP["__GFP_MOVABLE"]

_CACHE: dict[str, int] = {}


def parse_gfp(flags):
    """The integer mask of a GFP expression such as ``"GFP_KERNEL | __GFP_DMA"``."""
    if isinstance(flags, bool):
        raise wrong_type(BadGFP, f"gfp {flags!r} is a bool; write e.g. 'GFP_KERNEL'")
    if isinstance(flags, int):
        if flags < 0 or flags >> len(_BITS):
            raise BadGFP(f"gfp mask {flags:#x} has bits outside the {len(_BITS)} GFP bits")
        if flags & GFP["__GFP_DMA"] and flags & GFP["__GFP_DMA32"]:
            raise BadGFP(f"gfp mask {flags:#x} asks for both __GFP_DMA and __GFP_DMA32; gfp_zone() rejects that (BUG)")
        return flags
    if not isinstance(flags, str):
        raise wrong_type(BadGFP, f"gfp {flags!r} must be a string like 'GFP_KERNEL' or an int mask")
    try:
        return _CACHE[flags]
    except KeyError:
        pass
    mask = 0
    for part in flags.split("|"):
        name = part.strip()
        if name not in GFP:
            known = ", ".join(n for n in GFP if n.startswith("GFP_"))
            raise BadGFP(f"unknown GFP flag {name!r} in {flags!r}; known: {known} and the __GFP_* bits")
        mask |= GFP[name]
    if mask & GFP["__GFP_DMA"] and mask & GFP["__GFP_DMA32"]:
        raise BadGFP(f"{flags!r} asks for both __GFP_DMA and __GFP_DMA32; gfp_zone() rejects that (BUG)")
    _CACHE[flags] = mask
    return mask


def gfp_zone(mask):
    """The highest zone index an allocation may use.

    Kernel: include/linux/gfp.h gfp_zone() (GFP_ZONE_TABLE): __GFP_DMA gives
    ZONE_DMA, __GFP_DMA32 ZONE_DMA32, __GFP_HIGHMEM|__GFP_MOVABLE
    ZONE_MOVABLE, anything else ZONE_NORMAL (x86-64 has no ZONE_HIGHMEM).
    """
    if mask & GFP["__GFP_DMA"]:
        return ZONE_DMA
    if mask & GFP["__GFP_DMA32"]:
        return ZONE_DMA32
    if mask & GFP["__GFP_MOVABLE"] and mask & GFP["__GFP_HIGHMEM"]:
        return ZONE_MOVABLE
    return ZONE_NORMAL


def gfp_names(mask):
    """``%pGg``-style text of a mask: ``'GFP_KERNEL|__GFP_DMA32'``."""
    for combo in (
        "GFP_HIGHUSER_MOVABLE",
        "GFP_HIGHUSER",
        "GFP_USER",
        "GFP_KERNEL_ACCOUNT",
        "GFP_KERNEL",
        "GFP_NOFS",
        "GFP_NOIO",
        "GFP_ATOMIC",
        "GFP_NOWAIT",
    ):
        value = GFP[combo]
        if mask & value == value:
            rest = mask & ~value
            names = [combo] + [n for n in _BITS if n and rest & GFP[n]]
            return "|".join(names)
    names = [n for n in _BITS if n and mask & GFP[n]]
    return "|".join(names) if names else "0"
