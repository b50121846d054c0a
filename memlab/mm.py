"""Address spaces: processes, VMAs, 4-level page tables, faults, uaccess, and
the kernel's own regions (x86-64; i386 with highmem for comparison).

Kernel: include/linux/mm_types.h struct mm_struct / vm_area_struct;
mm/mmap.c do_brk_flags(), do_mmap(), get_unmapped_area() (top-down),
vma_merge; mm/vma.c do_vmi_munmap(); mm/mprotect.c mprotect_fixup();
mm/memory.c handle_mm_fault(), do_anonymous_page(), __do_fault();
arch/x86/mm/fault.c do_user_addr_fault() (SEGV_MAPERR / SEGV_ACCERR,
expand_stack()); arch/x86/include/asm/pgtable_64_types.h (9/9/9/9/12 bits);
arch/x86/include/asm/uaccess.h access_ok(), copy_from_user(),
copy_to_user(); mm/vmalloc.c vmalloc(), vfree(); arch/x86/mm/ioremap.c;
Documentation/arch/x86/x86_64/mm.rst for the layout; arch/x86/mm/highmem_32.c
and mm/highmem.c kmap()/kunmap() for i386.

Deliberately not modelled: swapping, copy-on-write after fork (no fork),
transparent huge pages, the page cache beyond "a file page is read once"
(first touch = major fault, later = minor), mlock, NUMA policies, PTI, LA57
(5-level paging), KASLR.
"""

import random
from bisect import bisect_right

from .errors import BadSize, MemlabError
from .physmem import PAGE_OFFSET
from .units import PAGE_SHIFT, PAGE_SIZE, format_size

__all__ = [
    "Process", "MmStruct", "Vma", "File", "SyscallError", "SegmentationFault",
    "PROT_NONE", "PROT_READ", "PROT_WRITE", "PROT_EXEC", "MAP_SHARED", "MAP_PRIVATE", "MAP_FIXED",
    "MAP_ANONYMOUS", "TASK_SIZE_MAX", "X86_64_LAYOUT", "I386_LAYOUT", "pgtable_indices", "access_ok",
    "KernelSpace", "I386Machine",
]

PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0, 1, 2, 4
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
VM_READ, VM_WRITE, VM_EXEC, VM_SHARED = 0x1, 0x2, 0x4, 0x8
VM_MAYSHARE = 0x80
VM_GROWSDOWN = 0x100
VM_STACK = VM_GROWSDOWN

TASK_SIZE_MAX = 0x00007FFFFFFFF000          # (1 << 47) - PAGE_SIZE
STACK_TOP = TASK_SIZE_MAX
ELF_ET_DYN_BASE = 0x555555554000            # 2/3 of TASK_SIZE, page aligned, no randomisation
MMAP_GAP_MIN = 128 << 20                    # mmap_base(): gap clamped to at least 128 MiB
RLIMIT_STACK = 8 << 20
STACK_GUARD_GAP = 256 << PAGE_SHIFT         # stack_guard_gap: 1 MiB
INITIAL_STACK = 132 << 10                   # 128 KiB expansion + argv/env page, as seen in /proc/pid/maps

# Documentation/arch/x86/x86_64/mm.rst (4-level paging): (start, end_inclusive, name)
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
VMALLOC_START, VMALLOC_END = 0xFFFFC90000000000, 0xFFFFE8FFFFFFFFFF
VMEMMAP_START = 0xFFFFEA0000000000
START_KERNEL_MAP = 0xFFFFFFFF80000000
MODULES_VADDR = 0xFFFFFFFFA0000000
FIXADDR_TOP = 0xFFFFFFFFFF5FF000

# i386 with 3G/1G split, no PAE (arch/x86/include/asm/pgtable_32_areas.h)
I386_PAGE_OFFSET = 0xC0000000
I386_MAXMEM = 0x38000000                     # 896 MiB of lowmem direct-mapped
I386_LAST_PKMAP = 1024
I386_LAYOUT = [
    (0x00000000, 0xBFFFFFFF, "user space (3 GiB)"),
    (0xC0000000, 0xF7FFFFFF, "direct map of lowmem (896 MiB, ZONE_DMA + ZONE_NORMAL)"),
    (0xF8000000, 0xF87FFFFF, "VMALLOC_OFFSET gap (8 MiB)"),
    (0xF8800000, 0xFF7FDFFF, "vmalloc/ioremap space (~112 MiB)"),
    (0xFF800000, 0xFFBFFFFF, "PKMAP: permanent kmap window (1024 pages)"),
    (0xFFC00000, 0xFFFFEFFF, "fixmap"),
    (0xFFFFF000, 0xFFFFFFFF, "unused top page"),
]
I386_PKMAP_BASE = 0xFF800000

# x86 page-table entry bits
_P, _RW, _US, _A, _D, _PS = 0x1, 0x2, 0x4, 0x20, 0x40, 0x80
_NX = 1 << 63
LEVELS = ("PGD", "PUD", "PMD", "PTE")


class SyscallError(MemlabError):
    """A system call failed: ``.errno`` is the kernel's name (EINVAL, ENOMEM,
    EFAULT, ...), the message the reason."""

    def __init__(self, errno, message):
        super().__init__(f"{errno}: {message}")
        self.errno = errno


