"""The buddy allocator of one zone.

Kernel: mm/page_alloc.c (Linux 6.12): __rmqueue_smallest(), expand(),
__free_one_page(), buddy_merge_likely(), __free_pages_memory() for boot-time
freeing; include/linux/mmzone.h struct zone, struct free_area.

The free lists are exact: each ``free_area[order]`` keeps the kernel's list
order (head and tail insertion as the kernel chooses), so the PFN any
allocation returns is the PFN Linux would return for the same sequence, as
long as the per-CPU page lists are out of the picture (see below).

Deliberately not modelled here (and why it does not change the lesson):
migratetypes and pageblocks (one list per order, as with
``page_group_by_mobility_disabled``), the per-CPU page lists (order <= 3
allocations go straight to the buddy lists; on a real kernel they would
first be served from and freed to the CPU's pcp list), page shuffling,
compaction, reclaim, CMA, guard pages and memory holes inside a zone.
:class:`memlab.MobilityZone` (memlab/page_alloc/mobility.py) adds the
migratetypes, the pageblocks and the per-CPU lists.

Hot path: ``nr_free_pages`` is counted from the free lists when read, and
a :class:`Page` is built without calling ``__init__`` (where the compiled
extension is built, Page is the same class in C, which the garbage
collector need not track). A free list is a dict (membership, O(1) removal when a buddy is
merged) plus a deque that remembers list order; entries removed by a merge are
left in the deque as stale and skipped when reached (amortised O(1), compacted
when stale entries outnumber live ones). The explanation trail keeps plain
tuples and turns them into :class:`AllocStep` / :class:`FreeStep` records
only when read. Derived views (page maps, block lists) are computed only when
asked.
"""

from __future__ import annotations

from collections import deque

from ..errors import BadSize, OutOfMemory, reject
from ..units import MAX_PAGE_ORDER, NR_PAGE_ORDERS, PAGE_SHIFT, PAGE_SIZE, check_order
from ._compiled import ext, pure_python_requested
from .explain import AllocStep, FreeStep, diagnose_bad_free, explain_step, step_record
from .fragmentation import contig_page_info, fragmentation_index, unusable_index
from .watermarks import WMARK_NAMES

TYPE_CHECKING = False  # (typing.TYPE_CHECKING without importing typing at run time)
if TYPE_CHECKING:
    from typing import Any, NoReturn

__all__ = [
    "Page",
    "FreeArea",
    "Zone",
    "AllocStep",
    "FreeStep",
    "buddy_pfn",
    "check_order",
    "PAGE_ALLOCATED",
    "PAGE_RESERVED",
]

#: page_map() values besides the free orders 0..10
PAGE_ALLOCATED = 255
PAGE_RESERVED = 253
_TRAIL_LEN = 64
_SWEEP_EVERY = 4096


def check_blocks_tile(orders, start_pfn, managed_pages):
    """Assert that the blocks ``{first pfn: order}`` (free and allocated
    alike) do not overlap and cover ``managed_pages`` pages from
    ``start_pfn`` up: the check_invariants() of every zone class ends so."""
    covered, last_end = 0, start_pfn
    for pfn in sorted(orders):
        assert pfn >= last_end, f"block at pfn {pfn} overlaps the previous block"
        last_end = pfn + (1 << orders[pfn])
        covered += 1 << orders[pfn]
    assert covered == managed_pages, f"blocks cover {covered} pages, zone manages {managed_pages}"


def buddy_pfn(pfn: int, order: int) -> int:
    """The buddy of the block at ``pfn`` of ``order``: ``pfn ^ (1 << order)``.

    Kernel: mm/internal.h __find_buddy_pfn().
    """
    return pfn ^ (1 << order)


class Page:
    """The first page of an allocated block: ``Page(pfn, order)``, with ``.pfn`` and ``.order``.

    Kernel: struct page (include/linux/mm_types.h); the order lives in the
    caller's hands, as with alloc_pages()/__free_pages().
    """

    __slots__ = ("pfn", "order")

    def __init__(self, pfn: int, order: int) -> None:
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


if not TYPE_CHECKING and ext is not None and not pure_python_requested():
    # The same class in C (memlab/page_alloc/_cbuddy.c): a Python class is
    # always tracked by the garbage collector, which costs more than the
    # buddy step itself. Without the extension, or with MEMLAB_PURE_PYTHON
    # set at import, Page is the class above.
    Page = ext.Page

_new = Page.__new__  # alloc_pages builds its Page without a call to __init__


