"""Stateful property test of a kernel mempool under random fault injection:
0 <= curr_nr <= min_nr, no element both in the reserve and handed out,
sleepers only while the reserve is empty, nothing leaked on destroy."""

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from memlab import Machine
from memlab.mempool import BadPool, MempoolWaiter


class MempoolMachine(RuleBasedStateMachine):
    @initialize(kind=st.sampled_from(["slab", "kmalloc", "page"]), min_nr=st.integers(0, 6))
    def setup(self, kind, min_nr):
        self.m = Machine(ram="20MiB")
        if kind == "slab":
            self.backing = self.m.kmem_cache_create("elem", 96)
            self.pool = self.m.mempool_create_slab_pool(min_nr, self.backing)
            self.in_backing = lambda: self.backing.objects_in_use
        elif kind == "kmalloc":
            self.pool = self.m.mempool_create_kmalloc_pool(min_nr, 200)
            cache = self.m.slub.find_cache("kmalloc-256")
            self.in_backing = lambda: cache.objects_in_use
        else:
            self.pool = self.m.mempool_create_page_pool(min_nr, 0)
            total = self.m.nr_free_pages + min_nr
            self.in_backing = lambda: total - self.m.nr_free_pages
        self.held = []
        self.waiters = []

    @rule(p=st.sampled_from([0, 50, 100]), reclaim=st.booleans(), seed=st.integers(0, 9))
    def faults(self, p, reclaim, seed):
        for fa in (self.m.failslab, self.m.fail_page_alloc):
            fa.configure(probability=p, times=-1, seed=seed, ignore_gfp_reclaim=reclaim, min_order=0)

    @rule(gfp=st.sampled_from(["GFP_KERNEL", "GFP_NOIO", "GFP_ATOMIC", "GFP_NOWAIT"]))
    def alloc(self, gfp):
        result = self.m.mempool_alloc(self.pool, gfp)
        if isinstance(result, MempoolWaiter):
            assert gfp in ("GFP_KERNEL", "GFP_NOIO") and self.pool.curr_nr == 0
            self.waiters.append(result)
        elif result is None:
            assert gfp in ("GFP_ATOMIC", "GFP_NOWAIT") and self.pool.curr_nr == 0
        else:
            self.held.append(result)

    @precondition(lambda self: self.held)
    @rule(i=st.integers(0, 1000))
    def free(self, i):
        self.m.mempool_free(self.held.pop(i % len(self.held)), self.pool)
        for w in [w for w in self.waiters if w.state == "done"]:
            self.waiters.remove(w)
            self.held.append(w.element)

    @rule(n=st.integers(1, 8))
    def resize(self, n):
        self.pool.resize(n)

    @rule()
    def destroy(self):
        try:
            self.m.mempool_destroy(self.pool)
        except BadPool:
            assert self.held or self.waiters
            return
        assert self.in_backing() == 0, "destroy left elements allocated"
        self.m.failslab.disable()
        self.m.fail_page_alloc.disable()
        self.pool = self.m.mempool_create_kmalloc_pool(2, 200)
        cache = self.m.slub.find_cache("kmalloc-256")
        self.in_backing = lambda: cache.objects_in_use

    @invariant()
    def consistent(self):
        for w in [w for w in self.waiters if w.state == "done"]:  # woken sleepers own their element
            self.waiters.remove(w)
            self.held.append(w.element)
        self.pool.check_invariants()
        assert self.in_backing() == self.pool.curr_nr + len(self.held)
        assert len(self.pool.wait) == len([w for w in self.waiters if w.state == "waiting"])


TestMempoolMachine = MempoolMachine.TestCase
TestMempoolMachine.settings = settings(max_examples=80, stateful_step_count=40, deadline=None)
