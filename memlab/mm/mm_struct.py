"""``struct mm_struct``: one address space's VMAs, page tables and counters.

Kernel: include/linux/mm_types.h struct mm_struct; mm/mmap.c and mm/vma.c
for inserting, splitting and merging VMAs (vma_merge, __split_vma,
vma_expand); mm/mmap.c find_vma()/vma_lookup(); mm/memory.c for the RSS
counters (MM_ANONPAGES, MM_FILEPAGES) and hiwater marks.

Simplified: the VMAs are a sorted list with a parallel list of start
addresses (the kernel keeps a maple tree); merging compares flags, name and
file offsets only (no anon_vma, policies or userfaultfd contexts).
"""

from __future__ import annotations

from bisect import bisect_right

from ..errors import BadSize, reject
from ..layout import is_canonical
from ..units import PAGE_SHIFT
from .pgtable import LEVELS, PageTables, WalkResult, WalkStep
from .vma import RLIMIT_STACK, STACK_GUARD_GAP, VM_GROWSDOWN, Vma

__all__ = ["MmStruct"]


class MmStruct:
    """``struct mm_struct``: the VMAs (sorted by start), the page tables,
    brk, counters (RSS, faults, page-table pages)."""

    def __init__(self, machine, owner):
        self.machine = machine
        self.owner = owner
        self.vmas = []  # sorted by start
        self._starts = []
        self.pagetables = PageTables(machine)
        self.rss_anon = 0
        self.rss_file = 0
        self.hiwater_rss = 0
        self.hiwater_vm = 0
        self.min_flt = 0
        self.maj_flt = 0
        self.start_code = self.end_code = self.start_data = self.end_data = 0
        self.start_brk = self.brk = 0
        self.start_stack = 0
        self.mmap_base = 0
        #: arch/x86 mm->context.tlb_gen: bumped by every TLB flush of this address space
        self.tlb_gen = 0
        #: mm_cpumask(): the CPUs running this address space now
        self.cpumask: set[int] = set()

    @property
    def owner_comm(self):
        """The name of the process that owns this address space."""
        return getattr(self.owner, "name", "?")

    # the page tables, under the names /proc and the lessons use
    @property
    def pgd(self):
        """The Page holding the top-level table (``mm->pgd``)."""
        return self.pagetables.pgd

    @property
    def pt_pages(self):
        """Pages of the PUD, PMD and PTE tables (VmPTE counts these)."""
        return self.pagetables.pt_pages

    # ------------------------------------------------------------- VMAs
    def find_vma(self, addr):
        """The VMA containing ``addr``, or None (kernel: vma_lookup())."""
        i = bisect_right(self._starts, addr) - 1
        if i >= 0 and self.vmas[i].start <= addr < self.vmas[i].end:
            return self.vmas[i]
        return None

    def insert_vma(self, vma, merge=True):
        """Link ``vma`` into the sorted list and (unless ``merge`` is False)
        merge it with compatible neighbours (kernel: vma_link() then
        vma_merge())."""
        i = bisect_right(self._starts, vma.start)
        self.vmas.insert(i, vma)
        self._starts.insert(i, vma.start)
        if merge:
            self.merge_around(vma)

    def is_initial_heap(self, vma):
        """True if ``vma`` is the brk heap, as /proc/pid/maps decides it
        (include/linux/mm.h vma_is_initial_heap(), since 6.7 with strict
        bounds: a VMA that merely ends at start_brk, like the BSS, is not)."""
        return vma.start < self.brk and vma.end > self.start_brk

    def remove_vma(self, vma):
        """Unlink ``vma`` (its pages must already be unmapped)."""
        i = self.vmas.index(vma)
        del self.vmas[i]
        del self._starts[i]

    def merge_around(self, vma):
        """Merge ``vma`` with the next and the previous VMA where they are
        compatible (a simplified vma_merge()). Never across ``start_brk``:
        brk() only ever expands the heap's own VMA (since 6.1 it looks for it
        with vma_prev_limit(start_brk)), so the heap stays apart from the BSS
        below it. Simplification: the kernel could still merge the two in a
        later mprotect() when their anon_vmas are compatible; memlab, which
        does not model anon_vmas, keeps them apart."""
        i = self.vmas.index(vma)
        if i + 1 < len(self.vmas) and self.vmas[i + 1].can_merge_after(vma) and vma.end != self.start_brk:
            nxt = self.vmas[i + 1]
            vma.end = nxt.end
            del self.vmas[i + 1]
            del self._starts[i + 1]
        if i > 0 and vma.can_merge_after(self.vmas[i - 1]) and vma.start != self.start_brk:
            prev = self.vmas[i - 1]
            prev.end = vma.end
            del self.vmas[i]
            del self._starts[i]

    def split_vma(self, addr):
        """Split the VMA containing ``addr`` so that a VMA starts at ``addr``
        (kernel: __split_vma())."""
        vma = self.find_vma(addr)
        if vma is None or vma.start == addr:
            return
        tail = Vma(
            addr,
            vma.end,
            vma.flags,
            vma.file,
            vma.pgoff + ((addr - vma.start) >> PAGE_SHIFT) if vma.file else 0,
            vma.name,
        )
        vma.end = addr
        i = self.vmas.index(vma) + 1
        self.vmas.insert(i, tail)
        self._starts.insert(i, addr)

    def move_vma_start(self, vma, new_start):
        """Lower ``vma.start`` to ``new_start`` (stack growth, expand_downwards())."""
        i = self.vmas.index(vma)
        vma.start = new_start
        self._starts[i] = new_start

    @property
    def total_vm(self):
        return sum(v.size for v in self.vmas) >> PAGE_SHIFT

    def update_hiwater_rss(self):
        """Raise VmHWM to the current RSS (kernel: update_hiwater_rss()); a
        page fault changes RSS, never the size of the VMAs."""
        rss = self.rss_anon + self.rss_file
        if rss > self.hiwater_rss:
            self.hiwater_rss = rss

    def update_hiwater(self):
        """Raise the VmPeak and VmHWM marks to the current sizes (after a
        VMA changed: update_hiwater_vm() and update_hiwater_rss())."""
        self.hiwater_vm = max(self.hiwater_vm, self.total_vm)
        self.hiwater_rss = max(self.hiwater_rss, self.rss_anon + self.rss_file)

    # ---------------------------------------------------------- page tables
    def set_pte(self, vaddr, pfn, writable, executable, kind="anon"):
        """See :meth:`PageTables.set_pte`."""
        self.pagetables.set_pte(vaddr, pfn, writable, executable, kind)

    def pte_clear(self, vaddr):
        """See :meth:`PageTables.pte_clear`."""
        return self.pagetables.pte_clear(vaddr)

    def lookup_pte(self, vaddr):
        """See :meth:`PageTables.lookup_pte`."""
        return self.pagetables.lookup_pte(vaddr)

    def set_pte_writable(self, vaddr, writable, executable, shared):
        """See :meth:`PageTables.set_pte_writable`."""
        self.pagetables.set_pte_writable(vaddr, writable, executable, shared)

    def stack_growth(self, addr: int):
        """The ``[stack]`` VMA an access to ``addr`` would grow down to
        cover, or None (the address is mapped, above the stack, beyond
        RLIMIT_STACK, or within stack_guard_gap of the mapping below).
        Nothing changes; kernel: mm/mmap.c expand_stack_locked() ->
        expand_downwards(), reached from arch/x86/mm/fault.c via
        lock_mm_and_find_vma() when the VMA above is VM_GROWSDOWN."""
        if self.find_vma(addr) is not None:
            return None
        stack = next((v for v in self.vmas if v.flags & VM_GROWSDOWN), None)
        if stack is None or addr >= stack.start:
            return None
        new_start = addr & ~((1 << PAGE_SHIFT) - 1)
        if stack.end - new_start > RLIMIT_STACK:
            return None
        below = [v for v in self.vmas if v.end <= stack.start]
        if below and new_start - below[-1].end < STACK_GUARD_GAP:
            return None
        return stack

    def walk(self, vaddr: int) -> tuple[list[WalkStep], WalkResult]:
        """The 4-level page walk of ``vaddr`` as the MMU does it: a list of
        :class:`WalkStep` records ``(level, index, table_pfn, entry,
        present)`` and a :class:`WalkResult` with ``phys`` or ``fault``
        (both also readable as dicts: ``result["phys"]``). Kernel addresses
        are walked in the kernel's shared upper half (direct map with 1 GiB
        pages, vmalloc space with 4 KiB pages)."""
        if vaddr.__class__ is not int or not 0 <= vaddr < 1 << 64:
            raise reject(BadSize, vaddr, f"address {vaddr!r} is not a 64-bit address")
        if not is_canonical(vaddr):
            return [], WalkResult(fault=f"{vaddr:#x} is non-canonical (bits 63-47 must all equal bit 47): #GP")
        if vaddr >> 47:
            return self.machine.kernel.walk(vaddr, self.pgd.pfn)

        def why_missing(level, index):
            vma = self.find_vma(vaddr)
            stack = self.stack_growth(vaddr) if vma is None else None
            if stack is not None:
                why = (
                    f"not present: no VMA holds this address yet, but it lies below {stack!r}: an access "
                    f"grows the stack down to this page (expand_stack()), then faults the page in"
                )
            elif vma is None:
                why = "not present: no mapping at this address (SEGV_MAPERR on access)"
            else:
                why = (
                    f"not present yet: the address is in {vma!r}; the first access takes a page fault "
                    f"and the kernel fills the entry (demand paging)"
                )
            return f"{LEVELS[level]} entry {index} {why}"

        return self.pagetables.walk(vaddr, why_missing)

    def check_invariants(self):
        """Assert that the VMAs are sorted, do not overlap and match the
        start-address index (tests call this after every step)."""
        assert self._starts == [v.start for v in self.vmas], "VMA start index out of step"
        for a, b in zip(self.vmas, self.vmas[1:]):
            assert a.end <= b.start, f"{a!r} overlaps {b!r}"
        for v in self.vmas:
            assert v.start < v.end, f"empty VMA {v!r}"