class SegmentationFault(MemlabError):
    """The kernel would send SIGSEGV: ``.si_code`` is SEGV_MAPERR (no mapping)
    or SEGV_ACCERR (mapping forbids the access), ``.address`` the fault address."""

    def __init__(self, address, si_code, message):
        super().__init__(f"SIGSEGV ({si_code}) at {address:#x}: {message}")
        self.address = address
        self.si_code = si_code


def pgtable_indices(vaddr):
    """``(pgd, pud, pmd, pte, offset)`` of an x86-64 4-level virtual address:
    bits 47-39, 38-30, 29-21, 20-12 and 11-0."""
    return ((vaddr >> 39) & 511, (vaddr >> 30) & 511, (vaddr >> 21) & 511, (vaddr >> 12) & 511, vaddr & 0xFFF)


def access_ok(addr, size):
    """Kernel: arch/x86/include/asm/uaccess_64.h access_ok(): the range
    lies entirely below the end of user space (no overflow)."""
    return 0 <= addr and size >= 0 and addr + size <= TASK_SIZE_MAX


def _canonical(vaddr):
    top = vaddr >> 47
    return top == 0 or top == (1 << 17) - 1


class File:
    """A file to map: ``name`` (path shown in /proc/pid/maps), ``size`` in
    bytes, ``inode`` number, device ``dev`` (major, minor). Its pages are
    read from "disk" on first touch (a major fault) and then stay in the page
    cache."""

    _next_inode = 131073

    def __init__(self, name, size, inode=None, dev=(0xFE, 0x00)):
        if size.__class__ is not int or size < 0:
            raise BadSize(f"File({name!r}): size {size!r} must be an int >= 0")
        self.name = name
        self.size = size
        if inode is None:
            inode = File._next_inode
            File._next_inode += 1
        self.inode = inode
        self.dev = dev
        self.page_cache = {}             # file page index -> pfn

    def __repr__(self):
        return f"File({self.name!r}, {self.size} bytes, inode {self.inode})"


class Vma:
    """``struct vm_area_struct``: [start, end), flags, file and page offset."""

    __slots__ = ("start", "end", "flags", "file", "pgoff", "name")

    def __init__(self, start, end, flags, file=None, pgoff=0, name=None):
        self.start, self.end, self.flags, self.file, self.pgoff, self.name = start, end, flags, file, pgoff, name

    @property
    def perms(self):
        f = self.flags
        return ("r" if f & VM_READ else "-") + ("w" if f & VM_WRITE else "-") + ("x" if f & VM_EXEC else "-") + \
               ("s" if f & VM_MAYSHARE else "p")

    @property
    def size(self):
        return self.end - self.start

    def can_merge_after(self, other):
        """True if ``self`` directly follows ``other`` and they would merge
        (same flags, same special name, both anonymous or the same file with
        contiguous offsets): a simplified vma_merge() compatibility test."""
        if other.end != self.start or other.flags != self.flags or other.name != self.name:
            return False
        if self.file is None and other.file is None:
            return True
        return self.file is other.file and other.pgoff + (other.size >> PAGE_SHIFT) == self.pgoff

    def __repr__(self):
        what = self.name or (self.file.name if self.file else "anon")
        return f"<Vma {self.start:#x}-{self.end:#x} {self.perms} {what}>"


