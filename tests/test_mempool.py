"""mempool rules (mm/mempool.c), fault injection, user-space pools, the heap."""

import pytest

import memlab
from memlab import BadFree, BadSize, Machine, OutOfMemory
from memlab.heap import Malloc, chunk_size
from memlab.mempool import BadPool, MempoolWaiter, ObjectPool, PoolExhausted, SizeClassPool


@pytest.fixture
def m():
    return Machine(ram="64MiB")


def test_create_prefills_min_nr(m):
    cache = m.kmem_cache_create("bio", 200)
    pool = m.mempool_create_slab_pool(8, cache)
    assert pool.curr_nr == pool.min_nr == 8 and cache.objects_in_use == 8
    kp = m.mempool_create_kmalloc_pool(3, 100)
    assert kp.curr_nr == 3 and m.slub.find_cache("kmalloc-128").objects_in_use == 3
    pp = m.mempool_create_page_pool(2, 1)
    assert all(isinstance(e, memlab.Page) and e.order == 1 for e in pp.elements)


def test_create_failure_leaves_nothing_behind(m):
    cache = m.kmem_cache_create("bio", 200)
    m.failslab.configure(probability=100, interval=5, ignore_gfp_reclaim=False)  # every 5th call fails
    with pytest.raises(OutOfMemory, match="pre-fill 4 of 8"):
        m.mempool_create_slab_pool(8, cache)
    assert cache.objects_in_use == 0


def test_alloc_prefers_backing_allocator_then_reserve(m):
    pool = m.mempool_create_kmalloc_pool(2, 64)
    a = m.mempool_alloc(pool, "GFP_NOIO")
    assert pool.curr_nr == 2 and pool.stats["from_backing"] == 1
    m.failslab.configure(probability=100, ignore_gfp_reclaim=False)
    b = m.mempool_alloc(pool, "GFP_NOIO")
    assert pool.curr_nr == 1 and pool.stats["from_reserve"] == 1
    assert pool.history[-1][1] == "reserve"
    assert a != b


def test_reserve_is_lifo(m):
    pool = m.mempool_create_kmalloc_pool(3, 64)
    reserve = list(pool.elements)
    m.failslab.configure(probability=100, ignore_gfp_reclaim=False)
    assert m.mempool_alloc(pool, "GFP_KERNEL") == reserve[-1]
    assert m.mempool_alloc(pool, "GFP_KERNEL") == reserve[-2]


def test_atomic_gets_null_kernel_sleeps(m):
    pool = m.mempool_create_kmalloc_pool(1, 64)
    m.failslab.configure(probability=100, ignore_gfp_reclaim=False)
    first = m.mempool_alloc(pool, "GFP_ATOMIC")
    assert first is not None and pool.curr_nr == 0
    assert m.mempool_alloc(pool, "GFP_ATOMIC") is None
    assert m.mempool_alloc(pool, "GFP_NOWAIT") is None
    waiter = m.mempool_alloc(pool, "GFP_NOIO", task="kworker/u4:2")
    assert isinstance(waiter, MempoolWaiter) and waiter.state == "waiting" and list(pool.wait) == [waiter]
    m.mempool_free(first, pool)  # refills the reserve and wakes the sleeper
    assert waiter.state == "done" and waiter.element == first
    assert pool.curr_nr == 0 and not pool.wait
    pool.check_invariants()


def test_second_round_uses_full_flags(m):
    # fault injection that spares allocations allowed to reclaim (ignore-gfp-wait=Y, the default):
    # mempool's first round has no __GFP_DIRECT_RECLAIM and fails, the retry with GFP_KERNEL succeeds
    pool = m.mempool_create_kmalloc_pool(0, 64)
    m.failslab.configure(probability=100)
    element = m.mempool_alloc(pool, "GFP_KERNEL")
    assert isinstance(element, int)
    assert [e for _, e, _ in pool.history][-2:] == ["backing_failed", "backing"]


def test_free_refills_reserve_before_backing(m):
    cache = m.kmem_cache_create("bio", 200)
    pool = m.mempool_create_slab_pool(2, cache)
    m.failslab.configure(probability=100, ignore_gfp_reclaim=False)
    a = m.mempool_alloc(pool, "GFP_NOIO")
    b = m.mempool_alloc(pool, "GFP_NOIO")
    m.failslab.disable()
    c = m.mempool_alloc(pool, "GFP_NOIO")  # from the backing allocator
    assert pool.curr_nr == 0 and cache.objects_in_use == 3
    m.mempool_free(c, pool)
    assert pool.curr_nr == 1 and cache.objects_in_use == 3  # kept in the reserve
    m.mempool_free(a, pool)
    m.mempool_free(b, pool)
    assert pool.curr_nr == 2 and cache.objects_in_use == 3 - 1  # the third went back to the cache
    with pytest.raises(BadFree, match="not an element handed out"):
        m.mempool_free(b, pool)


