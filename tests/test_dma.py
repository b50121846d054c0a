"""DMA: the 8237A clock by clock, ISA limits, and the Linux DMA API."""

import pytest

import memlab
from memlab import Machine
from memlab.dma import (
    DMA_AUTOINIT,
    DMA_BIDIRECTIONAL,
    DMA_BIT_MASK,
    DMA_FROM_DEVICE,
    DMA_MAPPING_ERROR,
    DMA_MODE_BLOCK,
    DMA_MODE_DECREMENT,
    DMA_MODE_DEMAND,
    DMA_MODE_READ,
    DMA_MODE_WRITE,
    DMA_TO_DEVICE,
    IO_TLB_DEFAULT_SIZE,
    DmaError,
    IsaDevice,
)


@pytest.fixture
def m():
    return Machine(ram="64MiB")


def dma_buffer(m, order=0):
    page = m.alloc_pages(order, "GFP_DMA")
    return page.pfn << 12


def signal_string(rows, name, ch=1):
    out = ""
    for r in rows:
        v = r[name]
        if name == "DREQ":
            v = v[ch]
        elif name == "DACK":
            v = int(v == ch)
        out += "1" if v else "0"
    return out


def test_count_c_gives_c_plus_one_transfers_and_tc(m):
    d = m.dma8237
    phys = dma_buffer(m)
    d.attach(1, IsaDevice("floppy", data=bytes(range(1, 9))))
    d.program(1, phys, 4, DMA_MODE_READ)
    assert d.channels[1].base_count == 3  # set_dma_count(4) writes C = 3
    d.dreq(1)
    d.run(60)
    assert d.transfers == 4 and m.mem.read(phys, 5) == bytes([1, 2, 3, 4, 0])
    assert d.get_dma_residue(1) == 0
    assert d.inb(0x08) & 0x02  # TC bit of channel 1 in the status register
    assert not d.inb(0x08) & 0x02  # ... cleared by reading
    assert d.channels[1].masked  # no autoinit: masked at TC


def clocked_transfer(m, data, mode, clocks, ch=1):
    """Program ``ch`` to move ``data`` from a device into a ZONE_DMA buffer,
    raise DREQ and run ``clocks`` clocks; returns (rows, buffer address)."""
    d = m.dma8237
    phys = dma_buffer(m)
    d.attach(ch, IsaDevice("dev", data=data))
    d.program(ch, phys, len(data), mode)
    d.dreq(ch)
    return d.run(clocks), phys


def test_golden_trace_single_mode_one_byte(m):
    rows, phys = clocked_transfer(m, b"\x42", DMA_MODE_READ, 9)
    assert [r["state"] for r in rows] == ["SI", "S0", "S0", "S0", "S1", "S2", "S3", "S4", "SI"]
    assert signal_string(rows, "DREQ") == "111111110"
    assert signal_string(rows, "HRQ") == "111111110"
    assert signal_string(rows, "HLDA") == "000111110"
    assert signal_string(rows, "DACK") == "000011110"
    assert signal_string(rows, "IOR") == "000001110"
    assert signal_string(rows, "MEMW") == "000001110"
    assert signal_string(rows, "MEMR") == "000000000"
    assert signal_string(rows, "EOP") == "000000010"
    assert m.mem.read(phys, 1) == b"\x42"


def test_golden_trace_block_mode_keeps_the_bus(m):
    rows, phys = clocked_transfer(m, b"abc", DMA_MODE_BLOCK | 0x04, 17)  # block mode, I/O -> memory
    # data sheet, Address Generation: S1 only reloads A8-A15, so the next data take S2-S4 (3 clocks)
    assert [r["state"] for r in rows[4:15]] == ["S1", "S2", "S3", "S4", "S2", "S3", "S4", "S2", "S3", "S4", "SI"]
    assert signal_string(rows, "HLDA") == "00011111111111000"
    assert signal_string(rows, "DACK") == "00001111111111000"
    assert signal_string(rows, "EOP") == "00000000000001000"
    assert m.mem.read(phys, 3) == b"abc"


def test_block_mode_repeats_s1_only_when_a8_a15_change(m):
    d = m.dma8237
    phys = dma_buffer(m)
    d.attach(1, IsaDevice("dev", data=bytes(6)))
    d.program(1, phys + 0xFD, 6, DMA_MODE_BLOCK | 0x04)  # addresses ..FD, FE, FF, 100, 101, 102
    d.dreq(1)
    states = [r["state"] for r in d.run(40) if r["state"] not in ("SI", "S0")]
    grant_start, same_latch = ["S1", "S2", "S3", "S4"], ["S2", "S3", "S4"]
    assert states == grant_start + same_latch * 2 + grant_start + same_latch * 2  # S1 again at 0x100


