"""The SLUB slab allocator and kmalloc, fed by the machine's buddy allocator.

Kernel: mm/slub.c (Linux 6.12): calculate_sizes(), calculate_order(),
calc_slab_order(), allocate_slab(), ___slab_alloc(), get_partial_node(),
__slab_free(), deactivate_slab(), __kmem_cache_do_shrink(),
__kmem_cache_shutdown(), check_object(), init_object(); mm/slab_common.c
kmem_cache_create(), create_kmalloc_caches(), kmalloc_slab(),
__kmalloc_large_node(), __ksize(), kmem_cache_destroy(), get_slabinfo() and
cache_show() for /proc/slabinfo; include/linux/slab.h kmalloc_index(),
kmalloc_type(); include/linux/poison.h.

What is modelled: the object layout and slab order exactly as SLUB computes
them (so objsize, objperslab and pagesperslab match a real kernel with the
same CPU count), slab pages taken from and returned to the zones with
``alloc_pages``, each slab's LIFO freelist, the CPU slab, the node's partial
list (full slabs are tracked too, for the course's drawings), empty-slab
release above ``min_partial``, constructors run when a slab is populated,
kmalloc size classes and types (normal, reclaimable, DMA, cgroup), large
kmalloc from the page allocator, and slub_debug red zones and poisoning with
kernel-style reports.

Deliberately not modelled: several CPUs (every allocation runs on CPU 0, so
there is one CPU slab per cache), per-CPU partial lists
(CONFIG_SLUB_CPU_PARTIAL), cache merging (as with ``slab_nomerge``), freelist
randomisation and pointer hardening, kmalloc-rnd caches, NUMA, memcg
accounting, RCU-delayed freeing, KASAN/KFENCE, SLAB_STORE_USER tracking.
"""

from __future__ import annotations

from ..errors import BadCache, BadFree, BadSize, MemlabError, OutOfMemory, reject, wrong_type
from ..gfp import GFP, parse_gfp
from ..layout import pfn_to_virt, virt_to_phys
from ..units import MAX_PAGE_ORDER, PAGE_SHIFT, PAGE_SIZE, format_size, order_for_size
from .cache import KmemCache, Slab, SlabState
from .debug import SlubDebug
from .geometry import (
    KMALLOC_MAX_CACHE_SIZE,
    KMALLOC_SHIFT_HIGH,
    KMALLOC_SHIFT_LOW,
    KMALLOC_TYPES,
    SLAB_KMALLOC,
    ZERO_SIZE_PTR,
    kmalloc_index,
    kmalloc_name,
    kmalloc_size_of_index,
    parse_slub_debug,
)

TYPE_CHECKING = False  # (typing.TYPE_CHECKING without importing typing at run time)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["Slub"]

# the slab states as module constants: the hot paths compare with these (an
# enum member lookup costs a few times more than a global)
_CPU, _PARTIAL, _FULL, _FREED = SlabState.CPU, SlabState.PARTIAL, SlabState.FULL, SlabState.FREED


