"""MemorySanitizer on a simulated process: the use of a value never written.

:class:`MemorySanitizer` runs a program description as clang's
``-fsanitize=memory -fsanitize-memory-track-origins`` does: every byte has
a shadow bit "not yet written"; ``malloc``, ``new`` and ``new[]`` return
unwritten bytes (``calloc`` written ones: zeros), a write marks bytes
written, a local variable starts unwritten until set. Copying an unwritten
value is allowed (the shadow travels with it); *using* it (a branch on it,
a pointer made from it and dereferenced, a value passed to a system call)
is the bug: :meth:`MemorySanitizer.use` and :meth:`use_local` report
``use-of-uninitialized-value`` with the origin (the heap allocation, or the
variable's stack frame), in the layout clang 14's runtime prints
(compiler-rt lib/msan/msan_report.cpp ReportUMR/DescribeOrigin; checked
against examples/pitfalls/uninitialized_read.cpp and wild_pointer.cpp).

Deliberately simplified: the shadow is per byte, not per bit; values in
registers are not followed (the program says which bytes it uses); the
heap is the process's glibc heap (MSan has its own allocator); code
addresses are made up (see :mod:`.report`), the BuildId is derived from the
file name.
"""

from __future__ import annotations

import hashlib

from ..errors import BadSize, MemlabError, reject
from .asan import SanitizerError, whole
from .report import hex12

__all__ = ["MemorySanitizer"]

_ORIGIN = {"malloc": ("malloc", 0x56C90), "new": ("operator new(unsigned long)", 0xA94C9),
           "new[]": ("operator new[](unsigned long)", 0xA9599)}  # fmt: skip
_LIBC_BASE = 0x7FFFF7000000
MAX_BLOCK = 16 << 20
_CALL_MAIN = "csu/../sysdeps/nptl/libc_start_call_main.h:58:16"


