"""x86-64 4-level page tables: entries, the tables of one address space, and
the walk the MMU does.

Kernel: arch/x86/include/asm/pgtable_64_types.h (9/9/9/9/12 bits),
arch/x86/include/asm/pgtable_types.h (``_PAGE_*`` bits), mm/memory.c
__pte_alloc()/__pmd_alloc()/__pud_alloc() (a table page is allocated when
the first entry below it is needed). Each PUD, PMD and PTE table is one page
taken from the zones, which is what /proc/pid/status counts as VmPTE.

Deliberately not modelled: 5-level paging (LA57), huge pages in user space,
the accessed/dirty bits being set by the MMU after the fact (a mapped page is
marked accessed, a writable one dirty), PCID and the TLB itself.
"""

from __future__ import annotations

from collections import namedtuple

from ..records import Record
from ..units import PAGE_SHIFT

__all__ = [
    "pgtable_indices",
    "LEVELS",
    "PTE_PRESENT",
    "PTE_RW",
    "PTE_USER",
    "PTE_ACCESSED",
    "PTE_DIRTY",
    "PTE_PSE",
    "PTE_NX",
    "ZERO_PFN",
    "Pte",
    "TableRef",
    "WalkStep",
    "WalkResult",
    "PageTables",
]

_tuple_new = tuple.__new__

# arch/x86/include/asm/pgtable_types.h: _PAGE_PRESENT, _PAGE_RW, _PAGE_USER,
# _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PSE (a huge page ends the walk), _PAGE_NX
PTE_PRESENT, PTE_RW, PTE_USER, PTE_ACCESSED, PTE_DIRTY, PTE_PSE = 0x1, 0x2, 0x4, 0x20, 0x40, 0x80
PTE_NX = 1 << 63
LEVELS = ("PGD", "PUD", "PMD", "PTE")

#: The frame of the shared zero page that read faults on anonymous memory map.
#: Simplification: the kernel's empty_zero_page lies in its image (.bss);
#: memlab, which does not model the kernel image, keeps it in the reserved
#: first MiB (pfn 1), a frame the buddy allocator never hands out.
ZERO_PFN = 1


def pgtable_indices(vaddr):
    """``(pgd, pud, pmd, pte, offset)`` of an x86-64 4-level virtual address:
    bits 47-39, 38-30, 29-21, 20-12 and 11-0."""
    return ((vaddr >> 39) & 511, (vaddr >> 30) & 511, (vaddr >> 21) & 511, (vaddr >> 12) & 511, vaddr & 0xFFF)


class Pte(namedtuple("Pte", "pfn flags kind")):
    """A present page-table entry: the frame, its x86 flag bits, and whether
    the frame is an anonymous page ("anon"), a page-cache page ("file") or
    the shared zero page ("zero")."""

    __slots__ = ()

    @property
    def value(self):
        """The 64-bit entry as the MMU reads it."""
        return (self.pfn << PAGE_SHIFT) | self.flags


class TableRef(namedtuple("TableRef", "prefix")):
    """An upper-level entry pointing at the next table (keyed by its prefix)."""

    __slots__ = ()


class WalkStep(Record):
    """One lookup of a page walk: the ``level`` (PGD, PUD, PMD, PTE), the
    ``index`` into that table, the table's frame (None for the kernel's
    shared tables), the ``entry`` found and whether it is ``present``;
    ``huge`` explains a walk that ends early on a huge page."""

    __slots__ = ("level", "index", "table_pfn", "entry", "present", "huge")

    def __init__(
        self, level: str, index: int, table_pfn: int | None, entry: int, present: bool, huge: str | None = None
    ) -> None:
        self.level, self.index, self.table_pfn, self.entry, self.present, self.huge = (
            level,
            index,
            table_pfn,
            entry,
            present,
            huge,
        )


class WalkResult(Record):
    """The outcome of a walk: ``phys``, ``pfn`` and ``flags`` of the
    translation, or ``fault`` saying why there is none; ``note`` adds how
    this kind of address is mapped."""

    __slots__ = ("phys", "pfn", "flags", "note", "fault")

    def __init__(
        self,
        phys: int | None = None,
        pfn: int | None = None,
        flags: int | None = None,
        note: str | None = None,
        fault: str | None = None,
    ) -> None:
        self.phys, self.pfn, self.flags, self.note, self.fault = phys, pfn, flags, note, fault


