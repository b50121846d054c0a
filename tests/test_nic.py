"""The e1000-like network card and its driver (issue 10): registers through
ioremap/readl/writel, the descriptor rings in coherent DMA memory, packets
both ways, and the classic DMA mistakes."""

import pytest

from memlab import Machine, MemlabError
from memlab.dma import DMA_BIT_MASK, E1000, E1000_REGS, DmaError, E1000Driver


def setup(**kw):
    m = Machine(ram="256MiB")
    nic = E1000(m, **{k: v for k, v in kw.items() if k in ("coherent", "dma_mask")})
    drv = E1000Driver(nic, **{k: v for k, v in kw.items() if k not in ("coherent", "dma_mask")})
    return m, nic, drv


def test_probe_programs_the_rings_through_the_bar():
    m, nic, drv = setup()
    regs = {name: m.kernel.readl(drv.regs + off) for name, off in E1000_REGS.items() if name != "ICR"}
    assert regs["RDBAL"] == drv.rx_dma and regs["TDBAL"] == drv.tx_dma and regs["RDLEN"] == 8 * 16
    assert (regs["RDH"], regs["RDT"]) == (0, 7)  # the card owns descriptors 0..6
    assert regs["RCTL"] == regs["TCTL"] == 2 and regs["IMS"] == 0x81 and regs["STATUS"] == 3
    assert any("ioremap(0xfebc0000" in line for line in nic.trace)
    # every receive descriptor holds the DMA address of a mapped buffer
    for i, (buf, handle) in enumerate(drv.rx_bufs):
        assert int.from_bytes(m.read(drv.rx_cpu + 16 * i, 8), "little") == handle == buf - 0xFFFF888000000000


def test_icr_clears_when_read_and_mmio_needs_an_ioremap_address():
    m, nic, drv = setup()
    nic.irq_handler = None
    m.kernel.writel(0x80, drv.regs + E1000_REGS["ICS"])
    assert m.kernel.readl(drv.regs + E1000_REGS["ICR"]) == 0x80
    assert m.kernel.readl(drv.regs + E1000_REGS["ICR"]) == 0
    with pytest.raises(MemlabError, match="ioremap"):
        m.kernel.readl(0xFFFF888000001000)
    with pytest.raises(MemlabError, match="aligned"):
        m.kernel.readl(drv.regs + 2)


def test_packets_travel_both_ways_and_the_ring_wraps():
    m, nic, drv = setup()
    p = m.spawn("app")
    buf = p.libc.malloc(100)
    for k in range(20):  # more than the ring: descriptors are refilled and handed back
        pkt = b"packet %02d " % k * 3
        assert nic.receive(pkt)
        assert drv.recv(p, buf, 100) == len(pkt) and p.read(buf, len(pkt)) == pkt
    assert m.kernel.readl(drv.regs + E1000_REGS["RDH"]) == 20 % 8
    for k in range(12):
        drv.xmit(b"reply %d" % k)
    assert nic.wire == [b"reply %d" % k for k in range(12)] and drv.tx_clean == drv.tx_next


def test_a_full_ring_drops_packets_until_the_driver_refills():
    _m, nic, drv = setup()
    nic.irq_handler = None  # interrupts lost: nobody cleans the ring
    assert all(nic.receive(b"x") for _ in range(7)) and not nic.receive(b"x")
    assert nic.missed == 1 and "dropped" in nic.trace[-1]
    drv.interrupt()  # the driver cleans the 7 and rings the doorbell
    assert len(drv.received) == 7 and nic.receive(b"y")


def test_an_unchecked_mapping_error_lets_the_card_write_anywhere():
    m = Machine(ram="256MiB")
    with pytest.raises(DmaError, match="dma_map_single of the receive buffer"):
        E1000Driver(E1000(m, dma_mask=DMA_BIT_MASK(24)))  # kmalloc memory above 16 MiB: no mapping possible
    m, nic, _drv = setup(dma_mask=DMA_BIT_MASK(24), check_mapping_error=False)
    with pytest.raises(DmaError, match="has not allocated"):  # dma-debug notices at unmap ...
        nic.receive(b"Z" * 32)
    assert m.mem.read(0xFFFFFF, 1) == b"Z" and m.mem.read(0, 31) == b"Z" * 31  # ... after the card wrote


@pytest.mark.parametrize("coherent", [True, False])
def test_reading_a_buffer_the_device_owns(coherent):
    m, nic, drv = setup(coherent=coherent, unmap_before_reading=False, clear_after_map=True)
    p = m.spawn("app")
    buf = p.libc.malloc(64)
    nic.receive(b"fresh data")
    n = drv.recv(p, buf, 64)
    # x86 (coherent) hides the bug; a non-coherent CPU reads its own cached zeros
    assert p.read(buf, n) == (b"fresh data" if coherent else bytes(10))


def test_the_right_order_works_on_a_non_coherent_card():
    m, nic, drv = setup(coherent=False)
    p = m.spawn("app")
    buf = p.libc.malloc(64)
    nic.receive(b"fresh data")
    assert drv.recv(p, buf, 64) == 10 and p.read(buf, 10) == b"fresh data"
    drv.xmit(b"written by the CPU")  # dirty cache lines written back by dma_map_single(TO_DEVICE)
    assert nic.wire == [b"written by the CPU"]
