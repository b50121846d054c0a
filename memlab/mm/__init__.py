"""Address spaces: VMAs, page tables, processes with their system calls and
faults, the kernel's own regions, and i386 highmem for comparison.

Modules: :mod:`.vma` (VMAs, files, PROT/MAP/VM flags), :mod:`.pgtable`
(4-level tables and the walk), :mod:`.mm_struct` (one address space),
:mod:`.process` (brk, mmap, munmap, mprotect, faults, uaccess),
:mod:`.kernel` (direct map, vmalloc, ioremap), :mod:`.highmem32` (i386
kmap). The public names are re-exported here.
"""

from ..errors import SegmentationFault, SyscallError
from ..layout import (FIXADDR_TOP, I386_LAST_PKMAP, I386_LAYOUT, I386_MAXMEM, I386_PAGE_OFFSET, I386_PKMAP_BASE,
                      MODULES_VADDR, START_KERNEL_MAP, TASK_SIZE_MAX, VMALLOC_END, VMALLOC_START, VMEMMAP_START,
                      X86_64_LAYOUT)
from .highmem32 import I386Highmem, I386Machine
from .kernel import KernelSpace, VmapArea
from .mm_struct import MmStruct
from .pgtable import (LEVELS, PTE_ACCESSED, PTE_DIRTY, PTE_NX, PTE_PRESENT, PTE_PSE, PTE_RW, PTE_USER, PageTables,
                      Pte, TableRef, WalkResult, WalkStep, pgtable_indices)
from .process import (ELF_ET_DYN_BASE, INITIAL_STACK, MMAP_GAP_MIN, RLIMIT_STACK, STACK_GUARD_GAP, STACK_TOP, Process,
                      access_ok)
from .vma import (MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE,
                  VM_EXEC, VM_GROWSDOWN, VM_MAYSHARE, VM_READ, VM_SHARED, VM_STACK, VM_WRITE, File, Vma,
                  prot_to_vm_flags)

__all__ = [
    "Process", "MmStruct", "Vma", "File", "SyscallError", "SegmentationFault", "PageTables", "Pte", "TableRef",
    "WalkStep", "WalkResult", "KernelSpace", "VmapArea", "I386Highmem", "I386Machine",
    "PROT_NONE", "PROT_READ", "PROT_WRITE", "PROT_EXEC", "MAP_SHARED", "MAP_PRIVATE", "MAP_FIXED", "MAP_ANONYMOUS",
    "VM_READ", "VM_WRITE", "VM_EXEC", "VM_SHARED", "VM_MAYSHARE", "VM_GROWSDOWN", "VM_STACK", "prot_to_vm_flags",
    "TASK_SIZE_MAX", "X86_64_LAYOUT", "I386_LAYOUT", "pgtable_indices", "access_ok", "LEVELS",
    "PTE_PRESENT", "PTE_RW", "PTE_USER", "PTE_ACCESSED", "PTE_DIRTY", "PTE_PSE", "PTE_NX",
    "VMALLOC_START", "VMALLOC_END", "VMEMMAP_START", "START_KERNEL_MAP", "MODULES_VADDR", "FIXADDR_TOP",
    "I386_PAGE_OFFSET", "I386_MAXMEM", "I386_LAST_PKMAP", "I386_PKMAP_BASE",
    "STACK_TOP", "ELF_ET_DYN_BASE", "MMAP_GAP_MIN", "RLIMIT_STACK", "STACK_GUARD_GAP", "INITIAL_STACK",
]
