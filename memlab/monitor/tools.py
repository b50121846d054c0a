"""The procps tools an administrator runs: ``free`` and ``vmstat``.

:func:`free` prints what procps-ng 4.0.2's ``free`` prints from a
/proc/meminfo record (``used = total - available``, ``buff/cache = Buffers
+ Cached + SReclaimable``; ``-h``, ``-w``), :func:`vmstat_since_boot` the
first line of ``vmstat`` from /proc/meminfo, /proc/vmstat and /proc/stat
records, character for character: the tests show the real tools the same
files (a private mount namespace) and compare. :func:`vmstat_run` samples
the simulated machine over intervals of a simulated clock.
"""

from __future__ import annotations

from ..errors import BadSize, reject
from .proc import meminfo_record, vmstat_record

__all__ = ["free", "VMSTAT_HEADER", "vmstat_line", "vmstat_since_boot", "parse_stat", "vmstat_run"]


# ------------------------------------------------------------------ free
def float32(x):
    """``x`` rounded to a C float (single precision), as procps's tools compute."""
    import struct

    return struct.unpack("f", struct.pack("f", x))[0]


def _human(kb):
    """free -h: procps-ng 4.0.2 scale_size() with binary units: the bytes
    with a B when that fits in 4 characters, else for Ki, Mi, Gi, ...: one
    decimal (of a float) when that fits in 5 characters, else the whole
    part (truncated), else the next unit."""
    size = kb * 1024
    text = f"{size}B"
    if len(text) <= 4:
        return text
    for i, unit in enumerate("KMGTPE", 1):
        value = size / 1024**i
        text = f"{float32(value):.1f}{unit}i"
        if len(text) <= 5:
            return text
        text = f"{int(value)}{unit}i"
        if len(text) <= 5:
            return text
    return text


def free(record, human=False, wide=False):
    """What procps-ng 4.0.2 ``free`` prints for a /proc/meminfo record
    (``human``: -h, ``wide``: -w); values in KiB otherwise."""
    if not isinstance(record, dict) or "MemTotal" not in record:
        raise reject(BadSize, record, "free: give a /proc/meminfo record (meminfo_record() or parse_meminfo())")
    total, freekb = record["MemTotal"], record["MemFree"]
    buffers, cached = record.get("Buffers", 0), record.get("Cached", 0) + record.get("SReclaimable", 0)
    available = record.get("MemAvailable") or freekb  # (0 or missing: a kernel before 3.14)
    used = total - available if available <= total else total - freekb
    shared = record.get("Shmem", 0)
    swap_total, swap_free = record.get("SwapTotal", 0), record.get("SwapFree", 0)
    fmt = _human if human else str
    cols = ["total", "used", "free", "shared"] + (["buffers", "cache"] if wide else ["buff/cache"]) + ["available"]
    mem = [total, used, freekb, shared] + ([buffers, cached] if wide else [buffers + cached]) + [available]
    swap = [swap_total, swap_total - swap_free, swap_free]
    lines = [" " * 8 + "".join(f"{c:>12}" for c in cols)]
    lines.append("Mem:    " + "".join(f" {fmt(v):>11}" for v in mem))
    lines.append("Swap:   " + "".join(f" {fmt(v):>11}" for v in swap))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------- vmstat(8)
#: the two header lines of procps-ng 4.0.2's vmstat
VMSTAT_HEADER = (
    "procs -----------memory---------- ---swap-- -----io---- -system-- ------cpu-----\n"
    " r  b   swpd   free   buff  cache   si   so    bi    bo   in   cs us sy id wa st\n"
)


def vmstat_line(*values):
    """One line of vmstat's figures: r b swpd free buff cache si so bi bo in
    cs us sy id wa st, as vmstat.c's format prints them (%2u %2u %6lu ...:
    a wider number pushes the rest right)."""
    widths = (2, 2, 6, 6, 6, 6, 4, 4, 5, 5, 4, 4, 2, 2, 2, 2, 2)
    if len(values) != len(widths):
        raise reject(BadSize, len(values), f"vmstat_line: {len(values)} values, vmstat prints {len(widths)}")
    return " ".join(f"{int(v):>{w}}" for v, w in zip(values, widths)) + "\n"


