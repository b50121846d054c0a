"""A network card and its driver: memory-mapped registers and DMA rings.

:class:`E1000` is a small model of Intel's 82540EM gigabit card (the e1000
that QEMU emulates): a 128 KiB register BAR the driver reaches with
``ioremap`` + ``readl``/``writel``, and two rings of 16-byte descriptors in
coherent DMA memory. The register offsets and bits are the card's (as
drivers/net/ethernet/intel/e1000/e1000_hw.h names them): CTRL 0x0000 (RST
bit 26), STATUS 0x0008, ICR 0x00C0 (interrupt cause, cleared when read), ICS
0x00C8, IMS 0x00D0 (mask set), IMC 0x00D8 (mask clear), RCTL 0x0100 and TCTL
0x0400 (EN bit 1), RDBAL/RDBAH/RDLEN/RDH/RDT 0x2800-0x2818 and
TDBAL/TDBAH/TDLEN/TDH/TDT 0x3800-0x3818. A receive descriptor is {u64
buffer address, u16 length, u16 checksum, u8 status (DD 0x01, EOP 0x02), u8
errors, u16 special}; a transmit descriptor {u64 address, u16 length, u8
cso, u8 cmd (EOP 0x01, IFCS 0x02, RS 0x08), u8 status (DD 0x01), u8 css, u16
special}. The card owns the receive descriptors from RDH up to RDT - 1;
writing RDT (the *doorbell*) hands more to it; writing TDT asks it to send.

:class:`E1000Driver` does what the kernel's e1000 driver does at probe, in
its interrupt handler and in its transmit routine, reduced to the memory
steps: ``ioremap`` the BAR, ``dma_alloc_coherent`` the rings, ``kmalloc`` a
buffer per receive descriptor and ``dma_map_single`` it (checking
``dma_mapping_error``), program the ring registers, unmap a filled buffer
before reading it, refill and ring the doorbell. Every step goes to
``trace``. Three switches make the classic mistakes reproducible:
``check_mapping_error=False`` (a failed mapping's DMA_MAPPING_ERROR goes into
a descriptor), ``clear_after_map=True`` (the CPU writes a buffer the device
owns) and ``unmap_before_reading=False`` (the packet is read before the
buffer is given back to the CPU); on a non-coherent card the last two make
the driver read its own cache instead of what the card wrote.

Simplifications: no PHY, link, EEPROM, checksum offload, multicast table or
interrupt moderation; the interrupt runs the handler at once; one packet
per descriptor; the wire is a Python list.
"""

from __future__ import annotations

from ..errors import MemlabError
from .api import DMA_FROM_DEVICE, DMA_TO_DEVICE, DmaError

__all__ = ["E1000", "E1000Driver", "E1000_REGS"]

#: register name -> offset in BAR0 (e1000_hw.h)
E1000_REGS = {
    "CTRL": 0x0000, "STATUS": 0x0008, "ICR": 0x00C0, "ICS": 0x00C8, "IMS": 0x00D0, "IMC": 0x00D8,
    "RCTL": 0x0100, "TCTL": 0x0400,
    "RDBAL": 0x2800, "RDBAH": 0x2804, "RDLEN": 0x2808, "RDH": 0x2810, "RDT": 0x2818,
    "TDBAL": 0x3800, "TDBAH": 0x3804, "TDLEN": 0x3808, "TDH": 0x3810, "TDT": 0x3818,
}  # fmt: skip
_NAMES = {v: k for k, v in E1000_REGS.items()}
BAR0_SIZE = 128 * 1024
CTRL_RST = 1 << 26
RCTL_EN = TCTL_EN = 1 << 1
ICR_TXDW, ICR_RXT0 = 0x01, 0x80
DD, EOP = 0x01, 0x02  # descriptor status: done, end of packet
TX_EOP, TX_IFCS, TX_RS = 0x01, 0x02, 0x08
DESC = 16


