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

__all__ = [
    "top_summary_lines",
    "top_memory_lines",
    "TOP_HEADER",
    "top_line",
    "top",
    "PS_AUX_HEADER",
    "ps_aux_line",
    "ps_aux",
]

#: the column headers with PIDs 5 wide (pid_max 32768, the kernel's default below 32 CPUs)
TOP_HEADER = "  PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND"
PS_AUX_HEADER = "USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND"


def top_summary_lines(clock, uptime, users, load, tasks, cpu):
    """top's first three lines: the time ``clock`` (h, m, s), ``uptime``
    seconds, logged-in ``users``, the three ``load`` averages (libproc2's
    procps_uptime_sprint(): "up 2 days,  3:04," or "up 5 min,", "user"
    unless more than one), ``tasks`` (total, running, sleeping, stopped,
    zombie) and the ``cpu`` percentages (us sy ni id wa hi si st)."""
    h, m, sec = clock
    days, hours, minutes = int(uptime) // 86400, int(uptime) // 3600 % 24, int(uptime) // 60 % 60
    up = (f"{days} {'days' if days > 1 else 'day'}, " if days else "") + (
        f"{hours:2d}:{minutes:02d}, " if hours else f"{minutes} min, "
    )
    first = (
        f"top - {h:02d}:{m:02d}:{sec:02d} up {up}{users:2d} {'users' if users > 1 else 'user'},  "
        f"load average: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}"
    )
    total, running, sleeping, stopped, zombie = tasks
    second = (
        f"Tasks:{total:4d} total,{running:4d} running,{sleeping:4d} sleeping,{stopped:4d} stopped,{zombie:4d} zombie"
    )
    names = ("us", "sy", "ni", "id", "wa", "hi", "si", "st")
    third = "%Cpu(s):" + ",".join(f"{v:5.1f} {n}" for v, n in zip(cpu, names)) + " "
    return f"{first}\n{second}\n{third}\n"


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
    clock = (up // 3600 % 24, up // 60 % 60, up % 60)  # (the machine's clock starts at midnight)
    summary = top_summary_lines(clock, up, 0, (0, 0, 0), (n, 0, n, 0, 0), (0, 0, 0, 100, 0, 0, 0, 0))
    lines = [
        *summary.splitlines(),
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
