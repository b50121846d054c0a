"""Migratetypes, pageblocks and per-CPU lists (memlab.MobilityZone), checked
against the kernel's rules and this host's /proc/pagetypeinfo and
/proc/zoneinfo."""

import pathlib
import re

import pytest

from memlab import BadFree, BadGFP, MemlabError, MobilityZone, Zone, procfs
from memlab.page_alloc import (
    MIGRATE_MOVABLE,
    MIGRATE_RECLAIMABLE,
    MIGRATE_UNMOVABLE,
    gfp_migratetype,
    pcp_allowed_order,
    zone_batchsize,
    zone_highsize,
)

DATA = pathlib.Path(__file__).parent / "data"
MOVABLE, KERNEL, RECLAIM = "GFP_HIGHUSER_MOVABLE", "GFP_KERNEL", "GFP_KERNEL|__GFP_RECLAIMABLE"


def _host_text(path):
    try:
        return pathlib.Path(path).read_text()
    except OSError:
        return None


def _pagesets(text):
    """{zone: (managed, low, [(count, high, batch, high_min, high_max)], threshold)} from zoneinfo."""
    out = {}
    for block in re.split(r"(?m)^(?=Node \d+, zone)", text):
        m = re.match(r"Node \d+, zone\s+(\S+)", block)
        if not m or "pagesets" not in block:
            continue
        managed = int(re.search(r"managed\s+(\d+)", block)[1])
        low = int(re.search(r"\n\s+low\s+(\d+)", block)[1])
        cpus = re.findall(
            r"count:\s+(\d+)\n\s+high:\s+(\d+)\n\s+batch:\s+(\d+)\n\s+high_min:\s+(\d+)\n\s+high_max:\s+(\d+)", block
        )
        threshold = int(re.search(r"vm stats threshold:\s+(\d+)", block)[1])
        out[m[1]] = (managed, low, [tuple(map(int, c)) for c in cpus], threshold)
    return out


