"""DMA: an Intel 8237A controller clock by clock, and the Linux DMA API.

Hardware part: the Intel 8237A data sheet (4 channels, cascaded to 8 in the
PC/AT: channels 0-3 are 8-bit on the first controller, 4-7 16-bit on the
second, channel 4 the cascade), programmed through its I/O ports
0x00-0x0F (0xC0-0xDF for the second) and page registers 0x81-0x8F, or with
Linux's <asm/dma.h> helpers (arch/x86/include/asm/dma.h): claim_dma_lock(),
clear_dma_ff(), set_dma_mode(), set_dma_addr(), set_dma_count(),
enable_dma(), disable_dma(), get_dma_residue(). A transfer is a handshake:
the device raises DREQ, the controller asks the CPU for the bus (HRQ), the
CPU finishes its bus cycle and answers HLDA, the controller asserts DACK and
moves one datum per S1-S4 cycle (fly-by: IOR with MEMW, or MEMR with IOW),
pulsing EOP at terminal count (the word count rolling over from 0 to 0xFFFF:
a count of C gives C + 1 transfers).

Kernel API part: include/linux/dma-mapping.h and kernel/dma/ (direct.c,
mapping.c, swiotlb.c, pool.c, debug.c): dma_alloc_coherent(),
dma_map_single(), dma_unmap_single(), dma_sync_single_for_cpu() /
_for_device(), dma_mapping_error(), DMA masks, swiotlb bounce buffers (2 KiB
slots, at most 128 contiguous slots = 256 KiB per mapping, the pool below
4 GiB), dma_pool_create() / dma_pool_alloc() (mm/dmapool.c).

x86 keeps DMA cache-coherent in hardware; a device created with
``coherent=False`` behaves like one on a non-coherent platform (many ARM
SoCs) so the reason for the sync calls becomes visible: memlab keeps a
write-back CPU cache of 64-byte lines for such buffers.

Not modelled: IOMMUs, scatter-gather lists, compressed timing, memory-to-
memory transfers, DMA-API debug's stack traces.
"""

from .errors import BadSize, MemlabError, OutOfMemory
from .physmem import PAGE_OFFSET
from .units import PAGE_SHIFT, PAGE_SIZE, order_for_size

__all__ = [
    "DmaError", "Dma8237", "IsaDevice", "Device", "DmaPool", "DMA_BIT_MASK",
    "DMA_MODE_READ", "DMA_MODE_WRITE", "DMA_MODE_CASCADE", "DMA_AUTOINIT", "DMA_MODE_VERIFY",
    "DMA_MODE_DEMAND", "DMA_MODE_SINGLE", "DMA_MODE_BLOCK", "DMA_MODE_DECREMENT",
    "DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_BIDIRECTIONAL", "DMA_MAPPING_ERROR", "SIGNALS",
]

# <asm/dma.h> mode values (bits 7-6 mode, 5 decrement, 4 autoinit, 3-2 transfer type)
DMA_MODE_VERIFY = 0x40      # single mode, verify (no strobes)
DMA_MODE_READ = 0x44        # Linux: I/O to memory (the 8237's "write transfer"), single mode
DMA_MODE_WRITE = 0x48       # Linux: memory to I/O (the 8237's "read transfer"), single mode
DMA_MODE_CASCADE = 0xC0
DMA_AUTOINIT = 0x10
DMA_MODE_DECREMENT = 0x20
DMA_MODE_DEMAND, DMA_MODE_SINGLE, DMA_MODE_BLOCK = 0x00, 0x40, 0x80
MAX_DMA_ADDRESS = 16 << 20  # ISA DMA reaches the first 16 MiB (24 address lines)

DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE = 0, 1, 2
_DIR_NAMES = {0: "DMA_BIDIRECTIONAL", 1: "DMA_TO_DEVICE", 2: "DMA_FROM_DEVICE"}
DMA_MAPPING_ERROR = (1 << 64) - 1
IO_TLB_SHIFT = 11           # swiotlb slot: 2 KiB
IO_TLB_SIZE = 1 << IO_TLB_SHIFT
IO_TLB_SEGSIZE = 128        # at most 128 contiguous slots per mapping: 256 KiB
CACHE_LINE = 64

SIGNALS = ("DREQ", "HRQ", "HLDA", "DACK", "AEN", "MEMR", "MEMW", "IOR", "IOW", "EOP")
_PAGE_PORTS = {0: 0x87, 1: 0x83, 2: 0x81, 3: 0x82, 4: 0x8F, 5: 0x8B, 6: 0x89, 7: 0x8A}


def DMA_BIT_MASK(n):
    """include/linux/dma-mapping.h DMA_BIT_MASK(n): the highest address a
    device with ``n`` address bits can reach."""
    return (1 << 64) - 1 if n == 64 else (1 << n) - 1


