"""Virtual memory areas and the files they map.

Kernel: include/linux/mm_types.h struct vm_area_struct, include/linux/mm.h
VM_* flags, include/uapi/asm-generic/mman-common.h PROT_* and MAP_*;
mm/vma.c is_mergeable_vma() (simplified in :meth:`Vma.can_merge_after`).
"""

from __future__ import annotations

from itertools import count

from ..errors import BadSize, reject
from ..units import PAGE_SHIFT, PAGE_SIZE

#: the order in which page-cache pages join an LRU list: a page's stamp (bigger is newer, nearer the
#: list's head; page reclaim, memlab.vmscan, takes the oldest first)
LRU_CLOCK = count(1)

__all__ = [
    "PROT_NONE",
    "PROT_READ",
    "PROT_WRITE",
    "PROT_EXEC",
    "MAP_SHARED",
    "MAP_PRIVATE",
    "MAP_FIXED",
    "MAP_ANONYMOUS",
    "VM_READ",
    "VM_WRITE",
    "VM_EXEC",
    "VM_SHARED",
    "VM_MAYSHARE",
    "VM_GROWSDOWN",
    "VM_STACK",
    "File",
    "Vma",
    "prot_to_vm_flags",
]

#: The default stack limit (ulimit -s 8192): how far [stack] may grow.
RLIMIT_STACK = 8 << 20
#: mm/mmap.c stack_guard_gap: 256 pages (1 MiB) kept free below a growing stack.
STACK_GUARD_GAP = 256 << 12

PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC = 0, 1, 2, 4
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
VM_READ, VM_WRITE, VM_EXEC, VM_SHARED = 0x1, 0x2, 0x4, 0x8
VM_MAYSHARE = 0x80
VM_GROWSDOWN = 0x100
VM_STACK = VM_GROWSDOWN


def prot_to_vm_flags(prot):
    """The VM_READ/VM_WRITE/VM_EXEC bits of a PROT_* mask (calc_vm_prot_bits())."""
    return (
        (VM_READ if prot & PROT_READ else 0)
        | (VM_WRITE if prot & PROT_WRITE else 0)
        | (VM_EXEC if prot & PROT_EXEC else 0)
    )


class File:
    """A file to map: ``name`` (path shown in /proc/pid/maps), ``size`` in
    bytes, ``inode`` number, device ``dev`` (major, minor). Its pages are
    read from "disk" on first touch (a major fault) and then stay in the page
    cache. Inode numbers belong to a machine: make files with
    :meth:`memlab.Machine.create_file`, or leave ``inode`` None and the
    machine gives one when the file is first mapped."""

    def __init__(self, name, size, inode=None, dev=(0xFE, 0x00), data=None):
        if size.__class__ is not int or size < 0:
            raise reject(BadSize, size, f"File({name!r}): size {size!r} must be an int >= 0")
        if data is not None:
            if not isinstance(data, (bytes, bytearray)):
                raise BadSize(f"File({name!r}): data must be bytes, not {type(data).__name__}")
            if len(data) > size:
                raise BadSize(f"File({name!r}): {len(data)} bytes of data do not fit in a file of {size} bytes")
        self.name = name
        self.size = size
        self.inode = inode
        self.dev = dev
        #: the file's contents on "disk" (None: all zeros), and the pages written back since (index -> 4096 bytes)
        self.data = bytes(data) if data is not None else None
        self.written: dict[int, bytes] = {}
        self.page_cache = {}  # file page index -> pfn
        self.dirty: set[int] = set()  # page indexes written since they were read (write(), not yet written back)
        # LRU state of the cached pages (folio_mark_accessed()): a page read or written once is
        # referenced, a second time active; the others are on the inactive list
        self.referenced: set[int] = set()
        self.active: set[int] = set()
        #: when each cached page last joined an LRU list (memlab.vmscan.LRU_CLOCK; reclaim takes the oldest)
        self.lru_stamp: dict[int, int] = {}

    def page_bytes(self, index):
        """The 4096 bytes of file page ``index`` as a read from disk fills
        the page cache: the file's data, zeros past its end (the kernel
        zeroes the tail of the last page and pages past i_size)."""
        if index in self.written:
            return self.written[index]
        start = index << 12
        chunk = self.data[start : start + 4096] if self.data is not None and start < self.size else b""
        return chunk + bytes(4096 - len(chunk))

    def disk_contents(self):
        """The file's ``size`` bytes as the disk holds them (what a read
        after dropping the page cache returns)."""
        pages = -(-self.size // PAGE_SIZE)
        return b"".join(self.page_bytes(i) for i in range(pages))[: self.size]

    def cache_page(self, machine, index):
        """The page-cache frame of file page ``index``: ``(pfn, read)``,
        ``read`` True when it had to be read from disk now (the kernel's
        filemap_get_folio() miss, then filemap_read_folio())."""
        pfn = self.page_cache.get(index)
        if pfn is not None:
            return pfn, False
        pfn = machine.alloc_pages(0, "GFP_HIGHUSER_MOVABLE").pfn
        # the frame gets the file's bytes (zeros past EOF), never what a freed page held
        # before: no data may leak from another process or the kernel
        machine.mem.write(pfn << PAGE_SHIFT, self.page_bytes(index))
        self.page_cache[index] = pfn
        self.lru_stamp[index] = next(LRU_CLOCK)
        cached = getattr(machine, "cached_files", None)
        if cached is not None:  # the machine's page cache: /proc/meminfo, drop_caches
            cached[id(self)] = self
            machine.vm_events["pgpgin"] += 4  # (KiB read from disk)
        return pfn, True

    def writeback(self, machine):
        """Write the dirty cached pages back to the "disk" (``data``) and
        mark them clean (the flusher's writeback, or ``sync()``); returns
        the pages written."""
        dirty = [i for i in self.dirty if i in self.page_cache]
        for index in dirty:
            self.written[index] = machine.mem.read(self.page_cache[index] << PAGE_SHIFT, PAGE_SIZE)
        self.dirty.clear()
        return len(dirty)

    def mark_accessed(self, index):
        """folio_mark_accessed() (mm/swap.c): the first access marks the
        cached page referenced, the second moves it to the active list."""
        if index in self.active:
            return
        if index in self.referenced:
            self.referenced.discard(index)
            self.active.add(index)
            self.lru_stamp[index] = next(LRU_CLOCK)  # to the head of the active list
        else:
            self.referenced.add(index)

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
        return (
            ("r" if f & VM_READ else "-")
            + ("w" if f & VM_WRITE else "-")
            + ("x" if f & VM_EXEC else "-")
            + ("s" if f & VM_MAYSHARE else "p")
        )

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