class FreeArea:
    """``zone->free_area[order]``: ``.nr_free`` and ``.free_list`` (head first).

    Kernel: include/linux/mmzone.h struct free_area.
    """

    __slots__ = ("_zone", "order")

    def __init__(self, zone, order):
        self._zone = zone
        self.order = order

    @property
    def nr_free(self) -> int:
        """Number of free blocks of this order."""
        return self._zone.nr_free_by_order()[self.order]

    @property
    def free_list(self) -> list[int]:
        """PFNs of the free blocks of this order, head of the list first."""
        return self._zone.free_list(self.order)

    def __repr__(self):
        return f"FreeArea(order={self.order}, nr_free={self.nr_free})"


class Zone:
    """One memory zone with its buddy allocator.

    ``Zone(name, nr_pages, start_pfn=0)`` is a standalone zone for small
    examples: all its pages are present, managed and free. Its
    ``alloc_pages`` is the buddy step alone (``rmqueue`` ->
    ``__rmqueue_smallest``): it ignores watermarks, which
    :class:`memlab.Machine` checks when it walks its zonelist.

    ``core`` chooses the implementation of the free lists: "python" (this
    module), "c" (the optional compiled core, same results, faster) or None
    for the default (see :mod:`memlab.page_alloc.core`).

    A zone of a machine may have pages that are not RAM (``present_pages``
    leaves out the holes) and RAM the kernel keeps for itself (only the
    ``free_ranges``, ``[(start_pfn, end_pfn), ...]``, are handed to the buddy
    allocator at boot; ``managed_pages`` counts them). The other pages are
    reserved: never free, never allocated.

    Kernel: include/linux/mmzone.h struct zone (spanned, present and managed
    pages); memory comes online as the boot code does it
    (mm/memblock.c memblock_free_all() -> __free_pages_memory() for each
    free memblock range: the largest naturally aligned blocks, freed to the
    tail of their list).
    """

    core = "python"  # the buddy core this zone runs: "python" or "c" (memlab.page_alloc.core)
    #: core name -> class of a new Zone; memlab.page_alloc.core installs it
    choose_class: Any = None

    def __new__(cls, *args, core: str | None = None, **kwargs):
        choose = Zone.choose_class
        return object.__new__(choose(core) if cls is Zone and choose is not None else cls)

    def __init__(
        self,
        name: str,
        nr_pages: int,
        start_pfn: int = 0,
        node: int = 0,
        zone_idx: int | None = None,
        present_pages: int | None = None,
        free_ranges: list[tuple[int, int]] | None = None,
        core: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise BadSize(f"zone name {name!r} must be a non-empty string")
        for label, value in (("nr_pages", nr_pages), ("start_pfn", start_pfn)):
            if value.__class__ is not int or value < 0:
                raise reject(BadSize, value, f"Zone({name!r}): {label} {value!r} must be an int >= 0")
        end_pfn = start_pfn + nr_pages
        if free_ranges is None:
            free_ranges = [(start_pfn, end_pfn)] if nr_pages else []
        for lo, hi in free_ranges:
            if not start_pfn <= lo <= hi <= end_pfn:
                raise BadSize(f"Zone({name!r}): free range pfn {lo}..{hi} is outside the zone {start_pfn}..{end_pfn}")
        managed = sum(hi - lo for lo, hi in free_ranges)
        present = nr_pages if present_pages is None else present_pages
        if not managed <= present <= nr_pages:
            raise BadSize(
                f"Zone({name!r}): present pages {present} must lie between managed {managed} and spanned {nr_pages}"
            )
        self.name = name
        self.node = node
        self.zone_idx = zone_idx
        self.zone_start_pfn = start_pfn
        self.spanned_pages = nr_pages
        self.present_pages = present
        self.managed_pages = managed
        self.free_ranges = [(lo, hi) for lo, hi in free_ranges if hi > lo]
        self.watermark_boost = 0
        self._watermark = {"min": 0, "low": 0, "high": 0, "promo": 0}
        self.lowmem_reserve: list[int] = []
        self.free_area = [FreeArea(self, o) for o in range(NR_PAGE_ORDERS)]
        self._trail: deque[tuple] = deque(maxlen=_TRAIL_LEN)
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
        self._stale = 0
        self._trail.clear()
        for start, end in self.free_ranges:  # __free_pages_memory(start, end)
            while start < end:
                order = MAX_PAGE_ORDER if start == 0 else min(MAX_PAGE_ORDER, (start & -start).bit_length() - 1)
                while start + (1 << order) > end:
                    order -= 1
                self._free_boot(start, order)
                start += 1 << order

    @property
    def nr_free_pages(self) -> int:
        """Free pages in the zone (zone_page_state(zone, NR_FREE_PAGES)).
        The kernel keeps a counter; memlab counts the free lists when
        asked, which keeps the allocation hot path shorter."""
        m = self._mem
        return (
            len(m[0])
            + (len(m[1]) << 1)
            + (len(m[2]) << 2)
            + (len(m[3]) << 3)
            + (len(m[4]) << 4)
            + (len(m[5]) << 5)
            + (len(m[6]) << 6)
            + (len(m[7]) << 7)
            + (len(m[8]) << 8)
            + (len(m[9]) << 9)
            + (len(m[10]) << 10)
        )

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

    def set_watermarks(self, marks, lowmem_reserve):
        """Install ``_watermark[]`` (a dict min/low/high/promo in pages) and
        ``lowmem_reserve[]``, as __setup_per_zone_wmarks() and
        setup_per_zone_lowmem_reserve() do at boot."""
        self._watermark = {name: marks[name] for name in WMARK_NAMES}
        self.lowmem_reserve = list(lowmem_reserve)

    @property
    def trail(self):
        """The last operations, oldest first, as :class:`AllocStep` and
        :class:`FreeStep` records (at most 64 are kept)."""
        return [step_record(raw) for raw in self.raw_trail()]

    def raw_trail(self):
        """The trail as plain tuples (see :meth:`explain`), oldest first."""
        return self._trail

    def wmark_pages(self, name):
        """Kernel: include/linux/mmzone.h wmark_pages(): watermark + boost."""
        return self._watermark[name] + self.watermark_boost

    def contains_pfn(self, pfn):
        return self.zone_start_pfn <= pfn < self.zone_start_pfn + self.spanned_pages

    def is_managed(self, pfn):
        """True if ``pfn`` belongs to the buddy allocator (not a hole, not
        reserved by the kernel at boot)."""
        return any(lo <= pfn < hi for lo, hi in self.free_ranges)

    # ------------------------------------------------------------- allocation
    def alloc_pages(self, order: int = 0) -> Page:
        """Take a block of ``2**order`` pages; return its first :class:`Page`.

        Kernel: mm/page_alloc.c __rmqueue_smallest(): the smallest order with
        a non-empty free list, the head of that list; expand() splits it,
        putting each upper half at the head of the next lower list and keeping
        the lowest PFN. Raises :class:`OutOfMemory` when no block is large
        enough (the zone is unchanged).
        """
        if order.__class__ is not int or not 0 <= order <= 10:  # MAX_PAGE_ORDER
            check_order(order)
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
        self._trail.append(("alloc", pfn, order, current))
        page = _new(Page)
        page.pfn = pfn
        page.order = order
        return page

    def _oom(self, order):
        counts = " ".join(str(n) for n in self.nr_free_by_order())
        if self.nr_free_pages >= 1 << order:
            why = f"{self.nr_free_pages} pages are free but none in a block of order >= {order}: external fragmentation"
        else:
            why = f"only {self.nr_free_pages} pages are free, {1 << order} needed"
        return OutOfMemory(
            f"zone {self.name}: no free block for an order-{order} request ({why}); "
            f"free_area nr_free by order: {counts}"
        )

    def free_pages(self, page: Page | int, order: int) -> None:
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
        pfn: int
        if cls is Page:
            pfn = page.pfn  # type: ignore[union-attr]  # (narrowed by the class test above)
            if pfn.__class__ is not int:  # a float or numpy pfn would match a dict key, then break the maths
                self._diagnose_bad_free(page, order)
        elif cls is int:
            pfn = page  # type: ignore[assignment]  # (narrowed by the class test above)
        else:
            self._diagnose_bad_free(page, order)
        alloc = self._alloc
        if alloc.get(pfn) != order or order.__class__ is not int:  # (None when pfn is not allocated)
            self._diagnose_bad_free(page, order)
        del alloc[pfn]
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
        self._trail.append(("free", start_pfn, start_order, order, to_tail))

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

    def _diagnose_bad_free(self, page, order) -> NoReturn:
        """Raise the BadFree that says what is wrong with this free."""
        diagnose_bad_free(self, page, order, Page)

    def free_block_containing(self, pfn):
        """``(first pfn, order)`` of the free block that holds ``pfn``, or
        None if the page is allocated or not managed."""
        for o in range(NR_PAGE_ORDERS):
            head = pfn & ~((1 << o) - 1)
            if self.is_free(head, o):
                return head, o
        return None

    # ---------------------------------------------------------------- queries
    def free_list(self, order: int) -> list[int]:
        """PFNs of the free blocks of ``order``, head of the list first."""
        mem = self._mem[order]
        return list(reversed(self._head[order])) + [e[0] for e in self._tail[order] if mem.get(e[0]) is e]

    def free_pfns(self, order: int):
        """The PFNs of the free blocks of ``order`` in no particular order
        (cheaper than :meth:`free_list` when the order does not matter)."""
        return self._mem[order].keys()

    def free_blocks(self):
        """``(pfn, order)`` of every free block, by order then list order."""
        return [(pfn, o) for o in range(NR_PAGE_ORDERS) for pfn in self.free_area[o].free_list]

    def allocated_blocks(self):
        """``(pfn, order)`` of every allocated block, in allocation order."""
        return list(self._alloc.items())

    def allocated_order(self, pfn):
        """The order of the allocated block that starts at ``pfn``, or None."""
        return self._alloc.get(pfn)

    def has_free_block(self, order):
        """True if some free list of ``order`` or above is non-empty (the last
        test of __zone_watermark_ok())."""
        return any(self.nr_free_by_order()[order:])

    def is_free(self, pfn, order):
        """True if a free block of exactly ``order`` starts at ``pfn``."""
        return pfn in self._mem[order]

    def page_map(self):
        """A numpy ``uint8`` array, one entry per page of the zone: the order
        of the free block it belongs to (0..10), :data:`PAGE_ALLOCATED` (255)
        if allocated, :data:`PAGE_RESERVED` (253) if the buddy allocator does
        not manage it (a hole, or reserved at boot)."""
        import numpy as np

        base = self.zone_start_pfn
        if self.managed_pages == self.spanned_pages:
            out = np.full(self.spanned_pages, PAGE_ALLOCATED, dtype=np.uint8)
        else:
            out = np.full(self.spanned_pages, PAGE_RESERVED, dtype=np.uint8)
            for lo, hi in self.free_ranges:
                out[lo - base : hi - base] = PAGE_ALLOCATED
        for o, count in enumerate(self.nr_free_by_order()):
            if not count:
                continue
            heads = np.fromiter(self.free_pfns(o), dtype=np.int64, count=count) - base
            if o:
                heads = (heads[:, None] + np.arange(1 << o, dtype=np.int64)).ravel()
            out[heads] = o
        return out

    def contig_page_info(self, order):
        """Kernel: mm/vmstat.c fill_contig_page_info()."""
        return contig_page_info(self.nr_free_by_order(), order)

    def nr_free_by_order(self) -> list[int]:
        """``[free_area[o].nr_free for o in 0..10]``: one row of buddyinfo."""
        return [len(m) for m in self._mem]

    def fragmentation_index(self, order: int) -> int:
        """The extfrag index x1000 for an order-``order`` request (see
        :func:`fragmentation_index`)."""
        return fragmentation_index(self.nr_free_by_order(), order)

    def unusable_index(self, order: int) -> int:
        """Share (x1000) of free memory unusable for an order-``order`` request
        (see :func:`unusable_index`)."""
        return unusable_index(self.nr_free_by_order(), order)

    # ------------------------------------------------------------ explanation
    def explain(self, record: tuple | None = None) -> list[str]:
        """The steps of one operation in words (default: the last one).

        ``record`` is an entry of :attr:`trail`: ``("alloc", pfn, order,
        from_order)`` or ``("free", pfn, order, final_order, to_tail)``.
        See :func:`memlab.page_alloc.explain.explain_step`.
        """
        if record is None:
            trail = self.raw_trail()
            if not trail:
                return ["No allocation or free yet in zone " + self.name + "."]
            record = trail[-1]
        return explain_step(self, record)

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
        check_blocks_tile({pfn: o for pfn, (_, o) in owner.items()}, start, self.managed_pages)
        for pfn, o in owner.items():
            assert self.is_managed(pfn) and self.is_managed(pfn + (1 << o[1]) - 1), f"block at pfn {pfn} not managed"

    def __repr__(self):
        return (
            f"<Zone {self.name}: pfns {self.zone_start_pfn}..{self.zone_end_pfn - 1}, "
            f"{self.nr_free_pages}/{self.managed_pages} pages free>"
        )
