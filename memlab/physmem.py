"""The simulated machine: one NUMA node, its zones, and the zoned page allocator.

Kernel: mm/mm_init.c free_area_init() (zone boundaries: ZONE_DMA below
16 MiB, ZONE_DMA32 below 4 GiB, ZONE_NORMAL above), mm/page_alloc.c
__alloc_pages_noprof() -> get_page_from_freelist() (zonelist walk with
watermark checks), __alloc_pages_slowpath(), gfp_to_alloc_flags(),
__zone_watermark_ok().

Deliberately not modelled: NUMA (one node, node 0), memory holes (RAM is one
range from PFN 0; the PCI hole below 4 GiB is not cut out), reserved pages
other than PFN 0 (present == managed: no kernel image, no memmap), kswapd,
direct reclaim, compaction, the OOM killer, highatomic reserves, CMA. Where the
kernel would reclaim or kill, memlab raises :class:`OutOfMemory` and says so.
"""

from .errors import BadFree, BadSize, OutOfMemory
from .gfp import GFP, MAX_NR_ZONES, ZONE_NAMES, ZONE_NORMAL, gfp_names, gfp_zone, parse_gfp
from .page_alloc import (Page, Zone, _check_order, calculate_min_free_kbytes, setup_per_zone_lowmem_reserve,
                         setup_per_zone_wmarks)
from .units import MAX_PAGE_ORDER, NR_PAGE_ORDERS, PAGE_SHIFT, format_size, parse_size

__all__ = ["Machine", "PhysicalMemory", "ALLOC_MIN_RESERVE", "ALLOC_NON_BLOCK", "PAGE_OFFSET", "__va", "__pa"]

#: x86-64 4-level: start of the direct map of all physical memory
#: (Documentation/arch/x86/x86_64/mm.rst), without KASLR.
PAGE_OFFSET = 0xFFFF888000000000


def __va(phys):
    """Kernel: arch/x86/include/asm/page.h __va(): direct-map address of ``phys``."""
    return phys + PAGE_OFFSET


def __pa(vaddr):
    """Kernel: __pa() for direct-map addresses."""
    return vaddr - PAGE_OFFSET


class PhysicalMemory:
    """The bytes of the simulated RAM, sparse: a page costs host memory only
    once something was written to it; untouched pages read as zeros."""

    def __init__(self, nr_pages):
        self.nr_pages = nr_pages
        self._pages = {}

    def _check(self, phys, n):
        if phys < 0 or n < 0 or (phys + n) >> PAGE_SHIFT > self.nr_pages:
            raise BadSize(f"physical range {phys:#x}+{n} is outside RAM (0..{self.nr_pages << PAGE_SHIFT:#x})")

    def read(self, phys, n):
        """``n`` bytes from physical address ``phys``."""
        self._check(phys, n)
        out = bytearray()
        while n:
            pfn, off = phys >> PAGE_SHIFT, phys & 0xFFF
            take = min(n, 4096 - off)
            page = self._pages.get(pfn)
            out += page[off:off + take] if page is not None else bytes(take)
            phys += take
            n -= take
        return bytes(out)

    def write(self, phys, data):
        """Store ``data`` at physical address ``phys``."""
        data = bytes(data)
        self._check(phys, len(data))
        pos = 0
        while pos < len(data):
            pfn, off = phys >> PAGE_SHIFT, phys & 0xFFF
            take = min(len(data) - pos, 4096 - off)
            page = self._pages.get(pfn)
            if page is None:
                page = self._pages[pfn] = bytearray(4096)
            page[off:off + take] = data[pos:pos + take]
            phys += take
            pos += take

    def fill(self, phys, value, n):
        """``memset``: ``n`` bytes of ``value`` from ``phys``."""
        self.write(phys, bytes([value]) * n)

    @property
    def touched_pages(self):
        return len(self._pages)

#: mm/internal.h alloc flags memlab uses (values as in 6.12).
ALLOC_MIN_RESERVE = 0x08   # == __GFP_HIGH: may dip into half of the min reserve
ALLOC_NON_BLOCK = 0x100    # cannot sleep: a further quarter of what is left

_DMA_END_PFN = (16 << 20) >> PAGE_SHIFT     # 4096: 16 MiB
_DMA32_END_PFN = (4 << 30) >> PAGE_SHIFT    # 1048576: 4 GiB
_MIN_RAM = 1 << 20


