"""The buddy allocator of one zone, its watermarks and fragmentation indices.

Kernel: mm/page_alloc.c (Linux 6.12): __rmqueue_smallest(), expand(),
__free_one_page(), buddy_merge_likely(), __free_pages_memory() for boot-time
freeing, __setup_per_zone_wmarks(), setup_per_zone_lowmem_reserve(),
calculate_min_free_kbytes(); mm/vmstat.c fill_contig_page_info(),
__fragmentation_index(), unusable_free_index().

The free lists are exact: each ``free_area[order]`` keeps the kernel's list
order (head and tail insertion as the kernel chooses), so the PFN any
allocation returns is the PFN Linux would return for the same sequence.

Deliberately not modelled (and why it does not change the lesson):
migratetypes and pageblocks (one list per order, as with
``page_group_by_mobility_disabled``), the per-CPU page lists (order <= 3
allocations go straight to the buddy lists), page shuffling, compaction,
reclaim, CMA, guard pages and memory holes inside a zone.

Hot path: a free list is a dict (membership, O(1) removal when a buddy is
merged) plus a deque that remembers list order; entries removed by a merge are
left in the deque as stale and skipped when reached (amortised O(1), compacted
when stale entries outnumber live ones). Derived views (page maps, block
lists) are computed only when asked.
"""

from collections import deque
from math import isqrt

from .errors import BadFree, BadOrder, BadSize, OutOfMemory
from .units import MAX_PAGE_ORDER, NR_PAGE_ORDERS, PAGE_SHIFT, PAGE_SIZE, format_size

__all__ = [
    "Page",
    "FreeArea",
    "Zone",
    "buddy_pfn",
    "calculate_min_free_kbytes",
    "setup_per_zone_wmarks",
    "setup_per_zone_lowmem_reserve",
    "ContigPageInfo",
    "contig_page_info",
    "fragmentation_index",
    "unusable_index",
    "WMARK_NAMES",
    "SWAP_CLUSTER_MAX",
]

WMARK_NAMES = ("min", "low", "high", "promo")
#: include/linux/swap.h; the floor of the min watermark of a movable zone.
SWAP_CLUSTER_MAX = 32
_TRAIL_LEN = 64
_SWEEP_EVERY = 4096


def _check_order(order, what="alloc_pages"):
    """Raise :class:`BadOrder` unless ``order`` is an int in 0..MAX_PAGE_ORDER."""
    if order.__class__ is not int:
        raise BadOrder(f"{what}: order {order!r} must be an int from 0 to MAX_PAGE_ORDER {MAX_PAGE_ORDER}")
    if order < 0:
        raise BadOrder(f"{what}: order {order} is negative; orders run 0..{MAX_PAGE_ORDER} (block = 2**order pages)")
    if order > MAX_PAGE_ORDER:
        big = format_size(PAGE_SIZE << order)
        raise BadOrder(
            f"{what}: order {order} exceeds MAX_PAGE_ORDER {MAX_PAGE_ORDER} (the largest buddy block is "
            f"{format_size(PAGE_SIZE << MAX_PAGE_ORDER)}); the kernel WARNs and returns NULL. "
            f"Use vmalloc (virtually contiguous) or CMA / alloc_contig_range() for {big}")


def buddy_pfn(pfn, order):
    """The buddy of the block at ``pfn`` of ``order``: ``pfn ^ (1 << order)``.

    Kernel: mm/internal.h __find_buddy_pfn().
    """
    return pfn ^ (1 << order)


class Page:
    """The first page of an allocated block: ``.pfn`` and ``.order``.

    Kernel: struct page (include/linux/mm_types.h); the order lives in the
    caller's hands, as with alloc_pages()/__free_pages().
    """

    __slots__ = ("pfn", "order")

    def __init__(self, pfn, order):
        self.pfn = pfn
        self.order = order

    @property
    def nr_pages(self):
        return 1 << self.order

    @property
    def phys_addr(self):
        """Physical address of the block's first byte (``page_to_phys``)."""
        return self.pfn << PAGE_SHIFT

    @property
    def size(self):
        return PAGE_SIZE << self.order

    def __repr__(self):
        return f"Page(pfn={self.pfn}, order={self.order})"

    def __eq__(self, other):
        return isinstance(other, Page) and (self.pfn, self.order) == (other.pfn, other.order)

    def __hash__(self):
        return hash((self.pfn, self.order))