def test_resize_both_ways(m):
    pool = m.mempool_create_kmalloc_pool(4, 32)
    k32 = m.slub.find_cache("kmalloc-32")
    pool.resize(2)
    assert (pool.min_nr, pool.curr_nr, k32.objects_in_use) == (2, 2, 2)
    pool.resize(6)
    assert (pool.min_nr, pool.curr_nr, k32.objects_in_use) == (6, 6, 6)
    m.failslab.configure(probability=100, interval=3, ignore_gfp_reclaim=False)
    pool.resize(10)  # stops quietly when the backing allocator fails
    assert pool.min_nr == 10 and pool.curr_nr == 8
    with pytest.raises(BadPool):
        pool.resize(0)


def test_destroy_refuses_with_elements_out_and_frees_reserve(m):
    pool = m.mempool_create_page_pool(3, 0)
    free_before = m.nr_free_pages
    page = m.mempool_alloc(pool, "GFP_KERNEL")
    with pytest.raises(BadPool, match="1 element still handed out"):
        m.mempool_destroy(pool)
    m.mempool_free(page, pool)
    m.mempool_destroy(pool)
    assert m.nr_free_pages == free_before + 3
    with pytest.raises(BadPool, match="destroyed"):
        m.mempool_alloc(pool)


def test_bad_arguments(m):
    with pytest.raises(BadPool):
        m.mempool_create(-1, lambda g, d: 1, lambda e, d: None)
    with pytest.raises(BadPool):
        m.mempool_create(1, None, None)
    pool = m.mempool_create_kmalloc_pool(1, 16)
    with pytest.raises(BadPool, match="__GFP_ZERO"):
        m.mempool_alloc(pool, "GFP_KERNEL|__GFP_ZERO")
    with pytest.raises(memlab.BadGFP):
        m.mempool_alloc(pool, "GFP_SOMETIMES")
    m.mempool_free(None, pool)  # like the kernel: a no-op


def test_custom_alloc_fn_receives_gfp_and_pool_data(m):
    calls = []

    def alloc(gfp, data):
        calls.append((gfp, data))
        return len(calls)

    pool = m.mempool_create(2, alloc, lambda e, d: None, pool_data="ctx")
    assert pool.elements == [1, 2] and calls[0][1] == "ctx"
    m.mempool_alloc(pool, "GFP_NOIO")
    gfp = calls[-1][0]
    G = memlab.gfp.GFP
    assert not gfp & G["__GFP_DIRECT_RECLAIM"] and gfp & G["__GFP_NORETRY"] and gfp & G["__GFP_NOWARN"]


def test_fault_injection_interval_probability_times(m):
    fpa = m.fail_page_alloc.configure(probability=100, interval=3, times=2, ignore_gfp_reclaim=False, min_order=0)
    results = []
    for _ in range(10):
        try:
            m.alloc_pages(0)
            results.append("ok")
        except OutOfMemory as err:
            assert "fail_page_alloc" in str(err)
            results.append("fail")
    assert results == ["ok", "ok", "fail", "ok", "ok", "fail", "ok", "ok", "ok", "ok"]
    assert fpa.failures == 2
    draws = []
    for seed in (1, 1):
        m.fail_page_alloc.configure(probability=30, seed=seed, ignore_gfp_reclaim=False, min_order=0)
        draws.append([m.fail_page_alloc.should_fail(0, 1) for _ in range(200)])
    assert draws[0] == draws[1] and 30 < sum(draws[0]) < 90
    assert not m.fail_page_alloc.configure(min_order=1).should_fail(0, 1, order=0)  # default min_order


def test_object_pool():
    pool = ObjectPool(48, 4, base=0x1000)
    a, b = pool.allocate(), pool.allocate()
    assert (a, b) == (0x1000, 0x1030)
    pool.deallocate(a)
    assert pool.allocate() == a  # LIFO
    pool.allocate(), pool.allocate()
    with pytest.raises(PoolExhausted):
        pool.allocate()
    with pytest.raises(BadFree, match="not an object"):
        pool.deallocate(a + 8)
    pool.deallocate(b)
    with pytest.raises(BadFree, match="double free"):
        pool.deallocate(b)
    with pytest.raises(BadSize):
        ObjectPool(0, 4)


def test_size_class_pool_with_upstream():
    heap = Malloc()
    sp = SizeClassPool(classes=(16, 32, 64), objects_per_chunk=4, upstream=heap)
    xs = [sp.allocate(20) for _ in range(5)]  # class 32: two chunks
    assert len(sp.pools[32]) == 2 and sp.live_objects == 5
    big = sp.allocate(1000)
    assert big in heap.used
    for x in xs + [big]:
        sp.deallocate(x)
    assert sp.live_objects == 0 and not heap.used
    with pytest.raises(BadFree):
        sp.deallocate(12345)


def test_malloc_geometry_and_coalescing():
    assert [chunk_size(n) for n in (1, 24, 25, 40, 100)] == [32, 32, 48, 48, 112]
    h = Malloc()
    a, b, c = h.malloc(24), h.malloc(24), h.malloc(24)
    assert b - a == 32 and a == h.start + 16 and a % 16 == 0  # chunk2mem(): chunk + 2 * SIZE_SZ
    h.free(b)
    assert h.malloc(10) == b  # first fit reuses the hole
    h.free(a)
    h.free(b)
    h.free(c)
    h.check_invariants()
    assert h.stats()["free_chunks"] == 1  # all coalesced
    with pytest.raises(BadFree, match="double free"):
        h.free(a)