def test_single_mode_gives_the_bus_back_between_bytes(m):
    rows, _ = clocked_transfer(m, b"xy", DMA_MODE_READ, 16)
    # data sheet, Single Transfer Mode: with DREQ held, HRQ goes inactive after the transfer, then rises again
    assert signal_string(rows, "DREQ") == "1111111111111111"
    assert signal_string(rows, "HRQ") == "1111111101111111"
    assert signal_string(rows, "HLDA") == "0001111100001111"


def test_read_transfer_memory_to_device_and_decrement(m):
    d = m.dma8237
    phys = dma_buffer(m)
    m.mem.write(phys, b"0123456789")
    snd = d.attach(2, IsaDevice("sound card"))
    d.program(2, phys + 9, 4, DMA_MODE_WRITE | DMA_MODE_DECREMENT)
    assert d.run_to_tc(2) == 4
    assert bytes(snd.consumed) == b"9876"


def test_autoinit_reloads_base_registers(m):
    d = m.dma8237
    phys = dma_buffer(m)
    m.mem.write(phys, b"ABCD")
    snd = d.attach(3, IsaDevice("looping sound"))
    d.program(3, phys, 4, DMA_MODE_WRITE | DMA_AUTOINIT)
    d.run_to_tc(3)
    assert not d.channels[3].masked and d.get_dma_residue(3) == 4
    d.run_to_tc(3)
    assert bytes(snd.consumed) == b"ABCDABCD"


def test_large_transfer_uses_numpy_and_counts_cpu_hold(m):
    d = m.dma8237
    phys = dma_buffer(m, order=4)  # 64 KiB, 64 KiB aligned in ZONE_DMA
    phys = (phys + 0xFFFF) & ~0xFFFF if phys % 0x10000 else phys
    data = bytes(i % 251 for i in range(0x8000))
    held = {}
    for mode in (0x40, 0x80, 0x00):  # single, block, demand
        d = memlab.dma.Dma8237(m)
        d.attach(1, IsaDevice("dev", data=data, burst=16))
        d.program(1, phys, len(data), mode | 0x04)
        d.run_to_tc(1)
        assert m.mem.read(phys, len(data)) == data
        held[mode] = d.cpu_held_clocks
    assert held[0x80] < held[0x00] < held[0x40] * 2
    # block: one grant, S1 once per 256 bytes (128 times for 32 KiB); single: S1-S4 + the HLDA clock per byte
    assert held[0x80] == 3 * len(data) + len(data) // 256 + 1 and held[0x40] == 5 * len(data)


def test_isa_limits(m):
    d = m.dma8237
    with pytest.raises(DmaError, match="16 MiB"):
        d.set_dma_addr(1, 17 << 20)
    d.set_dma_addr(1, 0xFFF0)
    with pytest.raises(DmaError, match="64 KiB boundary"):
        d.set_dma_count(1, 0x20)
    d.set_dma_addr(5, 0x1FFF0)
    with pytest.raises(DmaError, match="128 KiB boundary"):
        d.set_dma_count(5, 0x20)
    with pytest.raises(DmaError, match="even address"):
        d.set_dma_addr(5, 0x1001)
    with pytest.raises(DmaError, match="cascade"):
        d.enable_dma(4)
    with pytest.raises(DmaError):
        d.set_dma_count(1, 0x10001)
    with pytest.raises(DmaError, match="illegal"):
        d.outb(0x0D, 0x0B)  # transfer type 11


def test_ports_and_flip_flop(m):
    d = m.dma8237
    d.outb(0, 0x0C)
    d.outb(0x34, 0x02)
    d.outb(0x12, 0x02)  # channel 1 address: low then high
    assert d.channels[1].base_addr == 0x1234
    d.outb(0, 0x0C)
    assert d.inb(0x02) == 0x34 and d.inb(0x02) == 0x12
    d.outb(0x05, 0x0A)  # mask channel 1
    assert d.channels[1].masked
    d.outb(0x00, 0x0E)  # clear all masks
    assert not d.channels[1].masked
    lock = d.claim_dma_lock()
    with pytest.raises(DmaError, match="already held"):
        d.claim_dma_lock()
    d.release_dma_lock(lock)
    with pytest.raises(DmaError):
        d.outb(0, 0x50)


def test_dma_alloc_coherent_respects_masks(m):
    isa = m.create_device("isa-card", DMA_BIT_MASK(24))
    cpu, handle = m.dma_alloc_coherent(isa, 4096)
    assert handle < 16 << 20 and cpu == memlab.layout.PAGE_OFFSET + handle
    assert m.zone_of_pfn(handle >> 12).name == "DMA"
    pci = m.create_device("pci-nic")
    cpu2, h2 = m.dma_alloc_coherent(pci, 8192)
    assert m.zone_of_pfn(h2 >> 12).name in ("DMA32", "DMA")
    with pytest.raises(DmaError, match="different size"):
        m.dma_free_coherent(pci, 4096, cpu2, h2)
    m.dma_free_coherent(pci, 8192, cpu2, h2)


