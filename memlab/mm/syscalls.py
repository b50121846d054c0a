"""A process's file system calls: ``p.sys.open``, ``read``, ``write``,
``lseek``, ``close`` on simulated files, with the kernel's copies between
the page cache and the user's buffer.

Kernel (Linux 6.12): fs/read_write.c ``ksys_read()``/``vfs_read()`` and
``vfs_write()`` (``access_ok(buf, count)`` first: -EFAULT; ``count`` capped
at MAX_RW_COUNT), mm/filemap.c ``filemap_read()`` (for each page-cache page
``copy_folio_to_iter()``, which is ``copy_to_user()``: a short copy ends the
read, and the result is ``already_read ? already_read : -EFAULT``) and
``generic_perform_write()`` (per page of the file: ``fault_in_iov_iter_
readable()`` then ``copy_folio_from_iter_atomic()``; the bytes before the
first user page that cannot be read are written, and the result is
``written ? written : -EFAULT``). So a buffer that runs into an unmapped page
gives a short count, one that starts in it ``EFAULT``; examples/short_copy.c
shows the same on the host.

Errors raise :class:`memlab.errors.SyscallError` with the kernel's errno
name (what the C library turns into -1 and ``errno``); a short count is
returned as the kernel returns it.

Simplifications: every file is a regular file in the page cache (no
O_DIRECT, pipes, sockets or terminals; fds 0-2 are not modelled); pages are
read from the file's data on first use; writes go to the page cache and
mark its pages dirty (``file.dirty``), never to the "disk"; no readahead,
no O_APPEND, no file locking or permissions.
"""

from __future__ import annotations

from ..errors import BadSize, SegmentationFault, SyscallError, reject
from ..layout import phys_to_virt
from ..units import PAGE_SHIFT, PAGE_SIZE
from .user_layout import access_ok
from .vma import File

__all__ = ["Files", "OpenFile", "MAX_RW_COUNT", "SEEK_SET", "SEEK_CUR", "SEEK_END"]

MAX_RW_COUNT = 0x7FFFF000  # INT_MAX & PAGE_MASK: the most one read or write moves
SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2


class OpenFile:
    """``struct file``: the file and the position ``pos`` (f_pos)."""

    __slots__ = ("file", "pos")

    def __init__(self, file):
        self.file = file
        self.pos = 0

    def __repr__(self):
        return f"<open {self.file.name} at {self.pos}>"


class Files:
    """The file table of one process and the calls that use it."""

    def __init__(self, process):
        self.process = process
        self.fds: dict[int, OpenFile] = {}

    def _of(self, fd, call):
        of = self.fds.get(fd) if fd.__class__ is int else None
        if of is None:
            raise SyscallError("EBADF", f"{call}: fd {fd!r} is not open in {self.process.name}")
        return of

    def _count(self, call, buf, count):
        for label, value in (("buf", buf), ("count", count)):
            if value.__class__ is not int or value < 0:
                raise reject(BadSize, value, f"{call}: {label} {value!r} must be an int >= 0")
        count = min(count, MAX_RW_COUNT)
        if not access_ok(buf, count):
            raise SyscallError("EFAULT", f"{call}: the buffer {buf:#x}+{count} is not in user space (access_ok)")
        return count

    def open(self, file: File) -> int:
        """``open()``: the lowest free descriptor from 3 (0-2 are the
        terminal's, not modelled), positioned at 0."""
        if not isinstance(file, File):
            raise BadSize(f"open: {file!r} is not a memlab File (make one with machine.create_file)")
        if file.inode is None:
            file.inode = self.process.machine.alloc_inode()
        vfs = getattr(self.process.machine, "vfs", None)
        if vfs is not None:  # the path walk: the file's dentry and inode in the caches
            vfs.lookup(file)
        fd = 3
        while fd in self.fds:
            fd += 1
        self.fds[fd] = OpenFile(file)
        return fd

    def close(self, fd: int) -> int:
        self._of(fd, "close")
        del self.fds[fd]
        return 0

    def lseek(self, fd: int, offset: int, whence: int = SEEK_SET) -> int:
        """``lseek()``: the new position (past the end is allowed)."""
        of = self._of(fd, "lseek")
        base = {SEEK_SET: 0, SEEK_CUR: of.pos, SEEK_END: of.file.size}.get(whence)
        if base is None or offset.__class__ is not int or base + offset < 0:
            raise SyscallError("EINVAL", f"lseek(fd {fd}, {offset!r}, whence {whence!r}): bad offset or whence")
        of.pos = base + offset
        return of.pos

    def read(self, fd: int, buf: int, count: int) -> int:
        """``read(fd, buf, count)``: bytes read (0 at end of file), fewer
        than asked when the buffer runs into a page the process cannot
        write; EFAULT when not one byte could be copied."""
        of = self._of(fd, "read")
        count = self._count("read", buf, count)
        file, p = of.file, self.process
        end = min(of.pos + count, file.size)
        already_read = 0
        while of.pos < end:
            offset = of.pos & (PAGE_SIZE - 1)
            nbytes = min(PAGE_SIZE - offset, end - of.pos)
            pfn, _ = file.cache_page(p.machine, of.pos >> PAGE_SHIFT)
            file.mark_accessed(of.pos >> PAGE_SHIFT)  # (filemap_read())
            copied = nbytes - p.copy_to_user(buf + already_read, phys_to_virt((pfn << PAGE_SHIFT) + offset), nbytes)
            already_read += copied
            of.pos += copied
            if copied < nbytes:
                break
        if already_read == 0 and count and of.pos < file.size:
            raise SyscallError("EFAULT", f"read: no byte of {buf:#x}+{count} can be written by {p.name}")
        return already_read

    def write(self, fd: int, buf: int, count: int) -> int:
        """``write(fd, buf, count)``: bytes written into the page cache (the
        file grows past its end), fewer than asked when the buffer runs into
        a page the process cannot read; EFAULT when not one byte could be."""
        of = self._of(fd, "write")
        count = self._count("write", buf, count)
        file, p = of.file, self.process
        written = 0
        while written < count:
            offset = of.pos & (PAGE_SIZE - 1)
            nbytes = min(PAGE_SIZE - offset, count - written)
            data = self._user_bytes(buf + written, nbytes)
            if not data:
                break
            pfn, _ = file.cache_page(p.machine, of.pos >> PAGE_SHIFT)
            file.mark_accessed(of.pos >> PAGE_SHIFT)  # (FGP_ACCESSED in write_begin)
            p.machine.mem.write((pfn << PAGE_SHIFT) + offset, data)
            if of.pos >> PAGE_SHIFT not in file.dirty:  # (folio_mark_dirty(): counted once per page)
                p.machine.vm_events["nr_dirtied"] += 1
                file.dirty.add(of.pos >> PAGE_SHIFT)
            of.pos += len(data)
            written += len(data)
            file.size = max(file.size, of.pos)
            if len(data) < nbytes:
                break
        if written == 0 and count:
            raise SyscallError("EFAULT", f"write: no byte of {buf:#x}+{count} can be read from {p.name}")
        return written

    def _user_bytes(self, addr, n):
        """The user bytes a copy_from_user() gets before the first page it
        cannot read (the atomic copy of generic_perform_write())."""
        out = b""
        while len(out) < n:
            take = min(n - len(out), PAGE_SIZE - ((addr + len(out)) & (PAGE_SIZE - 1)))
            try:
                out += self.process.read(addr + len(out), take)
            except SegmentationFault:
                break
        return out
