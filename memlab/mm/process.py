"""A user process: its address space, the memory system calls a C program
makes, page faults, and copies between user and kernel memory.

Kernel: mm/mmap.c do_brk_flags(), do_mmap(), get_unmapped_area()
(arch_get_unmapped_area_topdown()), mm/vma.c do_vmi_munmap(),
mm/mprotect.c mprotect_fixup(); arch/x86/mm/fault.c do_user_addr_fault()
(SEGV_MAPERR / SEGV_ACCERR, expand_stack()); mm/memory.c handle_mm_fault(),
do_anonymous_page(), __do_fault(), wp_page_copy();
arch/x86/include/asm/uaccess.h access_ok(), copy_from_user(),
copy_to_user(); fs/binfmt_elf.c for the segment layout (ELF_ET_DYN_BASE).

Deliberately not modelled: swapping, copy-on-write after fork (no fork),
transparent huge pages, the page cache beyond "a file page is read once"
(first touch = major fault, later = minor), mlock, NUMA policies, PTI, LA57
(5-level paging), KASLR.
"""

from __future__ import annotations

import random

from ..errors import BadSize, SegmentationFault, SyscallError, reject, wrong_type
from ..layout import PFN_PHYS, TASK_SIZE_MAX, is_canonical
from ..units import PAGE_SHIFT, PAGE_SIZE, format_size
from .mm_struct import MmStruct
from .pgtable import PTE_RW, ZERO_PFN
from .user_layout import (
    BRK_RND_RANGE,
    ELF_ET_DYN_BASE,
    INITIAL_STACK,
    MAX_IMAGE,
    MMAP_GAP_MIN,
    MMAP_MIN_ADDR,
    MMAP_RND_BITS,
    STACK_RND_MASK,
    STACK_TOP,
    access_ok,
    mmap_base,
    segment_of,
)
from .vma import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    PROT_READ,
    PROT_WRITE,
    RLIMIT_STACK,
    STACK_GUARD_GAP,
    VM_EXEC,
    VM_GROWSDOWN,
    VM_MAYSHARE,
    VM_READ,
    VM_SHARED,
    VM_WRITE,
    File,
    Vma,
    prot_to_vm_flags,
)

TYPE_CHECKING = False  # (typing.TYPE_CHECKING without importing typing at run time)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "mmap_base",
    "BRK_RND_RANGE",
    "STACK_RND_MASK",
    "MMAP_RND_BITS",
    "Process",
    "access_ok",
    "STACK_TOP",
    "ELF_ET_DYN_BASE",
    "MMAP_GAP_MIN",
    "RLIMIT_STACK",
    "STACK_GUARD_GAP",
    "INITIAL_STACK",
]


