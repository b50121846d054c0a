"""AddressSanitizer and LeakSanitizer on a simulated process.

A :class:`Sanitizer` runs a short description of a C/C++ program (its
``malloc``/``new``/``new[]``, ``free``/``delete``/``delete[]``, reads and
writes, pointers kept in variables or stored in the heap) on a process of a
simulated :class:`memlab.Machine`, checks every step as gcc's
``-fsanitize=address`` would, and stops at the first bug with the report
the real tool prints (:mod:`.report`): heap-buffer-overflow,
heap-use-after-free, double-free, bad-free, alloc-dealloc-mismatch,
new-delete-type-mismatch; :meth:`Sanitizer.exit` runs LeakSanitizer.

The rules, read in compiler-rt (LLVM main; gcc 12's libsanitizer is taken
from it) lib/asan/asan_allocator.cpp:

- Allocate(): ``malloc(0)`` allocates 1 byte; the chunk is a left redzone
  of ``16 << ComputeRZLog(size)`` bytes (16 for up to 48 bytes, 32 up to 96,
  64 up to 448, 128 up to 3968, ...; its last 16 bytes are the chunk
  header), then the user's bytes rounded up to 8 (at least 8), then a right
  redzone to the end of the block; every byte outside the user's is
  poisoned (shadow ``fa``), the user's last granule partly (01..07).
- Deallocate(): a pointer whose header does not say "allocated" is a
  double free if the chunk is in quarantine, else "free on address which
  was not malloc()-ed"; then the allocation kind must match (malloc/free,
  new/delete, new[]/delete[]: alloc-dealloc-mismatch); a sized delete of an
  object from new must give its size (new-delete-type-mismatch); the bytes
  are poisoned ``fd`` and the chunk goes into the quarantine, a FIFO of
  ``quarantine_size_mb`` (256 on x86-64) that hands chunks back to the
  allocator only when it is over its size, which is why a use after free
  is still caught after later allocations.
- lsan_common.cpp: at exit, chunks reachable from the roots (here: the
  program's variables) and, transitively, from the words of reachable chunks
  (any 8-byte aligned word that points into a chunk's bytes) are live;
  unreachable ones reachable from another leaked chunk are indirect leaks,
  the rest direct; leaks with the same allocation stack are counted together.

Deliberately different (a simplification, said in lesson 07): the chunks
come from the process's own glibc heap (``p.libc``) instead of ASan's size-
class allocator, so addresses and the length of the right redzone differ
from a real run (the rules above, the shadow encoding and the report layout
do not); glibc's chunk headers between ASan chunks are poisoned like the
allocator's own memory. Stack and global variables are not checked (no
stack-use-after-return), the root set is the variables the program declares,
and there is one thread (T0).
"""

from __future__ import annotations

from collections import deque

from ..errors import BadSize, MemlabError, reject
from .report import LEGEND, RULE, Frame, frames_text, hex12, shadow_text

__all__ = ["Sanitizer", "SanitizerError", "Chunk", "rz_size", "whole"]

#: the names ASan's reports give the three kinds of allocation and their frees
ALLOC_NAMES = {"malloc": "malloc", "new": "operator new", "new[]": "operator new []"}
DEALLOC_NAMES = {"malloc": "free", "new": "operator delete", "new[]": "operator delete []"}

FREED, REDZONE = 0xFD, 0xFA


def whole(value, what, lo=0, hi=None, why=""):
    """``value`` when it is an int from ``lo`` to ``hi`` (None: no upper
    bound); else the MemlabError that names ``what``, the value and the rule
    (``why`` adds the reason)."""
    if value.__class__ is not int or value < lo or (hi is not None and value > hi):
        rule = f"an int >= {lo}" if hi is None else f"an int from {lo} to {hi}"
        raise reject(BadSize, value, f"{what} {value!r} must be {rule}{f' ({why})' if why else ''}")
    return value


