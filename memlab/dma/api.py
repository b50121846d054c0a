"""The Linux DMA API: devices with DMA masks, coherent allocations,
streaming mappings with swiotlb bounce buffers, syncs, dma pools, and a CPU
cache model for non-coherent devices.

Kernel: include/linux/dma-mapping.h and kernel/dma/ (direct.c, mapping.c,
swiotlb.c, pool.c, debug.c): dma_alloc_coherent(), dma_map_single(),
dma_unmap_single(), dma_sync_single_for_cpu() / _for_device(),
dma_mapping_error(), DMA masks, swiotlb bounce buffers (2 KiB slots, at most
128 contiguous slots = 256 KiB per mapping, the pool below 4 GiB),
dma_pool_create() / dma_pool_alloc() (mm/dmapool.c).

x86 keeps DMA cache-coherent in hardware; a device created with
``coherent=False`` behaves like one on a non-coherent platform (many ARM
SoCs) so the reason for the sync calls becomes visible: memlab keeps a
write-back CPU cache of 64-byte lines for such buffers.

Not modelled: IOMMUs, scatter-gather lists, DMA-API debug's stack traces.
"""

from __future__ import annotations

from ..errors import BadSize, DmaError, OutOfMemory
from ..layout import phys_to_virt, virt_to_phys
from ..records import Record
from ..units import PAGE_SIZE, order_for_size

__all__ = [
    "Device",
    "DmaApi",
    "DmaPool",
    "DmaMapping",
    "CoherentAlloc",
    "DMA_BIT_MASK",
    "DMA_TO_DEVICE",
    "DMA_FROM_DEVICE",
    "DMA_BIDIRECTIONAL",
    "DMA_MAPPING_ERROR",
    "IO_TLB_SHIFT",
    "IO_TLB_SIZE",
    "IO_TLB_SEGSIZE",
    "CACHE_LINE",
]

DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE = 0, 1, 2
_DIR_NAMES = {0: "DMA_BIDIRECTIONAL", 1: "DMA_TO_DEVICE", 2: "DMA_FROM_DEVICE"}
DMA_MAPPING_ERROR = (1 << 64) - 1
IO_TLB_SHIFT = 11  # swiotlb slot: 2 KiB
IO_TLB_SIZE = 1 << IO_TLB_SHIFT
IO_TLB_SEGSIZE = 128  # at most 128 contiguous slots per mapping: 256 KiB
CACHE_LINE = 64


def DMA_BIT_MASK(n):
    """include/linux/dma-mapping.h DMA_BIT_MASK(n): the highest address a
    device with ``n`` address bits can reach."""
    return (1 << 64) - 1 if n == 64 else (1 << n) - 1


#: The kernel's default DMA mask: 32 bits (dma_coerce_mask_and_coherent() default).
_DEFAULT_MASK = DMA_BIT_MASK(32)


class DmaMapping(Record):
    """A live streaming mapping: the DMA ``handle`` the device uses, the
    buffer's physical address ``phys``, ``size``, ``direction``, and the
    swiotlb slots ``bounce`` = (first slot, count) when it was bounced."""

    __slots__ = ("handle", "phys", "size", "direction", "bounce")

    def __init__(self, handle: int, phys: int, size: int, direction: int, bounce: tuple | None) -> None:
        self.handle, self.phys, self.size, self.direction, self.bounce = handle, phys, size, direction, bounce


class CoherentAlloc(Record):
    """A dma_alloc_coherent() buffer: its CPU address, size and pages."""

    __slots__ = ("cpu_addr", "size", "page")

    def __init__(self, cpu_addr: int, size: int, page: object) -> None:
        self.cpu_addr, self.size, self.page = cpu_addr, size, page


