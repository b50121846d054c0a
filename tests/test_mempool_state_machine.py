"""Stateful property test of a kernel mempool under random fault injection:
0 <= curr_nr <= min_nr, no element both in the reserve and handed out,
sleepers only while the reserve is empty, nothing leaked on destroy."""

import hypothesis.strategies as st
from conftest import examples
from hypothesis import settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, multiple, rule

from memlab import Machine
from memlab.mempool import BadPool, MempoolWaiter


class MempoolMachine(RuleBasedStateMachine):
    """Elements handed out are a Bundle (those a woken sleeper received join
    it through collect_woken): a failure shrinks to a readable program."""

    elements = Bundle("elements")

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
        self.held = 0  # elements out, directly or through a woken sleeper
        self.waiters = []

    @rule(p=st.sampled_from([0, 50, 100]), reclaim=st.booleans(), seed=st.integers(0, 9))
    def faults(self, p, reclaim, seed):
        for fa in (self.m.failslab, self.m.fail_page_alloc):
            fa.configure(probability=p, times=-1, seed=seed, ignore_gfp_reclaim=reclaim, min_order=0)

    @rule(target=elements, gfp=st.sampled_from(["GFP_KERNEL", "GFP_NOIO", "GFP_ATOMIC", "GFP_NOWAIT"]))
    def alloc(self, gfp):
        result = self.m.mempool_alloc(self.pool, gfp)
        if isinstance(result, MempoolWaiter):
            assert gfp in ("GFP_KERNEL", "GFP_NOIO") and self.pool.curr_nr == 0
            self.waiters.append(result)
            return multiple()
        if result is None:
            assert gfp in ("GFP_ATOMIC", "GFP_NOWAIT") and self.pool.curr_nr == 0
            return multiple()
        self.held += 1
        return result

    @rule(element=consumes(elements))
    def free(self, element):
        self.m.mempool_free(element, self.pool)
        self.held -= 1

    @rule(target=elements)
    def collect_woken(self):
        done = [w for w in self.waiters if w.state == "done"]
        for w in done:
            self.waiters.remove(w)
        self.held += len(done)
        return multiple(*[w.element for w in done])

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
        woken = sum(1 for w in self.waiters if w.state == "done")  # own their element, not yet collected
        self.pool.check_invariants()
        assert self.in_backing() == self.pool.curr_nr + self.held + woken
        assert len(self.pool.wait) == len([w for w in self.waiters if w.state == "waiting"])


TestMempoolMachine = MempoolMachine.TestCase
TestMempoolMachine.settings = settings(max_examples=examples(0.55), stateful_step_count=40)
