"""The 32-bit picture x86-64 no longer needs: i386 with highmem.

Kernel (6.12): arch/x86/include/asm/pgtable_32_areas.h (the 3G/1G layout,
see :data:`memlab.layout.I386_LAYOUT`), mm/highmem.c kmap_high(),
map_new_virtual(), kunmap_high(), flush_all_zero_pkmaps() (the PKMAP
window) and __kmap_local_page_prot() / kunmap_local_indexed() (the per-CPU
fixmap slots of kmap_local_page() and kmap_atomic()),
include/asm-generic/kmap_size.h (KM_MAX_IDX), arch/x86/include/asm/fixmap.h.

PKMAP slots follow the kernel's counts: ``pkmap_count[i]`` is 0 for a free,
flushed slot, 1 for a slot nobody uses whose PTE (and TLB entries) are still
there, n > 1 for n - 1 users. map_new_virtual() pre-increments
``last_pkmap_nr``, so the first kmap() gets slot 1; kunmap() leaves the page
mapped (count 1), and only when the search wraps to slot 0 does
flush_all_zero_pkmaps() clear every count-1 slot with one TLB flush. A page
still in a count-1 slot is found again by kmap() without a new slot.

Only the layout, the zones and the kmap calls are modelled: an
:class:`I386Highmem` is not a :class:`memlab.Machine` (it allocates nothing).
Not modelled: PAE (512 PKMAP slots, 2 MiB PMDs), the sleep in kmap() when
all slots are busy (memlab raises EAGAIN instead), CONFIG_DEBUG_KMAP_LOCAL.
"""

from __future__ import annotations

from ..errors import BadSize, SyscallError, reject
from ..layout import (
    I386_FIX_KMAP_BEGIN,
    I386_FIXADDR_TOP,
    I386_KM_MAX_IDX,
    I386_LAST_PKMAP,
    I386_LAYOUT,
    I386_MAXMEM,
    I386_NR_CPUS,
    I386_PAGE_OFFSET,
    I386_PKMAP_BASE,
)
from ..units import PAGE_SHIFT, parse_size

__all__ = ["I386Highmem", "I386Machine"]


def _fix_to_virt(idx):
    """include/asm-generic/fixmap.h __fix_to_virt(): fixmap slots count down from FIXADDR_TOP."""
    return I386_FIXADDR_TOP - (idx << PAGE_SHIFT)