class FreeArea:
    """``zone->free_area[order]``: ``.nr_free`` and ``.free_list`` (head first).

    Kernel: include/linux/mmzone.h struct free_area.
    """

    __slots__ = ("_zone", "order")

    def __init__(self, zone, order):
        self._zone = zone
        self.order = order

    @property
    def nr_free(self):
        """Number of free blocks of this order."""
        return len(self._zone._mem[self.order])

    @property
    def free_list(self):
        """PFNs of the free blocks of this order, head of the list first."""
        zone, order = self._zone, self.order
        mem = zone._mem[order]
        return list(reversed(zone._head[order])) + [e[0] for e in zone._tail[order] if mem.get(e[0]) is e]

    def __repr__(self):
        return f"FreeArea(order={self.order}, nr_free={self.nr_free})"


class ContigPageInfo:
    """mm/vmstat.c struct contig_page_info for one requested order."""

    __slots__ = ("free_pages", "free_blocks_total", "free_blocks_suitable")

    def __init__(self, free_pages, free_blocks_total, free_blocks_suitable):
        self.free_pages = free_pages
        self.free_blocks_total = free_blocks_total
        self.free_blocks_suitable = free_blocks_suitable

    def __repr__(self):
        return (f"ContigPageInfo(free_pages={self.free_pages}, free_blocks_total={self.free_blocks_total}, "
                f"free_blocks_suitable={self.free_blocks_suitable})")