def gfp_to_alloc_flags(mask):
    """Reserve rights of an allocation in the slow path.

    Kernel: mm/page_alloc.c gfp_to_alloc_flags(): __GFP_HIGH gives
    ALLOC_MIN_RESERVE; no __GFP_DIRECT_RECLAIM (and no __GFP_NOMEMALLOC)
    gives ALLOC_NON_BLOCK.
    """
    flags = ALLOC_MIN_RESERVE if mask & GFP["__GFP_HIGH"] else 0
    if not mask & GFP["__GFP_DIRECT_RECLAIM"] and not mask & GFP["__GFP_NOMEMALLOC"]:
        flags |= ALLOC_NON_BLOCK
    return flags


def zone_watermark_ok(zone, order, mark, highest_zoneidx, alloc_flags=0):
    """Kernel: mm/page_alloc.c __zone_watermark_ok().

    The zone passes if, after taking ``2**order`` pages, more than ``mark +
    lowmem_reserve[highest_zoneidx]`` pages stay free (reserve-entitled
    allocations lower ``mark``), and for order > 0 a free block of at least
    that order exists.
    """
    free_pages = zone.nr_free_pages - ((1 << order) - 1)
    wmin = mark
    if alloc_flags & ALLOC_MIN_RESERVE:
        wmin -= wmin // 2
        if alloc_flags & ALLOC_NON_BLOCK:
            wmin -= wmin // 4
    if free_pages <= wmin + zone.lowmem_reserve[highest_zoneidx]:
        return False
    if not order:
        return True
    mems = zone._mem
    for o in range(order, NR_PAGE_ORDERS):
        if mems[o]:
            return True
    return False


