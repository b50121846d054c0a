"""The text of AddressSanitizer's and LeakSanitizer's reports.

Layout as gcc 12's libsanitizer prints it on x86-64 Linux (the runtime of
this machine's g++; checked against the reports of examples/pitfalls/*.cpp
built with ``-fsanitize=address``, see :func:`memlab.native.sanitizer_report`):
compiler-rt/lib/asan/asan_report.cpp, asan_errors.cpp (the error headers,
the SUMMARY line, the HINT lines), asan_descriptions.cpp ("is located N
bytes to the right of", "freed by thread T0 here:"), PrintShadowMemoryForAddress()
(five rows of 16 shadow bytes either side, the guilty byte in brackets) and
the legend, lsan_common.cpp (LeakReport: direct leaks, then indirect, each
largest first).

Deliberately not reproduced: colours, the pc values of a real run (the
simulated process maps no libasan or libc image: the interceptors' and
libc's frames carry this host's offsets from made-up bases, the program's
frames an address derived from the line), and frames of functions the
program description does not name.
"""

from __future__ import annotations

__all__ = ["RULE", "LEGEND", "Frame", "frames_text", "shadow_text", "hex12"]

RULE = "=" * 65

_ASAN = "../../../../src/libsanitizer/asan/"
_LIBASAN_BASE = 0x7FFFF7400000  # made up: where the simulated process would map libasan
_LIBC_BASE = 0x7FFFF7000000  # and libc

#: what the interceptors' frames print: name, file:line, offset in gcc 12's libasan.so.8
INTERCEPTORS = {
    "malloc": ("__interceptor_malloc", _ASAN + "asan_malloc_linux.cpp:69", 0xB89CF),
    "calloc": ("__interceptor_calloc", _ASAN + "asan_malloc_linux.cpp:77", 0xB83B7),
    "realloc": ("__interceptor_realloc", _ASAN + "asan_malloc_linux.cpp:85", 0xB78D5),
    "free": ("__interceptor_free", _ASAN + "asan_malloc_linux.cpp:52", 0xB76A8),
    "new": ("operator new(unsigned long)", _ASAN + "asan_new_delete.cpp:95", 0xB94C8),
    "new[]": ("operator new[](unsigned long)", _ASAN + "asan_new_delete.cpp:98", 0xB9628),
    "delete": ("operator delete(void*)", _ASAN + "asan_new_delete.cpp:152", 0xB9F08),
    "delete[]": ("operator delete[](void*)", _ASAN + "asan_new_delete.cpp:155", 0xBA038),
    "delete_sized": ("operator delete(void*, unsigned long)", _ASAN + "asan_new_delete.cpp:164", 0xBA3C8),
}

#: the frames below main, with their offsets in this host's libc.so.6
_START_CALL = ("__libc_start_call_main", "../sysdeps/nptl/libc_start_call_main.h:58", 0x45249)
_START_IMPL = ("__libc_start_main_impl", "../csu/libc-start.c:360", 0x45304)

LEGEND = """Shadow byte legend (one shadow byte represents 8 application bytes):
  Addressable:           00
  Partially addressable: 01 02 03 04 05 06 07{TRAIL}
  Heap left redzone:       fa
  Freed heap region:       fd
  Stack left redzone:      f1
  Stack mid redzone:       f2
  Stack right redzone:     f3
  Stack after return:      f5
  Stack use after scope:   f8
  Global redzone:          f9
  Global init order:       f6
  Poisoned by user:        f7
  Container overflow:      fc
  Array cookie:            ac
  Intra object redzone:    bb
  ASan internal:           fe
  Left alloca redzone:     ca
  Right alloca redzone:    cb""".replace("{TRAIL}", " ")  # (the real legend has a space after 07)


def hex12(value: int) -> str:
    """An address as the sanitizers' ``%p`` prints it on x86-64: 0x and 12 digits."""
    return f"0x{value:012x}"


class Frame:
    """One frame of a stack: a function, where it is, and its pc."""

    __slots__ = ("func", "where", "pc")

    def __init__(self, func: str, where: str, pc: int):
        self.func, self.where, self.pc = func, where, pc

    @classmethod
    def interceptor(cls, name: str) -> Frame:
        func, where, offset = INTERCEPTORS[name]
        return cls(func, where, _LIBASAN_BASE + offset)

    @classmethod
    def libc(cls, which: int) -> Frame:
        func, where, offset = (_START_CALL, _START_IMPL)[which]
        return cls(func, where, _LIBC_BASE + offset)


def frames_text(frames: list[Frame], start: tuple[str, int, int] | None = None) -> list[str]:
    """``    #N 0x... in func where`` lines; ``start`` = (exe path, pc,
    offset in the file) adds the ``_start`` frame a fatal error's stack
    ends with."""
    lines = [f"    #{i} {hex12(f.pc)} in {f.func} {f.where}" for i, f in enumerate(frames)]
    if start is not None:
        exe, pc, offset = start
        lines.append(f"    #{len(frames)} {hex12(pc)} in _start ({exe}+{offset:#x})")
    return lines


def shadow_text(addr: int, shadow_byte) -> list[str]:
    """ "Shadow bytes around the buggy address:" and its eleven rows;
    ``shadow_byte(a)`` is the shadow of the 8-byte granule at application
    address ``a`` (asan_report.cpp PrintShadowMemoryForAddress, x86-64
    mapping: shadow = (addr >> 3) + 0x7fff8000)."""
    offset = 0x7FFF8000
    shadow = (addr >> 3) + offset
    row0 = shadow & ~15
    out = ["Shadow bytes around the buggy address:"]
    for i in range(-5, 6):
        row = row0 + 16 * i
        text = ("=>" if i == 0 else "  ") + hex12(row) + ":"
        for k in range(16):
            s = row + k
            byte = shadow_byte((s - offset) << 3)
            before = "[" if s == shadow else ("" if s - 1 == shadow and k else " ")
            text += f"{before}{byte:02x}{']' if s == shadow else ''}"
        out.append(text)
    return out