def rz_size(size: int) -> int:
    """The left redzone (header included) for a request of ``size`` bytes:
    ``16 << ComputeRZLog(size)`` with the default redzone=16,
    max_redzone=2048 (asan_allocator.cpp)."""
    limits = (64 - 16, 128 - 32, 512 - 64, 4096 - 128, (1 << 14) - 256, (1 << 15) - 512, (1 << 16) - 1024)
    log = next((k for k, limit in enumerate(limits) if size <= limit), 7)
    return 16 << log


class SanitizerError(MemlabError):
    """A bug the sanitizer found: ``tool`` ("AddressSanitizer" or
    "LeakSanitizer"), ``kind`` (e.g. "heap-use-after-free", "detected memory
    leaks"), ``line`` (of the program; None for leaks), ``summary`` (the
    SUMMARY line) and ``report`` (the whole text)."""

    def __init__(self, tool, kind, line, summary, report):
        super().__init__(report)
        self.tool, self.kind, self.line, self.summary, self.report = tool, kind, line, summary, report
        self.addr = None  # the address the bug is at, where there is one


class Chunk:
    """One ASan chunk: ``block`` (the glibc allocation it sits in) to
    ``end``, the user's bytes ``[beg, beg + size)``, ``kind`` ("malloc",
    "new", "new[]"), ``state`` ("allocated" or "quarantine") and the stacks
    of its allocation and free."""

    __slots__ = ("block", "end", "beg", "size", "kind", "state", "alloc_stack", "free_stack")

    def __init__(self, block, end, beg, size, kind, alloc_stack):
        self.block, self.end, self.beg, self.size, self.kind = block, end, beg, size, kind
        self.state, self.alloc_stack, self.free_stack = "allocated", alloc_stack, None

    def __repr__(self):
        return f"<Chunk {self.size} bytes at {self.beg:#x}, {self.kind}, {self.state}>"


