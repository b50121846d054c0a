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
    "START_KERNEL",
    "KERNEL_PHYS_START",
    "KERNEL_IMAGE_PHYS_END",
    "MODULES_VADDR",
    "MODULES_VADDR_NO_KASLR",
    "FIXADDR_TOP",
    "VSYSCALL_ADDR",
    "X86_64_LAYOUT",
    "I386_PAGE_OFFSET",
    "I386_MAXMEM",
    "I386_LAST_PKMAP",
    "I386_PKMAP_BASE",
    "I386_LAYOUT",
    "I386_LDT_BASE_ADDR",
    "I386_CPU_ENTRY_AREA_BASE",
    "I386_FIXADDR_TOP",
    "I386_FIXADDR_TOT_START",
    "I386_FIX_KMAP_BEGIN",
    "I386_KM_MAX_IDX",
    "I386_NR_CPUS",
    "I386_VMALLOC_START",
    "I386_VMALLOC_END",
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
#: CONFIG_PHYSICAL_START (default 16 MiB): where the kernel image is loaded without KASLR, so
#: __START_KERNEL = _text = __START_KERNEL_map + 16 MiB (this host: _text 0xffffffff81000000 in
#: /proc/kallsyms, "Kernel code" at 0x01000000 in /proc/iomem).
KERNEL_PHYS_START = 0x1000000
START_KERNEL = START_KERNEL_MAP + KERNEL_PHYS_START
#: Simplification: the physical end of the image (_brk_end) differs with every build; memlab uses
#: this host's (6.18, "Kernel bss" ends at 0x3c57fff in /proc/iomem): about 44 MiB of image.
KERNEL_IMAGE_PHYS_END = 0x3C58000
#: arch/x86/include/asm/pgtable_64_types.h: MODULES_VADDR = __START_KERNEL_map + KERNEL_IMAGE_SIZE, and
#: KERNEL_IMAGE_SIZE is 1 GiB with CONFIG_RANDOMIZE_BASE (every distribution kernel; this host's
#: /proc/kallsyms shows modules at 0xffffffffc...), 512 MiB without it (MODULES_VADDR_NO_KASLR).
MODULES_VADDR = 0xFFFFFFFFC0000000
MODULES_VADDR_NO_KASLR = 0xFFFFFFFFA0000000
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
    (0xFFFFFFFF80000000, 0xFFFFFFFFBFFFFFFF, "kernel text mapping (1 GiB with RANDOMIZE_BASE)"),
    (0xFFFFFFFFC0000000, 0xFFFFFFFFFEFFFFFF, "module mapping space (1008 MiB)"),
    (0xFFFFFFFFFF000000, 0xFFFFFFFFFF5FFFFF, "fixmap (kernel-internal, variable size)"),
    (0xFFFFFFFFFF600000, 0xFFFFFFFFFF600FFF, "legacy vsyscall ABI (4 KiB)"),
    (0xFFFFFFFFFF601000, 0xFFFFFFFFFFFFFFFF, "unused hole"),
]

