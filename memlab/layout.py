"""Addresses: where things live in the virtual address space, and the
conversions between physical and kernel virtual addresses.

Kernel: Documentation/arch/x86/x86_64/mm.rst (the 4-level x86-64 layout),
arch/x86/include/asm/page_64_types.h (``__PAGE_OFFSET``, ``TASK_SIZE_MAX``),
arch/x86/include/asm/page.h (``__va``, ``__pa``), arch/x86/include/asm/io.h
(``virt_to_phys``, ``phys_to_virt``), include/linux/pfn.h (``PFN_PHYS``,
``PHYS_PFN``), arch/x86/include/asm/pgtable_32_areas.h (i386 3G/1G split).

Deliberately not modelled: KASLR (the direct map, vmalloc space and vmemmap
are at their documented bases, not randomised), LA57 (5-level paging).

A note on names: ``__va``/``__pa`` are the kernel's macros. Python mangles a
name that starts with two underscores when it is used inside a class body
(``__va`` becomes ``_Slab__va``), so code inside classes calls the kernel's
other names for the same conversion, :func:`phys_to_virt` and
:func:`virt_to_phys`.
"""

from __future__ import annotations

from .units import PAGE_SHIFT

__all__ = [
    "PAGE_OFFSET",
    "__va",
    "__pa",
    "phys_to_virt",
    "virt_to_phys",
    "PFN_PHYS",
    "PHYS_PFN",
    "pfn_to_virt",
    "virt_to_pfn",
    "is_canonical",
    "TASK_SIZE_MAX",
    "VMALLOC_START",
    "VMALLOC_END",
    "VMEMMAP_START",
    "START_KERNEL_MAP",
    "MODULES_VADDR",
    "FIXADDR_TOP",
    "VSYSCALL_ADDR",
    "X86_64_LAYOUT",
    "I386_PAGE_OFFSET",
    "I386_MAXMEM",
    "I386_LAST_PKMAP",
    "I386_PKMAP_BASE",
    "I386_LAYOUT",
    "region_of",
]

#: x86-64 4-level: start of the direct map of all physical memory, without KASLR.
PAGE_OFFSET = 0xFFFF888000000000
#: The end of user space: ``(1 << 47) - PAGE_SIZE``.
TASK_SIZE_MAX = 0x00007FFFFFFFF000
VMALLOC_START, VMALLOC_END = 0xFFFFC90000000000, 0xFFFFE8FFFFFFFFFF
#: The ``struct page`` array (64 bytes per page frame).
VMEMMAP_START = 0xFFFFEA0000000000
START_KERNEL_MAP = 0xFFFFFFFF80000000
MODULES_VADDR = 0xFFFFFFFFA0000000
FIXADDR_TOP = 0xFFFFFFFFFF5FF000
VSYSCALL_ADDR = 0xFFFFFFFFFF600000

#: Documentation/arch/x86/x86_64/mm.rst (4-level paging): (start, end_inclusive, name).
X86_64_LAYOUT = [
    (0x0000000000000000, 0x00007FFFFFFFFFFF, "user space (per process, 128 TiB)"),
    (0x0000800000000000, 0xFFFF7FFFFFFFFFFF, "non-canonical hole (~16M TiB)"),
    (0xFFFF800000000000, 0xFFFF87FFFFFFFFFF, "guard hole (8 TiB)"),
    (0xFFFF880000000000, 0xFFFF887FFFFFFFFF, "LDT remap for PTI (0.5 TiB)"),
    (0xFFFF888000000000, 0xFFFFC87FFFFFFFFF, "direct mapping of all physical memory (64 TiB)"),
    (0xFFFFC88000000000, 0xFFFFC8FFFFFFFFFF, "unused hole"),
    (0xFFFFC90000000000, 0xFFFFE8FFFFFFFFFF, "vmalloc/ioremap space (32 TiB)"),
    (0xFFFFE90000000000, 0xFFFFE9FFFFFFFFFF, "unused hole"),
    (0xFFFFEA0000000000, 0xFFFFEAFFFFFFFFFF, "virtual memory map: struct page array (1 TiB)"),
    (0xFFFFEB0000000000, 0xFFFFEBFFFFFFFFFF, "unused hole"),
    (0xFFFFEC0000000000, 0xFFFFFBFFFFFFFFFF, "KASAN shadow memory (16 TiB)"),
    (0xFFFFFC0000000000, 0xFFFFFDFFFFFFFFFF, "unused hole"),
    (0xFFFFFE0000000000, 0xFFFFFE7FFFFFFFFF, "cpu_entry_area mapping (0.5 TiB)"),
    (0xFFFFFE8000000000, 0xFFFFFEFFFFFFFFFF, "unused hole"),
    (0xFFFFFF0000000000, 0xFFFFFF7FFFFFFFFF, "%esp fixup stacks (0.5 TiB)"),
    (0xFFFFFF8000000000, 0xFFFFFFEEFFFFFFFF, "unused hole"),
    (0xFFFFFFEF00000000, 0xFFFFFFFEFFFFFFFF, "EFI region mapping space (64 GiB)"),
    (0xFFFFFFFF00000000, 0xFFFFFFFF7FFFFFFF, "unused hole"),
    (0xFFFFFFFF80000000, 0xFFFFFFFF9FFFFFFF, "kernel text mapping, mapped to physical 0 (512 MiB)"),
    (0xFFFFFFFFA0000000, 0xFFFFFFFFFEFFFFFF, "module mapping space (1520 MiB)"),
    (0xFFFFFFFFFF000000, 0xFFFFFFFFFF5FFFFF, "fixmap (kernel-internal, variable size)"),
    (0xFFFFFFFFFF600000, 0xFFFFFFFFFF600FFF, "legacy vsyscall ABI (4 KiB)"),
    (0xFFFFFFFFFF601000, 0xFFFFFFFFFFFFFFFF, "unused hole"),
]