class Process:
    """A simulated user process: ``pid``, ``name``, ``mm`` and the
    system calls and memory accesses a C program makes. Create one with
    :meth:`memlab.Machine.spawn`. ``p.libc`` is its C library's malloc
    family (:class:`memlab.libc.Libc`), made on first use."""

    #: builds ``p.libc``; memlab/__init__.py installs memlab.libc.Libc
    libc_factory: Any = None

    def __init__(
        self, machine, name="a.out", text=0x2000, data=0x1000, bss=0x2000, symbols=None, aslr=False, seed=0, pie=True
    ):
        for label, value in (("text", text), ("data", data), ("bss", bss)):
            if value.__class__ is not int or value < 0:
                raise reject(BadSize, value, f"spawn: {label} size {value!r} must be an int >= 0")
        if text + data + bss > MAX_IMAGE:
            raise BadSize(
                f"spawn: a program of {format_size(text + data + bss)} does not fit below the mmap area "
                f"(memlab takes images up to {format_size(MAX_IMAGE)})"
            )
        if not isinstance(name, str) or not name:
            raise BadSize(f"spawn: name {name!r} must be a non-empty string")
        for sym, where in (symbols or {}).items():
            if not (isinstance(where, tuple) and len(where) == 2 and where[0] in ("TEXT", "DATA", "BSS")):
                raise BadSize(f"spawn: symbol {sym!r}: {where!r} must be (segment, offset), segment TEXT, DATA or BSS")
            if where[1].__class__ is not int or where[1] < 0:
                raise reject(BadSize, where[1], f"spawn: symbol {sym!r}: offset {where[1]!r} must be an int >= 0")
        self.exited = False
        self.killed_by: str | None = None  # "the OOM killer" when it chose this process
        self.oom_score_adj = 0  # /proc/<pid>/oom_score_adj: -1000 (never kill) to 1000 (kill first)
        self._libc = None
        self._sys = None
        self.machine = machine
        self.name = name
        self.pid = machine.alloc_pid()
        self.ppid = 1
        self.aslr = aslr
        self.seed = seed
        self.mm = mm = MmStruct(machine, self)
        rng = random.Random(seed)
        page = PAGE_SIZE
        load = ELF_ET_DYN_BASE if pie else 0x400000
        if aslr and pie:
            load += rng.randrange(1 << 28) << PAGE_SHIFT  # arch_mmap_rnd(): 28 random bits of pages
        self.exe = File(f"/home/student/{name}", text + data, inode=machine.alloc_inode())
        text_pages = -(-max(text, 1) // page) * page
        data_pages = -(-data // page) * page  # no data: no DATA mapping (the break starts after TEXT/BSS)
        mm.start_code, mm.end_code = load, load + text
        mm.start_data, mm.end_data = load + text_pages, load + text_pages + data
        self.segments = {"TEXT": (load, load + text), "DATA": (mm.start_data, mm.end_data)}
        mm.insert_vma(Vma(load, load + text_pages, VM_READ | VM_EXEC, self.exe, 0))
        if data_pages:
            mm.insert_vma(
                Vma(mm.start_data, mm.start_data + data_pages, VM_READ | VM_WRITE, self.exe, text_pages >> PAGE_SHIFT)
            )
        bss_start = mm.end_data
        bss_end = bss_start + bss
        self.segments["BSS"] = (bss_start, bss_end)
        extra = -(-bss_end // page) * page
        if extra > mm.start_data + data_pages:  # bss beyond the data pages: anonymous
            mm.insert_vma(Vma(mm.start_data + data_pages, extra, VM_READ | VM_WRITE))
        brk = -(-bss_end // page) * page
        if aslr:  # arch_randomize_brk(): randomize_page(mm->brk, SZ_1G) since 6.9 (32 MiB before)
            brk += rng.randrange(BRK_RND_RANGE >> PAGE_SHIFT) << PAGE_SHIFT
        mm.start_brk = mm.brk = brk
        self.segments["HEAP"] = (brk, brk)
        stack_top = STACK_TOP
        if aslr:  # randomize_stack_top(): STACK_RND_MASK (22 bits) of pages
            stack_top -= rng.randrange(STACK_RND_MASK + 1) << PAGE_SHIFT
        mm.mmap_base = mmap_base(rng.randrange(1 << MMAP_RND_BITS) << PAGE_SHIFT if aslr else 0, aslr)
        mm.start_stack = stack_top - 0x1000
        mm.insert_vma(Vma(stack_top - INITIAL_STACK, stack_top, VM_READ | VM_WRITE | VM_GROWSDOWN, name="[stack]"))
        self.segments["STACK"] = (stack_top - INITIAL_STACK, stack_top)
        vvar = self._find_gap(6 * page)
        mm.insert_vma(Vma(vvar, vvar + 4 * page, VM_READ, name="[vvar]"))
        mm.insert_vma(Vma(vvar + 4 * page, vvar + 6 * page, VM_READ | VM_EXEC, name="[vdso]"))
        self.symbols = {}
        for sym, (segment, offset) in (symbols or {}).items():
            base = self.segments[segment][0]
            self.symbols[sym] = (segment, base + offset)
        mm.update_hiwater()

    def __repr__(self):
        return f"<Process {self.pid} {self.name}: {len(self.mm.vmas)} VMAs, RSS {self.rss_kb} kB>"

    @property
    def sys(self):
        """The process's file system calls: open, read, write, lseek, close
        (:class:`memlab.mm.syscalls.Files`)."""
        from .syscalls import Files

        self._sys = self._sys or Files(self)
        return self._sys

    @property
    def libc(self):
        """The process's C library (malloc, calloc, realloc, free, ...)."""
        self._libc = self._libc or Process.libc_factory(self)
        return self._libc

    @property
    def rss_kb(self):
        return (self.mm.rss_anon + self.mm.rss_file) << (PAGE_SHIFT - 10)

    def segment_of(self, addr):
        """Which segment (TEXT, DATA, BSS, HEAP, MMAP, STACK, vdso, kernel...) holds ``addr``."""
        return segment_of(self, addr)

    # ------------------------------------------------------------ syscalls
    def _find_gap(self, length, below=None):
        """Top-down get_unmapped_area(): the highest free gap of ``length``
        below mmap_base (kernel: mm/mmap.c arch_get_unmapped_area_topdown())."""
        mm = self.mm
        high = below if below is not None else mm.mmap_base
        for vma in reversed(mm.vmas):
            if vma.start >= high:
                continue
            if vma.end <= high - length:
                return high - length
            high = min(high, vma.start)
        if high - length >= MMAP_MIN_ADDR:
            return high - length
        raise SyscallError("ENOMEM", f"no free gap of {format_size(length)} in the address space")

    def brk(self, new_brk: int | None = None) -> int:
        """``brk(addr)``: move the end of the heap; returns the new break
        (the old one when the request is refused, as the syscall does).
        Kernel: mm/mmap.c SYSCALL_DEFINE1(brk) -> do_brk_flags()."""
        self._check_alive("brk")
        mm = self.mm
        if new_brk is not None and new_brk.__class__ is not int:
            raise BadSize(f"brk({new_brk!r}): give an address (an int), or None to ask for the current break")
        if new_brk is None or new_brk < mm.start_brk or new_brk > TASK_SIZE_MAX:
            return mm.brk  # refused (or a query): the break stays
        old_end = -(-mm.brk // PAGE_SIZE) * PAGE_SIZE
        new_end = -(-new_brk // PAGE_SIZE) * PAGE_SIZE
        if new_end > old_end:
            # find_vma_intersection(): anything in [old_end, new_end), or a stack whose guard gap reaches in
            for v in mm.vmas:
                guard = STACK_GUARD_GAP if v.flags & VM_GROWSDOWN else 0
                if v.end > old_end and v.start < new_end + guard:
                    return mm.brk  # would collide: brk fails, break unchanged
            heap = mm.find_vma(old_end - 1) if old_end > mm.start_brk else None
            if heap is not None and heap.file is None and heap.flags == VM_READ | VM_WRITE:
                heap.end = new_end  # do_brk_flags(): expand the heap's own VMA
                mm.merge_around(heap)
            else:  # the first page of heap: a VMA of its own, never merged into the BSS below
                mm.insert_vma(Vma(old_end, new_end, VM_READ | VM_WRITE), merge=False)
        elif new_end < old_end:
            self._unmap_range(new_end, old_end)
        mm.brk = new_brk
        self.segments["HEAP"] = (mm.start_brk, new_brk)
        mm.update_hiwater()
        return mm.brk

    def sbrk(self, increment):
        """glibc sbrk(): grow the heap by ``increment`` bytes; returns the old break."""
        old = self.mm.brk
        if self.brk(old + increment) != old + increment:
            raise SyscallError("ENOMEM", f"sbrk({increment}): the heap cannot grow there")
        return old

    def mmap(
        self,
        addr: int | None = None,
        length: int = PAGE_SIZE,
        prot: int = PROT_READ | PROT_WRITE,
        flags: int = MAP_PRIVATE | MAP_ANONYMOUS,
        file: File | None = None,
        offset: int = 0,
    ) -> int:
        """``mmap(addr, length, prot, flags, fd, offset)``: a new mapping;
        returns its start. Kernel: mm/mmap.c do_mmap()."""
        self._check_alive("mmap")
        if length.__class__ is not int or length <= 0:
            raise SyscallError("EINVAL", f"mmap: length {length!r} must be > 0")
        if not flags & (MAP_SHARED | MAP_PRIVATE) or (flags & MAP_SHARED and flags & MAP_PRIVATE):
            raise SyscallError("EINVAL", "mmap: flags need exactly one of MAP_SHARED and MAP_PRIVATE")
        if offset % PAGE_SIZE:
            raise SyscallError("EINVAL", f"mmap: offset {offset:#x} is not page aligned")
        if file is None and not flags & MAP_ANONYMOUS:
            raise SyscallError("EBADF", "mmap: no file given and MAP_ANONYMOUS not set")
        if file is not None and file.__class__ is not File:
            raise SyscallError("EBADF", f"mmap: file {file!r} is not a File (make one with Machine.create_file())")
        length = -(-length // PAGE_SIZE) * PAGE_SIZE
        if flags & MAP_FIXED:
            if addr.__class__ is not int or addr % PAGE_SIZE:
                raise SyscallError("EINVAL", f"mmap: MAP_FIXED address {addr!r} must be page aligned")
            if addr < MMAP_MIN_ADDR:
                # security_mmap_addr(): below vm.mmap_min_addr needs CAP_SYS_RAWIO (NULL-pointer guard)
                raise SyscallError(
                    "EPERM", f"mmap: {addr:#x} is below vm.mmap_min_addr ({MMAP_MIN_ADDR}): page 0 stays unmapped"
                )
            if not access_ok(addr, length):
                raise SyscallError(
                    "ENOMEM",
                    f"mmap: {addr:#x}+{length:#x} reaches beyond user space "
                    f"(TASK_SIZE {TASK_SIZE_MAX:#x}): the kernel half is not yours",
                )
            self._unmap_range(addr, addr + length)
            start = addr
        elif (
            addr.__class__ is int
            and addr >= MMAP_MIN_ADDR
            and addr % PAGE_SIZE == 0
            and access_ok(addr, length)
            and all(self.mm.find_vma(a) is None for a in range(addr, addr + length, PAGE_SIZE))
        ):
            start = addr  # the hint is free: use it
        else:
            start = self._find_gap(length)
        vm_flags = prot_to_vm_flags(prot) | (VM_MAYSHARE | VM_SHARED if flags & MAP_SHARED else 0)
        if file is not None and not flags & MAP_ANONYMOUS and file.inode is None:
            file.inode = self.machine.alloc_inode()
        vma = Vma(
            start,
            start + length,
            vm_flags,
            None if flags & MAP_ANONYMOUS else file,
            0 if flags & MAP_ANONYMOUS else offset >> PAGE_SHIFT,
        )
        self.mm.insert_vma(vma)
        self.mm.update_hiwater()
        return start

    def _check_alive(self, what):
        if self.exited:
            how = f"was killed by {self.killed_by}" if self.killed_by else "has exited"
            raise SyscallError("ESRCH", f"{what}: process {self.pid} ({self.name}) {how}")
        self.machine.current = self  # the task on the CPU (the OOM killer needs to know)

    def _check_range(self, what, addr, length):
        if addr.__class__ is not int or addr % PAGE_SIZE:
            shown = f"{addr:#x}" if addr.__class__ is int else repr(addr)
            raise SyscallError("EINVAL", f"{what}: address {shown} is not page aligned")
        if length.__class__ is not int or length <= 0:
            raise SyscallError("EINVAL", f"{what}: length {length!r} must be > 0")
        if not access_ok(addr, length):
            raise SyscallError("EINVAL", f"{what}: {addr:#x}+{length:#x} is not in user space")

    def munmap(self, addr: int, length: int) -> int:
        """``munmap(addr, length)``: remove mappings in the range (splitting
        VMAs at the edges). Kernel: mm/vma.c do_vmi_munmap()."""
        self._check_alive("munmap")
        self._check_range("munmap", addr, length)
        end = addr + (-(-length // PAGE_SIZE) * PAGE_SIZE)
        self._unmap_range(addr, end)
        return 0

    def _unmap_range(self, start, end):
        mm = self.mm
        mm.split_vma(start)
        mm.split_vma(end)
        cleared = []  # mm/mmu_gather.c: the TLB flush covers the pages whose entries were cleared
        for vma in [v for v in mm.vmas if start <= v.start and v.end <= end]:
            for page_addr in range(vma.start, vma.end, PAGE_SIZE):
                entry = mm.pagetables.lookup_pte(page_addr)
                if entry is not None:
                    cleared.append(page_addr)
                    mm.pagetables.pte_clear(page_addr)
                    if entry.kind == "anon":
                        mm.rss_anon -= 1
                        self.machine.free_pages(entry.pfn, 0)
                    elif entry.kind == "file":
                        mm.rss_file -= 1  # the page stays in the page cache
                    # the zero page is shared and counted nowhere: nothing to give back
            mm.remove_vma(vma)
        if cleared:
            self.machine.flush_tlb_mm_range(mm, cleared[0], cleared[-1] + PAGE_SIZE)

    def mprotect(self, addr: int, length: int, prot: int) -> int:
        """``mprotect(addr, length, prot)``: change protections, splitting
        and re-merging VMAs; ENOMEM if part of the range is unmapped.
        Kernel: mm/mprotect.c do_mprotect_pkey() -> mprotect_fixup()."""
        self._check_alive("mprotect")
        self._check_range("mprotect", addr, length)
        end = addr + (-(-length // PAGE_SIZE) * PAGE_SIZE)
        mm = self.mm
        for a in range(addr, end, PAGE_SIZE):
            if mm.find_vma(a) is None:
                raise SyscallError("ENOMEM", f"mprotect: {a:#x} in the range is not mapped")
        mm.split_vma(addr)
        mm.split_vma(end)
        new = prot_to_vm_flags(prot)
        changed = []
        for vma in [v for v in mm.vmas if addr <= v.start and v.end <= end]:
            vma.flags = (vma.flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | new
            for page_addr in range(vma.start, vma.end, PAGE_SIZE):
                if mm.pagetables.lookup_pte(page_addr) is not None:
                    changed.append(page_addr)
                mm.pagetables.set_pte_writable(
                    page_addr, bool(new & VM_WRITE), bool(new & VM_EXEC), bool(vma.flags & VM_MAYSHARE)
                )
        if changed:  # mm/mprotect.c change_protection() -> flush_tlb_range()
            self.machine.flush_tlb_mm_range(mm, changed[0], changed[-1] + PAGE_SIZE)
        for vma in [v for v in mm.vmas if addr <= v.start and v.end <= end]:
            if vma in mm.vmas:
                mm.merge_around(vma)
        for vma in list(mm.vmas):  # the neighbours may merge now too
            if vma in mm.vmas:
                mm.merge_around(vma)
        return 0

    # --------------------------------------------------------- memory access
    def touch(self, addr: int, write: bool = False, execute: bool = False) -> str:
        """One user-mode (ring 3) access to ``addr``: walks the page tables,
        and on a miss takes a page fault as the kernel does. Returns
        ``"hit"``, ``"minor"`` or ``"major"``.

        Demand paging (mm/memory.c handle_mm_fault()): the first *read* of a
        private anonymous page maps the shared zero page read-only (a minor
        fault, no frame, RSS unchanged: do_anonymous_page()); the first
        *write* gets a zeroed frame of its own, directly or by copying the
        zero page's mapping on write (do_wp_page() -> wp_page_copy()). A file
        page is read into the page cache on first touch (a major fault). An
        access just below ``[stack]`` grows the stack.

        Raises :class:`SegmentationFault` as the kernel signals: a canonical
        kernel address is not in the process's page tables, SEGV_MAPERR
        (arch/x86/mm/fault.c do_kern_addr_fault() -> bad_area_nosemaphore());
        a non-canonical address raises #GP before any page walk, so the
        signal is SIGSEGV with si_code SI_KERNEL and si_addr 0
        (arch/x86/kernel/traps.c exc_general_protection() -> force_sig());
        no VMA: SEGV_MAPERR; a VMA that forbids the access: SEGV_ACCERR.
        """
        self._check_alive("touch")
        if addr.__class__ is not int or addr < 0:
            raise reject(BadSize, addr, f"address {addr!r} must be an int >= 0")
        if addr >= TASK_SIZE_MAX:
            if not is_canonical(addr):
                raise SegmentationFault(
                    0,
                    "SI_KERNEL",
                    f"{addr:#x} is non-canonical (bits 63-47 differ): the CPU raises a general protection "
                    f"fault (#GP), not a page fault, so the kernel does not learn the address",
                )
            raise SegmentationFault(
                addr,
                "SEGV_MAPERR",
                "user mode (ring 3) may not touch the kernel half: this address is not mapped for the user "
                "(the kernel's entries have the U/S bit clear, and with PTI most of the kernel is not even in "
                "the user page tables), so the page fault finds no user mapping",
            )
        mm = self.mm
        vma = mm.find_vma(addr)
        if vma is None:
            vma = self._maybe_expand_stack(addr)
            if vma is None:
                raise SegmentationFault(addr, "SEGV_MAPERR", "no mapping contains this address")
        need = VM_WRITE if write else (VM_EXEC if execute else VM_READ)
        if not vma.flags & need:
            kind = "write" if write else ("execute" if execute else "read")
            raise SegmentationFault(addr, "SEGV_ACCERR", f"{kind} access to {vma!r} which is {vma.perms}")
        page_addr = addr & ~(PAGE_SIZE - 1)
        entry = mm.pagetables.lookup_pte(page_addr)
        private_file = vma.file is not None and not vma.flags & VM_MAYSHARE
        if entry is not None:
            if write and not entry.flags & PTE_RW:  # write to a read-only PTE in a writable VMA
                self._cow(vma, page_addr, entry)
                mm.min_flt += 1
                mm.update_hiwater_rss()
                return "minor"
            return "hit"
        if vma.file is None:
            kind = "minor"
            if not write and not vma.flags & VM_SHARED:  # do_anonymous_page(): read -> the shared zero page
                mm.pagetables.set_pte(page_addr, ZERO_PFN, False, bool(vma.flags & VM_EXEC), "zero")
            else:
                page = self.machine.alloc_pages(0, "GFP_HIGHUSER_MOVABLE")
                self.machine.mem.write(page.pfn << PAGE_SHIFT, bytes(PAGE_SIZE))  # zeroed (page_to_phys)
                mm.pagetables.set_pte(page_addr, page.pfn, bool(vma.flags & VM_WRITE), bool(vma.flags & VM_EXEC))
                mm.rss_anon += 1
        else:
            index = vma.pgoff + ((page_addr - vma.start) >> PAGE_SHIFT)
            pfn, from_disk = vma.file.cache_page(self.machine, index)  # filemap_fault()
            kind = "major" if from_disk else "minor"
            if write and private_file:  # do_cow_fault(): a private copy at once
                mm.rss_file += 1
                mm.pagetables.set_pte(page_addr, pfn, False, bool(vma.flags & VM_EXEC), "file")
                self._cow(vma, page_addr, mm.pagetables.lookup_pte(page_addr))
            else:
                mm.pagetables.set_pte(
                    page_addr,
                    pfn,
                    bool(vma.flags & VM_WRITE) and bool(vma.flags & VM_MAYSHARE),
                    bool(vma.flags & VM_EXEC),
                    "file",
                )
                mm.rss_file += 1
        if kind == "major":
            mm.maj_flt += 1
        else:
            mm.min_flt += 1
        mm.update_hiwater_rss()
        return kind

    def _cow(self, vma, page_addr, old):
        """Copy-on-write (mm/memory.c do_wp_page() -> wp_page_copy()): a
        private page mapped writable in place of the read-only one. For the
        zero page the new page is simply zeroed
        (vma_alloc_zeroed_movable_folio()) and RSS grows; for a page-cache
        page the data is copied and RSS moves from file to anon."""
        mm = self.mm
        page = self.machine.alloc_pages(0, "GFP_HIGHUSER_MOVABLE")
        if old.kind == "zero":
            self.machine.mem.write(page.phys_addr, bytes(PAGE_SIZE))
        else:
            self.machine.mem.write(page.phys_addr, self.machine.mem.read(PFN_PHYS(old.pfn), PAGE_SIZE))
            mm.rss_file -= 1
        mm.pagetables.set_pte(page_addr, page.pfn, True, bool(vma.flags & VM_EXEC), "anon")
        mm.rss_anon += 1

    def _maybe_expand_stack(self, addr):
        """expand_stack(): an access just below [stack] grows it, within
        RLIMIT_STACK and keeping stack_guard_gap to the mapping below
        (the test is :meth:`MmStruct.stack_growth`)."""
        mm = self.mm
        stack = mm.stack_growth(addr)
        if stack is None:
            return None
        mm.move_vma_start(stack, addr & ~(PAGE_SIZE - 1))
        mm.update_hiwater()
        return stack

    def read(self, addr, n):
        """User-mode read of ``n`` bytes (faults pages in)."""
        self._check_alive("read")
        if addr.__class__ is not int or addr < 0:
            raise reject(BadSize, addr, f"read: address {addr!r} must be an int >= 0")
        if n.__class__ is not int or n < 0:
            raise reject(BadSize, n, f"read: length {n!r} must be an int >= 0")
        out = bytearray()
        while n > 0:
            self.touch(addr)
            take = min(n, PAGE_SIZE - (addr & 0xFFF))
            entry = self.mm.pagetables.lookup_pte(addr & ~0xFFF)
            out += self.machine.mem.read(PFN_PHYS(entry.pfn) | (addr & 0xFFF), take)
            addr += take
            n -= take
        return bytes(out)

    def write(self, addr, data):
        """User-mode write of ``data`` (bytes; faults pages in)."""
        self._check_alive("write")
        if addr.__class__ is not int or addr < 0:
            raise reject(BadSize, addr, f"write: address {addr!r} must be an int >= 0")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            # bytes(5) would be five zero bytes, and bytes(10**12) a terabyte
            raise wrong_type(BadSize, f"write: data must be bytes, not {type(data).__name__} ({data!r:.40})")
        data = bytes(data)
        pos = 0
        while pos < len(data):
            self.touch(addr, write=True)
            take = min(len(data) - pos, PAGE_SIZE - (addr & 0xFFF))
            entry = self.mm.pagetables.lookup_pte(addr & ~0xFFF)
            self.machine.mem.write(PFN_PHYS(entry.pfn) | (addr & 0xFFF), data[pos : pos + take])
            addr += take
            pos += take

    # -------------------------------------------------------------- uaccess
    def copy_from_user(self, to: int, from_: int, n: int) -> int:
        """Kernel copy_from_user(to, from, n): copy ``n`` bytes from this
        process's user address ``from_`` to the kernel (direct-map) address
        ``to``. Returns the number of bytes NOT copied (0 on success); stops at
        the first page it cannot read and zero-fills the rest of the kernel
        buffer. Fails entirely (returns ``n``) when access_ok() fails."""
        self._check_alive("copy_from_user")
        for label, value in (("to", to), ("from", from_), ("n", n)):
            if value.__class__ is not int or value < 0:
                raise reject(BadSize, value, f"copy_from_user: {label} {value!r} must be an int >= 0")
        if not access_ok(from_, n):
            self.machine.memset(to, 0, n)
            return n
        done = 0
        while done < n:
            addr = from_ + done
            take = min(n - done, PAGE_SIZE - (addr & 0xFFF))
            try:
                chunk = self.read(addr, take)
            except SegmentationFault:
                self.machine.memset(to + done, 0, n - done)
                return n - done
            self.machine.write(to + done, chunk)
            done += take
        return 0

    def copy_to_user(self, to: int, from_: int, n: int) -> int:
        """Kernel copy_to_user(to, from, n): copy ``n`` bytes from the kernel
        address ``from_`` to this process's user address ``to``; returns the
        bytes not copied (stops at the first page it cannot write)."""
        self._check_alive("copy_to_user")
        for label, value in (("to", to), ("from", from_), ("n", n)):
            if value.__class__ is not int or value < 0:
                raise reject(BadSize, value, f"copy_to_user: {label} {value!r} must be an int >= 0")
        if not access_ok(to, n):
            return n
        data = self.machine.read(from_, n)
        done = 0
        while done < n:
            addr = to + done
            take = min(n - done, PAGE_SIZE - (addr & 0xFFF))
            try:
                self.write(addr, data[done : done + take])
            except SegmentationFault:
                return n - done
            done += take
        return 0

    def exit(self):
        """Tear the address space down: every page and page table goes back.
        A second exit() is refused (the page-table pages may belong to
        another process by then)."""
        self._check_alive("exit")
        self.exited = True
        self._unmap_range(0, TASK_SIZE_MAX)
        for page in self.mm.pt_pages:
            self.machine.free_pages(page, 0)
        self.mm.pt_pages.clear()
        self.machine.free_pages(self.mm.pgd, 0)
        self.machine.processes.pop(self.pid, None)
