"""The kernel half of every x86-64 address space: the direct map, vmalloc
space and ioremap.

Kernel: mm/vmalloc.c vmalloc(), vfree() (order-0 pages from anywhere, a
guard page after each area), arch/x86/mm/ioremap.c ioremap(),
Documentation/arch/x86/x86_64/mm.rst for where each region lies; the direct
map uses 1 GiB pages where the CPU has them (X86_FEATURE_GBPAGES). The
kernel image is mapped at __START_KERNEL_map + phys with 2 MiB pages
(arch/x86/kernel/head_64.S level2_kernel_pgt), from _text to _brk_end rounded
up to 2 MiB (arch/x86/mm/init_64.c cleanup_highmap() clears the rest).

Deliberately not modelled: the kernel's own page-table pages (the upper
levels shown by :meth:`KernelSpace.walk` are illustrative, not allocated),
lazy vunmap purging, vmap_area trees, huge vmalloc mappings, KASLR
(phys_base is 0: the image sits at 16 MiB, as on a kernel booted without
relocation), the 4 KiB splits that set_memory_ro()/set_memory_nx() make at
the text/rodata/data boundaries, and the image's frames: a simplification,
memlab does not reserve them, so the buddy allocator may hand them out.
"""

from __future__ import annotations

from ..errors import BadSize, MemlabError, SyscallError, reject
from ..layout import (
    KERNEL_IMAGE_PHYS_END,
    PAGE_OFFSET,
    START_KERNEL,
    START_KERNEL_MAP,
    VMALLOC_END,
    VMALLOC_START,
    region_of,
    virt_to_phys,
)
from ..records import Record
from ..units import PAGE_SHIFT, PAGE_SIZE
from .pgtable import (
    PTE_ACCESSED,
    PTE_DIRTY,
    PTE_NX,
    PTE_PRESENT,
    PTE_PSE,
    PTE_RW,
    WalkResult,
    WalkStep,
    pgtable_indices,
)

__all__ = ["KernelSpace", "VmapArea", "PMD_SIZE"]

#: A 2 MiB page: what one PMD entry with the PS bit maps.
PMD_SIZE = 1 << 21


class VmapArea(Record):
    """One area of vmalloc space: ``start``, ``size`` with its guard page,
    the frames behind it (``pfns``) or the device address (``io_phys``),
    and ``kind`` ("vmalloc" or "ioremap")."""

    __slots__ = ("start", "size", "pfns", "io_phys", "kind")

    def __init__(self, start: int, size: int, pfns: list | None, io_phys: int | None, kind: str) -> None:
        self.start, self.size, self.pfns, self.io_phys, self.kind = start, size, pfns, io_phys, kind


