"""The 32-bit picture x86-64 no longer needs: i386 with highmem.

Kernel: arch/x86/include/asm/pgtable_32_areas.h (the 3G/1G layout),
arch/x86/mm/highmem_32.c and mm/highmem.c kmap()/kunmap() (the PKMAP
window), mm/memory.c for the lowmem/highmem split at 896 MiB.

Only the layout, the zones and kmap/kunmap are modelled: an
:class:`I386Highmem` is not a :class:`memlab.Machine` (it allocates nothing).
"""

from __future__ import annotations

from ..errors import BadSize, SyscallError
from ..layout import I386_LAST_PKMAP, I386_LAYOUT, I386_MAXMEM, I386_PAGE_OFFSET, I386_PKMAP_BASE
from ..units import PAGE_SHIFT, parse_size

__all__ = ["I386Highmem", "I386Machine"]


class I386Highmem:
    """The 32-bit picture x86-64 no longer needs: 3G/1G split, only 896 MiB
    of RAM direct-mapped (lowmem), the rest ZONE_HIGHMEM, reached through
    temporary windows: ``kmap(pfn)`` maps a highmem page into the PKMAP
    window (1024 slots), ``kunmap`` releases it. Kernel: mm/highmem.c."""

    def __init__(self, ram="2GiB"):
        self.ram = parse_size(ram)
        self.nr_pages = self.ram >> PAGE_SHIFT
        self.lowmem_pages = min(self.nr_pages, I386_MAXMEM >> PAGE_SHIFT)
        self.pkmap = [None] * I386_LAST_PKMAP  # slot -> pfn
        self.pkmap_count = [0] * I386_LAST_PKMAP
        self.layout = I386_LAYOUT

    @property
    def zones(self):
        z = {"DMA": (0, min(self.nr_pages, 4096)), "Normal": (4096, self.lowmem_pages)}
        if self.nr_pages > self.lowmem_pages:
            z["HighMem"] = (self.lowmem_pages, self.nr_pages)
        return z

    def is_highmem(self, pfn):
        return pfn >= self.lowmem_pages

    def kmap(self, pfn):
        """Kernel: kmap(): a lowmem page has a permanent address
        (PAGE_OFFSET + phys); a highmem page gets a PKMAP slot."""
        if pfn.__class__ is not int or not 0 <= pfn < self.nr_pages:
            raise BadSize(f"kmap: pfn {pfn!r} is not RAM (0..{self.nr_pages - 1})")
        if not self.is_highmem(pfn):
            return I386_PAGE_OFFSET + (pfn << PAGE_SHIFT)
        if pfn in self.pkmap:
            slot = self.pkmap.index(pfn)
        else:
            try:
                slot = self.pkmap.index(None)
            except ValueError:
                raise SyscallError(
                    "EAGAIN", "kmap: all 1024 PKMAP slots are in use; the caller would sleep until a kunmap()"
                ) from None
            self.pkmap[slot] = pfn
        self.pkmap_count[slot] += 1
        return I386_PKMAP_BASE + (slot << PAGE_SHIFT)

    def kunmap(self, pfn):
        """Kernel: kunmap(): release a PKMAP mapping of a highmem page."""
        if not self.is_highmem(pfn):
            return
        if pfn not in self.pkmap:
            raise SyscallError("EINVAL", f"kunmap: pfn {pfn} is not kmapped")
        slot = self.pkmap.index(pfn)
        self.pkmap_count[slot] -= 1
        if self.pkmap_count[slot] == 0:
            self.pkmap[slot] = None


#: The name this model had before it was named for what it is.
I386Machine = I386Highmem
