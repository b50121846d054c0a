"""The Intel 8237A DMA controller, clock by clock, as the PC/AT wires two of them.

Source: the Intel 8237A data sheet (4 channels, cascaded to 8 in the PC/AT:
channels 0-3 are 8-bit on the first controller, 4-7 16-bit on the second,
channel 4 the cascade), programmed through its I/O ports 0x00-0x0F
(0xC0-0xDF for the second) and page registers 0x81-0x8F, or with Linux's
<asm/dma.h> helpers (arch/x86/include/asm/dma.h): claim_dma_lock(),
clear_dma_ff(), set_dma_mode(), set_dma_addr(), set_dma_count(),
enable_dma(), disable_dma(), get_dma_residue(). A transfer is a handshake:
the device raises DREQ, the controller asks the CPU for the bus (HRQ), the
CPU finishes its bus cycle and answers HLDA, the controller asserts DACK and
moves one datum per S1-S4 cycle (fly-by: IOR with MEMW, or MEMR with IOW),
pulsing EOP at terminal count (the word count rolling over from 0 to 0xFFFF:
a count of C gives C + 1 transfers).

Rules taken from the data sheet:

* Priority on the PC/AT: channels 0-3 reach the CPU through cascade
  channel 4, the highest-priority channel of the second controller, so the
  fixed order is 0, 1, 2, 3, then 5, 6, 7. Rotating priority (command bit
  4) works within each controller: on the second one, channel 4 (all of
  channels 0-3) takes its turn with 5, 6 and 7. Masking channel 4 masks
  channels 0-3.
* Single transfer mode: HRQ goes inactive after every transfer even with
  DREQ held, and rises again for the next one (memlab keeps it low for one
  SI clock; how long the CPU then keeps the bus depends on the CPU: a
  simplification).
* Address generation: S1 only outputs A8-A15 to the external latch, so in
  block and demand mode it is skipped unless A8-A15 change (3 clocks per
  datum, S1 once per 256 transfers).
* Command register bit 2 disables the controller (no DMA requests are
  served; on the second controller this stops channels 0-3 as well).
* The request register: software requests ignore the mask bit and work in
  block mode only.

Not modelled: compressed timing, extended write, memory-to-memory
transfers, the READY line (wait states), external EOP.
"""

from __future__ import annotations

from collections import deque

from ..errors import DmaError, reject
from .isa import (
    DMA_AUTOINIT,
    DMA_MODE_BLOCK,
    DMA_MODE_CASCADE,
    DMA_MODE_DECREMENT,
    DMA_MODE_DEMAND,
    MAX_DMA_ADDRESS,
    MODE_SELECT,
    READ_TRANSFER,
    TRANSFER_TYPE,
    WRITE_TRANSFER,
    BusCycle,
    BusState,
    DmaChannel,
    IsaDevice,
)

__all__ = ["Dma8237"]

# the bus states as module constants for the clock loop (cheaper than enum lookups)
_SI, _S0, _S1, _S2, _S3, _S4 = BusState.SI, BusState.S0, BusState.S1, BusState.S2, BusState.S3, BusState.S4
_PAGE_PORTS = {0: 0x87, 1: 0x83, 2: 0x81, 3: 0x82, 4: 0x8F, 5: 0x8B, 6: 0x89, 7: 0x8A}
_NO_STROBES = (0, 0, 0, 0)  # MEMR, MEMW, IOR, IOW
_WRITE_STROBES = (0, 1, 1, 0)  # IOR + MEMW: device -> memory
_READ_STROBES = (1, 0, 0, 1)  # MEMR + IOW: memory -> device


#: Clocks the controller's ``trace`` keeps (the timing diagrams show the last 32 to 48).
TRACE_LEN = 4096


