"""Compaction in a MobilityZone (mm/compaction.c compact_zone()): the two
scanners, what moves and what does not, where the moved data ends up."""

import random

import pytest

from memlab import BadOrder, MobilityZone, OutOfMemory
from memlab.page_alloc import COMPACT_CLUSTER_MAX, MIGRATE_MOVABLE

MOVABLE, KERNEL = "GFP_HIGHUSER_MOVABLE", "GFP_KERNEL"


def _checkerboard(nr_pages=4096, unmovable_every=0, pcp=False):
    """Every page allocated, then every other page freed: plenty of free
    memory, no free block larger than one page."""
    z = MobilityZone("Normal", nr_pages, pcp=pcp)
    pages = [z.alloc_pages(0, KERNEL if unmovable_every and i % unmovable_every == 0 else MOVABLE)
             for i in range(nr_pages)]  # fmt: skip
    for p in pages[1::2]:
        z.free_pages(p, 0)
    return z, pages[0::2]


def _tracked(z, pages):
    """A token per page, moved by the zone's migrate callback as a machine
    would move the bytes: afterwards every handle must find its own token."""
    data = {p.pfn: i for i, p in enumerate(pages)}

    def move(old, new, order):
        assert new not in data, f"block migrated onto live data at pfn {new}"
        data[new] = data.pop(old)

    z.migrate_callbacks.append(move)
    return data


def test_compact_memory_turns_a_checkerboard_into_large_free_blocks():
    z, live = _checkerboard()
    assert z.nr_free_by_order()[1:] == [0] * 10 and z.nr_free_pages == 2048
    data = _tracked(z, live)
    r = z.compact_zone()
    z.check_invariants()
    assert r.result == "COMPACT_COMPLETE"
    assert r.migrated_pages == r.migrated_blocks > 700  # pages from the bottom moved into free pages at the top
    assert max(o for o, n in enumerate(z.nr_free_by_order()) if n) >= 9  # a 2 MiB block is free again
    assert z.nr_free_pages == 2048  # nothing lost, nothing made up
    assert all(data[p.pfn] == i for i, p in enumerate(live))  # every handle points at its own data
    assert sorted(p.pfn for p in live) == sorted(pfn for pfn, _ in z.allocated_blocks())
    assert z.events["pgmigrate_success"] == r.migrated_pages and z.events["compact_isolated"] >= 2 * r.migrated_pages


def test_unmovable_pages_never_move_and_pin_their_pageblocks():
    z, live = _checkerboard(unmovable_every=8)
    unmovable = {p.pfn for i, p in enumerate(live) if i % 4 == 0}  # pages 0, 8, 16, ... were GFP_KERNEL
    # (their pageblocks were claimed Unmovable: the free scanner does not take free pages there either)
    r = z.compact_zone()
    z.check_invariants()
    assert {p.pfn for i, p in enumerate(live) if i % 4 == 0} == unmovable
    assert r.migrated_blocks > 0


def test_the_migration_scanner_takes_32_pages_then_the_rest_of_its_pageblock():
    z = MobilityZone("Normal", 4096, start_pfn=512, pcp=False)
    pages = [z.alloc_pages(0, MOVABLE) for _ in range(4096)]
    for p in pages[1::2]:
        z.free_pages(p, 0)
    r = z.compact_zone()
    batches = [s for s in r.steps if s[0] == "isolate"]
    # pageblock 1 (pfns 512-1023): 32 pages, then - the same pageblock again - its other 224 live pages
    assert [(b[3], b[4]) for b in batches[:2]] == [(COMPACT_CLUSTER_MAX, False), (256 - 32, True)]
    assert batches[0][1] == 512 and batches[1][1] == batches[0][2] and batches[1][2] == 1024


def test_direct_compaction_stops_when_a_block_of_the_order_is_free():
    z, _ = _checkerboard(8192)
    r = z.compact_zone(order=4)
    z.check_invariants()
    assert r.result == "COMPACT_SUCCESS"
    assert any(z.nr_free_by_order()[4:])
    whole = _checkerboard(8192)[0].compact_zone()
    assert r.migrated_pages < whole.migrated_pages  # it stopped early
    page = z.alloc_pages(4, MOVABLE)  # and the allocation now succeeds
    assert page.order == 4


