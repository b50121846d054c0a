"""DMA: the Intel 8237A controller and the Linux DMA API.

Modules: :mod:`.isa` (mode bits, bus states, channels, ISA devices),
:mod:`.i8237` (the controller clock by clock), :mod:`.bulk` (a whole
transfer at once), :mod:`.api` (the Linux DMA API), :mod:`.nic` (a PCI
network card's registers and DMA rings, and its driver). The 8237A and the API
share only the error type; the names are re-exported here
(``from memlab.dma import Dma8237, DMA_BIT_MASK, ...``).
"""

# The public names of every module, re-exported; each module's __all__ is the list.
from ..errors import DmaError
from . import api, i8237, isa, nic, swiotlb
from .api import *
from .i8237 import *
from .isa import *
from .nic import *
from .swiotlb import *

__all__ = ["DmaError", *api.__all__, *i8237.__all__, *isa.__all__, *nic.__all__, *swiotlb.__all__]