def test_streaming_mapping_without_bounce(m):
    dev = m.create_device("nic")
    buf = m.kmalloc(1500)
    m.write(buf, b"packet")
    h = m.dma_map_single(dev, buf, 1500, DMA_TO_DEVICE)
    assert h == buf - memlab.layout.PAGE_OFFSET and not m.dma_mapping_error(dev, h)
    assert dev.dma_read(h, 6) == b"packet"
    m.dma_unmap_single(dev, h, 1500, DMA_TO_DEVICE)
    with pytest.raises(DmaError, match="has not allocated"):
        m.dma_unmap_single(dev, h, 1500, DMA_TO_DEVICE)  # unmapped twice


def test_swiotlb_bounces_when_buffer_is_above_the_mask():
    m = Machine(ram="6GiB")
    dev = m.create_device("pci-32bit", DMA_BIT_MASK(32))  # reaches 4 GiB only
    buf = m.kmalloc(3000)  # in ZONE_NORMAL, above 4 GiB
    assert buf - memlab.layout.PAGE_OFFSET >= 4 << 30
    assert m.dma.swiotlb_start + (1 << 20) <= 4 << 30  # the bounce pool lies below 4 GiB
    m.write(buf, b"to the device")
    h = m.dma_map_single(dev, buf, 3000, DMA_BIDIRECTIONAL)
    assert h != buf - memlab.layout.PAGE_OFFSET and h >= m.dma.swiotlb_start
    assert dev.dma_read(h, 13) == b"to the device"  # copied into the bounce buffer at map time
    dev.dma_write(h, b"FROM THE DEVICE")
    assert m.read(buf, 15) != b"FROM THE DEVICE"  # still in the bounce buffer
    m.dma_unmap_single(dev, h, 3000, DMA_BIDIRECTIONAL)
    assert m.read(buf, 15) == b"FROM THE DEVICE"  # copied back at unmap
    assert sum(m.dma.slot_used) == 0


def test_swiotlb_limits_and_mapping_error():
    m = Machine(ram="6GiB")
    dev = m.create_device("pci-32bit", DMA_BIT_MASK(32))
    isa = m.create_device("isa", DMA_BIT_MASK(24))
    low_pool_miss = m.dma_map_single(isa, m.kmalloc(64), 64, DMA_TO_DEVICE)
    assert low_pool_miss == DMA_MAPPING_ERROR and "overflow" in m.dma.debug_log[-1]
    big = m.kmalloc(300 << 10)
    assert m.dma_mapping_error(dev, m.dma_map_single(dev, big, 300 << 10, DMA_TO_DEVICE))  # > 256 KiB
    assert "IO_TLB_SEGSIZE" in m.dma.debug_log[-1]
    handles = []
    big_buf = m.kmalloc(256 << 10)  # one buffer mapped again and again: each mapping takes its own slots
    per_pool = IO_TLB_DEFAULT_SIZE // (256 << 10)
    for _ in range(per_pool + 1):  # the 64 MiB pool holds 256 mappings of 256 KiB
        handles.append(m.dma_map_single(dev, big_buf, 256 << 10, DMA_TO_DEVICE))
    assert handles[-1] == DMA_MAPPING_ERROR and "swiotlb buffer is full" in m.dma.debug_log[-1]
    assert DMA_MAPPING_ERROR not in handles[:per_pool] and len(set(handles[:per_pool])) == per_pool
    assert m.dma.swiotlb.slots_used == sum(m.dma.slot_used) == m.dma.swiotlb_slots  # the count and the slots agree


def test_wrong_direction_and_size_are_refused(m):
    dev = m.create_device("nic")
    buf = m.kmalloc(512)
    h = m.dma_map_single(dev, buf, 512, DMA_FROM_DEVICE)
    with pytest.raises(DmaError, match=r"mapped with DMA_FROM_DEVICE.*unmapped with DMA_TO_DEVICE"):
        m.dma_unmap_single(dev, h, 512, DMA_TO_DEVICE)
    with pytest.raises(DmaError, match="different size"):
        m.dma_unmap_single(dev, h, 256, DMA_FROM_DEVICE)
    with pytest.raises(DmaError, match="direction"):
        m.dma_map_single(dev, buf, 512, 7)
    vbuf = m.vmalloc(4096)
    with pytest.raises(DmaError, match="vmalloc"):
        m.dma_map_single(dev, vbuf, 4096, DMA_TO_DEVICE)
    m.dma_unmap_single(dev, h, 512, DMA_FROM_DEVICE)