class DmaError(MemlabError, ValueError):
    """A DMA programming or API rule broken (the message names the rule)."""


# =============================================================== the 8237A
class _Channel:
    __slots__ = ("base_addr", "cur_addr", "base_count", "cur_count", "mode", "page", "masked", "tc", "request",
                 "device")

    def __init__(self):
        self.base_addr = self.cur_addr = 0
        self.base_count = self.cur_count = 0
        self.mode = 0
        self.page = 0
        self.masked = True
        self.tc = False
        self.request = False
        self.device = None


class IsaDevice:
    """An ISA device on a DMA channel: ``produce`` gives the bytes it
    delivers (a floppy controller reading a sector), ``consumed`` collects
    what it receives (a sound card playing samples). ``burst`` is how long
    it keeps DREQ up in demand mode (its FIFO depth)."""

    def __init__(self, name, data=b"", burst=4):
        self.name = name
        self.data = bytearray(data)
        self.pos = 0
        self.consumed = bytearray()
        self.burst = burst
        self.dreq = False

    def produce(self, n=1):
        out = bytes(self.data[self.pos:self.pos + n])
        out += bytes(n - len(out))
        self.pos += n
        return out

    def __repr__(self):
        return f"<IsaDevice {self.name}: DREQ {'high' if self.dreq else 'low'}>"


