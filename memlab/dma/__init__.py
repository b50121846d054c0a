"""DMA: the Intel 8237A controller and the Linux DMA API.

Modules: :mod:`.isa` (mode bits, bus states, channels, ISA devices),
:mod:`.i8237` (the controller clock by clock), :mod:`.bulk` (a whole
transfer at once), :mod:`.api` (the Linux DMA API). The 8237A and the API
share only the error type; the names are re-exported here
(``from memlab.dma import Dma8237, DMA_BIT_MASK, ...``).
"""

from ..errors import DmaError
from .api import (
    CACHE_LINE,
    DMA_BIDIRECTIONAL,
    DMA_BIT_MASK,
    DMA_FROM_DEVICE,
    DMA_MAPPING_ERROR,
    DMA_TO_DEVICE,
    IO_TLB_SEGSIZE,
    IO_TLB_SHIFT,
    IO_TLB_SIZE,
    CoherentAlloc,
    Device,
    DmaApi,
    DmaMapping,
    DmaPool,
)
from .i8237 import Dma8237
from .isa import (
    DMA_AUTOINIT,
    DMA_MODE_BLOCK,
    DMA_MODE_CASCADE,
    DMA_MODE_DECREMENT,
    DMA_MODE_DEMAND,
    DMA_MODE_READ,
    DMA_MODE_SINGLE,
    DMA_MODE_VERIFY,
    DMA_MODE_WRITE,
    MAX_DMA_ADDRESS,
    MODE_SELECT,
    READ_TRANSFER,
    SIGNALS,
    TRANSFER_TYPE,
    VERIFY_TRANSFER,
    WRITE_TRANSFER,
    BusCycle,
    BusState,
    DmaChannel,
    IsaDevice,
)

__all__ = [
    "DmaError",
    "Dma8237",
    "DmaChannel",
    "IsaDevice",
    "BusState",
    "BusCycle",
    "Device",
    "DmaApi",
    "DmaPool",
    "DmaMapping",
    "CoherentAlloc",
    "DMA_BIT_MASK",
    "DMA_MODE_READ",
    "DMA_MODE_WRITE",
    "DMA_MODE_CASCADE",
    "DMA_AUTOINIT",
    "DMA_MODE_VERIFY",
    "DMA_MODE_DEMAND",
    "DMA_MODE_SINGLE",
    "DMA_MODE_BLOCK",
    "DMA_MODE_DECREMENT",
    "DMA_TO_DEVICE",
    "DMA_FROM_DEVICE",
    "DMA_BIDIRECTIONAL",
    "DMA_MAPPING_ERROR",
    "SIGNALS",
    "MAX_DMA_ADDRESS",
    "IO_TLB_SHIFT",
    "IO_TLB_SIZE",
    "IO_TLB_SEGSIZE",
    "CACHE_LINE",
    "VERIFY_TRANSFER",
    "WRITE_TRANSFER",
    "READ_TRANSFER",
    "TRANSFER_TYPE",
    "MODE_SELECT",
]
