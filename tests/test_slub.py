"""SLUB and kmalloc: geometry against real kernels, lists, kmalloc classes, debug."""

from pathlib import Path

import pytest

import memlab
from memlab import BadFree, BadSize, Machine, procfs
from memlab.slub import (
    SLAB_HWCACHE_ALIGN,
    BadCache,
    SlabCorruption,
    calculate_order,
    kmalloc_index,
    order_objects,
)

DATA = Path(__file__).parent / "data"


def geometry_check(text, cpus):
    rows = procfs.parse_slabinfo(text)
    assert len(rows) > 50
    m = Machine(ram="64MiB", cpus=cpus)
    ours = procfs.parse_slabinfo(procfs.slabinfo(m))
    kmalloc_rows = [
        n
        for n in rows
        if (n.startswith(("kmalloc-", "dma-kmalloc-")) and n[-1].isdigit()) or (n[-1] == "k" and "kmalloc" in n)
    ]
    assert len(kmalloc_rows) >= 39
    for name in kmalloc_rows:
        if "rnd" in name:
            continue
        for key in ("objsize", "objperslab", "pagesperslab"):
            assert ours[name][key] == rows[name][key], (name, key)
    # every cache of the real kernel: SLUB's order for its object size
    for name, row in rows.items():
        order = calculate_order(row["objsize"], cpus)
        assert (1 << order, order_objects(order, row["objsize"])) == (row["pagesperslab"], row["objperslab"]), name


def test_geometry_matches_stored_real_slabinfo():
    geometry_check((DATA / "host_slabinfo_6.18_2cpu.txt").read_text(), cpus=2)


def test_geometry_matches_live_host_slabinfo():
    text = procfs.host_slabinfo()
    if text is None:
        pytest.skip("/proc/slabinfo not readable (needs root)")
    import os

    geometry_check(text, cpus=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2)


def test_design_examples_two_cpus():
    m = Machine(ram="64MiB", cpus=2)
    c = {x.name: x for x in m.slub.caches}
    assert (c["kmalloc-96"].objperslab, c["kmalloc-96"].pagesperslab) == (42, 1)
    assert (c["kmalloc-1k"].objperslab, c["kmalloc-1k"].pagesperslab) == (16, 4)
    assert (c["kmalloc-8k"].objperslab, c["kmalloc-8k"].pagesperslab) == (4, 8)


def test_cpu_count_changes_geometry():
    # min_objects = 4 * (fls(cpus) + 1): 8 with one CPU, 24 with 64 CPUs
    one = {x.name: x for x in Machine(ram="64MiB", cpus=1).slub.caches}
    many = {x.name: x for x in Machine(ram="64MiB", cpus=64).slub.caches}
    assert one["kmalloc-512"].pagesperslab == 1 and many["kmalloc-512"].pagesperslab == 4
    assert one["kmalloc-1k"].pagesperslab == 2 and many["kmalloc-1k"].pagesperslab == 8


def test_slabinfo_golden_header_and_row():
    m = Machine(ram="64MiB", cpus=2)
    c = m.kmem_cache_create("my_cache", 100)
    objs = [m.kmem_cache_alloc(c) for _ in range(3)]
    text = procfs.slabinfo(m)
    lines = text.splitlines()
    assert lines[0] == "slabinfo - version: 2.1"
    assert lines[1] == (
        "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : "
        "tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> "
        "<sharedavail>"
    )
    # newest cache first; the CPU slab's free objects count as active, as in the kernel
    assert lines[2] == (
        "my_cache              39     39    104   39    1 : tunables    0    0    0 : slabdata      1      1      0"
    )
    assert lines[-1].startswith("kmalloc-96             0      0     96   42    1 : tunables    0    0    0")
    assert objs[1] - objs[0] == 104


def test_slabinfo_format_matches_real_file():
    text = (DATA / "host_slabinfo_6.18_2cpu.txt").read_text()
    rebuilt = "".join(
        procfs.slabinfo_row(
            name,
            r["active_objs"],
            r["num_objs"],
            r["objsize"],
            r["objperslab"],
            r["pagesperslab"],
            r["active_slabs"],
            r["num_slabs"],
        )
        for name, r in procfs.parse_slabinfo(text).items()
    )
    assert procfs.SLABINFO_HEADER + rebuilt == text


