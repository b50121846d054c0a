"""The page allocator: buddy lists per zone, watermarks, fragmentation, and
the zoned allocator of a node. The names are re-exported here so that
``from memlab.page_alloc import Zone, unusable_index, ...`` keeps working."""

# The public names of every module, re-exported; each module's __all__ is the list.
from . import buddy, compact, compaction, core, explain, fragmentation, migratetype, mobility, node, pcp, watermarks
from .buddy import *
from .compact import *
from .compaction import *
from .core import *
from .explain import *
from .fragmentation import *
from .migratetype import *
from .mobility import *
from .node import *
from .pcp import *
from .watermarks import *

__all__ = [
    *buddy.__all__,
    *compact.__all__,
    *compaction.__all__,
    *core.__all__,
    *explain.__all__,
    *fragmentation.__all__,
    *migratetype.__all__,
    *mobility.__all__,
    *node.__all__,
    *pcp.__all__,
    *watermarks.__all__,
]
