"""Stateful property test of SLUB on a small machine: objects never overlap,
inuse + free == objects in every slab, every slab's pages are allocated in
the buddy allocator, and refused operations change nothing."""

import hypothesis.strategies as st
from conftest import examples
from hypothesis import settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, multiple, rule

from memlab import Machine, MemlabError, OutOfMemory, procfs
from memlab.slub import SLAB_HWCACHE_ALIGN


class SlubMachine(RuleBasedStateMachine):
    """Caches, objects and kmalloc buffers are Bundles: a failure shrinks to a
    short program of named caches and objects."""

    caches = Bundle("caches")
    objects = Bundle("objects")  # (cache, addr)
    buffers = Bundle("buffers")  # kmalloc addresses

    @initialize(debug=st.booleans(), cpus=st.sampled_from([1, 2, 8]))
    def setup(self, debug, cpus):
        self.m = Machine(ram="24MiB", cpus=cpus, slub_debug=debug)
        self.live = {}  # addr -> (cache or None for kmalloc, size)
        self.n = 0

    @rule(target=caches, size=st.integers(1, 3000), align=st.sampled_from([0, 8, 64]), hw=st.booleans())
    def create(self, size, align, hw):
        self.n += 1
        cache = self.m.kmem_cache_create(f"c{self.n}", size, align=align, flags=SLAB_HWCACHE_ALIGN if hw else 0)
        assert cache.size >= size and cache.size % cache.align == 0
        return cache

    @rule(target=objects, cache=caches, count=st.integers(1, 40))
    def alloc(self, cache, count):
        got = []
        for _ in range(count):
            try:
                addr = self.m.kmem_cache_alloc(cache)
            except OutOfMemory:
                break
            self.live[addr] = (cache, cache.object_size)
            got.append((cache, addr))
        return multiple(*got)

    @rule(obj=consumes(objects))
    def free(self, obj):
        cache, addr = obj
        self.m.kmem_cache_free(cache, addr)
        del self.live[addr]

    @rule(target=buffers, size=st.integers(1, 20000))
    def kmalloc(self, size):
        try:
            addr = self.m.kmalloc(size)
        except OutOfMemory:
            return multiple()
        assert self.m.ksize(addr) >= size
        self.live[addr] = (None, self.m.ksize(addr))
        return addr

    @rule(addr=consumes(buffers))
    def kfree(self, addr):
        self.m.kfree(addr)
        del self.live[addr]

    @rule(cache=caches)
    def shrink(self, cache):
        self.m.kmem_cache_shrink(cache)

    @rule(target=caches, cache=consumes(caches))
    def destroy(self, cache):
        live = any(c is cache for c, _ in self.live.values())
        before = procfs.slabinfo(self.m)
        try:
            self.m.kmem_cache_destroy(cache)
        except MemlabError:
            assert live and procfs.slabinfo(self.m) == before
            return cache  # still there: back into the bundle
        assert not live
        return multiple()

    @rule(obj=objects, delta=st.sampled_from([1, 3, -1]))
    def bad_free(self, obj, delta):
        cache, addr = obj
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
        spans = sorted((addr, addr + size) for addr, (_, size) in self.live.items())
        for (a0, a1), (b0, _) in zip(spans, spans[1:]):
            assert a1 <= b0, f"objects overlap: {a0:#x}-{a1:#x} and {b0:#x}"
        for cache in m.slub.caches:
            mine = sum(1 for c, _ in self.live.values() if c is cache)
            if not cache.name.startswith(("kmalloc", "dma-kmalloc")):
                assert cache.objects_in_use == mine


TestSlubMachine = SlubMachine.TestCase
TestSlubMachine.settings = settings(max_examples=examples(0.55), stateful_step_count=40)