class MmStruct:
    """``struct mm_struct``: the VMAs (sorted by start), the page tables,
    brk, counters (RSS, faults, page-table pages)."""

    def __init__(self, machine, owner):
        self.machine = machine
        self.owner = owner
        self.vmas = []                   # sorted by start
        self._starts = []
        self.pgd = machine.alloc_pages(0, "GFP_KERNEL")     # the top-level table: one page
        self.tables = {}                 # (level, table prefix) -> {index: entry}
        self.table_pfn = {(0, 0): self.pgd.pfn}
        self.pt_pages = []               # Pages of PUD/PMD/PTE tables (VmPTE counts these)
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

    # ------------------------------------------------------------- VMAs
    def find_vma(self, addr):
        """The VMA containing ``addr``, or None (kernel: vma_lookup())."""
        i = bisect_right(self._starts, addr) - 1
        if i >= 0 and self.vmas[i].start <= addr < self.vmas[i].end:
            return self.vmas[i]
        return None

    def _insert(self, vma):
        i = bisect_right(self._starts, vma.start)
        self.vmas.insert(i, vma)
        self._starts.insert(i, vma.start)
        self._merge_around(vma)

    def _remove(self, vma):
        i = self.vmas.index(vma)
        del self.vmas[i]
        del self._starts[i]

    def _merge_around(self, vma):
        i = self.vmas.index(vma)
        if i + 1 < len(self.vmas) and self.vmas[i + 1].can_merge_after(vma):
            nxt = self.vmas[i + 1]
            vma.end = nxt.end
            del self.vmas[i + 1]
            del self._starts[i + 1]
        if i > 0 and vma.can_merge_after(self.vmas[i - 1]):
            prev = self.vmas[i - 1]
            prev.end = vma.end
            del self.vmas[i]
            del self._starts[i]

    def _split(self, addr):
        """Split the VMA containing ``addr`` so that a VMA starts at ``addr``."""
        vma = self.find_vma(addr)
        if vma is None or vma.start == addr:
            return
        tail = Vma(addr, vma.end, vma.flags, vma.file,
                   vma.pgoff + ((addr - vma.start) >> PAGE_SHIFT) if vma.file else 0, vma.name)
        vma.end = addr
        i = self.vmas.index(vma) + 1
        self.vmas.insert(i, tail)
        self._starts.insert(i, addr)

    @property
    def total_vm(self):
        return sum(v.size for v in self.vmas) >> PAGE_SHIFT

    def _update_hiwater(self):
        self.hiwater_vm = max(self.hiwater_vm, self.total_vm)
        self.hiwater_rss = max(self.hiwater_rss, self.rss_anon + self.rss_file)

    # ---------------------------------------------------------- page tables
    def _table(self, level, prefix, create):
        key = (level, prefix)
        table = self.tables.get(key)
        if table is None and create:
            table = self.tables[key] = {}
            if level:                                   # PUD, PMD, PTE tables: one page each
                page = self.machine.alloc_pages(0, "GFP_KERNEL")
                self.pt_pages.append(page)
                self.table_pfn[key] = page.pfn
        return table

    def _map(self, vaddr, pfn, writable, executable, kind="anon"):
        """Install a PTE (allocating missing tables on the way down). ``kind``
        says whether the frame is an anonymous page or a page-cache page."""
        idx = pgtable_indices(vaddr)
        prefix = 0
        for level in range(3):
            table = self._table(level, prefix, create=True)
            child_prefix = (prefix << 9) | idx[level]
            if idx[level] not in table:
                self._table(level + 1, child_prefix, create=True)
                table[idx[level]] = ("table", child_prefix)
            prefix = child_prefix
        pte_table = self._table(3, prefix, create=True)
        flags = _P | _US | _A | (_RW | _D if writable else 0) | (0 if executable else _NX)
        pte_table[idx[3]] = ("page", pfn, flags, kind)

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

    def _unmap(self, vaddr):
        """Clear a PTE; returns the pfn it mapped, or None."""
        table, i = self._pte_table(vaddr)
        entry = table.pop(i, None) if table else None
        return entry[1] if entry else None

    def _lookup_pte(self, vaddr):
        table, i = self._pte_table(vaddr)
        return table.get(i) if table else None

    def _set_pte_writable(self, vaddr, writable, executable, shared):
        entry = self._lookup_pte(vaddr)
        if entry:
            # a page-cache page in a private mapping stays read-only: a write must copy it first (COW)
            self._map(vaddr, entry[1], writable and (entry[3] == "anon" or shared), executable, entry[3])

    def walk(self, vaddr):
        """The 4-level page walk of ``vaddr`` as the MMU does it: a list of
        dicts ``{level, index, table_pfn, entry, present}`` and the result
        ``{"phys": ...}`` or ``{"fault": reason}``. Kernel addresses are
        walked in the kernel's shared upper half (direct map with 1 GiB
        pages, vmalloc space with 4 KiB pages)."""
        if vaddr.__class__ is not int or not 0 <= vaddr < 1 << 64:
            raise BadSize(f"address {vaddr!r} is not a 64-bit address")
        steps = []
        if not _canonical(vaddr):
            return steps, {"fault": f"{vaddr:#x} is non-canonical (bits 63-47 must all equal bit 47): #GP"}
        idx = pgtable_indices(vaddr)
        if vaddr >> 47:
            return self.machine.kernel.walk(vaddr, self.pgd.pfn)
        prefix = 0
        for level in range(4):
            table = self.tables.get((level, prefix))
            table_pfn = self.table_pfn.get((level, prefix))
            entry = table.get(idx[level]) if table else None
            if entry is None:
                steps.append({"level": LEVELS[level], "index": idx[level], "table_pfn": table_pfn, "entry": 0,
                              "present": False})
                vma = self.find_vma(vaddr)
                why = ("not present: no mapping at this address (SEGV_MAPERR on access)" if vma is None else
                       f"not present yet: the address is in {vma!r}; the first access takes a page fault "
                       f"and the kernel fills the entry (demand paging)")
                return steps, {"fault": f"{LEVELS[level]} entry {idx[level]} {why}"}
            if entry[0] == "table":
                child = self.table_pfn[(level + 1, entry[1])]
                value = (child << PAGE_SHIFT) | _P | _RW | _US | _A
                steps.append({"level": LEVELS[level], "index": idx[level], "table_pfn": table_pfn, "entry": value,
                              "present": True})
                prefix = entry[1]
            else:
                _, pfn, flags, _kind = entry
                value = (pfn << PAGE_SHIFT) | flags
                steps.append({"level": LEVELS[level], "index": idx[level], "table_pfn": table_pfn, "entry": value,
                              "present": True})
                return steps, {"phys": (pfn << PAGE_SHIFT) | idx[4], "pfn": pfn, "flags": flags}
        raise AssertionError("unreachable")