class I386Highmem:
    """The 32-bit picture x86-64 no longer needs: 3G/1G split, only MAXMEM
    (just under 884 MiB) of RAM direct-mapped (lowmem), the rest ZONE_HIGHMEM,
    reached through temporary windows: ``kmap(pfn)`` maps a highmem page into
    the PKMAP window (1024 slots), ``kunmap`` releases it lazily;
    ``kmap_local_page(pfn, cpu)`` and ``kmap_atomic`` use per-CPU fixmap
    slots, released in reverse order with ``kunmap_local``.
    Kernel: mm/highmem.c."""

    def __init__(self, ram="2GiB"):
        self.ram = parse_size(ram)
        self.nr_pages = self.ram >> PAGE_SHIFT
        self.lowmem_pages = min(self.nr_pages, I386_MAXMEM >> PAGE_SHIFT)
        self.pkmap = [None] * I386_LAST_PKMAP  # slot -> pfn (the PTE of the slot)
        self.pkmap_count = [0] * I386_LAST_PKMAP
        self.last_pkmap_nr = 0
        self.tlb_flushes = 0  # flush_all_zero_pkmaps() calls (each a global TLB flush)
        self.page_virtual = {}  # pfn -> slot while a PKMAP PTE maps it (page_address())
        self.kmap_local_stack = {cpu: [] for cpu in range(I386_NR_CPUS)}  # per task in the kernel; per CPU here
        self.layout = I386_LAYOUT

    @property
    def zones(self):
        z = {"DMA": (0, min(self.nr_pages, 4096)), "Normal": (4096, self.lowmem_pages)}
        if self.nr_pages > self.lowmem_pages:
            z["HighMem"] = (self.lowmem_pages, self.nr_pages)
        return z

    def is_highmem(self, pfn):
        return pfn >= self.lowmem_pages

    def _check_pfn(self, pfn, what):
        if pfn.__class__ is not int or not 0 <= pfn < self.nr_pages:
            raise reject(BadSize, pfn, f"{what}: pfn {pfn!r} is not RAM (0..{self.nr_pages - 1})")

    # ------------------------------------------------------------ PKMAP
    def kmap(self, pfn):
        """Kernel: kmap() -> kmap_high(): a lowmem page has a permanent
        address (PAGE_OFFSET + phys); a highmem page already in a slot (even
        an unused, not yet flushed one) gets that slot again, otherwise
        map_new_virtual() takes the next free slot after ``last_pkmap_nr``."""
        self._check_pfn(pfn, "kmap")
        if not self.is_highmem(pfn):
            return I386_PAGE_OFFSET + (pfn << PAGE_SHIFT)
        slot = self.page_virtual.get(pfn)
        if slot is None:
            if all(c > 1 for c in self.pkmap_count):
                raise SyscallError(
                    "EAGAIN",
                    f"kmap: all {I386_LAST_PKMAP} PKMAP slots are in use; the kernel would sleep in "
                    f"map_new_virtual() until a kunmap()",
                )
            slot = self._map_new_virtual(pfn)
        self.pkmap_count[slot] += 1
        return I386_PKMAP_BASE + (slot << PAGE_SHIFT)

    def _map_new_virtual(self, pfn):
        count = I386_LAST_PKMAP
        while True:
            self.last_pkmap_nr = (self.last_pkmap_nr + 1) & (I386_LAST_PKMAP - 1)  # get_next_pkmap_nr()
            if self.last_pkmap_nr == 0:  # wrapped: free every unused slot with one TLB flush
                self.flush_all_zero_pkmaps()
                count = I386_LAST_PKMAP
            if self.pkmap_count[self.last_pkmap_nr] == 0:
                break
            count -= 1
            if count == 0:  # cannot happen: kmap() checked for a slot at count 0 or 1
                raise AssertionError("map_new_virtual: no free PKMAP slot")
        slot = self.last_pkmap_nr
        self.pkmap[slot] = pfn
        self.pkmap_count[slot] = 1
        self.page_virtual[pfn] = slot
        return slot

    def flush_all_zero_pkmaps(self):
        """mm/highmem.c flush_all_zero_pkmaps(): every slot with count 1
        (mapped, no users) loses its PTE and becomes free; one
        flush_tlb_kernel_range() covers them all. Returns the slots freed."""
        freed = []
        for i, c in enumerate(self.pkmap_count):
            if c == 1:
                self.pkmap_count[i] = 0
                del self.page_virtual[self.pkmap[i]]
                self.pkmap[i] = None
                freed.append(i)
        if freed:
            self.tlb_flushes += 1
        return freed

    def kunmap(self, pfn):
        """Kernel: kunmap() -> kunmap_high(): one user fewer. The slot stays
        mapped (count 1) until the next flush_all_zero_pkmaps()."""
        self._check_pfn(pfn, "kunmap")
        if not self.is_highmem(pfn):
            return
        slot = self.page_virtual.get(pfn)
        if slot is None or self.pkmap_count[slot] < 2:
            raise SyscallError("EINVAL", f"kunmap: pfn {pfn} is not kmapped (kunmap_high() would BUG())")
        self.pkmap_count[slot] -= 1

    # -------------------------------------------------------- kmap_local
    def kmap_local_page(self, pfn, cpu=0, atomic=False):
        """Kernel: kmap_local_page() -> __kmap_local_page_prot(): a lowmem
        page needs no mapping (its direct-map address); a highmem page gets
        the next of the CPU's KM_MAX_IDX (16) fixmap slots,
        FIX_KMAP_BEGIN + idx + KM_MAX_IDX * cpu, mapped until
        :meth:`kunmap_local` in reverse order. No lock, no sleeping, no
        global TLB flush: the common path today. ``atomic`` is kmap_atomic(),
        which also disables preemption and page faults."""
        self._check_pfn(pfn, "kmap_local_page")
        if cpu.__class__ is not int or not 0 <= cpu < I386_NR_CPUS:
            raise reject(BadSize, cpu, f"kmap_local_page: cpu {cpu!r} is not 0..{I386_NR_CPUS - 1}")
        if not self.is_highmem(pfn):
            return I386_PAGE_OFFSET + (pfn << PAGE_SHIFT)
        stack = self.kmap_local_stack[cpu]
        if len(stack) >= I386_KM_MAX_IDX:
            raise SyscallError(
                "EAGAIN",
                f"kmap_local_page: CPU {cpu} already holds KM_MAX_IDX = {I386_KM_MAX_IDX} local mappings "
                f"(kmap_local_idx_push() would BUG())",
            )
        idx = I386_FIX_KMAP_BEGIN + len(stack) + I386_KM_MAX_IDX * cpu
        vaddr = _fix_to_virt(idx)
        stack.append((vaddr, pfn, atomic))
        return vaddr

    def kmap_atomic(self, pfn, cpu=0):
        """kmap_atomic(): kmap_local_page() with preemption and page faults disabled."""
        return self.kmap_local_page(pfn, cpu, atomic=True)

    def kunmap_local(self, vaddr, cpu=0):
        """kunmap_local(): release the most recent local mapping of ``cpu``;
        a direct-map (lowmem) address needs nothing. Local mappings nest:
        releasing any other than the last one is refused (the kernel's
        WARN_ON_ONCE in kunmap_local_indexed())."""
        if I386_PAGE_OFFSET <= vaddr < I386_PAGE_OFFSET + (self.lowmem_pages << PAGE_SHIFT):
            return
        stack = self.kmap_local_stack.get(cpu)
        if not stack:
            raise SyscallError("EINVAL", f"kunmap_local({vaddr:#x}): CPU {cpu} holds no local mapping")
        if stack[-1][0] != vaddr:
            raise SyscallError(
                "EINVAL",
                f"kunmap_local({vaddr:#x}): local mappings nest; the last one on CPU {cpu} is "
                f"{stack[-1][0]:#x}, release that first",
            )
        stack.pop()

    kunmap_atomic = kunmap_local


#: The name this model had before it was named for what it is.
I386Machine = I386Highmem
