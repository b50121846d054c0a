"""Matplotlib drawings of the model, one module per topic.

Two kinds of drawing: functions ``f(ax, model)`` that draw once on an axes
you give them and return it (for notebook figures), and :class:`Drawing`
handles (``BuddyDrawing(zone)``, ``SlabDrawing()``, ...) that own a figure
and redraw it with ``update(model)``, which the dashboards use and a notebook
can display directly. Drawings only read the model; the simulation modules
never import matplotlib.
"""

# The public names of every module, re-exported; each module's __all__ is the list.
from . import address_space as _address_space  # the module: its function of the same name is re-exported
from . import buddy, dma, figure, heap, mempool, mobility, monitor, nic, pitfalls, slab, style
from .address_space import *
from .buddy import *
from .dma import *
from .figure import *
from .heap import *
from .mempool import *
from .mobility import *
from .monitor import *
from .nic import *
from .pitfalls import *
from .slab import *
from .style import *

# fmt: off
__all__ = [
    *_address_space.__all__, *buddy.__all__, *dma.__all__, *figure.__all__, *heap.__all__, *mempool.__all__,
    *mobility.__all__, *monitor.__all__, *nic.__all__, *pitfalls.__all__, *slab.__all__, *style.__all__,
]
# fmt: on