def test_sizes_alignment_and_ctor_offset():
    m = Machine(ram="64MiB")
    a = m.kmem_cache_create("odd", 13)
    assert (a.object_size, a.size, a.align, a.offset) == (13, 16, 8, 0)
    b = m.kmem_cache_create("aligned", 20, flags=SLAB_HWCACHE_ALIGN)
    assert b.size == 32 and b.align == 32  # hardware cache line halved while size fits
    c = m.kmem_cache_create("with_ctor", 64, ctor=lambda addr: None)
    assert c.size == 72 and c.offset == 64  # free pointer moved after the object
    d = m.kmem_cache_create("align256", 100, align=256)
    assert d.size == 256


def test_ctor_runs_once_per_object_when_slab_is_populated():
    m = Machine(ram="64MiB")
    seen = []
    c = m.kmem_cache_create("ctor_cache", 512, ctor=seen.append)
    first = m.kmem_cache_alloc(c)
    assert len(seen) == c.objperslab and first == seen[0]
    m.kmem_cache_free(c, first)
    m.kmem_cache_alloc(c)
    assert len(seen) == c.objperslab  # reuse does not run the constructor again


def test_freelist_is_lifo_and_objects_are_sequential():
    m = Machine(ram="64MiB")
    c = m.kmem_cache_create("lifo", 64)
    a, b, d = (m.kmem_cache_alloc(c) for _ in range(3))
    assert b - a == 64 and d - b == 64
    m.kmem_cache_free(c, a)
    m.kmem_cache_free(c, d)
    assert m.kmem_cache_alloc(c) == d and m.kmem_cache_alloc(c) == a


def test_slabs_come_from_the_buddy_allocator():
    m = Machine(ram="64MiB")
    c = m.kmem_cache_create("big_objects", 2048)
    before = m.nr_free_pages
    objs = [m.kmem_cache_alloc(c) for _ in range(c.objperslab + 1)]
    assert m.nr_free_pages == before - 2 * c.pagesperslab
    slab = c.cpu_slab
    zone = m.zone_of_pfn(slab.page.pfn)
    assert zone.allocated_order(slab.page.pfn) == c.order
    assert len(c.full) == 1 and not c.partial
    for o in objs:
        m.kmem_cache_free(c, o)
    assert m.kmem_cache_shrink(c) == 2 * c.pagesperslab
    assert m.nr_free_pages == before
    m.slub.check_invariants()


def test_full_becomes_partial_and_empty_slabs_beyond_min_partial_are_freed():
    m = Machine(ram="256MiB")
    c = m.kmem_cache_create("lists", 1024)  # 16 per 4-page slab; min_partial 5
    per = c.objperslab
    objs = [m.kmem_cache_alloc(c) for _ in range(per * 9)]
    assert len(c.full) == 8 and c.cpu_slab.inuse == per
    m.kmem_cache_free(c, objs[0])  # a full slab gets a free object
    assert len(c.partial) == 1 and len(c.full) == 7 and c.partial[0].state == "partial"
    pages_before = m.nr_free_pages
    for slab_no in range(8):  # empty the first 8 slabs completely
        for o in objs[slab_no * per : (slab_no + 1) * per]:
            if o != objs[0]:
                m.kmem_cache_free(c, o)
    assert c.min_partial == 5
    # __slab_free() discards an empty slab once nr_partial (counting itself) reaches
    # min_partial: slabs 0-3 stay as empty partial slabs, slabs 4-7 go back to the zone
    assert len(c.partial) == 4 and all(s.inuse == 0 for s in c.partial)
    assert m.nr_free_pages == pages_before + 4 * c.pagesperslab
    m.slub.check_invariants()


def test_kmalloc_size_classes():
    m = Machine(ram="64MiB")
    cases = {
        1: "kmalloc-8",
        8: "kmalloc-8",
        9: "kmalloc-16",
        65: "kmalloc-96",
        96: "kmalloc-96",
        97: "kmalloc-128",
        129: "kmalloc-192",
        193: "kmalloc-256",
        1000: "kmalloc-1k",
        4097: "kmalloc-8k",
        8192: "kmalloc-8k",
    }
    for size, name in cases.items():
        assert m.slub.kmalloc_cache_for(size).name == name
        addr = m.kmalloc(size)
        assert m.ksize(addr) == int(name.split("-")[1].replace("k", "")) * (1024 if name.endswith("k") else 1)
    assert m.slub.kmalloc_cache_for(100, "GFP_DMA").name == "dma-kmalloc-128"
    assert m.slub.kmalloc_cache_for(100, "GFP_KERNEL_ACCOUNT").name == "kmalloc-cg-128"
    assert m.slub.kmalloc_cache_for(100, "GFP_KERNEL|__GFP_RECLAIMABLE").name == "kmalloc-rcl-128"
    assert kmalloc_index(96) == 1 and kmalloc_index(192) == 2 and kmalloc_index(8192) == 13