def test_stale_read_without_sync_on_non_coherent_device(m):
    dev = m.create_device("arm-style", coherent=False)
    buf = m.kmalloc(256)
    h = m.dma_map_single(dev, buf, 256, DMA_FROM_DEVICE)
    assert m.dma.cpu_read(buf, 4, dev) == b"\x00" * 4  # the CPU peeks: the line is now cached
    dev.dma_write(h, b"NEW!")
    assert m.dma.cpu_read(buf, 4, dev) == b"\x00" * 4  # stale: the cache still has the old line
    m.dma_sync_single_for_cpu(dev, h, 256, DMA_FROM_DEVICE)
    assert m.dma.cpu_read(buf, 4, dev) == b"NEW!"
    coherent = m.create_device("x86-style")
    h2 = m.dma_map_single(coherent, buf, 256, DMA_FROM_DEVICE)
    coherent.dma_write(h2, b"FRESH")
    assert m.dma.cpu_read(buf, 5, coherent) == b"FRESH"  # x86: coherent, no stale data


def test_cpu_writes_need_sync_for_device_on_non_coherent(m):
    dev = m.create_device("arm-style", coherent=False)
    buf = m.kmalloc(128)
    h = m.dma_map_single(dev, buf, 128, DMA_TO_DEVICE)
    m.dma.cpu_write(buf, b"cmd1", dev)  # sits in a dirty cache line
    assert dev.dma_read(h, 4) == b"\x00" * 4
    m.dma_sync_single_for_device(dev, h, 128, DMA_TO_DEVICE)
    assert dev.dma_read(h, 4) == b"cmd1"