class Zone:
    """One memory zone with its buddy allocator.

    ``Zone(name, nr_pages, start_pfn=0)`` is a standalone zone for small
    examples: all its pages are present, managed and free. Its
    ``alloc_pages`` is the buddy step alone (``rmqueue`` ->
    ``__rmqueue_smallest``): it ignores watermarks, which
    :class:`memlab.Machine` checks when it walks its zonelist.

    Kernel: include/linux/mmzone.h struct zone; memory comes online as the
    boot code does it (mm/memblock.c __free_pages_memory(): the largest
    naturally aligned blocks, freed to the tail of their list).
    """

    def __init__(self, name, nr_pages, start_pfn=0, node=0, zone_idx=None):
        if not isinstance(name, str) or not name:
            raise BadSize(f"zone name {name!r} must be a non-empty string")
        for label, value in (("nr_pages", nr_pages), ("start_pfn", start_pfn)):
            if value.__class__ is not int or value < 0:
                raise BadSize(f"Zone({name!r}): {label} {value!r} must be an int >= 0")
        self.name = name
        self.node = node
        self.zone_idx = zone_idx
        self.zone_start_pfn = start_pfn
        self.spanned_pages = nr_pages
        self.present_pages = nr_pages
        self.managed_pages = nr_pages
        self.watermark_boost = 0
        self._watermark = {"min": 0, "low": 0, "high": 0, "promo": 0}
        self.lowmem_reserve = []
        self.free_area = [FreeArea(self, o) for o in range(NR_PAGE_ORDERS)]
        self.trail = deque(maxlen=_TRAIL_LEN)
        self._init_free_lists()

    # ------------------------------------------------------------------ state
    def _init_free_lists(self):
        # Per order, the free list as the kernel orders it, in two parts:
        #   _head[o]: dict of blocks added at the head, the last key being the
        #             list head (dict order is insertion order; popitem() pops it);
        #   _tail[o]: deque of (pfn,) entries added at the tail, oldest first;
        # the list is reversed(_head[o]) followed by the live _tail[o] entries.
        # _mem[o] maps every free pfn of order o to None (in _head) or to its
        # _tail entry; a _tail entry whose block left the list (merged) stays
        # behind as stale, is skipped when reached and swept now and then.
        self._mem = [{} for _ in range(NR_PAGE_ORDERS)]
        self._head = [{} for _ in range(NR_PAGE_ORDERS)]
        self._tail = [deque() for _ in range(NR_PAGE_ORDERS)]
        self._popleft = [fl.popleft for fl in self._tail]
        self._push_tail = [fl.append for fl in self._tail]
        self._alloc = {}
        self.nr_free_pages = 0
        self._stale = 0
        self.trail.clear()
        start, end = self.zone_start_pfn, self.zone_start_pfn + self.spanned_pages
        while start < end:
            order = MAX_PAGE_ORDER if start == 0 else min(MAX_PAGE_ORDER, (start & -start).bit_length() - 1)
            while start + (1 << order) > end:
                order -= 1
            self._free_boot(start, order)
            self.nr_free_pages += 1 << order
            start += 1 << order

    def reset(self):
        """Free everything: the zone as it was right after boot."""
        self._init_free_lists()

    @property
    def zone_end_pfn(self):
        return self.zone_start_pfn + self.spanned_pages

    @property
    def watermark(self):
        """``_watermark[]`` as a dict with keys min, low, high, promo (pages)."""
        return dict(self._watermark)

    def wmark_pages(self, name):
        """Kernel: include/linux/mmzone.h wmark_pages(): watermark + boost."""
        return self._watermark[name] + self.watermark_boost

    def contains_pfn(self, pfn):
        return self.zone_start_pfn <= pfn < self.zone_start_pfn + self.spanned_pages

    # ------------------------------------------------------------- allocation
    def alloc_pages(self, order=0):
        """Take a block of ``2**order`` pages; return its first :class:`Page`.

        Kernel: mm/page_alloc.c __rmqueue_smallest(): the smallest order with
        a non-empty free list, the head of that list; expand() splits it,
        putting each upper half at the head of the next lower list and keeping
        the lowest PFN. Raises :class:`OutOfMemory` when no block is large
        enough (the zone is unchanged).
        """
        if order.__class__ is not int or not 0 <= order <= 10:  # MAX_PAGE_ORDER
            _check_order(order)
        mems = self._mem
        current = order
        while current < 11:  # NR_PAGE_ORDERS
            mem = mems[current]
            if mem:
                break
            current += 1
        else:
            raise self._oom(order)
        head = self._head[current]
        if head:
            pfn = head.popitem()[0]
        else:
            popleft = self._popleft[current]
            while True:
                entry = popleft()
                pfn = entry[0]
                if mem.get(pfn) is entry:
                    break
        del mem[pfn]
        if current > order:  # expand(): upper halves to the head of each lower list
            heads = self._head
            high = current
            while high > order:
                high -= 1
                half = pfn + (1 << high)
                mems[high][half] = None
                heads[high][half] = None
        self._alloc[pfn] = order
        self.nr_free_pages -= 1 << order
        self.trail.append(("alloc", pfn, order, current))
        return Page(pfn, order)

    def _oom(self, order):
        counts = " ".join(str(len(m)) for m in self._mem)
        if self.nr_free_pages >= 1 << order:
            why = (f"{self.nr_free_pages} pages are free but none in a block of order >= {order}: "
                   f"external fragmentation")
        else:
            why = f"only {self.nr_free_pages} pages are free, {1 << order} needed"
        return OutOfMemory(f"zone {self.name}: no free block for an order-{order} request ({why}); "
                           f"free_area nr_free by order: {counts}")

    def free_pages(self, page, order):
        """Give a block back; merge it with its buddy while the buddy is free.

        Kernel: mm/page_alloc.c __free_pages() -> __free_one_page(): while
        order < MAX_PAGE_ORDER and the buddy ``pfn ^ (1 << order)`` is free
        at the same order, take the buddy off its list and move up one order;
        the result goes to the tail of its list if buddy_merge_likely() (its
        parent's buddy is free, so a merge may soon follow), else the head.
        A double free, a PFN never handed out, or the wrong order raises
        :class:`BadFree` and leaves the zone unchanged.
        """
        cls = page.__class__
        if cls is Page:
            pfn = page.pfn
        elif cls is int:
            pfn = page
        else:
            pfn = self._diagnose_bad_free(page, order)
        alloc = self._alloc
        if alloc.get(pfn, -1) != order or order.__class__ is not int:
            self._diagnose_bad_free(page, order)
        del alloc[pfn]
        self.nr_free_pages += 1 << order
        mems = self._mem
        start_pfn, start_order = pfn, order
        while order < 10:  # MAX_PAGE_ORDER
            buddy = pfn ^ (1 << order)
            mem = mems[order]
            if buddy not in mem:
                break
            if mem.pop(buddy) is None:
                del self._head[order][buddy]
            else:  # its _tail entry is now stale
                self._stale += 1
                if self._stale > _SWEEP_EVERY:
                    self._sweep()
            pfn &= buddy
            order += 1
        # buddy_merge_likely(): tail if the parent's buddy is free one order up
        if order < 9 and ((pfn & ~(1 << order)) ^ (1 << (order + 1))) in mems[order + 1]:
            to_tail = True
            entry = (pfn,)
            mems[order][pfn] = entry
            self._push_tail[order](entry)
        else:
            to_tail = False
            mems[order][pfn] = None
            self._head[order][pfn] = None
        self.trail.append(("free", start_pfn, start_order, order, to_tail))

    def _sweep(self):
        """Drop stale tail entries (amortised O(1) per merge)."""
        self._stale = 0
        for mem, fl in zip(self._mem, self._tail):
            if len(fl) > len(mem):
                live = [e for e in fl if mem.get(e[0]) is e]
                fl.clear()
                fl.extend(live)

    def _free_boot(self, pfn, order):
        """Boot-time free (FPI_TO_TAIL): memblock_free_pages() -> __free_pages_core()."""
        mems = self._mem
        while order < MAX_PAGE_ORDER:
            buddy = pfn ^ (1 << order)
            if buddy not in mems[order]:
                break
            del mems[order][buddy]
            pfn &= buddy
            order += 1
        entry = (pfn,)
        mems[order][pfn] = entry
        self._tail[order].append(entry)

    def _diagnose_bad_free(self, page, order):
        """Raise the BadFree that says what is wrong with this free."""
        if page.__class__ is Page:
            pfn = page.pfn
        elif page.__class__ is int:
            pfn = page
        else:
            raise BadFree(f"free_pages: {page!r} is neither a Page nor a PFN")
        _check_order(order, "free_pages")
        if not self.contains_pfn(pfn):
            raise BadFree(f"free_pages: pfn {pfn} is outside zone {self.name} "
                          f"(pfns {self.zone_start_pfn}..{self.zone_end_pfn - 1})")
        have = self._alloc.get(pfn)
        if have is not None:
            raise BadFree(f"free_pages: the block at pfn {pfn} was allocated with order {have} but freed with "
                          f"order {order}; __free_pages() must get the order alloc_pages() used "
                          f"(the kernel would corrupt its free lists)")
        free_head = self._free_block_containing(pfn)
        if free_head is not None:
            head, o = free_head
            raise BadFree(f"free_pages: double free of pfn {pfn}: it is already free, part of the free "
                          f"order-{o} block at pfn {head}")
        for o in range(1, NR_PAGE_ORDERS):
            head = pfn & ~((1 << o) - 1)
            if self._alloc.get(head) == o:
                raise BadFree(f"free_pages: pfn {pfn} lies inside the order-{o} block that starts at pfn {head}; "
                              f"free a block by its first page")
        raise BadFree(f"free_pages: pfn {pfn} was never allocated")

    def _free_block_containing(self, pfn):
        for o in range(NR_PAGE_ORDERS):
            head = pfn & ~((1 << o) - 1)
            if head in self._mem[o]:
                return head, o
        return None

    # ---------------------------------------------------------------- queries
    def free_blocks(self):
        """``(pfn, order)`` of every free block, by order then list order."""
        return [(pfn, o) for o in range(NR_PAGE_ORDERS) for pfn in self.free_area[o].free_list]

    def allocated_blocks(self):
        """``(pfn, order)`` of every allocated block, in allocation order."""
        return list(self._alloc.items())

    def is_free(self, pfn, order):
        """True if a free block of exactly ``order`` starts at ``pfn``."""
        return pfn in self._mem[order]

    def page_map(self):
        """A numpy ``uint8`` array, one entry per page of the zone: the order
        of the free block it belongs to (0..10), or 255 if allocated."""
        import numpy as np

        out = np.full(self.spanned_pages, 255, dtype=np.uint8)
        base = self.zone_start_pfn
        for o, mem in enumerate(self._mem):
            if not mem:
                continue
            heads = np.fromiter(mem.keys(), dtype=np.int64, count=len(mem)) - base
            if o:
                heads = (heads[:, None] + np.arange(1 << o, dtype=np.int64)).ravel()
            out[heads] = o
        return out

    def contig_page_info(self, order):
        """Kernel: mm/vmstat.c fill_contig_page_info()."""
        return contig_page_info(self.nr_free_by_order(), order)

    def nr_free_by_order(self):
        """``[free_area[o].nr_free for o in 0..10]``: one row of buddyinfo."""
        return [len(m) for m in self._mem]

    def fragmentation_index(self, order):
        """The extfrag index x1000 for an order-``order`` request (see
        :func:`fragmentation_index`)."""
        return fragmentation_index(self.nr_free_by_order(), order)

    def unusable_index(self, order):
        """Share (x1000) of free memory unusable for an order-``order`` request
        (see :func:`unusable_index`)."""
        return unusable_index(self.nr_free_by_order(), order)

    # ------------------------------------------------------------ explanation
    def explain(self, record=None):
        """The steps of one operation in words (default: the last one).

        ``record`` is an entry of :attr:`trail`: ``("alloc", pfn, order,
        from_order)`` or ``("free", pfn, order, final_order, to_tail)``.
        """
        if record is None:
            if not self.trail:
                return ["No allocation or free yet in zone " + self.name + "."]
            record = self.trail[-1]
        if record[0] == "alloc":
            _, pfn, order, current = record
            steps = []
            if current > order:
                if current - order > 2:
                    empties = f"free_area[{order}] to free_area[{current - 1}] are"
                else:
                    empties = " and ".join(f"free_area[{o}]" for o in range(order, current))
                    empties += " are" if current - order > 1 else " is"
                steps.append(f"alloc_pages(order={order}): {empties} empty; __rmqueue_smallest takes the head "
                             f"of free_area[{current}]: the order-{current} block at pfn {pfn} "
                             f"(pfns {pfn}-{pfn + (1 << current) - 1}).")
                for high in range(current - 1, order - 1, -1):
                    half = pfn + (1 << high)
                    steps.append(f"expand(): order-{high + 1} block at pfn {pfn} split: upper half pfn {half}"
                                 + (f"-{half + (1 << high) - 1}" if high else "")
                                 + f" goes to the head of free_area[{high}], lower half pfn {pfn} kept.")
            else:
                steps.append(f"alloc_pages(order={order}): __rmqueue_smallest takes the head of "
                             f"free_area[{order}]: the block at pfn {pfn}; no split needed.")
            steps.append(f"Returned pfn {pfn} (order {order}, {1 << order} page{'s' if order else ''}, "
                         f"{format_size(PAGE_SIZE << order)}).")
            return steps
        _, pfn, order, final, to_tail = record
        steps = [f"free_pages(pfn {pfn}, order {order})."]
        cur = pfn
        for o in range(order, final):
            buddy = cur ^ (1 << o)
            merged = cur & buddy
            steps.append(f"Buddy pfn {buddy} is free at order {o}: take it off free_area[{o}] and merge into "
                         f"the order-{o + 1} block at pfn {merged}.")
            cur = merged
        if final == MAX_PAGE_ORDER:
            steps.append(f"Order {final} is MAX_PAGE_ORDER: no further merging.")
        else:
            buddy = cur ^ (1 << final)
            where = "" if self.contains_pfn(buddy) else f" (it lies outside zone {self.name})"
            steps.append(f"Buddy pfn {buddy} is not free at order {final}{where}: merging stops.")
        if to_tail:
            parent = cur & ~(1 << final)
            steps.append(f"Added at the tail of free_area[{final}]: buddy_merge_likely() saw that the buddy "
                         f"(pfn {parent ^ (1 << (final + 1))}) of its parent block at pfn {parent} is free at "
                         f"order {final + 1}, so this block may merge soon; keep it for last.")
        else:
            steps.append(f"Added at the head of free_area[{final}].")
        return steps

    # ------------------------------------------------------------- invariants
    def check_invariants(self):
        """Assert the buddy invariants; raise AssertionError naming the first
        violation. Used by the tests after every step."""
        start, end = self.zone_start_pfn, self.zone_end_pfn
        owner = {}
        free_pages = 0
        for o, mem in enumerate(self._mem):
            in_tail = [e[0] for e in self._tail[o] if mem.get(e[0]) is e]
            in_head = list(self._head[o])
            assert all(mem.get(pfn, 0) is None for pfn in in_head), f"free list {o}: head entries out of step"
            live = in_head + in_tail
            assert len(live) == len(mem) and set(live) == set(mem), f"free list {o} order lost track"
            for pfn in mem:
                assert pfn % (1 << o) == 0, f"free block pfn {pfn} not aligned to order {o}"
                assert start <= pfn and pfn + (1 << o) <= end, f"free block pfn {pfn} order {o} outside zone"
                if o < MAX_PAGE_ORDER:
                    assert (pfn ^ (1 << o)) not in mem, f"free buddies pfn {pfn} and {pfn ^ (1 << o)} not merged"
                free_pages += 1 << o
                owner[pfn] = ("free", o)
        for pfn, o in self._alloc.items():
            assert pfn % (1 << o) == 0, f"allocated block pfn {pfn} not aligned to order {o}"
            assert start <= pfn and pfn + (1 << o) <= end, f"allocated block pfn {pfn} outside zone"
            assert pfn not in owner, f"pfn {pfn} is both free and allocated"
            owner[pfn] = ("alloc", o)
        assert free_pages == self.nr_free_pages, f"nr_free_pages {self.nr_free_pages} != {free_pages}"
        covered = 0
        last_end = start
        for pfn in sorted(owner):
            o = owner[pfn][1]
            assert pfn >= last_end, f"block at pfn {pfn} overlaps the previous block"
            last_end = pfn + (1 << o)
            covered += 1 << o
        assert covered == self.present_pages, f"blocks cover {covered} pages, zone has {self.present_pages}"

    def __repr__(self):
        return (f"<Zone {self.name}: pfns {self.zone_start_pfn}..{self.zone_end_pfn - 1}, "
                f"{self.nr_free_pages}/{self.managed_pages} pages free>")


