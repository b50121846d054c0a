"""Kernel facts of the buddy allocator (mm/page_alloc.c, mm/vmstat.c)."""

import pytest

import memlab
from memlab import BadFree, BadOrder, MemlabError, OutOfMemory, Page, Zone, buddy_pfn


def snapshot(zone):
    return ([zone.free_area[o].free_list for o in range(11)], sorted(zone.allocated_blocks()), zone.nr_free_pages)


def test_constants():
    assert memlab.MAX_PAGE_ORDER == 10
    assert memlab.PAGE_SIZE == 4096
    assert memlab.NR_PAGE_ORDERS == 11


def test_buddy_pfn():
    assert buddy_pfn(8, 1) == 10
    assert buddy_pfn(10, 1) == 8
    assert buddy_pfn(8, 3) == 0
    assert buddy_pfn(0, 10) == 1024


def test_boot_free_lists_use_largest_aligned_blocks():
    # Like the x86 DMA zone: PFN 0 is reserved, the zone starts at PFN 1.
    z = Zone("DMA", 4095, start_pfn=1)
    assert [z.free_area[o].nr_free for o in range(11)] == [1] * 10 + [3]
    assert z.free_area[0].free_list == [1]
    assert z.free_area[9].free_list == [512]
    assert z.free_area[10].free_list == [1024, 2048, 3072]  # boot frees go to the tail: ascending
    assert z.nr_free_pages == 4095
    z.check_invariants()


def test_split_order3_for_order0_leaves_one_block_per_lower_order():
    z = Zone("Normal", 8)
    page = z.alloc_pages(0)
    assert (page.pfn, page.order) == (0, 0)
    # the upper halves 4, 2, 1 went back to orders 2, 1, 0; the lowest PFN was returned
    assert z.free_area[2].free_list == [4]
    assert z.free_area[1].free_list == [2]
    assert z.free_area[0].free_list == [1]
    assert z.free_area[3].nr_free == 0
    assert z.nr_free_pages == 7


def test_rmqueue_smallest_takes_head_of_smallest_nonempty_list():
    z = Zone("Normal", 64)
    a = z.alloc_pages(3)  # splits the order-6 block: 0..7 returned
    assert a.pfn == 0
    b = z.alloc_pages(3)  # order-3 list has pfn 8 (upper half of 0..15)
    assert b.pfn == 8
    c = z.alloc_pages(1)  # order-1 empty, order-2 empty, order-3 empty -> takes 16 from order 4
    assert c.pfn == 16
    assert z.free_area[1].free_list == [18]


def test_expand_puts_halves_at_head():
    z = Zone("Normal", 32)
    z.alloc_pages(4)  # pfn 0; 16..31 at order 4
    x = z.alloc_pages(2)  # 16; 24 at order 3, 20 at order 2
    assert x.pfn == 16
    y = z.alloc_pages(3)  # 24
    z.free_pages(y, 3)  # buddy 16 not free -> tail or head? parent 16's buddy 0 not free -> head
    assert z.free_area[3].free_list == [24]
    z.alloc_pages(0)  # takes 20 from order 2 -> 21 (o0), 22 (o1) at heads
    assert z.free_area[0].free_list == [21]
    assert z.free_area[1].free_list == [22]


def test_free_merges_with_free_buddies_upward():
    z = Zone("Normal", 16)
    pages = [z.alloc_pages(0) for _ in range(16)]
    assert sorted(p.pfn for p in pages) == list(range(16))
    assert z.nr_free_pages == 0
    for p in pages:
        z.free_pages(p, 0)
    assert [z.free_area[o].nr_free for o in range(11)] == [0, 0, 0, 0, 1] + [0] * 6
    assert z.free_area[4].free_list == [0]
    z.check_invariants()