class Device:
    """A device doing DMA through the Linux DMA API: ``name``,
    ``dma_mask`` (streaming) and ``coherent_dma_mask`` (default
    DMA_BIT_MASK(32), the kernel's default), ``coherent`` (x86: True).
    The device side: :meth:`dma_write` (device writes memory at a DMA
    address) and :meth:`dma_read`."""

    def __init__(self, machine, name, dma_mask=_DEFAULT_MASK, coherent=True):
        self.machine = machine
        self.name = name
        self.dma_mask = dma_mask
        self.coherent_dma_mask = dma_mask
        self.coherent = coherent
        self.mappings = {}  # dma_handle -> DmaMapping
        self.coherent_allocs = {}  # dma_handle -> CoherentAlloc

    def dma_set_mask(self, mask):
        """dma_set_mask(): fails (-EIO) for masks below 24 bits."""
        if mask < DMA_BIT_MASK(24):
            raise DmaError(f"dma_set_mask({mask:#x}): below DMA_BIT_MASK(24), no memory can serve it (-EIO)")
        self.dma_mask = mask

    def dma_set_coherent_mask(self, mask):
        if mask < DMA_BIT_MASK(24):
            raise DmaError(f"dma_set_coherent_mask({mask:#x}): below DMA_BIT_MASK(24) (-EIO)")
        self.coherent_dma_mask = mask

    def dma_write(self, dma_addr, data):
        """The device writes ``data`` to memory at ``dma_addr`` (bypassing CPU caches)."""
        data = bytes(data)
        self._check_reach(dma_addr, len(data))
        self.machine.mem.write(dma_addr, data)

    def dma_read(self, dma_addr, n):
        """The device reads ``n`` bytes of memory at ``dma_addr``."""
        self._check_reach(dma_addr, n)
        return self.machine.mem.read(dma_addr, n)

    def _check_reach(self, dma_addr, n):
        if dma_addr + n - 1 > self.dma_mask and dma_addr + n - 1 > self.coherent_dma_mask:
            raise DmaError(f"{self.name}: DMA address {dma_addr:#x}+{n} is beyond its mask {self.dma_mask:#x}")

    def __repr__(self):
        return f"<Device {self.name}: dma_mask {self.dma_mask:#x}, {'coherent' if self.coherent else 'non-coherent'}>"


