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

from ..errors import BadSize, DmaError, OutOfMemory, reject, wrong_type
from ..layout import phys_to_virt, virt_to_phys
from ..records import Record
from ..units import PAGE_SIZE, order_for_size
from .swiotlb import IO_TLB_SEGSIZE, IO_TLB_SHIFT, IO_TLB_SIZE, Swiotlb

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
    "CACHE_LINE",
]

DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE = 0, 1, 2
_DIR_NAMES = {0: "DMA_BIDIRECTIONAL", 1: "DMA_TO_DEVICE", 2: "DMA_FROM_DEVICE"}
DMA_MAPPING_ERROR = (1 << 64) - 1
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
    allocations, streaming mappings with swiotlb bouncing, syncs (whole or
    partial), dma pools, and a CPU cache for non-coherent devices.
    ``swiotlb`` is the machine's bounce pool (:class:`Swiotlb`) or None."""

    def __init__(self, machine):
        self.machine = machine
        pool = machine.swiotlb_range
        self.swiotlb = Swiotlb(machine.mem, pool[0], pool[1]) if pool else None
        self.cache = {}  # line physical address -> [bytes, dirty]
        self.debug_log = []

    # the pool's figures under their earlier names
    @property
    def swiotlb_start(self):
        return self.swiotlb.start if self.swiotlb else None

    @property
    def swiotlb_slots(self):
        return self.swiotlb.nslabs if self.swiotlb else 0

    @property
    def slot_used(self):
        return self.swiotlb.used if self.swiotlb else bytearray()

    @property
    def bounce_copies(self):
        return self.swiotlb.bounce_copies if self.swiotlb else 0

    # --------------------------------------------------------- coherent
    def dma_alloc_coherent(self, dev: Device, size: int) -> tuple[int, int]:
        """dma_alloc_coherent(dev, size, &handle, GFP_KERNEL): zeroed pages
        the device reaches; returns ``(cpu_addr, dma_handle)``.

        Kernel: kernel/dma/direct.c dma_direct_alloc() ->
        __dma_direct_alloc_pages(): dma_direct_optimal_gfp_mask() starts in
        the zone the coherent mask falls into (GFP_DMA for masks up to
        24 bits, zone_dma_limit on x86; GFP_DMA32 up to 32 bits; any zone
        above); if the page it gets lies out of reach, it tries again with
        GFP_DMA32, then GFP_DMA."""
        self._check_dev(dev, "dma_alloc_coherent")
        if size.__class__ is not int or size <= 0:
            raise reject(BadSize, size, f"dma_alloc_coherent: size {size!r} must be > 0")
        mask = dev.coherent_dma_mask
        if mask <= DMA_BIT_MASK(24):
            zones = ["GFP_DMA"]
        elif mask <= DMA_BIT_MASK(32):
            zones = ["GFP_DMA32", "GFP_DMA"]
        else:
            zones = ["GFP_KERNEL", "GFP_DMA32", "GFP_DMA"]
        order = order_for_size(size)
        for gfp in zones:
            page = self.machine.alloc_pages(order, gfp)
            phys = page.phys_addr
            if phys + size - 1 <= mask:  # dma_coherent_ok()
                break
            self.machine.free_pages(page, order)
        else:
            raise OutOfMemory(f"dma_alloc_coherent: no memory below {mask:#x} for {dev.name}")
        self.machine.mem.write(phys, bytes(PAGE_SIZE << order))
        cpu_addr = phys_to_virt(phys)
        dev.coherent_allocs[phys] = CoherentAlloc(cpu_addr, size, page)
        return cpu_addr, phys

    def dma_free_coherent(self, dev, size, cpu_addr, dma_handle):
        self._check_dev(dev, "dma_free_coherent")
        self._check_handle(dma_handle, "dma_free_coherent")
        entry = dev.coherent_allocs.get(dma_handle)
        if entry is None or entry.cpu_addr != cpu_addr:
            raise DmaError(f"dma_free_coherent: {dma_handle:#x} is not a coherent allocation of {dev.name}")
        if entry.size != size:
            raise DmaError(
                f"DMA-API: {dev.name}: device driver frees DMA memory with different size "
                f"[device address=0x{dma_handle:016x}] [map size={entry.size} bytes] [unmap size={size} bytes]"
            )
        del dev.coherent_allocs[dma_handle]
        self.machine.free_pages(entry.page, entry.page.order)

    # --------------------------------------------------------- streaming
    def dma_map_single(self, dev: Device, cpu_addr: int, size: int, direction: int) -> int:
        """dma_map_single(dev, ptr, size, dir): the DMA address of a kernel
        buffer. If the buffer lies above the device's mask, swiotlb bounces
        it through its pool below 4 GiB, copying the buffer into the slots
        now, whatever the direction. Returns DMA_MAPPING_ERROR when there
        is no swiotlb (RAM below 4 GiB), no free slots, or the pool itself is
        out of reach (check with :meth:`dma_mapping_error`; the reason is in
        ``debug_log``). Kernel: kernel/dma/mapping.c dma_map_page_attrs() ->
        kernel/dma/direct.h dma_direct_map_page() -> swiotlb_map()."""
        self._check_dev(dev, "dma_map_single")
        self._check_direction(direction, "dma_map_single")
        if size.__class__ is not int or size <= 0:
            raise reject(BadSize, size, f"dma_map_single: size {size!r} must be > 0")
        if cpu_addr.__class__ is not int:
            raise reject(
                DmaError, cpu_addr, f"dma_map_single: buffer address {cpu_addr!r} must be an int (a kernel pointer)"
            )
        phys = virt_to_phys(cpu_addr)
        if not 0 <= phys < self.machine.ram:
            raise DmaError(
                f"dma_map_single: {cpu_addr:#x} is not a direct-map (kmalloc or page) address; "
                f"vmalloc memory cannot be mapped with dma_map_single"
            )
        if phys + size > self.machine.ram:
            raise DmaError(
                f"dma_map_single: {size} bytes at {cpu_addr:#x} run past the end of RAM "
                f"({self.machine.ram:#x}); a buffer must lie in memory"
            )
        direct = phys + size - 1 <= dev.dma_mask
        if direct and phys in dev.mappings:
            # kernel/dma/debug.c add_dma_entry(): memlab keys mappings by handle, so it refuses
            # what dma-debug only reports (simplification)
            raise DmaError(
                f"DMA-API: {dev.name}: cacheline tracking EEXIST, overlapping mappings aren't supported "
                f"[device address=0x{phys:016x}]: the buffer is already mapped; unmap it first"
            )
        self._writeback(phys, size)  # arch_sync_dma_for_device on non-coherent
        if direct:
            handle, bounce = phys, None
        else:
            tlb = self.swiotlb
            if tlb is None:
                self.debug_log.append(
                    f"{dev.name}: DMA addr 0x{phys:016x}+{size} overflow (mask {dev.dma_mask:x}, bus limit 0). "
                    f"[memlab: no swiotlb on this machine: RAM ends below 4 GiB]"
                )
                return DMA_MAPPING_ERROR
            if -(-size // IO_TLB_SIZE) > IO_TLB_SEGSIZE:
                self.debug_log.append(
                    f"{dev.name}: swiotlb buffer is full (sz: {size} bytes), total {tlb.nslabs} (slots), "
                    f"used {tlb.slots_used} (slots) [memlab: swiotlb_find_slots() refuses more than "
                    f"IO_TLB_SEGSIZE * IO_TLB_SIZE = 256 KiB at once]"
                )
                return DMA_MAPPING_ERROR
            first = tlb.find_slots(size)
            if first is None:
                self.debug_log.append(
                    f"{dev.name}: swiotlb buffer is full (sz: {size} bytes), total {tlb.nslabs} (slots), "
                    f"used {tlb.slots_used} (slots)"
                )
                return DMA_MAPPING_ERROR
            if tlb.start + (first << IO_TLB_SHIFT) + size - 1 > dev.dma_mask:
                self.debug_log.append(
                    f"{dev.name}: swiotlb addr 0x{tlb.start + (first << IO_TLB_SHIFT):016x}+{size} overflow (mask "
                    f"{dev.dma_mask:x}, bus limit 0). [memlab: the bounce pool itself is out of the device's reach]"
                )
                return DMA_MAPPING_ERROR
            handle, bounce = tlb.map(phys, size, first)
        dev.mappings[handle] = DmaMapping(handle, phys, size, direction, bounce)
        return handle

    def dma_mapping_error(self, dev, dma_addr):
        return dma_addr == DMA_MAPPING_ERROR

    def dma_unmap_single(self, dev, dma_addr, size, direction):
        """dma_unmap_single(): end of the device's access. Bounced
        DMA_FROM_DEVICE / BIDIRECTIONAL data is copied back to the original
        buffer now. Unmapping twice, or with another size or direction, is
        refused with the DMA-API debug message."""
        m = self._mapping(dev, dma_addr, size, direction)
        if m.bounce is not None:
            if direction in (DMA_FROM_DEVICE, DMA_BIDIRECTIONAL):
                self.swiotlb.bounce(dma_addr, m.phys, size)
            self.swiotlb.unmap(m.bounce)
        if direction in (DMA_FROM_DEVICE, DMA_BIDIRECTIONAL):
            self._invalidate(m.phys, size)
        del dev.mappings[dma_addr]

    def dma_sync_single_for_cpu(self, dev, dma_addr, size, direction):
        """Give (part of) a mapped buffer to the CPU: bounced data is copied
        back, stale cache lines are invalidated. ``dma_addr`` may point
        anywhere inside a mapping (see :meth:`dma_sync_single_range_for_cpu`)."""
        m, offset = self._sync_target(dev, dma_addr, size, direction, to_cpu=True)
        if direction in (DMA_FROM_DEVICE, DMA_BIDIRECTIONAL):
            if m.bounce is not None:
                self.swiotlb.bounce(dma_addr, m.phys + offset, size)
            self._invalidate(m.phys + offset, size)

    def dma_sync_single_for_device(self, dev, dma_addr, size, direction):
        """Give (part of) a mapped buffer back to the device: dirty cache
        lines are written back and, for DMA_TO_DEVICE and
        DMA_BIDIRECTIONAL, bounced data is copied to the slots
        (swiotlb_sync_single_for_device())."""
        m, offset = self._sync_target(dev, dma_addr, size, direction, to_cpu=False)
        if direction in (DMA_TO_DEVICE, DMA_BIDIRECTIONAL):
            self._writeback(m.phys + offset, size)
            if m.bounce is not None:
                self.swiotlb.bounce(m.phys + offset, dma_addr, size)

    def dma_sync_single_range_for_cpu(self, dev, dma_handle, offset, size, direction):
        """dma_sync_single_range_for_cpu(): sync ``size`` bytes at ``offset``
        into the mapping at ``dma_handle`` (a partial sync is legal)."""
        self.dma_sync_single_for_cpu(dev, dma_handle + offset, size, direction)

    def dma_sync_single_range_for_device(self, dev, dma_handle, offset, size, direction):
        """dma_sync_single_range_for_device(): the partial sync for the device."""
        self.dma_sync_single_for_device(dev, dma_handle + offset, size, direction)

    def _check_dev(self, dev, what):
        """Raise DmaError unless ``dev`` is a Device of this machine."""
        if not isinstance(dev, Device):
            raise wrong_type(DmaError, f"{what}: {dev!r} is a {type(dev).__name__}, not a device (create_device())")
        if dev.machine is not self.machine:
            raise DmaError(f"{what}: {dev!r} is another machine's device, not a device of this machine")

    @staticmethod
    def _check_handle(dma_addr, what):
        if dma_addr.__class__ is not int or dma_addr < 0:
            raise reject(DmaError, dma_addr, f"{what}: DMA address {dma_addr!r} must be an int >= 0 (a dma_addr_t)")

    @staticmethod
    def _check_direction(direction, what):
        if direction.__class__ is not int or direction not in _DIR_NAMES:
            raise reject(
                DmaError,
                direction,
                f"{what}: direction {direction!r} is not DMA_TO_DEVICE, DMA_FROM_DEVICE or "
                f"DMA_BIDIRECTIONAL (DMA_NONE is only for debugging)",
            )

    def _mapping(self, dev, dma_addr, size, direction):
        """The mapping an unmap names, checked as kernel/dma/debug.c
        check_unmap() checks it."""
        self._check_dev(dev, "dma_unmap_single")
        self._check_handle(dma_addr, "dma_unmap_single")
        self._check_direction(direction, "dma_unmap_single")
        m = dev.mappings.get(dma_addr)
        if m is None:
            raise DmaError(
                f"DMA-API: {dev.name}: device driver tries to free DMA memory it has not allocated "
                f"[device address=0x{dma_addr:016x}] [size={size} bytes] (unmapped twice, or never mapped)"
            )
        if m.size != size:
            raise DmaError(
                f"DMA-API: {dev.name}: device driver frees DMA memory with different size "
                f"[device address=0x{dma_addr:016x}] [map size={m.size} bytes] [unmap size={size} bytes]"
            )
        if m.direction != direction:
            raise DmaError(
                f"DMA-API: {dev.name}: device driver frees DMA memory with different direction "
                f"[device address=0x{dma_addr:016x}] [size={size} bytes] "
                f"[mapped with {_DIR_NAMES[m.direction]}] "
                f"[unmapped with {_DIR_NAMES[direction]}]"
            )
        return m

    def _sync_target(self, dev, dma_addr, size, direction, to_cpu):
        """The mapping that contains ``dma_addr`` and the offset into it,
        checked as kernel/dma/debug.c check_sync() checks a sync: the
        address must lie in a mapping, the range must stay inside it, the
        direction must match (any direction for a DMA_BIDIRECTIONAL mapping)."""
        what = "dma_sync_single_for_cpu" if to_cpu else "dma_sync_single_for_device"
        self._check_dev(dev, what)
        self._check_handle(dma_addr, what)
        self._check_direction(direction, what)
        if size.__class__ is not int or size <= 0:
            raise reject(BadSize, size, f"{what}: size {size!r} must be > 0")
        m = dev.mappings.get(dma_addr)  # the usual case: the handle itself
        if m is None:
            m = next((m for m in dev.mappings.values() if m.handle <= dma_addr < m.handle + m.size), None)
        if m is None:
            raise DmaError(
                f"DMA-API: {dev.name}: device driver tries to sync DMA memory it has not allocated "
                f"[device address=0x{dma_addr:016x}] [size={size} bytes]"
            )
        offset = dma_addr - m.handle
        if offset + size > m.size:
            raise DmaError(
                f"DMA-API: {dev.name}: device driver syncs DMA memory outside allocated range "
                f"[device address=0x{m.handle:016x}] [allocation size={m.size} bytes] "
                f"[sync offset+size={offset + size}]"
            )
        if m.direction != DMA_BIDIRECTIONAL and direction != m.direction:
            raise DmaError(
                f"DMA-API: {dev.name}: device driver syncs DMA memory with different direction "
                f"[device address=0x{dma_addr:016x}] [size={m.size} bytes] "
                f"[mapped with {_DIR_NAMES[m.direction]}] [synced with {_DIR_NAMES[direction]}]"
            )
        return m, offset

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
    def dma_pool_create(self, name, dev, size, align=0, boundary=0):
        """dma_pool_create(): small coherent blocks carved from coherent pages."""
        return DmaPool(self, name, dev, size, align, boundary)


class DmaPool:
    """mm/dmapool.c (6.12): blocks of ``size`` bytes (at least 16, the size
    of the free-list entry, rounded up to ``align``) carved from coherent
    allocations of ``max(size, PAGE_SIZE)`` bytes, never crossing
    ``boundary`` (default: the allocation). Blocks larger than a page get an
    allocation each. The free list is LIFO; a new allocation's blocks are
    handed out in address order. :meth:`dma_pool_alloc` does not zero a
    block (only :meth:`dma_pool_zalloc` does, or init_on_alloc)."""

    def __init__(self, api, name, dev, size, align=0, boundary=0):
        if size.__class__ is not int or size <= 0:
            raise reject(BadSize, size, f"dma_pool_create({name!r}): size {size!r} must be an int > 0")
        if align.__class__ is not int or align < 0 or (align and align & (align - 1)):
            raise reject(BadSize, align, f"dma_pool_create({name!r}): align {align!r} is not a power of two")
        align = align or 1
        size = max(size, 16)  # sizeof(struct dma_block)
        size = -(-size // align) * align
        allocation = max(size, PAGE_SIZE)
        if boundary.__class__ is not int or boundary < 0 or (boundary and boundary & (boundary - 1)):
            raise reject(BadSize, boundary, f"dma_pool_create({name!r}): boundary {boundary!r} is not a power of two")
        if boundary and boundary < size:
            raise BadSize(f"dma_pool_create({name!r}): boundary {boundary} is smaller than a block of {size}")
        self.api, self.name, self.dev = api, name, dev
        self.size = size
        self.allocation = allocation
        self.boundary = boundary or allocation
        self.pages = []  # (cpu_addr, dma) of each allocation
        self.free = []  # (cpu_addr, dma), LIFO: the head is the last element
        self.live = {}
        self.destroyed = False

    def _new_allocation(self):
        """pool_alloc_page() + pool_initialise_page(): blocks in address order."""
        cpu, dma = self.api.dma_alloc_coherent(self.dev, self.allocation)
        self.pages.append((cpu, dma))
        blocks = []
        offset, next_boundary = 0, self.boundary
        while offset + self.size <= self.allocation:
            if offset + self.size > next_boundary:
                offset, next_boundary = next_boundary, next_boundary + self.boundary
                continue
            blocks.append((cpu + offset, dma + offset))
            offset += self.size
        self.free.extend(reversed(blocks))

    def dma_pool_alloc(self):
        """Returns ``(cpu_addr, dma_handle)`` of a block; its bytes are
        whatever the last user left (a fresh allocation is zero, from
        dma_alloc_coherent())."""
        if self.destroyed:
            raise DmaError(f"dma_pool_alloc: pool {self.name} was destroyed")
        if not self.free:
            self._new_allocation()
        cpu, dma = self.free.pop()
        self.live[dma] = cpu
        return cpu, dma

    def dma_pool_zalloc(self):
        """dma_pool_zalloc(): dma_pool_alloc() with __GFP_ZERO."""
        cpu, dma = self.dma_pool_alloc()
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
            self.api.dma_free_coherent(self.dev, self.allocation, cpu, dma)
        self.pages.clear()
        self.free.clear()
        self.destroyed = True