def parse_stat(text):
    """The fields of /proc/stat vmstat reads: ``cpu`` (the ticks: user nice
    system idle iowait irq softirq steal ...), ``intr`` (the total),
    ``ctxt``, ``procs_running``, ``procs_blocked``."""
    out = {}
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "cpu":
            out["cpu"] = [int(x) for x in words[1:]]
        elif words[0] in ("intr", "ctxt", "procs_running", "procs_blocked"):
            out[words[0]] = int(words[1])
    return out


def vmstat_since_boot(meminfo_rec, vmstat_rec, stat, hz=100):
    """vmstat's first line (averages since boot) from /proc/meminfo,
    /proc/vmstat and /proc/stat records, as procps-ng 4.0.2 computes it:
    rates are counts * hz / Div, Div the CPU ticks of all CPUs (user + nice,
    system + irq + softirq, idle, iowait, steal), rounded to nearest."""
    cpu = stat["cpu"] + [0] * 8
    use, sys_, idle, iow, sto = cpu[0] + cpu[1], cpu[2] + cpu[5] + cpu[6], cpu[3], cpu[4], cpu[7]
    div = use + sys_ + idle + iow + sto
    if not div:
        div, idle = 1, 1
    half = div // 2

    def rate(n):
        return ((n * hz + half) // div) & 0xFFFFFFFF  # (the C code's (unsigned) casts)

    def pct(n):
        return ((100 * n + half) // div) & 0xFFFFFFFF

    def kb(n):  # unitConvert(): through a float, so large figures lose their last digits
        return int(float32(float32(float32(n) * 1024) / 1024))

    swap_used = meminfo_rec.get("SwapTotal", 0) - meminfo_rec.get("SwapFree", 0)
    cache = meminfo_rec.get("Cached", 0) + meminfo_rec.get("SReclaimable", 0)
    v = vmstat_rec
    return vmstat_line(
        stat.get("procs_running", 0),
        stat.get("procs_blocked", 0),
        kb(swap_used),
        kb(meminfo_rec["MemFree"]),
        kb(meminfo_rec.get("Buffers", 0)),
        kb(cache),
        rate(kb(v.get("pswpin", 0) * 4)),
        rate(kb(v.get("pswpout", 0) * 4)),
        rate(v.get("pgpgin", 0)),
        rate(v.get("pgpgout", 0)),
        rate(stat.get("intr", 0)),
        rate(stat.get("ctxt", 0)),
        pct(use),
        pct(sys_),
        pct(idle),
        pct(iow),
        pct(sto),
    )


def _stat(machine, seconds, hz=100):
    """/proc/stat as vmstat reads it for the simulated machine: its CPUs
    idle for ``seconds`` (CPU time, interrupts and context switches are not
    modelled), every process running."""
    return {
        "cpu": [0, 0, 0, int(seconds * hz) * machine.cpus, 0, 0, 0, 0],
        "procs_running": len(machine.processes),
        "procs_blocked": 0,
    }


def vmstat_run(machine, work=None, delay=1, count=2):
    """``vmstat delay count`` on the simulated machine: the header, the
    averages since boot, then a line per interval of ``delay`` simulated
    seconds after ``work(i)`` (i = 1 .. count-1) has run, its figures the
    changes over the interval, computed as procps-ng 4.0.2 does. The
    machine's clock (``machine.uptime``, seconds) moves only here; its CPUs
    count as idle (CPU time is not modelled: us sy id wa st read 0 0 100 0 0)."""
    for label, v in (("delay", delay), ("count", count)):
        if v.__class__ is not int or v < 1:
            raise reject(BadSize, v, f"vmstat_run: {label} {v!r} must be an int >= 1")
    uptime = getattr(machine, "uptime", 0) or 1
    machine.uptime = uptime
    mi, vm = meminfo_record(machine), vmstat_record(machine)
    lines = [VMSTAT_HEADER, vmstat_since_boot(mi, vm, _stat(machine, uptime))]
    for i in range(1, count):
        if work is not None:
            work(i)
        machine.uptime += delay
        mi2, vm2 = meminfo_record(machine), vmstat_record(machine)
        delta = {k: vm2[k] - vm[k] for k in ("pgpgin", "pgpgout")}
        lines.append(vmstat_since_boot(mi2, delta, _stat(machine, delay)))
        vm = vm2
    return "".join(lines)