def test_dma_kmalloc_slabs_live_in_zone_dma():
    m = Machine(ram="64MiB")
    addr = m.kmalloc(64, "GFP_DMA")
    assert m.zone_of_pfn((addr - memlab.layout.PAGE_OFFSET) >> 12).name == "DMA"


def test_large_kmalloc_uses_pages_and_fails_above_4mib():
    m = Machine(ram="64MiB")
    free = m.nr_free_pages
    addr = m.kmalloc(20000)  # order 3
    assert m.ksize(addr) == 32768 and m.nr_free_pages == free - 8
    m.kfree(addr)
    assert m.nr_free_pages == free
    m.kmalloc(4 << 20)
    with pytest.raises(BadSize, match="MAX_PAGE_ORDER"):
        m.kmalloc((4 << 20) + 1)


@pytest.mark.parametrize("bad", [0, -5, 1.5, "8"])
def test_kmalloc_bad_sizes(bad):
    m = Machine(ram="64MiB")
    with pytest.raises(BadSize):
        m.kmalloc(bad)


def test_bad_frees_leave_everything_unchanged():
    m = Machine(ram="64MiB")
    a = m.kmem_cache_create("a", 64)
    b = m.kmem_cache_create("b", 64)
    x = m.kmem_cache_alloc(a)
    k = m.kmalloc(64)

    def refused(call, match):
        before = (procfs.slabinfo(m), procfs.buddyinfo(m))
        with pytest.raises(BadFree, match=match):
            call()
        assert (procfs.slabinfo(m), procfs.buddyinfo(m)) == before
        m.slub.check_invariants()

    refused(lambda: m.kmem_cache_free(b, x), "Wrong slab cache. b but object is from a")
    refused(lambda: m.kmem_cache_free(a, x + 8), "not the start of an object")
    refused(lambda: m.kfree(0x1234), "not in any slab")
    refused(lambda: m.kfree(x), "not from kmalloc")
    m.kfree(k)
    refused(lambda: m.kfree(k), "double free")
    m.kmem_cache_free(a, x)
    refused(lambda: m.kmem_cache_free(a, x), "double free")


def test_destroy_refuses_with_kernel_message():
    m = Machine(ram="64MiB")
    c = m.kmem_cache_create("dying", 128)
    x = m.kmem_cache_alloc(c)
    with pytest.raises(BadCache, match="kmem_cache_destroy dying: Slab cache still has objects"):
        m.kmem_cache_destroy(c)
    assert "Slab cache still has objects" in m.dmesg()
    m.kmem_cache_free(c, x)
    free = m.nr_free_pages
    m.kmem_cache_destroy(c)
    assert m.nr_free_pages == free + c.pagesperslab
    assert "dying" not in procfs.slabinfo(m)
    with pytest.raises(BadCache):
        m.kmem_cache_alloc(c)
    with pytest.raises(BadCache, match="already exists"):
        m.kmem_cache_create("kmalloc-64", 64)


@pytest.mark.parametrize("args", [("", 8), ("x", 0), ("x", -1), ("x", 8, 3), ("x y", 8)])
def test_create_rejects_bad_arguments(args):
    with pytest.raises(BadCache):
        Machine(ram="64MiB").kmem_cache_create(*args)


def test_slub_debug_layout_and_poison():
    m = Machine(ram="64MiB", slub_debug="FZP")
    c = m.slub.find_cache("kmalloc-32")
    assert (c.object_size, c.inuse, c.offset, c.red_left_pad, c.size) == (32, 40, 40, 8, 64)
    addr = m.kmalloc(32)
    assert m.read(addr - 8, 8) == b"\xcc" * 8  # left red zone, active
    assert m.read(addr, 32) == b"\x6b" * 31 + b"\xa5"  # POISON_FREE ... POISON_END
    assert m.read(addr + 32, 8) == b"\xcc" * 8  # right red zone
    m.kfree(addr)
    assert m.read(addr + 32, 8) == b"\xbb" * 8  # inactive after free


