"""memlab: Linux memory management you can see (Linux 6.12, x86-64, 4 KiB pages).

This package module is the course API: it re-exports the names the README
and the notebooks use, and wires the layers together (the exercise widget).
The layers themselves are described in docs/ARCHITECTURE.md.
"""

from . import errors, exercises, gfp, layout, libc, mm, procfs, workloads
from .dma import DMA_BIDIRECTIONAL, DMA_BIT_MASK, DMA_FROM_DEVICE, DMA_TO_DEVICE
from .errors import *  # noqa: F403 - every MemlabError subclass
from .libc import M_MMAP_MAX, M_MMAP_THRESHOLD, M_MXFAST, M_TOP_PAD, M_TRIM_THRESHOLD
from .machine import Machine
from .page_alloc import FreeArea, MobilityZone, Page, Zone, buddy_pfn
from .slub import SLAB_CACHE_DMA, SLAB_HWCACHE_ALIGN, SLAB_POISON, SLAB_RED_ZONE
from .units import MAX_PAGE_ORDER, NR_PAGE_ORDERS, PAGE_SHIFT, PAGE_SIZE, format_size, parse_size
from .version import __version__

__all__ = [
    "Machine", "Zone", "MobilityZone", "Page", "FreeArea", "buddy_pfn",
    "procfs", "gfp", "layout", "workloads", "exercises", "libc",
    "M_MXFAST", "M_TRIM_THRESHOLD", "M_TOP_PAD", "M_MMAP_THRESHOLD", "M_MMAP_MAX",
    "PAGE_SIZE", "PAGE_SHIFT", "MAX_PAGE_ORDER", "NR_PAGE_ORDERS", "parse_size", "format_size",
    "SLAB_HWCACHE_ALIGN", "SLAB_CACHE_DMA", "SLAB_RED_ZONE", "SLAB_POISON",
    "DMA_BIT_MASK", "DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_BIDIRECTIONAL", "__version__",
    *errors.__all__,
]  # fmt: skip


def __getattr__(name):
    # plots and widgets load matplotlib / ipywidgets, native runs the compiler; pitfalls and monitor
    # are lessons 07 and 08: import them only when used
    if name in ("plots", "widgets", "native", "pitfalls", "monitor"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'memlab' has no attribute {name!r}")


def _exercise_widget(exercise):
    """The view of an exercise: the widget layer wraps the model layer."""
    from .widgets import ExerciseWidget

    return ExerciseWidget(exercise)


exercises.Exercise.widget_factory = _exercise_widget
mm.Process.libc_factory = libc.Libc