class E1000:
    """The card: registers behind a BAR at ``bar`` (physical), DMA as the
    machine's DMA API device ``dev``; ``wire`` holds what it sent."""

    def __init__(self, machine, name="eth0", bar=0xFEBC0000, coherent=True, dma_mask=None):
        self.machine = machine
        self.bar = bar
        self.dev = machine.create_device(name, dma_mask, coherent)
        self.regs = dict.fromkeys(E1000_REGS.values(), 0)
        self.regs[E1000_REGS["STATUS"]] = 0x3  # full duplex, link up
        self.wire: list[bytes] = []
        self.missed = 0  # packets dropped: no descriptor
        self.irq_handler = None
        self.trace: list[str] = []
        machine.kernel.attach_mmio(bar, BAR0_SIZE, self)

    def _reg(self, name):
        return self.regs[E1000_REGS[name]]

    def mmio_read(self, offset):
        value = self.regs.get(offset, 0)
        if offset == E1000_REGS["ICR"]:
            self.regs[offset] = 0  # read to clear
        return value

    def mmio_write(self, offset, value):
        r = E1000_REGS
        if offset == r["CTRL"] and value & CTRL_RST:
            self.regs = dict.fromkeys(E1000_REGS.values(), 0)
            self.regs[r["STATUS"]] = 0x3
            return
        if offset == r["IMS"]:
            self.regs[offset] |= value
        elif offset == r["IMC"]:
            self.regs[r["IMS"]] &= ~value
        elif offset == r["ICS"]:
            self._cause(value)
        else:
            self.regs[offset] = value
        if offset == r["TDT"]:
            self._transmit()

    def _ring(self, prefix):
        base = self._reg(prefix + "BAL") | self._reg(prefix + "BAH") << 32
        return base, self._reg(prefix + "LEN") // DESC

    def _cause(self, bits):
        self.regs[E1000_REGS["ICR"]] |= bits
        if self.regs[E1000_REGS["IMS"]] & bits and self.irq_handler is not None:
            self.trace.append(f"card: interrupt (ICR {self.regs[E1000_REGS['ICR']]:#04x})")
            self.irq_handler()

    def receive(self, packet: bytes) -> bool:
        """A packet arrives from the wire: the card DMAs it into the buffer
        of the descriptor at RDH, writes length and DD|EOP back, advances
        RDH and raises RXT0. False (dropped) without a free descriptor."""
        base, n = self._ring("RD")
        head, tail = self._reg("RDH"), self._reg("RDT")
        if not self._reg("RCTL") & RCTL_EN or n == 0 or head == tail:
            self.missed += 1
            self.trace.append(f"card: packet of {len(packet)} bytes dropped: no descriptor (RDH {head} == RDT {tail})")
            return False
        desc = base + head * DESC
        addr = int.from_bytes(self.dev.dma_read(desc, 8), "little")
        wired = addr & self.dev.dma_mask  # the card drives only as many address lines as its mask
        if wired != addr:
            self.trace.append(
                f"card: descriptor {head} holds {addr:#x}; with {self.dev.dma_mask.bit_length()} address lines "
                f"the card writes to {wired:#x}"
            )
        first = min(len(packet), self.dev.dma_mask + 1 - wired)
        self.dev.dma_write(wired, packet[:first])
        if first < len(packet):  # the address counter wraps at the top of what the card can reach
            self.dev.dma_write(0, packet[first:])
            self.trace.append(f"card: its address wrapped: {len(packet) - first} bytes written at physical 0")
        addr = wired
        self.dev.dma_write(desc + 8, len(packet).to_bytes(2, "little") + bytes(2) + bytes([DD | EOP, 0]))
        self.regs[E1000_REGS["RDH"]] = (head + 1) % n
        self.trace.append(f"card: DMA of {len(packet)} bytes to {addr:#x} (descriptor {head}), DD|EOP written back")
        self._cause(ICR_RXT0)
        return True

    def _transmit(self):
        base, n = self._ring("TD")
        if not self._reg("TCTL") & TCTL_EN or n == 0:
            return
        sent = 0
        while self._reg("TDH") != self._reg("TDT"):
            head = self._reg("TDH")
            desc = base + head * DESC
            raw = self.dev.dma_read(desc, DESC)
            addr, length, cmd = int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:10], "little"), raw[11]
            self.wire.append(self.dev.dma_read(addr, length))
            if cmd & TX_RS:
                self.dev.dma_write(desc + 12, bytes([DD]))
            self.regs[E1000_REGS["TDH"]] = (head + 1) % n
            self.trace.append(f"card: sent {length} bytes read by DMA from {addr:#x} (descriptor {head})")
            sent += 1
        if sent:
            self._cause(ICR_TXDW)