def test_slub_debug_catches_overflow_with_kernel_report():
    m = Machine(ram="64MiB", slub_debug="FZP")
    addr = m.kmalloc(32)
    m.memset(addr, 0x41, 40)  # 8 bytes too many
    with pytest.raises(SlabCorruption) as err:
        m.kfree(addr)
    report = err.value.report
    lines = report.splitlines()
    assert lines[0] == "=" * 77
    assert lines[1] == "BUG kmalloc-32 (Not tainted): Right Redzone overwritten"
    assert lines[2] == "-" * 77
    assert f"0x{addr + 32:016x}-0x{addr + 39:016x}" in lines[4]
    assert lines[4].endswith("First byte 0x41 instead of 0xcc")
    assert any(line.startswith("FIX kmalloc-32: Restoring Right Redzone") for line in lines)
    assert report in m.dmesg()
    assert m.ksize(addr) == 32  # the object was not freed


def test_slub_debug_catches_use_after_free():
    m = Machine(ram="64MiB", slub_debug=True)
    c = m.kmem_cache_create("victim", 48)
    addr = m.kmem_cache_alloc(c)
    m.kmem_cache_free(c, addr)
    m.write(addr + 4, b"\x00\x01")  # write after free
    with pytest.raises(SlabCorruption, match="Poison overwritten"):
        m.kmem_cache_alloc(c)  # the next allocation checks it
    c2 = c.cpu_slab
    assert c2.inuse == 0 and addr in [c2.object_address(i) for i in c2.freelist]


def test_internal_fragmentation_stats():
    m = Machine(ram="64MiB")
    for size in (65, 70, 96):
        m.kmalloc(size)
    asked, used = m.slub.cache_stats(m.slub.find_cache("kmalloc-96"))
    assert (asked, used) == (231, 288)


def test_free_of_slab_tail_leftover_is_refused():
    m = Machine(ram="64MiB")
    c = m.kmem_cache_create("leftover", 1000)  # 16 objects in 4 pages: 384 bytes left over
    x = m.kmem_cache_alloc(c)
    slab = c.cpu_slab
    beyond = slab.obj0 + slab.objects * c.size
    assert (beyond - slab.base) < (4096 << c.order)
    with pytest.raises(BadFree, match="not the start of an object"):
        m.kmem_cache_free(c, beyond)
    m.kmem_cache_free(c, x)


def test_bare_slub_debug_means_fzpu_with_track_space():
    # setup_slub_debug(): a bare "slub_debug" is DEBUG_DEFAULT_FLAGS = F Z P U
    from memlab.slub import SLAB_CONSISTENCY_CHECKS, SLAB_STORE_USER, TRACK_SIZE

    c = Machine(ram="64MiB", slub_debug=True).slub.find_cache("kmalloc-32")
    assert c.flags & SLAB_CONSISTENCY_CHECKS and c.flags & SLAB_STORE_USER
    # calculate_sizes(): 32 + right red zone 8 (inuse 40) + free pointer 8 (48) + two tracks of 32
    # + the kmalloc request size 4 (116) + red zone word 8 + left red zone 8 (132), aligned to 8
    assert TRACK_SIZE == 32
    assert (c.inuse, c.offset, c.red_left_pad, c.size) == (40, 40, 8, 136)
    assert (c.info_end, c.pad_start, c.size_from_object) == (48, 116, 128)
    plain = Machine(ram="64MiB", slub_debug="ZP").slub.find_cache("kmalloc-32")
    assert plain.size == 64 and plain.pad_start == plain.size_from_object - 8


def test_object_checks_run_only_with_consistency_checks():
    for letters, caught in (("ZP", False), ("FZP", True)):
        m = Machine(ram="64MiB", slub_debug=letters)
        addr = m.kmalloc(32)
        m.memset(addr, 0x41, 40)  # 8 bytes past the object: the right red zone
        if caught:
            with pytest.raises(SlabCorruption, match="Right Redzone overwritten"):
                m.kfree(addr)
        else:
            m.kfree(addr)  # free_debug_processing() without F: no check, the object is re-poisoned
            assert m.read(addr + 32, 8) == b"\xbb" * 8 and m.dmesg() == ""


