"""``top`` and ``ps``: the processes and their memory, as procps-ng 4.0.2 prints them.

:func:`top_memory_lines` are top's ``MiB Mem`` and ``MiB Swap`` lines
(``used = total - available``, ``buff/cache = Buffers + Cached +
SReclaimable``), equal to the real top's for the same /proc/meminfo;
:func:`top_line` and :func:`ps_aux_line` format one process as top's
default columns and ``ps aux`` do (the tests feed them the real tools'
own rows back and require the same text). :func:`top` and :func:`ps_aux`
list the simulated machine's processes, the largest resident set first
(``top -b -n1 -o RES``, ``ps aux --sort -rss``).

For the simulated processes: the user is ``student`` (the course's home
directory), priority 20, nice 0, state ``S``, terminal ``?``; CPU time is
not modelled (``%CPU`` 0.0, ``TIME`` 0:00), nor the wall clock (the start
time is the boot, the machine's clock is ``machine.uptime`` seconds).
"""

from __future__ import annotations

from .proc import meminfo_record

__all__ = ["top_memory_lines", "TOP_HEADER", "top_line", "top", "PS_AUX_HEADER", "ps_aux_line", "ps_aux"]

#: the column headers with PIDs 5 wide (pid_max 32768, the kernel's default below 32 CPUs)
TOP_HEADER = "  PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND"
PS_AUX_HEADER = "USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND"


def top_memory_lines(record):
    """top's two memory lines (MiB) for a /proc/meminfo record (top
    scales the kB figures in single-precision floats)."""
    from .tools import float32

    def mib(kb):
        return float32(float32(kb) / 1024)

    total_kb, free_kb = record["MemTotal"], record["MemFree"]
    avail_kb = record.get("MemAvailable") or free_kb
    cache_kb = record.get("Buffers", 0) + record.get("Cached", 0) + record.get("SReclaimable", 0)
    swap_total, swap_free = record.get("SwapTotal", 0), record.get("SwapFree", 0)
    return (
        f"MiB Mem :{mib(total_kb):9.1f} total,{mib(free_kb):9.1f} free,{mib(total_kb - avail_kb):9.1f} used,"
        f"{mib(cache_kb):9.1f} buff/cache     \n"
        f"MiB Swap:{mib(swap_total):9.1f} total,{mib(swap_free):9.1f} free,{mib(swap_total - swap_free):9.1f} used."
        f"{mib(avail_kb):9.1f} avail Mem \n"
    )


def _top_time(seconds_100):
    """TIME+ : minutes:seconds.hundredths."""
    minutes, rest = divmod(seconds_100, 6000)
    return f"{minutes}:{rest // 100:02d}.{rest % 100:02d}"


def top_line(pid, user, pr, ni, virt, res, shr, state, cpu, mem, time_100, command, pid_width=5):
    """One process row of top's default columns (VIRT, RES, SHR in KiB;
    ``time_100`` the CPU time in hundredths of a second; the command cut to
    10 characters with a ``+``)."""
    cmd = command if len(command) <= 10 else command[:9] + "+"
    return (
        f"{pid:>{pid_width}} {user:<8} {pr:>3} {ni:>3} {virt:>7} {res:>6} {shr:>6} {state} "
        f"{cpu:>5.1f} {mem:>5.1f} {_top_time(time_100):>9} {cmd}"
    )


def _rows(machine):
    """(pid, name, VmSize kB, VmRSS kB, shared kB) of every process, largest RSS first."""
    rows = []
    for p in machine.processes.values():
        mm = p.mm
        rows.append((p.pid, p.name, mm.total_vm * 4, (mm.rss_anon + mm.rss_file) * 4, mm.rss_file * 4))
    return sorted(rows, key=lambda r: (-r[3], r[0]))


def top(machine):
    """``top -b -n1 -o RES`` of the simulated machine."""
    rec = meminfo_record(machine)
    n = len(machine.processes)
    up = int(getattr(machine, "uptime", 0))
    uptime = f"{up // 3600:2d}:{up // 60 % 60:02d}" if up >= 3600 else f"{up // 60} min"
    clock = f"{up // 3600 % 24:02d}:{up // 60 % 60:02d}:{up % 60:02d}"
    lines = [
        f"top - {clock} up {uptime},  0 user,  load average: 0.00, 0.00, 0.00",
        f"Tasks: {n:3d} total,   0 running, {n:3d} sleeping,   0 stopped,   0 zombie",
        "%Cpu(s):  0.0 us,  0.0 sy,  0.0 ni,100.0 id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st ",
        *top_memory_lines(rec).splitlines(),
        "",
        TOP_HEADER,
    ]
    for pid, name, virt, res, shr in _rows(machine):
        lines.append(top_line(pid, "student", 20, 0, virt, res, shr, "S", 0.0, 100.0 * res / rec["MemTotal"], 0, name))
    return "\n".join(lines) + "\n"


def _percent(value):
    """ps's %CPU and %MEM: one decimal, none from 100 on."""
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def ps_aux_line(user, pid, cpu, mem, vsz, rss, tty, stat, start, time, command, pid_width=5):
    """One row of ``ps aux``: each column at its width, a wider value
    taking the room from the padding of the columns after it (procps's
    output.c keeps the later columns where they belong when it can)."""
    fields = [
        (user, 8, "<"),
        (str(pid), pid_width, ">"),
        (_percent(cpu), 4, ">"),
        (_percent(mem), 4, ">"),
        (str(vsz), 6, ">"),
        (str(rss), 5, ">"),
        (tty, 8, "<"),
        (stat, 4, "<"),
        (start, 5, ">"),
        (time, 6, ">"),
    ]
    out, excess = [], 0
    for text, width, align in fields:
        pad = width - len(text)
        if pad < 0:
            excess -= pad
            pad = 0
        else:
            take = min(pad, excess)
            pad, excess = pad - take, excess - take
        out.append(text + " " * pad if align == "<" else " " * pad + text)
    return " ".join([*out, command])


def ps_aux(machine):
    """``ps aux --sort -rss`` of the simulated machine."""
    total = meminfo_record(machine)["MemTotal"]
    lines = [PS_AUX_HEADER]
    for pid, name, vsz, rss, _ in _rows(machine):
        lines.append(ps_aux_line("student", pid, 0.0, 100.0 * rss / total, vsz, rss, "?", "S", "00:00", "0:00", name))
    return "\n".join(lines) + "\n"