class MemorySanitizer:
    """A program under ``-fsanitize=memory`` on a simulated process.

    Calls take ``line`` and ``col`` (clang's reports give both). Addresses
    are plain ints; :meth:`local` declares a variable, :meth:`set_local`
    writes it.
    """

    def __init__(self, file="prog.cpp", machine=None, name="a.out"):
        if machine is None:
            from ..machine import Machine

            machine = Machine(ram="256MiB")
        self.file = file
        self.process = machine.spawn(name)
        self.libc = self.process.libc
        self.blocks: dict[int, list] = {}  # address -> [size, kind, line, col, written bytearray]
        self.locals: dict[str, list] = {}  # name -> [value or None, function line]
        self.finding: SanitizerError | None = None
        self.build_id = hashlib.sha1(file.encode()).hexdigest()

    def _where(self, line, col):
        whole(line, "line", 1, why=f"in {self.file}")
        whole(col, "col", 1, why=f"in {self.file}")
        if self.finding is not None:
            raise MemlabError(f"line {line}: the program was stopped at line {self.finding.line} by MemorySanitizer")
        return f"{self.file}:{line}:{col}"

    def _alloc(self, size, kind, line, col, written=False):
        self._where(line, col)
        whole(size, f"{kind}: size", 0, MAX_BLOCK, why="16 MiB: a shadow byte per byte is kept in Python")
        addr = self.libc.malloc(size)
        self.blocks[addr] = [size, kind, line, col, bytearray(b"\x01" * size if written else size)]
        return addr

    def malloc(self, size, *, line, col=1):
        """``malloc(size)``: unwritten bytes."""
        return self._alloc(size, "malloc", line, col)

    def calloc(self, nmemb, size, *, line, col=1):
        """``calloc(nmemb, size)``: zeros, written."""
        whole(nmemb, "calloc: nmemb")
        whole(size, "calloc: size")
        addr = self._alloc(nmemb * size, "malloc", line, col, written=True)
        self.process.write(addr, bytes(nmemb * size))
        return addr

    def new(self, size, *, line, col=1):
        return self._alloc(size, "new", line, col)

    def new_array(self, size, *, line, col=1):
        return self._alloc(size, "new[]", line, col)

    def free(self, addr, *, line, col=1):
        """``free``/``delete``/``delete[]`` (MSan checks none of their pairing)."""
        self._where(line, col)
        whole(addr, "free: pointer", why="an address")
        if addr in self.blocks:
            del self.blocks[addr]
            self.libc.free(addr)
        elif addr != 0:
            raise MemlabError(f"free({addr:#x}) at line {line}: not a block of this program (MemorySanitizer "
                              "does not check frees; AddressSanitizer would)")  # fmt: skip

    def _block(self, addr, size):
        whole(addr, "address")
        whole(size, "size")
        for start, block in self.blocks.items():
            if start <= addr and addr + size <= start + block[0]:
                return start, block
        raise MemlabError(f"{addr:#x}..{addr + size:#x} is not inside a block of this program")

    def write(self, addr, data, *, line, col=1):
        """The program writes ``data`` (bytes): those bytes are now written."""
        self._where(line, col)
        if not isinstance(data, (bytes, bytearray)):
            raise reject(BadSize, data, f"write: data {data!r:.40} must be bytes")
        start, block = self._block(addr, len(data))
        block[4][addr - start : addr - start + len(data)] = b"\x01" * len(data)
        self.process.write(addr, bytes(data))

    def use(self, addr, size, *, line, col):
        """The program uses the ``size``-byte value at ``addr`` (branches on
        it, dereferences it, prints it): a report if any byte is unwritten."""
        where = self._where(line, col)
        start, block = self._block(addr, size)
        if all(block[4][addr - start : addr - start + size]):
            return self.process.read(addr, size)
        func, offset = _ORIGIN[block[1]]
        origin = [
            "  Uninitialized value was created by a heap allocation",
            f"    #0 {hex12(self._exe_base() + offset)} in {func} ({self._exe()}+{offset:#x}) {self._build()}",
            f"    #1 {hex12(self._pc(block[2]))} in main {self.file}:{block[2]}:{block[3]}",
            f"    #2 {hex12(_LIBC_BASE + 0x45249)} in __libc_start_call_main {_CALL_MAIN}",
        ]
        self._report(where, line, origin)

    def local(self, name, *, frame_line):
        """A local variable of main declared without a value; MSan's origin
        names main's frame at ``frame_line`` (the line of its opening
        brace, where clang sets the frame up)."""
        if not isinstance(name, str) or not name:
            raise reject(BadSize, name, f"local: name {name!r} must be a non-empty str")
        self._where(frame_line, 1)
        self.locals[name] = [None, frame_line]

    def set_local(self, name, value):
        """``name = value``."""
        if name not in self.locals:
            raise MemlabError(f"set_local: {name!r} was not declared with local()")
        self.locals[name][0] = value

    def use_local(self, name, *, line, col):
        """The program uses the variable (e.g. dereferences the pointer):
        a report if it was never set; else its value."""
        where = self._where(line, col)
        if name not in self.locals:
            raise MemlabError(f"use_local: {name!r} was not declared with local()")
        value, fline = self.locals[name]
        if value is not None:
            return value
        origin = [
            f"  Uninitialized value was created by an allocation of '{name}' in the stack frame of function 'main'",
            f"    #0 {hex12(self._pc(fline))} in main {self.file}:{fline}",
        ]
        self._report(where, line, origin)

    # ------------------------------------------------------------ report
    def _exe(self):
        return self.process.exe.name

    def _build(self):
        return f"(BuildId: {self.build_id})"

    def _exe_base(self):
        return self.process.mm.start_code - 0x1000

    def _pc(self, line):
        return self.process.mm.start_code + 0x1100 + 0x10 * line

    def _report(self, where, line, origin):
        pid = self.process.pid
        lines = [
            f"=={pid}==WARNING: MemorySanitizer: use-of-uninitialized-value",
            f"    #0 {hex12(self._pc(line))} in main {where}",
            f"    #1 {hex12(_LIBC_BASE + 0x45249)} in __libc_start_call_main {_CALL_MAIN}",
            f"    #2 {hex12(_LIBC_BASE + 0x45304)} in __libc_start_main csu/../csu/libc-start.c:360:3",
            f"    #3 {hex12(self._exe_base() + 0x222A0)} in _start ({self._exe()}+0x222a0) {self._build()}",
            "",
            *origin,
            "",
        ]
        summary = f"SUMMARY: MemorySanitizer: use-of-uninitialized-value {where} in main"
        lines += [summary, "Exiting"]
        self.finding = SanitizerError(
            "MemorySanitizer", "use-of-uninitialized-value", line, summary, "\n".join(lines) + "\n"
        )
        raise self.finding