def test_free_to_tail_when_buddy_merge_likely():
    z = Zone("Normal", 16)
    a = z.alloc_pages(0)  # 0 ; free: 1(o0) 2(o1) 4(o2) 8(o3)
    b = z.alloc_pages(0)  # 1
    c = z.alloc_pages(0)  # 2 ; 3 at o0
    d = z.alloc_pages(0)  # 3
    e = z.alloc_pages(0)  # 4 ; 5 (o0) 6 (o1)
    assert [p.pfn for p in (a, b, c, d, e)] == [0, 1, 2, 3, 4]
    # free 2: buddy 3 allocated -> no merge. Parent (2..3)'s buddy is 0..1: not free -> head.
    z.free_pages(c, 0)
    assert z.free_area[0].free_list == [2, 5]
    # free 0: buddy 1 allocated; parent 0..1's buddy 2..3 is not free at order 1 -> head
    z.free_pages(a, 0)
    assert z.free_area[0].free_list == [0, 2, 5]
    # free 4: buddy 5 free -> merge to 4 (o1); buddy 6 free at o1 -> merge to 4 (o2); buddy 0 not free at o2.
    # parent 0..7's buddy 8 is free at order 3 -> buddy_merge_likely -> tail
    z.alloc_pages(1)  # take 6 (o1) first so that merging stops at order 1
    z.free_pages(e, 0)
    rec = z.trail[-1]
    assert rec[:4] == ("free", 4, 0, 1)
    assert rec[4] is False  # parent 4..7's buddy 0..3 is not free at order 2 -> head
    z.check_invariants()


def test_buddy_merge_likely_tail_placement():
    z = Zone("Normal", 16)
    a = z.alloc_pages(0)  # 0 ; free 1(o0), 2(o1), 4(o2), 8(o3)
    b = z.alloc_pages(0)  # 1
    c = z.alloc_pages(1)  # 2
    z.alloc_pages(0)  # 4 ; free 5(o0) 6(o1)
    # free 1: buddy 0 allocated -> stays order 0 at pfn 1; parent (0..1) buddy is 2..3: allocated -> head
    z.free_pages(b, 0)
    assert z.trail[-1] == ("free", 1, 0, 0, False)
    z.free_pages(c, 1)
    # free 2 at order 1: buddy 0 not free at order 1 (0 is allocated) -> stays; parent 0..3's buddy 4..7 is
    # not free at order 2 -> head
    assert z.trail[-1] == ("free", 2, 1, 1, False)
    z.free_pages(a, 0)
    # free 0: buddy 1 free -> 0 (o1); buddy 2 free at o1 -> 0 (o2); buddy 4 not free at o2. Parent 0..7's
    # buddy 8 is free at order 3 -> tail
    assert z.trail[-1] == ("free", 0, 0, 2, True)
    assert z.free_area[2].free_list[-1] == 0


def test_order_too_large_explains_vmalloc_and_cma():
    z = Zone("Normal", 4096)
    before = snapshot(z)
    with pytest.raises(BadOrder) as err:
        z.alloc_pages(11)
    msg = str(err.value)
    assert "order 11 exceeds MAX_PAGE_ORDER 10" in msg
    assert "vmalloc" in msg and "CMA" in msg and "8 MiB" in msg
    assert isinstance(err.value, MemlabError)
    assert snapshot(z) == before


@pytest.mark.parametrize("bad", [-1, 1.0, "3", None, True])
def test_bad_order_values(bad):
    z = Zone("Normal", 64)
    with pytest.raises(BadOrder):
        z.alloc_pages(bad)


def test_out_of_memory_names_fragmentation_and_leaves_zone_unchanged():
    z = Zone("Normal", 8)
    pages = [z.alloc_pages(0) for _ in range(8)]
    z.free_pages(pages[0], 0)
    z.free_pages(pages[2], 0)
    before = snapshot(z)
    with pytest.raises(OutOfMemory) as err:
        z.alloc_pages(1)
    assert "external fragmentation" in str(err.value)
    assert snapshot(z) == before
    with pytest.raises(OutOfMemory) as err:
        z.alloc_pages(3)
    assert "only 2 pages are free" in str(err.value)


def test_double_free_is_reported_and_zone_unchanged():
    z = Zone("Normal", 16)
    p = z.alloc_pages(0)
    q = z.alloc_pages(0)
    z.free_pages(p, 0)
    before = snapshot(z)
    with pytest.raises(BadFree, match="double free of pfn 0"):
        z.free_pages(p, 0)
    assert snapshot(z) == before
    z.check_invariants()
    z.free_pages(q, 0)
    z.check_invariants()


def test_wrong_order_free_is_reported():
    z = Zone("Normal", 16)
    p = z.alloc_pages(2)
    before = snapshot(z)
    with pytest.raises(BadFree, match="allocated with order 2 but freed with order 1"):
        z.free_pages(p, 1)
    assert snapshot(z) == before


