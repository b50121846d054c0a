"""Stateful property test of SLUB on a small machine: objects never overlap,
inuse + free == objects in every slab, every slab's pages are allocated in
the buddy allocator, and refused operations change nothing."""

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from memlab import Machine, MemlabError, OutOfMemory, procfs
from memlab.slub import SLAB_HWCACHE_ALIGN


class SlubMachine(RuleBasedStateMachine):
    @initialize(debug=st.booleans(), cpus=st.sampled_from([1, 2, 8]))
    def setup(self, debug, cpus):
        self.m = Machine(ram="24MiB", cpus=cpus, slub_debug=debug)
        self.caches = []
        self.objects = []  # (cache, addr)
        self.kmallocs = []  # (addr, size)
        self.n = 0

    @rule(size=st.integers(1, 3000), align=st.sampled_from([0, 8, 64]), hw=st.booleans())
    def create(self, size, align, hw):
        self.n += 1
        cache = self.m.kmem_cache_create(f"c{self.n}", size, align=align, flags=SLAB_HWCACHE_ALIGN if hw else 0)
        assert cache.size >= size and cache.size % cache.align == 0
        self.caches.append(cache)

    @precondition(lambda self: self.caches)
    @rule(i=st.integers(0, 100), count=st.integers(1, 40))
    def alloc(self, i, count):
        cache = self.caches[i % len(self.caches)]
        for _ in range(count):
            try:
                self.objects.append((cache, self.m.kmem_cache_alloc(cache)))
            except OutOfMemory:
                break

    @precondition(lambda self: self.objects)
    @rule(i=st.integers(0, 10**6))
    def free(self, i):
        cache, addr = self.objects.pop(i % len(self.objects))
        self.m.kmem_cache_free(cache, addr)

    @rule(size=st.integers(1, 20000))
    def kmalloc(self, size):
        try:
            addr = self.m.kmalloc(size)
        except OutOfMemory:
            return
        assert self.m.ksize(addr) >= size
        self.kmallocs.append((addr, size))

    @precondition(lambda self: self.kmallocs)
    @rule(i=st.integers(0, 10**6))
    def kfree(self, i):
        addr, _ = self.kmallocs.pop(i % len(self.kmallocs))
        self.m.kfree(addr)

    @precondition(lambda self: self.caches)
    @rule(i=st.integers(0, 100))
    def shrink(self, i):
        self.m.kmem_cache_shrink(self.caches[i % len(self.caches)])

    @precondition(lambda self: self.caches)
    @rule(i=st.integers(0, 100))
    def destroy(self, i):
        cache = self.caches[i % len(self.caches)]
        live = any(c is cache for c, _ in self.objects)
        before = procfs.slabinfo(self.m)
        try:
            self.m.kmem_cache_destroy(cache)
        except MemlabError:
            assert live and procfs.slabinfo(self.m) == before
        else:
            assert not live
            self.caches.remove(cache)

    @precondition(lambda self: self.objects)
    @rule(i=st.integers(0, 10**6), delta=st.sampled_from([1, 3, -1]))
    def bad_free(self, i, delta):
        cache, addr = self.objects[i % len(self.objects)]
        before = (procfs.slabinfo(self.m), procfs.buddyinfo(self.m))
        try:
            self.m.kmem_cache_free(cache, addr + delta)
        except MemlabError:
            pass
        else:
            raise AssertionError("a free of a misaligned address was accepted")
        assert (procfs.slabinfo(self.m), procfs.buddyinfo(self.m)) == before

    @invariant()
    def consistent(self):
        m = self.m
        m.slub.check_invariants()
        m.check_invariants()
        spans = sorted(
            [(addr, addr + cache.object_size) for cache, addr in self.objects]
            + [(addr, addr + m.ksize(addr)) for addr, _ in self.kmallocs]
        )
        for (a0, a1), (b0, _) in zip(spans, spans[1:]):
            assert a1 <= b0, f"objects overlap: {a0:#x}-{a1:#x} and {b0:#x}"
        for cache in self.caches:
            mine = sum(1 for c, _ in self.objects if c is cache)
            assert cache.objects_in_use == mine


TestSlubMachine = SlubMachine.TestCase
TestSlubMachine.settings = settings(max_examples=80, stateful_step_count=40, deadline=None)
