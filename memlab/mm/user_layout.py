"""Where things go in a 64-bit user address space: the stack top, the PIE
load address, the mmap area and its randomisation, mmap_min_addr, and the
access_ok() range check (arch/x86/mm/mmap.c, arch/x86/include/asm/elf.h,
arch/x86/include/asm/uaccess_64.h)."""

from __future__ import annotations

from ..layout import TASK_SIZE_MAX, X86_64_LAYOUT
from ..units import PAGE_SHIFT, PAGE_SIZE
from .vma import RLIMIT_STACK, STACK_GUARD_GAP

__all__ = [
    "segment_of",
    "mmap_base",
    "access_ok",
    "STACK_TOP",
    "ELF_ET_DYN_BASE",
    "MMAP_GAP_MIN",
    "INITIAL_STACK",
    "MMAP_MIN_ADDR",
    "MAX_IMAGE",
    "BRK_RND_RANGE",
    "STACK_RND_MASK",
    "MMAP_RND_BITS",
]

STACK_TOP = TASK_SIZE_MAX
ELF_ET_DYN_BASE = 0x555555554000  # 2/3 of TASK_SIZE, page aligned, no randomisation
MMAP_GAP_MIN = 128 << 20  # mmap_base(): gap clamped to at least 128 MiB
INITIAL_STACK = 132 << 10  # 128 KiB expansion + argv/env page, as seen in /proc/pid/maps
#: vm.mmap_min_addr (security/min_addr.c): mm/Kconfig's default is 4096 and its help text recommends 65536 on
#: x86, the value distribution kernels commonly use and memlab takes (a simplification: this course's host,
#: a custom 6.18 kernel, shows 4096 in /proc/sys/vm/mmap_min_addr). Either way page 0 is never mappable.
MMAP_MIN_ADDR = 65536
#: The largest TEXT + DATA + BSS spawn() takes (far below the distance from ELF_ET_DYN_BASE to mmap_base).
MAX_IMAGE = 1 << 40


#: arch/x86/kernel/process.c arch_randomize_brk(): the brk lands in [end of BSS, + 1 GiB) (6.9+).
BRK_RND_RANGE = 1 << 30
#: arch/x86/include/asm/elf.h STACK_RND_MASK for 64-bit tasks: 22 bits of pages (16 GiB).
STACK_RND_MASK = 0x3FFFFF
#: mmap_rnd_bits default (CONFIG_ARCH_MMAP_RND_BITS): 28 bits of pages.
MMAP_RND_BITS = 28


def mmap_base(rnd, randomized):
    """The top of the mmap area, below the stack (arch/x86/mm/mmap.c
    mmap_base()): the gap is RLIMIT_STACK plus, for a task with randomized
    addresses, the stack's whole random range (stack_maxrandom_size()) and
    stack_guard_gap, clamped to [128 MiB, 5/6 of the task size]; then the
    random offset ``rnd`` is taken off. So no mapping can land above the
    stack, wherever the stack was placed."""
    pad = ((STACK_RND_MASK << PAGE_SHIFT) if randomized else 0) + STACK_GUARD_GAP
    gap = min(max(RLIMIT_STACK + pad, MMAP_GAP_MIN), TASK_SIZE_MAX // 6 * 5)
    return (TASK_SIZE_MAX - gap - rnd) & ~(PAGE_SIZE - 1)


def access_ok(addr, size):
    """Kernel: arch/x86/include/asm/uaccess_64.h access_ok(): the range
    lies entirely below the end of user space (no overflow)."""
    return addr >= 0 and size >= 0 and addr + size <= TASK_SIZE_MAX


def segment_of(process, addr):
    """Which segment of ``process`` (TEXT, DATA, BSS, HEAP, MMAP, STACK,
    vdso, kernel...) holds ``addr``."""
    mm = process.mm
    if TASK_SIZE_MAX <= addr < 1 << 47:
        return "guard page above TASK_SIZE_MAX (never mapped)"
    if addr >= TASK_SIZE_MAX:
        for start, end, name in X86_64_LAYOUT:
            if start <= addr <= end:
                return "kernel: " + name
    for seg in ("TEXT", "DATA", "BSS"):
        s, e = process.segments[seg]
        if s <= addr < max(e, s + 1):
            return seg
    if mm.start_brk <= addr < mm.brk:
        return "HEAP"
    vma = mm.find_vma(addr)
    if vma is None:
        return "unmapped"
    if vma.name in ("[stack]", "[vvar]", "[vdso]"):
        return vma.name.strip("[]").upper() if vma.name == "[stack]" else vma.name
    return "MMAP"
