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

from .errors import BadFree, BadSize, MemlabError, OutOfMemory
from .gfp import GFP, parse_gfp
from .physmem import PAGE_OFFSET
from .units import MAX_PAGE_ORDER, PAGE_SHIFT, PAGE_SIZE, format_size, order_for_size

__all__ = [
    "Slub", "KmemCache", "Slab", "SlabCorruption", "BadCache",
    "calculate_order", "calc_slab_order", "kmalloc_index", "kmalloc_size_of_index",
    "SLAB_HWCACHE_ALIGN", "SLAB_CACHE_DMA", "SLAB_CACHE_DMA32", "SLAB_RED_ZONE", "SLAB_POISON",
    "SLAB_RECLAIM_ACCOUNT", "SLAB_DEBUG_FLAGS", "POISON_INUSE", "POISON_FREE", "POISON_END",
    "SLUB_RED_INACTIVE", "SLUB_RED_ACTIVE", "ZERO_SIZE_PTR", "KMALLOC_MAX_CACHE_SIZE",
]

# include/linux/slab.h flag values used here (6.12 bit positions)
SLAB_CONSISTENCY_CHECKS = 1 << 8
SLAB_RED_ZONE = 1 << 10
SLAB_POISON = 1 << 11
SLAB_KMALLOC = 1 << 12
SLAB_HWCACHE_ALIGN = 1 << 13
SLAB_CACHE_DMA = 1 << 14
SLAB_CACHE_DMA32 = 1 << 15
SLAB_STORE_USER = 1 << 16
SLAB_RECLAIM_ACCOUNT = 1 << 18
SLAB_ACCOUNT = 1 << 26
SLAB_DEBUG_FLAGS = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON
_OBJECT_POISON = 1 << 31            # __OBJECT_POISON: internal

# include/linux/poison.h
POISON_INUSE = 0x5A    # for use-uninitialised poisoning (fresh slab memory, padding)
POISON_FREE = 0x6B     # for use-after-free poisoning
POISON_END = 0xA5      # end-byte of poisoning
SLUB_RED_INACTIVE = 0xBB
SLUB_RED_ACTIVE = 0xCC

ZERO_SIZE_PTR = 0x10
VMEMMAP_START = 0xFFFFEA0000000000    # struct page array (x86-64, 4-level)
WORD = 8                              # sizeof(void *)
CACHE_LINE_SIZE = 64                  # cache_line_size() on x86-64
ARCH_SLAB_MINALIGN = 8                # __alignof__(unsigned long long)
SLUB_MAX_ORDER = 3                    # slub_max_order = PAGE_ALLOC_COSTLY_ORDER
SLUB_MIN_ORDER = 0
MAX_OBJS_PER_PAGE = 32767
MIN_PARTIAL, MAX_PARTIAL = 5, 10
KMALLOC_SHIFT_LOW, KMALLOC_SHIFT_HIGH = 3, PAGE_SHIFT + 1
KMALLOC_MAX_CACHE_SIZE = 1 << KMALLOC_SHIFT_HIGH       # 8 KiB: larger kmalloc uses alloc_pages
KMALLOC_TYPES = (("normal", "kmalloc-", 0), ("rcl", "kmalloc-rcl-", SLAB_RECLAIM_ACCOUNT),
                 ("dma", "dma-kmalloc-", SLAB_CACHE_DMA), ("cg", "kmalloc-cg-", SLAB_ACCOUNT))


class BadCache(MemlabError, ValueError):
    """A cache request SLUB refuses: bad name or size, destroy with objects
    left, an object freed into the wrong cache."""


