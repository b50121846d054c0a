"""memlab: Linux memory management you can see (Linux 6.12, x86-64, 4 KiB pages)."""
from .errors import *  # noqa: F401,F403
from .units import PAGE_SIZE, PAGE_SHIFT, MAX_PAGE_ORDER, NR_PAGE_ORDERS, parse_size, format_size  # noqa: F401
from .page_alloc import Zone, Page, FreeArea, buddy_pfn  # noqa: F401
from .physmem import Machine  # noqa: F401,E402
from . import procfs, gfp, workloads  # noqa: F401,E402
from . import exercises  # noqa: F401,E402

__version__ = "0.1.0"


def __getattr__(name):
    # plots and widgets load matplotlib / ipywidgets: import them only when used
    if name in ("plots", "widgets"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'memlab' has no attribute {name!r}")
from .slub import (SLAB_HWCACHE_ALIGN, SLAB_CACHE_DMA, SLAB_RED_ZONE, SLAB_POISON,  # noqa: F401,E402
                   SlabCorruption, BadCache)
from .dma import DMA_BIT_MASK, DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL  # noqa: F401,E402