class KernelSpace:
    """The kernel half of every address space (x86-64): the direct map
    (1 GiB pages), vmalloc space (4 KiB pages from scattered frames, a guard
    page after each area), ioremap of device registers."""

    def __init__(self, machine):
        self.machine = machine
        self.vmap_areas = []  # VmapArea records, in address order
        self.mmio = []  # (phys start, phys end, device) of the register BARs devices expose
        self._next = VMALLOC_START
        self._pte = {}  # vmalloc page address -> pfn (or io phys >> 12)

    def vmalloc(self, size):
        """Kernel: mm/vmalloc.c vmalloc(): ``size`` bytes, virtually
        contiguous, from order-0 pages wherever they are free; the answer to
        requests above 4 MiB. Returns the address."""
        if size.__class__ is not int or size <= 0:
            raise reject(BadSize, size, f"vmalloc: size {size!r} must be an int > 0")
        pages = -(-size // PAGE_SIZE)
        got = []
        try:
            for _ in range(pages):
                got.append(self.machine.alloc_pages(0, "GFP_KERNEL"))
        except MemlabError:
            for p in got:
                self.machine.free_pages(p, 0)
            raise
        start = self._next
        self._next += (pages + 1) * PAGE_SIZE  # plus a guard page
        for i, page in enumerate(got):
            self._pte[start + i * PAGE_SIZE] = page.pfn
        self.vmap_areas.append(VmapArea(start, (pages + 1) * PAGE_SIZE, [p.pfn for p in got], None, "vmalloc"))
        return start

    def vfree(self, addr):
        """Kernel: vfree(): unmap the area and free its pages."""
        for i, area in enumerate(self.vmap_areas):
            if area.start == addr and area.kind == "vmalloc":
                for j, pfn in enumerate(area.pfns):
                    del self._pte[area.start + j * PAGE_SIZE]
                    self.machine.free_pages(pfn, 0)
                del self.vmap_areas[i]
                return
        raise SyscallError("EINVAL", f"vfree: {addr!r} is not the start of a vmalloc area")

    def kvmalloc(self, size, gfp="GFP_KERNEL"):
        """Kernel: __kvmalloc_node_noprof() with kmalloc_gfp_adjust() (6.12):
        try kmalloc first, physically contiguous; above one page with
        __GFP_NOWARN and __GFP_NORETRY added (unless __GFP_RETRY_MAYFAIL) and
        __GFP_NOFAIL dropped, so a large request gives up quickly instead of
        reclaiming hard. If that fails and the request is above a page,
        fall back to vmalloc, which needs a caller that may sleep (NULL
        otherwise). Returns the address, or None (NULL). Not modelled: the
        huge-page vmalloc mapping kvmalloc allows (VM_ALLOW_HUGE_VMAP) and
        the memory-pressure effect of __GFP_NORETRY (the model's page
        allocator does not reclaim)."""
        from ..gfp import GFP, parse_gfp

        if size.__class__ is not int or size <= 0:
            raise reject(BadSize, size, f"kvmalloc: size {size!r} must be an int > 0")
        flags = parse_gfp(gfp)
        if size > PAGE_SIZE:
            flags |= GFP["__GFP_NOWARN"]
            if not flags & GFP["__GFP_RETRY_MAYFAIL"]:
                flags |= GFP["__GFP_NORETRY"]
            flags &= ~GFP["__GFP_NOFAIL"]
        try:
            return self.machine.slub.kmalloc(size, flags)
        except MemlabError:
            if size <= PAGE_SIZE:
                return None
        if not flags & GFP["__GFP_DIRECT_RECLAIM"]:  # gfpflags_allow_blocking()
            return None
        try:
            return self.vmalloc(size)
        except MemlabError:
            return None

    def kvfree(self, addr):
        """Kernel: kvfree(): vfree() for a vmalloc address
        (is_vmalloc_addr()), else kfree()."""
        if addr.__class__ is int and VMALLOC_START <= addr <= VMALLOC_END:
            self.vfree(addr)
        else:
            self.machine.slub.kfree(addr)

    def ioremap(self, phys_addr, size):
        """Kernel: ioremap(): map device registers (physical addresses
        outside RAM, e.g. a PCI BAR) into vmalloc space, uncached."""
        if phys_addr < self.machine.ram and phys_addr + size > 0:
            raise SyscallError(
                "EINVAL",
                f"ioremap: {phys_addr:#x} is RAM; ioremap is for device memory (MMIO), "
                f"RAM is already in the direct map",
            )
        pages = -(-((phys_addr & 0xFFF) + size) // PAGE_SIZE)
        start = self._next
        self._next += (pages + 1) * PAGE_SIZE
        base = phys_addr >> PAGE_SHIFT
        for i in range(pages):
            self._pte[start + i * PAGE_SIZE] = base + i
        self.vmap_areas.append(VmapArea(start, (pages + 1) * PAGE_SIZE, None, phys_addr, "ioremap"))
        return start + (phys_addr & 0xFFF)

    def attach_mmio(self, phys, size, device):
        """A device's registers answer at physical ``phys .. phys + size``
        (a PCI BAR): ``device.mmio_read(offset)``, ``device.mmio_write(offset, value)``."""
        self.mmio.append((phys, phys + size, device))

    def _mmio(self, vaddr, what):
        area = next((a for a in self.vmap_areas if a.kind == "ioremap" and a.start <= vaddr < a.start + a.size), None)
        if area is None or vaddr & 3:
            raise SyscallError("EFAULT", f"{what}({vaddr:#x}): not a 4-byte-aligned address returned by ioremap")
        phys = (area.io_phys & ~0xFFF) + (vaddr - area.start)
        for lo, hi, device in self.mmio:
            if lo <= phys < hi:
                return device, phys - lo
        raise SyscallError("EFAULT", f"{what}({vaddr:#x}): no device answers at physical {phys:#x}")

    def readl(self, vaddr):
        """readl(): a 32-bit little-endian load from a device register
        (uncached; it may have side effects, such as ICR clearing)."""
        device, offset = self._mmio(vaddr, "readl")
        return device.mmio_read(offset) & 0xFFFFFFFF

    def writel(self, value, vaddr):
        """writel(): a 32-bit store to a device register."""
        device, offset = self._mmio(vaddr, "writel")
        device.mmio_write(offset, value & 0xFFFFFFFF)

    def walk(self, vaddr, pgd_pfn):
        """The walk of a kernel address from a process's PGD (whose upper
        half is shared by every process): ``(steps, result)`` as
        :meth:`memlab.mm.MmStruct.walk` returns them."""
        idx = pgtable_indices(vaddr)
        pgd = WalkStep("PGD", idx[0], pgd_pfn, 0, False)
        steps = [pgd]
        if PAGE_OFFSET <= vaddr < PAGE_OFFSET + self.machine.ram:
            phys = virt_to_phys(vaddr)
            pgd.entry, pgd.present = (1 << PAGE_SHIFT) | PTE_PRESENT | PTE_RW | PTE_ACCESSED, True
            gib = phys >> 30
            steps.append(
                WalkStep(
                    "PUD",
                    idx[1],
                    None,
                    (gib << 30) | PTE_PRESENT | PTE_RW | PTE_ACCESSED | PTE_DIRTY | PTE_PSE | PTE_NX,
                    True,
                    huge="1 GiB page (PS bit): the walk ends here",
                )
            )
            return steps, WalkResult(
                phys=phys,
                pfn=phys >> PAGE_SHIFT,
                flags=PTE_PRESENT | PTE_RW | PTE_PSE | PTE_NX,
                note="direct map: __pa(vaddr) = vaddr - PAGE_OFFSET",
            )
        page_addr = vaddr & ~0xFFF
        if VMALLOC_START <= vaddr <= VMALLOC_END and page_addr in self._pte:
            pfn = self._pte[page_addr]
            upper = PTE_PRESENT | PTE_RW | PTE_ACCESSED
            pgd.entry, pgd.present = (2 << PAGE_SHIFT) | upper, True
            steps.append(WalkStep("PUD", idx[1], None, (3 << PAGE_SHIFT) | upper, True))
            steps.append(WalkStep("PMD", idx[2], None, (4 << PAGE_SHIFT) | upper, True))
            steps.append(WalkStep("PTE", idx[3], None, (pfn << PAGE_SHIFT) | upper | PTE_DIRTY | PTE_NX, True))
            return steps, WalkResult(
                phys=(pfn << PAGE_SHIFT) | idx[4],
                pfn=pfn,
                flags=PTE_PRESENT | PTE_RW | PTE_NX,
                note="vmalloc space: 4 KiB pages, physically scattered",
            )
        image_end = START_KERNEL_MAP + (-(-KERNEL_IMAGE_PHYS_END // PMD_SIZE) * PMD_SIZE)
        if START_KERNEL <= vaddr < image_end:
            phys = vaddr - START_KERNEL_MAP  # __pa_symbol(): vaddr - __START_KERNEL_map + phys_base (0)
            upper = PTE_PRESENT | PTE_RW | PTE_ACCESSED
            pgd.entry, pgd.present = (5 << PAGE_SHIFT) | upper, True
            steps.append(WalkStep("PUD", idx[1], None, (6 << PAGE_SHIFT) | upper, True))
            steps.append(
                WalkStep(
                    "PMD",
                    idx[2],
                    None,
                    (phys & ~(PMD_SIZE - 1)) | PTE_PRESENT | PTE_ACCESSED | PTE_DIRTY | PTE_PSE,
                    True,
                    huge="2 MiB page (PS bit): the walk ends here",
                )
            )
            return steps, WalkResult(
                phys=phys,
                pfn=phys >> PAGE_SHIFT,
                flags=PTE_PRESENT | PTE_PSE,
                note="kernel image: 2 MiB pages from head_64.S; __pa_symbol(vaddr) = vaddr - __START_KERNEL_map "
                "+ phys_base (0 without KASLR: _text at 16 MiB)",
            )
        if START_KERNEL_MAP <= vaddr < START_KERNEL_MAP + (1 << 30):
            return steps, WalkResult(
                fault=f"kernel text mapping, but outside the image (_text {START_KERNEL:#x} to _brk_end "
                f"{image_end:#x}): cleanup_highmap() cleared these 2 MiB entries at boot; in ring 0 this "
                f"is an oops (unable to handle page fault)"
            )
        return steps, WalkResult(
            fault=f"kernel address in '{region_of(vaddr)}' with no mapping here: in ring 0 "
            f"this is an oops (unable to handle page fault)"
        )