class SlabCorruption(MemlabError):
    """slub_debug found overwritten red zones, padding or poison. ``.report``
    holds the kernel-style report (also appended to ``machine.kernel_log``)."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


# ------------------------------------------------------------------ geometry
def _align(x, a):
    return (x + a - 1) // a * a


def _fls(x):
    return x.bit_length()


def order_objects(order, size):
    """Kernel: mm/slub.c order_objects(): objects of ``size`` in a slab of ``order``."""
    return (PAGE_SIZE << order) // size


def calc_slab_order(size, min_order, max_order, fract_leftover):
    """Kernel: mm/slub.c calc_slab_order(): the smallest order from
    ``min_order`` whose leftover is at most 1/``fract_leftover`` of the slab
    (``max_order + 1`` when none)."""
    order = min_order
    while order <= max_order:
        slab_size = PAGE_SIZE << order
        if slab_size % size <= slab_size // fract_leftover:
            break
        order += 1
    return order


def calculate_order(size, nr_cpus, slub_min_objects=0, slub_max_order=SLUB_MAX_ORDER):
    """Kernel: mm/slub.c calculate_order(): the slab order for objects of
    ``size`` bytes: at least ``min_objects = 4 * (fls(nr_cpus) + 1)`` objects
    (fewer if they do not fit in ``slub_max_order``), then the smallest order
    wasting at most 1/16 of the slab, else 1/8, 1/4, 1/2."""
    min_objects = slub_min_objects or 4 * (_fls(nr_cpus) + 1)
    max_objects = max(order_objects(slub_max_order, size), 1)
    min_objects = min(min_objects, max_objects)
    min_order = max(SLUB_MIN_ORDER, order_for_size(min_objects * size))
    if order_objects(min_order, size) > MAX_OBJS_PER_PAGE:
        return order_for_size(size * MAX_OBJS_PER_PAGE) - 1
    fraction = 16
    while fraction > 1:
        order = calc_slab_order(size, min_order, slub_max_order, fraction)
        if order <= slub_max_order:
            return order
        fraction //= 2
    order = order_for_size(size)
    if order <= MAX_PAGE_ORDER:
        return order
    raise BadCache(f"objects of {size} bytes do not fit in any slab (order {order} > MAX_PAGE_ORDER)")


def calculate_alignment(flags, align, size):
    """Kernel: mm/slab_common.c calculate_alignment()."""
    if flags & SLAB_HWCACHE_ALIGN:
        ralign = CACHE_LINE_SIZE
        while size <= ralign // 2:
            ralign //= 2
        align = max(align, ralign)
    align = max(align, ARCH_SLAB_MINALIGN)
    return _align(align, WORD)


def parse_slub_debug(value):
    """SLAB_* flags from a ``slub_debug=`` option: True (= "FZP") or letters:
    F consistency checks, Z red zones, P poisoning."""
    if value in (None, False, 0, ""):
        return 0
    if value is True:
        value = "FZP"
    if not isinstance(value, str):
        raise BadCache(f"slub_debug {value!r}: give True or letters from 'FZP'")
    letters = {"F": SLAB_CONSISTENCY_CHECKS, "Z": SLAB_RED_ZONE, "P": SLAB_POISON}
    flags = 0
    for letter in value.upper():
        if letter not in letters:
            raise BadCache(f"slub_debug letter {letter!r} is not modelled (memlab has F, Z and P; "
                           f"U user tracking, T tracing and A failslab are not)")
        flags |= letters[letter]
    return flags


def kmalloc_index(size):
    """Kernel: include/linux/slab.h kmalloc_index(): the kmalloc cache index
    for ``size`` (1 = kmalloc-96, 2 = kmalloc-192, n = kmalloc-2**n)."""
    if size <= 8:
        return KMALLOC_SHIFT_LOW
    if 64 < size <= 96:
        return 1
    if 128 < size <= 192:
        return 2
    return (size - 1).bit_length()


def kmalloc_size_of_index(index):
    return {1: 96, 2: 192}.get(index, 1 << index)


def _kmalloc_name(prefix, size):
    return prefix + (f"{size >> 10}k" if size >= 1024 else str(size))


# --------------------------------------------------------------------- slabs
class Slab:
    """One slab: ``2**order`` pages cut into ``objects`` objects.

    ``freelist`` is the LIFO free list of object indices (the head is its
    last element, as SLUB pushes and pops at the head); ``inuse`` the number
    of objects handed out. Kernel: struct slab (mm/slab.h).
    """

    __slots__ = ("cache", "page", "base", "obj0", "objects", "inuse", "freelist", "isfree", "state")

    def __init__(self, cache, page):
        self.cache = cache
        self.page = page
        self.base = PAGE_OFFSET + (page.pfn << PAGE_SHIFT)
        self.obj0 = self.base + cache.red_left_pad     # address of object 0
        self.objects = order_objects(page.order, cache.size)
        self.inuse = 0
        self.freelist = list(range(self.objects - 1, -1, -1))   # head (object 0) last
        self.isfree = bytearray(b"\x01") * self.objects
        self.state = "new"

    def object_address(self, index):
        return self.obj0 + index * self.cache.size

    def __repr__(self):
        return (f"<Slab {self.cache.name} pfn {self.page.pfn} order {self.page.order}: "
                f"{self.inuse}/{self.objects} in use, {self.state}>")


class KmemCache:
    """``struct kmem_cache``: a cache of equal-sized objects.

    ``.name``, ``.object_size`` (what the caller asked for), ``.size`` (the
    stride: object plus alignment and debug metadata), ``.align``,
    ``.offset`` (where the free pointer lives), ``.inuse``, ``.order``,
    ``.objperslab``, ``.pagesperslab``, ``.min_partial``, ``.ctor``.
    """

    def __init__(self, slub, name, object_size, align, flags, ctor):
        self.slub = slub
        self.name = name
        self.object_size = object_size
        self.flags = flags
        self.ctor = ctor
        self.align = calculate_alignment(flags, align, object_size)
        self._calculate_sizes(slub.nr_cpus)
        self.debug = bool(self.flags & (SLAB_RED_ZONE | _OBJECT_POISON))
        self.min_partial = min(MAX_PARTIAL, max(MIN_PARTIAL, (self.size.bit_length() - 1) // 2))
        self.cpu_slab = None
        self.partial = []       # node partial list, head first
        self.full = []          # full slabs (SLUB keeps these on no list without debug)
        self.nr_slabs = 0
        self.total_objects = 0
        self.alloc_gfp = GFP["GFP_DMA"] if flags & SLAB_CACHE_DMA else (
            GFP["GFP_DMA32"] if flags & SLAB_CACHE_DMA32 else 0)
        self.requested = {}     # address -> bytes asked for (kmalloc), for internal fragmentation

    def _calculate_sizes(self, nr_cpus):
        """Kernel: mm/slub.c calculate_sizes()."""
        flags = self.flags
        size = _align(self.object_size, WORD)
        if flags & SLAB_POISON and not self.ctor:
            self.flags |= _OBJECT_POISON
        if flags & SLAB_RED_ZONE and size == self.object_size:
            size += WORD
        self.inuse = size
        if flags & SLAB_POISON or self.ctor or (flags & SLAB_RED_ZONE and self.object_size < WORD):
            self.offset = size          # free pointer after the object
            size += WORD
        else:
            self.offset = (self.object_size // 2) // WORD * WORD
        self.red_left_pad = 0
        if flags & SLAB_RED_ZONE:
            size += WORD
            self.red_left_pad = _align(WORD, self.align)
            size += self.red_left_pad
        self.size = _align(size, self.align)
        self.order = calculate_order(self.size, nr_cpus)
        self.min_order = order_for_size(self.size)

    def explain_geometry(self):
        """How SLUB chose this cache's layout and slab order, step by step."""
        nr_cpus = self.slub.nr_cpus
        size = self.size
        steps = [f"object_size {self.object_size} -> aligned to {WORD} bytes and to align {self.align}"
                 + (", plus the free pointer after the object (constructor)" if self.offset >= self.inuse else "")
                 + (", plus red zones" if self.flags & SLAB_RED_ZONE else "")
                 + f": size {size}."]
        min_objects = 4 * (_fls(nr_cpus) + 1)
        max_objects = max(order_objects(SLUB_MAX_ORDER, size), 1)
        steps.append(f"min_objects = 4 * (fls({nr_cpus}) + 1) = {min_objects}; at most {max_objects} fit in "
                     f"an order-{SLUB_MAX_ORDER} slab, so SLUB wants {min(min_objects, max_objects)} objects.")
        min_order = order_for_size(min(min_objects, max_objects) * size)
        steps.append(f"get_order({min(min_objects, max_objects)} * {size}) = {min_order}: start at order "
                     f"{min_order}.")
        slab_bytes = PAGE_SIZE << self.order
        waste = slab_bytes % size
        fraction = next((f for f in (16, 8, 4, 2)
                         if calc_slab_order(size, min_order, SLUB_MAX_ORDER, f) == self.order), None)
        rule = (f"at most 1/{fraction} of the slab ({slab_bytes // fraction} bytes) may be left over"
                if fraction else "no order up to slub_max_order fits, so get_order(size) is used")
        steps.append(f"Order {self.order}: {slab_bytes} bytes hold {slab_bytes // size} objects with {waste} "
                     f"bytes left over; {rule}.")
        return steps

    @property
    def objperslab(self):
        return order_objects(self.order, self.size)

    @property
    def pagesperslab(self):
        return 1 << self.order

    def slabs(self):
        """Every slab of the cache: the CPU slab, then partial, then full."""
        return ([self.cpu_slab] if self.cpu_slab else []) + list(self.partial) + list(self.full)

    def count_objects(self):
        """``(active_objs, num_objs, active_slabs, num_slabs)`` as /proc/slabinfo
        shows them: free objects of the CPU slab count as active (mm/slub.c
        get_slabinfo() subtracts only the partial lists' free objects)."""
        partial_free = sum(s.objects - s.inuse for s in self.partial)
        return self.total_objects - partial_free, self.total_objects, self.nr_slabs, self.nr_slabs

    @property
    def objects_in_use(self):
        return sum(s.inuse for s in self.slabs())

    def __repr__(self):
        return (f"<kmem_cache {self.name}: object_size {self.object_size}, size {self.size}, "
                f"{self.objperslab} objects in {self.pagesperslab} page{'s' if self.order else ''}>")


