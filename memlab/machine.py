"""The simulated machine: the facade at the top of the model.

``Machine(ram="1GiB", cpus=2)`` is node 0's zoned page allocator
(:class:`memlab.page_alloc.Node`) with every other subsystem on top: the
bytes of RAM (:class:`memlab.physmem.PhysicalMemory`), SLUB
(:attr:`Machine.slub`), the kernel half of the address space and user
processes (:attr:`Machine.kernel`, :meth:`Machine.spawn`), the 8237A and the
Linux DMA API (:attr:`Machine.dma8237`, :attr:`Machine.dma`) and mempools.

Subsystems are created on first use and receive the machine, as SimPy
passes its environment: they call back into it (``alloc_pages``,
``mem``, ``kernel_log``) and never import it. The kernel-named calls a
course uses (``m.kmalloc``, ``m.dma_map_single``, ...) are declared on
this class with :class:`_Served`: each is the subsystem's own bound method,
so the facade adds no call of its own on the hot path. Address spaces and
mempools are imported when first used, so ``import memlab`` stays light;
the layer rule holds either way (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from collections import Counter, deque
from functools import cached_property, partial

from .dma import DMA_BIT_MASK, Device, Dma8237, DmaApi
from .errors import BadSize, reject
from .faultinject import FaultAttr
from .layout import PAGE_OFFSET, virt_to_phys
from .page_alloc import Node, Page
from .physmem import PhysicalMemory
from .slub import Slub
from .units import PAGE_SHIFT, format_size, parse_size
from .vfs import Vfs
from .vmscan import Vmscan, alloc_pages_slowpath

TYPE_CHECKING = False  # (typing.TYPE_CHECKING without importing typing at run time)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .mempool import Mempool
    from .mm import Cpus, File, KernelSpace, Process

__all__ = ["Machine"]

_MEMPOOL = None  # memlab.mempool.Mempool, once the first mempool call has imported it


def _mempool_class():
    global _MEMPOOL
    from .mempool import Mempool

    _MEMPOOL = Mempool
    return Mempool


class _Served:
    """A facade call served by a subsystem: ``Machine.kmalloc =
    _Served("slub", Slub.kmalloc)`` makes ``m.kmalloc`` the bound method
    ``m.slub.kmalloc`` (same signature, same docstring).

    Like :func:`functools.cached_property`, the first lookup stores the bound
    method in the machine's ``__dict__``, so every later ``m.kmalloc(...)``
    is a plain attribute lookup and a direct call: the facade costs nothing
    on the hot path."""

    def __init__(self, subsystem, function):
        self.subsystem = subsystem
        self.name = function.__name__
        self.__doc__ = (function.__doc__ or "") + f"\n\n(Served by ``machine.{subsystem}.{self.name}``.)"
        self.__wrapped__ = function

    def __set_name__(self, owner, name):
        if name != self.name:
            raise TypeError(f"Machine.{name} would serve {self.subsystem}.{self.name}: use the same name")

    def __get__(self, machine, owner=None):
        if machine is None:
            return self
        method = getattr(getattr(machine, self.subsystem), self.name)
        machine.__dict__[self.name] = method
        return method

    def __repr__(self):
        return f"<Machine.{self.name}: served by machine.{self.subsystem}.{self.name}>"


def _swiotlb_range(ram, option):
    """``(phys, size)`` of the swiotlb pool reserved at boot, or None.

    Kernel: arch/x86/kernel/pci-dma.c pci_swiotlb_detect(): x86 sets up
    swiotlb when RAM reaches above 4 GiB (max_possible_pfn >
    MAX_DMA32_PFN) or with ``swiotlb=force``; ``swiotlb=noforce`` turns it
    off. kernel/dma/swiotlb.c swiotlb_init_remap() takes
    IO_TLB_DEFAULT_SIZE (64 MiB) from memblock below 4 GiB, top down, so the
    pool ends where low memory ends. Simplification: there is no PCI hole
    below 4 GiB here, so the pool ends at min(RAM, 4 GiB).
    """
    from .dma.swiotlb import IO_TLB_DEFAULT_SIZE

    if option not in (None, "force", "noforce"):
        raise BadSize(f"Machine: swiotlb {option!r} must be None (automatic), 'force' or 'noforce'")
    if option == "noforce" or (option is None and ram <= 4 << 30):
        return None
    top = min(ram, 4 << 30)
    start = top - IO_TLB_DEFAULT_SIZE
    if start < 16 << 20:
        raise BadSize(
            f"Machine: swiotlb='force' needs its 64 MiB pool above 16 MiB and below 4 GiB; "
            f"{format_size(ram)} of RAM is too little"
        )
    return start, IO_TLB_DEFAULT_SIZE


class Machine(Node):
    """A simulated x86-64 machine: ``Machine(ram="1GiB", cpus=2)``.

    Zones by physical address: DMA (PFN 1 up to 16 MiB; PFN 0 is reserved
    as on real x86), DMA32 (up to 4 GiB) and Normal (the rest; absent with
    4 GiB of RAM or less). ``machine.zones`` maps the names of populated
    zones to :class:`memlab.Zone`; ``machine.node_zones`` lists all five
    zone types of node 0 (Movable and Device stay empty), as
    /proc/zoneinfo does. ``min_free_kbytes`` is the kernel's boot-time
    formula unless given; watermarks and lowmem reserves follow from it.
    ``slub_debug`` (True or letters from "FZPU", like the boot option) turns
    on SLUB's debugging for every slab cache. ``swiotlb`` ("force",
    "noforce", or None: set up when RAM reaches above 4 GiB) reserves the
    DMA API's 64 MiB bounce pool at boot. ``cpus`` sets SLUB's
    slab geometry (min_objects = 4 * (fls(cpus) + 1)). ``mobility=True``
    groups pages by mobility: every zone is a :class:`memlab.MobilityZone`
    with migratetypes, pageblocks and per-CPU lists (lesson 02's machine
    leaves it off, so its PFNs stay those of the plain buddy allocator).
    """

    def __init__(
        self,
        ram: str | int = "1GiB",
        cpus: int = 2,
        min_free_kbytes: int | None = None,
        watermark_scale_factor: int = 10,
        slub_debug: bool | str | None = None,
        swiotlb: str | None = None,
        mobility: bool = False,
        reclaim: bool | None = None,
    ) -> None:
        if cpus.__class__ is not int or cpus < 1:
            raise reject(BadSize, cpus, f"Machine: cpus {cpus!r} must be an int >= 1")
        self.swiotlb_range = _swiotlb_range(parse_size(ram), swiotlb)
        reserved = (
            []
            if self.swiotlb_range is None
            else [(self.swiotlb_range[0] >> PAGE_SHIFT, (self.swiotlb_range[0] + self.swiotlb_range[1]) >> PAGE_SHIFT)]
        )
        super().__init__(
            ram,
            min_free_kbytes=min_free_kbytes,
            watermark_scale_factor=watermark_scale_factor,
            reserved=reserved,
            mobility=mobility,
            cpus=cpus,
        )
        self.cpus = cpus
        #: page reclaim on: kswapd, direct reclaim and the OOM killer (memlab.vmscan); default: with mobility
        self.reclaim = mobility if reclaim is None else bool(reclaim)
        self._cpus: Cpus | None = None  # the TLB model, made on first use (Machine.tlb)
        self.slub_debug = slub_debug
        self.mem = PhysicalMemory(self.nr_pages, is_free=self._pfn_is_free)
        #: Documentation/fault-injection: make slab allocations fail on purpose
        self.failslab = FaultAttr("failslab")
        #: kernel messages, oldest first. The kernel keeps them in the printk
        #: ring buffer (log_buf_len bytes); memlab keeps the last 1,000
        #: messages (a simplification), so a long run stays bounded.
        self.kernel_log: deque[str] = deque(maxlen=1000)
        self.processes: dict[int, Process] = {}
        #: the process whose system call or fault is running (memlab's ``current``)
        self.current: Process | None = None
        #: the files with pages in the page cache (by id), for /proc/meminfo and drop_caches
        self.cached_files: dict[int, File] = {}
        #: event counters of /proc/vmstat that are not kept elsewhere (pgpgin, pgpgout, drop_pagecache, ...)
        self.vm_events: Counter[str] = Counter()
        self._next_pid = 1000
        self._next_inode = 131073

    def alloc_pages(self, order: int = 0, gfp: str | int = "GFP_KERNEL") -> Page:
        """Allocate ``2**order`` pages (see :meth:`memlab.page_alloc.Node.alloc_pages`);
        on a machine made with ``reclaim=True`` (or ``mobility=True``) a failed fast
        path wakes kswapd and a failing request reclaims, compacts and, at last,
        calls the OOM killer (:func:`memlab.vmscan.alloc_pages_slowpath`)."""
        if not self.reclaim:
            return Node.alloc_pages(self, order, gfp)
        return alloc_pages_slowpath(self, partial(Node.alloc_pages, self), order, gfp)

    @cached_property
    def vmscan(self) -> Vmscan:
        """Page reclaim of this machine (kswapd, direct reclaim, the OOM killer)."""
        return Vmscan(self)

    def free_pages(self, page: Page | int, order: int) -> None:
        """Free a block (see :meth:`memlab.page_alloc.Node.free_pages`); its
        frames keep their bytes, as with init_on_free=0 (see
        :class:`memlab.physmem.PhysicalMemory` for the bound on that)."""
        Node.free_pages(self, page, order)
        self.mem.retire(page.pfn if isinstance(page, Page) else page, 1 << order)

    def _pfn_is_free(self, pfn):
        return self.zone_of_pfn(pfn).free_block_containing(pfn) is not None

    # ------------------------------------------------------------ identities
    def alloc_pid(self):
        """The next process id of this machine (kernel: alloc_pid())."""
        pid = self._next_pid
        self._next_pid += 1
        return pid

    def alloc_inode(self):
        """The next inode number of this machine's file system (get_next_ino())."""
        ino = self._next_inode
        self._next_inode += 1
        return ino

    # ------------------------------------------------------------ memory bytes
    def _kernel_range(self, vaddr, n):
        if vaddr.__class__ is not int or n.__class__ is not int or n < 0:
            raise reject(BadSize, vaddr, f"address {vaddr!r} / length {n!r}: give an int address and a length >= 0")
        if not (vaddr >= PAGE_OFFSET and vaddr + n <= PAGE_OFFSET + self.ram):
            raise BadSize(
                f"address {vaddr:#x} (+{n} bytes) is not in the direct map of this machine "
                f"({PAGE_OFFSET:#x}..{PAGE_OFFSET + self.ram - 1:#x})"
            )
        return virt_to_phys(vaddr)

    def read(self, vaddr, n):
        """Bytes at a kernel (direct-map) address, as the kernel would see them."""
        return self.mem.read(self._kernel_range(vaddr, n), n)

    def write(self, vaddr, data):
        """Store bytes at a kernel (direct-map) address: no bounds checks, like C.
        Overrunning an object is allowed here and caught later by slub_debug.
        The store reaches memory at once, as on x86 where DMA is cache-coherent;
        to model a CPU store that sits in a non-coherent device's cache until
        a sync, use ``m.dma.cpu_write(vaddr, data, dev)``."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise BadSize(f"write: data must be bytes, not {type(data).__name__}")
        self.mem.write(self._kernel_range(vaddr, len(data)), data)

    def memset(self, vaddr, value, n):
        """Kernel memset() on a direct-map address."""
        if value.__class__ is not int or not 0 <= value <= 255:
            raise reject(BadSize, value, f"memset value {value!r} must be a byte 0..255")
        self.mem.fill(self._kernel_range(vaddr, n), value, n)

    def dmesg(self):
        """The kernel log of this machine (slub_debug reports, warnings) as text."""
        return "".join(self.kernel_log)

    # ---------------------------------------------------------------- the slab
    @cached_property
    def slub(self) -> Slub:
        """The SLUB allocator of this machine (created, with its kmalloc
        caches, on first use)."""
        return Slub(self)

    kmem_cache_create = _Served("slub", Slub.kmem_cache_create)
    kmem_cache_alloc = _Served("slub", Slub.kmem_cache_alloc)
    kmem_cache_free = _Served("slub", Slub.kmem_cache_free)
    kmem_cache_shrink = _Served("slub", Slub.kmem_cache_shrink)
    kmem_cache_destroy = _Served("slub", Slub.kmem_cache_destroy)
    kmalloc = _Served("slub", Slub.kmalloc)
    kfree = _Served("slub", Slub.kfree)
    ksize = _Served("slub", Slub.ksize)
    kzalloc = _Served("slub", Slub.kzalloc)
    krealloc = _Served("slub", Slub.krealloc)

    # --------------------------------------------------------- address spaces
    @cached_property
    def kernel(self) -> KernelSpace:
        """The kernel half of the address space (:class:`memlab.mm.KernelSpace`)."""
        from .mm import KernelSpace

        return KernelSpace(self)

    def vmalloc(self, size: int) -> int:
        """``vmalloc(size)``: virtually contiguous kernel memory from scattered
        pages; see :meth:`memlab.mm.KernelSpace.vmalloc`."""
        return self.kernel.vmalloc(size)

    def vfree(self, addr: int) -> None:
        """``vfree(addr)``."""
        self.kernel.vfree(addr)

    @property
    def tlb(self):
        """The CPUs' TLBs (:class:`memlab.mm.Cpus`, PCID on, no PTI, 64
        entries each), created on first use; :meth:`set_tlb` chooses other
        settings."""
        if self._cpus is None:
            from .mm.tlb import Cpus

            self._cpus = Cpus(self)
        return self._cpus

    def set_tlb(self, pcid: bool = True, pti: bool = False, capacity: int = 64):
        """Fresh, empty TLBs with these settings (X86_FEATURE_PCID, page-table
        isolation, entries per TLB); returns :attr:`tlb`."""
        from .mm.tlb import Cpus

        self._cpus = Cpus(self, pcid=pcid, pti=pti, capacity=capacity)
        for process in self.processes.values():
            process.mm.cpumask.clear()
        return self._cpus

    def flush_tlb_mm_range(self, mm, start: int, end: int):
        """Called when page-table entries of ``mm`` changed: flush the TLBs
        (:meth:`memlab.mm.Cpus.flush_tlb_mm_range`); nothing to do while no
        CPU has a TLB in use."""
        if self._cpus is None:
            return None
        return self._cpus.flush_tlb_mm_range(mm, start, end)

    def compact_memory(self, order: int = -1):
        """``echo 1 > /proc/sys/vm/compact_memory`` (``order=-1``) or the
        compaction of every zone for a request of ``order``, on a machine
        made with ``mobility=True``: see :func:`memlab.mm.migrate.compact_node`.
        Returns each zone's :class:`memlab.page_alloc.CompactionResult`."""
        from .mm.migrate import compact_node

        return compact_node(self, order)

    def kvmalloc(self, size: int, gfp: str | int = "GFP_KERNEL") -> int | None:
        """``kvmalloc(size, gfp)``: kmalloc, else vmalloc; see
        :meth:`memlab.mm.KernelSpace.kvmalloc`."""
        return self.kernel.kvmalloc(size, gfp)

    def kvfree(self, addr: int) -> None:
        """``kvfree(addr)``: vfree or kfree, whichever fits the address."""
        self.kernel.kvfree(addr)

    def ioremap(self, phys_addr: int, size: int) -> int:
        """``ioremap(phys, size)``: map device registers into kernel space."""
        return self.kernel.ioremap(phys_addr, size)

    def spawn(
        self,
        name: str = "a.out",
        text: int = 0x2000,
        data: int = 0x1000,
        bss: int = 0x2000,
        symbols: dict[str, tuple[str, int]] | None = None,
        aslr: bool = False,
        seed: int = 0,
        pie: bool = True,
    ) -> Process:
        """Start a process from a small ELF-like description: sizes of its
        TEXT, DATA and BSS segments and ``symbols`` ``{name: (segment,
        offset)}``. Address-space randomisation is off unless ``aslr=True``
        (then seeded). Returns a :class:`memlab.mm.Process`."""
        from .mm import Process

        proc = Process(self, name, text, data, bss, symbols, aslr, seed, pie)
        self.processes[proc.pid] = proc
        return proc

    def create_file(self, name, size, dev=(0xFE, 0x00)):
        """A file of ``size`` bytes on this machine's disk, with the next
        inode number, ready for ``mmap(file=...)``; creating it leaves its
        dentry and inode in the caches (:attr:`vfs`)."""
        from .mm import File

        file = File(name, size, inode=self.alloc_inode(), dev=dev)
        self.vfs.lookup(file)
        return file

    def sync(self):
        """``sync()``: every dirty page of the page cache written back to
        its file on disk and marked clean (``Dirty:`` falls to 0, the pages
        stay cached). Returns the pages written; counts them in pgpgout
        (KiB) and nr_written as /proc/vmstat does."""
        written = sum(f.writeback(self) for f in self.cached_files.values())
        self.vm_events["pgpgout"] += 4 * written
        self.vm_events["nr_written"] += written
        return written

    @cached_property
    def vfs(self) -> Vfs:
        """The dentry and inode caches and the block device's page cache
        (:class:`memlab.vfs.Vfs`)."""
        return Vfs(self)

    # ------------------------------------------------------------------ DMA
    @cached_property
    def dma8237(self) -> Dma8237:
        """The PC/AT's cascaded 8237A DMA controllers (:class:`memlab.dma.Dma8237`)."""
        return Dma8237(self)

    @cached_property
    def dma(self) -> DmaApi:
        """The Linux DMA API of this machine (:class:`memlab.dma.DmaApi`)."""
        return DmaApi(self)

    def create_device(self, name, dma_mask=None, coherent=True):
        """A device for the DMA API (default mask DMA_BIT_MASK(32))."""
        return Device(self, name, DMA_BIT_MASK(32) if dma_mask is None else dma_mask, coherent)

    dma_alloc_coherent = _Served("dma", DmaApi.dma_alloc_coherent)
    dma_free_coherent = _Served("dma", DmaApi.dma_free_coherent)
    dma_map_single = _Served("dma", DmaApi.dma_map_single)
    dma_mapping_error = _Served("dma", DmaApi.dma_mapping_error)
    dma_unmap_single = _Served("dma", DmaApi.dma_unmap_single)
    dma_sync_single_for_cpu = _Served("dma", DmaApi.dma_sync_single_for_cpu)
    dma_sync_single_for_device = _Served("dma", DmaApi.dma_sync_single_for_device)
    dma_sync_single_range_for_cpu = _Served("dma", DmaApi.dma_sync_single_range_for_cpu)
    dma_sync_single_range_for_device = _Served("dma", DmaApi.dma_sync_single_range_for_device)
    dma_pool_create = _Served("dma", DmaApi.dma_pool_create)

    # ------------------------------------------------------------- mempools
    def mempool_create(
        self, min_nr: int, alloc_fn: Callable, free_fn: Callable, pool_data: object = None, name: str = "mempool"
    ) -> Mempool:
        """Kernel: mm/mempool.c mempool_create(): a pool pre-filled with
        ``min_nr`` elements from ``alloc_fn(gfp_mask, pool_data)``."""
        from .mempool import Mempool

        return Mempool(self, min_nr, alloc_fn, free_fn, pool_data, name=name)

    def mempool_create_slab_pool(self, min_nr, cache):
        """mempool_create_slab_pool(): elements from kmem_cache_alloc(cache)."""
        from . import mempool

        return mempool.mempool_create_slab_pool(self, min_nr, cache)

    def mempool_create_kmalloc_pool(self, min_nr, size):
        """mempool_create_kmalloc_pool(): elements from kmalloc(size)."""
        from . import mempool

        return mempool.mempool_create_kmalloc_pool(self, min_nr, size)

    def mempool_create_page_pool(self, min_nr, order):
        """mempool_create_page_pool(): elements are order-``order`` Pages."""
        from . import mempool

        return mempool.mempool_create_page_pool(self, min_nr, order)

    def _pool(self, pool, what):
        """``pool`` if it is a mempool of this machine, else a BadPool naming it.

        On the hot path (every mempool_alloc and mempool_free) this is one
        class test and one identity test; the mempool module is imported
        once, by the first call, not on every call."""
        if pool.__class__ is not (_MEMPOOL or _mempool_class()) or pool.machine is not self:
            from .errors import BadPool, wrong_type
            from .mempool import Mempool

            if not isinstance(pool, Mempool):
                raise wrong_type(BadPool, f"{what}: {pool!r} is a {type(pool).__name__}, not a mempool")
            raise BadPool(f"{what}: {pool!r} is another machine's mempool, not a mempool of this machine")
        return pool

    def mempool_alloc(self, pool: Mempool, gfp: str | int = "GFP_KERNEL", task: str = "task") -> Any:
        """Kernel: mempool_alloc(); see :meth:`memlab.mempool.Mempool.alloc`."""
        return self._pool(pool, "mempool_alloc").alloc(gfp, task=task)

    def mempool_free(self, element: Any, pool: Mempool) -> None:
        """Kernel: mempool_free(element, pool)."""
        self._pool(pool, "mempool_free").free(element)

    def mempool_resize(self, pool, new_min_nr):
        """Kernel: mempool_resize()."""
        return self._pool(pool, "mempool_resize").resize(new_min_nr)

    def mempool_destroy(self, pool):
        """Kernel: mempool_destroy() (refused while elements are out)."""
        self._pool(pool, "mempool_destroy").destroy()

    def __repr__(self):
        zones = ", ".join(f"{z.name} {format_size(z.present_pages << PAGE_SHIFT)}" for z in self.populated_zones)
        return f"<Machine {format_size(self.ram)}, {self.cpus} CPUs: {zones}>"