class Machine:
    """A simulated x86-64 machine: ``Machine(ram="1GiB", cpus=2)``.

    Zones by physical address: DMA (PFN 1 up to 16 MiB; PFN 0 is reserved
    as on real x86), DMA32 (up to 4 GiB) and Normal (the rest; absent with
    4 GiB of RAM or less). ``machine.zones`` maps the names of populated
    zones to :class:`memlab.Zone`; ``machine.node_zones`` lists all five
    zone types of node 0 (Movable and Device stay empty), as
    /proc/zoneinfo does. ``min_free_kbytes`` is the kernel's boot-time
    formula unless given; watermarks and lowmem reserves follow from it.
    ``slub_debug`` (True or letters "FZP", like the boot option) turns on
    SLUB red zones and poisoning for every slab cache. ``cpus`` sets SLUB's
    slab geometry (min_objects = 4 * (fls(cpus) + 1)).
    """

    def __init__(self, ram="1GiB", cpus=2, min_free_kbytes=None, watermark_scale_factor=10, slub_debug=None):
        nbytes = parse_size(ram)
        if nbytes < _MIN_RAM:
            raise BadSize(f"Machine: ram {format_size(nbytes)} is below the 1 MiB memlab needs")
        if nbytes % (1 << PAGE_SHIFT):
            raise BadSize(f"Machine: ram {nbytes} bytes is not a whole number of 4 KiB pages")
        if cpus.__class__ is not int or cpus < 1:
            raise BadSize(f"Machine: cpus {cpus!r} must be an int >= 1")
        if min_free_kbytes is not None and (min_free_kbytes.__class__ is not int or min_free_kbytes < 0):
            raise BadSize(f"Machine: min_free_kbytes {min_free_kbytes!r} must be an int >= 0")
        self.ram = nbytes
        self.cpus = cpus
        self.slub_debug = slub_debug
        self.nr_pages = nbytes >> PAGE_SHIFT
        self.node_id = 0
        n = self.nr_pages
        spans = [
            (1, min(n, _DMA_END_PFN)),
            (_DMA_END_PFN, min(n, _DMA32_END_PFN)),
            (_DMA32_END_PFN, n),
        ]
        self.node_zones = []
        for idx, name in enumerate(ZONE_NAMES):
            if idx < len(spans) and spans[idx][1] > spans[idx][0]:
                start, end = spans[idx]
                zone = Zone(name, end - start, start_pfn=start, node=0, zone_idx=idx)
            else:
                zone = Zone(name, 0, start_pfn=0, node=0, zone_idx=idx)
            self.node_zones.append(zone)
        self.zones = {z.name: z for z in self.node_zones if z.present_pages}
        self._populated = [z for z in self.node_zones if z.present_pages]
        managed = [z.managed_pages for z in self.node_zones]
        lowmem = sum(z.managed_pages for z in self.node_zones[:ZONE_NORMAL + 1])
        self.user_min_free_kbytes = min_free_kbytes
        self.min_free_kbytes = calculate_min_free_kbytes(lowmem) if min_free_kbytes is None else min_free_kbytes
        self.watermark_scale_factor = watermark_scale_factor
        marks = setup_per_zone_wmarks(managed, self.min_free_kbytes, list(range(MAX_NR_ZONES)),
                                      watermark_scale_factor)
        reserves = setup_per_zone_lowmem_reserve(managed)
        for zone, mark, reserve in zip(self.node_zones, marks, reserves):
            zone._watermark = mark
            zone.lowmem_reserve = reserve
        # zonelists: for each highest_zoneidx, the populated zones at or below it, highest first
        self._zonelists = [[z for z in reversed(self.node_zones[:hz + 1]) if z.present_pages]
                           for hz in range(MAX_NR_ZONES)]
        self.trail = []
        self.mem = PhysicalMemory(self.nr_pages)
        from .faultinject import FaultAttr

        #: Documentation/fault-injection: make page or slab allocations fail on purpose
        self.fail_page_alloc = FaultAttr("fail_page_alloc", min_order=1)
        self.failslab = FaultAttr("failslab")
        self.kernel_log = []
        self._slub = None
        self._kernel = None
        self.processes = {}

    # ------------------------------------------------------------ memory bytes
    def _kernel_range(self, vaddr, n):
        if vaddr.__class__ is not int or n < 0:
            raise BadSize(f"address {vaddr!r} / length {n!r}: give an int address and a length >= 0")
        if not (PAGE_OFFSET <= vaddr and vaddr + n <= PAGE_OFFSET + self.ram):
            raise BadSize(f"address {vaddr:#x} (+{n} bytes) is not in the direct map of this machine "
                          f"({PAGE_OFFSET:#x}..{PAGE_OFFSET + self.ram - 1:#x})")
        return vaddr - PAGE_OFFSET

    def read(self, vaddr, n):
        """Bytes at a kernel (direct-map) address, as the kernel would see them."""
        return self.mem.read(self._kernel_range(vaddr, n), n)

    def write(self, vaddr, data):
        """Store bytes at a kernel (direct-map) address: no bounds checks, like C.
        Overrunning an object is allowed here and caught later by slub_debug."""
        self.mem.write(self._kernel_range(vaddr, len(data)), data)

    def memset(self, vaddr, value, n):
        """Kernel memset() on a direct-map address."""
        if value.__class__ is not int or not 0 <= value <= 255:
            raise BadSize(f"memset value {value!r} must be a byte 0..255")
        self.mem.fill(self._kernel_range(vaddr, n), value, n)

    def dmesg(self):
        """The kernel log of this machine (slub_debug reports, warnings) as text."""
        return "".join(self.kernel_log)

    # ---------------------------------------------------------------- the slab
    @property
    def slub(self):
        """The SLUB allocator of this machine (created, with its kmalloc
        caches, on first use)."""
        if self._slub is None:
            from .slub import Slub

            slub = self._slub = Slub(self)
            # from now on the machine's slab methods are the allocator's own
            # bound methods: one call less on the hot path
            for name in ("kmem_cache_alloc", "kmem_cache_free", "kmalloc", "kfree"):
                setattr(self, name, getattr(slub, name))
        return self._slub

    def kmem_cache_create(self, name, size, align=0, ctor=None, flags=0):
        """Create a slab cache; see :meth:`memlab.slub.Slub.kmem_cache_create`."""
        return self.slub.kmem_cache_create(name, size, align=align, ctor=ctor, flags=flags)

    def kmem_cache_alloc(self, cache, gfp="GFP_KERNEL"):
        """An object from ``cache``: its kernel virtual (direct-map) address."""
        return self.slub.kmem_cache_alloc(cache, gfp)

    def kmem_cache_free(self, cache, addr):
        """Return the object at ``addr`` to ``cache``."""
        self.slub.kmem_cache_free(cache, addr)

    def kmem_cache_shrink(self, cache):
        """Give the cache's empty slabs back to the buddy allocator."""
        return self.slub.kmem_cache_shrink(cache)

    def kmem_cache_destroy(self, cache):
        """Destroy an empty cache (refused while objects remain)."""
        self.slub.kmem_cache_destroy(cache)

    def kmalloc(self, size, gfp="GFP_KERNEL"):
        """``kmalloc(size, gfp)``: the address of at least ``size`` bytes."""
        return self.slub.kmalloc(size, gfp)

    def kfree(self, addr):
        """``kfree(addr)`` for memory from :meth:`kmalloc`."""
        self.slub.kfree(addr)

    def ksize(self, addr):
        """``ksize(addr)``: how many bytes the allocation really has."""
        return self.slub.ksize(addr)

    # --------------------------------------------------------- address spaces
    @property
    def kernel(self):
        """The kernel half of the address space (:class:`memlab.mm.KernelSpace`)."""
        if self._kernel is None:
            from .mm import KernelSpace

            self._kernel = KernelSpace(self)
        return self._kernel

    def spawn(self, name="a.out", text=0x2000, data=0x1000, bss=0x2000, symbols=None, aslr=False, seed=0,
              pie=True):
        """Start a process from a small ELF-like description: sizes of its
        TEXT, DATA and BSS segments and ``symbols`` ``{name: (segment,
        offset)}``. Address-space randomisation is off unless ``aslr=True``
        (then seeded). Returns a :class:`memlab.mm.Process`."""
        from .mm import Process

        proc = Process(self, name, text, data, bss, symbols, aslr, seed, pie)
        self.processes[proc.pid] = proc
        return proc

    def vmalloc(self, size):
        """``vmalloc(size)``: virtually contiguous kernel memory from scattered pages."""
        return self.kernel.vmalloc(size)

    def vfree(self, addr):
        """``vfree(addr)``."""
        self.kernel.vfree(addr)

    def ioremap(self, phys_addr, size):
        """``ioremap(phys, size)``: map device registers into kernel space."""
        return self.kernel.ioremap(phys_addr, size)

    # ------------------------------------------------------------------ DMA
    @property
    def dma8237(self):
        """The PC/AT's cascaded 8237A DMA controllers (:class:`memlab.dma.Dma8237`)."""
        if getattr(self, "_dma8237", None) is None:
            from .dma import Dma8237

            self._dma8237 = Dma8237(self)
        return self._dma8237

    @property
    def dma(self):
        """The Linux DMA API of this machine (:class:`memlab.dma.DmaApi`)."""
        if getattr(self, "_dma_api", None) is None:
            from .dma import DmaApi

            self._dma_api = DmaApi(self)
        return self._dma_api

    def create_device(self, name, dma_mask=None, coherent=True):
        """A device for the DMA API (default mask DMA_BIT_MASK(32))."""
        from .dma import DMA_BIT_MASK, Device

        return Device(self, name, DMA_BIT_MASK(32) if dma_mask is None else dma_mask, coherent)

    def dma_alloc_coherent(self, dev, size):
        """``dma_alloc_coherent(dev, size)`` -> ``(cpu_addr, dma_handle)``."""
        return self.dma.dma_alloc_coherent(dev, size)

    def dma_free_coherent(self, dev, size, cpu_addr, dma_handle):
        self.dma.dma_free_coherent(dev, size, cpu_addr, dma_handle)

    def dma_map_single(self, dev, cpu_addr, size, direction):
        """``dma_map_single(dev, cpu_addr, size, dir)`` -> dma_handle."""
        return self.dma.dma_map_single(dev, cpu_addr, size, direction)

    def dma_mapping_error(self, dev, dma_addr):
        return self.dma.dma_mapping_error(dev, dma_addr)

    def dma_unmap_single(self, dev, dma_addr, size, direction):
        self.dma.dma_unmap_single(dev, dma_addr, size, direction)

    def dma_sync_single_for_cpu(self, dev, dma_addr, size, direction):
        self.dma.dma_sync_single_for_cpu(dev, dma_addr, size, direction)

    def dma_sync_single_for_device(self, dev, dma_addr, size, direction):
        self.dma.dma_sync_single_for_device(dev, dma_addr, size, direction)

    def dma_pool_create(self, name, dev, size, align=0):
        return self.dma.dma_pool_create(name, dev, size, align)

    # ------------------------------------------------------------- mempools
    def mempool_create(self, min_nr, alloc_fn, free_fn, pool_data=None, name="mempool"):
        """Kernel: mm/mempool.c mempool_create(): a pool pre-filled with
        ``min_nr`` elements from ``alloc_fn(gfp_mask, pool_data)``."""
        from .mempool import Mempool

        return Mempool(self, min_nr, alloc_fn, free_fn, pool_data, name=name)

    def mempool_create_slab_pool(self, min_nr, cache):
        """mempool_create_slab_pool(): elements from kmem_cache_alloc(cache)."""
        from .mempool import Mempool
        from .slub import KmemCache

        if not isinstance(cache, KmemCache):
            raise BadSize(f"mempool_create_slab_pool: {cache!r} is not a kmem_cache")
        slub = self.slub
        return Mempool(self, min_nr, lambda gfp, c: slub.kmem_cache_alloc(c, gfp),
                       lambda e, c: slub.kmem_cache_free(c, e), cache, name=f"slab:{cache.name}")

    def mempool_create_kmalloc_pool(self, min_nr, size):
        """mempool_create_kmalloc_pool(): elements from kmalloc(size)."""
        from .mempool import Mempool

        slub = self.slub
        if size.__class__ is not int or size <= 0:
            raise BadSize(f"mempool_create_kmalloc_pool: size {size!r} must be an int > 0")
        return Mempool(self, min_nr, lambda gfp, n: slub.kmalloc(n, gfp), lambda e, n: slub.kfree(e), size,
                       name=f"kmalloc:{size}")

    def mempool_create_page_pool(self, min_nr, order):
        """mempool_create_page_pool(): elements are order-``order`` Pages."""
        from .mempool import Mempool

        _check_order(order, "mempool_create_page_pool")
        return Mempool(self, min_nr, lambda gfp, o: self.alloc_pages(o, gfp), lambda e, o: self.free_pages(e, o),
                       order, name=f"pages:order-{order}", describe=lambda p: f"pfn {p.pfn}")

    def mempool_alloc(self, pool, gfp="GFP_KERNEL", task="task"):
        """Kernel: mempool_alloc(); see :meth:`memlab.mempool.Mempool.alloc`."""
        return pool.alloc(gfp, task=task)

    def mempool_free(self, element, pool):
        """Kernel: mempool_free(element, pool)."""
        pool.free(element)

    def mempool_resize(self, pool, new_min_nr):
        """Kernel: mempool_resize()."""
        return pool.resize(new_min_nr)

    def mempool_destroy(self, pool):
        """Kernel: mempool_destroy() (refused while elements are out)."""
        pool.destroy()

    # ----------------------------------------------------------------- alloc
    def alloc_pages(self, order=0, gfp="GFP_KERNEL"):
        """Allocate ``2**order`` pages; return the first :class:`Page`.

        Walks the zonelist from the highest zone ``gfp`` allows (Normal for
        GFP_KERNEL, DMA32 for GFP_DMA32, DMA for GFP_DMA) downwards. Fast
        path: a zone is used if it stays above its low watermark plus its
        lowmem reserve for that zone type. Slow path: the same walk against
        the min watermark, lowered for __GFP_HIGH (GFP_ATOMIC) callers. Then
        the real kernel would reclaim, compact or OOM-kill (if it may sleep);
        memlab raises :class:`OutOfMemory`.

        Kernel: mm/page_alloc.c __alloc_pages_noprof(),
        get_page_from_freelist(), __alloc_pages_slowpath().
        """
        if order.__class__ is not int or not 0 <= order <= MAX_PAGE_ORDER:
            _check_order(order)
        mask = parse_gfp(gfp)
        if self.fail_page_alloc.probability and self.fail_page_alloc.should_fail(mask, 1 << order, order):
            raise OutOfMemory(f"alloc_pages(order={order}, {gfp_names(mask)}): failure injected by "
                              f"fail_page_alloc ({self.fail_page_alloc.failures} so far)")
        hz = gfp_zone(mask)
        zonelist = self._zonelists[hz]
        skipped = []
        for zone in zonelist:  # fast path, ALLOC_WMARK_LOW
            if zone_watermark_ok(zone, order, zone.wmark_pages("low"), hz):
                page = zone.alloc_pages(order)
                self.trail.append(("alloc", order, mask, zone.name, "low", tuple(skipped)))
                return page
            skipped.append(zone.name)
        alloc_flags = gfp_to_alloc_flags(mask)
        skipped = []
        for zone in zonelist:  # slow path, ALLOC_WMARK_MIN + reserves
            if zone_watermark_ok(zone, order, zone.wmark_pages("min"), hz, alloc_flags):
                page = zone.alloc_pages(order)
                self.trail.append(("alloc", order, mask, zone.name, "min", tuple(skipped)))
                return page
            skipped.append(zone.name)
        raise self._oom(order, mask, zonelist, hz)

    def _oom(self, order, mask, zonelist, hz):
        parts = []
        for zone in zonelist:
            has_block = any(zone._mem[o] for o in range(order, NR_PAGE_ORDERS))
            parts.append(f"{zone.name}: {zone.nr_free_pages} free, min {zone.wmark_pages('min')}"
                         f" + lowmem_reserve {zone.lowmem_reserve[hz]}"
                         + ("" if has_block else f", no free block of order >= {order}"))
        if mask & GFP["__GFP_DIRECT_RECLAIM"]:
            then = ("the kernel would now try direct reclaim and compaction, and in the end the OOM killer; "
                    "memlab models none of those")
        else:
            then = "the caller cannot sleep (no __GFP_DIRECT_RECLAIM), so the kernel returns NULL here"
        return OutOfMemory(f"alloc_pages(order={order}, {gfp_names(mask)}) failed: no zone passes its "
                           f"watermark ({'; '.join(parts) or 'no populated zone allowed'}); {then}")

    def zone_of_pfn(self, pfn):
        """The populated zone that holds ``pfn`` (MemlabError if none)."""
        for zone in self._populated:
            if zone.zone_start_pfn <= pfn < zone.zone_start_pfn + zone.spanned_pages:
                return zone
        raise _bad_pfn(pfn, self)

    def free_pages(self, page, order):
        """Free a block from :meth:`alloc_pages` back to its zone's buddy lists.

        Kernel: mm/page_alloc.c __free_pages(); see :meth:`Zone.free_pages`.
        """
        pfn = page.pfn if page.__class__ is Page else page
        if pfn.__class__ is not int:
            raise BadFree(f"free_pages: {page!r} is neither a Page nor a PFN")
        self.zone_of_pfn(pfn).free_pages(page, order)
        self.trail.append(("free", order, pfn))

    # --------------------------------------------------------------- queries
    @property
    def nr_free_pages(self):
        return sum(z.nr_free_pages for z in self._populated)

    @property
    def totalram_pages(self):
        return sum(z.managed_pages for z in self._populated)

    def explain(self):
        """The last allocation or free in words: zone choice, then buddy steps."""
        if not self.trail:
            return ["No allocation or free yet."]
        rec = self.trail[-1]
        if rec[0] == "free":
            return self.zone_of_pfn(rec[2]).explain()
        _, order, mask, zname, mark, skipped = rec
        steps = []
        allowed = [z.name for z in self._zonelists[gfp_zone(mask)]]
        steps.append(f"{gfp_names(mask)} allows zones {', '.join(allowed)} (tried in that order).")
        if mark == "min":
            steps.append("Fast path: no zone stayed above its low watermark plus lowmem reserve; "
                         "kswapd would be woken.")
            if skipped:
                steps.append(f"Slow path (min watermark): skipped {', '.join(skipped)}.")
        elif skipped:
            steps.append(f"Fast path: skipped {', '.join(skipped)} (free pages at or below the low "
                         f"watermark plus the lowmem reserve).")
        steps.append(f"Zone {zname} passes the {mark} watermark check.")
        return steps + self.zones[zname].explain()

    def check_invariants(self):
        for zone in self.node_zones:
            zone.check_invariants()

    def __repr__(self):
        zones = ", ".join(f"{z.name} {format_size(z.present_pages << PAGE_SHIFT)}" for z in self._populated)
        return f"<Machine {format_size(self.ram)}, {self.cpus} CPUs: {zones}>"


def _bad_pfn(pfn, machine):
    return BadFree(f"pfn {pfn} is in no zone of this machine (RAM is pfn 1..{machine.nr_pages - 1})")