def test_direct_compaction_is_skipped_when_memory_runs_out_and_not_needed_when_a_block_exists():
    z = MobilityZone("Normal", 1024, pcp=False)
    pages = [z.alloc_pages(0, MOVABLE) for _ in range(1020)]
    assert z.compact_zone(order=3).result == "COMPACT_SKIPPED"  # 4 free pages: 2 << 3 are needed first
    for p in pages[:40]:
        z.free_pages(p, 0)
    assert z.compact_zone(order=3).result == "COMPACT_SUCCESS"  # pages 0-39 merged: an order-3 block is there


def test_compaction_with_per_cpu_lists_keeps_every_page_accounted():
    rng = random.Random(11)
    z = MobilityZone("Normal", 8192)
    live = []
    for _ in range(6000):
        if rng.random() < 0.6 or not live:
            try:
                live.append(z.alloc_pages(rng.choice([0, 0, 1, 2]), MOVABLE if rng.random() < 0.9 else KERNEL))
            except OutOfMemory:
                pass
        else:
            p = live.pop(rng.randrange(len(live)))
            z.free_pages(p, p.order)
    data = _tracked(z, [p for p in live if z.allocated_order(p.pfn) is not None])
    z.compact_zone()
    z.check_invariants()
    assert all(data.get(p.pfn, i) == i for i, p in enumerate(live))
    for p in live:
        z.free_pages(p, p.order)
    z.drain_all_pages()
    assert z.nr_free_by_order()[10] == 8 and z.nr_free_pages == 8192


def test_bad_order_is_refused():
    z = MobilityZone("Normal", 1024)
    with pytest.raises(BadOrder, match="-1"):
        z.compact_zone(order=11)
    assert z.pageblock_counts()[MIGRATE_MOVABLE] == 2


def test_compact_memory_on_a_machine_moves_bytes_page_tables_and_page_cache():
    """Two processes fault in their pages in turn, a file is read into the
    page cache, one process exits: its frames leave holes all over memory.
    compact_memory moves the survivor's pages and the cached file: each
    still reads its own bytes, through page tables that now point at the
    new frames."""
    import memlab
    from memlab.errors import MemlabError

    m = memlab.Machine(ram="64MiB", mobility=True)
    a, b = m.spawn("a"), m.spawn("b")
    f = m.create_file(
        "/data",
        256 << 10,
    )
    buf_a, buf_b = a.mmap(length=2 << 20), b.mmap(length=2 << 20)
    for i in range(512):  # interleaved faults: a's and b's pages alternate in memory
        a.write(buf_a + i * 4096, i.to_bytes(2, "little") * 8)
        b.write(buf_b + i * 4096, b"b" * 16)
    fd = a.sys.open(f)
    a.sys.write(fd, buf_a, 256 << 10)  # the file's 64 pages: a's bytes, cached (and dirty)
    before = {pte.pfn for _, table in a.mm.pagetables.tables.items() for pte in table.values() if hasattr(pte, "kind")}
    b.exit()
    dma32 = m.zones["DMA32"]
    largest_before = max(o for o, n in enumerate(dma32.nr_free_by_order()) if n)
    results = m.compact_memory()
    for z in m.populated_zones:
        z.check_invariants()
    assert results["DMA32"].result == "COMPACT_COMPLETE" and results["DMA32"].migrated_pages > 100
    for i in range(512):
        assert a.read(buf_a + i * 4096, 16) == i.to_bytes(2, "little") * 8
    after = {pte.pfn for _, table in a.mm.pagetables.tables.items() for pte in table.values() if hasattr(pte, "kind")}
    assert after != before  # the page tables point at new frames ...
    allocated = {pfn for z in m.populated_zones for pfn, _ in z.allocated_blocks()}
    assert after <= allocated  # ... and only at allocated ones
    a.sys.lseek(fd, 0)
    out = a.mmap(length=256 << 10)
    a.sys.read(fd, out, 256 << 10)
    assert a.read(out, 4096) == a.read(buf_a, 4096)  # the page cache followed its pages
    assert set(f.page_cache.values()) <= allocated
    assert max(o for o, n in enumerate(dma32.nr_free_by_order()) if n) >= largest_before
    with pytest.raises(MemlabError, match="mobility=True"):
        memlab.Machine(ram="64MiB").compact_memory()