class Dma8237:
    """The PC/AT's two cascaded 8237A controllers on a :class:`Machine`.

    Program it through :meth:`outb`/:meth:`inb` on the real ports, or with
    the Linux helpers of the same names (``set_dma_mode``, ...). Attach a
    device with :meth:`attach`, raise its request with :meth:`dreq`, then
    :meth:`clock` one cycle at a time (every cycle is appended to ``trace``)
    or :meth:`run_to_tc` for the whole transfer (numpy, no loop per byte)."""

    def __init__(self, machine, cpu_bus_cycle=2):
        self.machine = machine
        self.channels = [DmaChannel() for _ in range(8)]
        self.channels[4].mode = DMA_MODE_CASCADE
        self.channels[4].masked = False
        self.flip_flop = [False, False]
        self.command = [0, 0]
        self.temp = 0
        self.state = _SI
        self.hrq = self.hlda = False
        self.active = None
        self.cpu_bus_cycle = cpu_bus_cycle  # clocks the CPU needs to finish its bus cycle
        self._cpu_wait = 0
        #: the last TRACE_LEN clocks (BusCycle rows), oldest first: a bounded ring, so a long run
        #: cannot eat memory (a row is about 560 bytes)
        self.trace: deque = deque(maxlen=TRACE_LEN)
        self.clocks = 0
        self.cpu_held_clocks = 0
        self.transfers = 0
        self.lock_held = False
        self._last_served = [None, None]  # per controller: the channel served last (4 on the second = 0-3)
        self.bus_released = False  # the bus was just given back: HRQ stays low for this SI clock
        self._latch = -1  # A8-A15 in the external address latch (S1 loads it)

    # -------------------------------------------------------------- ports
    def outb(self, value, port):
        """Write a byte to an I/O port of either controller or a page register."""
        if value.__class__ is not int or not 0 <= value <= 255:
            raise reject(DmaError, value, f"outb: value {value!r} is not a byte")
        for ch, p in _PAGE_PORTS.items():
            if port == p:
                self.channels[ch].page = value & (0xFE if ch >= 4 else 0xFF)
                return
        ctrl, reg = self._decode(port)
        first = 0 if ctrl == 0 else 4
        if reg < 8:
            ch = self.channels[first + reg // 2]
            high = self.flip_flop[ctrl]
            self.flip_flop[ctrl] = not high
            if reg % 2 == 0:
                ch.base_addr = ch.cur_addr = (
                    (ch.base_addr & 0x00FF) | (value << 8) if high else (ch.base_addr & 0xFF00) | value
                )
            else:
                ch.base_count = ch.cur_count = (
                    (ch.base_count & 0x00FF) | (value << 8) if high else (ch.base_count & 0xFF00) | value
                )
        elif reg == 8:
            self.command[ctrl] = value
        elif reg == 9:
            ch = self.channels[first + (value & 3)]
            if value & 4 and ch.mode & MODE_SELECT != DMA_MODE_BLOCK:
                raise DmaError(
                    f"request register {value:#04x}: a software DMA request works only in block mode; "
                    f"channel {first + (value & 3)} has mode {ch.mode:#04x} (set_dma_mode with DMA_MODE_BLOCK first)"
                )
            ch.request = bool(value & 4)
        elif reg == 10:
            self.channels[first + (value & 3)].masked = bool(value & 4)
        elif reg == 11:
            ch = self.channels[first + (value & 3)]
            if (value & TRANSFER_TYPE) == TRANSFER_TYPE and (value & MODE_SELECT) != DMA_MODE_CASCADE:
                raise DmaError(f"mode {value:#04x}: transfer type 11 is illegal on the 8237A")
            ch.mode = value & 0xFC
        elif reg == 12:
            self.flip_flop[ctrl] = False
        elif reg == 13:  # master clear
            self.flip_flop[ctrl] = False
            self.command[ctrl] = 0
            for ch in self.channels[first : first + 4]:
                ch.masked, ch.request, ch.tc = True, False, False
        elif reg == 14:
            for ch in self.channels[first : first + 4]:
                ch.masked = False
        elif reg == 15:
            for i, ch in enumerate(self.channels[first : first + 4]):
                ch.masked = bool(value >> i & 1)

    def inb(self, port):
        """Read a byte: address/count (low then high, via the flip-flop),
        or the status register (TC bits cleared by the read)."""
        ctrl, reg = self._decode(port)
        first = 0 if ctrl == 0 else 4
        if reg < 8:
            ch = self.channels[first + reg // 2]
            value = ch.cur_addr if reg % 2 == 0 else ch.cur_count
            high = self.flip_flop[ctrl]
            self.flip_flop[ctrl] = not high
            return (value >> 8) & 0xFF if high else value & 0xFF
        if reg == 8:
            status = 0
            for i, ch in enumerate(self.channels[first : first + 4]):
                status |= (ch.tc << i) | ((ch.request or bool(ch.device and ch.device.dreq)) << (i + 4))
                ch.tc = False
            return status
        if reg == 13:
            return self.temp
        raise DmaError(f"inb: port {port:#x} is write-only")

    @staticmethod
    def _decode(port):
        if 0x00 <= port <= 0x0F:
            return 0, port
        if 0xC0 <= port <= 0xDF and port % 2 == 0:
            return 1, (port - 0xC0) // 2
        raise DmaError(
            f"port {port:#x} is not a DMA controller port (0x00-0x0F, 0xC0-0xDE even, page registers 0x81-0x8F)"
        )

    # ------------------------------------------------- Linux <asm/dma.h>
    def claim_dma_lock(self):
        """claim_dma_lock(): take the DMA spinlock (interrupts off); returns flags."""
        if self.lock_held:
            raise DmaError("claim_dma_lock: the DMA lock is already held (a second claim would deadlock)")
        self.lock_held = True
        return 0

    def release_dma_lock(self, flags=0):
        self.lock_held = False

    def check_channel(self, dmanr):
        """Raise :class:`DmaError` unless ``dmanr`` is a usable channel (0-3, 5-7)."""
        if dmanr.__class__ is not int or not 0 <= dmanr <= 7:
            raise reject(DmaError, dmanr, f"DMA channel {dmanr!r} does not exist (0-7)")
        if dmanr == 4:
            raise DmaError("DMA channel 4 is the cascade from the first controller; it cannot be used")

    def enable_dma(self, dmanr):
        self.check_channel(dmanr)
        self.outb(dmanr & 3, 0x0A if dmanr <= 3 else 0xD4)

    def disable_dma(self, dmanr):
        self.check_channel(dmanr)
        self.outb((dmanr & 3) | 4, 0x0A if dmanr <= 3 else 0xD4)

    def clear_dma_ff(self, dmanr):
        self.check_channel(dmanr)
        self.outb(0, 0x0C if dmanr <= 3 else 0xD8)

    def set_dma_mode(self, dmanr: int, mode: int) -> None:
        """set_dma_mode(): the mode register byte (bits 7-2; bits 1-0 select the channel)."""
        self.check_channel(dmanr)
        if mode.__class__ is not int or not 0 <= mode <= 0xFF:
            raise reject(
                DmaError, mode, f"set_dma_mode({dmanr}, {mode!r}): the mode is a byte (0 to 0xFF), e.g. DMA_MODE_READ"
            )
        self.outb((mode & 0xFC) | (dmanr & 3), 0x0B if dmanr <= 3 else 0xD6)

    def set_dma_addr(self, dmanr: int, a: int) -> None:
        """set_dma_addr(): page register gets bits 23-16, the address register
        bits 15-0 (for 16-bit channels: bits 16-1, counting words). memlab
        refuses addresses ISA DMA cannot reach."""
        self.check_channel(dmanr)
        if a.__class__ is not int or a < 0 or a >= MAX_DMA_ADDRESS:
            raise reject(
                DmaError,
                a,
                f"set_dma_addr: {a!r} is above 16 MiB (MAX_DMA_ADDRESS {MAX_DMA_ADDRESS:#x}): ISA DMA "
                f"has 24 address lines; allocate the buffer with GFP_DMA (ZONE_DMA)",
            )
        if dmanr >= 4 and a & 1:
            raise DmaError(f"set_dma_addr: 16-bit channel {dmanr} needs an even address, got {a:#x}")
        self.channels[dmanr].page = (a >> 16) & (0xFE if dmanr >= 4 else 0xFF)
        port = ((dmanr & 3) << 1) if dmanr <= 3 else 0xC0 + ((dmanr & 3) << 2)
        word = a if dmanr <= 3 else a >> 1
        self.outb(word & 0xFF, port)
        self.outb((word >> 8) & 0xFF, port)

    def set_dma_count(self, dmanr: int, count: int) -> None:
        """set_dma_count(): the count register gets ``count - 1`` bytes, or on
        16-bit channels ``(count - 1) >> 1`` words, as
        arch/x86/include/asm/dma.h writes it: an odd byte count there moves
        ``count + 1`` bytes."""
        self.check_channel(dmanr)
        limit = 0x10000 if dmanr <= 3 else 0x20000
        if count.__class__ is not int or not 1 <= count <= limit:
            raise reject(
                DmaError, count, f"set_dma_count: {count!r} bytes; a channel moves 1 to {limit} bytes per transfer"
            )
        ch = self.channels[dmanr]
        c = count - 1 if dmanr <= 3 else (count - 1) >> 1  # words: an odd byte count moves one byte more
        span = c + 1 if dmanr <= 3 else (c + 1) << 1
        start = (ch.page << 16) | (ch.base_addr if dmanr <= 3 else ch.base_addr << 1)
        boundary = 0x10000 if dmanr <= 3 else 0x20000
        lo, hi = (
            (start - span + (1 if dmanr <= 3 else 2), start)
            if ch.mode & DMA_MODE_DECREMENT
            else (start, start + span - 1)
        )
        if lo < 0 or lo // boundary != hi // boundary:
            raise DmaError(
                f"set_dma_count: {lo:#x}..{hi:#x} crosses a {boundary >> 10} KiB boundary: the "
                f"8237's address counter would wrap inside the page (the page register does not "
                f"count), so the transfer would overwrite the start of the page"
            )
        port = ((dmanr & 3) << 1) + 1 if dmanr <= 3 else 0xC2 + ((dmanr & 3) << 2)
        self.outb(c & 0xFF, port)
        self.outb((c >> 8) & 0xFF, port)

    def get_dma_residue(self, dmanr):
        """get_dma_residue(): bytes still to move (0 after terminal count)."""
        self.check_channel(dmanr)
        count = (self.channels[dmanr].cur_count + 1) & 0xFFFF
        return count if dmanr <= 3 else count << 1

    def program(self, dmanr, phys, count, mode):
        """The usual driver sequence in one call: claim_dma_lock, disable,
        clear_dma_ff, set_dma_mode, set_dma_addr, set_dma_count, enable,
        release_dma_lock."""
        flags = self.claim_dma_lock()
        try:
            self.disable_dma(dmanr)
            self.clear_dma_ff(dmanr)
            self.set_dma_mode(dmanr, mode)
            self.set_dma_addr(dmanr, phys)
            self.set_dma_count(dmanr, count)
            self.enable_dma(dmanr)
        finally:
            self.release_dma_lock(flags)

    # ----------------------------------------------------------- devices
    def attach(self, dmanr, device):
        self.check_channel(dmanr)
        self.channels[dmanr].device = device
        return device

    def dreq(self, dmanr, level=True):
        """The device on ``dmanr`` raises (or drops) DREQ."""
        self.check_channel(dmanr)
        ch = self.channels[dmanr]
        if ch.device is None:
            ch.device = IsaDevice(f"device on channel {dmanr}")
        ch.device.dreq = level

    def phys_address(self, dmanr):
        ch = self.channels[dmanr]
        return (ch.page << 16) | (ch.cur_addr if dmanr <= 3 else (ch.cur_addr << 1))

    # ----------------------------------------------------------- cycles
    def _requesting(self):
        """The channel to serve, or None. The second controller is the
        master: its channel 4 stands for channels 0-3 of the first, and it
        ranks first (fixed order 0, 1, 2, 3, 5, 6, 7). With rotating
        priority (command bit 4) the channel a controller served last
        becomes its lowest. A disabled controller (command bit 2) serves
        nothing; software requests ignore the mask."""
        if self.command[1] & 0x04:
            return None
        channels = self.channels
        master = [4, 5, 6, 7]
        slave = [0, 1, 2, 3]
        for ctrl, group in ((1, master), (0, slave)):
            last = self._last_served[ctrl]
            if last is not None and self.command[ctrl] & 0x10:
                i = group.index(last)
                group[:] = group[i + 1 :] + group[: i + 1]
        slave_on = not self.command[0] & 0x04 and not channels[4].masked
        for n in master:
            for k in slave if n == 4 else (n,):
                if k < 4 and not slave_on:
                    continue
                ch = channels[k]
                if ch.request or (not ch.masked and ch.device is not None and ch.device.dreq):
                    if ch.mode & MODE_SELECT == DMA_MODE_CASCADE:
                        continue
                    return k
        return None

    def clock(self):
        """Advance one clock: SI (idle), S0 (HRQ up, waiting for HLDA), then
        S1-S4 per datum. Appends the signals of this clock (a
        :class:`BusCycle`) to ``trace`` and returns it."""
        self.clocks += 1
        st = self.state
        dack = None
        aen = eop = 0
        strobes = _NO_STROBES
        if st is _SI:
            n = None if self.bus_released else self._requesting()
            self.bus_released = False
            if n is not None:
                self.hrq = True
                self._cpu_wait = self.cpu_bus_cycle
                self.state = _S0
        elif st is _S0:
            if self._cpu_wait > 0:
                self._cpu_wait -= 1
            else:
                self.hlda = True
                n = self._requesting()
                if n is None:  # the request went away
                    self.hrq = self.hlda = False
                    self.state = _SI
                else:
                    self.active = n
                    self.state = _S1
        elif st is _S1:
            dack, aen = self.active, 1
            self._latch = self.channels[self.active].cur_addr >> 8  # ADSTB: A8-A15 into the latch
            self.state = _S2
        elif st is _S2 or st is _S3:
            dack, aen, strobes = self.active, 1, self._strobes(self.active)
            self.state = _S3 if st is _S2 else _S4
        elif st is _S4:
            dack, aen, strobes = self.active, 1, self._strobes(self.active)
            dreq = [int(bool(c.device and c.device.dreq) or c.request) for c in self.channels]
            tc = self._move_one(self.active)
            self._last_served[0 if self.active <= 3 else 1] = self.active
            if self.active <= 3:
                self._last_served[1] = 4  # the cascade channel took its turn on the second controller
            eop = int(tc)
            self.state = self._after_transfer(self.active, tc)
            self.cpu_held_clocks += 1
            row = BusCycle(self.clocks, st, dreq, 1, 1, dack, aen, *strobes, eop)
            self.trace.append(row)
            return row
        if self.hlda:
            self.cpu_held_clocks += 1
        row = BusCycle(
            self.clocks,
            st,
            [int(bool(c.device and c.device.dreq) or c.request) for c in self.channels],
            int(self.hrq),
            int(self.hlda),
            dack,
            aen,
            *strobes,
            eop,
        )
        self.trace.append(row)
        return row

    def _strobes(self, n):
        """(MEMR, MEMW, IOR, IOW) during S2-S4 for the channel's transfer type."""
        kind = self.channels[n].mode & TRANSFER_TYPE
        if kind == WRITE_TRANSFER:
            return _WRITE_STROBES  # write transfer: device -> memory (IOR + MEMW)
        if kind == READ_TRANSFER:
            return _READ_STROBES  # read transfer: memory -> device (MEMR + IOW)
        return _NO_STROBES  # verify

    def _move_one(self, n):
        """One datum moves (fly-by); counters step; True at terminal count."""
        ch = self.channels[n]
        width = 1 if n <= 3 else 2
        phys = self.phys_address(n)
        kind = ch.mode & TRANSFER_TYPE
        mem = self.machine.mem
        if kind == WRITE_TRANSFER:
            # no device on the channel (a software request): the ISA data bus floats high, 0xFF (simplification)
            mem.write(phys, ch.device.produce(width) if ch.device is not None else b"\xff" * width)
        elif kind == READ_TRANSFER and ch.device is not None:
            ch.device.consumed += mem.read(phys, width)
        step = -1 if ch.mode & DMA_MODE_DECREMENT else 1
        ch.cur_addr = (ch.cur_addr + step) & 0xFFFF
        ch.cur_count = (ch.cur_count - 1) & 0xFFFF
        self.transfers += 1
        ch.moved += 1
        if ch.cur_count == 0xFFFF:  # rollover: terminal count
            ch.tc = True
            ch.request = False
            if ch.mode & DMA_AUTOINIT:
                ch.cur_addr, ch.cur_count = ch.base_addr, ch.base_count
            else:
                ch.masked = True
            if ch.device is not None:
                ch.device.dreq = False
            return True
        return False

    def _after_transfer(self, n, tc):
        ch = self.channels[n]
        mode = ch.mode & MODE_SELECT
        dev = ch.device
        if not tc:
            keep = mode == DMA_MODE_BLOCK
            if mode == DMA_MODE_DEMAND and dev is not None and dev.dreq:
                dev.burst_left -= 1
                keep = dev.burst_left > 0
                if not keep:
                    dev.burst_left = dev.burst
            if keep:  # S1 only when A8-A15 must change in the latch
                return _S1 if ch.cur_addr >> 8 != self._latch else _S2
        elif dev is not None:
            dev.burst_left = dev.burst  # the service is over: the next one starts a fresh burst
        self.hrq = self.hlda = False  # release the bus (single mode: after every datum)
        self.bus_released = True
        self.active = None
        return _SI

    def run(self, clocks):
        """``clocks`` calls of :meth:`clock`; returns the rows."""
        return [self.clock() for _ in range(clocks)]

    def run_to_tc(self, dmanr, trace_limit=64):
        """Finish the programmed transfer on ``dmanr`` as if the device kept
        DREQ up: bytes move with numpy slices (no Python loop per byte) and
        the clock and bus-hold counts are computed for the channel's mode.
        Short transfers (up to ``trace_limit`` data) are clocked one by one
        instead, so the trace stays complete. See :mod:`memlab.dma.bulk`."""
        from .bulk import run_to_tc  # numpy and the bulk path load on the first call

        return run_to_tc(self, dmanr, trace_limit)
