"""Stateful property test: memlab's Zone against a plain list-based model of
the kernel's buddy allocator, checked after every step, invalid steps included."""

import hypothesis.strategies as st
from conftest import examples
from hypothesis import settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, multiple, rule

from memlab import BadFree, BadOrder, MemlabError, OutOfMemory, Zone

MAX = 10


class ListBuddy:
    """The kernel's algorithm written the slow, obvious way with Python lists."""

    def __init__(self, nr_pages, start_pfn):
        self.lists = [[] for _ in range(MAX + 1)]
        self.allocated = {}
        start, end = start_pfn, start_pfn + nr_pages
        self.lo, self.hi = start, end
        while start < end:
            order = MAX if start == 0 else min(MAX, (start & -start).bit_length() - 1)
            while start + (1 << order) > end:
                order -= 1
            self.lists[order].append(start)
            start += 1 << order

    def alloc(self, order):
        for cur in range(order, MAX + 1):
            if self.lists[cur]:
                pfn = self.lists[cur].pop(0)
                while cur > order:
                    cur -= 1
                    self.lists[cur].insert(0, pfn + (1 << cur))
                self.allocated[pfn] = order
                return pfn
        return None

    def free(self, pfn, order):
        del self.allocated[pfn]
        while order < MAX and (pfn ^ (1 << order)) in self.lists[order]:
            self.lists[order].remove(pfn ^ (1 << order))
            pfn &= ~(1 << order)
            order += 1
        tail = order < MAX - 1 and ((pfn & ~(1 << order)) ^ (1 << (order + 1))) in self.lists[order + 1]
        if tail:
            self.lists[order].append(pfn)
        else:
            self.lists[order].insert(0, pfn)


class BuddyMachine(RuleBasedStateMachine):
    """Live blocks are a Bundle: a failing run shrinks to a short program of
    allocations and frees of named blocks."""

    pages = Bundle("pages")

    @initialize(nr_pages=st.integers(1, 3000), start_pfn=st.sampled_from([0, 1, 3, 1024, 4096]))
    def setup(self, nr_pages, start_pfn):
        self.zone = Zone("Normal", nr_pages, start_pfn=start_pfn)
        self.model = ListBuddy(nr_pages, start_pfn)

    def state(self):
        z = self.zone
        return [z.free_area[o].free_list for o in range(MAX + 1)], sorted(z.allocated_blocks()), z.nr_free_pages

    @rule(target=pages, order=st.integers(0, MAX))
    def alloc(self, order):
        expected = self.model.alloc(order)
        if expected is None:
            before = self.state()
            try:
                self.zone.alloc_pages(order)
            except OutOfMemory:
                assert self.state() == before
            else:
                raise AssertionError("memlab allocated where the model had no block")
            return multiple()
        page = self.zone.alloc_pages(order)
        assert (page.pfn, page.order) == (expected, order)
        return page

    @rule(page=consumes(pages))
    def free(self, page):
        self.zone.free_pages(page, page.order)
        self.model.free(page.pfn, page.order)

    @rule(page=pages, delta=st.sampled_from([-1, 1, 2]))
    def free_with_wrong_order(self, page, delta):
        before = self.state()
        try:
            self.zone.free_pages(page, page.order + delta)
        except (BadFree, BadOrder):
            pass
        else:
            raise AssertionError("a wrong-order free was accepted")
        assert self.state() == before

    @rule(pfn=st.integers(-5, 5000))
    def free_unallocated_pfn(self, pfn):
        if pfn in self.model.allocated:
            return
        before = self.state()
        try:
            self.zone.free_pages(pfn, 0)
        except MemlabError:
            pass
        else:
            raise AssertionError(f"free of pfn {pfn}, which is not a live block head, was accepted")
        assert self.state() == before

    @rule(order=st.one_of(st.integers(11, 40), st.integers(-5, -1)))
    def alloc_bad_order(self, order):
        before = self.state()
        try:
            self.zone.alloc_pages(order)
        except BadOrder:
            pass
        assert self.state() == before

    @invariant()
    def matches_model_and_invariants(self):
        self.zone.check_invariants()
        assert [self.zone.free_area[o].free_list for o in range(MAX + 1)] == self.model.lists
        assert dict(self.zone.allocated_blocks()) == self.model.allocated


