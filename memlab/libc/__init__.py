"""The C library's malloc on a simulated process: glibc 2.36, x86-64, main arena.

``p.libc`` (a :class:`Libc`) serves ``malloc``, ``calloc``, ``realloc``,
``free``, ``malloc_usable_size``, ``mallopt``, ``mallinfo2`` and
``malloc_stats`` from the process's own memory: the heap grows with the
process's ``brk``, large requests get their own ``mmap``, chunk headers are
written into the process's pages (so a page is faulted in, and counts in
RSS, only when glibc or the program touches it), and ``p.read``/``p.write``
see the data.

Kernel of the model, glibc malloc/malloc.c (2.36) read function by function:
``__libc_malloc`` (the tcache first: 64 bins of 7 chunks, chunks up to 1032
bytes; ``tcache_init`` takes the first 0x290-byte chunk of the heap),
``_int_malloc`` (fastbins up to ``global_max_fast`` = 128, exact small bins,
the unsorted bin with the last-remainder rule and tcache stashing, large
bins kept largest first with best fit that spares the first chunk of a size,
the binmap scan, the top chunk, ``malloc_consolidate`` before a large
request), ``sysmalloc`` (``mmap`` at or above ``mmap_threshold``, else
``brk`` by ``nb + top_pad + MINSIZE`` rounded to pages; M_TOP_PAD is 128 KiB,
sysdeps/generic/malloc-machine.h), ``_int_free`` (tcache, fastbins,
coalescing with both neighbours, the unsorted bin, ``systrim`` past
``trim_threshold``), ``__libc_free`` (the dynamic mmap threshold: freeing
an mmapped chunk larger than the threshold, up to 32 MiB, raises it to that
chunk's size and the trim threshold to twice it), ``__libc_calloc`` (no
clearing of fresh mmapped or fresh brk memory), ``_int_realloc`` (grow into
the top or a free neighbour, else move), ``musable``, ``int_mallinfo``,
``__malloc_stats``, ``__libc_mallopt``.

Geometry: a chunk has an 8-byte size field before the user's bytes (and
borrows the next chunk's 8-byte prev_size), 16-byte alignment, 32-byte
minimum: ``request2size(n) = max(32, (n + 8 + 15) & ~15)``.

Errors: what glibc detects, it reports with its own message and aborts the
program; memlab raises :class:`MallocAbort` with that message and leaves the
heap as it was. Size fields live in the process's memory, so a program that
writes past its buffer damages them: ``free`` reads the chunk's field back
(``free(): invalid pointer``, ``free(): invalid size``) and ``malloc`` the
top chunk's (``malloc(): corrupted top size``, the check that ended the
"House of Force"); damage glibc would not catch stops the model with a
:class:`MemlabError` that says so.

Simplifications (not modelled): one thread and one arena; the free-list
pointers (tcache next and key, fd/bk) are kept by memlab, not written into
the freed chunks; a ``free`` of an address that is not a chunk glibc handed
out is reported as ``free(): invalid pointer`` (glibc would read whatever
bytes lie before it); a fastbin double free that glibc would miss (the chunk
not at the head of its bin) is refused; ``realloc`` of an mmapped chunk moves
it with a new mapping and a copy where the kernel's ``mremap`` would move the
page-table entries; no ``memalign``, no ``malloc_trim``, no tunables.
"""

from .calls import Libc
from .malloc import (
    M_MMAP_MAX,
    M_MMAP_THRESHOLD,
    M_MXFAST,
    M_TOP_PAD,
    M_TRIM_THRESHOLD,
    Arena,
    MallocAbort,
    request2size,
)
from .trace import run_trace, trace_text

__all__ = [
    "Libc",
    "Arena",
    "MallocAbort",
    "request2size",
    "run_trace",
    "trace_text",
    "M_MXFAST",
    "M_TRIM_THRESHOLD",
    "M_TOP_PAD",
    "M_MMAP_THRESHOLD",
    "M_MMAP_MAX",
]