def test_free_inside_block_and_never_allocated():
    z = Zone("Normal", 64)
    z.alloc_pages(3)  # 0..7
    with pytest.raises(BadFree, match="inside the order-3 block that starts at pfn 0"):
        z.free_pages(4, 0)
    with pytest.raises(BadFree, match="outside zone"):
        z.free_pages(640, 0)
    with pytest.raises(BadFree, match="neither a Page nor a PFN"):
        z.free_pages("0", 0)
    with pytest.raises(BadOrder):
        z.free_pages(0, 11)
    z2 = Zone("Normal", 64)
    z2.alloc_pages(0)
    z2.free_pages(0, 0)
    z2.alloc_pages(5)  # 0..31
    z2.free_pages(0, 5)
    with pytest.raises(BadFree, match="already free"):
        z2.free_pages(40, 0)


def test_free_accepts_pfn_int():
    z = Zone("Normal", 16)
    p = z.alloc_pages(1)
    z.free_pages(p.pfn, 1)
    assert z.nr_free_pages == 16


def test_fragmentation_index_kernel_examples():
    z = Zone("Normal", 8)
    pages = [z.alloc_pages(0) for _ in range(8)]
    for p in pages[::2]:
        z.free_pages(p, 0)  # 4 free order-0 pages: 0, 2, 4, 6
    assert z.fragmentation_index(2) == 500  # 1000 - (1000 + 4*1000/4)/4
    assert z.fragmentation_index(1) == 1000 - (1000 + 4 * 1000 // 2) // 4
    assert z.fragmentation_index(0) == -1000  # a suitable block exists
    assert z.unusable_index(0) == 0
    assert z.unusable_index(1) == 1000
    info = z.contig_page_info(1)
    assert (info.free_pages, info.free_blocks_total, info.free_blocks_suitable) == (4, 4, 0)


def test_fragmentation_index_edge_cases():
    z = Zone("Normal", 4)
    full = [z.alloc_pages(0) for _ in range(4)]
    assert z.fragmentation_index(0) == 0  # no free blocks at all
    assert z.unusable_index(3) == 1000  # no free memory: all unusable
    z.free_pages(full[0], 0)
    z.free_pages(full[1], 0)  # merged: one order-1 block
    assert z.unusable_index(1) == 0
    assert z.unusable_index(2) == 1000
    assert z.fragmentation_index(2) == 1000 - (1000 + 2 * 1000 // 4) // 1


def test_explain_alloc_and_free_in_words():
    z = Zone("Normal", 16)
    p = z.alloc_pages(0)
    steps = z.explain()
    assert any("order-4 block at pfn 0 split: upper half pfn 8-15 goes to the head of free_area[3]" in s for s in steps)
    assert steps[-1].startswith("Returned pfn 0")
    z.free_pages(p, 0)
    steps = z.explain()
    assert "Buddy pfn 1 is free at order 0" in steps[1]
    assert any("lies outside zone Normal" in s for s in steps)


def test_page_map():
    z = Zone("Normal", 16)
    z.alloc_pages(0)
    m = z.page_map()
    assert m.tolist() == [255, 0, 1, 1, 2, 2, 2, 2] + [3] * 8


def test_reset():
    z = Zone("Normal", 32)
    z.alloc_pages(2)
    z.reset()
    assert z.free_area[5].free_list == [0]
    assert not z.allocated_blocks()
    assert not z.trail


def test_stale_entries_are_swept():
    # Merges leave stale entries in the list deques; the periodic sweep must
    # keep their number bounded however long the zone churns.
    from memlab.page_alloc.buddy import _SWEEP_EVERY

    z = Zone("Normal", 1 << 12, core="python")  # the Python core's own bookkeeping
    live = []
    peak = 0
    for i in range(120000):
        if i % 2 == 0 and z.nr_free_pages:
            live.append(z.alloc_pages(0))
        elif live:
            z.free_pages(live.pop(len(live) // 2), 0)
        if i % 1000 == 0:
            peak = max(peak, sum(len(fl) for fl in z._tail))
    z.check_invariants()
    assert peak < 2 * 4096 + 11 * 64 + 10 * _SWEEP_EVERY
    z._sweep()
    assert all(len(z._tail[o]) <= len(z._mem[o]) for o in range(11))
    for p in live:
        z.free_pages(p, 0)
    assert z.free_area[10].nr_free == 4


def test_compaction_suitable_skips_when_memory_is_short_whatever_the_index():
    from memlab.page_alloc import COMPACT_SKIPPED, compaction_suitable

    z = Zone("Normal", 4096)
    pages = [z.alloc_pages(0) for _ in range(4096)]
    for p in pages[::4]:  # 1024 single pages free: index high, but not more than 2 << 9
        z.free_pages(p, 0)
    assert z.nr_free_pages == 1024 and z.fragmentation_index(9) > 900
    verdict = compaction_suitable(z, 9)
    assert verdict.result == COMPACT_SKIPPED and not verdict.suitable
    assert verdict.fragindex is None and verdict.needed == 1025
    assert "1024 pages free" in str(verdict) and "compact_gap(order 9) 1024" in str(verdict)
    z.free_pages(pages[1], 0)  # one more page: now more than 1024
    assert compaction_suitable(z, 9).suitable


def test_compaction_suitable_reads_the_index_for_costly_orders_only():
    from memlab.page_alloc import COMPACT_CONTINUE, COMPACT_NOT_SUITABLE_ZONE, compaction_suitable

    z = Zone("Normal", 128)
    blocks = [z.alloc_pages(3) for _ in range(16)]
    for p in blocks[::2][:5]:  # five order-3 blocks free, no two of them buddies: 40 pages
        z.free_pages(p, 3)
    assert z.nr_free_pages == 40 and z.fragmentation_index(4) == 1000 - (1000 + 40 * 1000 // 16) // 5 == 300
    verdict = compaction_suitable(z, 4)  # 40 > 2 << 4, but index 300 <= 500: lack of memory
    assert (verdict.result, verdict.suitable, verdict.fragindex) == (COMPACT_NOT_SUITABLE_ZONE, False, 300)
    assert compaction_suitable(z, 4, extfrag_threshold=299).result == COMPACT_CONTINUE
    small = compaction_suitable(z, 3)  # not costly: always compacted, index not read
    assert small.result == COMPACT_CONTINUE and small.fragindex is None

    z = Zone("Normal", 128)
    pages = [z.alloc_pages(0) for _ in range(128)]
    for p in pages[::2]:
        z.free_pages(p, 0)  # 64 single pages
    verdict = compaction_suitable(z, 4)
    assert verdict.result == COMPACT_CONTINUE and verdict.fragindex == 1000 - (1000 + 64 * 1000 // 16) // 64
    with pytest.raises(memlab.BadSize, match="extfrag_threshold"):
        compaction_suitable(z, 4, extfrag_threshold=1001)


def test_compaction_suitable_on_a_machine_zone_adds_the_low_watermark_for_costly_orders():
    from memlab.page_alloc import compaction_suitable

    m = memlab.Machine(ram="64MiB")
    zone = m.zones["DMA32"]
    idx = zone.zone_idx
    assert zone.wmark_pages("low") > 0
    costly = compaction_suitable(zone, 9)
    assert costly.needed == zone.wmark_pages("low") + (2 << 9) + zone.lowmem_reserve[idx] + 1
    assert costly.watermark == "low" and costly.suitable == (zone.nr_free_pages >= costly.needed)
    cheap = compaction_suitable(zone, 2)
    assert cheap.needed == zone.wmark_pages("min") + (2 << 2) + zone.lowmem_reserve[idx] + 1


@pytest.mark.parametrize("bad", [Page(0.0, 0), Page(__import__("fractions").Fraction(0), 0), 0.0, False, "0"])
def test_free_pages_refuses_non_int_pfns_and_leaves_the_zone_intact(bad):
    z = Zone("Normal", 16)
    page = z.alloc_pages(0)
    with pytest.raises(BadFree, match=r"(?i)pfn"):
        z.free_pages(bad, 0)
    z.check_invariants()
    assert z.nr_free_pages == 15 and z.allocated_blocks() == [(0, 0)]
    z.free_pages(page, 0)  # the real free still works
    assert z.nr_free_pages == 16


def test_an_int_gfp_with_two_zone_bits_is_refused_like_the_string():
    from memlab.gfp import GFP

    m = memlab.Machine(ram="64MiB")
    free = m.nr_free_pages
    for gfp in ("__GFP_DMA | __GFP_DMA32", GFP["__GFP_DMA"] | GFP["__GFP_DMA32"]):
        with pytest.raises(memlab.BadGFP, match="both __GFP_DMA and __GFP_DMA32"):
            m.alloc_pages(0, gfp)
    assert m.nr_free_pages == free
