"""Seeded exercises: a problem, a hidden answer, a check that explains.

:mod:`.core` holds the pattern (:class:`Exercise`, :class:`Choice`),
:mod:`.numeric` and :mod:`.addressing` the exercises with a number for an
answer (several of them predictions the simulation then acts out), :mod:`.why` the multiple-choice
questions that ask why. ``make(kind, seed)`` builds any of them by name.

Generators: :func:`buddy_of`, :func:`next_pfn`, :func:`fragmentation_index`,
:func:`largest_block` (buddy allocator); :func:`objs_per_slab`,
:func:`kmalloc_class` (slab allocator); :func:`mempool_curr_nr` (mempools);
:func:`pgtable_index`, :func:`copy_from_user_left` (address spaces);
:func:`dma_count_register` (DMA); :func:`malloc_chunk_size`, :func:`tcache_reuse`,
:func:`mmap_threshold_after_free`, :func:`why_malloc_costs_no_ram` (glibc's malloc, :mod:`.usage`);
:func:`find_the_bug`, :func:`lost_update`, :func:`why_quarantine` (C/C++ pitfalls, :mod:`.pitfalls`);
:func:`free_used`, :func:`drop_caches_freed`, :func:`why_available` (monitoring, :mod:`.monitoring`);
:func:`pcp_batch`, :func:`oom_victim`, :func:`why_grouping` (fighting fragmentation, :mod:`.mobility`); and the
*why* questions in :mod:`.why`.
"""

from __future__ import annotations

from . import addressing, core, coursework, mobility, monitoring, numeric, pitfalls, usage, why
from .addressing import *
from .core import *
from .coursework import *
from .mobility import *
from .monitoring import *
from .numeric import *
from .pitfalls import *
from .registry import GENERATORS, make
from .usage import *
from .why import *

__all__ = [
    *core.__all__,
    *numeric.__all__,
    *addressing.__all__,
    *usage.__all__,
    *pitfalls.__all__,
    *monitoring.__all__,
    *mobility.__all__,
    *why.__all__,
    *coursework.__all__,
    "GENERATORS",
    "make",
]