def test_pool_vs_malloc_figures():
    res = memlab.workloads.pool_vs_malloc(3000, seed=2)
    assert res["object pool"]["overhead_per_object"] == 0
    assert res["malloc"]["overhead_per_object"] > 8
    assert res["object pool"]["fragmentation"] == 0.0


from conftest import examples  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=examples(0.55))
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 5000), st.integers(0, 10**6)), max_size=120))
def test_malloc_chunks_tile_the_heap_and_coalesce(ops):
    h = Malloc()
    live = {}
    for is_alloc, size, pick in ops:
        if is_alloc or not live:
            addr = h.malloc(size)
            assert addr % 16 == 0 and addr not in live  # glibc: MALLOC_ALIGNMENT 16
            live[addr] = size
        else:
            addr = sorted(live)[pick % len(live)]
            del live[addr]
            h.free(addr)
        h.check_invariants()
        spans = sorted((a, a + chunk_size(s) - 8) for a, s in live.items())
        for (_a0, a1), (b0, _) in zip(spans, spans[1:]):
            assert a1 <= b0 - 8, "live chunks overlap"
    assert h.stats()["requested"] == sum(live.values())


def test_slab_pool_refuses_a_cache_with_a_constructor():
    m = Machine(ram="64MiB")
    cache = m.kmem_cache_create("with_ctor", 64, ctor=lambda addr: None)
    free = m.nr_free_pages
    with pytest.raises(BadPool, match="VM_BUG_ON"):
        m.mempool_create_slab_pool(4, cache)
    assert m.nr_free_pages == free and cache.objects_in_use == 0


def test_the_cpp_pools_build_and_pass_their_check_under_the_sanitizers():
    from memlab import native

    if native.compiler() is None or native.examples_dir() is None:
        pytest.skip("no g++ here, or memlab without its examples/")
    out = native.pool_check(sanitize=True)  # ASan and UBSan abort on any leak, overflow or UB
    assert out.startswith("check ok")
    bench = native.pool_benchmark(n=5000, rounds=2)
    assert list(bench) == [
        "new/delete",
        "FixedPool",
        "pmr::unsynchronized_pool_resource",
        "pmr::monotonic_buffer_resource",
    ]
    assert bench["new/delete"]["vs_new"] == 1.0
    for figures in bench.values():
        assert figures["ns_min"] <= figures["ns_per_op"] <= figures["ns_max"] and figures["ns_min"] > 0


def test_mempool_calls_refuse_non_pools_foreign_pools_and_look_alike_elements():
    m = memlab.Machine(ram="32MiB")
    other = memlab.Machine(ram="32MiB")
    pool = m.mempool_create_kmalloc_pool(2, 64)
    foreign = other.mempool_create_kmalloc_pool(2, 64)
    for bad in (None, 5, "pool", foreign):
        with pytest.raises(memlab.BadPool, match="not a mempool"):
            m.mempool_alloc(bad, "GFP_KERNEL")
    element = m.mempool_alloc(pool, "GFP_KERNEL")
    for look_alike in (float(element), [element]):
        with pytest.raises(memlab.BadFree):
            m.mempool_free(look_alike, pool)
    assert len(pool.outstanding) == 1  # the real element is still out, not lost
    m.mempool_free(element, pool)
    assert m.mempool_resize(pool, 1 << 20) == -12 and pool.min_nr == 2  # kmalloc_array fails: -ENOMEM
    with pytest.raises(memlab.BadPool, match="int"):
        m.mempool_resize(pool, 2**64)


def test_mempool_create_refuses_a_reserve_array_kmalloc_array_cannot_hold():
    m = memlab.Machine(ram="32MiB")
    free = m.nr_free_pages
    with pytest.raises(memlab.OutOfMemory, match="kmalloc_array"):
        m.mempool_create_kmalloc_pool(1 << 20, 64)  # 8 MiB of pointers: refused at once, not after filling RAM
    with pytest.raises(memlab.BadPool, match="int"):
        m.mempool_create_kmalloc_pool(2**40, 64)
    assert m.nr_free_pages == free


def test_malloc_pointers_are_16_byte_aligned_like_the_host_glibc():
    import ctypes
    import ctypes.util

    h = Malloc()
    ours = [h.malloc(n) for n in (1, 24, 25, 100, 1000)]
    assert all(p % 16 == 0 for p in ours)
    with pytest.raises(BadSize, match="PTRDIFF_MAX"):
        h.malloc(1 << 70)
    name = ctypes.util.find_library("c")
    if name is None:
        pytest.skip("no C library to compare with")
    libc = ctypes.CDLL(name)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    real = [libc.malloc(n) for n in (1, 24, 25, 100, 1000)]
    try:
        assert all(p % 16 == 0 for p in real)  # MALLOC_ALIGNMENT on x86-64
    finally:
        for p in real:
            libc.free(p)