TestBuddyMachine = BuddyMachine.TestCase
TestBuddyMachine.settings = settings(max_examples=examples(1.0), stateful_step_count=60)


class ZonedMachine(RuleBasedStateMachine):
    """The whole machine: every allocation lands in a zone its GFP flags
    allow, chosen as get_page_from_freelist() would (first zone of the
    zonelist passing the low watermark, else the min watermark with the
    caller's reserves), and every zone keeps its buddy invariants."""

    pages = Bundle("pages")

    @initialize(ram=st.sampled_from(["18MiB", "24MiB", "64MiB"]), mfk=st.sampled_from([None, 512, 4096]))
    def setup(self, ram, mfk):
        from memlab import Machine

        self.m = Machine(ram=ram, min_free_kbytes=mfk)
        self.held = 0  # pages handed out

    def expected_zone(self, order, gfp):
        from memlab.gfp import GFP, gfp_zone, parse_gfp

        mask = parse_gfp(gfp)
        hz = gfp_zone(mask)
        zonelist = [z for z in reversed(self.m.node_zones[: hz + 1]) if z.present_pages]
        # gfp_to_alloc_flags(): __GFP_HIGH may use half the min reserve; a caller
        # that cannot reclaim (and did not say __GFP_NOMEMALLOC) a further quarter
        high = bool(mask & GFP["__GFP_HIGH"])
        non_block = not mask & (GFP["__GFP_DIRECT_RECLAIM"] | GFP["__GFP_NOMEMALLOC"])

        def ok(z, mark, slow):
            wmin = mark
            if slow and high:
                wmin -= wmin // 2
                if non_block:
                    wmin -= wmin // 4
            free = z.nr_free_pages - ((1 << order) - 1)
            return free > wmin + z.lowmem_reserve[hz] and any(z.free_area[o].nr_free for o in range(order, MAX + 1))

        for z in zonelist:
            if ok(z, z.wmark_pages("low"), False):
                return z
        for z in zonelist:
            if ok(z, z.wmark_pages("min"), True):
                return z
        return None

    @rule(
        target=pages,
        order=st.integers(0, 6),
        gfp=st.sampled_from(["GFP_KERNEL", "GFP_ATOMIC", "GFP_NOWAIT", "GFP_DMA", "GFP_DMA32", "GFP_KERNEL|__GFP_DMA"]),
    )
    def alloc(self, order, gfp):
        page = self.alloc_one(order, gfp)
        return multiple() if page is None else page

    def alloc_one(self, order, gfp):
        want = self.expected_zone(order, gfp)
        if want is None:
            try:
                self.m.alloc_pages(order, gfp)
            except OutOfMemory:
                return None
            raise AssertionError("allocation succeeded where every zone fails its watermark")
        page = self.m.alloc_pages(order, gfp)
        assert want.contains_pfn(page.pfn) and page.order == order
        self.held += 1 << order
        return page

    @rule(
        target=pages,
        order=st.integers(0, 10),
        gfp=st.sampled_from(["GFP_KERNEL", "GFP_ATOMIC", "GFP_DMA32"]),
        n=st.integers(1, 400),
    )
    def alloc_many(self, order, gfp, n):
        # drains zones down to their watermarks and lowmem reserves, one check per step
        got = [self.alloc_one(order, gfp) for _ in range(n)]
        return multiple(*[p for p in got if p is not None])

    @rule(page=consumes(pages))
    def free(self, page):
        self.m.free_pages(page, page.order)
        self.held -= 1 << page.order

    @invariant()
    def zones_consistent(self):
        self.m.check_invariants()
        assert self.m.nr_free_pages + self.held == self.m.totalram_pages


TestZonedMachine = ZonedMachine.TestCase
TestZonedMachine.settings = settings(max_examples=examples(0.4), stateful_step_count=80)