def test_dma_pool(m):
    dev = m.create_device("usb")
    pool = m.dma_pool_create("td", dev, 48, align=16)
    blocks = [pool.dma_pool_alloc() for _ in range(100)]
    assert pool.size == 48 and len(pool.pages) == -(-100 // (4096 // 48))
    cpus = {c for c, _ in blocks}
    assert len(cpus) == 100
    assert all((d % 4096) + 48 <= 4096 for _, d in blocks)  # never crosses a page
    with pytest.raises(DmaError, match="busy"):
        pool.dma_pool_destroy()
    for c, d in blocks:
        pool.dma_pool_free(c, d)
    with pytest.raises(DmaError):
        pool.dma_pool_free(*blocks[0])
    pool.dma_pool_destroy()


# ------------------------------------------------------------------ swiotlb, syncs, dma pools (Linux 6.12)


def test_no_swiotlb_below_4gib_unless_forced():
    # arch/x86/kernel/pci-dma.c pci_swiotlb_detect(): only when RAM reaches above 4 GiB, or swiotlb=force
    small = Machine(ram="1GiB")
    assert small.dma.swiotlb is None
    dev = small.create_device("isa-bridge", DMA_BIT_MASK(24))
    free_before = small.nr_free_pages
    page = small.alloc_pages(0, "GFP_DMA32")  # ZONE_DMA32 starts at 16 MiB: out of the ISA device's reach
    buf = memlab.layout.phys_to_virt(page.phys_addr)
    assert small.dma_map_single(dev, buf, 64, DMA_TO_DEVICE) == DMA_MAPPING_ERROR
    assert "no swiotlb" in small.dma.debug_log[-1] and not dev.mappings
    forced = Machine(ram="1GiB", swiotlb="force")
    start, size = forced.swiotlb_range
    assert size == IO_TLB_DEFAULT_SIZE == 64 << 20 and start + size == 1 << 30  # top of low memory
    assert forced.nr_free_pages == free_before - (64 << 20 >> 12)  # reserved at boot
    assert Machine(ram="6GiB", swiotlb="noforce").dma.swiotlb is None
    with pytest.raises(memlab.MemlabError, match="'sometimes'"):
        Machine(ram="1GiB", swiotlb="sometimes")


def test_from_device_mapping_keeps_the_bytes_the_device_did_not_write():
    # swiotlb_tbl_map_single() copies the buffer into the slots for every direction (5.18+), so a
    # device that writes only part of a DMA_FROM_DEVICE buffer does not leak old slot contents
    m = Machine(ram="6GiB")
    dev = m.create_device("pci-32bit", DMA_BIT_MASK(32))
    dirty = m.kmalloc(512)
    m.write(dirty, b"S" * 512)
    h = m.dma_map_single(dev, dirty, 512, DMA_TO_DEVICE)  # leaves "SSS..." in the first slot
    m.dma_unmap_single(dev, h, 512, DMA_TO_DEVICE)
    buf = m.kmalloc(512)
    m.write(buf, b"B" * 512)
    h2 = m.dma_map_single(dev, buf, 512, DMA_FROM_DEVICE)
    assert h2 == h  # the same slot again
    dev.dma_write(h2, b"dev")
    m.dma_unmap_single(dev, h2, 512, DMA_FROM_DEVICE)
    assert m.read(buf, 8) == b"devBBBBB"  # not "devSSSSS": the slot held a copy of buf


def test_sync_for_device_bounces_only_towards_the_device():
    m = Machine(ram="6GiB")
    dev = m.create_device("pci-32bit", DMA_BIT_MASK(32))
    buf = m.kmalloc(256)
    h = m.dma_map_single(dev, buf, 256, DMA_FROM_DEVICE)
    copies = m.dma.bounce_copies
    m.write(buf, b"cpu scribble")
    m.dma_sync_single_for_device(dev, h, 256, DMA_FROM_DEVICE)
    assert m.dma.bounce_copies == copies and dev.dma_read(h, 3) != b"cpu"  # no copy for FROM_DEVICE
    dev.dma_write(h, b"reply")
    m.dma_sync_single_for_cpu(dev, h, 256, DMA_FROM_DEVICE)
    assert m.read(buf, 5) == b"reply" and m.dma.bounce_copies == copies + 1
    m.dma_unmap_single(dev, h, 256, DMA_FROM_DEVICE)
    h = m.dma_map_single(dev, buf, 256, DMA_TO_DEVICE)
    m.write(buf, b"second command")
    m.dma_sync_single_for_device(dev, h, 256, DMA_TO_DEVICE)
    assert dev.dma_read(h, 14) == b"second command"
    m.dma_unmap_single(dev, h, 256, DMA_TO_DEVICE)


def test_partial_syncs_and_the_dma_debug_messages():
    m = Machine(ram="6GiB")
    dev = m.create_device("pci-32bit", DMA_BIT_MASK(32))
    buf = m.kmalloc(4096)
    h = m.dma_map_single(dev, buf, 4096, DMA_FROM_DEVICE)
    assert h % 4096 == 0  # a mapping of a page or more starts on a page of the pool
    dev.dma_write(h, b"A" * 4096)
    m.dma_sync_single_range_for_cpu(dev, h, 1024, 16, DMA_FROM_DEVICE)
    assert m.read(buf + 1024, 16) == b"A" * 16 and m.read(buf, 1) != b"A"  # only the range came back
    with pytest.raises(DmaError, match=r"outside allocated range .*sync offset\+size=4097"):
        m.dma_sync_single_range_for_cpu(dev, h, 4000, 97, DMA_FROM_DEVICE)
    with pytest.raises(DmaError, match="has not allocated"):
        m.dma_sync_single_for_cpu(dev, h + 8192, 16, DMA_FROM_DEVICE)
    with pytest.raises(DmaError, match=r"mapped with DMA_FROM_DEVICE.*synced with DMA_TO_DEVICE"):
        m.dma_sync_single_for_device(dev, h, 16, DMA_TO_DEVICE)
    m.dma_unmap_single(dev, h, 4096, DMA_FROM_DEVICE)
    bidi = m.dma_map_single(dev, buf, 100, DMA_BIDIRECTIONAL)
    m.dma_sync_single_for_cpu(dev, bidi, 100, DMA_FROM_DEVICE)  # any direction on a bidirectional map
    m.dma_unmap_single(dev, bidi, 100, DMA_BIDIRECTIONAL)
    low = Machine(ram="64MiB")
    nic = low.create_device("nic")
    pkt = low.kmalloc(64)
    low.dma_map_single(nic, pkt, 64, DMA_TO_DEVICE)
    with pytest.raises(DmaError, match="overlapping mappings aren't supported"):
        low.dma_map_single(nic, pkt, 64, DMA_TO_DEVICE)
    assert len(nic.mappings) == 1


def test_coherent_allocation_starts_in_the_zone_the_mask_allows():
    m = Machine(ram="6GiB")
    dev30 = m.create_device("30-bit", DMA_BIT_MASK(30))
    _, handle = m.dma_alloc_coherent(dev30, 8192)
    assert handle + 8192 <= 1 << 30 and m.zone_of_pfn(handle >> 12).name in ("DMA32", "DMA")
    dev64 = m.create_device("64-bit", DMA_BIT_MASK(64))
    _, high = m.dma_alloc_coherent(dev64, 4096)
    assert m.zone_of_pfn(high >> 12).name == "Normal"
    isa = m.create_device("isa", DMA_BIT_MASK(24))
    _, low = m.dma_alloc_coherent(isa, 4096)
    assert m.zone_of_pfn(low >> 12).name == "DMA" and low >= 1 << 20  # never the reserved first MiB


def test_dma_pool_alloc_does_not_zero_but_zalloc_does(m):
    dev = m.create_device("usb")
    pool = m.dma_pool_create("qh", dev, 8)  # below 16 bytes: a block still holds the free-list entry
    assert pool.size == 16
    cpu, dma = pool.dma_pool_alloc()
    m.write(cpu, b"old descriptor!!")
    pool.dma_pool_free(cpu, dma)
    again = pool.dma_pool_alloc()
    assert again == (cpu, dma) and m.read(cpu, 16) == b"old descriptor!!"  # LIFO, not zeroed
    pool.dma_pool_free(*again)
    z = pool.dma_pool_zalloc()
    assert z == (cpu, dma) and m.read(cpu, 16) == bytes(16)
    big = m.dma_pool_create("ring", dev, 6000, boundary=8192)
    b1, b2 = big.dma_pool_alloc(), big.dma_pool_alloc()
    assert big.allocation == 6000 and b2[1] != b1[1] + 6000  # a block per allocation when > a page
    with pytest.raises(memlab.MemlabError, match="boundary 4096 is smaller"):
        m.dma_pool_create("bad", dev, 6000, boundary=4096)


from conftest import examples  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=examples(0.4))
@given(
    ch=st.sampled_from([1, 2, 3, 5, 6, 7]),
    offset=st.integers(0, 0xFFF0),
    count=st.integers(1, 300),
    mode=st.sampled_from([DMA_MODE_DEMAND, 0x40, DMA_MODE_BLOCK]),
    down=st.booleans(),
    to_memory=st.booleans(),
    fast=st.booleans(),
)
def test_any_transfer_moves_exactly_its_bytes(ch, offset, count, mode, down, to_memory, fast):
    m = Machine(ram="20MiB")
    width = 1 if ch <= 3 else 2
    base = 0x20000 if width == 1 else 0x40000  # a 64/128 KiB aligned window in ZONE_DMA
    span = count * width
    offset = offset & ~(width - 1)
    if down:
        offset = max(offset, span - width)
    window = 0x10000 if width == 1 else 0x20000
    offset = min(offset, window - (0 if down else span)) & ~(width - 1)
    if down:
        offset = max(offset, span - width)
        lo = base + offset - span + width
    else:
        lo = base + offset
    sentinel = bytes([0xEE]) * (window + 64)
    m.mem.write(base - 32, sentinel)
    payload = bytes((i * 7 + 1) % 256 for i in range(span))
    d = m.dma8237
    dev = d.attach(ch, IsaDevice("dev", data=payload, burst=3))
    if not to_memory:
        m.mem.write(lo, payload)
    d.program(ch, base + offset, span, mode | (0x04 if to_memory else 0x08) | (DMA_MODE_DECREMENT if down else 0))
    moved = d.run_to_tc(ch, trace_limit=0 if fast else 10**6)
    assert moved == count and d.get_dma_residue(ch) == 0
    after = m.mem.read(base - 32, window + 64)
    if to_memory:
        expected = payload if not down else b"".join(payload[i : i + width] for i in range(span - width, -1, -width))
        assert m.mem.read(lo, span) == expected
    else:
        expected_consumed = (
            payload if not down else b"".join(payload[i : i + width] for i in range(span - width, -1, -width))
        )
        assert bytes(dev.consumed) == expected_consumed
    rel = lo - (base - 32)
    assert after[:rel] == sentinel[:rel] and after[rel + span :] == sentinel[rel + span :]


