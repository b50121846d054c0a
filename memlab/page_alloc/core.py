"""The choice between the two buddy cores of a :class:`memlab.Zone`.

``buddy.py`` is the reference the course teaches: readable Python, every
step visible. ``_cbuddy.c`` is an optional C extension that keeps a zone's
free lists as the kernel does (doubly linked lists threaded through the
pages) and does the same steps: the same PFNs in the same order, the same
trail records, the same errors (it calls the Python zone to raise them). It
is built by ``pip install`` where a C compiler exists; without one memlab
runs the Python core, the same results, slower.

``Zone(...)`` uses the compiled core when it is built, unless the
environment variable ``MEMLAB_PURE_PYTHON`` is set (to anything but "" or
"0") or the zone is made with ``core="python"``; ``core="c"`` insists on
it. ``zone.core`` says which one a zone runs ("c" or "python").
:attr:`COMPILED_CORE` is True when the extension is importable.

With the compiled core a zone also has :meth:`CZone.replay`, which runs a
whole pre-generated operation stream in C; :func:`memlab.workloads.buddy_v1`
uses it, so millions of operations take seconds.
"""

from __future__ import annotations

from ..errors import MemlabError
from ..units import MAX_PAGE_ORDER, NR_PAGE_ORDERS, check_order
from ._compiled import ext, pure_python_requested
from .buddy import Page, Zone, check_blocks_tile
from .explain import step_record

Core = ext.Core if ext is not None else None  # (None: not built, no compiler)

__all__ = ["COMPILED_CORE", "CZone", "default_core"]

#: True when the C extension memlab.page_alloc._cbuddy was built.
COMPILED_CORE = Core is not None


def default_core() -> str:
    """ "c" if new zones use the compiled core, else "python"."""
    return "c" if COMPILED_CORE and not pure_python_requested() else "python"


def choose(core):
    """The class a ``Zone(..., core=core)`` call builds."""
    if core is None:
        core = default_core()
    if core == "python":
        return Zone
    if core == "c":
        if not COMPILED_CORE:
            raise MemlabError(
                "Zone(core='c'): the compiled buddy core is not built on this machine "
                "(no C compiler when memlab was installed); use core='python'"
            )
        return CZone
    raise MemlabError(f"Zone: core {core!r} must be 'c', 'python' or None (the default, {default_core()!r})")


class CZone(Zone):
    """A :class:`memlab.Zone` whose free lists live in the compiled core.

    Same constructor, same methods, same results; ``alloc_pages`` and
    ``free_pages`` are the C functions themselves (no Python frame per
    call). Adds :meth:`replay`.
    """

    core = "c"

    def _init_free_lists(self):
        if not hasattr(self, "_core"):
            self._core = Core(
                self.zone_start_pfn, self.spanned_pages, Page, self._oom, self._diagnose_bad_free, check_order
            )
            self.alloc_pages = self._core.alloc_pages
            self.free_pages = self._core.free_pages
        self._core.clear()
        for lo, hi in self.free_ranges:
            self._core.boot(lo, hi)

    @property
    def nr_free_pages(self) -> int:
        return self._core.nr_free_pages()

    def nr_free_by_order(self) -> list[int]:
        return self._core.nr_free_by_order()

    def free_list(self, order: int) -> list[int]:
        return self._core.free_list(order)

    def free_pfns(self, order: int):
        return self._core.free_list(order)

    def raw_trail(self):
        return self._core.trail()

    def allocated_blocks(self):
        return self._core.allocated_blocks()

    def allocated_order(self, pfn):
        state = self._core.state_at(pfn) if pfn.__class__ is int else None
        return state[1] if state is not None and state[0] == "alloc" else None

    def is_free(self, pfn, order):
        return self._core.state_at(pfn) == ("free", order) if pfn.__class__ is int else False

    def replay(self, ops, live=None, sample_every=0, on_sample=None):
        """Run an operation stream in C: an int op allocates that order and
        appends the Page to ``live``; a float op ``f`` frees
        ``live[int(f * len(live))]`` (swap-remove: the last block takes its
        place), as :func:`memlab.workloads.buddy_v1` does; a failed
        allocation counts as a failure and changes nothing. Every
        ``sample_every`` ops ``on_sample(done)`` is called. Returns
        ``(allocs, frees, failures)``; ``live`` holds the live blocks."""
        live = [] if live is None else live
        return self._core.replay(ops, live, sample_every, on_sample or (lambda done: None))

    def check_invariants(self):
        """The buddy invariants, read through the core's lists."""
        start, end = self.zone_start_pfn, self.zone_end_pfn
        owner = {}
        for o in range(NR_PAGE_ORDERS):
            pfns = self.free_list(o)
            assert len(pfns) == len(set(pfns)) == self.nr_free_by_order()[o], f"free list {o} order lost track"
            for pfn in pfns:
                assert pfn % (1 << o) == 0 and start <= pfn and pfn + (1 << o) <= end, f"free block {pfn} order {o}"
                if o < MAX_PAGE_ORDER:
                    assert not self.is_free(pfn ^ (1 << o), o), f"free buddies pfn {pfn} and {pfn ^ (1 << o)}"
                assert pfn not in owner, f"pfn {pfn} on two free lists"
                owner[pfn] = o
        assert self.nr_free_pages == sum(1 << o for o in owner.values())
        for pfn, o in self.allocated_blocks():
            assert pfn % (1 << o) == 0 and start <= pfn and pfn + (1 << o) <= end, f"allocated block {pfn}"
            assert pfn not in owner, f"pfn {pfn} is both free and allocated"
            owner[pfn] = o
        check_blocks_tile(owner, start, self.managed_pages)
        for record in self.raw_trail():
            step_record(record)  # every raw record has the shape of its record type


Zone.choose_class = staticmethod(choose)  # Zone(...) now builds the class choose() names
