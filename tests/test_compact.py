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