def test_decrement_transfer_may_not_cross_a_boundary_downwards(m):
    d = m.dma8237
    d.set_dma_mode(1, DMA_MODE_READ | DMA_MODE_DECREMENT)
    d.set_dma_addr(1, 0x20008)
    with pytest.raises(DmaError, match="64 KiB boundary"):
        d.set_dma_count(1, 0x10)
    d.set_dma_count(1, 9)


@pytest.mark.parametrize("mode", [DMA_MODE_DEMAND, 0x40, DMA_MODE_BLOCK])
@pytest.mark.parametrize("ch", [1, 5])
def test_bulk_and_clocked_runs_count_the_same(m, mode, ch):
    counts = []
    phys = dma_buffer(m, order=1)
    for limit in (10**6, 0):
        d = memlab.dma.Dma8237(m)
        d.attach(ch, IsaDevice("dev", data=b"x" * 600, burst=4))
        d.program(ch, phys + 0xF0, 600, mode | 0x04)  # crosses 256-byte (and 512-byte) address lines
        d.run_to_tc(ch, trace_limit=limit)
        d.program(ch, phys + 0xF0, 600, mode | 0x04)  # a second run right after the bus release
        d.run_to_tc(ch, trace_limit=limit)
        counts.append((d.clocks, d.cpu_held_clocks))
    assert counts[0] == counts[1]


