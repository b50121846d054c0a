"""ipywidgets dashboards, one per topic, on one :class:`Dashboard` base.

They only call the model and draw with :mod:`memlab.plots`; every button
reports MemlabError messages in a status line, never a traceback."""

from .address_space import AddressSpaceDashboard
from .base import Dashboard, guarded, parse_int, pre, status_html
from .buddy import BuddyDashboard
from .dma import DmaDashboard
from .exercise import ExerciseWidget
from .heap import HeapDashboard
from .mempool import MempoolDashboard
from .mobility import MobilityDashboard
from .monitor import MonitorDashboard
from .pitfalls import PitfallDashboard
from .slab import SlabDashboard

__all__ = [
    "Dashboard",
    "guarded",
    "status_html",
    "pre",
    "parse_int",
    "BuddyDashboard",
    "SlabDashboard",
    "MempoolDashboard",
    "AddressSpaceDashboard",
    "DmaDashboard",
    "HeapDashboard",
    "PitfallDashboard",
    "MonitorDashboard",
    "MobilityDashboard",
    "ExerciseWidget",
]
