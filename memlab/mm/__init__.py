"""Address spaces: VMAs, page tables, processes with their system calls and
faults, the kernel's own regions, and i386 highmem for comparison.

Modules: :mod:`.vma` (VMAs, files, PROT/MAP/VM flags), :mod:`.pgtable`
(4-level tables and the walk), :mod:`.mm_struct` (one address space),
:mod:`.process` (brk, mmap, munmap, mprotect, faults, uaccess),
:mod:`.kernel` (direct map, vmalloc, ioremap), :mod:`.tlb` (the TLB of
each CPU, PCIDs and flushes), :mod:`.highmem32` (i386 kmap). The public names are re-exported here.
"""

# The public names of every module, re-exported; each module's __all__ is the list.
# The address constants live in memlab.layout and are re-exported here too,
# where earlier versions defined them.
from ..errors import SegmentationFault, SyscallError
from ..layout import (
    FIXADDR_TOP,
    I386_LAST_PKMAP,
    I386_LAYOUT,
    I386_MAXMEM,
    I386_PAGE_OFFSET,
    I386_PKMAP_BASE,
    MODULES_VADDR,
    START_KERNEL_MAP,
    TASK_SIZE_MAX,
    VMALLOC_END,
    VMALLOC_START,
    VMEMMAP_START,
    X86_64_LAYOUT,
)
from . import highmem32, kernel, mm_struct, pgtable, process, syscalls, tlb, vma
from .highmem32 import *
from .kernel import *
from .mm_struct import *
from .pgtable import *
from .process import *
from .syscalls import *
from .tlb import *
from .vma import *

# fmt: off
__all__ = [
    "SyscallError", "SegmentationFault", "TASK_SIZE_MAX", "X86_64_LAYOUT", "I386_LAYOUT", "VMALLOC_START",
    "VMALLOC_END", "VMEMMAP_START", "START_KERNEL_MAP", "MODULES_VADDR", "FIXADDR_TOP", "I386_PAGE_OFFSET",
    "I386_MAXMEM", "I386_LAST_PKMAP", "I386_PKMAP_BASE",
    *highmem32.__all__, *kernel.__all__, *mm_struct.__all__, *pgtable.__all__, *process.__all__, *tlb.__all__,
    *vma.__all__, *syscalls.__all__,
]
# fmt: on