class PageTables:
    """The page tables of one address space. Tables are dicts keyed by
    ``(level, prefix)``, where ``prefix`` is the virtual address bits above
    that table's index; ``table_pfn`` gives the frame behind each table.
    ``pgd`` is the top-level table's Page; ``pt_pages`` the Pages of the
    PUD, PMD and PTE tables."""

    def __init__(self, machine):
        self.machine = machine
        self.pgd = machine.alloc_pages(0, "GFP_KERNEL")  # the top-level table: one page
        self.tables = {}  # (level, table prefix) -> {index: TableRef or Pte}
        self.table_pfn = {(0, 0): self.pgd.pfn}
        self.pt_pages = []

    def _table(self, level, prefix, create):
        key = (level, prefix)
        table = self.tables.get(key)
        if table is None and create:
            table = self.tables[key] = {}
            if level:  # PUD, PMD, PTE tables: one page each
                page = self.machine.alloc_pages(0, "GFP_KERNEL")
                self.pt_pages.append(page)
                self.table_pfn[key] = page.pfn
        return table

    def set_pte(self, vaddr, pfn, writable, executable, kind="anon"):
        """Install a PTE for ``vaddr`` (allocating missing tables on the way
        down; kernel: set_pte_at() after __pte_alloc())."""
        idx = pgtable_indices(vaddr)
        prefix = 0
        for level in range(3):
            table = self._table(level, prefix, create=True)
            child_prefix = (prefix << 9) | idx[level]
            if idx[level] not in table:
                self._table(level + 1, child_prefix, create=True)
                table[idx[level]] = TableRef(child_prefix)
            prefix = child_prefix
        pte_table = self._table(3, prefix, create=True)
        flags = (
            PTE_PRESENT
            | PTE_USER
            | PTE_ACCESSED
            | (PTE_RW | PTE_DIRTY if writable else 0)
            | (0 if executable else PTE_NX)
        )
        pte_table[idx[3]] = _tuple_new(
            Pte, (pfn, flags, kind)
        )  # Pte(pfn, flags, kind), without the Python-level __new__

    def _pte_table(self, vaddr):
        """The PTE table covering ``vaddr`` (or None) and the PTE index."""
        idx = pgtable_indices(vaddr)
        prefix = 0
        for level in range(3):
            table = self.tables.get((level, prefix))
            if table is None or idx[level] not in table:
                return None, idx[3]
            prefix = (prefix << 9) | idx[level]
        return self.tables.get((3, prefix)), idx[3]

    def pte_clear(self, vaddr):
        """Clear the PTE of ``vaddr``; returns the :class:`Pte` it held, or None."""
        table, i = self._pte_table(vaddr)
        return table.pop(i, None) if table else None

    def lookup_pte(self, vaddr):
        """The :class:`Pte` mapping ``vaddr``'s page, or None."""
        table, i = self._pte_table(vaddr)
        return table.get(i) if table else None

    def set_pte_writable(self, vaddr, writable, executable, shared):
        """Change a present PTE's write and execute bits (mprotect). A
        page-cache page in a private mapping stays read-only: a write must
        copy it first (copy-on-write)."""
        entry = self.lookup_pte(vaddr)
        if entry:
            self.set_pte(vaddr, entry.pfn, writable and (entry.kind == "anon" or shared), executable, entry.kind)

    def walk(self, vaddr, why_missing):
        """The user-half walk of ``vaddr``: ``(steps, result)``.
        ``why_missing(level, index)`` explains a missing entry."""
        idx = pgtable_indices(vaddr)
        steps = []
        prefix = 0
        for level in range(4):
            table = self.tables.get((level, prefix))
            table_pfn = self.table_pfn.get((level, prefix))
            entry = table.get(idx[level]) if table else None
            if entry is None:
                steps.append(WalkStep(LEVELS[level], idx[level], table_pfn, 0, False))
                return steps, WalkResult(fault=why_missing(level, idx[level]))
            if isinstance(entry, TableRef):
                child = self.table_pfn[(level + 1, entry.prefix)]
                value = (child << PAGE_SHIFT) | PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED
                steps.append(WalkStep(LEVELS[level], idx[level], table_pfn, value, True))
                prefix = entry.prefix
            else:
                steps.append(WalkStep(LEVELS[level], idx[level], table_pfn, entry.value, True))
                note = (
                    "the shared zero page: read-only, the first write gets a page of its own"
                    if (entry.kind == "zero")
                    else None
                )
                return steps, WalkResult(
                    phys=(entry.pfn << PAGE_SHIFT) | idx[4], pfn=entry.pfn, flags=entry.flags, note=note
                )
        raise AssertionError("unreachable: the PTE level always returns")
