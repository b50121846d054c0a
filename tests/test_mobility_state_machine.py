"""Stateful property tests of memlab.MobilityZone.

1. Any mix of migratetypes, orders, CPUs, frees and drains keeps every page
   on exactly one list (free list of its pageblock's type, per-CPU list, or
   allocated), the counters consistent, and refused operations change
   nothing.
2. With the per-CPU lists off and every allocation Movable, grouping by
   mobility never comes into play: the zone hands out the same PFNs and
   keeps the same free lists as the plain memlab.Zone.
"""

import hypothesis.strategies as st
from conftest import examples
from hypothesis import settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, multiple, rule

from memlab import BadFree, BadGFP, MemlabError, MobilityZone, OutOfMemory, Zone

GFPS = ["GFP_KERNEL", "GFP_HIGHUSER_MOVABLE", "GFP_KERNEL|__GFP_RECLAIMABLE", "GFP_ATOMIC"]
ORDERS = st.sampled_from([0, 0, 0, 1, 2, 3, 4, 6, 9, 10])


class MobilityMachine(RuleBasedStateMachine):
    pages = Bundle("pages")

    @initialize(
        nr_pages=st.integers(1, 5000),
        start_pfn=st.sampled_from([0, 1, 512, 4096]),
        pcp=st.booleans(),
        zone_idx=st.sampled_from([1, 2]),
        fraction=st.sampled_from([0, 0, 8, 64]),
    )
    def setup(self, nr_pages, start_pfn, pcp, zone_idx, fraction):
        self.zone = MobilityZone(
            "Normal", nr_pages, start_pfn=start_pfn, pcp=pcp, zone_idx=zone_idx, percpu_pagelist_high_fraction=fraction
        )
        self.live = {}  # id(page) -> (page, token)
        self.data = {}  # pfn -> token: what a machine would keep in the block's bytes
        self.tokens = 0

        def move(old, new, order):
            assert new not in self.data, f"compaction moved a block onto live data at pfn {new}"
            self.data[new] = self.data.pop(old)

        self.zone.migrate_callbacks.append(move)

    def state(self):
        z = self.zone
        return (
            z.nr_free_by_type(),
            sorted(z.allocated_blocks()),
            sorted(z.pcp_pages()),
            [(p.count, p.high) for p in z.pcp],
            z.pageblocks(),
        )

    @rule(target=pages, order=ORDERS, gfp=st.sampled_from(GFPS), cpu=st.integers(0, 1))
    def alloc(self, order, gfp, cpu):
        try:
            page = self.zone.alloc_pages(order, gfp, cpu=cpu)
        except OutOfMemory:
            return multiple()
        assert page.pfn not in self.data
        self.tokens += 1
        self.live[id(page)] = (page, self.tokens)
        self.data[page.pfn] = self.tokens
        return page

    @rule(page=consumes(pages), cpu=st.integers(0, 1))
    def free(self, page, cpu):
        self.zone.free_pages(page, page.order, cpu=cpu)
        del self.live[id(page)]
        del self.data[page.pfn]

    @rule(page=pages, delta=st.sampled_from([-1, 1]))
    def free_with_wrong_order(self, page, delta):
        before = self.state()
        try:
            self.zone.free_pages(page, page.order + delta)
        except MemlabError:
            pass
        else:
            raise AssertionError("a wrong-order free was accepted")
        assert self.state() == before

    @rule(pfn=st.integers(-3, 6000))
    def free_a_pfn_that_is_not_live(self, pfn):
        if pfn in self.data:
            return
        before = self.state()
        try:
            self.zone.free_pages(pfn, 0)
        except BadFree:
            pass
        else:
            raise AssertionError(f"free of pfn {pfn} accepted")
        assert self.state() == before

    @rule(gfp=st.sampled_from(["GFP_KERNEL|__GFP_MOVABLE|__GFP_RECLAIMABLE", "NOT_A_FLAG"]), cpu=st.integers(2, 3))
    def bad_requests_change_nothing(self, gfp, cpu):
        before = self.state()
        for call in (lambda: self.zone.alloc_pages(0, gfp), lambda: self.zone.alloc_pages(0, "GFP_KERNEL", cpu=cpu)):
            try:
                call()
            except (BadGFP, MemlabError):
                pass
            else:
                raise AssertionError("a bad request was accepted")
        assert self.state() == before

    @rule(order=st.sampled_from([-1, -1, 1, 3, 9]))
    def compact(self, order):
        result = self.zone.compact_zone(order)
        assert result.result in ("COMPACT_COMPLETE", "COMPACT_SUCCESS", "COMPACT_SKIPPED", "COMPACT_CONTENDED")

    @rule()
    def drain(self):
        self.zone.drain_all_pages()
        assert all(p.count == 0 for p in self.zone.pcp)

    @invariant()
    def invariants(self):
        z = self.zone
        z.check_invariants()
        assert dict(z.allocated_blocks()) == {p.pfn: p.order for p, _ in self.live.values()}
        assert all(self.data[p.pfn] == token for p, token in self.live.values())  # handles follow their data
        on_pcp = sum(1 << o for _, _, o in z.pcp_pages())
        assert z.nr_free_pages + on_pcp + sum(1 << p.order for p, _ in self.live.values()) == z.managed_pages
        assert sum(z.pageblock_counts()) == len(z.pageblocks())


TestMobilityMachine = MobilityMachine.TestCase
TestMobilityMachine.settings = settings(max_examples=examples(1.0), stateful_step_count=60)


class MovableOnlyMachine(RuleBasedStateMachine):
    """Without per-CPU lists and with only Movable allocations, a
    MobilityZone is the plain buddy allocator."""

    pages = Bundle("pages")

    @initialize(nr_pages=st.integers(1, 5000), start_pfn=st.sampled_from([0, 512, 1024, 4096]))
    def setup(self, nr_pages, start_pfn):
        self.mobile = MobilityZone("Normal", nr_pages, start_pfn=start_pfn, pcp=False)
        self.plain = Zone("Normal", nr_pages, start_pfn=start_pfn, core="python")

    @rule(target=pages, order=st.integers(0, 10))
    def alloc(self, order):
        try:
            expected = self.plain.alloc_pages(order)
        except OutOfMemory:
            try:
                self.mobile.alloc_pages(order, "GFP_HIGHUSER_MOVABLE")
            except OutOfMemory:
                return multiple()
            raise AssertionError("MobilityZone allocated where the plain zone had no block") from None
        page = self.mobile.alloc_pages(order, "GFP_HIGHUSER_MOVABLE")
        assert (page.pfn, page.order) == (expected.pfn, expected.order)
        return page

    @rule(page=consumes(pages))
    def free(self, page):
        self.mobile.free_pages(page, page.order)
        self.plain.free_pages(page.pfn, page.order)

    @invariant()
    def same_lists(self):
        for o in range(11):
            assert self.mobile.free_list(o) == self.plain.free_list(o), o
        assert self.mobile.pageblock_counts()[1] == len(self.mobile.pageblocks())


TestMovableOnlyMachine = MovableOnlyMachine.TestCase
TestMovableOnlyMachine.settings = settings(max_examples=examples(1.0), stateful_step_count=60)
