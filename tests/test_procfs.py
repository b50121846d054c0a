"""/proc text, character for character: golden files and the host's real files."""

from pathlib import Path

import pytest

from memlab import Machine, Zone, procfs

DATA = Path(__file__).parent / "data"

# A fresh machine's DMA zone manages pfn 256..4095 only (memblock_reserve(0, SZ_1M)):
# blocks of order 8 (pfn 256), 9 (512) and 10 (1024, 2048, 3072), as on a real PC.
GOLDEN_BUDDYINFO_1G = (
    "Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n"
    "Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0    252 \n"
)

# min_free_kbytes = int_sqrt((3840 + 258048) * 4 * 16) = 4093; pages_min = 1023;
# DMA min = 1023 * 3840 / 261888 = 15; gap = max(15 / 4, 3840 * 10 / 10000) = 3.
# spanned pfn 1..4095; present leaves out pfn 159..255 (not RAM); managed from pfn 256.
GOLDEN_ZONEINFO_DMA_1G = """Node 0, zone      DMA
  pages free     3840
        boost    0
        min      15
        low      18
        high     21
        promo    24
        spanned  4095
        present  3998
        managed  3840
        cma      0
        protection: (0, 1008, 1008, 1008, 1008)
"""


def test_buddyinfo_golden_fresh_1gib():
    assert procfs.buddyinfo(Machine(ram="1GiB")) == GOLDEN_BUDDYINFO_1G


def test_buddyinfo_golden_after_allocations():
    m = Machine(ram="1GiB")
    m.alloc_pages(0)  # DMA32: order-10 block at 4096 split down to order 0
    m.alloc_pages(0, "GFP_DMA")  # DMA: the order-8 block at pfn 256 split down to order 0
    assert procfs.buddyinfo(m) == (
        "Node 0, zone      DMA      1      1      1      1      1      1      1      1      0      1      3 \n"
        "Node 0, zone    DMA32      1      1      1      1      1      1      1      1      1      1    251 \n"
    )


def test_buddyinfo_of_one_zone_and_large_counts():
    z = Zone("Normal", 1 << 22)
    line = procfs.buddyinfo(z)
    assert line == "Node 0, zone   Normal " + "     0 " * 10 + "  4096 \n"
    # %6lu grows past six digits without truncation, as in C
    wide = procfs.format_buddyinfo([(0, "Normal", [1234567] + [0] * 10)])
    assert wide.startswith("Node 0, zone   Normal 1234567      0 ")


def test_zoneinfo_golden_dma_block():
    text = procfs.zoneinfo(Machine(ram="1GiB"))
    assert text.startswith(GOLDEN_ZONEINFO_DMA_1G)
    assert text.count("Node 0, zone") == 5  # Movable and Device printed, as the kernel does
    assert "Node 0, zone  Movable\n  pages free     0\n        boost    0\n        min      32\n" in text


def check_zoneinfo_blocks_reproduced(text):
    zones = procfs.parse_zoneinfo(text)
    assert zones, "no zone blocks parsed"
    for (node, name), z in zones.items():
        ours = procfs.zoneinfo_zone(
            node,
            name,
            z["free"],
            z["boost"],
            {k: z[k] for k in ("min", "low", "high", "promo")},
            z["spanned"],
            z["present"],
            z["managed"],
            z["cma"],
            z["protection"],
        )
        assert ours == z["text"], name


def test_zoneinfo_format_matches_stored_host_sample():
    check_zoneinfo_blocks_reproduced((DATA / "host_zoneinfo_6.18.txt").read_text())


def test_zoneinfo_format_matches_live_host():
    text = procfs.host_zoneinfo()
    if text is None:
        pytest.skip("no /proc/zoneinfo")
    check_zoneinfo_blocks_reproduced(text)


@pytest.mark.parametrize("source", ["stored", "live"])
def test_host_buddyinfo_parses_and_memlab_formatter_reproduces_it(source):
    text = (DATA / "host_buddyinfo.txt").read_text() if source == "stored" else procfs.host_buddyinfo()
    if text is None:
        pytest.skip("no /proc/buddyinfo")
    rows = procfs.parse_buddyinfo(text)
    assert [name for _, name, _ in rows][:2] == ["DMA", "DMA32"]
    assert all(len(c) == 11 for _, _, c in rows)
    assert procfs.format_buddyinfo(rows) == text


def test_host_tlb_facts_and_shootdowns_on_this_machine():
    facts = procfs.host_tlb_facts()
    if facts is None:
        pytest.skip("not Linux")
    assert isinstance(facts["pcid"], bool) and isinstance(facts["invpcid"], bool)
    if facts["shootdowns"] is None:
        pytest.skip("no TLB shootdowns line in /proc/interrupts (not x86)")
    runs = procfs.host_tlb_shootdown_experiment(200)
    assert set(runs) == {"alone", "with a second thread"} and all(v >= 0 for v in runs.values())