def served_with_dreq_held(d, channels, clocks):
    """Clock ``d`` with every unmasked channel of ``channels`` holding DREQ;
    the channel served by each S1, in order."""
    served = []
    for _ in range(clocks):
        row = d.clock()
        if row["state"] == "S1":
            served.append(row["DACK"])
        for ch in channels:
            d.channels[ch].device.dreq = not d.channels[ch].masked
    return served


def served_order(m, rotating):
    d = memlab.dma.Dma8237(m)
    phys = dma_buffer(m)
    if rotating:
        d.outb(0x10, 0x08)  # command register: rotating priority
    for ch in (1, 2, 3):
        d.attach(ch, IsaDevice(f"dev{ch}", data=b"x" * 4))
        d.program(ch, phys + ch * 16, 4, DMA_MODE_READ)
        d.dreq(ch)
    return served_with_dreq_held(d, (1, 2, 3), 200)


def test_pc_at_priority_puts_channels_0_to_3_first(m):
    # channels 0-3 come in through cascade channel 4, the second controller's highest-priority channel
    d = m.dma8237
    phys = dma_buffer(m, order=5)
    for ch in (7, 5, 3, 1):
        d.attach(ch, IsaDevice(f"dev{ch}", data=b"xxxx"))
        d.program(ch, phys + ch * 0x400, 4, DMA_MODE_BLOCK | 0x04)
        d.dreq(ch)
    served = [r["DACK"] for r in d.run(200) if r["state"] == "S1"]
    assert served == [1, 3, 5, 7]


def test_rotating_priority_on_the_second_controller_rotates_the_cascade(m):
    d = m.dma8237
    d.outb(0x10, 0xD0)  # second controller's command register: rotating priority
    phys = dma_buffer(m, order=5)
    for ch in (1, 5, 6):
        d.attach(ch, IsaDevice(f"dev{ch}", data=b"x" * 4))
        d.program(ch, phys + ch * 0x400, 4, DMA_MODE_READ)
        d.dreq(ch)
    served = served_with_dreq_held(d, (1, 5, 6), 300)
    assert served[:6] == [1, 5, 6, 1, 5, 6]  # channel 4 (here: channel 1) takes its turn with 5 and 6


def test_controller_disable_and_the_cascade_mask(m):
    d = m.dma8237
    phys = dma_buffer(m)
    d.attach(1, IsaDevice("dev", data=b"ab"))
    d.program(1, phys, 2, DMA_MODE_READ)
    d.dreq(1)
    d.outb(0x04, 0x08)  # command bit 2: first controller disabled
    assert all(r["HRQ"] == 0 for r in d.run(20)) and d.transfers == 0
    d.outb(0x00, 0x08)
    d.outb(0x04 | 0, 0xD4)  # mask channel 4 (the cascade): channels 0-3 are cut off
    assert all(r["HRQ"] == 0 for r in d.run(20))
    d.outb(0x00, 0xD4)
    d.outb(0x04, 0xD0)  # second controller disabled: nothing reaches the CPU
    assert all(r["HRQ"] == 0 for r in d.run(20))
    d.outb(0x00, 0xD0)
    d.run(40)
    assert d.transfers == 2


def test_software_requests_ignore_the_mask_and_need_block_mode(m):
    d = m.dma8237
    phys = dma_buffer(m)
    d.attach(2, IsaDevice("memory fill", data=b"soft"))
    d.program(2, phys, 4, DMA_MODE_READ)  # single mode
    d.disable_dma(2)
    with pytest.raises(DmaError, match="only in block mode"):
        d.outb(0x04 | 2, 0x09)
    assert not d.channels[2].request
    d.set_dma_mode(2, DMA_MODE_BLOCK | 0x04)
    d.outb(0x04 | 2, 0x09)  # request register: software request on channel 2, which is masked
    d.run(40)
    assert m.mem.read(phys, 4) == b"soft" and not d.channels[2].request  # cleared at TC


def test_odd_byte_count_on_a_16_bit_channel(m):
    d = m.dma8237
    phys = dma_buffer(m)
    d.set_dma_mode(5, DMA_MODE_READ)
    d.set_dma_addr(5, phys)
    d.set_dma_count(5, 5)  # arch/x86/include/asm/dma.h: (count - 1) >> 1 = 2, so three words
    assert d.channels[5].base_count == 2 and d.get_dma_residue(5) == 6


def test_fixed_and_rotating_priority(m):
    assert served_order(m, rotating=False)[:6] == [1, 1, 1, 1, 2, 2]  # channel 1 first until its TC
    assert served_order(m, rotating=True)[:6] == [1, 2, 3, 1, 2, 3]  # each served one goes last