def test_deferred_compaction_skips_1_2_4_then_64_attempts_and_a_success_resets_it():
    z = MobilityZone("Normal", 1024)
    assert not z.compaction_deferred(9)
    skipped = []
    for _ in range(8):  # eight failures in a row
        z.defer_compaction(9)
        n = 0
        while z.compaction_deferred(9):
            n += 1
        skipped.append(n)
    assert skipped == [1, 3, 7, 15, 31, 63, 63, 63]  # 2**shift - 1 attempts skipped, shift at most 6
    z.compaction_defer_reset(9, alloc_success=True)
    assert not z.compaction_deferred(9) and z.compact_defer_shift == 0
    assert not z.compaction_deferred(3) or z.compact_order_failed <= 3


def _fragmented_machine():
    import memlab

    m = memlab.Machine(ram="64MiB", mobility=True)
    p = m.spawn("a")
    b = p.mmap(length=46 << 20)
    for off in range(0, 46 << 20, 4096):
        p.write(b + off, off.to_bytes(4, "little"))
    for off in range(0, 46 << 20, 8192):
        p.munmap(b + off, 4096)
    for z in m.populated_zones:
        z.drain_all_pages()
    return m, p, b


def test_kcompactd_makes_a_pageblock_free_when_a_zone_would_profit():
    from memlab import monitor

    m, p, b = _fragmented_machine()
    dma32 = m.zones["DMA32"]
    assert dma32.nr_free_by_order()[9:] == [0, 0] and dma32.compaction_suit_allocation_order(9) == "COMPACT_CONTINUE"
    assert m.vmscan.wakeup_kcompactd(9, 1)
    assert any(dma32.nr_free_by_order()[9:])
    v = monitor.vmstat_record(m)
    assert v["compact_daemon_wake"] == 1 and v["compact_daemon_migrate_scanned"] == v["compact_migrate_scanned"] > 0
    assert "kcompactd0: compacted DMA32 for order 9: COMPACT_SUCCESS" in m.vmscan.log
    for off in range(4096, 46 << 20, 8192):  # every page that stayed reads its own bytes
        assert p.read(b + off, 4) == off.to_bytes(4, "little")
    assert m.vmscan.wakeup_kcompactd(9, 1) is None  # nothing left to gain: it stays asleep


def test_a_costly_request_compacts_directly_before_it_reclaims():
    from memlab import monitor

    m, _, _ = _fragmented_machine()
    for z in m.populated_zones:  # no free 64 KiB block left anywhere: an order-4 request needs compaction
        while any(z.nr_free_by_order()[4:]):
            z.alloc_pages(min(o for o in range(4, 11) if z.nr_free_by_order()[o]), "GFP_HIGHUSER_MOVABLE")
    page = m.alloc_pages(4, "GFP_HIGHUSER_MOVABLE")
    v = monitor.vmstat_record(m)
    assert page.order == 4 and v["compact_stall"] == 1 and v["compact_success"] == 1
    assert v["pgscan_direct"] == 0  # compaction was enough: no direct reclaim


def test_proactive_compaction_runs_only_above_the_score_mark_and_stops_at_the_low_one():
    m, p, b = _fragmented_machine()
    dma32 = m.zones["DMA32"]
    assert dma32.fragmentation_score() == 100  # no free 2 MiB block in DMA32
    score = m.vmscan.fragmentation_score_node()
    present = sum(z.present_pages for z in m.node_zones)
    assert score == sum(z.present_pages * z.fragmentation_score() // (present + 1) for z in m.populated_zones)
    assert m.vmscan.kcompactd_tick(20) is None  # default proactiveness 20: acts above 90 only
    before, after = m.vmscan.kcompactd_tick(80)  # acts above 30, compacts down to 20
    assert before == score > 30 and after < before
    assert dma32.fragmentation_score() < 100 and any(dma32.nr_free_by_order()[9:])
    for off in range(4096, 46 << 20, 8192):
        assert p.read(b + off, 4) == off.to_bytes(4, "little")
    assert m.vmscan.kcompactd_tick(0) is None  # proactiveness 0: never