# i386 with the 3G/1G split, no PAE (arch/x86/include/asm/pgtable_32_areas.h)
I386_PAGE_OFFSET = 0xC0000000
#: 896 MiB of lowmem is direct-mapped; the rest of RAM is ZONE_HIGHMEM.
I386_MAXMEM = 0x38000000
I386_LAST_PKMAP = 1024
I386_PKMAP_BASE = 0xFF800000
I386_LAYOUT = [
    (0x00000000, 0xBFFFFFFF, "user space (3 GiB)"),
    (0xC0000000, 0xF7FFFFFF, "direct map of lowmem (896 MiB, ZONE_DMA + ZONE_NORMAL)"),
    (0xF8000000, 0xF87FFFFF, "VMALLOC_OFFSET gap (8 MiB)"),
    (0xF8800000, 0xFF7FDFFF, "vmalloc/ioremap space (~112 MiB)"),
    (0xFF800000, 0xFFBFFFFF, "PKMAP: permanent kmap window (1024 pages)"),
    (0xFFC00000, 0xFFFFEFFF, "fixmap"),
    (0xFFFFF000, 0xFFFFFFFF, "unused top page"),
]


def __va(phys: int) -> int:
    """Kernel: arch/x86/include/asm/page.h ``__va()``: the direct-map
    (kernel virtual) address of physical address ``phys``."""
    return phys + PAGE_OFFSET


def __pa(vaddr: int) -> int:
    """Kernel: ``__pa()`` for direct-map addresses: the physical address."""
    return vaddr - PAGE_OFFSET


#: arch/x86/include/asm/io.h: the same conversions under the names drivers use.
phys_to_virt = __va
virt_to_phys = __pa


def PFN_PHYS(pfn: int) -> int:
    """include/linux/pfn.h ``PFN_PHYS()``: the physical address of a page frame."""
    return pfn << PAGE_SHIFT


def PHYS_PFN(phys: int) -> int:
    """include/linux/pfn.h ``PHYS_PFN()``: the page frame holding ``phys``."""
    return phys >> PAGE_SHIFT


def pfn_to_virt(pfn: int) -> int:
    """The direct-map address of page frame ``pfn`` (``page_address()``)."""
    return (pfn << PAGE_SHIFT) + PAGE_OFFSET


def virt_to_pfn(vaddr: int) -> int:
    """The page frame behind a direct-map address (``virt_to_pfn()``)."""
    return (vaddr - PAGE_OFFSET) >> PAGE_SHIFT


def is_canonical(vaddr: int) -> bool:
    """True if bits 63-47 of a 64-bit address are all equal (4-level paging);
    the CPU raises #GP for any other address."""
    top = vaddr >> 47
    return top == 0 or top == (1 << 17) - 1


def region_of(vaddr: int, layout: list[tuple[int, int, str]] = X86_64_LAYOUT) -> str:
    """The name of the layout region holding ``vaddr``."""
    for start, end, name in layout:
        if start <= vaddr <= end:
            return name
    return "outside the address space"
