"""Calls as the lines examples/malloc_trace.c reads, and their report on a
simulated process in the format that program prints for the real glibc:
lesson 06 and the tests set the two side by side."""

from __future__ import annotations

__all__ = ["trace_text", "run_trace"]


def trace_text(ops) -> str:
    """The calls ``ops`` as the lines examples/malloc_trace.c reads:
    ``("m", size)``, ``("c", nmemb, size)``, ``("r", k, size)``, ``("f", k)``,
    ``("o", param, value)``, where k numbers the calls that returned a pointer."""
    return "".join(" ".join(str(x) for x in op) + "\n" for op in ops)


def run_trace(process, ops) -> str:
    """Run ``ops`` (see :func:`trace_text`) on ``process.libc`` and report
    as examples/malloc_trace.c does for the real glibc: per pointer
    ``k heap OFFSET USABLE`` (offset from the program break at the start),
    ``k mmap - USABLE`` or ``k null``; then mallinfo2() and the break."""
    libc, base = process.libc, process.brk()
    ptrs: list[int] = []
    out: list[str] = []

    def report(addr):
        k = len(ptrs)
        ptrs.append(addr)
        if addr == 0:
            out.append(f"{k} null")
        elif base <= addr < process.brk():
            out.append(f"{k} heap {addr - base} {libc.malloc_usable_size(addr)}")
        else:
            out.append(f"{k} mmap - {libc.malloc_usable_size(addr)}")

    for op in ops:
        if op[0] == "m":
            report(libc.malloc(op[1]))
        elif op[0] == "c":
            report(libc.calloc(op[1], op[2]))
        elif op[0] == "r":
            addr, ptrs[op[1]] = ptrs[op[1]], 0
            report(libc.realloc(addr, op[2]))
        elif op[0] == "f":
            libc.free(ptrs[op[1]])
            ptrs[op[1]] = 0
        elif op[0] == "o":
            out.append(f"mallopt {libc.mallopt(op[1], op[2])}")
    mi = libc.mallinfo2()
    fields = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "fsmblks", "uordblks", "fordblks", "keepcost")
    out.append("mallinfo2 " + " ".join(str(mi[f]) for f in fields))
    out.append(f"brk {process.brk() - base}")
    return "\n".join(out) + "\n"