class Dma8237:
    """The PC/AT's two cascaded 8237A controllers on a :class:`Machine`.

    Program it through :meth:`outb`/:meth:`inb` on the real ports, or with
    the Linux helpers of the same names (``set_dma_mode``, ...). Attach a
    device with :meth:`attach`, raise its request with :meth:`dreq`, then
    :meth:`clock` one cycle at a time (every cycle is appended to ``trace``)
    or :meth:`run_to_tc` for the whole transfer (numpy, no loop per byte)."""

    def __init__(self, machine, cpu_bus_cycle=2):
        self.machine = machine
        self.channels = [_Channel() for _ in range(8)]
        self.channels[4].mode = DMA_MODE_CASCADE
        self.channels[4].masked = False
        self.flip_flop = [False, False]
        self.command = [0, 0]
        self.temp = 0
        self.state = "SI"
        self.hrq = self.hlda = False
        self.active = None
        self.cpu_bus_cycle = cpu_bus_cycle     # clocks the CPU needs to finish its bus cycle
        self._cpu_wait = 0
        self.trace = []
        self.clocks = 0
        self.cpu_held_clocks = 0
        self.transfers = 0
        self.lock_held = False
        self._last_served = None

    # -------------------------------------------------------------- ports
    def outb(self, value, port):
        """Write a byte to an I/O port of either controller or a page register."""
        if value.__class__ is not int or not 0 <= value <= 255:
            raise DmaError(f"outb: value {value!r} is not a byte")
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
                ch.base_addr = ch.cur_addr = (ch.base_addr & 0x00FF) | (value << 8) if high else \
                    (ch.base_addr & 0xFF00) | value
            else:
                ch.base_count = ch.cur_count = (ch.base_count & 0x00FF) | (value << 8) if high else \
                    (ch.base_count & 0xFF00) | value
        elif reg == 8:
            self.command[ctrl] = value
        elif reg == 9:
            self.channels[first + (value & 3)].request = bool(value & 4)
        elif reg == 10:
            self.channels[first + (value & 3)].masked = bool(value & 4)
        elif reg == 11:
            ch = self.channels[first + (value & 3)]
            if (value & 0x0C) == 0x0C and (value & 0xC0) != 0xC0:
                raise DmaError(f"mode {value:#04x}: transfer type 11 is illegal on the 8237A")
            ch.mode = value & 0xFC
        elif reg == 12:
            self.flip_flop[ctrl] = False
        elif reg == 13:                                   # master clear
            self.flip_flop[ctrl] = False
            self.command[ctrl] = 0
            for ch in self.channels[first:first + 4]:
                ch.masked, ch.request, ch.tc = True, False, False
        elif reg == 14:
            for ch in self.channels[first:first + 4]:
                ch.masked = False
        elif reg == 15:
            for i, ch in enumerate(self.channels[first:first + 4]):
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
            for i, ch in enumerate(self.channels[first:first + 4]):
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
        raise DmaError(f"port {port:#x} is not a DMA controller port (0x00-0x0F, 0xC0-0xDE even, page "
                       f"registers 0x81-0x8F)")

    # ------------------------------------------------- Linux <asm/dma.h>
    def claim_dma_lock(self):
        """claim_dma_lock(): take the DMA spinlock (interrupts off); returns flags."""
        if self.lock_held:
            raise DmaError("claim_dma_lock: the DMA lock is already held (a second claim would deadlock)")
        self.lock_held = True
        return 0

    def release_dma_lock(self, flags=0):
        self.lock_held = False

    def _check_nr(self, dmanr):
        if dmanr.__class__ is not int or not 0 <= dmanr <= 7:
            raise DmaError(f"DMA channel {dmanr!r} does not exist (0-7)")
        if dmanr == 4:
            raise DmaError("DMA channel 4 is the cascade from the first controller; it cannot be used")

    def enable_dma(self, dmanr):
        self._check_nr(dmanr)
        self.outb(dmanr & 3, 0x0A if dmanr <= 3 else 0xD4)

    def disable_dma(self, dmanr):
        self._check_nr(dmanr)
        self.outb((dmanr & 3) | 4, 0x0A if dmanr <= 3 else 0xD4)

    def clear_dma_ff(self, dmanr):
        self._check_nr(dmanr)
        self.outb(0, 0x0C if dmanr <= 3 else 0xD8)

    def set_dma_mode(self, dmanr, mode):
        self._check_nr(dmanr)
        self.outb((mode & 0xFC) | (dmanr & 3), 0x0B if dmanr <= 3 else 0xD6)

    def set_dma_addr(self, dmanr, a):
        """set_dma_addr(): page register gets bits 23-16, the address register
        bits 15-0 (for 16-bit channels: bits 16-1, counting words). memlab
        refuses addresses ISA DMA cannot reach."""
        self._check_nr(dmanr)
        if a.__class__ is not int or a < 0 or a >= MAX_DMA_ADDRESS:
            raise DmaError(f"set_dma_addr: {a!r} is above 16 MiB (MAX_DMA_ADDRESS {MAX_DMA_ADDRESS:#x}): ISA DMA "
                           f"has 24 address lines; allocate the buffer with GFP_DMA (ZONE_DMA)")
        if dmanr >= 4 and a & 1:
            raise DmaError(f"set_dma_addr: 16-bit channel {dmanr} needs an even address, got {a:#x}")
        self.channels[dmanr].page = (a >> 16) & (0xFE if dmanr >= 4 else 0xFF)
        port = ((dmanr & 3) << 1) if dmanr <= 3 else 0xC0 + ((dmanr & 3) << 2)
        word = a if dmanr <= 3 else a >> 1
        self.outb(word & 0xFF, port)
        self.outb((word >> 8) & 0xFF, port)

    def set_dma_count(self, dmanr, count):
        """set_dma_count(): the count register gets ``count - 1`` (bytes, or
        words on 16-bit channels)."""
        self._check_nr(dmanr)
        limit = 0x10000 if dmanr <= 3 else 0x20000
        if count.__class__ is not int or not 1 <= count <= limit:
            raise DmaError(f"set_dma_count: {count!r} bytes; a channel moves 1 to {limit} bytes per transfer")
        ch = self.channels[dmanr]
        start = (ch.page << 16) | (ch.base_addr if dmanr <= 3 else ch.base_addr << 1)
        boundary = 0x10000 if dmanr <= 3 else 0x20000
        lo, hi = (start - count + (1 if dmanr <= 3 else 2), start) if ch.mode & DMA_MODE_DECREMENT else \
            (start, start + count - 1)
        if lo < 0 or lo // boundary != hi // boundary:
            raise DmaError(f"set_dma_count: {lo:#x}..{hi:#x} crosses a {boundary >> 10} KiB boundary: the "
                           f"8237's address counter would wrap inside the page (the page register does not "
                           f"count), so the transfer would overwrite the start of the page")
        c = count - 1 if dmanr <= 3 else (count >> 1) - 1
        port = ((dmanr & 3) << 1) + 1 if dmanr <= 3 else 0xC2 + ((dmanr & 3) << 2)
        self.outb(c & 0xFF, port)
        self.outb((c >> 8) & 0xFF, port)

    def get_dma_residue(self, dmanr):
        """get_dma_residue(): bytes still to move (0 after terminal count)."""
        self._check_nr(dmanr)
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
        self._check_nr(dmanr)
        self.channels[dmanr].device = device
        return device

    def dreq(self, dmanr, level=True):
        """The device on ``dmanr`` raises (or drops) DREQ."""
        self._check_nr(dmanr)
        ch = self.channels[dmanr]
        if ch.device is None:
            ch.device = IsaDevice(f"device on channel {dmanr}")
        ch.device.dreq = level

    def phys_address(self, dmanr):
        ch = self.channels[dmanr]
        return (ch.page << 16) | (ch.cur_addr if dmanr <= 3 else (ch.cur_addr << 1))

    # ----------------------------------------------------------- cycles
    def _requesting(self):
        """The channel to serve. Fixed priority: on each controller the lowest
        channel number wins; the second controller (channels 5-7) is the
        master, so its channels rank above channels 0-3, which reach the CPU
        through cascade channel 4. Rotating priority (command register bit
        4): the channel just served becomes the lowest of its controller."""
        order = [5, 6, 7, 0, 1, 2, 3]
        last = self._last_served
        if last is not None:
            first_ctrl = last <= 3
            if self.command[0 if first_ctrl else 1] & 0x10:
                group = [0, 1, 2, 3] if first_ctrl else [5, 6, 7]
                i = group.index(last)
                rotated = group[i + 1:] + group[:i + 1]
                order = ([5, 6, 7] + rotated) if first_ctrl else (rotated + [0, 1, 2, 3])
        for n in order:
            ch = self.channels[n]
            if not ch.masked and (ch.request or (ch.device is not None and ch.device.dreq)):
                if ch.mode & 0xC0 == 0xC0:
                    continue
                return n
        return None

    def clock(self):
        """Advance one clock: SI (idle), S0 (HRQ up, waiting for HLDA), then
        S1-S4 per datum. Appends the signals of this clock to ``trace``."""
        self.clocks += 1
        st = self.state
        row = {"clock": self.clocks, "DACK": None, "AEN": 0, "MEMR": 0, "MEMW": 0, "IOR": 0, "IOW": 0, "EOP": 0}
        if st == "SI":
            n = self._requesting()
            if n is not None:
                self.hrq = True
                self._cpu_wait = self.cpu_bus_cycle
                self.state = "S0"
        elif st == "S0":
            if self._cpu_wait > 0:
                self._cpu_wait -= 1
            else:
                self.hlda = True
                n = self._requesting()
                if n is None:                             # the request went away
                    self.hrq = self.hlda = False
                    self.state = "SI"
                else:
                    self.active = n
                    self.state = "S1"
        elif st == "S1":
            row.update(DACK=self.active, AEN=1)
            self.state = "S2"
        elif st == "S2":
            row.update(DACK=self.active, AEN=1, **self._strobes(self.active))
            self.state = "S3"
        elif st == "S3":
            row.update(DACK=self.active, AEN=1, **self._strobes(self.active))
            self.state = "S4"
        elif st == "S4":
            row.update(DACK=self.active, AEN=1, **self._strobes(self.active))
            dreq = [int(bool(c.device and c.device.dreq) or c.request) for c in self.channels]
            tc = self._move_one(self.active)
            self._last_served = self.active
            row.update(EOP=int(tc), HRQ=1, HLDA=1, DREQ=dreq)
            self.state = self._after_transfer(self.active, tc)
            self.cpu_held_clocks += 1
        if st != "S4":
            if self.hlda:
                self.cpu_held_clocks += 1
            row.update(HRQ=int(self.hrq), HLDA=int(self.hlda),
                       DREQ=[int(bool(c.device and c.device.dreq) or c.request) for c in self.channels])
        row["state"] = st
        self.trace.append(row)
        return row

    def _strobes(self, n):
        kind = self.channels[n].mode & 0x0C
        if kind == 0x04:
            return {"IOR": 1, "MEMW": 1}          # write transfer: device -> memory
        if kind == 0x08:
            return {"MEMR": 1, "IOW": 1}          # read transfer: memory -> device
        return {}                                 # verify

    def _move_one(self, n):
        """One datum moves (fly-by); counters step; True at terminal count."""
        ch = self.channels[n]
        width = 1 if n <= 3 else 2
        phys = self.phys_address(n)
        kind = ch.mode & 0x0C
        mem = self.machine.mem
        if kind == 0x04:
            mem.write(phys, ch.device.produce(width))
        elif kind == 0x08:
            ch.device.consumed += mem.read(phys, width)
        step = -1 if ch.mode & DMA_MODE_DECREMENT else 1
        ch.cur_addr = (ch.cur_addr + step) & 0xFFFF
        ch.cur_count = (ch.cur_count - 1) & 0xFFFF
        self.transfers += 1
        if ch.request and ch.mode & 0xC0 != DMA_MODE_BLOCK:
            ch.request = False
        if ch.cur_count == 0xFFFF:                # rollover: terminal count
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
        mode = ch.mode & 0xC0
        dev = ch.device
        if not tc:
            if mode == DMA_MODE_BLOCK:
                return "S1"
            if mode == DMA_MODE_DEMAND and dev is not None and dev.dreq:
                dev._left = getattr(dev, "_left", dev.burst) - 1
                if dev._left > 0:
                    return "S1"
                dev._left = dev.burst
        self.hrq = self.hlda = False              # release the bus (single mode: after every datum)
        self.active = None
        return "SI"

    def run(self, clocks):
        """``clocks`` calls of :meth:`clock`; returns the rows."""
        return [self.clock() for _ in range(clocks)]

    def run_to_tc(self, dmanr, trace_limit=64):
        """Finish the programmed transfer on ``dmanr`` as if the device kept
        DREQ up: bytes move with numpy slices (no Python loop per byte) and
        the clock and bus-hold counts are computed for the channel's mode.
        Short transfers (up to ``trace_limit`` data) are clocked one by one
        instead, so the trace stays complete."""
        self._check_nr(dmanr)
        ch = self.channels[dmanr]
        if ch.masked:
            raise DmaError(f"channel {dmanr} is masked: call enable_dma({dmanr}) first")
        if ch.device is None:
            ch.device = IsaDevice(f"device on channel {dmanr}")
        remaining = ((ch.cur_count + 1) & 0xFFFF) or 0x10000
        if remaining <= trace_limit:
            start = self.transfers
            guard = 0
            while self.transfers - start < remaining and guard < 10 * remaining + 100:
                ch.device.dreq = True
                self.clock()
                guard += 1
            while self.state != "SI":                      # let the last cycle finish
                self.clock()
            return remaining
        import numpy as np

        width = 1 if dmanr <= 3 else 2
        nbytes = remaining * width
        phys = self.phys_address(dmanr)
        step = -1 if ch.mode & DMA_MODE_DECREMENT else 1
        kind = ch.mode & 0x0C
        mem = self.machine.mem
        if step == 1:
            lo = phys
        else:
            lo = phys - nbytes + width
        if kind == 0x04:
            data = np.frombuffer(ch.device.produce(nbytes), dtype=np.uint8)
            if step == -1:
                data = data.reshape(-1, width)[::-1].ravel()
            mem.write(lo, data.tobytes())
        elif kind == 0x08:
            data = np.frombuffer(mem.read(lo, nbytes), dtype=np.uint8)
            if step == -1:
                data = data.reshape(-1, width)[::-1].ravel()
            ch.device.consumed += data.tobytes()
        mode = ch.mode & 0xC0
        per = 4                                    # S1-S4, the bus held by the controller
        arbitration = 1 + self.cpu_bus_cycle + 1   # SI (HRQ), S0 while the CPU finishes, S0 with HLDA
        if mode == DMA_MODE_SINGLE:
            grants = remaining                     # the bus goes back after every datum
        elif mode == DMA_MODE_BLOCK:
            grants = 1
        else:
            grants = -(-remaining // max(1, ch.device.burst))
        clocks = remaining * per + grants * arbitration
        held = remaining * per + grants            # HLDA is up from the last S0 clock to S4
        self.clocks += clocks
        self.cpu_held_clocks += held
        self.transfers += remaining
        ch.cur_addr = (ch.cur_addr + step * remaining) & 0xFFFF
        ch.cur_count = 0xFFFF
        ch.tc = True
        if ch.mode & DMA_AUTOINIT:
            ch.cur_addr, ch.cur_count = ch.base_addr, ch.base_count
        else:
            ch.masked = True
        ch.device.dreq = False
        return remaining


# ============================================================ the DMA API
class Device:
    """A device doing DMA through the Linux DMA API: ``name``,
    ``dma_mask`` (streaming) and ``coherent_dma_mask`` (default
    DMA_BIT_MASK(32), the kernel's default), ``coherent`` (x86: True).
    The device side: :meth:`dma_write` (device writes memory at a DMA
    address) and :meth:`dma_read`."""

    def __init__(self, machine, name, dma_mask=DMA_BIT_MASK(32), coherent=True):
        self.machine = machine
        self.name = name
        self.dma_mask = dma_mask
        self.coherent_dma_mask = dma_mask
        self.coherent = coherent
        self.mappings = {}            # dma_handle -> mapping dict
        self.coherent_allocs = {}     # dma_handle -> (cpu_addr, size, Page)

    def dma_set_mask(self, mask):
        """dma_set_mask(): fails (-EIO) for masks below 24 bits."""
        if mask < DMA_BIT_MASK(24):
            raise DmaError(f"dma_set_mask({mask:#x}): below DMA_BIT_MASK(24), no memory can serve it (-EIO)")
        self.dma_mask = mask

    def dma_set_coherent_mask(self, mask):
        if mask < DMA_BIT_MASK(24):
            raise DmaError(f"dma_set_coherent_mask({mask:#x}): below DMA_BIT_MASK(24) (-EIO)")
        self.coherent_dma_mask = mask

    def dma_write(self, dma_addr, data):
        """The device writes ``data`` to memory at ``dma_addr`` (bypassing CPU caches)."""
        data = bytes(data)
        self._check_reach(dma_addr, len(data))
        self.machine.mem.write(dma_addr, data)

    def dma_read(self, dma_addr, n):
        """The device reads ``n`` bytes of memory at ``dma_addr``."""
        self._check_reach(dma_addr, n)
        return self.machine.mem.read(dma_addr, n)

    def _check_reach(self, dma_addr, n):
        if dma_addr + n - 1 > self.dma_mask and dma_addr + n - 1 > self.coherent_dma_mask:
            raise DmaError(f"{self.name}: DMA address {dma_addr:#x}+{n} is beyond its mask {self.dma_mask:#x}")

    def __repr__(self):
        return f"<Device {self.name}: dma_mask {self.dma_mask:#x}, {'coherent' if self.coherent else 'non-coherent'}>"


class DmaApi:
    """The Linux DMA API of one machine (``machine.dma``): coherent
    allocations, streaming mappings with swiotlb bouncing, syncs, dma pools,
    and a CPU cache for non-coherent devices."""

    def __init__(self, machine, swiotlb_size=1 << 20):
        self.machine = machine
        self.swiotlb_slots = swiotlb_size >> IO_TLB_SHIFT
        order = order_for_size(swiotlb_size)
        self._swiotlb_page = machine.alloc_pages(order, "GFP_DMA32")    # below 4 GiB
        self.swiotlb_start = self._swiotlb_page.pfn << PAGE_SHIFT
        self.slot_used = bytearray(self.swiotlb_slots)
        self.bounce_copies = 0
        self.cache = {}               # line physical address -> [bytes, dirty]
        self.debug_log = []

    # --------------------------------------------------------- coherent
    def dma_alloc_coherent(self, dev, size):
        """dma_alloc_coherent(dev, size, &handle, GFP_KERNEL): zeroed pages
        from a zone the device reaches (ZONE_DMA for masks under 32 bits,
        ZONE_DMA32 up to 32 bits); returns ``(cpu_addr, dma_handle)``.
        Kernel: kernel/dma/direct.c dma_direct_alloc()."""
        if size.__class__ is not int or size <= 0:
            raise BadSize(f"dma_alloc_coherent: size {size!r} must be > 0")
        mask = dev.coherent_dma_mask
        gfp = "GFP_DMA" if mask < DMA_BIT_MASK(32) else ("GFP_DMA32" if mask < DMA_BIT_MASK(64) else "GFP_KERNEL")
        order = order_for_size(size)
        page = self.machine.alloc_pages(order, gfp)
        phys = page.pfn << PAGE_SHIFT
        if phys + size - 1 > mask:
            self.machine.free_pages(page, order)
            raise OutOfMemory(f"dma_alloc_coherent: no memory below {mask:#x} for {dev.name}")
        self.machine.mem.write(phys, bytes(PAGE_SIZE << order))
        cpu_addr = PAGE_OFFSET + phys
        dev.coherent_allocs[phys] = (cpu_addr, size, page)
        return cpu_addr, phys

    def dma_free_coherent(self, dev, size, cpu_addr, dma_handle):
        entry = dev.coherent_allocs.get(dma_handle)
        if entry is None or entry[0] != cpu_addr:
            raise DmaError(f"dma_free_coherent: {dma_handle:#x} is not a coherent allocation of {dev.name}")
        if entry[1] != size:
            raise DmaError(f"DMA-API: {dev.name}: device driver frees DMA memory with different size "
                           f"[device address={dma_handle:#x}] [map size={entry[1]} bytes] [unmap size={size} bytes]")
        del dev.coherent_allocs[dma_handle]
        self.machine.free_pages(entry[2], entry[2].order)

    # --------------------------------------------------------- streaming
    def dma_map_single(self, dev, cpu_addr, size, direction):
        """dma_map_single(dev, ptr, size, dir): the DMA address of a kernel
        buffer. If the buffer lies above the device's mask, swiotlb bounces
        it through its pool below 4 GiB (copying it there now for
        DMA_TO_DEVICE / DMA_BIDIRECTIONAL). Returns DMA_MAPPING_ERROR when
        no bounce slots are free (check with :meth:`dma_mapping_error`).
        Kernel: kernel/dma/mapping.c dma_map_page_attrs() ->
        dma_direct_map_page() -> swiotlb_map()."""
        if direction not in _DIR_NAMES:
            raise DmaError(f"dma_map_single: direction {direction!r} is not DMA_TO_DEVICE, DMA_FROM_DEVICE or "
                           f"DMA_BIDIRECTIONAL (DMA_NONE is only for debugging)")
        if size.__class__ is not int or size <= 0:
            raise BadSize(f"dma_map_single: size {size!r} must be > 0")
        phys = cpu_addr - PAGE_OFFSET
        if not 0 <= phys < self.machine.ram:
            raise DmaError(f"dma_map_single: {cpu_addr:#x} is not a direct-map (kmalloc or page) address; "
                           f"vmalloc memory cannot be mapped with dma_map_single")
        self._writeback(phys, size)                      # arch_sync_dma_for_device on non-coherent
        if phys + size - 1 <= dev.dma_mask:
            handle = phys
            bounce = None
        else:
            nslots = -(-size // IO_TLB_SIZE)
            if nslots > IO_TLB_SEGSIZE:
                self.debug_log.append(f"swiotlb: {dev.name}: mapping of {size} bytes exceeds the 256 KiB "
                                      f"(IO_TLB_SEGSIZE) limit")
                return DMA_MAPPING_ERROR
            start = self._find_slots(nslots)
            if start is None:
                self.debug_log.append(f"{dev.name}: swiotlb buffer is full (sz: {size} bytes), total "
                                      f"{self.swiotlb_slots} (slots), used {sum(self.slot_used)} (slots)")
                return DMA_MAPPING_ERROR
            handle = self.swiotlb_start + (start << IO_TLB_SHIFT)
            if handle + size - 1 > dev.dma_mask:
                self.debug_log.append(f"{dev.name}: swiotlb addr {handle:#x}+{size} overflow (mask "
                                      f"{dev.dma_mask:#x}): the bounce pool itself is out of the device's reach")
                return DMA_MAPPING_ERROR
            for i in range(start, start + nslots):
                self.slot_used[i] = 1
            bounce = (start, nslots)
            if direction in (DMA_TO_DEVICE, DMA_BIDIRECTIONAL):
                self._bounce(phys, handle, size)
        dev.mappings[handle] = {"phys": phys, "size": size, "dir": direction, "bounce": bounce}
        return handle

    def dma_mapping_error(self, dev, dma_addr):
        return dma_addr == DMA_MAPPING_ERROR

    def dma_unmap_single(self, dev, dma_addr, size, direction):
        """dma_unmap_single(): end of the device's access. Bounced
        DMA_FROM_DEVICE / BIDIRECTIONAL data is copied back to the original
        buffer now. Unmapping twice, or with another size or direction, is
        refused with the DMA-API debug message."""
        m = self._mapping(dev, dma_addr, size, direction, "unmap")
        if m["bounce"] is not None:
            if direction in (DMA_FROM_DEVICE, DMA_BIDIRECTIONAL):
                self._bounce(dma_addr, m["phys"], size)
            start, nslots = m["bounce"]
            for i in range(start, start + nslots):
                self.slot_used[i] = 0
        if direction in (DMA_FROM_DEVICE, DMA_BIDIRECTIONAL):
            self._invalidate(m["phys"], size)
        del dev.mappings[dma_addr]

    def dma_sync_single_for_cpu(self, dev, dma_addr, size, direction):
        """Give the buffer to the CPU while still mapped: bounced data is
        copied back, stale cache lines are invalidated."""
        m = self._mapping(dev, dma_addr, size, direction, "sync for cpu")
        if direction in (DMA_FROM_DEVICE, DMA_BIDIRECTIONAL):
            if m["bounce"] is not None:
                self._bounce(dma_addr, m["phys"], size)
            self._invalidate(m["phys"], size)

    def dma_sync_single_for_device(self, dev, dma_addr, size, direction):
        """Give the buffer back to the device: dirty cache lines are
        written back, bounced data copied to the bounce buffer."""
        m = self._mapping(dev, dma_addr, size, direction, "sync for device")
        if direction in (DMA_TO_DEVICE, DMA_BIDIRECTIONAL):
            self._writeback(m["phys"], size)
            if m["bounce"] is not None:
                self._bounce(m["phys"], dma_addr, size)

    def _mapping(self, dev, dma_addr, size, direction, what):
        m = dev.mappings.get(dma_addr)
        if m is None:
            raise DmaError(f"DMA-API: {dev.name}: device driver tries to {what} DMA memory it has not allocated "
                           f"[device address={dma_addr:#x}] [size={size} bytes] (unmapped twice, or never mapped)")
        if m["size"] != size:
            raise DmaError(f"DMA-API: {dev.name}: device driver frees DMA memory with different size "
                           f"[device address={dma_addr:#x}] [map size={m['size']} bytes] [unmap size={size} bytes]")
        if m["dir"] != direction:
            raise DmaError(f"DMA-API: {dev.name}: device driver frees DMA memory with different direction "
                           f"[device address={dma_addr:#x}] [size={size} bytes] [mapped with {_DIR_NAMES[m['dir']]}] "
                           f"[unmapped with {_DIR_NAMES.get(direction, direction)}]")
        return m

    def _find_slots(self, n):
        run = 0
        for i, used in enumerate(self.slot_used):
            run = 0 if used else run + 1
            if run == n:
                return i - n + 1
        return None

    def _bounce(self, src, dst, size):
        mem = self.machine.mem
        mem.write(dst, mem.read(src, size))
        self.bounce_copies += 1

    # ---------------------------------------------------- CPU cache model
    def cpu_read(self, cpu_addr, n, dev=None):
        """A CPU load of ``n`` bytes. For buffers of a non-coherent device
        the lines go through the CPU cache: a line read once keeps its old
        value until invalidated (a stale read if the device wrote since)."""
        phys = cpu_addr - PAGE_OFFSET
        if dev is None or dev.coherent:
            return self.machine.mem.read(phys, n)
        out = bytearray()
        for line in range(phys & ~(CACHE_LINE - 1), phys + n, CACHE_LINE):
            if line not in self.cache:
                self.cache[line] = [bytearray(self.machine.mem.read(line, CACHE_LINE)), False]
            out += self.cache[line][0]
        start = phys & (CACHE_LINE - 1)
        return bytes(out[start:start + n])

    def cpu_write(self, cpu_addr, data, dev=None):
        """A CPU store: straight to memory for coherent devices; into
        write-back cache lines (dirty, not yet in memory) otherwise."""
        phys = cpu_addr - PAGE_OFFSET
        data = bytes(data)
        if dev is None or dev.coherent:
            self.machine.mem.write(phys, data)
            return
        for i, b in enumerate(data):
            addr = phys + i
            line = addr & ~(CACHE_LINE - 1)
            if line not in self.cache:
                self.cache[line] = [bytearray(self.machine.mem.read(line, CACHE_LINE)), False]
            self.cache[line][0][addr - line] = b
            self.cache[line][1] = True

    def _writeback(self, phys, size):
        for line in range(phys & ~(CACHE_LINE - 1), phys + size, CACHE_LINE):
            entry = self.cache.get(line)
            if entry is not None and entry[1]:
                self.machine.mem.write(line, bytes(entry[0]))
                entry[1] = False

    def _invalidate(self, phys, size):
        for line in range(phys & ~(CACHE_LINE - 1), phys + size, CACHE_LINE):
            self.cache.pop(line, None)

    # --------------------------------------------------------- dma pools
    def dma_pool_create(self, name, dev, size, align=0):
        """dma_pool_create(): small coherent blocks carved from coherent pages."""
        return DmaPool(self, name, dev, size, align)


class DmaPool:
    """mm/dmapool.c: blocks of ``size`` bytes (rounded to ``align``) from
    coherent pages, never crossing a page."""

    def __init__(self, api, name, dev, size, align=0):
        if size.__class__ is not int or not 0 < size <= PAGE_SIZE:
            raise BadSize(f"dma_pool_create({name!r}): size {size!r} must be 1..{PAGE_SIZE}")
        align = max(align, 8)
        if align & (align - 1):
            raise BadSize(f"dma_pool_create({name!r}): align {align} is not a power of two")
        self.api, self.name, self.dev = api, name, dev
        self.size = -(-size // align) * align
        self.pages = []                   # (cpu_addr, dma)
        self.free = []                    # (cpu_addr, dma), LIFO
        self.live = {}
        self.destroyed = False

    def dma_pool_alloc(self):
        """Returns ``(cpu_addr, dma_handle)`` of a zeroed block."""
        if self.destroyed:
            raise DmaError(f"dma_pool_alloc: pool {self.name} was destroyed")
        if not self.free:
            cpu, dma = self.api.dma_alloc_coherent(self.dev, PAGE_SIZE)
            self.pages.append((cpu, dma))
            per = PAGE_SIZE // self.size
            self.free.extend((cpu + i * self.size, dma + i * self.size) for i in reversed(range(per)))
        cpu, dma = self.free.pop()
        self.live[dma] = cpu
        self.api.machine.mem.write(dma, bytes(self.size))
        return cpu, dma

    def dma_pool_free(self, cpu_addr, dma_handle):
        if self.live.get(dma_handle) != cpu_addr:
            raise DmaError(f"dma_pool_free {self.name}: {dma_handle:#x} is not a live block of this pool")
        del self.live[dma_handle]
        self.free.append((cpu_addr, dma_handle))

    def dma_pool_destroy(self):
        if self.live:
            raise DmaError(f"dma_pool_destroy {self.name}: {len(self.live)} blocks still in use (the kernel prints "
                           f"'dma_pool_destroy {self.name}, ... busy')")
        for cpu, dma in self.pages:
            self.api.dma_free_coherent(self.dev, PAGE_SIZE, cpu, dma)
        self.pages.clear()
        self.free.clear()
        self.destroyed = True
