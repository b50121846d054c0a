"""The bytes of the simulated RAM.

Physical memory is sparse: a page frame costs host memory only while it
holds a byte that is not zero. Untouched frames read as zeros, and a frame
written with zeros (a page fault's clear_page(), a zeroed coherent DMA
buffer, a copy of the zero page) is dropped rather than stored, so a process
that faults in 1 GiB costs page-table entries, not 1 GiB of host memory.

Freed frames: Linux (init_on_free=0, the default) leaves a freed frame's
bytes in place until the frame is used again, and so does memlab for the
last ``retain`` frames freed while holding data (4,096 by default, 16 MiB).
A simplification, so that host memory stays bounded on a long run: a frame
freed longer ago than that, and still free, forgets its bytes and reads as
zeros. Every subsystem that stores
data (slab objects, process pages, DMA buffers) reads and writes here, by
physical address; kernel virtual addresses are turned into physical ones with
:func:`memlab.layout.virt_to_phys` first.
"""

from __future__ import annotations

from collections import OrderedDict

from .errors import BadSize
from .units import PAGE_SHIFT, PAGE_SIZE

__all__ = ["PhysicalMemory"]

_OFFSET_MASK = PAGE_SIZE - 1


class PhysicalMemory:
    """``nr_pages`` page frames of RAM; ``read``/``write``/``fill`` by
    physical address. ``touched_pages`` counts the frames that hold a
    non-zero byte (a frame zeroed as a whole is forgotten)."""

    def __init__(self, nr_pages: int, is_free=None, retain: int = 4096) -> None:
        self.nr_pages = nr_pages
        self._pages: dict[int, bytearray] = {}
        #: how many freed frames keep their bytes (see the module docstring)
        self.retain = retain
        self._retired: OrderedDict[int, None] = OrderedDict()  # freed frames holding data, oldest first
        self._is_free = is_free  # pfn -> True while the frame is free (given by the Machine)

    def retire(self, pfn: int, nr: int = 1) -> None:
        """Frames ``pfn .. pfn + nr - 1`` were freed to the page allocator:
        the ones holding data keep it, and the oldest retired frames beyond
        ``retain`` that are still free forget theirs."""
        pages, retired = self._pages, self._retired
        if not pages:
            return
        if nr == 1:
            if pfn not in pages:
                return
            held = [pfn]
        elif nr < len(pages):
            held = [p for p in range(pfn, pfn + nr) if p in pages]
        else:
            held = sorted(p for p in pages if pfn <= p < pfn + nr)
        for p in held:
            retired[p] = None
            retired.move_to_end(p)
        while len(retired) > self.retain:
            old = retired.popitem(last=False)[0]
            if self._is_free is None or self._is_free(old):
                pages.pop(old, None)

    def _check(self, phys: int, n: int) -> None:
        if phys < 0 or n < 0 or (phys + n) >> PAGE_SHIFT > self.nr_pages:
            raise BadSize(f"physical range {phys:#x}+{n} is outside RAM (0..{self.nr_pages << PAGE_SHIFT:#x})")

    def read(self, phys: int, n: int) -> bytes:
        """``n`` bytes from physical address ``phys``."""
        self._check(phys, n)
        out = bytearray()
        while n:
            pfn, off = phys >> PAGE_SHIFT, phys & _OFFSET_MASK
            take = min(n, PAGE_SIZE - off)
            page = self._pages.get(pfn)
            out += page[off : off + take] if page is not None else bytes(take)
            phys += take
            n -= take
        return bytes(out)

    def write(self, phys: int, data: bytes) -> None:
        """Store ``data`` at physical address ``phys``. Zeros written to a
        frame that holds nothing stay unstored; a whole frame of zeros frees
        the frame's bytes."""
        data = bytes(data)
        self._check(phys, len(data))
        pages = self._pages
        pos, end = 0, len(data)
        while pos < end:
            pfn, off = phys >> PAGE_SHIFT, phys & _OFFSET_MASK
            take = min(end - pos, PAGE_SIZE - off)
            chunk = data[pos : pos + take] if take != end else data
            if chunk.count(0) == take:  # all zeros (a C-speed scan)
                if take == PAGE_SIZE:
                    pages.pop(pfn, None)
                else:
                    page = pages.get(pfn)
                    if page is not None:
                        page[off : off + take] = chunk
            elif take == PAGE_SIZE:
                pages[pfn] = bytearray(chunk)
            else:
                page = pages.get(pfn)
                if page is None:
                    page = pages[pfn] = bytearray(PAGE_SIZE)
                page[off : off + take] = chunk
            phys += take
            pos += take

    def fill(self, phys: int, value: int, n: int) -> None:
        """``memset``: ``n`` bytes of ``value`` from ``phys``."""
        self.write(phys, bytes([value]) * n)

    @property
    def touched_pages(self) -> int:
        return len(self._pages)
