"""The simulated machine: zones, watermarks, zonelist fallback, host checks."""

import pytest

from memlab import BadFree, BadOrder, BadSize, Machine, OutOfMemory, procfs
from memlab.gfp import ZONE_DMA, ZONE_DMA32, ZONE_MOVABLE, ZONE_NORMAL, BadGFP, gfp_zone, parse_gfp
from memlab.page_alloc import calculate_min_free_kbytes, setup_per_zone_lowmem_reserve, setup_per_zone_wmarks


def test_zone_boundaries_1gib():
    m = Machine(ram="1GiB", cpus=2)
    assert list(m.zones) == ["DMA", "DMA32"]
    dma, dma32 = m.zones["DMA"], m.zones["DMA32"]
    assert (dma.zone_start_pfn, dma.spanned_pages) == (1, 4095)
    assert (dma32.zone_start_pfn, dma32.spanned_pages) == (4096, 262144 - 4096)
    assert [z.name for z in m.node_zones] == ["DMA", "DMA32", "Normal", "Movable", "Device"]


def test_zone_boundaries_16gib():
    m = Machine(ram="16GiB")
    assert list(m.zones) == ["DMA", "DMA32", "Normal"]
    assert m.zones["DMA32"].zone_end_pfn == 1 << 20
    assert m.zones["Normal"].zone_start_pfn == 1 << 20
    assert m.zones["Normal"].zone_end_pfn == 4 << 20


def test_small_machine_has_only_dma():
    m = Machine(ram="8MiB")
    assert list(m.zones) == ["DMA"]


@pytest.mark.parametrize("ram", ["0", "512KiB", "1.5", "lots", -4096, 4097])
def test_bad_ram(ram):
    with pytest.raises(BadSize):
        Machine(ram=ram)


def test_bad_cpus():
    with pytest.raises(BadSize):
        Machine(cpus=0)


def test_min_free_kbytes_formula():
    # int_sqrt(lowmem_kbytes * 16) clamped to [128, 262144]
    assert calculate_min_free_kbytes(262143) == 4095
    assert calculate_min_free_kbytes(10) == 128
    assert calculate_min_free_kbytes(1 << 40) == 262144
    m = Machine(ram="1GiB")
    # lowmem = managed pages of DMA (pfn 256..4095: the first MiB is reserved) and DMA32
    lowmem_kb = (3840 + 258048) * 4
    assert m.min_free_kbytes == calculate_min_free_kbytes(3840 + 258048) == 4093 == int((lowmem_kb * 16) ** 0.5)
    assert Machine(ram="1GiB", min_free_kbytes=8192).min_free_kbytes == 8192


