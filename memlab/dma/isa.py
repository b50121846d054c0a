"""The 8237A's registers and signals, and the devices on its channels: the
mode-register bits (named as <asm/dma.h> and the Intel data sheet name
them), the controller states, the record of one bus cycle, a channel's
registers, and an ISA device with its DREQ line.
"""

from __future__ import annotations

from ..records import Record, StrEnum

__all__ = [
    "BusState",
    "BusCycle",
    "DmaChannel",
    "IsaDevice",
    "SIGNALS",
    "MAX_DMA_ADDRESS",
    "DMA_MODE_READ",
    "DMA_MODE_WRITE",
    "DMA_MODE_CASCADE",
    "DMA_AUTOINIT",
    "DMA_MODE_VERIFY",
    "DMA_MODE_DEMAND",
    "DMA_MODE_SINGLE",
    "DMA_MODE_BLOCK",
    "DMA_MODE_DECREMENT",
    "VERIFY_TRANSFER",
    "WRITE_TRANSFER",
    "READ_TRANSFER",
    "TRANSFER_TYPE",
    "MODE_SELECT",
]

# <asm/dma.h> mode values (bits 7-6 mode, 5 decrement, 4 autoinit, 3-2 transfer type)
DMA_MODE_VERIFY = 0x40  # single mode, verify (no strobes)
DMA_MODE_READ = 0x44  # Linux: I/O to memory (the 8237's "write transfer"), single mode
DMA_MODE_WRITE = 0x48  # Linux: memory to I/O (the 8237's "read transfer"), single mode
DMA_MODE_CASCADE = 0xC0
DMA_AUTOINIT = 0x10
DMA_MODE_DECREMENT = 0x20
DMA_MODE_DEMAND, DMA_MODE_SINGLE, DMA_MODE_BLOCK = 0x00, 0x40, 0x80
MAX_DMA_ADDRESS = 16 << 20  # ISA DMA reaches the first 16 MiB (24 address lines)
# Mode register bits 3-2, the transfer type, named as the data sheet names them
VERIFY_TRANSFER = 0x00  # addresses step, no strobes
WRITE_TRANSFER = 0x04  # I/O device -> memory (IOR + MEMW): Linux's DMA_MODE_READ
READ_TRANSFER = 0x08  # memory -> I/O device (MEMR + IOW): Linux's DMA_MODE_WRITE
TRANSFER_TYPE = 0x0C  # the mask of the transfer-type bits
MODE_SELECT = 0xC0  # the mask of the mode bits (demand, single, block, cascade)

SIGNALS = ("DREQ", "HRQ", "HLDA", "DACK", "AEN", "MEMR", "MEMW", "IOR", "IOW", "EOP")


class BusState(StrEnum):
    """The controller's state (data sheet, Figure "DMA Operation State
    Diagram"): SI idle, S0 waiting for HLDA, S1-S4 one transfer."""

    SI = "SI"
    S0 = "S0"
    S1 = "S1"
    S2 = "S2"
    S3 = "S3"
    S4 = "S4"


class BusCycle(Record):
    """The signals of one clock (1 = asserted): ``DREQ`` is a list with one
    entry per channel, ``DACK`` the acknowledged channel or None, ``state``
    the controller state during this clock. Reads like the dict rows of
    earlier versions: ``cycle["HRQ"]``."""

    __slots__ = ("clock", "state", "DREQ", "HRQ", "HLDA", "DACK", "AEN", "MEMR", "MEMW", "IOR", "IOW", "EOP")

    def __init__(
        self,
        clock: int,
        state: BusState,
        DREQ: list,
        HRQ: int,
        HLDA: int,
        DACK: int | None,
        AEN: int,
        MEMR: int,
        MEMW: int,
        IOR: int,
        IOW: int,
        EOP: int,
    ) -> None:
        self.clock, self.state, self.DREQ, self.HRQ, self.HLDA, self.DACK = clock, state, DREQ, HRQ, HLDA, DACK
        self.AEN, self.MEMR, self.MEMW, self.IOR, self.IOW, self.EOP = AEN, MEMR, MEMW, IOR, IOW, EOP


class DmaChannel:
    """One channel's registers: base and current address and word count
    (16 bits each), the mode register, the page register, the mask bit, the
    terminal-count and software-request bits, and the attached device."""

    __slots__ = (
        "base_addr",
        "cur_addr",
        "base_count",
        "cur_count",
        "mode",
        "page",
        "masked",
        "tc",
        "request",
        "device",
        "moved",
    )

    def __init__(self):
        self.base_addr = self.cur_addr = 0
        self.base_count = self.cur_count = 0
        self.mode = 0
        self.page = 0
        self.masked = True
        self.tc = False
        self.request = False
        self.device = None
        #: data this channel has moved since power-on (its own count; ``transfers`` counts all channels)
        self.moved = 0


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
        self.burst_left = burst  # demand mode: transfers left before DREQ drops for a moment
        self.dreq = False

    def produce(self, n=1):
        out = bytes(self.data[self.pos : self.pos + n])
        out += bytes(n - len(out))
        self.pos += n
        return out

    def __repr__(self):
        return f"<IsaDevice {self.name}: DREQ {'high' if self.dreq else 'low'}>"
