"""swiotlb: the software bounce buffers of the DMA API.

Kernel: kernel/dma/swiotlb.c (Linux 6.12) swiotlb_tbl_map_single(),
swiotlb_find_slots(), swiotlb_bounce(), swiotlb_tbl_unmap_single(),
swiotlb_sync_single_for_cpu/_for_device(); arch/x86/kernel/pci-dma.c
pci_swiotlb_detect() for when x86 sets it up.

The pool is IO_TLB_DEFAULT_SIZE (64 MiB) of RAM below 4 GiB, reserved at boot
(memblock), cut into 2 KiB slots (IO_TLB_SIZE); one mapping takes at most
IO_TLB_SEGSIZE (128) contiguous slots, 256 KiB. x86 sets it up only when RAM
reaches above 4 GiB (a 32-bit device might be handed such a buffer) or when
forced (``swiotlb=force``). A mapping of a page or more starts on a page
boundary of the pool. At map time the original buffer is copied into the
slots for every direction, so bytes the device does not overwrite come back
unchanged at unmap (commit "Reinstate some of swiotlb: rework fix info leak
with DMA_FROM_DEVICE", 5.18); sync for the device copies only for
DMA_TO_DEVICE and DMA_BIDIRECTIONAL (the unconditional copy there was
reverted in 5.18).

Not modelled: swiotlb areas (per-CPU slot ranges), the min_align_mask
offset rule, dynamic pools (CONFIG_SWIOTLB_DYNAMIC), restricted pools.
"""

from __future__ import annotations

from ..units import PAGE_SIZE

__all__ = ["Swiotlb", "IO_TLB_SHIFT", "IO_TLB_SIZE", "IO_TLB_SEGSIZE", "IO_TLB_DEFAULT_SIZE"]

IO_TLB_SHIFT = 11  # a slot: 2 KiB
IO_TLB_SIZE = 1 << IO_TLB_SHIFT
IO_TLB_SEGSIZE = 128  # at most 128 contiguous slots per mapping: 256 KiB
IO_TLB_DEFAULT_SIZE = 64 << 20
_SLOTS_PER_PAGE = PAGE_SIZE >> IO_TLB_SHIFT


class Swiotlb:
    """The bounce pool at physical address ``start`` of ``size`` bytes."""

    def __init__(self, mem, start, size):
        self.mem = mem
        self.start = start
        self.nslabs = size >> IO_TLB_SHIFT
        self.used = bytearray(self.nslabs)
        self.nr_used = 0  # mem_used(): kept as a count, not summed over the 32768 slots
        self.bounce_copies = 0

    @property
    def end(self):
        return self.start + (self.nslabs << IO_TLB_SHIFT)

    @property
    def slots_used(self):
        return self.nr_used

    def contains(self, addr):
        return self.start <= addr < self.end

    def find_slots(self, size):
        """swiotlb_find_slots(): the first run of free slots for ``size``
        bytes, page aligned for a mapping of a page or more; None if full."""
        n = -(-size // IO_TLB_SIZE)
        stride = _SLOTS_PER_PAGE if size >= PAGE_SIZE else 1
        used = self.used
        for first in range(0, self.nslabs - n + 1, stride):
            if not any(used[first : first + n]):
                return first
        return None

    def map(self, orig, size, first):
        """Take slots ``first``.. for ``size`` bytes and copy the original
        buffer in (swiotlb_tbl_map_single(): for every direction)."""
        n = -(-size // IO_TLB_SIZE)
        self.used[first : first + n] = b"\x01" * n
        self.nr_used += n
        tlb = self.start + (first << IO_TLB_SHIFT)
        self.bounce(orig, tlb, size)
        return tlb, (first, n)

    def unmap(self, slots):
        first, n = slots
        self.used[first : first + n] = bytes(n)
        self.nr_used -= n

    def bounce(self, src, dst, size):
        """swiotlb_bounce(): copy ``size`` bytes between the buffer and its slots."""
        self.mem.write(dst, self.mem.read(src, size))
        self.bounce_copies += 1

    def __repr__(self):
        return (
            f"<swiotlb {self.nslabs << IO_TLB_SHIFT >> 20} MiB at {self.start:#x}: "
            f"{self.slots_used} of {self.nslabs} slots in use>"
        )