class Process:
    """A simulated user process: ``pid``, ``name``, ``mm`` and the
    system calls and memory accesses a C program makes. Create one with
    :meth:`memlab.Machine.spawn`."""

    _next_pid = 1000

    def __init__(self, machine, name="a.out", text=0x2000, data=0x1000, bss=0x2000, symbols=None, aslr=False,
                 seed=0, pie=True):
        for label, value in (("text", text), ("data", data), ("bss", bss)):
            if value.__class__ is not int or value < 0:
                raise BadSize(f"spawn: {label} size {value!r} must be an int >= 0")
        self.machine = machine
        self.name = name
        self.pid = Process._next_pid
        Process._next_pid += 1
        self.ppid = 1
        self.aslr = aslr
        self.seed = seed
        self.mm = mm = MmStruct(machine, self)
        rng = random.Random(seed)
        page = PAGE_SIZE
        load = ELF_ET_DYN_BASE if pie else 0x400000
        if aslr and pie:
            load += rng.randrange(1 << 28) << PAGE_SHIFT           # arch_mmap_rnd(): 28 random bits of pages
        self.exe = File(f"/home/student/{name}", text + data)
        text_pages = -(-max(text, 1) // page) * page
        data_pages = -(-max(data, 1) // page) * page
        mm.start_code, mm.end_code = load, load + text
        mm.start_data, mm.end_data = load + text_pages, load + text_pages + data
        self.segments = {"TEXT": (load, load + text), "DATA": (mm.start_data, mm.end_data)}
        mm._insert(Vma(load, load + text_pages, VM_READ | VM_EXEC, self.exe, 0))
        mm._insert(Vma(mm.start_data, mm.start_data + data_pages, VM_READ | VM_WRITE, self.exe,
                       text_pages >> PAGE_SHIFT))
        bss_start = mm.end_data
        bss_end = bss_start + bss
        self.segments["BSS"] = (bss_start, bss_end)
        extra = -(-bss_end // page) * page
        if extra > mm.start_data + data_pages:                       # bss beyond the data pages: anonymous
            mm._insert(Vma(mm.start_data + data_pages, extra, VM_READ | VM_WRITE))
        brk = -(-bss_end // page) * page
        if aslr:
            brk += rng.randrange(0x02000000 >> PAGE_SHIFT) << PAGE_SHIFT    # randomize_va_space=2: brk offset
        mm.start_brk = mm.brk = brk
        self.segments["HEAP"] = (brk, brk)
        gap = max(MMAP_GAP_MIN, RLIMIT_STACK)
        stack_top = STACK_TOP
        if aslr:
            stack_top -= rng.randrange(1 << 22) << PAGE_SHIFT           # stack randomisation (22 bits of pages)
        mm.mmap_base = (STACK_TOP - gap - ((rng.randrange(1 << 28) << PAGE_SHIFT) if aslr else 0)) & ~(page - 1)
        mm.start_stack = stack_top - 0x1000
        mm._insert(Vma(stack_top - INITIAL_STACK, stack_top, VM_READ | VM_WRITE | VM_GROWSDOWN, name="[stack]"))
        self.segments["STACK"] = (stack_top - INITIAL_STACK, stack_top)
        vvar = self._find_gap(6 * page)
        mm._insert(Vma(vvar, vvar + 4 * page, VM_READ, name="[vvar]"))
        mm._insert(Vma(vvar + 4 * page, vvar + 6 * page, VM_READ | VM_EXEC, name="[vdso]"))
        self.symbols = {}
        for sym, (segment, offset) in (symbols or {}).items():
            base = self.segments[segment][0]
            self.symbols[sym] = (segment, base + offset)
        mm._update_hiwater()

    def __repr__(self):
        return f"<Process {self.pid} {self.name}: {len(self.mm.vmas)} VMAs, RSS {self.rss_kb} kB>"

    @property
    def rss_kb(self):
        return (self.mm.rss_anon + self.mm.rss_file) << (PAGE_SHIFT - 10)

    def segment_of(self, addr):
        """Which segment (TEXT, DATA, BSS, HEAP, MMAP, STACK, vdso, kernel...) holds ``addr``."""
        mm = self.mm
        if addr >= TASK_SIZE_MAX:
            for start, end, name in X86_64_LAYOUT:
                if start <= addr <= end:
                    return "kernel: " + name
        for seg in ("TEXT", "DATA", "BSS"):
            s, e = self.segments[seg]
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
        if high - length >= 0x10000:                      # mmap_min_addr
            return high - length
        raise SyscallError("ENOMEM", f"no free gap of {format_size(length)} in the address space")

    def brk(self, new_brk=None):
        """``brk(addr)``: move the end of the heap; returns the new break
        (the old one when the request is refused, as the syscall does).
        Kernel: mm/mmap.c SYSCALL_DEFINE1(brk) -> do_brk_flags()."""
        mm = self.mm
        if new_brk is None or new_brk < mm.start_brk:
            return mm.brk
        if new_brk.__class__ is not int:
            raise BadSize(f"brk({new_brk!r}): give an address")
        old_end = -(-mm.brk // PAGE_SIZE) * PAGE_SIZE
        new_end = -(-new_brk // PAGE_SIZE) * PAGE_SIZE
        if new_end > old_end:
            nxt = next((v for v in mm.vmas if v.start >= old_end), None)
            if nxt is not None and nxt.start < new_end + (STACK_GUARD_GAP if nxt.flags & VM_GROWSDOWN else 0):
                return mm.brk                              # would collide: brk fails, break unchanged
            heap = mm.find_vma(old_end - 1) if old_end > mm.start_brk else None
            if heap is not None and heap.file is None and heap.flags == VM_READ | VM_WRITE:
                heap.end = new_end
                mm._merge_around(heap)
            else:
                mm._insert(Vma(old_end, new_end, VM_READ | VM_WRITE))
        elif new_end < old_end:
            self._unmap_range(new_end, old_end)
        mm.brk = new_brk
        self.segments["HEAP"] = (mm.start_brk, new_brk)
        mm._update_hiwater()
        return mm.brk

    def sbrk(self, increment):
        """glibc sbrk(): grow the heap by ``increment`` bytes; returns the old break."""
        old = self.mm.brk
        if self.brk(old + increment) != old + increment:
            raise SyscallError("ENOMEM", f"sbrk({increment}): the heap cannot grow there")
        return old

    def mmap(self, addr=None, length=PAGE_SIZE, prot=PROT_READ | PROT_WRITE, flags=MAP_PRIVATE | MAP_ANONYMOUS,
             file=None, offset=0):
        """``mmap(addr, length, prot, flags, fd, offset)``: a new mapping;
        returns its start. Kernel: mm/mmap.c do_mmap()."""
        if length.__class__ is not int or length <= 0:
            raise SyscallError("EINVAL", f"mmap: length {length!r} must be > 0")
        if not flags & (MAP_SHARED | MAP_PRIVATE) or flags & MAP_SHARED and flags & MAP_PRIVATE:
            raise SyscallError("EINVAL", "mmap: flags need exactly one of MAP_SHARED and MAP_PRIVATE")
        if offset % PAGE_SIZE:
            raise SyscallError("EINVAL", f"mmap: offset {offset:#x} is not page aligned")
        if file is None and not flags & MAP_ANONYMOUS:
            raise SyscallError("EBADF", "mmap: no file given and MAP_ANONYMOUS not set")
        length = -(-length // PAGE_SIZE) * PAGE_SIZE
        if flags & MAP_FIXED:
            if addr is None or addr % PAGE_SIZE:
                raise SyscallError("EINVAL", f"mmap: MAP_FIXED address {addr!r} must be page aligned")
            if not access_ok(addr, length):
                raise SyscallError("ENOMEM", f"mmap: {addr:#x}+{length:#x} reaches beyond user space "
                                             f"(TASK_SIZE {TASK_SIZE_MAX:#x}): the kernel half is not yours")
            self._unmap_range(addr, addr + length)
            start = addr
        else:
            start = None
            if addr is not None and addr % PAGE_SIZE == 0 and access_ok(addr, length):
                if all(self.mm.find_vma(a) is None for a in range(addr, addr + length, PAGE_SIZE)):
                    start = addr                           # the hint is free: use it
            if start is None:
                start = self._find_gap(length)
        vm_flags = (VM_READ if prot & PROT_READ else 0) | (VM_WRITE if prot & PROT_WRITE else 0) | \
                   (VM_EXEC if prot & PROT_EXEC else 0) | (VM_MAYSHARE | VM_SHARED if flags & MAP_SHARED else 0)
        vma = Vma(start, start + length, vm_flags, None if flags & MAP_ANONYMOUS else file,
                  0 if flags & MAP_ANONYMOUS else offset >> PAGE_SHIFT)
        self.mm._insert(vma)
        self.mm._update_hiwater()
        return start

    def _check_range(self, what, addr, length):
        if addr.__class__ is not int or addr % PAGE_SIZE:
            shown = f"{addr:#x}" if addr.__class__ is int else repr(addr)
            raise SyscallError("EINVAL", f"{what}: address {shown} is not page aligned")
        if length.__class__ is not int or length <= 0:
            raise SyscallError("EINVAL", f"{what}: length {length!r} must be > 0")
        if not access_ok(addr, length):
            raise SyscallError("EINVAL", f"{what}: {addr:#x}+{length:#x} is not in user space")

    def munmap(self, addr, length):
        """``munmap(addr, length)``: remove mappings in the range (splitting
        VMAs at the edges). Kernel: mm/vma.c do_vmi_munmap()."""
        self._check_range("munmap", addr, length)
        end = addr + (-(-length // PAGE_SIZE) * PAGE_SIZE)
        self._unmap_range(addr, end)
        return 0

    def _unmap_range(self, start, end):
        mm = self.mm
        mm._split(start)
        mm._split(end)
        for vma in [v for v in mm.vmas if start <= v.start and v.end <= end]:
            for page_addr in range(vma.start, vma.end, PAGE_SIZE):
                entry = mm._lookup_pte(page_addr)
                if entry is not None:
                    mm._unmap(page_addr)
                    if entry[3] == "anon":
                        mm.rss_anon -= 1
                        self.machine.free_pages(entry[1], 0)
                    else:
                        mm.rss_file -= 1           # the page stays in the page cache
            mm._remove(vma)

    def mprotect(self, addr, length, prot):
        """``mprotect(addr, length, prot)``: change protections, splitting
        and re-merging VMAs; ENOMEM if part of the range is unmapped.
        Kernel: mm/mprotect.c do_mprotect_pkey() -> mprotect_fixup()."""
        self._check_range("mprotect", addr, length)
        end = addr + (-(-length // PAGE_SIZE) * PAGE_SIZE)
        mm = self.mm
        for a in range(addr, end, PAGE_SIZE):
            if mm.find_vma(a) is None:
                raise SyscallError("ENOMEM", f"mprotect: {a:#x} in the range is not mapped")
        mm._split(addr)
        mm._split(end)
        new = (VM_READ if prot & PROT_READ else 0) | (VM_WRITE if prot & PROT_WRITE else 0) | \
              (VM_EXEC if prot & PROT_EXEC else 0)
        for vma in [v for v in mm.vmas if addr <= v.start and v.end <= end]:
            vma.flags = (vma.flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | new
            for page_addr in range(vma.start, vma.end, PAGE_SIZE):
                mm._set_pte_writable(page_addr, bool(new & VM_WRITE), bool(new & VM_EXEC),
                                     bool(vma.flags & VM_MAYSHARE))
        for vma in [v for v in mm.vmas if addr <= v.start and v.end <= end]:
            if vma in mm.vmas:
                mm._merge_around(vma)
        for vma in list(mm.vmas):                          # the neighbours may merge now too
            if vma in mm.vmas:
                mm._merge_around(vma)
        return 0

    # --------------------------------------------------------- memory access
    def touch(self, addr, write=False, execute=False):
        """One user-mode (ring 3) access to ``addr``: walks the page tables,
        and on a miss takes a page fault as the kernel does (demand paging:
        a zeroed anonymous page or a file page; stack growth). Returns
        ``"hit"``, ``"minor"`` or ``"major"``. Raises
        :class:`SegmentationFault` for a kernel address, an unmapped address
        or a forbidden access. Kernel: arch/x86/mm/fault.c do_user_addr_fault()
        -> mm/memory.c handle_mm_fault()."""
        if addr.__class__ is not int or addr < 0:
            raise BadSize(f"address {addr!r} must be an int >= 0")
        if addr >= TASK_SIZE_MAX:
            raise SegmentationFault(addr, "SEGV_MAPERR" if not _canonical(addr) or addr < 1 << 47 else
                                    "SEGV_ACCERR",
                                    "user mode (ring 3) may not touch the kernel half: the page-table entries "
                                    "there have the U/S bit clear, so the MMU raises a page fault with the "
                                    "user bit set")
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
        entry = mm._lookup_pte(page_addr)
        private_file = vma.file is not None and not vma.flags & VM_MAYSHARE
        if entry is not None:
            if write and not entry[2] & _RW:                 # write to a read-only PTE in a writable VMA
                self._cow(vma, page_addr, entry[1])
                mm.min_flt += 1
                mm._update_hiwater()
                return "minor"
            return "hit"
        if vma.file is None:
            page = self.machine.alloc_pages(0, "GFP_HIGHUSER_MOVABLE")
            self.machine.mem.write(page.pfn << PAGE_SHIFT, bytes(PAGE_SIZE))      # zeroed
            mm._map(page_addr, page.pfn, bool(vma.flags & VM_WRITE), bool(vma.flags & VM_EXEC))
            mm.rss_anon += 1
            kind = "minor"
        else:
            index = vma.pgoff + ((page_addr - vma.start) >> PAGE_SHIFT)
            pfn = vma.file.page_cache.get(index)
            kind = "minor"
            if pfn is None:
                page = self.machine.alloc_pages(0, "GFP_HIGHUSER_MOVABLE")
                pfn = page.pfn
                vma.file.page_cache[index] = pfn
                kind = "major"                              # read from disk
            if write and private_file:                      # do_cow_fault(): a private copy at once
                mm.rss_file += 1
                mm._map(page_addr, pfn, False, bool(vma.flags & VM_EXEC), "file")
                self._cow(vma, page_addr, pfn)
            else:
                mm._map(page_addr, pfn, bool(vma.flags & VM_WRITE) and bool(vma.flags & VM_MAYSHARE),
                        bool(vma.flags & VM_EXEC), "file")
                mm.rss_file += 1
        if kind == "major":
            mm.maj_flt += 1
        else:
            mm.min_flt += 1
        mm._update_hiwater()
        return kind

    def _cow(self, vma, page_addr, old_pfn):
        """Copy-on-write (mm/memory.c wp_page_copy()): a private copy of a
        page-cache page, mapped writable; RSS moves from file to anon."""
        mm = self.mm
        page = self.machine.alloc_pages(0, "GFP_HIGHUSER_MOVABLE")
        self.machine.mem.write(page.pfn << PAGE_SHIFT, self.machine.mem.read(old_pfn << PAGE_SHIFT, PAGE_SIZE))
        mm._map(page_addr, page.pfn, True, bool(vma.flags & VM_EXEC), "anon")
        mm.rss_file -= 1
        mm.rss_anon += 1

    def _maybe_expand_stack(self, addr):
        """expand_stack(): an access just below [stack] grows it, within
        RLIMIT_STACK and keeping stack_guard_gap to the mapping below."""
        mm = self.mm
        stack = next((v for v in mm.vmas if v.flags & VM_GROWSDOWN), None)
        if stack is None or addr >= stack.start:
            return None
        new_start = addr & ~(PAGE_SIZE - 1)
        if stack.end - new_start > RLIMIT_STACK:
            return None
        below = [v for v in mm.vmas if v.end <= stack.start]
        if below and new_start - below[-1].end < STACK_GUARD_GAP:
            return None
        i = mm.vmas.index(stack)
        stack.start = new_start
        mm._starts[i] = new_start
        mm._update_hiwater()
        return stack

    def read(self, addr, n):
        """User-mode read of ``n`` bytes (faults pages in)."""
        out = bytearray()
        while n > 0:
            self.touch(addr)
            take = min(n, PAGE_SIZE - (addr & 0xFFF))
            entry = self.mm._lookup_pte(addr & ~0xFFF)
            out += self.machine.mem.read((entry[1] << PAGE_SHIFT) | (addr & 0xFFF), take)
            addr += take
            n -= take
        return bytes(out)

    def write(self, addr, data):
        """User-mode write of ``data`` (faults pages in)."""
        data = bytes(data)
        pos = 0
        while pos < len(data):
            self.touch(addr, write=True)
            take = min(len(data) - pos, PAGE_SIZE - (addr & 0xFFF))
            entry = self.mm._lookup_pte(addr & ~0xFFF)
            self.machine.mem.write((entry[1] << PAGE_SHIFT) | (addr & 0xFFF), data[pos:pos + take])
            addr += take
            pos += take

    # -------------------------------------------------------------- uaccess
    def copy_from_user(self, to, from_, n):
        """Kernel copy_from_user(to, from, n): copy ``n`` bytes from this
        process's user address ``from_`` to the kernel (direct-map) address
        ``to``. Returns the number of bytes NOT copied (0 on success); stops at
        the first page it cannot read and zero-fills the rest of the kernel
        buffer. Fails entirely (returns ``n``) when access_ok() fails."""
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

    def copy_to_user(self, to, from_, n):
        """Kernel copy_to_user(to, from, n): copy ``n`` bytes from the kernel
        address ``from_`` to this process's user address ``to``; returns the
        bytes not copied (stops at the first page it cannot write)."""
        if not access_ok(to, n):
            return n
        data = self.machine.read(from_, n)
        done = 0
        while done < n:
            addr = to + done
            take = min(n - done, PAGE_SIZE - (addr & 0xFFF))
            try:
                self.write(addr, data[done:done + take])
            except SegmentationFault:
                return n - done
            done += take
        return 0

    def exit(self):
        """Tear the address space down: every page and page table goes back."""
        self._unmap_range(0, TASK_SIZE_MAX)
        for page in self.mm.pt_pages:
            self.machine.free_pages(page, 0)
        self.mm.pt_pages.clear()
        self.machine.free_pages(self.mm.pgd, 0)
        self.machine.processes.pop(self.pid, None)


class KernelSpace:
    """The kernel half of every address space (x86-64): the direct map
    (1 GiB pages), vmalloc space (4 KiB pages from scattered frames, a guard
    page after each area), ioremap of device registers."""

    def __init__(self, machine):
        self.machine = machine
        self.vmap_areas = []            # (start, size_with_guard, pfns or ('io', phys), kind)
        self._next = VMALLOC_START
        self._pte = {}                  # vmalloc page address -> pfn (or io phys >> 12)

    def vmalloc(self, size):
        """Kernel: mm/vmalloc.c vmalloc(): ``size`` bytes, virtually
        contiguous, from order-0 pages wherever they are free; the answer to
        requests above 4 MiB. Returns the address."""
        if size.__class__ is not int or size <= 0:
            raise BadSize(f"vmalloc: size {size!r} must be an int > 0")
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
        self._next += (pages + 1) * PAGE_SIZE                  # plus a guard page
        for i, page in enumerate(got):
            self._pte[start + i * PAGE_SIZE] = page.pfn
        self.vmap_areas.append((start, (pages + 1) * PAGE_SIZE, [p.pfn for p in got], "vmalloc"))
        return start

    def vfree(self, addr):
        """Kernel: vfree(): unmap the area and free its pages."""
        for i, (start, size, pfns, kind) in enumerate(self.vmap_areas):
            if start == addr and kind == "vmalloc":
                for j, pfn in enumerate(pfns):
                    del self._pte[start + j * PAGE_SIZE]
                    self.machine.free_pages(pfn, 0)
                del self.vmap_areas[i]
                return
        raise SyscallError("EINVAL", f"vfree: {addr!r} is not the start of a vmalloc area")

    def ioremap(self, phys_addr, size):
        """Kernel: ioremap(): map device registers (physical addresses
        outside RAM, e.g. a PCI BAR) into vmalloc space, uncached."""
        if phys_addr < self.machine.ram and phys_addr + size > 0:
            raise SyscallError("EINVAL", f"ioremap: {phys_addr:#x} is RAM; ioremap is for device memory (MMIO), "
                                         f"RAM is already in the direct map")
        pages = -(-((phys_addr & 0xFFF) + size) // PAGE_SIZE)
        start = self._next
        self._next += (pages + 1) * PAGE_SIZE
        base = phys_addr >> PAGE_SHIFT
        for i in range(pages):
            self._pte[start + i * PAGE_SIZE] = base + i
        self.vmap_areas.append((start, (pages + 1) * PAGE_SIZE, ("io", phys_addr), "ioremap"))
        return start + (phys_addr & 0xFFF)

    def walk(self, vaddr, pgd_pfn):
        idx = pgtable_indices(vaddr)
        steps = [{"level": "PGD", "index": idx[0], "table_pfn": pgd_pfn, "entry": 0, "present": False}]
        if PAGE_OFFSET <= vaddr < PAGE_OFFSET + self.machine.ram:
            phys = vaddr - PAGE_OFFSET
            steps[0].update(entry=(1 << PAGE_SHIFT) | _P | _RW | _A, present=True)
            gib = phys >> 30
            steps.append({"level": "PUD", "index": idx[1], "table_pfn": None, "entry": (gib << 30) | _P | _RW | _A |
                          _D | _PS | _NX, "present": True, "huge": "1 GiB page (PS bit): the walk ends here"})
            return steps, {"phys": phys, "pfn": phys >> PAGE_SHIFT, "flags": _P | _RW | _PS | _NX,
                           "note": "direct map: __pa(vaddr) = vaddr - PAGE_OFFSET"}
        page_addr = vaddr & ~0xFFF
        if VMALLOC_START <= vaddr <= VMALLOC_END and page_addr in self._pte:
            pfn = self._pte[page_addr]
            steps[0].update(entry=(2 << PAGE_SHIFT) | _P | _RW | _A, present=True)
            steps.append({"level": "PUD", "index": idx[1], "table_pfn": None, "entry": (3 << PAGE_SHIFT) | 0x23,
                          "present": True})
            steps.append({"level": "PMD", "index": idx[2], "table_pfn": None, "entry": (4 << PAGE_SHIFT) | 0x23,
                          "present": True})
            steps.append({"level": "PTE", "index": idx[3], "table_pfn": None,
                          "entry": (pfn << PAGE_SHIFT) | _P | _RW | _A | _D | _NX, "present": True})
            return steps, {"phys": (pfn << PAGE_SHIFT) | idx[4], "pfn": pfn, "flags": _P | _RW | _NX,
                           "note": "vmalloc space: 4 KiB pages, physically scattered"}
        for start, end, name in X86_64_LAYOUT:
            if start <= vaddr <= end:
                where = name
                break
        return steps, {"fault": f"kernel address in '{where}' with no mapping here: in ring 0 this is an oops "
                                f"(unable to handle page fault)"}


class I386Machine:
    """The 32-bit picture x86-64 no longer needs: 3G/1G split, only 896 MiB
    of RAM direct-mapped (lowmem), the rest ZONE_HIGHMEM, reached through
    temporary windows: ``kmap(pfn)`` maps a highmem page into the PKMAP
    window (1024 slots), ``kunmap`` releases it. Kernel: mm/highmem.c."""

    def __init__(self, ram="2GiB"):
        from .units import parse_size

        self.ram = parse_size(ram)
        self.nr_pages = self.ram >> PAGE_SHIFT
        self.lowmem_pages = min(self.nr_pages, I386_MAXMEM >> PAGE_SHIFT)
        self.pkmap = [None] * I386_LAST_PKMAP      # slot -> pfn
        self.pkmap_count = [0] * I386_LAST_PKMAP
        self.layout = I386_LAYOUT

    @property
    def zones(self):
        z = {"DMA": (0, min(self.nr_pages, 4096)), "Normal": (4096, self.lowmem_pages)}
        if self.nr_pages > self.lowmem_pages:
            z["HighMem"] = (self.lowmem_pages, self.nr_pages)
        return z

    def is_highmem(self, pfn):
        return pfn >= self.lowmem_pages

    def kmap(self, pfn):
        """Kernel: kmap(): a lowmem page has a permanent address
        (PAGE_OFFSET + phys); a highmem page gets a PKMAP slot."""
        if pfn.__class__ is not int or not 0 <= pfn < self.nr_pages:
            raise BadSize(f"kmap: pfn {pfn!r} is not RAM (0..{self.nr_pages - 1})")
        if not self.is_highmem(pfn):
            return I386_PAGE_OFFSET + (pfn << PAGE_SHIFT)
        if pfn in self.pkmap:
            slot = self.pkmap.index(pfn)
        else:
            try:
                slot = self.pkmap.index(None)
            except ValueError:
                raise SyscallError("EAGAIN", "kmap: all 1024 PKMAP slots are in use; the caller would sleep "
                                             "until a kunmap()") from None
            self.pkmap[slot] = pfn
        self.pkmap_count[slot] += 1
        return I386_PKMAP_BASE + (slot << PAGE_SHIFT)

    def kunmap(self, pfn):
        """Kernel: kunmap(): release a PKMAP mapping of a highmem page."""
        if not self.is_highmem(pfn):
            return
        if pfn not in self.pkmap:
            raise SyscallError("EINVAL", f"kunmap: pfn {pfn} is not kmapped")
        slot = self.pkmap.index(pfn)
        self.pkmap_count[slot] -= 1
        if self.pkmap_count[slot] == 0:
            self.pkmap[slot] = None