# ---------------------------------------------------------- fragmentation
def contig_page_info(nr_free, order):
    """Free pages, free blocks and blocks suitable for ``order`` from a
    zone's nr_free counts per order (a buddyinfo row).

    Kernel: mm/vmstat.c fill_contig_page_info().
    """
    _check_order(order, "contig_page_info")
    free_pages = total = suitable = 0
    for o, blocks in enumerate(nr_free):
        total += blocks
        free_pages += blocks << o
        if o >= order:
            suitable += blocks << (o - order)
    return ContigPageInfo(free_pages, total, suitable)


def fragmentation_index(nr_free, order):
    """The extfrag index x1000 for an order-``order`` request.

    0 means a failure would be for lack of memory, 1000 for fragmentation;
    -1000 means a suitable block exists (no failure); 0 too with no free
    blocks at all. Kernel: mm/vmstat.c __fragmentation_index() (integer
    maths, as the kernel). ``nr_free`` is the count per order (buddyinfo).
    """
    info = contig_page_info(nr_free, order)
    if not info.free_blocks_total:
        return 0
    if info.free_blocks_suitable:
        return -1000
    requested = 1 << order
    return 1000 - (1000 + info.free_pages * 1000 // requested) // info.free_blocks_total


def unusable_index(nr_free, order):
    """Share (x1000) of free memory in blocks too small for ``order``.

    Kernel: mm/vmstat.c unusable_free_index(); 1000 with no free memory.
    """
    info = contig_page_info(nr_free, order)
    if info.free_pages == 0:
        return 1000
    return (info.free_pages - (info.free_blocks_suitable << order)) * 1000 // info.free_pages


# ------------------------------------------------------------------ watermarks
def calculate_min_free_kbytes(lowmem_pages):
    """``min_free_kbytes`` the kernel picks at boot.

    Kernel: mm/page_alloc.c calculate_min_free_kbytes():
    ``clamp(int_sqrt(lowmem_kbytes * 16), 128, 262144)`` where lowmem_kbytes
    is nr_free_buffer_pages() in KiB (the managed pages of zones up to
    Normal). Not modelled: khugepaged raising it when THP is enabled
    (set_recommended_min_free_kbytes), which is why a real host often shows
    a bigger value.
    """
    lowmem_kbytes = lowmem_pages * (PAGE_SIZE >> 10)
    return max(128, min(262144, isqrt(lowmem_kbytes * 16)))


def _mult_frac(x, numer, denom):
    return (x // denom) * numer + (x % denom) * numer // denom


def setup_per_zone_wmarks(managed, min_free_kbytes, zone_idx=None, watermark_scale_factor=10):
    """Per-zone ``_watermark[]`` (min, low, high, promo) in pages.

    ``managed`` is a list of managed page counts, one per zone; ``zone_idx``
    the matching zone types (default 0, 1, 2, ...: DMA, DMA32, Normal,
    Movable, Device). Kernel: mm/page_alloc.c __setup_per_zone_wmarks():
    pages_min = min_free_kbytes / 4 is shared among the lowmem zones (all but
    Movable on x86-64) in proportion to their managed pages; a movable zone's
    min is managed/1024 clamped to [SWAP_CLUSTER_MAX, 128]; the gaps
    low-min = high-low = promo-high are max(share/4, managed *
    watermark_scale_factor / 10000).
    """
    from .gfp import ZONE_MOVABLE

    if zone_idx is None:
        zone_idx = list(range(len(managed)))
    pages_min = min_free_kbytes >> (PAGE_SHIFT - 10)
    lowmem_pages = sum(m for m, idx in zip(managed, zone_idx) if idx != ZONE_MOVABLE)
    result = []
    for m, idx in zip(managed, zone_idx):
        tmp = pages_min * m // lowmem_pages if lowmem_pages else 0
        if idx == ZONE_MOVABLE:
            wmin = max(SWAP_CLUSTER_MAX, min(128, m // 1024))
        else:
            wmin = tmp
        gap = max(tmp >> 2, _mult_frac(m, watermark_scale_factor, 10000))
        result.append({"min": wmin, "low": wmin + gap, "high": wmin + 2 * gap, "promo": wmin + 3 * gap})
    return result


#: /proc/sys/vm/lowmem_reserve_ratio default on x86-64 (DMA, DMA32, Normal, Movable, Device).
LOWMEM_RESERVE_RATIO = (256, 256, 32, 0, 0)


def setup_per_zone_lowmem_reserve(managed, ratios=LOWMEM_RESERVE_RATIO):
    """``lowmem_reserve[]`` of every zone (the ``protection:`` line of zoneinfo).

    Kernel: mm/page_alloc.c setup_per_zone_lowmem_reserve(): zone i keeps
    back, from an allocation that could have used zone j > i, the managed
    pages of zones i+1..j divided by lowmem_reserve_ratio[i] (0 when the
    ratio is 0 or zone i has no managed pages). ``managed`` has one entry
    per zone type, empty zones included.
    """
    n = len(managed)
    reserve = []
    for i in range(n):
        row = [0] * n
        ratio = ratios[i] if i < len(ratios) else 0
        clear = not ratio or not managed[i]
        upper = 0
        for j in range(i + 1, n):
            upper += managed[j]
            row[j] = 0 if clear else upper // ratio
        reserve.append(row)
    return reserve