def test_report_padding_end_poison_and_frozen_slab():
    m = Machine(ram="64MiB", slub_debug=True)
    c = m.kmem_cache_create("victim", 48)
    keep = m.kmem_cache_alloc(c)
    addr = m.kmem_cache_alloc(c)
    m.kmem_cache_free(c, addr)
    m.write(addr + 47, b"\x00")  # the last byte: POISON_END
    with pytest.raises(SlabCorruption, match="End Poison overwritten") as err:
        m.kmem_cache_alloc(c)
    lines = err.value.report.splitlines()
    slab_line = next(line for line in lines if line.startswith("Slab "))
    assert f"objects={c.objperslab} used={c.objperslab} " in slab_line  # a frozen CPU slab: inuse == objects
    assert any(line.startswith("Padding  ") for line in lines) == (c.pad_start != c.size_from_object)
    m.kmem_cache_free(c, keep)
    fzp = Machine(ram="64MiB", slub_debug="FZP")
    buf = fzp.kmalloc(32)
    k32 = fzp.slub.find_cache("kmalloc-32")
    assert (k32.pad_start, k32.size_from_object) == (48, 56)  # object 32, red zone 8, free pointer 8, then padding
    fzp.write(buf + k32.pad_start, b"!")
    with pytest.raises(SlabCorruption, match="Object padding overwritten") as err:
        fzp.kfree(buf)
    assert any(line.startswith("Padding  ") for line in err.value.report.splitlines())


def test_kzalloc_zeroes_the_whole_object_and_krealloc_follows_ksize():
    m = Machine(ram="64MiB")
    dirty = m.kmalloc(100)
    m.write(dirty, b"\xff" * 128)
    m.kfree(dirty)
    z = m.kzalloc(100)
    assert z == dirty and m.read(z, 128) == bytes(128)  # the same object, zeroed up to ksize
    m.write(z, b"abc")
    assert m.krealloc(z, 128) == z  # still fits ksize(): same pointer, never shrinks
    assert m.krealloc(z, 16) == z
    m.write(z + 100, b"\xee" * 28)
    assert m.krealloc(z, 100, "GFP_KERNEL | __GFP_ZERO") == z and m.read(z + 100, 28) == bytes(28)
    moved = m.krealloc(z, 129)
    assert moved != z and m.read(moved, 3) == b"abc" and m.ksize(moved) == 192
    with pytest.raises(memlab.BadFree):
        m.ksize(z)  # the old object was freed
    assert m.krealloc(None, 10) is not None
    assert m.krealloc(moved, 0) == 0x10  # ZERO_SIZE_PTR
    with pytest.raises(memlab.BadSize):
        m.krealloc(None, -1)


def test_kvmalloc_prefers_kmalloc_and_falls_back_to_vmalloc():
    from memlab.layout import VMALLOC_START

    m = Machine(ram="64MiB")
    small = m.kvmalloc(100)
    assert small < VMALLOC_START and m.ksize(small) == 128
    mid = m.kvmalloc(64 << 10)
    assert mid < VMALLOC_START and m.ksize(mid) == 64 << 10  # an order-4 block
    big = m.kvmalloc(6 << 20)  # above MAX_PAGE_ORDER: kmalloc fails, vmalloc serves
    assert big >= VMALLOC_START
    assert m.kvmalloc(6 << 20, "GFP_ATOMIC") is None  # vmalloc may sleep: no fallback
    free_before = m.nr_free_pages
    for addr in (small, mid, big):
        m.kvfree(addr)
    assert m.nr_free_pages > free_before and not m.kernel.vmap_areas


def test_explain_geometry_shows_the_fraction_fallback_of_calculate_order():
    m = Machine(ram="64MiB", cpus=2)
    steps = m.kmem_cache_create("task_struct", 4224).explain_geometry()
    assert any("at most 1/16 left over: no order from 3" in s and "3200 > 2048" in s for s in steps)
    assert steps[-1].endswith("at most 1/8 of the slab (4096 bytes) may be left over.")
    steps = m.kmem_cache_create("dentry", 192).explain_geometry()
    assert not any("relaxes" in s for s in steps) and "1/16" in steps[-1]


def test_kmem_cache_alloc_checks_its_cache_and_gfp_before_touching_the_cpu_slab():
    m = Machine(ram="64MiB")
    other = Machine(ram="64MiB")
    cache = m.kmem_cache_create("x", 100)
    foreign = other.kmem_cache_create("x", 100)
    m.kmem_cache_alloc(cache)  # a CPU slab with free objects
    for bad in (None, "x", 5, foreign):
        with pytest.raises(memlab.BadCache):
            m.kmem_cache_alloc(bad)
    before = procfs.slabinfo(m)
    with pytest.raises(memlab.BadGFP):
        m.kmem_cache_alloc(cache, "GFP_NOPE")  # refused although the CPU slab could serve it
    assert procfs.slabinfo(m) == before and foreign.objects_in_use == 0