class Slub(SlubDebug):
    """The slab allocator of one :class:`memlab.Machine` (``machine.slub``).

    The machine's calls ``kmem_cache_create``, ``kmem_cache_alloc``,
    ``kmem_cache_free``, ``kmem_cache_shrink``, ``kmem_cache_destroy``,
    ``kmalloc``, ``kfree`` and ``ksize`` are this object's methods.

    Slabs are found from an object's address by its direct-map page number
    (``addr >> PAGE_SHIFT``, the virtual counterpart of ``virt_to_slab()``):
    one dict lookup on the free path, no subtraction.
    """

    def __init__(self, machine, slub_debug=None):
        self.machine = machine
        self.nr_cpus = machine.cpus
        self.failslab = machine.failslab
        self.caches = []  # creation order; slabinfo lists newest first
        self._by_name = {}
        self._slab_of_vpage = {}  # direct-map page number (addr >> 12) of every slab page -> Slab
        self._large = {}  # direct-map page number -> (Page, size) of kmalloc_large allocations
        self.slub_debug = parse_slub_debug(
            slub_debug if slub_debug is not None else getattr(machine, "slub_debug", None)
        )
        self.kmalloc_caches = {}  # (type, index) -> KmemCache
        self._kmalloc_tables = {}  # gfp expression -> caches by kmalloc_index
        for type_name, prefix, type_flags in KMALLOC_TYPES:
            indices = [1, 2] + list(range(KMALLOC_SHIFT_LOW, KMALLOC_SHIFT_HIGH + 1))
            for index in indices:
                size = kmalloc_size_of_index(index)
                cache = self._create(
                    kmalloc_name(prefix, size), size, 0, SLAB_KMALLOC | type_flags | self.slub_debug, None
                )
                self.kmalloc_caches[(type_name, index)] = cache

    # ---------------------------------------------------------------- caches
    def _create(self, name, size, align, flags, ctor):
        cache = KmemCache(self, name, size, align, flags, ctor)
        self.caches.append(cache)
        self._by_name[name] = cache
        return cache

    def kmem_cache_create(
        self, name: str, size: int, align: int = 0, ctor: Callable[[int], Any] | None = None, flags: int = 0
    ) -> KmemCache:
        """Create a cache of ``size``-byte objects.

        ``align``: minimum alignment (power of two); ``ctor(addr)`` runs on
        every object when a new slab is populated, not on each allocation;
        ``flags``: SLAB_HWCACHE_ALIGN, SLAB_CACHE_DMA, SLAB_RED_ZONE,
        SLAB_POISON, ... Kernel: mm/slab_common.c kmem_cache_create() ->
        mm/slub.c __kmem_cache_create() -> calculate_sizes().
        """
        if not isinstance(name, str) or not name or " " in name:
            raise BadCache(f"kmem_cache_create: name {name!r} must be a non-empty string without spaces")
        if name in self._by_name:
            raise BadCache(
                f"kmem_cache_create: a cache named {name!r} already exists (/proc/slabinfo rows are keyed by name)"
            )
        if size.__class__ is not int or size <= 0:
            raise reject(BadCache, size, f"kmem_cache_create({name!r}): size {size!r} must be an int > 0")
        if size > KMALLOC_MAX_CACHE_SIZE * 8 * 16:
            raise BadCache(
                f"kmem_cache_create({name!r}): objects of {format_size(size)} are too large for "
                f"a slab; use alloc_pages or vmalloc"
            )
        if align.__class__ is not int or align < 0 or (align & (align - 1)):
            raise reject(BadCache, align, f"kmem_cache_create({name!r}): align {align!r} must be 0 or a power of two")
        if ctor is not None and not callable(ctor):
            raise BadCache(f"kmem_cache_create({name!r}): ctor {ctor!r} is not callable")
        if flags.__class__ is not int or flags < 0:
            raise reject(BadCache, flags, f"kmem_cache_create({name!r}): flags {flags!r} must be SLAB_* bits")
        return self._create(name, size, align, flags | self.slub_debug, ctor)

    def find_cache(self, name):
        """The cache called ``name`` (BadCache if none)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise BadCache(f"no slab cache named {name!r}") from None

    def kmem_cache_destroy(self, cache):
        """Kernel: mm/slab_common.c kmem_cache_destroy(): refuses (WARN) while
        objects remain; otherwise frees every slab and removes the cache."""
        self.check_cache(cache, "kmem_cache_destroy")
        if cache.flags & SLAB_KMALLOC:  # by flag: a cache the student named "kmalloc-x" can be destroyed
            raise BadCache(f"kmem_cache_destroy: {cache.name} is a kmalloc cache; they live as long as the kernel")
        if cache.objects_in_use:
            msg = (
                f"kmem_cache_destroy {cache.name}: Slab cache still has objects when called from "
                f"kmem_cache_destroy+0x0/0x0 ({cache.objects_in_use} object"
                f"{'s' if cache.objects_in_use != 1 else ''} still allocated)"
            )
            self.machine.kernel_log.append("WARNING: " + msg + "\n")
            raise BadCache(msg)
        for slab in cache.slabs():
            self._discard_slab(cache, slab)
        cache.cpu_slab = None
        cache.partial.clear()
        cache.full.clear()
        self.caches.remove(cache)
        del self._by_name[cache.name]

    def check_cache(self, cache, what):
        """Raise :class:`BadCache` unless ``cache`` is a live cache of this machine."""
        if not isinstance(cache, KmemCache):
            raise wrong_type(BadCache, f"{what}: {cache!r} ({type(cache).__name__}) is not a kmem_cache")
        if self._by_name.get(cache.name) is not cache:
            raise BadCache(f"{what}: {cache!r} is not a live cache of this machine")

    # ------------------------------------------------------------ allocation
    def kmem_cache_alloc(self, cache: KmemCache, gfp: str | int = "GFP_KERNEL") -> int:
        """An object's kernel virtual address.

        Kernel: mm/slub.c slab_alloc_node() / ___slab_alloc(): pop the head
        of the CPU slab's freelist; if it is empty, take the first slab of the
        node's partial list; if there is none, allocate a new slab from the
        page allocator (``alloc_pages`` of the cache's order, falling back to
        the smallest order that holds one object) and run the constructor on
        every object.
        """
        if cache.__class__ is not KmemCache or cache.slub is not self:  # None, a name, another machine's cache
            self.check_cache(cache, "kmem_cache_alloc")
        if gfp.__class__ is not str or gfp != "GFP_KERNEL":
            parse_gfp(gfp)  # a bad GFP is refused now, not only when a new slab is needed
        if self.failslab.probability:
            self._failslab(cache, gfp)
        slab = cache.cpu_slab
        if slab is not None and slab.freelist:
            index = slab.freelist.pop()
        else:
            self.check_cache(cache, "kmem_cache_alloc")
            slab = self._refill_cpu_slab(cache, gfp)
            index = slab.freelist.pop()
        slab.isfree[index] = 0
        slab.inuse += 1
        addr = slab.obj0 + index * cache.size
        if cache.debug:
            self._alloc_debug(cache, slab, index, addr)
        return addr

    def _failslab(self, cache, gfp):
        """Kernel: mm/failslab.c should_failslab() (slab_pre_alloc_hook)."""
        mask = parse_gfp(gfp) if gfp.__class__ is not int else gfp
        if self.failslab.should_fail(mask, cache.object_size):
            raise OutOfMemory(
                f"kmem_cache_alloc({cache.name}): failure injected by failslab ({self.failslab.failures} so far)"
            )

    def _refill_cpu_slab(self, cache, gfp):
        # a new slab first (it may fail), so that a failure leaves the CPU slab where it was
        slab = cache.partial.pop(0) if cache.partial else self._new_slab(cache, gfp)
        old = cache.cpu_slab
        if old is not None:  # deactivate_slab(): the full CPU slab leaves
            old.state = _FULL
            cache.full.append(old)
            cache.cpu_slab = None
        slab.state = _CPU
        cache.cpu_slab = slab
        return slab

    def _new_slab(self, cache, gfp):
        """Kernel: mm/slub.c allocate_slab(): pages from the buddy allocator."""
        machine = self.machine
        mask = parse_gfp(gfp) if gfp.__class__ is not int else gfp
        mask = (mask & ~(GFP["__GFP_DMA"] | GFP["__GFP_DMA32"])) | cache.alloc_gfp
        try:
            page = machine.alloc_pages(cache.order, mask)
        except OutOfMemory:
            if cache.min_order == cache.order:
                raise
            page = machine.alloc_pages(cache.min_order, mask)  # oo = s->min
        slab = Slab(cache, page)
        first = slab.base >> PAGE_SHIFT
        for vpage in range(first, first + (1 << page.order)):
            self._slab_of_vpage[vpage] = slab
        cache.nr_slabs += 1
        cache.total_objects += slab.objects
        if cache.debug:
            self._setup_slab_debug(cache, slab)
        if cache.ctor is not None:
            try:
                for index in range(slab.objects):
                    cache.ctor(slab.object_address(index))
            except MemlabError:
                self._discard_new_slab(cache, slab)
                raise
            except Exception as err:  # the student's constructor failed: give the slab back, say why
                self._discard_new_slab(cache, slab)
                raise BadCache(
                    f"kmem_cache_alloc({cache.name}): the constructor {getattr(cache.ctor, '__name__', cache.ctor)!r} "
                    f"failed on a new slab ({type(err).__name__}: {err}); a ctor takes one argument, the object's "
                    f"address"
                ) from None
        return slab

    def _discard_new_slab(self, cache, slab):
        """Undo _new_slab(): the slab's pages back to the buddy allocator."""
        first = slab.base >> PAGE_SHIFT
        for vpage in range(first, first + (1 << slab.page.order)):
            del self._slab_of_vpage[vpage]
        cache.nr_slabs -= 1
        cache.total_objects -= slab.objects
        self.machine.free_pages(slab.page, slab.page.order)

    # ------------------------------------------------------------------ free
    def kmem_cache_free(self, cache: KmemCache, addr: int) -> None:
        """Kernel: mm/slub.c kmem_cache_free() -> do_slab_free() / __slab_free().

        The object goes to the head of its slab's freelist. A full slab
        becomes partial (added at the tail of the partial list); a slab whose
        last object comes back is given back to the buddy allocator when the
        node already has ``min_partial`` partial slabs. The wrong cache, a
        double free or an address that is not an object raise
        :class:`BadFree` and change nothing.
        """
        slab = self._slab_of_vpage.get(addr >> PAGE_SHIFT) if addr.__class__ is int else None
        if slab is None or slab.cache is not cache:
            slab, index = self._object_of(addr, "kmem_cache_free")
            if slab.cache is not cache:
                self.check_cache(cache, "kmem_cache_free")
                raise BadFree(
                    f"kmem_cache_free: Wrong slab cache. {cache.name} but object is from "
                    f"{slab.cache.name} (address {addr:#x})"
                )
        else:
            index, rem = divmod(addr - slab.obj0, cache.size)
            if rem or not 0 <= index < slab.objects:
                slab, index = self._object_of(addr, "kmem_cache_free")
        self._free(cache, slab, index, addr)

    def _free(self, cache, slab, index, addr):
        if slab.isfree[index]:
            raise BadFree(
                f"{cache.name}: double free of object {addr:#x} (object {index} of the slab at pfn "
                f"{slab.page.pfn} is already on its freelist)"
            )
        if cache.debug:
            self._free_debug(cache, slab, index, addr)
        slab.isfree[index] = 1
        slab.freelist.append(index)
        slab.inuse -= 1
        state = slab.state
        if state is _CPU:
            return
        # __slab_free(): an empty slab is discarded if the node already keeps
        # min_partial partial slabs (counting this one if it is on the list)
        if slab.inuse == 0 and len(cache.partial) >= cache.min_partial:
            (cache.full if state is _FULL else cache.partial).remove(slab)
            self._discard_slab(cache, slab)
            return
        if state is _FULL:  # was full: now partial, added at the tail
            cache.full.remove(slab)
            slab.state = _PARTIAL
            cache.partial.append(slab)

    def _discard_slab(self, cache, slab):
        """Kernel: mm/slub.c discard_slab() -> __free_slab(): pages back to the zone."""
        page = slab.page
        first = slab.base >> PAGE_SHIFT
        for vpage in range(first, first + (1 << page.order)):
            del self._slab_of_vpage[vpage]
        cache.nr_slabs -= 1
        cache.total_objects -= slab.objects
        slab.state = _FREED
        self.machine.free_pages(page, page.order)

    def _object_of(self, addr, what):
        if addr.__class__ is not int:
            raise reject(BadFree, addr, f"{what}: address {addr!r} is not an int")
        slab = self._slab_of_vpage.get(addr >> PAGE_SHIFT)
        if slab is None:
            raise BadFree(f"{what}: address {addr:#x} is not in any slab (not memory from kmem_cache_alloc or kmalloc)")
        cache = slab.cache
        index, rem = divmod(addr - slab.obj0, cache.size)
        if rem or not 0 <= index < slab.objects:
            raise BadFree(
                f"{what}: address {addr:#x} is not the start of an object of {cache.name} "
                f"(objects every {cache.size} bytes from {slab.obj0:#x}; "
                f"this is {rem} bytes into object {index})"
            )
        return slab, index

    def kmem_cache_shrink(self, cache):
        """Kernel: mm/slub.c __kmem_cache_do_shrink(): flush the CPU slab,
        give every empty slab back to the buddy allocator, and sort the
        partial list fullest first. Returns the number of pages released."""
        self.check_cache(cache, "kmem_cache_shrink")
        released = 0
        slab = cache.cpu_slab
        if slab is not None:
            cache.cpu_slab = None
            if slab.freelist:
                slab.state = _PARTIAL
                cache.partial.append(slab)
            else:
                slab.state = _FULL
                cache.full.append(slab)
        for slab in [s for s in cache.partial if s.inuse == 0]:
            cache.partial.remove(slab)
            released += 1 << slab.page.order
            self._discard_slab(cache, slab)
        cache.partial.sort(key=lambda s: s.objects - s.inuse)
        return released

    # --------------------------------------------------------------- kmalloc
    def _kmalloc_table(self, gfp):
        """kmalloc caches by kmalloc_index for one GFP expression (kmalloc_type())."""
        mask = parse_gfp(gfp)
        if mask & GFP["__GFP_DMA"]:
            type_name = "dma"
        elif mask & GFP["__GFP_RECLAIMABLE"]:
            type_name = "rcl"
        elif mask & GFP["__GFP_ACCOUNT"]:
            type_name = "cg"
        else:
            type_name = "normal"
        table = [None] * (KMALLOC_SHIFT_HIGH + 1)
        for (name, index), cache in self.kmalloc_caches.items():
            if name == type_name:
                table[index] = cache
        if isinstance(gfp, (str, int)):
            self._kmalloc_tables[gfp] = table
        return table

    def kmalloc_cache_for(self, size, gfp="GFP_KERNEL"):
        """The kmalloc cache that serves ``size`` bytes with ``gfp``
        (kmalloc_type() then kmalloc_slab()); None above 8 KiB."""
        if size > KMALLOC_MAX_CACHE_SIZE:
            return None
        return self._kmalloc_table(gfp)[kmalloc_index(size)]

    def kmalloc(self, size: int, gfp: str | int = "GFP_KERNEL") -> int:
        """Kernel: include/linux/slab.h kmalloc() -> mm/slub.c __kmalloc():
        up to 8 KiB from the kmalloc cache of the next size class (8, 16, 32,
        64, 96, 128, 192, 256, 512, 1k, 2k, 4k, 8k); above that whole pages
        from the buddy allocator (``kmalloc_large``: order get_order(size)),
        which fails above 4 MiB."""
        if size.__class__ is not int or size <= 0:
            raise reject(
                BadSize,
                size,
                f"kmalloc: size {size!r} must be an int > 0 (kmalloc(0) returns ZERO_SIZE_PTR "
                f"{ZERO_SIZE_PTR:#x}, which must not be dereferenced)",
            )
        if size <= KMALLOC_MAX_CACHE_SIZE:
            table = self._kmalloc_tables.get(gfp) if gfp.__class__ is str or gfp.__class__ is int else None
            if table is None:
                table = self._kmalloc_table(gfp)
            # kmalloc_index(), inlined
            if size <= 8:
                cache = table[3]
            elif 64 < size <= 96:
                cache = table[1]
            elif 128 < size <= 192:
                cache = table[2]
            else:
                cache = table[(size - 1).bit_length()]
            addr = self.kmem_cache_alloc(cache, gfp)
            cache.requested[addr] = size
            return addr
        order = order_for_size(size)
        if order > MAX_PAGE_ORDER:
            raise BadSize(
                f"kmalloc: {format_size(size)} ({size} bytes) needs order {order}, above "
                f"MAX_PAGE_ORDER {MAX_PAGE_ORDER} (4 MiB): kmalloc fails (WARN); use vmalloc or "
                f"kvmalloc for large buffers"
            )
        page = self.machine.alloc_pages(order, gfp)
        addr = pfn_to_virt(page.pfn)
        self._large[addr >> PAGE_SHIFT] = (page, size)
        return addr

    def kfree(self, addr: int) -> None:
        """Kernel: mm/slub.c kfree(): back to its cache, or the pages of a
        large kmalloc back to the buddy allocator."""
        slab = self._slab_of_vpage.get(addr >> PAGE_SHIFT) if addr.__class__ is int else None
        if slab is None and addr.__class__ is int:
            large = self._large.get(addr >> PAGE_SHIFT)
            if large is not None and not addr & (PAGE_SIZE - 1):
                page, _ = self._large.pop(addr >> PAGE_SHIFT)
                self.machine.free_pages(page, page.order)
                return
        slab, index = self._object_of(addr, "kfree")
        cache = slab.cache
        if not cache.flags & SLAB_KMALLOC:
            raise BadFree(
                f"kfree: {addr:#x} is an object of {cache.name}, not from kmalloc; "
                f"free it with kmem_cache_free({cache.name}, ...)"
            )
        self._free(cache, slab, index, addr)
        cache.requested.pop(addr, None)

    def ksize(self, addr: int) -> int:
        """Kernel: mm/slub.c __ksize(): the usable size of a kmalloc object
        (its cache's object_size), or of a large kmalloc (whole pages)."""
        if addr.__class__ is int:
            large = self._large.get(addr >> PAGE_SHIFT)
            if large is not None:
                return PAGE_SIZE << large[0].order
        slab, index = self._object_of(addr, "ksize")
        if slab.isfree[index]:
            raise BadFree(f"ksize: object {addr:#x} of {slab.cache.name} is free")
        return slab.cache.object_size

    # ------------------------------------------------------- kmalloc family
    def _zero_object(self, addr, start=0):
        """Zero a kmalloc object from ``start`` to its ksize()."""
        size = self.ksize(addr)
        if size > start:
            self.machine.mem.write(virt_to_phys(addr) + start, bytes(size - start))

    def kzalloc(self, size: int, gfp: str | int = "GFP_KERNEL") -> int:
        """Kernel: include/linux/slab.h kzalloc() = ``kmalloc(size, flags |
        __GFP_ZERO)``: the object comes zeroed (the whole object, up to
        ksize(), as slab_post_alloc_hook() memsets it)."""
        addr = self.kmalloc(size, gfp)
        self._zero_object(addr)
        return addr

    def krealloc(self, addr: int | None, new_size: int, gfp: str | int = "GFP_KERNEL") -> int | None:
        """Kernel: mm/slab_common.c krealloc() and __do_krealloc() (6.12).

        ``addr`` None (NULL) is kmalloc(new_size). ``new_size`` 0 frees the
        object and returns ZERO_SIZE_PTR. If the object's ksize() is at
        least ``new_size`` it is returned unchanged: krealloc never shrinks
        (with __GFP_ZERO the spare bytes after ``new_size`` are zeroed).
        Otherwise a new object is kmalloc'ed, the old ksize() bytes are
        copied, and the old object is freed. Not modelled: KASAN's
        re-poisoning, init_on_alloc (a boot option; off here).
        """
        if new_size.__class__ is not int or new_size < 0:
            raise reject(BadSize, new_size, f"krealloc: new_size {new_size!r} must be an int >= 0")
        zero = bool(parse_gfp(gfp) & GFP["__GFP_ZERO"])
        if new_size == 0:
            if addr is not None and addr != ZERO_SIZE_PTR:  # kfree(NULL) and kfree(ZERO_SIZE_PTR) do nothing
                self.kfree(addr)
            return ZERO_SIZE_PTR
        if addr is None or addr == ZERO_SIZE_PTR:
            return self.kzalloc(new_size, gfp) if zero else self.kmalloc(new_size, gfp)
        ks = self.ksize(addr)
        if ks >= new_size:
            if zero:
                self._zero_object(addr, new_size)
            return addr
        new = self.kzalloc(new_size, gfp) if zero else self.kmalloc(new_size, gfp)
        mem = self.machine.mem
        mem.write(virt_to_phys(new), mem.read(virt_to_phys(addr), ks))
        self.kfree(addr)
        return new

    def slab_of(self, addr):
        """The :class:`Slab` whose pages hold kernel address ``addr``, or None
        (kernel: virt_to_slab())."""
        return self._slab_of_vpage.get(addr >> PAGE_SHIFT) if addr.__class__ is int else None

    def slab_pages(self):
        """``(pfn, Slab)`` for every page frame under a slab (for page maps)."""
        return [
            (slab.page.pfn + (vpage - (slab.base >> PAGE_SHIFT)), slab) for vpage, slab in self._slab_of_vpage.items()
        ]

    def large_allocations(self):
        """``(address, Page, size asked)`` of every kmalloc above 8 KiB."""
        return [(vpage << PAGE_SHIFT, page, size) for vpage, (page, size) in self._large.items()]

    # ---------------------------------------------------------------- views
    def cache_stats(self, cache):
        """Bytes asked for and bytes used by live kmalloc objects of a cache."""
        asked = sum(cache.requested.values())
        return asked, len(cache.requested) * cache.object_size

    def check_invariants(self):
        """Assert the slab invariants (tests call this after every step)."""
        zone_pages = set()
        for cache in self.caches:
            slabs = cache.slabs()
            assert len({id(s) for s in slabs}) == len(slabs), f"{cache.name}: a slab is on two lists"
            assert cache.nr_slabs == len(slabs), f"{cache.name}: nr_slabs {cache.nr_slabs} != {len(slabs)}"
            assert cache.total_objects == sum(s.objects for s in slabs)
            for slab in slabs:
                free = len(slab.freelist)
                assert len(set(slab.freelist)) == free, f"{slab}: an object is twice on the freelist"
                assert slab.inuse + free == slab.objects, f"{slab}: inuse + free != objects"
                assert sum(slab.isfree) == free and all(slab.isfree[i] for i in slab.freelist)
                assert slab.state in (_CPU, _PARTIAL, _FULL), f"{slab}: bad state"
                if slab.state is _FULL:
                    assert free == 0, f"{slab} on the full list has free objects"
                zone = self.machine.zone_of_pfn(slab.page.pfn)
                assert zone.allocated_order(slab.page.pfn) == slab.page.order, (
                    f"{slab}: its pages are not allocated in zone {zone.name}"
                )
                zone_pages.add(slab.page.pfn)
            if cache.cpu_slab is not None:
                assert cache.cpu_slab.state is _CPU
            assert all(s.state is _PARTIAL for s in cache.partial), f"{cache.name}: partial list state"
        assert len(zone_pages) == len({s.page.pfn for s in self._slab_of_vpage.values()})