def test_dma_api_refuses_foreign_devices_bad_handles_and_buffers_past_ram():
    m = memlab.Machine(ram="64MiB")
    other = memlab.Machine(ram="64MiB")
    dev = m.create_device("nic", DMA_BIT_MASK(32))
    foreign = other.create_device("nic", DMA_BIT_MASK(32))
    buf = m.kmalloc(256)
    with pytest.raises(DmaError, match="not a device of this machine"):
        m.dma_map_single(foreign, buf, 256, DMA_TO_DEVICE)
    with pytest.raises(DmaError, match="past the end of RAM"):
        m.dma_map_single(dev, buf, 1 << 40, DMA_TO_DEVICE)  # used to take seconds, then succeed
    with pytest.raises(DmaError, match="must be an int"):
        m.dma_map_single(dev, None, 256, DMA_TO_DEVICE)
    for bad in (None, 1.5, "h"):
        with pytest.raises(DmaError, match="dma_addr_t"):
            m.dma_unmap_single(dev, bad, 256, DMA_TO_DEVICE)
    assert not dev.mappings and not foreign.mappings
    with pytest.raises(DmaError, match="the mode is a byte"):
        m.dma8237.set_dma_mode(1, -4)


def test_the_8237_trace_is_a_bounded_ring():
    from memlab.dma.i8237 import TRACE_LEN

    m = Machine(ram="64MiB")
    ctrl = m.dma8237
    ctrl.run(TRACE_LEN + 500)
    assert len(ctrl.trace) == TRACE_LEN and ctrl.trace[-1]["clock"] == ctrl.clocks
    assert ctrl.trace[0]["clock"] == ctrl.clocks - TRACE_LEN + 1


def test_run_to_tc_counts_only_its_own_channel_and_a_deviceless_request_works():
    from memlab.dma import DMA_MODE_READ, DMA_MODE_SINGLE, IsaDevice

    m = Machine(ram="64MiB")
    c = m.dma8237
    c.attach(2, IsaDevice("busy", data=b"x" * 100))
    c.attach(3, IsaDevice("starved", data=b"y" * 100))
    c.program(2, 0x100000, 8, DMA_MODE_READ | DMA_MODE_SINGLE)
    c.program(3, 0x110000, 8, DMA_MODE_READ | DMA_MODE_SINGLE)
    c.dreq(2)  # channel 2 has priority over 3
    moved = c.run_to_tc(3)
    assert moved == 8 - c.get_dma_residue(3) and c.channels[3].moved == moved
    assert c.channels[2].moved == 8  # the bus went to channel 2 first
    m2 = Machine(ram="64MiB")
    c2 = m2.dma8237
    c2.program(1, 0x100000, 4, DMA_MODE_READ | DMA_MODE_SINGLE)
    assert c2.run_to_tc(1) == 4  # no device attached: run_to_tc lends one; _move_one copes without


def test_a_software_request_on_a_channel_without_a_device_moves_floating_bus_bytes():
    from memlab.dma.isa import DMA_MODE_BLOCK, WRITE_TRANSFER

    m = Machine(ram="64MiB")
    c = m.dma8237
    c.program(1, 0x100000, 4, DMA_MODE_BLOCK | WRITE_TRANSFER)  # device -> memory, nothing attached
    c.outb(0x04 | 1, 0x09)  # request register: set the request bit of channel 1
    c.run(40)
    assert c.channels[1].moved == 4 and m.mem.read(0x100000, 4) == b"\xff" * 4


def test_a_transfer_past_the_page_edge_wraps_inside_the_page_as_the_chip_does():
    from memlab.dma import DMA_MODE_READ, DMA_MODE_SINGLE, IsaDevice

    m = Machine(ram="64MiB")
    c = m.dma8237
    c.attach(1, IsaDevice("disk", data=bytes(range(200))))
    c.set_dma_mode(1, DMA_MODE_READ | DMA_MODE_SINGLE)
    # program through the ports, as set_dma_count() would refuse: address 0xFFF0 of page 0x10, 100 bytes
    c.outb(0, 0x0C)
    c.outb(0xF0, 0x02), c.outb(0xFF, 0x02)
    c.outb(99, 0x03), c.outb(0, 0x03)
    c.outb(0x10, 0x83)  # page register of channel 1
    c.enable_dma(1)
    assert c.run_to_tc(1, trace_limit=8) == 100  # long enough for the bulk path, but it wraps: clocked
    assert m.mem.read(0x10FFF0, 16) == bytes(range(16))  # up to the top of the page
    assert m.mem.read(0x100000, 84) == bytes(range(16, 100))  # then from the start of the same page
    assert m.mem.read(0x110000, 16) == bytes(16)  # never into the next page
