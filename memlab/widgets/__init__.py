"""ipywidgets dashboards, one per topic. They only call the model; every
button reports MemlabError messages in a status line, never a traceback."""

from ._common import guarded, status_html  # noqa: F401
from .buddy import BuddyDashboard  # noqa: F401
from .exercise import ExerciseWidget  # noqa: F401
from .slab import SlabDashboard  # noqa: F401,E402
from .mempool import MempoolDashboard  # noqa: F401,E402
from .address_space import AddressSpaceDashboard  # noqa: F401,E402
from .dma import DmaDashboard  # noqa: F401,E402