# i386 with the 3G/1G split, no PAE: arch/x86/include/asm/pgtable_32_areas.h (6.12) builds the top of
# the address space downwards from the fixmap; PMD_SIZE is 4 MiB with 2-level paging.
I386_PAGE_OFFSET = 0xC0000000
I386_PMD_SIZE = 4 << 20
I386_FIXADDR_TOP = 0xFFFFF000  # __FIXADDR_TOP
#: Illustrative configuration (the real figures depend on the kernel's .config): NR_CPUS 8, a
#: fixmap with FIX_HOLE, FIX_DBGP_BASE and FIX_EARLYCON_MEM_BASE before the kmap_local slots
#: (no APIC slots), KM_MAX_IDX 16 slots per CPU, 64 * 8 boot-time ioremap slots, and a
#: cpu_entry_area of 40 pages per CPU.
I386_NR_CPUS = 8
I386_FIX_KMAP_BEGIN = 3
I386_KM_MAX_IDX = 16
_I386_FIXMAP_PAGES = I386_FIX_KMAP_BEGIN + I386_KM_MAX_IDX * I386_NR_CPUS + 64 * 8  # up to FIX_BTMAP_BEGIN
I386_FIXADDR_TOT_START = I386_FIXADDR_TOP - (_I386_FIXMAP_PAGES << 12)
_I386_CEA_PAGES = I386_NR_CPUS * 40
#: CPU_ENTRY_AREA_BASE = (FIXADDR_TOT_START - PAGE_SIZE * (CPU_ENTRY_AREA_PAGES + 1)) & PMD_MASK
I386_CPU_ENTRY_AREA_BASE = (I386_FIXADDR_TOT_START - 4096 * (_I386_CEA_PAGES + 1)) & ~(I386_PMD_SIZE - 1)
#: LDT_BASE_ADDR = (CPU_ENTRY_AREA_BASE - PAGE_SIZE) & PMD_MASK: the LDT remap for PTI, one PMD
I386_LDT_BASE_ADDR = (I386_CPU_ENTRY_AREA_BASE - 4096) & ~(I386_PMD_SIZE - 1)
#: PKMAP_BASE = (LDT_BASE_ADDR - PAGE_SIZE) & PMD_MASK; LAST_PKMAP is 1024 without PAE
I386_PKMAP_BASE = (I386_LDT_BASE_ADDR - 4096) & ~(I386_PMD_SIZE - 1)
I386_LAST_PKMAP = 1024
#: VMALLOC_END = PKMAP_BASE - 2 * PAGE_SIZE (with CONFIG_HIGHMEM)
I386_VMALLOC_END = I386_PKMAP_BASE - 2 * 4096
#: MAXMEM = VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE (128 MiB, arch/x86/mm/pgtable_32.c): the
#: lowmem the kernel can direct-map. The classic "896 MiB" predates the cpu_entry_area and the LDT
#: remap (4.15); with them it is just under 884 MiB.
I386_MAXMEM = I386_VMALLOC_END - I386_PAGE_OFFSET - (128 << 20)
#: VMALLOC_START = high_memory + VMALLOC_OFFSET (8 MiB), for a machine with at least MAXMEM of RAM
I386_VMALLOC_START = I386_PAGE_OFFSET + I386_MAXMEM + (8 << 20)
I386_LAYOUT = [
    (0x00000000, I386_PAGE_OFFSET - 1, "user space (3 GiB)"),
    (I386_PAGE_OFFSET, I386_PAGE_OFFSET + I386_MAXMEM - 1, "direct map of lowmem (MAXMEM, ZONE_DMA + ZONE_NORMAL)"),
    (I386_PAGE_OFFSET + I386_MAXMEM, I386_VMALLOC_START - 1, "VMALLOC_OFFSET gap (8 MiB)"),
    (I386_VMALLOC_START, I386_VMALLOC_END - 1, "vmalloc/ioremap space (120 MiB)"),
    (I386_VMALLOC_END, I386_PKMAP_BASE - 1, "guard pages"),
    (I386_PKMAP_BASE, I386_LDT_BASE_ADDR - 1, "PKMAP: permanent kmap window (1024 pages)"),
    (I386_LDT_BASE_ADDR, I386_CPU_ENTRY_AREA_BASE - 1, "LDT remap for PTI (one PMD)"),
    (I386_CPU_ENTRY_AREA_BASE, I386_FIXADDR_TOT_START - 1, "cpu_entry_area (GDT, TSS, entry stacks per CPU)"),
    (I386_FIXADDR_TOT_START, I386_FIXADDR_TOP - 1, "fixmap (kmap_local slots, boot-time ioremap)"),
    (I386_FIXADDR_TOP, 0xFFFFFFFF, "unused top page"),
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
