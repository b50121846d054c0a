"""Seeded workloads, size parsing and GFP naming."""

import pytest

import memlab
from memlab import BadSize, format_size, parse_size
from memlab.gfp import gfp_names, parse_gfp
from memlab.units import order_for_size
from memlab.workloads import buddy_v1, fill_and_free, fill_and_reclaim


def test_buddy_v1_is_deterministic_and_seed_dependent():
    runs = []
    for seed in (1, 1, 2):
        z = memlab.Zone("Normal", 4096)
        r = buddy_v1(z, 3000, seed, sample_every=500)
        runs.append((sorted(z.allocated_blocks()), r.allocs, r.frees, r.failures, r.samples))
        z.check_invariants()
        assert r.allocs + r.frees + r.failures <= 3000
        assert len(r.samples) == 6 and r.samples[-1][0] == 3000
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_buddy_v1_order_mix():
    z = memlab.Zone("Normal", 1 << 22)
    r = buddy_v1(z, 20000, seed=5)
    orders = [p.order for p in r.live]
    share_small = sum(o <= 3 for o in orders) / len(orders)
    assert 0.9 < share_small < 0.99  # 96 % of allocations are orders 0-3
    assert max(orders) == 10


def test_buddy_v1_continues_with_live_list():
    z = memlab.Zone("Normal", 4096)
    first = buddy_v1(z, 500, 3)
    second = buddy_v1(z, 500, 4, live=first.live)
    assert second.live is first.live
    assert sorted(z.allocated_blocks()) == sorted((p.pfn, p.order) for p in second.live)


def test_fill_and_free():
    z = memlab.Zone("Normal", 1024)
    live = fill_and_free(z, seed=1, free_share=0.25)
    assert len(live) == 768 and z.nr_free_pages == 256
    with pytest.raises(BadSize):
        fill_and_free(memlab.Zone("Normal", 16), seed=1, free_share=1.5)


@pytest.mark.parametrize(
    "text,value",
    [
        ("4096", 4096),
        ("4k", 4096),
        ("1GiB", 1 << 30),
        ("16 MiB", 16 << 20),
        ("1.5KiB", 1536),
        (8192, 8192),
        ("2GB", 2 << 30),
    ],
)
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("bad", ["1.3B", "12 parsecs", -1, None, True, "0.1k"])
def test_parse_size_rejects(bad):
    with pytest.raises(BadSize):
        parse_size(bad)


def test_format_size_and_get_order():
    assert format_size(4096) == "4 KiB" and format_size(6 << 20) == "6 MiB" and format_size(1536) == "1.5 KiB"
    assert format_size(100) == "100 B"
    assert [order_for_size(n) for n in (1, 4096, 4097, 8192, 5 * 4096, 4 << 20, 8 << 20)] == [0, 0, 1, 1, 3, 10, 11]
    with pytest.raises(BadSize):
        order_for_size(0)


def test_gfp_names_roundtrip():
    for expr in ("GFP_KERNEL", "GFP_ATOMIC", "GFP_NOWAIT", "GFP_HIGHUSER_MOVABLE"):
        assert gfp_names(parse_gfp(expr)) == expr
    assert gfp_names(parse_gfp("GFP_KERNEL|__GFP_DMA32")) == "GFP_KERNEL|__GFP_DMA32"
    assert parse_gfp(parse_gfp("GFP_KERNEL")) == parse_gfp("GFP_KERNEL")


def test_fill_and_reclaim_fragments_with_plenty_free_and_keeps_pinned_blocks():
    z = memlab.Zone("Normal", 16384)
    result = fill_and_reclaim(z, 20000, seed=42, sample_every=1000)
    assert result.allocs + result.frees == 20000 and result.failures == 0
    held = sorted((p.pfn, p.order) for p in result.live + result.pinned)
    assert sorted(z.allocated_blocks()) == held  # every allocated block is live or pinned
    assert z.nr_free_pages > z.managed_pages // 2 and not z.has_free_block(9)  # plenty free, no 2 MiB block
    assert len(result.samples) == 20 and result.samples[-1][:2] == (20000, z.nr_free_pages)
    assert 0.005 < len(result.pinned) / result.allocs < 0.02  # about pinned_share=0.01
    again = memlab.Zone("Normal", 16384)
    assert fill_and_reclaim(again, 20000, seed=42).samples == []
    assert bytes(again.page_map()) == bytes(z.page_map())  # deterministic
    other = memlab.Zone("Normal", 16384)
    fill_and_reclaim(other, 20000, seed=43)
    assert bytes(other.page_map()) != bytes(z.page_map())
    # without pinned pages, reclaiming everything brings the zone back whole
    z = memlab.Zone("Normal", 4096)
    result = fill_and_reclaim(z, 8000, seed=1, pinned_share=0.0)
    for p in result.live:
        z.free_pages(p, p.order)
    assert z.nr_free_by_order()[10] == 4 and not result.pinned


@pytest.mark.parametrize("kwargs", [{"pinned_share": 1.5}, {"low": -0.1}, {"low": 0.8, "high": 0.7}])
def test_fill_and_reclaim_rejects_bad_shares(kwargs):
    z = memlab.Zone("Normal", 64)
    with pytest.raises(BadSize):
        fill_and_reclaim(z, 10, seed=1, **kwargs)
    assert z.nr_free_pages == 64