class Sanitizer:
    """A program under ``-fsanitize=address`` on a simulated process.

    ``file`` names the program's source in reports; ``machine`` (default: a
    new 256 MiB machine) gets a process ``name``. Each call takes the
    program's ``line``. Pointers are plain addresses (``p + 40`` is pointer
    arithmetic); :meth:`let` keeps one in a named variable (a root for the
    leak check), :meth:`store_ptr` writes one into memory.
    """

    def __init__(
        self,
        file="prog.cpp",
        machine=None,
        name="a.out",
        quarantine_size_mb=256,
        alloc_dealloc_mismatch=True,
        new_delete_type_mismatch=True,
    ):
        whole(quarantine_size_mb, "quarantine_size_mb")
        if machine is None:
            from ..machine import Machine

            machine = Machine(ram="256MiB")
        self.file = file
        self.process = machine.spawn(name)
        self.libc = self.process.libc
        self.quarantine_max = quarantine_size_mb << 20
        self.options = {
            "alloc_dealloc_mismatch": alloc_dealloc_mismatch,
            "new_delete_type_mismatch": new_delete_type_mismatch,
        }
        self.chunks: dict[int, Chunk] = {}  # by user address
        self.quarantine: deque[Chunk] = deque()
        self.quarantine_bytes = 0
        self.vars: dict[str, int] = {}
        self.finding: SanitizerError | None = None
        self.steps: list[tuple[int, str]] = []  # (line, what), for the pictures
        self.calls: list[tuple[str, int]] = []  # (function, line of the call) of the functions entered

    # ------------------------------------------------------------ stacks
    def _user_frame(self, line, func=None):
        whole(line, "line", 1, why=f"a line of {self.file}")
        func = func or (self.calls[-1][0] if self.calls else "main")
        return Frame(func, f"{self.file}:{line}", self.process.mm.start_code + 0x1100 + 0x10 * line)

    def _stack(self, line, interceptor=None):
        """The program's stack at ``line``: the interceptor, the functions
        entered with :meth:`inside` (innermost first), main, libc."""
        frames = [Frame.interceptor(interceptor)] if interceptor else []
        frames.append(self._user_frame(line))
        callers = [c[0] for c in self.calls[:-1]][::-1] + ["main"]
        for (_, at), func in zip(reversed(self.calls), callers):
            frames.append(self._user_frame(at, func))
        return frames + [Frame.libc(0)]

    def inside(self, func, *, line):
        """``with s.inside("Derived::Derived()", line=18):`` the steps run
        in ``func``, called from ``line`` (their reports show both frames)."""
        self._user_frame(line)  # (checks the line)
        if not isinstance(func, str) or not func:
            raise reject(BadSize, func, f"inside: function {func!r} must be a non-empty str")
        sanitizer = self

        class _Call:
            def __enter__(self):
                sanitizer.calls.append((func, line))

            def __exit__(self, *exc):
                sanitizer.calls.pop()

        return _Call()

    def _check_running(self, what):
        if self.finding is not None:
            raise MemlabError(
                f"{what}: the program was stopped at line {self.finding.line} by {self.finding.tool} "
                f"({self.finding.kind}); start a new Sanitizer"
            )

    # --------------------------------------------------------- allocation
    def _allocate(self, size, line, kind, interceptor):
        self._check_running(interceptor)
        whole(size, f"{interceptor}: size", why="a size_t")
        stack = self._stack(line, interceptor)
        size = size or 1  # asan_allocator.cpp Allocate(): "if (size == 0) size = 1"
        rounded = -(-max(size, 8) // 8) * 8
        rz = rz_size(size)
        block = self.libc.malloc(rounded + rz)
        if block == 0:
            raise MemlabError(f"{interceptor}({size}): the simulated heap is out of memory")
        chunk = Chunk(block, block + self.libc.malloc_usable_size(block), block + rz, size, kind, stack)
        self.chunks[chunk.beg] = chunk
        self.steps.append((line, f"{interceptor}({size}) = {chunk.beg:#x}"))
        return chunk.beg

    def malloc(self, size, *, line):
        """``malloc(size)``: the address of the user's bytes."""
        return self._allocate(size, line, "malloc", "malloc")

    def calloc(self, nmemb, size, *, line):
        """``calloc(nmemb, size)``: zeroed bytes."""
        whole(nmemb, "calloc: nmemb")
        whole(size, "calloc: size")
        if nmemb * size > 16 << 20:
            raise reject(BadSize, nmemb * size, f"calloc({nmemb}, {size}): at most 16 MiB here (the zeros are "
                         "written into the simulated process)")  # fmt: skip
        addr = self._allocate(nmemb * size, line, "malloc", "calloc")
        self.process.write(addr, bytes(nmemb * size))
        return addr

    def new(self, size, *, line):
        """``new T`` for an object of ``size`` bytes (operator new)."""
        return self._allocate(size, line, "new", "new")

    def new_array(self, size, *, line):
        """``new T[n]`` of ``size`` bytes in all (operator new[])."""
        return self._allocate(size, line, "new[]", "new[]")

    # ------------------------------------------------------------- frees
    def free(self, addr, *, line):
        """``free(addr)``."""
        self._deallocate(addr, line, "malloc", "free")

    def delete(self, addr, *, line, size=None):
        """``delete p``: with ``size``, the sized ``operator delete(void*,
        unsigned long)`` g++ calls for a type of that size (C++14), else
        ``operator delete(void*)``."""
        if size is not None:
            whole(size, "delete: size", why="or None for the unsized delete")
        self._deallocate(addr, line, "new", "delete" if size is None else "delete_sized", size)

    def delete_array(self, addr, *, line):
        """``delete[] p`` (operator delete[](void*))."""
        self._deallocate(addr, line, "new[]", "delete[]")

    def _deallocate(self, addr, line, kind, interceptor, delete_size=None):
        self._check_running(interceptor)
        whole(addr, f"{interceptor}: pointer", why="an address")
        stack = self._stack(line, interceptor)
        if addr == 0:
            return
        chunk = self.chunks.get(addr)
        if chunk is None or chunk.state != "allocated":
            double = chunk is not None
            head = (
                f"attempting double-free on {hex12(addr)} in thread T0:"
                if double
                else f"attempting free on address which was not malloc()-ed: {hex12(addr)} in thread T0"
            )
            self._fatal(line, "double-free" if double else "bad-free", head, stack, addr)
        if chunk.kind != kind and self.options["alloc_dealloc_mismatch"]:
            names = f"({ALLOC_NAMES[chunk.kind]} vs {DEALLOC_NAMES[kind]})"
            self._fatal(
                line,
                "alloc-dealloc-mismatch",
                f"alloc-dealloc-mismatch {names} on {hex12(addr)}",
                stack,
                addr,
                hint="alloc_dealloc_mismatch",
            )
        sized = chunk.kind == kind and kind != "malloc" and delete_size and delete_size != chunk.size
        if sized and self.options["new_delete_type_mismatch"]:
            head = (
                f"new-delete-type-mismatch on {hex12(addr)} in thread T0:\n"
                "  object passed to delete has wrong type:\n"
                f"  size of the allocated type:   {chunk.size} bytes;\n"
                f"  size of the deallocated type: {delete_size} bytes."
            )
            self._fatal(line, "new-delete-type-mismatch", head, stack, addr, hint="new_delete_type_mismatch")
        chunk.state, chunk.free_stack = "quarantine", stack
        self.quarantine.append(chunk)
        self.quarantine_bytes += chunk.size
        self.steps.append((line, f"{DEALLOC_NAMES[kind]}({addr:#x})"))
        while self.quarantine_bytes > self.quarantine_max:  # Quarantine::Recycle(): the oldest go back
            old = self.quarantine.popleft()
            self.quarantine_bytes -= old.size
            del self.chunks[old.beg]
            self.libc.free(old.block)

    # ------------------------------------------------------------ access
    def shadow_byte(self, addr: int) -> int:
        """The shadow of the 8-byte granule at ``addr``: 00 addressable,
        01..07 the first k bytes addressable, fd freed, fa redzone (and the
        rest of the heap); 00 outside the heap (not checked here)."""
        granule = addr & ~7
        for chunk in self.chunks.values():
            if chunk.block <= granule < chunk.end:
                if chunk.beg <= granule < chunk.beg + chunk.size:
                    if chunk.state != "allocated":
                        return FREED
                    left = chunk.beg + chunk.size - granule
                    return 0 if left >= 8 else left
                return REDZONE
            if chunk.block - 16 <= granule < chunk.block:  # glibc's chunk header
                return REDZONE
        lo, top = self.libc.sbrk_base, self.libc.top
        if lo is not None and top is not None and lo <= granule < top + self.libc.top_size:
            return REDZONE  # the rest of the heap: the allocator's, poisoned
        return 0

    def _poisoned(self, addr, size):
        """The first byte of [addr, addr + size) ASan would flag, or None
        (__asan_loadN/storeN: a granule's shadow k allows its first k bytes)."""
        for a in range(addr, addr + size):
            s = self.shadow_byte(a)
            if s and (s >= 0x80 or (a & 7) >= s):
                return a
        return None

    def _access(self, addr, size, line, write):
        what = "write" if write else "read"
        self._check_running(what)
        whole(addr, f"{what}: address")
        whole(size, f"{what}: size")
        vma = self.process.mm.find_vma(addr)
        if vma is None:
            self._segv(addr, line, write)
        bad = self._poisoned(addr, size)
        if bad is None:
            self.steps.append((line, f"{what} {size} at {addr:#x}"))
            return
        kind = "heap-use-after-free" if self.shadow_byte(bad) == FREED else "heap-buffer-overflow"
        stack = self._stack(line) + [Frame.libc(1)]
        sp = self.process.mm.start_stack - 0x120
        head = f"{kind} on address {hex12(bad)} at pc {hex12(stack[0].pc + 1)} bp {hex12(sp + 8)} sp {hex12(sp)}"
        access = f"{'WRITE' if write else 'READ'} of size {size} at {hex12(bad)} thread T0"
        self._fatal(line, kind, head, stack, bad, access=access)

    def _segv(self, addr, line, write):
        """The access hits no mapping: the signal handler's report
        (asan_errors.cpp ErrorDeadlySignal; the hint for the zero page)."""
        stack = self._stack(line) + [Frame.libc(1)]
        sp = self.process.mm.start_stack - 0x120
        pid = self.process.pid
        entry = (self.process.exe.name, self.process.mm.start_code + 0xF0, 0x10F0)
        lines = [
            "AddressSanitizer:DEADLYSIGNAL",
            RULE,
            f"=={pid}==ERROR: AddressSanitizer: SEGV on unknown address {hex12(addr)} "
            f"(pc {hex12(stack[0].pc)} bp {hex12(sp + 0x90)} sp {hex12(sp)} T0)",
            f"=={pid}==The signal is caused by a {'WRITE' if write else 'READ'} memory access.",
        ]
        if addr < 4096:
            lines.append(f"=={pid}==Hint: address points to the zero page.")
        lines += frames_text(stack, start=entry) + ["", "AddressSanitizer can not provide additional info."]
        summary = f"SUMMARY: AddressSanitizer: SEGV {stack[0].where} in {stack[0].func}"
        lines += [summary, f"=={pid}==ABORTING"]
        self.finding = SanitizerError("AddressSanitizer", "SEGV", line, summary, "\n".join(lines) + "\n")
        raise self.finding

    def read(self, addr, size, *, line):
        """The program reads ``size`` bytes at ``addr``; returns them."""
        self._access(addr, size, line, write=False)
        return self.process.read(addr, size)

    def write(self, addr, data, *, line):
        """The program writes ``data`` (bytes, or an int: that many zero bytes)."""
        data = bytes(data) if data.__class__ is int and 0 <= data < 1 << 20 else data
        if not isinstance(data, (bytes, bytearray)):
            raise reject(BadSize, data, f"write: data {data!r:.40} must be bytes or a byte count")
        self._access(addr, len(data), line, write=True)
        self.process.write(addr, bytes(data))

    def store_ptr(self, addr, value, *, line):
        """``*(void **)addr = value``: an 8-byte pointer into memory."""
        self.write(addr, int(value).to_bytes(8, "little"), line=line)

    def load_ptr(self, addr, *, line):
        """``*(void **)addr``."""
        return int.from_bytes(self.read(addr, 8, line=line), "little")

    def let(self, name, value):
        """``name = value``: a pointer the program keeps in a variable (a
        root for the leak check); None forgets the variable."""
        if value is None:
            self.vars.pop(name, None)
        else:
            self.vars[name] = value
        return value

    # --------------------------------------------------------- reporting
    def _describe(self, addr):
        """asan_descriptions.cpp DescribeHeapAddress(): where ``addr`` is
        relative to the nearest chunk, and that chunk's stacks."""
        chunk = self._chunk_near(addr)
        if chunk is None:
            return []
        if addr < chunk.beg:
            where = f"{chunk.beg - addr} bytes to the left of"
        elif addr >= chunk.beg + chunk.size:
            where = f"{addr - chunk.beg - chunk.size} bytes to the right of"
        else:
            where = f"{addr - chunk.beg} bytes inside of"
        lines = [
            f"{hex12(addr)} is located {where} {chunk.size}-byte region "
            f"[{hex12(chunk.beg)},{hex12(chunk.beg + chunk.size)})"
        ]
        if chunk.free_stack is not None:
            lines += ["freed by thread T0 here:", *frames_text(chunk.free_stack), ""]
            lines += ["previously allocated by thread T0 here:", *frames_text(chunk.alloc_stack), ""]
        else:
            lines += ["allocated by thread T0 here:", *frames_text(chunk.alloc_stack), ""]
        return lines

    def _chunk_near(self, addr):
        """The chunk whose block holds ``addr``; between blocks the nearer
        one, an allocated one first (Allocator::ChooseChunk)."""
        for chunk in self.chunks.values():
            if chunk.block <= addr < chunk.end:
                return chunk
        left = max((c for c in self.chunks.values() if c.end <= addr), key=lambda c: c.end, default=None)
        right = min((c for c in self.chunks.values() if c.block > addr), key=lambda c: c.block, default=None)
        if left is None or right is None:
            return left or right
        if (left.state == "allocated") != (right.state == "allocated"):
            return left if left.state == "allocated" else right
        return left if addr - (left.beg + left.size) < right.beg - addr else right

    def _fatal(self, line, kind, head, stack, addr, access=None, hint=None):
        pid = self.process.pid
        exe = self.process.exe.name
        entry = (exe, self.process.mm.start_code + 0xF0, 0x10F0)  # _start, at the start of .text
        lines = [RULE, f"=={pid}==ERROR: AddressSanitizer: {head}"]
        if access:
            lines.append(access)
        full = stack if stack[-1].func == "__libc_start_main_impl" else stack + [Frame.libc(1)]
        lines += frames_text(full, start=entry) + [""]
        lines += self._describe(addr)
        top = stack[0]
        summary = f"SUMMARY: AddressSanitizer: {kind} {top.where} in {top.func}"
        lines.append(summary)
        if access:
            lines += shadow_text(addr, self.shadow_byte) + [LEGEND]
        if hint:
            lines.append(f"=={pid}==HINT: if you don't care about these errors you may set ASAN_OPTIONS={hint}=0")
        lines.append(f"=={pid}==ABORTING")
        self.finding = SanitizerError("AddressSanitizer", kind, line, summary, "\n".join(lines) + "\n")
        self.finding.addr = addr
        raise self.finding

    # --------------------------------------------------------------- exit
    def leaks(self):
        """LeakSanitizer's verdict now: ``(direct, indirect)`` lists of
        leaked chunks (lsan_common.cpp ClassifyAllChunks)."""
        live = [c for c in self.chunks.values() if c.state == "allocated"]

        def pointee(word):
            for c in live:
                if c.beg <= word < c.beg + c.size:
                    return c
            return None

        def words(chunk):
            data = self.process.read(chunk.beg, chunk.size - chunk.size % 8)
            return [int.from_bytes(data[i : i + 8], "little") for i in range(0, len(data), 8)]

        def flood(start, marked):
            todo = [c for c in start if c is not None and id(c) not in marked]
            while todo:
                c = todo.pop()
                if id(c) in marked:
                    continue
                marked.add(id(c))
                todo += [p for p in map(pointee, words(c)) if p is not None and id(p) not in marked]

        reachable: set[int] = set()
        flood([pointee(v) for v in self.vars.values()], reachable)
        unreached = [c for c in live if id(c) not in reachable]
        indirect: set[int] = set()
        for c in unreached:
            flood([p for p in map(pointee, words(c)) if p is not None and p is not c], indirect)
        direct = [c for c in unreached if id(c) not in indirect]
        return direct, [c for c in unreached if id(c) in indirect]

    def exit(self, *, line=None):
        """``return 0`` from main: LeakSanitizer checks for leaks and reports
        them (raising :class:`SanitizerError`); returns None when clean."""
        self._check_running("exit")
        direct, indirect = self.leaks()
        if not direct and not indirect:
            return None
        pid = self.process.pid
        lines = ["", RULE, f"=={pid}==ERROR: LeakSanitizer: detected memory leaks", ""]
        total = count = 0
        for label, chunks in (("Direct", direct), ("Indirect", indirect)):
            groups: dict[tuple, list[Chunk]] = {}
            for c in chunks:
                groups.setdefault(tuple((f.func, f.where) for f in c.alloc_stack), []).append(c)
            for group in sorted(groups.values(), key=lambda g: -sum(c.size for c in g)):
                size = sum(c.size for c in group)
                total, count = total + size, count + len(group)
                lines.append(f"{label} leak of {size} byte(s) in {len(group)} object(s) allocated from:")
                lines += frames_text(group[0].alloc_stack) + [""]
        summary = f"SUMMARY: AddressSanitizer: {total} byte(s) leaked in {count} allocation(s)."
        lines.append(summary)
        self.finding = SanitizerError("LeakSanitizer", "detected memory leaks", line, summary, "\n".join(lines) + "\n")
        raise self.finding