class DmaApi:
    """The Linux DMA API of one machine (``machine.dma``): coherent
    allocations, streaming mappings with swiotlb bouncing, syncs, dma pools,
    and a CPU cache for non-coherent devices."""

    def __init__(self, machine, swiotlb_size=1 << 20):
        self.machine = machine
        self.swiotlb_slots = swiotlb_size >> IO_TLB_SHIFT
        order = order_for_size(swiotlb_size)
        self._swiotlb_page = machine.alloc_pages(order, "GFP_DMA32")  # below 4 GiB
        self.swiotlb_start = self._swiotlb_page.phys_addr
        self.slot_used = bytearray(self.swiotlb_slots)
        self.bounce_copies = 0
        self.cache = {}  # line physical address -> [bytes, dirty]
        self.debug_log = []

    # --------------------------------------------------------- coherent
    def dma_alloc_coherent(self, dev: Device, size: int) -> tuple[int, int]:
        """dma_alloc_coherent(dev, size, &handle, GFP_KERNEL): zeroed pages
        from a zone the device reaches (ZONE_DMA for masks under 32 bits,
        ZONE_DMA32 up to 32 bits); returns ``(cpu_addr, dma_handle)``.
        Kernel: kernel/dma/direct.c dma_direct_alloc()."""
        if size.__class__ is not int or size <= 0:
            raise BadSize(f"dma_alloc_coherent: size {size!r} must be > 0")
        mask = dev.coherent_dma_mask
        gfp = "GFP_DMA" if mask < DMA_BIT_MASK(32) else ("GFP_DMA32" if mask < DMA_BIT_MASK(64) else "GFP_KERNEL")
        order = order_for_size(size)
        page = self.machine.alloc_pages(order, gfp)
        phys = page.phys_addr
        if phys + size - 1 > mask:
            self.machine.free_pages(page, order)
            raise OutOfMemory(f"dma_alloc_coherent: no memory below {mask:#x} for {dev.name}")
        self.machine.mem.write(phys, bytes(PAGE_SIZE << order))
        cpu_addr = phys_to_virt(phys)
        dev.coherent_allocs[phys] = CoherentAlloc(cpu_addr, size, page)
        return cpu_addr, phys

    def dma_free_coherent(self, dev, size, cpu_addr, dma_handle):
        entry = dev.coherent_allocs.get(dma_handle)
        if entry is None or entry.cpu_addr != cpu_addr:
            raise DmaError(f"dma_free_coherent: {dma_handle:#x} is not a coherent allocation of {dev.name}")
        if entry.size != size:
            raise DmaError(
                f"DMA-API: {dev.name}: device driver frees DMA memory with different size "
                f"[device address={dma_handle:#x}] [map size={entry.size} bytes] [unmap size={size} bytes]"
            )
        del dev.coherent_allocs[dma_handle]
        self.machine.free_pages(entry.page, entry.page.order)

    # --------------------------------------------------------- streaming
    def dma_map_single(self, dev: Device, cpu_addr: int, size: int, direction: int) -> int:
        """dma_map_single(dev, ptr, size, dir): the DMA address of a kernel
        buffer. If the buffer lies above the device's mask, swiotlb bounces
        it through its pool below 4 GiB (copying it there now for
        DMA_TO_DEVICE / DMA_BIDIRECTIONAL). Returns DMA_MAPPING_ERROR when
        no bounce slots are free (check with :meth:`dma_mapping_error`).
        Kernel: kernel/dma/mapping.c dma_map_page_attrs() ->
        dma_direct_map_page() -> swiotlb_map()."""
        if direction not in _DIR_NAMES:
            raise DmaError(
                f"dma_map_single: direction {direction!r} is not DMA_TO_DEVICE, DMA_FROM_DEVICE or "
                f"DMA_BIDIRECTIONAL (DMA_NONE is only for debugging)"
            )
        if size.__class__ is not int or size <= 0:
            raise BadSize(f"dma_map_single: size {size!r} must be > 0")
        phys = virt_to_phys(cpu_addr)
        if not 0 <= phys < self.machine.ram:
            raise DmaError(
                f"dma_map_single: {cpu_addr:#x} is not a direct-map (kmalloc or page) address; "
                f"vmalloc memory cannot be mapped with dma_map_single"
            )
        self._writeback(phys, size)  # arch_sync_dma_for_device on non-coherent
        if phys + size - 1 <= dev.dma_mask:
            handle = phys
            bounce = None
        else:
            nslots = -(-size // IO_TLB_SIZE)
            if nslots > IO_TLB_SEGSIZE:
                self.debug_log.append(
                    f"swiotlb: {dev.name}: mapping of {size} bytes exceeds the 256 KiB (IO_TLB_SEGSIZE) limit"
                )
                return DMA_MAPPING_ERROR
            start = self._find_slots(nslots)
            if start is None:
                self.debug_log.append(
                    f"{dev.name}: swiotlb buffer is full (sz: {size} bytes), total "
                    f"{self.swiotlb_slots} (slots), used {sum(self.slot_used)} (slots)"
                )
                return DMA_MAPPING_ERROR
            handle = self.swiotlb_start + (start << IO_TLB_SHIFT)
            if handle + size - 1 > dev.dma_mask:
                self.debug_log.append(
                    f"{dev.name}: swiotlb addr {handle:#x}+{size} overflow (mask "
                    f"{dev.dma_mask:#x}): the bounce pool itself is out of the device's reach"
                )
                return DMA_MAPPING_ERROR
            for i in range(start, start + nslots):
                self.slot_used[i] = 1
            bounce = (start, nslots)
            if direction in (DMA_TO_DEVICE, DMA_BIDIRECTIONAL):
                self._bounce(phys, handle, size)
        dev.mappings[handle] = DmaMapping(handle, phys, size, direction, bounce)
        return handle

    def dma_mapping_error(self, dev, dma_addr):
        return dma_addr == DMA_MAPPING_ERROR

    def dma_unmap_single(self, dev, dma_addr, size, direction):
        """dma_unmap_single(): end of the device's access. Bounced
        DMA_FROM_DEVICE / BIDIRECTIONAL data is copied back to the original
        buffer now. Unmapping twice, or with another size or direction, is
        refused with the DMA-API debug message."""
        m = self._mapping(dev, dma_addr, size, direction, "unmap")
        if m.bounce is not None:
            if direction in (DMA_FROM_DEVICE, DMA_BIDIRECTIONAL):
                self._bounce(dma_addr, m.phys, size)
            start, nslots = m.bounce
            for i in range(start, start + nslots):
                self.slot_used[i] = 0
        if direction in (DMA_FROM_DEVICE, DMA_BIDIRECTIONAL):
            self._invalidate(m.phys, size)
        del dev.mappings[dma_addr]

    def dma_sync_single_for_cpu(self, dev, dma_addr, size, direction):
        """Give the buffer to the CPU while still mapped: bounced data is
        copied back, stale cache lines are invalidated."""
        m = self._mapping(dev, dma_addr, size, direction, "sync for cpu")
        if direction in (DMA_FROM_DEVICE, DMA_BIDIRECTIONAL):
            if m.bounce is not None:
                self._bounce(dma_addr, m.phys, size)
            self._invalidate(m.phys, size)

    def dma_sync_single_for_device(self, dev, dma_addr, size, direction):
        """Give the buffer back to the device: dirty cache lines are
        written back, bounced data copied to the bounce buffer."""
        m = self._mapping(dev, dma_addr, size, direction, "sync for device")
        if direction in (DMA_TO_DEVICE, DMA_BIDIRECTIONAL):
            self._writeback(m.phys, size)
            if m.bounce is not None:
                self._bounce(m.phys, dma_addr, size)

    def _mapping(self, dev, dma_addr, size, direction, what):
        m = dev.mappings.get(dma_addr)
        if m is None:
            raise DmaError(
                f"DMA-API: {dev.name}: device driver tries to {what} DMA memory it has not allocated "
                f"[device address={dma_addr:#x}] [size={size} bytes] (unmapped twice, or never mapped)"
            )
        if m.size != size:
            raise DmaError(
                f"DMA-API: {dev.name}: device driver frees DMA memory with different size "
                f"[device address={dma_addr:#x}] [map size={m.size} bytes] [unmap size={size} bytes]"
            )
        if m.direction != direction:
            raise DmaError(
                f"DMA-API: {dev.name}: device driver frees DMA memory with different direction "
                f"[device address={dma_addr:#x}] [size={size} bytes] "
                f"[mapped with {_DIR_NAMES[m.direction]}] "
                f"[unmapped with {_DIR_NAMES.get(direction, direction)}]"
            )
        return m

    def _find_slots(self, n):
        run = 0
        for i, used in enumerate(self.slot_used):
            run = 0 if used else run + 1
            if run == n:
                return i - n + 1
        return None

    def _bounce(self, src, dst, size):
        mem = self.machine.mem
        mem.write(dst, mem.read(src, size))
        self.bounce_copies += 1

    # ---------------------------------------------------- CPU cache model
    def cpu_read(self, cpu_addr, n, dev=None):
        """A CPU load of ``n`` bytes. For buffers of a non-coherent device
        the lines go through the CPU cache: a line read once keeps its old
        value until invalidated (a stale read if the device wrote since)."""
        phys = virt_to_phys(cpu_addr)
        if dev is None or dev.coherent:
            return self.machine.mem.read(phys, n)
        out = bytearray()
        for line in range(phys & ~(CACHE_LINE - 1), phys + n, CACHE_LINE):
            if line not in self.cache:
                self.cache[line] = [bytearray(self.machine.mem.read(line, CACHE_LINE)), False]
            out += self.cache[line][0]
        start = phys & (CACHE_LINE - 1)
        return bytes(out[start : start + n])

    def cpu_write(self, cpu_addr, data, dev=None):
        """A CPU store: straight to memory for coherent devices; into
        write-back cache lines (dirty, not yet in memory) otherwise."""
        phys = virt_to_phys(cpu_addr)
        data = bytes(data)
        if dev is None or dev.coherent:
            self.machine.mem.write(phys, data)
            return
        for i, b in enumerate(data):
            addr = phys + i
            line = addr & ~(CACHE_LINE - 1)
            if line not in self.cache:
                self.cache[line] = [bytearray(self.machine.mem.read(line, CACHE_LINE)), False]
            self.cache[line][0][addr - line] = b
            self.cache[line][1] = True

    def _writeback(self, phys, size):
        for line in range(phys & ~(CACHE_LINE - 1), phys + size, CACHE_LINE):
            entry = self.cache.get(line)
            if entry is not None and entry[1]:
                self.machine.mem.write(line, bytes(entry[0]))
                entry[1] = False

    def _invalidate(self, phys, size):
        for line in range(phys & ~(CACHE_LINE - 1), phys + size, CACHE_LINE):
            self.cache.pop(line, None)

    # --------------------------------------------------------- dma pools
    def dma_pool_create(self, name, dev, size, align=0):
        """dma_pool_create(): small coherent blocks carved from coherent pages."""
        return DmaPool(self, name, dev, size, align)


class DmaPool:
    """mm/dmapool.c: blocks of ``size`` bytes (rounded to ``align``) from
    coherent pages, never crossing a page."""

    def __init__(self, api, name, dev, size, align=0):
        if size.__class__ is not int or not 0 < size <= PAGE_SIZE:
            raise BadSize(f"dma_pool_create({name!r}): size {size!r} must be 1..{PAGE_SIZE}")
        align = max(align, 8)
        if align & (align - 1):
            raise BadSize(f"dma_pool_create({name!r}): align {align} is not a power of two")
        self.api, self.name, self.dev = api, name, dev
        self.size = -(-size // align) * align
        self.pages = []  # (cpu_addr, dma)
        self.free = []  # (cpu_addr, dma), LIFO
        self.live = {}
        self.destroyed = False

    def dma_pool_alloc(self):
        """Returns ``(cpu_addr, dma_handle)`` of a zeroed block."""
        if self.destroyed:
            raise DmaError(f"dma_pool_alloc: pool {self.name} was destroyed")
        if not self.free:
            cpu, dma = self.api.dma_alloc_coherent(self.dev, PAGE_SIZE)
            self.pages.append((cpu, dma))
            per = PAGE_SIZE // self.size
            self.free.extend((cpu + i * self.size, dma + i * self.size) for i in reversed(range(per)))
        cpu, dma = self.free.pop()
        self.live[dma] = cpu
        self.api.machine.mem.write(dma, bytes(self.size))
        return cpu, dma

    def dma_pool_free(self, cpu_addr, dma_handle):
        if self.live.get(dma_handle) != cpu_addr:
            raise DmaError(f"dma_pool_free {self.name}: {dma_handle:#x} is not a live block of this pool")
        del self.live[dma_handle]
        self.free.append((cpu_addr, dma_handle))

    def dma_pool_destroy(self):
        if self.live:
            raise DmaError(
                f"dma_pool_destroy {self.name}: {len(self.live)} blocks still in use (the kernel prints "
                f"'dma_pool_destroy {self.name}, ... busy')"
            )
        for cpu, dma in self.pages:
            self.api.dma_free_coherent(self.dev, PAGE_SIZE, cpu, dma)
        self.pages.clear()
        self.free.clear()
        self.destroyed = True