class Slub:
    """The slab allocator of one :class:`memlab.Machine` (``machine.slub``).

    The machine's methods ``kmem_cache_create``, ``kmem_cache_alloc``,
    ``kmem_cache_free``, ``kmem_cache_shrink``, ``kmem_cache_destroy``,
    ``kmalloc``, ``kfree`` and ``ksize`` call this object.
    """

    def __init__(self, machine, slub_debug=None):
        self.machine = machine
        self.nr_cpus = machine.cpus
        self.failslab = machine.failslab
        self.caches = []                  # creation order; slabinfo lists newest first
        self._by_name = {}
        self._slab_of_pfn = {}            # every pfn of every slab -> Slab
        self._large = {}                  # pfn -> (Page, size) of kmalloc_large allocations
        self.slub_debug = parse_slub_debug(slub_debug if slub_debug is not None
                                           else getattr(machine, "slub_debug", None))
        self.kmalloc_caches = {}          # (type, index) -> KmemCache
        self._kmalloc_tables = {}         # gfp expression -> caches by kmalloc_index
        for type_name, prefix, type_flags in KMALLOC_TYPES:
            indices = [1, 2] + list(range(KMALLOC_SHIFT_LOW, KMALLOC_SHIFT_HIGH + 1))
            for index in indices:
                size = kmalloc_size_of_index(index)
                cache = self._create(_kmalloc_name(prefix, size), size, 0,
                                     SLAB_KMALLOC | type_flags | self.slub_debug, None)
                self.kmalloc_caches[(type_name, index)] = cache

    # ---------------------------------------------------------------- caches
    def _create(self, name, size, align, flags, ctor):
        cache = KmemCache(self, name, size, align, flags, ctor)
        self.caches.append(cache)
        self._by_name[name] = cache
        return cache

    def kmem_cache_create(self, name, size, align=0, ctor=None, flags=0):
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
            raise BadCache(f"kmem_cache_create: a cache named {name!r} already exists "
                           f"(/proc/slabinfo rows are keyed by name)")
        if size.__class__ is not int or size <= 0:
            raise BadCache(f"kmem_cache_create({name!r}): size {size!r} must be an int > 0")
        if size > KMALLOC_MAX_CACHE_SIZE * 8 * 16:
            raise BadCache(f"kmem_cache_create({name!r}): objects of {format_size(size)} are too large for "
                           f"a slab; use alloc_pages or vmalloc")
        if align.__class__ is not int or align < 0 or (align & (align - 1)):
            raise BadCache(f"kmem_cache_create({name!r}): align {align!r} must be 0 or a power of two")
        if ctor is not None and not callable(ctor):
            raise BadCache(f"kmem_cache_create({name!r}): ctor {ctor!r} is not callable")
        if flags.__class__ is not int or flags < 0:
            raise BadCache(f"kmem_cache_create({name!r}): flags {flags!r} must be SLAB_* bits")
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
        self._check_cache(cache, "kmem_cache_destroy")
        if cache.name.startswith(("kmalloc-", "dma-kmalloc-")):
            raise BadCache(f"kmem_cache_destroy: {cache.name} is a kmalloc cache; they live as long as the kernel")
        if cache.objects_in_use:
            msg = (f"kmem_cache_destroy {cache.name}: Slab cache still has objects when called from "
                   f"kmem_cache_destroy+0x0/0x0 ({cache.objects_in_use} object"
                   f"{'s' if cache.objects_in_use != 1 else ''} still allocated)")
            self.machine.kernel_log.append("WARNING: " + msg + "\n")
            raise BadCache(msg)
        for slab in cache.slabs():
            self._discard_slab(cache, slab)
        cache.cpu_slab = None
        cache.partial.clear()
        cache.full.clear()
        self.caches.remove(cache)
        del self._by_name[cache.name]

    def _check_cache(self, cache, what):
        if not isinstance(cache, KmemCache) or self._by_name.get(cache.name) is not cache:
            raise BadCache(f"{what}: {cache!r} is not a live cache of this machine")

    # ------------------------------------------------------------ allocation
    def kmem_cache_alloc(self, cache, gfp="GFP_KERNEL"):
        """An object's kernel virtual address.

        Kernel: mm/slub.c slab_alloc_node() / ___slab_alloc(): pop the head
        of the CPU slab's freelist; if it is empty, take the first slab of the
        node's partial list; if there is none, allocate a new slab from the
        page allocator (``alloc_pages`` of the cache's order, falling back to
        the smallest order that holds one object) and run the constructor on
        every object.
        """
        if self.failslab.probability:
            self._failslab(cache, gfp)
        slab = cache.cpu_slab
        if slab is not None and slab.freelist:
            index = slab.freelist.pop()
        else:
            self._check_cache(cache, "kmem_cache_alloc")
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
            raise OutOfMemory(f"kmem_cache_alloc({cache.name}): failure injected by failslab "
                              f"({self.failslab.failures} so far)")

    def _refill_cpu_slab(self, cache, gfp):
        old = cache.cpu_slab
        if old is not None:                  # deactivate_slab(): the full CPU slab leaves
            old.state = "full"
            cache.full.append(old)
            cache.cpu_slab = None
        if cache.partial:                    # get_partial_node(): the head of the partial list
            slab = cache.partial.pop(0)
        else:
            slab = self._new_slab(cache, gfp)
        slab.state = "cpu"
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
            page = machine.alloc_pages(cache.min_order, mask)   # oo = s->min
        slab = Slab(cache, page)
        for pfn in range(page.pfn, page.pfn + (1 << page.order)):
            self._slab_of_pfn[pfn] = slab
        cache.nr_slabs += 1
        cache.total_objects += slab.objects
        if cache.debug:
            self._setup_slab_debug(cache, slab)
        if cache.ctor is not None:
            for index in range(slab.objects):
                cache.ctor(slab.object_address(index))
        return slab

    # ------------------------------------------------------------------ free
    def kmem_cache_free(self, cache, addr):
        """Kernel: mm/slub.c kmem_cache_free() -> do_slab_free() / __slab_free().

        The object goes to the head of its slab's freelist. A full slab
        becomes partial (added at the tail of the partial list); a slab whose
        last object comes back is given back to the buddy allocator when the
        node already has ``min_partial`` partial slabs. The wrong cache, a
        double free or an address that is not an object raise
        :class:`BadFree` and change nothing.
        """
        slab = self._slab_of_pfn.get((addr - PAGE_OFFSET) >> PAGE_SHIFT) if addr.__class__ is int else None
        if slab is None or slab.cache is not cache:
            slab, index = self._object_of(addr, "kmem_cache_free")
            if slab.cache is not cache:
                self._check_cache(cache, "kmem_cache_free")
                raise BadFree(f"kmem_cache_free: Wrong slab cache. {cache.name} but object is from "
                              f"{slab.cache.name} (address {addr:#x})")
        else:
            index, rem = divmod(addr - slab.obj0, cache.size)
            if rem or not 0 <= index < slab.objects:
                slab, index = self._object_of(addr, "kmem_cache_free")
        self._free(cache, slab, index, addr)

    def _free(self, cache, slab, index, addr):
        if slab.isfree[index]:
            raise BadFree(f"{cache.name}: double free of object {addr:#x} (object {index} of the slab at pfn "
                          f"{slab.page.pfn} is already on its freelist)")
        if cache.debug:
            self._free_debug(cache, slab, index, addr)
        slab.isfree[index] = 1
        slab.freelist.append(index)
        slab.inuse -= 1
        state = slab.state
        if state == "cpu":
            return
        # __slab_free(): an empty slab is discarded if the node already keeps
        # min_partial partial slabs (counting this one if it is on the list)
        if slab.inuse == 0 and len(cache.partial) >= cache.min_partial:
            (cache.full if state == "full" else cache.partial).remove(slab)
            self._discard_slab(cache, slab)
            return
        if state == "full":                  # was full: now partial, added at the tail
            cache.full.remove(slab)
            slab.state = "partial"
            cache.partial.append(slab)

    def _discard_slab(self, cache, slab):
        """Kernel: mm/slub.c discard_slab() -> __free_slab(): pages back to the zone."""
        page = slab.page
        for pfn in range(page.pfn, page.pfn + (1 << page.order)):
            del self._slab_of_pfn[pfn]
        cache.nr_slabs -= 1
        cache.total_objects -= slab.objects
        slab.state = "freed"
        self.machine.free_pages(page, page.order)

    def _object_of(self, addr, what):
        if addr.__class__ is not int:
            raise BadFree(f"{what}: address {addr!r} is not an int")
        slab = self._slab_of_pfn.get((addr - PAGE_OFFSET) >> PAGE_SHIFT) if addr >= PAGE_OFFSET else None
        if slab is None:
            raise BadFree(f"{what}: address {addr:#x} is not in any slab (not memory from kmem_cache_alloc "
                          f"or kmalloc)")
        cache = slab.cache
        index, rem = divmod(addr - slab.obj0, cache.size)
        if rem or not 0 <= index < slab.objects:
            raise BadFree(f"{what}: address {addr:#x} is not the start of an object of {cache.name} "
                          f"(objects every {cache.size} bytes from {slab.obj0:#x}; "
                          f"this is {rem} bytes into object {index})")
        return slab, index

    def kmem_cache_shrink(self, cache):
        """Kernel: mm/slub.c __kmem_cache_do_shrink(): flush the CPU slab,
        give every empty slab back to the buddy allocator, and sort the
        partial list fullest first. Returns the number of pages released."""
        self._check_cache(cache, "kmem_cache_shrink")
        released = 0
        slab = cache.cpu_slab
        if slab is not None:
            cache.cpu_slab = None
            if slab.freelist:
                slab.state = "partial"
                cache.partial.append(slab)
            else:
                slab.state = "full"
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

    def kmalloc(self, size, gfp="GFP_KERNEL"):
        """Kernel: include/linux/slab.h kmalloc() -> mm/slub.c __kmalloc():
        up to 8 KiB from the kmalloc cache of the next size class (8, 16, 32,
        64, 96, 128, 192, 256, 512, 1k, 2k, 4k, 8k); above that whole pages
        from the buddy allocator (``kmalloc_large``: order get_order(size)),
        which fails above 4 MiB."""
        if size.__class__ is not int or size <= 0:
            raise BadSize(f"kmalloc: size {size!r} must be an int > 0 (kmalloc(0) returns ZERO_SIZE_PTR "
                          f"{ZERO_SIZE_PTR:#x}, which must not be dereferenced)")
        if size <= KMALLOC_MAX_CACHE_SIZE:
            table = self._kmalloc_tables.get(gfp) if gfp.__class__ is str else None
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
            raise BadSize(f"kmalloc: {format_size(size)} ({size} bytes) needs order {order}, above "
                          f"MAX_PAGE_ORDER {MAX_PAGE_ORDER} (4 MiB): kmalloc fails (WARN); use vmalloc or "
                          f"kvmalloc for large buffers")
        page = self.machine.alloc_pages(order, gfp)
        self._large[page.pfn] = (page, size)
        return PAGE_OFFSET + (page.pfn << PAGE_SHIFT)

    def kfree(self, addr):
        """Kernel: mm/slub.c kfree(): back to its cache, or the pages of a
        large kmalloc back to the buddy allocator."""
        slab = self._slab_of_pfn.get((addr - PAGE_OFFSET) >> PAGE_SHIFT) if addr.__class__ is int else None
        if slab is None and addr.__class__ is int and addr >= PAGE_OFFSET:
            pfn = (addr - PAGE_OFFSET) >> PAGE_SHIFT
            large = self._large.get(pfn)
            if large is not None and addr == PAGE_OFFSET + (pfn << PAGE_SHIFT):
                page, _ = self._large.pop(pfn)
                self.machine.free_pages(page, page.order)
                return
        slab, index = self._object_of(addr, "kfree")
        cache = slab.cache
        if not cache.flags & SLAB_KMALLOC:
            raise BadFree(f"kfree: {addr:#x} is an object of {cache.name}, not from kmalloc; "
                          f"free it with kmem_cache_free({cache.name}, ...)")
        self._free(cache, slab, index, addr)
        cache.requested.pop(addr, None)

    def ksize(self, addr):
        """Kernel: mm/slub.c __ksize(): the usable size of a kmalloc object
        (its cache's object_size), or of a large kmalloc (whole pages)."""
        if addr.__class__ is int and addr >= PAGE_OFFSET:
            large = self._large.get((addr - PAGE_OFFSET) >> PAGE_SHIFT)
            if large is not None:
                return PAGE_SIZE << large[0].order
        slab, index = self._object_of(addr, "ksize")
        if slab.isfree[index]:
            raise BadFree(f"ksize: object {addr:#x} of {slab.cache.name} is free")
        return slab.cache.object_size

    def large_allocations(self):
        """``(address, Page, size asked)`` of every kmalloc above 8 KiB."""
        return [(PAGE_OFFSET + (pfn << PAGE_SHIFT), page, size) for pfn, (page, size) in self._large.items()]

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
                expected = {"cpu": "cpu", "partial": "partial", "full": "full"}[slab.state]
                if expected == "full":
                    assert free == 0, f"{slab} on the full list has free objects"
                zone = self.machine.zone_of_pfn(slab.page.pfn)
                assert zone._alloc.get(slab.page.pfn) == slab.page.order, \
                    f"{slab}: its pages are not allocated in zone {zone.name}"
                zone_pages.add(slab.page.pfn)
            if cache.cpu_slab is not None:
                assert cache.cpu_slab.state == "cpu"
            assert all(s.state == "partial" and s.freelist for s in cache.partial) or all(
                s.state == "partial" for s in cache.partial)
        assert len(zone_pages) == len({s.page.pfn for s in self._slab_of_pfn.values()})

    # ----------------------------------------------------------- slub_debug
    def _setup_slab_debug(self, cache, slab):
        """Kernel: setup_slab_debug() + init_object(SLUB_RED_INACTIVE) per object."""
        mem = self.machine.mem
        phys = slab.page.pfn << PAGE_SHIFT
        mem.fill(phys, POISON_INUSE, PAGE_SIZE << slab.page.order)
        for index in range(slab.objects):
            self._init_object(cache, slab.object_address(index), SLUB_RED_INACTIVE)

    def _init_object(self, cache, addr, val):
        """Kernel: mm/slub.c init_object(): red zones set to ``val``, the
        object poisoned with POISON_FREE and a final POISON_END."""
        mem, phys = self.machine.mem, addr - PAGE_OFFSET
        if cache.flags & SLAB_RED_ZONE:
            mem.fill(phys - cache.red_left_pad, val, cache.red_left_pad)
        if cache.flags & _OBJECT_POISON:
            mem.write(phys, bytes([POISON_FREE]) * (cache.object_size - 1) + bytes([POISON_END]))
        if cache.flags & SLAB_RED_ZONE:
            mem.fill(phys + cache.object_size, val, cache.inuse - cache.object_size)

    def _alloc_debug(self, cache, slab, index, addr):
        """Kernel: alloc_debug_processing(): check the free object, then mark
        its red zones active. A failed check leaves the object allocated
        (the kernel marks the slab used and leaks it); memlab raises."""
        try:
            self._check_object(cache, slab, addr, SLUB_RED_INACTIVE)
        except SlabCorruption:
            slab.isfree[index] = 1           # undo: the model is as before the call
            slab.inuse -= 1
            slab.freelist.append(index)
            raise
        self._init_object(cache, addr, SLUB_RED_ACTIVE)

    def _free_debug(self, cache, slab, index, addr):
        """Kernel: free_debug_processing(): check red zones before the free,
        then poison the object and mark its red zones inactive."""
        self._check_object(cache, slab, addr, SLUB_RED_ACTIVE)
        self._init_object(cache, addr, SLUB_RED_INACTIVE)

    def _check_object(self, cache, slab, addr, val):
        """Kernel: mm/slub.c check_object() and check_bytes_and_report()."""
        mem, phys = self.machine.mem, addr - PAGE_OFFSET
        checks = []
        if cache.flags & SLAB_RED_ZONE:
            checks.append(("Left Redzone", phys - cache.red_left_pad, bytes([val]) * cache.red_left_pad))
            checks.append(("Right Redzone", phys + cache.object_size,
                           bytes([val]) * (cache.inuse - cache.object_size)))
        if cache.flags & _OBJECT_POISON and val == SLUB_RED_INACTIVE:
            checks.append(("Poison", phys, bytes([POISON_FREE]) * (cache.object_size - 1) + bytes([POISON_END])))
        for what, start, expected in checks:
            actual = mem.read(start, len(expected))
            if actual != expected:
                first = next(i for i in range(len(expected)) if actual[i] != expected[i])
                last = max(i for i in range(len(expected)) if actual[i] != expected[i])
                report = self._report(cache, slab, addr, what, start + first, start + last,
                                      actual[first], expected[first])
                self.machine.kernel_log.append(report)
                raise SlabCorruption(f"BUG {cache.name} (Not tainted): {what} overwritten at "
                                     f"{PAGE_OFFSET + start + first:#x} (object {addr:#x}); see .report or "
                                     f"machine.dmesg()", report)

    def _report(self, cache, slab, addr, what, fault, end, got, want):
        va_fault, va_end = PAGE_OFFSET + fault, PAGE_OFFSET + end
        slab_off = addr - slab.base
        lines = [
            "=" * 77,
            f"BUG {cache.name} (Not tainted): {what} overwritten",
            "-" * 77,
            "",
            f"0x{va_fault:016x}-0x{va_end:016x} @offset={va_fault - slab.base}. First byte {got:#x} instead of "
            f"{want:#x}",
            f"Slab 0x{VMEMMAP_START + slab.page.pfn * 64:016x} objects={slab.objects} used={slab.inuse} "
            f"fp=0x{0:016x} flags=0x{0x240:x}(head|slab)",
            f"Object 0x{addr:016x} @offset={slab_off} fp=0x{0:016x}",
            "",
        ]
        mem = self.machine.mem
        sections = []
        if cache.red_left_pad:
            sections.append(("Redzone  ", addr - cache.red_left_pad, cache.red_left_pad))
        sections.append(("Object   ", addr, cache.object_size))
        if cache.flags & SLAB_RED_ZONE:
            sections.append(("Redzone  ", addr + cache.object_size, cache.inuse - cache.object_size))
        for label, start, length in sections:
            data = mem.read(start - PAGE_OFFSET, length)
            for i in range(0, length, 16):
                chunk = data[i:i + 16]
                hexes = " ".join(f"{b:02x}" for b in chunk)
                text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
                lines.append(f"{label}{start + i:016x}: {hexes:<47}  {text}")
        lines.append(f"FIX {cache.name}: Restoring {what} 0x{va_fault:016x}-0x{va_end:016x}="
                     f"{(want if what != 'Poison' else POISON_FREE):#x}")
        return "\n".join(lines) + "\n"