def test_watermarks_split_by_managed_pages():
    m = Machine(ram="1GiB")
    pages_min = 4095 // 4
    dma, dma32 = m.zones["DMA"], m.zones["DMA32"]
    lowmem = dma.managed_pages + dma32.managed_pages
    assert dma.watermark["min"] == pages_min * dma.managed_pages // lowmem
    assert dma32.watermark["min"] == pages_min * dma32.managed_pages // lowmem
    for z in (dma, dma32):
        wm = z.watermark
        gap = wm["low"] - wm["min"]
        assert gap == max(wm["min"] // 4, z.managed_pages * 10 // 10000)
        assert wm["high"] == wm["low"] + gap and wm["promo"] == wm["high"] + gap
    assert set(dma.watermark) == {"min", "low", "high", "promo"}


def test_movable_zone_min_is_swap_cluster_max():
    marks = setup_per_zone_wmarks([100, 1000, 0, 0, 0], 1024)
    assert marks[3] == {"min": 32, "low": 32, "high": 32, "promo": 32}
    assert marks[4]["min"] == 0


def test_lowmem_reserve_matches_kernel_rule():
    r = setup_per_zone_lowmem_reserve([3840, 772808, 131072, 0, 0])
    assert r[0] == [0, 3018, 3530, 3530, 3530]
    assert r[1] == [0, 0, 512, 512, 512]
    assert r[2] == [0, 0, 0, 0, 0]


def read_host_zones():
    text = procfs.host_zoneinfo()
    mfk = procfs.host_min_free_kbytes()
    if not text or mfk is None:
        pytest.skip("host /proc/zoneinfo or min_free_kbytes not readable")
    return procfs.parse_zoneinfo(text), mfk


def test_host_watermarks_reproduced_by_formula():
    zones, mfk = read_host_zones()
    ordered = [zones[k] for k in zones if k[0] == 0]
    managed = [z["managed"] for z in ordered]
    marks = setup_per_zone_wmarks(managed, mfk)
    for z, mark in zip(ordered, marks):
        assert {k: z[k] for k in ("min", "low", "high", "promo")} == mark, z["name"]


def test_host_protection_reproduced_by_formula():
    zones, _ = read_host_zones()
    ordered = [zones[k] for k in zones if k[0] == 0]
    with open("/proc/sys/vm/lowmem_reserve_ratio") as f:
        ratios = [int(x) for x in f.read().split()]
    reserve = setup_per_zone_lowmem_reserve([z["managed"] for z in ordered], ratios)
    assert [z["protection"] for z in ordered] == reserve


def test_gfp_zone():
    assert gfp_zone(parse_gfp("GFP_KERNEL")) == ZONE_NORMAL
    assert gfp_zone(parse_gfp("GFP_DMA")) == ZONE_DMA
    assert gfp_zone(parse_gfp("GFP_KERNEL | __GFP_DMA32")) == ZONE_DMA32
    assert gfp_zone(parse_gfp("GFP_HIGHUSER_MOVABLE")) == ZONE_MOVABLE
    with pytest.raises(BadGFP, match="GFP_KERNLE"):
        parse_gfp("GFP_KERNLE")
    with pytest.raises(BadGFP):
        parse_gfp("__GFP_DMA|__GFP_DMA32")


def test_alloc_prefers_highest_zone_and_respects_gfp():
    m = Machine(ram="16GiB")
    assert m.zones["Normal"].contains_pfn(m.alloc_pages(0).pfn)
    assert m.zones["DMA32"].contains_pfn(m.alloc_pages(0, "GFP_DMA32").pfn)
    assert m.zones["DMA"].contains_pfn(m.alloc_pages(0, "GFP_DMA").pfn)
    assert m.zones["Normal"].contains_pfn(m.alloc_pages(0, "GFP_HIGHUSER_MOVABLE").pfn)


def test_fallback_to_lower_zone_when_low_watermark_reached():
    m = Machine(ram="1GiB")
    dma32 = m.zones["DMA32"]
    low = dma32.wmark_pages("low")
    taken = []
    while dma32.nr_free_pages > low:
        taken.append(m.alloc_pages(0))
    assert all(dma32.contains_pfn(p.pfn) for p in taken)
    # DMA32 would drop to the low mark: the fast path moves on to DMA, but DMA keeps
    # lowmem_reserve[DMA32] = 1008 pages back from DMA32-capable allocations.
    assert m.zones["DMA"].lowmem_reserve[1] == 1008
    p = m.alloc_pages(0)
    assert m.zones["DMA"].contains_pfn(p.pfn)
    assert any("skipped DMA32" in s for s in m.explain())


def test_atomic_dips_below_min_kernel_cannot():
    m = Machine(ram="1GiB")
    for z in m.zones.values():
        while z.nr_free_pages > z.wmark_pages("min") + z.lowmem_reserve[2]:
            z.alloc_pages(0)
    m.check_invariants()
    with pytest.raises(OutOfMemory, match="OOM killer"):
        m.alloc_pages(0, "GFP_KERNEL")
    with pytest.raises(OutOfMemory, match="returns NULL"):
        m.alloc_pages(0, "GFP_NOWAIT")
    p = m.alloc_pages(0, "GFP_ATOMIC")  # __GFP_HIGH: half the min reserve, non-blocking: more
    assert m.zones["DMA32"].contains_pfn(p.pfn)
    assert any("min watermark" in s for s in m.explain())


def test_machine_errors_leave_state_unchanged():
    m = Machine(ram="64MiB")
    p = m.alloc_pages(2)
    before = procfs.buddyinfo(m)
    with pytest.raises(BadOrder):
        m.alloc_pages(12)
    with pytest.raises(BadFree):
        m.free_pages(p, 3)
    with pytest.raises(BadFree, match="in no zone"):
        m.free_pages(10**9, 0)
    with pytest.raises(BadGFP):
        m.alloc_pages(0, "GFP_WHATEVER")
    assert procfs.buddyinfo(m) == before
    m.free_pages(p, 2)
    m.check_invariants()


def test_16gib_machine_is_cheap():
    import tracemalloc

    tracemalloc.start()
    m = Machine(ram="16GiB")
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert current < 8 << 20  # memory grows with blocks, not with simulated RAM
    # everything but the first MiB and the 64 MiB swiotlb pool (RAM reaches above 4 GiB)
    assert m.nr_free_pages == (4 << 20) - 256 - (64 << 20 >> 12)


def test_first_mib_is_never_handed_out():
    # arch/x86/realmode/init.c: memblock_reserve(0, SZ_1M); 640 KiB-1 MiB is not RAM at all
    m = Machine(ram="64MiB")
    dma = m.zones["DMA"]
    assert (dma.zone_start_pfn, dma.spanned_pages, dma.present_pages, dma.managed_pages) == (1, 4095, 3998, 3840)
    pages = []
    while True:
        try:
            pages.append(m.alloc_pages(0, "GFP_DMA"))
        except OutOfMemory:
            break
    assert pages and min(p.pfn for p in pages) == 256  # the lowest page GFP_DMA ever gets: 1 MiB
    assert all(p.phys_addr >= 1 << 20 for p in pages)
    m.check_invariants()
    with pytest.raises(BadFree, match="reserved"):
        m.free_pages(100, 0)
    page_map = dma.page_map()  # index 0 is pfn 1
    assert page_map[0] == page_map[254] == 253 and page_map[255] == 255  # pfn 1 and 255 reserved, 256 allocated


def test_machine_needs_more_than_the_reserved_mib():
    with pytest.raises(BadSize, match="first MiB"):
        Machine(ram="1MiB")
    m = Machine(ram="2MiB")
    assert m.zones["DMA"].managed_pages == 256 and m.nr_free_pages == 256


def _host_zone(name):
    text = procfs.host_zoneinfo()
    if text is None:
        pytest.skip("no /proc/zoneinfo")
    zones = procfs.parse_zoneinfo(text)
    if (0, name) not in zones:
        pytest.skip(f"the host has no {name} zone")
    return zones[(0, name)]


def test_dma_zone_sizes_match_the_host():
    host = _host_zone("DMA")
    if host["spanned"] != 4095:
        pytest.skip("the host's DMA zone does not span pfn 1..4095")
    dma = Machine(ram="64MiB").zones["DMA"]
    # the host shows the same hole and the same reservation (on a PC firmware map with RAM to 0x9fc00)
    assert (dma.spanned_pages, dma.managed_pages) == (host["spanned"], host["managed"])
    if host["present"] == 3998:
        assert dma.present_pages == host["present"]


def test_fresh_dma_buddyinfo_row_matches_an_untouched_host_dma_zone():
    host = _host_zone("DMA")
    if host["free"] != host["managed"]:
        pytest.skip("the host's DMA zone has pages in use")
    text = procfs.host_buddyinfo()
    row = next(line for line in text.splitlines() if line.startswith("Node 0, zone      DMA "))
    ours = procfs.buddyinfo(Machine(ram="64MiB")).splitlines()[0]
    assert ours == row