@pytest.mark.parametrize("source", ["stored", "live"])
def test_pcp_batch_high_min_high_max_and_threshold_reproduce_the_hosts_zoneinfo(source):
    text = (DATA / "host_zoneinfo_6.18.txt").read_text() if source == "stored" else _host_text("/proc/zoneinfo")
    if text is None:
        pytest.skip("no /proc/zoneinfo")
    zones = _pagesets(text)
    if not zones or not all(z[2] for z in zones.values()):
        pytest.skip("this kernel's zoneinfo has no high_min/high_max lines")
    checked = 0
    for name, (managed, low, cpus, threshold) in zones.items():
        ncpu = len(cpus)
        batch = zone_batchsize(managed)
        for _, _, host_batch, host_min, host_max in cpus:
            assert (batch, zone_highsize(low, batch, ncpu), zone_highsize(managed // 8, batch, ncpu)) == (
                host_batch,
                host_min,
                host_max,
            ), name
            checked += 1
        assert procfs.normal_threshold(managed, ncpu) == threshold, name
    assert checked >= 4


def test_pagesets_text_in_612_and_host_layout():
    z = MobilityZone("DMA32", 16384, start_pfn=4096)
    z.alloc_pages(0, MOVABLE, cpu=1)
    text = procfs.pagesets(z)
    assert text.startswith("\n  pagesets\n    cpu: 0\n              count: 0\n              high:  0\n")
    pcp = z.pcp[1]
    assert f"    cpu: 1\n              count: {pcp.count}\n              high:  {pcp.high}\n" in text
    assert pcp.count == pcp.batch * 4 - 1 or pcp.count > 0
    host = procfs.pagesets(z, host_format=True)
    assert f"              high_min: {pcp.high_min}\n              high_max: {pcp.high_max}\n" in host
    assert host.count("vm stats threshold: ") == 2


@pytest.mark.parametrize("source", ["stored", "live"])
def test_pagetypeinfo_of_the_host_is_reproduced_character_for_character(source):
    text = (DATA / "host_pagetypeinfo_6.18.txt").read_text() if source == "stored" else _host_text("/proc/pagetypeinfo")
    if text is None:
        pytest.skip("/proc/pagetypeinfo is readable by root only")
    names, rows = procfs.parse_pagetypeinfo_blocks(text)
    assert names == ["Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate"]
    assert procfs.format_pagetypeinfo(rows, names) == text


def _dma_zone(**kw):
    # the Machine's DMA zone: spans pfn 1..4095, the first MiB reserved at boot
    return MobilityZone("DMA", 4095, start_pfn=1, present_pages=3999, free_ranges=[(256, 4096)], **kw)


def test_a_fresh_dma_zone_prints_the_hosts_dma_lines():
    """Pageblock 0 starts before the zone (pfn 0), so memmap_init_range()
    never makes it Movable: the free pages 256-511 sit on the Unmovable
    list, as on this host."""
    ours = procfs.pagetypeinfo(_dma_zone())
    zeros = "      0" * 8
    assert f"Node    0, zone      DMA, type    Unmovable{zeros}      1      0      0 \n" in ours
    assert f"Node    0, zone      DMA, type      Movable{zeros}      0      1      3 \n" in ours
    assert "Node 0, zone      DMA            1            7            0            0            0 \n" in ours
    host = _host_text("/proc/pagetypeinfo")
    if host is None:
        pytest.skip("/proc/pagetypeinfo is readable by root only")
    _, rows = procfs.parse_pagetypeinfo_blocks(host)
    dma = [r for r in rows if r[1] == "DMA"]
    if not dma or sum(c << o for per_type in dma[0][2] for o, c in enumerate(per_type)) != 3840:
        pytest.skip("the host's DMA zone is in use, not as it booted")
    host_dma = [line for line in host.splitlines() if "zone      DMA" in line]
    assert host_dma == [line for line in ours.splitlines() if "zone      DMA" in line]


def test_pagetypeinfo_refuses_a_zone_without_migratetypes():
    with pytest.raises(MemlabError, match="MobilityZone"):
        procfs.pagetypeinfo(Zone("Normal", 1024))


def test_gfp_migratetype():
    assert gfp_migratetype(KERNEL) == MIGRATE_UNMOVABLE
    assert gfp_migratetype(MOVABLE) == MIGRATE_MOVABLE
    assert gfp_migratetype(RECLAIM) == MIGRATE_RECLAIMABLE
    with pytest.raises(BadGFP, match="both __GFP_MOVABLE and __GFP_RECLAIMABLE"):
        gfp_migratetype("GFP_KERNEL|__GFP_MOVABLE|__GFP_RECLAIMABLE")


def test_pcp_allowed_orders():
    assert [o for o in range(11) if pcp_allowed_order(o)] == [0, 1, 2, 3, 9]


def test_first_unmovable_allocation_claims_the_largest_movable_block_whole():
    z = MobilityZone("Normal", 4096, pcp=False)
    assert z.pageblock_counts() == [0, 8, 0, 0, 0]
    page = z.alloc_pages(0, KERNEL)
    # __rmqueue_claim() looks from MAX_PAGE_ORDER down: the order-10 block at pfn 0 -> pageblocks 0 and 1
    assert page.pfn == 0
    assert z.pageblock_migratetype(0) == z.pageblock_migratetype(512) == MIGRATE_UNMOVABLE
    assert z.pageblock_counts() == [2, 6, 0, 0, 0]
    assert z.nr_free_by_type()[MIGRATE_UNMOVABLE] == [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]
    assert any("claimed whole for Unmovable" in s for s in z.explain())
    z.check_invariants()


def test_a_small_movable_fallback_steals_without_claiming():
    """can_steal_fallback(): a Movable request below order 4 may not claim
    an Unmovable block, so __rmqueue_steal() takes one block and leaves the
    pageblock Unmovable (mixed)."""
    z = MobilityZone("Normal", 1024, pcp=False)
    pages = [z.alloc_pages(0, KERNEL) for _ in range(1024)]  # the whole zone becomes Unmovable
    assert z.pageblock_counts() == [2, 0, 0, 0, 0]
    z.free_pages(pages[5], 0)
    page = z.alloc_pages(0, MOVABLE)
    assert page.pfn == 5
    assert z.pageblock_counts() == [2, 0, 0, 0, 0]
    assert z.events["stolen"] == 1
    assert any("__rmqueue_steal()" in s and "mixed" in s for s in z.explain())
    z.check_invariants()


def test_a_half_free_pageblock_is_claimed_with_its_free_pages():
    z = MobilityZone("Normal", 1024, pcp=False)
    blocks = [z.alloc_pages(0, MOVABLE) for _ in range(1024)]
    for p in blocks[:300]:  # pageblock 0 is now 300 pages free
        z.free_pages(p, 0)
    page = z.alloc_pages(0, KERNEL)  # the largest Movable free block is the order-8 one at pfn 0
    assert page.pfn == 296  # after the claim, the smallest Unmovable block: order 2 at pfn 296
    assert z.pageblock_migratetype(page.pfn) == MIGRATE_UNMOVABLE
    assert z.pageblock_migratetype(600) == MIGRATE_MOVABLE
    moved = sum(c << o for o, c in enumerate(z.nr_free_by_type()[MIGRATE_UNMOVABLE]))
    assert moved == 299
    assert any("becomes Unmovable" in s for s in z.explain())
    z.check_invariants()


def test_nofragment_prefers_a_whole_pageblock_and_retries_without():
    z = MobilityZone("Normal", 2048, zone_idx=2, pcp=False)  # a Normal zone: ALLOC_NOFRAGMENT
    z.alloc_pages(0, KERNEL)  # claims pageblocks 0-1 (the order-10 block at pfn 0)
    assert z.alloc_pages(9, KERNEL).pfn == 512
    movable = [z.alloc_pages(9, MOVABLE) for _ in range(2)]  # pfns 1024 and 1536: no Movable page left
    # A Movable order-0 request: with ALLOC_NOFRAGMENT only whole pageblocks (order >= 9) may be
    # claimed and nothing may be stolen, so the first pass fails; the retry claims pageblock 0, whose
    # 511 free pages are more than half of it.
    page = z.alloc_pages(0, MOVABLE)
    assert page.pfn == 1
    assert z.pageblock_migratetype(0) == MIGRATE_MOVABLE and z.pageblock_migratetype(512) == MIGRATE_UNMOVABLE
    words = z.explain()
    assert any("ALLOC_NOFRAGMENT" in s for s in words) and any("becomes Movable" in s for s in words)
    for p in movable:
        z.free_pages(p, 9)
    z.check_invariants()


def test_without_nofragment_the_same_request_claims_at_once():
    z = MobilityZone("DMA32", 2048, zone_idx=1, pcp=False)  # not Normal: no ALLOC_NOFRAGMENT
    z.alloc_pages(0, KERNEL)
    z.alloc_pages(9, KERNEL)
    [z.alloc_pages(9, MOVABLE) for _ in range(2)]
    z.alloc_pages(0, MOVABLE)
    assert not any("ALLOC_NOFRAGMENT" in s for s in z.explain())


def test_pcp_refills_in_batches_frees_to_the_head_and_drains_at_high():
    z = MobilityZone("Normal", 262144)
    pcp = z.pcp[0]
    assert pcp.batch == 63 and (pcp.high_min, pcp.high_max) == (252, 16384)
    page = z.alloc_pages(0, MOVABLE)
    on_list = [p for p, cpu, o in z.pcp_pages() if cpu == 0]
    assert len(on_list) == pcp.count == 62  # nr_pcp_alloc(): batch 63 for the first refill
    assert on_list == list(range(1, 63))  # split buddy pages arrive in physical order (list_add_tail)
    z.free_pages(page, 0)
    assert z.pcp_pages()[-1][0] == 0  # freed to the head of the list ...
    kept = z.alloc_pages(0, MOVABLE)
    assert kept.pfn == 0  # ... so it is the next one handed out
    pages = [z.alloc_pages(0, MOVABLE) for _ in range(400)]
    for p in pages:
        z.free_pages(p, 0)
    # high tunes itself upwards while frees come in bursts (nr_pcp_high()): nothing drained yet
    assert z.events["pcp_drain"] == 0 and pcp.high >= pcp.count > 400 > pcp.high_min
    assert pcp.count + z.nr_free_pages == 262144 - 1  # pages on the lists are not NR_FREE_PAGES
    z.check_invariants()
    z.drain_all_pages()
    assert pcp.count == 0 and z.nr_free_pages == 262144 - 1
    z.check_invariants()


def test_a_fixed_high_drains_the_lists_in_batches():
    z = MobilityZone("Normal", 262144, percpu_pagelist_high_fraction=1024)
    pcp = z.pcp[0]
    assert pcp.high_min == pcp.high_max == 252  # max(256 // 2 CPUs, 4 * batch)
    pages = [z.alloc_pages(0, MOVABLE) for _ in range(400)]
    for p in pages:
        z.free_pages(p, 0)
    assert z.events["pcp_drain"] >= 1 and pcp.count < 252
    z.check_invariants()


def test_double_free_of_a_page_on_a_pcp_list_is_refused_and_nothing_changes():
    z = MobilityZone("Normal", 4096)
    page = z.alloc_pages(0, KERNEL, cpu=1)
    z.free_pages(page, 0, cpu=1)
    before = (z.pcp_pages(), z.nr_free_by_type(), z.pcp[1].count)
    with pytest.raises(BadFree, match="cpu 1's per-CPU list"):
        z.free_pages(page, 0)
    assert (z.pcp_pages(), z.nr_free_by_type(), z.pcp[1].count) == before
    with pytest.raises(BadGFP, match="cpu 2"):
        z.alloc_pages(0, KERNEL, cpu=2)
    assert (z.pcp_pages(), z.nr_free_by_type(), z.pcp[1].count) == before


def test_merging_above_pageblock_order_gives_the_buddy_the_freed_blocks_type():
    z = MobilityZone("Normal", 1024, pcp=False)
    low = z.alloc_pages(9, KERNEL)  # claims pageblock 0 (order 10 split) -> both pageblocks Unmovable
    high = z.alloc_pages(9, MOVABLE)  # steals pageblock 1 back? it claims: order >= pageblock_order
    assert z.pageblock_migratetype(512) == MIGRATE_MOVABLE
    z.free_pages(high, 9)
    z.free_pages(low, 9)  # merges with the Movable buddy: change_pageblock_range() makes it Unmovable
    assert z.nr_free_by_type()[MIGRATE_UNMOVABLE][10] == 1
    assert z.pageblock_counts()[:2] == [2, 0]
    z.check_invariants()


def test_a_machine_groups_its_pages_by_mobility():
    """Machine(mobility=True): page tables and slabs are Unmovable, a
    process's pages Movable, dentries and inodes Reclaimable; each type gets
    pageblocks of its own, and /proc/pagetypeinfo shows them."""
    import memlab

    m = memlab.Machine(ram="256MiB", mobility=True)
    assert m.zones["DMA32"].pageblock_counts() == [0, 120, 0, 0, 0]
    p = m.spawn("cat")
    for i in range(50):
        m.create_file(f"/etc/f{i}", 100)
    buf = p.mmap(length=1 << 20)
    for off in range(0, 1 << 20, 4096):
        p.touch(buf + off, write=True)
    dma32 = m.zones["DMA32"]
    unmovable, movable, reclaimable = dma32.pageblock_counts()[:3]
    assert unmovable >= 1 and reclaimable >= 1 and movable >= 110
    assert unmovable + movable + reclaimable == 120
    types = {dma32.pageblock_migratetype(pfn) for pfn, _ in dma32.allocated_blocks()}
    assert types == {MIGRATE_UNMOVABLE, MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE}  # no pageblock mixed by a steal
    text = procfs.pagetypeinfo(m)
    assert text.count("zone    DMA32, type") == 5 and "Node 0, zone    DMA32 " in text
    for z in m.populated_zones:
        z.check_invariants()
    assert memlab.Machine(ram="256MiB").zones["DMA32"].__class__ is Zone.choose_class(None)  # off by default
