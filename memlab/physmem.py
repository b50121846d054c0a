"""The bytes of the simulated RAM.

Physical memory is sparse: a page costs host memory only once something was
written to it; untouched pages read as zeros. Every subsystem that stores
data (slab objects, process pages, DMA buffers) reads and writes here, by
physical address; kernel virtual addresses are turned into physical ones with
:func:`memlab.layout.virt_to_phys` first.
"""

from __future__ import annotations

from .errors import BadSize
from .units import PAGE_SHIFT, PAGE_SIZE

__all__ = ["PhysicalMemory"]

_OFFSET_MASK = PAGE_SIZE - 1


class PhysicalMemory:
    """``nr_pages`` page frames of RAM; ``read``/``write``/``fill`` by
    physical address. ``touched_pages`` counts the frames that hold data."""

    def __init__(self, nr_pages: int) -> None:
        self.nr_pages = nr_pages
        self._pages: dict[int, bytearray] = {}

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
        """Store ``data`` at physical address ``phys``."""
        data = bytes(data)
        self._check(phys, len(data))
        pos = 0
        while pos < len(data):
            pfn, off = phys >> PAGE_SHIFT, phys & _OFFSET_MASK
            take = min(len(data) - pos, PAGE_SIZE - off)
            page = self._pages.get(pfn)
            if page is None:
                page = self._pages[pfn] = bytearray(PAGE_SIZE)
            page[off : off + take] = data[pos : pos + take]
            phys += take
            pos += take

    def fill(self, phys: int, value: int, n: int) -> None:
        """``memset``: ``n`` bytes of ``value`` from ``phys``."""
        self.write(phys, bytes([value]) * n)

    @property
    def touched_pages(self) -> int:
        return len(self._pages)