class E1000Driver:
    """The driver side (see the module docstring): ``xmit(data)`` sends,
    ``recv(process, buf, n)`` copies a received packet to a user buffer."""

    def __init__(
        self, nic, ring=8, buf_size=2048, check_mapping_error=True, unmap_before_reading=True, clear_after_map=False
    ):
        if ring.__class__ is not int or ring < 8 or ring % 8:
            raise MemlabError(f"ring {ring!r}: RDLEN must be a multiple of 128 bytes (8 descriptors)")
        self.nic, self.m, self.dev = nic, nic.machine, nic.dev
        self.ring, self.buf_size = ring, buf_size
        self.check_mapping_error = check_mapping_error
        self.unmap_before_reading = unmap_before_reading
        self.clear_after_map = clear_after_map
        self.trace = nic.trace
        m = self.m
        self.regs = m.ioremap(nic.bar, BAR0_SIZE)
        self.say(f"ioremap({nic.bar:#x}, {BAR0_SIZE:#x}) = {self.regs:#x}: the BAR's registers, uncached")
        self.writel("CTRL", CTRL_RST)
        self.rx_cpu, self.rx_dma = m.dma_alloc_coherent(self.dev, ring * DESC)
        self.tx_cpu, self.tx_dma = m.dma_alloc_coherent(self.dev, ring * DESC)
        self.say(f"dma_alloc_coherent: RX ring at {self.rx_dma:#x}, TX ring at {self.tx_dma:#x} ({ring} x 16 bytes)")
        self.rx_bufs: list[tuple[int, int] | None] = [None] * ring  # (kernel address, DMA handle)
        for i in range(ring):
            self._refill(i)
        self.rx_next = 0
        self.tx_bufs: list[tuple[int, int, int] | None] = [None] * ring
        self.tx_next = self.tx_clean = 0
        self.received: list[tuple[int, int]] = []  # (kernel buffer, length) waiting for a reader
        for prefix, dma in (("RD", self.rx_dma), ("TD", self.tx_dma)):
            self.writel(prefix + "BAL", dma & 0xFFFFFFFF)
            self.writel(prefix + "BAH", dma >> 32)
            self.writel(prefix + "LEN", ring * DESC)
            self.writel(prefix + "H", 0)
        self.writel("RDT", ring - 1)  # all but one descriptor to the card (RDH == RDT means "none")
        self.writel("TDT", 0)
        nic.irq_handler = self.interrupt
        self.writel("IMS", ICR_RXT0 | ICR_TXDW)
        self.writel("RCTL", RCTL_EN)
        self.writel("TCTL", TCTL_EN)

    # ------------------------------------------------------------ helpers
    def say(self, line):
        self.trace.append("driver: " + line)

    def writel(self, reg, value):
        self.say(f"writel({value:#x}, {reg})")
        self.m.kernel.writel(value, self.regs + E1000_REGS[reg])

    def readl(self, reg):
        value = self.m.kernel.readl(self.regs + E1000_REGS[reg])
        self.say(f"readl({reg}) = {value:#x}")
        return value

    def _desc(self, ring_cpu, i):
        return ring_cpu + i * DESC

    def _refill(self, i):
        m = self.m
        buf = m.kmalloc(self.buf_size)
        handle = m.dma_map_single(self.dev, buf, self.buf_size, DMA_FROM_DEVICE)
        if self.check_mapping_error and m.dma_mapping_error(self.dev, handle):
            m.kfree(buf)
            raise DmaError(f"dma_map_single of the receive buffer {buf:#x} failed: the driver stops (-ENOMEM)")
        self.rx_bufs[i] = (buf, handle)
        if self.clear_after_map:  # the bug: the CPU writes a buffer the device owns (its cache holds the zeros)
            m.dma.cpu_write(buf, bytes(64), self.dev)
        m.write(self._desc(self.rx_cpu, i), handle.to_bytes(8, "little") + bytes(8))
        self.say(f"RX descriptor {i}: buffer {buf:#x} mapped for the device at {handle:#x}")

    # --------------------------------------------------------- interrupts
    def interrupt(self):
        """e1000_intr(): read ICR (clearing it), clean the rings."""
        icr = self.readl("ICR")
        if icr & ICR_RXT0:
            self._clean_rx()
        if icr & ICR_TXDW:
            self._clean_tx()

    def _clean_rx(self):
        """e1000_clean_rx_irq(): for each descriptor the card marked done,
        give the buffer back to the CPU (dma_unmap_single), copy the packet
        into a socket buffer (kmalloc), refill, then ring the RDT doorbell."""
        m = self.m
        last = None
        while True:
            i = self.rx_next
            desc = self._desc(self.rx_cpu, i)
            if not m.read(desc + 12, 1)[0] & DD:
                break
            length = int.from_bytes(m.read(desc + 8, 2), "little")
            buf, handle = self.rx_bufs[i]
            if self.unmap_before_reading:
                m.dma_unmap_single(self.dev, handle, self.buf_size, DMA_FROM_DEVICE)
                data = m.dma.cpu_read(buf, length, self.dev)
                self.say(f"descriptor {i} done: dma_unmap_single, then {length} bytes copied out")
            else:
                data = m.dma.cpu_read(buf, length, self.dev)  # the bug: the buffer is still the device's
                m.dma_unmap_single(self.dev, handle, self.buf_size, DMA_FROM_DEVICE)
                self.say(f"descriptor {i} done: {length} bytes copied out BEFORE dma_unmap_single (the bug)")
            skb = m.kmalloc(max(1, length))
            m.write(skb, data)
            self.received.append((skb, length))
            m.kfree(buf)
            self._refill(i)
            last = i
            self.rx_next = (i + 1) % self.ring
        if last is not None:
            self.writel("RDT", last)  # the doorbell: these descriptors are the card's again

    def _clean_tx(self):
        m = self.m
        while self.tx_clean != self.tx_next:
            i = self.tx_clean
            if not m.read(self._desc(self.tx_cpu, i) + 12, 1)[0] & DD:
                break
            buf, handle, length = self.tx_bufs[i]
            m.dma_unmap_single(self.dev, handle, length, DMA_TO_DEVICE)
            m.kfree(buf)
            self.tx_bufs[i] = None
            self.say(f"TX descriptor {i} done: unmapped and freed")
            self.tx_clean = (i + 1) % self.ring

    # ------------------------------------------------------------ the API
    def xmit(self, data: bytes) -> int:
        """e1000_xmit_frame(): copy into a kernel buffer, map it for the
        device, fill the descriptor at TDT and ring the TDT doorbell."""
        m = self.m
        if (self.tx_next + 1) % self.ring == self.tx_clean:
            raise MemlabError("xmit: the transmit ring is full (netif_stop_queue)")
        buf = m.kmalloc(len(data))
        m.dma.cpu_write(buf, data, self.dev)
        handle = m.dma_map_single(self.dev, buf, len(data), DMA_TO_DEVICE)
        if self.check_mapping_error and m.dma_mapping_error(self.dev, handle):
            m.kfree(buf)
            raise DmaError(f"dma_map_single of the packet at {buf:#x} failed: the packet is dropped")
        i = self.tx_next
        desc = handle.to_bytes(8, "little") + len(data).to_bytes(2, "little") + bytes([0, TX_EOP | TX_IFCS | TX_RS])
        m.write(self._desc(self.tx_cpu, i), desc + bytes(4))
        self.tx_bufs[i] = (buf, handle, len(data))
        self.tx_next = (i + 1) % self.ring
        self.say(f"TX descriptor {i}: {len(data)} bytes at {handle:#x}")
        self.writel("TDT", self.tx_next)
        return len(data)

    def recv(self, process, buf: int, n: int) -> int:
        """A process reads the oldest received packet: copy_to_user of up to
        ``n`` bytes from its socket buffer, which is then freed. 0 when
        nothing arrived."""
        if not self.received:
            return 0
        skb, length = self.received.pop(0)
        take = min(n, length)
        left = process.copy_to_user(buf, skb, take)
        self.m.kfree(skb)
        self.say(f"recv: copy_to_user({buf:#x}, {skb:#x}, {take}) -> {left} not copied")
        return take - left
