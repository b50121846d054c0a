"""/proc text of the simulated machine, and readers of the host's real files.

Each formatter reproduces the kernel's seq_printf formats character for
character, so the simulated file and the real one can be read side by side.

Kernel: mm/vmstat.c frag_show_print() (/proc/buddyinfo),
zoneinfo_show_print() (/proc/zoneinfo), pagetypeinfo_show() (/proc/pagetypeinfo).
"""

from __future__ import annotations

__all__ = [
    "buddyinfo",
    "format_buddyinfo",
    "zoneinfo",
    "zoneinfo_zone",
    "parse_buddyinfo",
    "pagetypeinfo",
    "format_pagetypeinfo",
    "parse_pagetypeinfo_blocks",
    "pagesets",
    "parse_zoneinfo",
    "slabinfo",
    "slabinfo_row",
    "parse_slabinfo",
    "maps",
    "maps_line",
    "parse_maps",
    "status",
    "status_field",
    "read_host",
    "host_buddyinfo",
    "host_zoneinfo",
    "host_min_free_kbytes",
    "host_slabinfo",
    "host_self_maps",
    "host_self_status",
    "host_zero_page_experiment",
    "host_tlb_facts",
    "host_tlb_shootdown_experiment",
]


def _zones_of(obj):
    """Populated zones of a Machine, a Zone, or a list of zones."""
    if hasattr(obj, "node_zones"):
        return [z for z in obj.node_zones if z.present_pages]
    if hasattr(obj, "free_area"):
        return [obj]
    return list(obj)


def buddyinfo(machine) -> str:
    """The text of /proc/buddyinfo for a Machine (or one Zone).

    Kernel: mm/vmstat.c frag_show_print(): ``"Node %d, zone %8s "``, then
    ``"%6lu "`` for the nr_free of each order 0..10, then a newline; zones
    without pages are not printed.
    """
    return format_buddyinfo((z.node, z.name, z.nr_free_by_order()) for z in _zones_of(machine))


def format_buddyinfo(rows):
    """buddyinfo text from ``(node, zone_name, [nr_free per order])`` rows."""
    return "".join(
        "Node %d, zone %8s %s\n" % (node, name, "".join("%6lu " % c for c in counts)) for node, name, counts in rows
    )


def zoneinfo_zone(node, name, free, boost, marks, spanned, present, managed, cma, protection):
    """One zone's watermark block of /proc/zoneinfo (see :func:`zoneinfo`)."""
    text = (
        "Node %d, zone %8s" % (node, name)
        + "\n  pages free     %d" % free
        + "\n        boost    %d" % boost
        + "\n        min      %d" % marks["min"]
        + "\n        low      %d" % marks["low"]
        + "\n        high     %d" % marks["high"]
        + "\n        promo    %d" % marks["promo"]
        + "\n        spanned  %d" % spanned
        + "\n        present  %d" % present
        + "\n        managed  %d" % managed
        + "\n        cma      %d" % cma
        + "\n        protection: (%s)" % ", ".join("%d" % p for p in protection)
    )
    return text + "\n"


def zoneinfo(machine) -> str:
    """The watermark part of /proc/zoneinfo for every zone of the node.

    Kernel: mm/vmstat.c zoneinfo_show_print(). Each zone prints its header,
    ``pages free``, ``boost``, the four watermarks, ``spanned``, ``present``,
    ``managed``, ``cma`` and the ``protection:`` (lowmem_reserve) line exactly
    as the kernel does; the per-node statistics, per-zone vm counters and
    pagesets that the real file adds between these blocks are left out.
    Unpopulated zones (Movable, Device) are printed too, as the kernel does.
    """
    zones = machine.node_zones if hasattr(machine, "node_zones") else _zones_of(machine)
    return "".join(
        zoneinfo_zone(
            z.node,
            z.name,
            z.nr_free_pages,
            z.watermark_boost,
            z.watermark,
            z.spanned_pages,
            z.present_pages,
            z.managed_pages,
            0,
            z.lowmem_reserve or [0],
        )
        for z in zones
    )


# ---------------------------------------------------------------- parsers
def pagetypeinfo(obj) -> str:
    """The text of /proc/pagetypeinfo for the zones of a Machine built with
    ``mobility=True`` (or a :class:`memlab.MobilityZone`, or a list of them).

    Kernel: mm/vmstat.c pagetypeinfo_show(): the pageblock order and size,
    then pagetypeinfo_showfree() (``"%-43s "`` header, ``"%6d "`` per order;
    per zone and migratetype ``"Node %4d, zone %8s, type %12s "`` and
    ``"%s%6lu "``, ``>`` marking a list cut off at 100000 entries), then
    pagetypeinfo_showblockcount() (``"\\n%-23s"``, ``"%12s "`` per type;
    ``"Node %d, zone %8s "`` and ``"%12lu "`` per type). The mixed-block
    table needs CONFIG_PAGE_OWNER and is not printed, as on the host.
    """
    from .errors import MemlabError

    zones = _zones_of(obj)
    for z in zones:
        if not hasattr(z, "nr_free_by_type"):
            raise MemlabError(
                f"pagetypeinfo: zone {z.name} keeps one free list per order (memlab.Zone); migratetypes "
                f"exist only in a memlab.MobilityZone (Machine(..., mobility=True))"
            )
    return format_pagetypeinfo((z.node, z.name, z.nr_free_by_type(), z.pageblock_counts()) for z in zones)


def format_pagetypeinfo(rows, names=None):
    """pagetypeinfo text from ``(node, zone_name, free, blocks)`` rows:
    ``free[migratetype][order]`` list lengths and ``blocks[migratetype]``
    pageblock counts; ``names`` are the migratetype names (default: the
    host kernel's five, without CMA)."""
    from .page_alloc.migratetype import MIGRATETYPE_NAMES, pageblock_order

    names = MIGRATETYPE_NAMES if names is None else names
    rows = list(rows)
    out = [f"Page block order: {pageblock_order}\n", f"Pages per block:  {1 << pageblock_order}\n", "\n"]
    out.append("%-43s " % "Free pages count per migrate type at order" + "".join("%6d " % o for o in range(11)) + "\n")
    for node, zone, free, _ in rows:
        for mt, name in enumerate(names):
            counts = "".join((">%6lu " % 100000) if c >= 100000 else "%6lu " % c for c in free[mt])
            out.append("Node %4d, zone %8s, type %12s " % (node, zone, name) + counts + "\n")
    out.append("\n%-23s" % "Number of blocks type " + "".join("%12s " % name for name in names) + "\n")
    for node, zone, _, blocks in rows:
        out.append("Node %d, zone %8s " % (node, zone) + "".join("%12lu " % c for c in blocks) + "\n")
    return "".join(out)


def parse_pagetypeinfo_blocks(text):
    """Both tables of /proc/pagetypeinfo: ``(names, [(node, zone, free,
    blocks), ...])`` in the file's order, ready for
    :func:`format_pagetypeinfo` (a count printed as ``>100000`` reads as
    100000)."""
    names: list[str] = []
    free: dict = {}
    rows = []
    in_blocks = False
    for line in text.splitlines():
        if line.startswith("Number of blocks type"):
            names = line[len("Number of blocks type") :].split()
            in_blocks = True
        elif line.startswith("Node") and ", type " in line:
            head, _, rest = line.partition(", type ")
            words = rest.split()
            key = (int(head.split(",")[0].split()[1]), head.split("zone")[1].strip())
            free.setdefault(key, []).append([int(w.lstrip(">")) for w in words[1:]])
        elif in_blocks and line.startswith("Node"):
            words = line.replace(",", " ").split()
            key = (int(words[1]), words[3])
            rows.append((key[0], key[1], free[key], [int(w) for w in words[4:]]))
    return names, rows


def pagesets(zone, host_format=False) -> str:
    """The ``pagesets`` lines of a :class:`memlab.MobilityZone` in
    /proc/zoneinfo (6.12's layout; ``host_format``: the later layout this
    host's kernel prints, with ``high_min`` and ``high_max``). The ``vm
    stats threshold`` is calculate_normal_threshold() of mm/vmstat.c."""
    from .page_alloc.pcp import pagesets_text

    return pagesets_text(zone.pcp, [normal_threshold(zone.managed_pages, zone.nr_cpus)] * zone.nr_cpus, host_format)


def normal_threshold(managed_pages, nr_cpus):
    """mm/vmstat.c calculate_normal_threshold(): ``2 * fls(nr_cpus) *
    (1 + fls(managed MiB >> 7))`` capped at 125."""
    mem = managed_pages >> (27 - 12)
    threshold = 2 * nr_cpus.bit_length() * (1 + mem.bit_length())
    return min(125, threshold)


def parse_buddyinfo(text):
    """``[(node, zone_name, [nr_free order 0..10]), ...]`` from buddyinfo text."""
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        head, _, rest = line.partition(", zone ")
        node = int(head.split()[1])
        fields = rest.split()
        rows.append((node, fields[0], [int(x) for x in fields[1:]]))
    return rows


def parse_zoneinfo(text):
    """Per zone, the watermark block of zoneinfo text as a dict.

    Returns ``{(node, zone_name): {"free", "boost", "min", "low", "high",
    "promo", "spanned", "present", "managed", "cma", "protection",
    "text"}}`` where ``text`` is the block's exact lines (header to
    protection), for golden comparisons.
    """
    zones = {}
    current = None
    block = []
    for line in text.splitlines():
        if line.startswith("Node "):
            head, _, name = line.partition(", zone ")
            current = {"node": int(head.split()[1]), "name": name.strip()}
            zones[(current["node"], current["name"])] = current
            block = [line]
            continue
        if current is None:
            continue
        words = line.split()
        if line.startswith("  pages free"):
            current["free"] = int(words[2])
            block.append(line)
        elif (
            len(words) == 2
            and words[0] in ("boost", "min", "low", "high", "promo", "spanned", "present", "managed", "cma")
            and words[0] not in current
        ):
            current[words[0]] = int(words[1])
            block.append(line)
        elif line.strip().startswith("protection:"):
            inner = line.split("(", 1)[1].rstrip(")")
            current["protection"] = [int(x) for x in inner.split(",")]
            block.append(line)
            current["text"] = "\n".join(block) + "\n"
    return zones


def read_host(path):
    """The text of a host file, or None when it is missing or unreadable."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def host_buddyinfo():
    """The host's real /proc/buddyinfo text, or None (not Linux, no access)."""
    return read_host("/proc/buddyinfo")


def host_zoneinfo():
    """The host's real /proc/zoneinfo text, or None."""
    return read_host("/proc/zoneinfo")


def host_min_free_kbytes():
    """The host's /proc/sys/vm/min_free_kbytes as an int, or None."""
    text = read_host("/proc/sys/vm/min_free_kbytes")
    return int(text) if text and text.strip().isdigit() else None


SLABINFO_HEADER = (
    "slabinfo - version: 2.1\n"
    "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
    " : tunables <limit> <batchcount> <sharedfactor>"
    " : slabdata <active_slabs> <num_slabs> <sharedavail>\n"
)


def slabinfo_row(name, active_objs, num_objs, size, objperslab, pagesperslab, active_slabs, num_slabs):
    """One /proc/slabinfo row (mm/slab_common.c cache_show(), SLUB: tunables 0 0 0)."""
    return (
        "%-17s %6lu %6lu %6u %4u %4d" % (name, active_objs, num_objs, size, objperslab, pagesperslab)
        + " : tunables %4u %4u %4u" % (0, 0, 0)
        + " : slabdata %6lu %6lu %6lu\n" % (active_slabs, num_slabs, 0)
    )


def slabinfo(machine) -> str:
    """The text of /proc/slabinfo for a Machine: the version 2.1 header, the
    column line, then one row per cache, newest cache first (the kernel's
    slab_caches list order). Kernel: mm/slab_common.c slab_show(),
    cache_show(), mm/slub.c get_slabinfo()."""
    slub = machine.slub
    rows = []
    for cache in reversed(slub.caches):
        active, total, active_slabs, num_slabs = cache.count_objects()
        rows.append(
            slabinfo_row(
                cache.name, active, total, cache.size, cache.objperslab, cache.pagesperslab, active_slabs, num_slabs
            )
        )
    return SLABINFO_HEADER + "".join(rows)


def parse_slabinfo(text):
    """``{name: {"active_objs", "num_objs", "objsize", "objperslab",
    "pagesperslab", "active_slabs", "num_slabs", "sharedavail"}}``."""
    caches = {}
    for line in text.splitlines()[2:]:
        head, _, rest = line.partition(" : tunables ")
        fields = head.split()
        if len(fields) != 6:
            continue
        slabdata = rest.partition(" : slabdata ")[2].split()
        caches[fields[0]] = dict(
            zip(("active_objs", "num_objs", "objsize", "objperslab", "pagesperslab"), map(int, fields[1:]))
        )
        caches[fields[0]].update(zip(("active_slabs", "num_slabs", "sharedavail"), map(int, slabdata)))
    return caches


def host_slabinfo():
    """The host's real /proc/slabinfo text, or None (it needs root)."""
    return read_host("/proc/slabinfo")


def maps_line(start, end, perms, pgoff, dev, inode, name):
    """One /proc/<pid>/maps line (fs/proc/task_mmu.c show_vma_header_prefix()
    then the name padded to column 73)."""
    line = "%08x-%08x %s %08x %02x:%02x %d " % (start, end, perms, pgoff, dev[0], dev[1], inode)
    if name:
        line = line.ljust(72) + " " + name
    return line + "\n"


def maps(process) -> str:
    """The text of /proc/<pid>/maps of a simulated process, character for
    character: one line per VMA, [heap], [stack], [vvar], [vdso] named as
    the kernel names them, and the [vsyscall] page last."""
    mm = process.mm
    out = []
    for vma in mm.vmas:
        name = vma.name
        if vma.file is not None:
            name = vma.file.name
            dev, ino, pgoff = vma.file.dev, vma.file.inode, vma.pgoff << 12
        else:
            dev, ino, pgoff = (0, 0), 0, 0
            if name is None and mm.is_initial_heap(vma):
                name = "[heap]"
        out.append(maps_line(vma.start, vma.end, vma.perms, pgoff, dev, ino, name))
    out.append(maps_line(0xFFFFFFFFFF600000, 0xFFFFFFFFFF601000, "--xp", 0, (0, 0), 0, "[vsyscall]"))
    return "".join(out)


def parse_maps(text):
    """``[(start, end, perms, pgoff, (major, minor), inode, name)]``."""
    rows = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        start, end = (int(x, 16) for x in parts[0].split("-"))
        major, minor = (int(x, 16) for x in parts[3].split(":"))
        rows.append(
            (
                start,
                end,
                parts[1],
                int(parts[2], 16),
                (major, minor),
                int(parts[4]),
                parts[5].strip() if len(parts) > 5 else "",
            )
        )
    return rows


def status(process) -> str:
    """/proc/<pid>/status of a simulated process: Name, State, Tgid, Pid,
    PPid, then the memory block (VmPeak ... VmSwap, HugetlbPages) exactly as
    fs/proc/task_mmu.c task_mem() prints it, then Threads. The other lines
    of the real file (uid/gid, signal masks, capabilities, cpus) are left out."""
    from .mm import VM_EXEC, VM_GROWSDOWN, VM_SHARED, VM_WRITE

    mm = process.mm
    kb = 1 << (PAGE_SHIFT_KB)
    total_vm = mm.total_vm
    data_vm = sum(v.size for v in mm.vmas if v.flags & VM_WRITE and not v.flags & (VM_SHARED | VM_GROWSDOWN)) >> 12
    stack_vm = sum(v.size for v in mm.vmas if v.flags & VM_GROWSDOWN) >> 12
    exec_vm = (
        sum(v.size for v in mm.vmas if v.flags & VM_EXEC and not v.flags & VM_WRITE and not v.flags & VM_GROWSDOWN)
        >> 12
    )
    text = ((mm.end_code + 4095) & ~4095) - (mm.start_code & ~4095)
    lib = (exec_vm << 12) - text
    rss = mm.rss_anon + mm.rss_file

    field = status_field
    lines = [
        f"Name:\t{process.name[:15]}\n",
        "State:\tS (sleeping)\n",
        f"Tgid:\t{process.pid}\n",
        f"Pid:\t{process.pid}\n",
        f"PPid:\t{process.ppid}\n",
        field("VmPeak", max(mm.hiwater_vm, total_vm) * kb),
        field("VmSize", total_vm * kb),
        field("VmLck", 0),
        field("VmPin", 0),
        field("VmHWM", max(mm.hiwater_rss, rss) * kb),
        field("VmRSS", rss * kb),
        field("RssAnon", mm.rss_anon * kb),
        field("RssFile", mm.rss_file * kb),
        field("RssShmem", 0),
        field("VmData", data_vm * kb),
        field("VmStk", stack_vm * kb),
        field("VmExe", text >> 10),
        field("VmLib", lib >> 10),
        field("VmPTE", len(mm.pt_pages) * 4),
        field("VmSwap", 0),
        field("HugetlbPages", 0),
        "Threads:\t1\n",
    ]
    return "".join(lines)


PAGE_SHIFT_KB = 2  # pages -> kB: << (PAGE_SHIFT - 10)


def status_field(name, value_kb):
    """One memory line of /proc/<pid>/status: ``"VmRSS:\t    1624 kB\n"``
    (seq_put_decimal_ull_width(..., 8))."""
    return "%s:\t%8d kB\n" % (name, value_kb)


def host_self_maps():
    """The real /proc/self/maps of this Python process, or None."""
    return read_host("/proc/self/maps")


def host_self_status():
    """The real /proc/self/status of this Python process, or None."""
    return read_host("/proc/self/status")


def _host_rss_anon_kb():
    for line in (host_self_status() or "").splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return None


def host_zero_page_experiment(pages=1000):
    """The zero page on the real kernel: mmap ``pages`` private anonymous
    pages in this Python process, read one byte of each, then write one.
    Returns ``[(step, minor faults, RssAnon kB), ...]`` measured with
    getrusage(RUSAGE_SELF) and /proc/self/status after "mmap", "read" and
    "write", or None where the host cannot show it (not Linux). The reads
    take ``pages`` minor faults and leave RssAnon (almost) unchanged: they
    map the shared zero page (mm/memory.c do_anonymous_page()); the writes
    take ``pages`` more and add a frame each (wp_page_copy())."""
    import mmap
    import resource

    if not hasattr(mmap, "MAP_PRIVATE") or _host_rss_anon_kb() is None:
        return None
    page_size = mmap.PAGESIZE

    def sample(step):
        return (step, resource.getrusage(resource.RUSAGE_SELF).ru_minflt, _host_rss_anon_kb())

    region = mmap.mmap(-1, pages * page_size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        rows = [sample("mmap")]
        total = 0
        for i in range(pages):
            total += region[i * page_size]
        rows.append(sample("read"))
        for i in range(pages):
            region[i * page_size] = 1
        rows.append(sample("write"))
    finally:
        region.close()
    return rows


def _host_tlb_shootdowns():
    """The sum over CPUs of the "TLB shootdowns" line of /proc/interrupts
    (x86: IPIs received to flush a TLB), or None."""
    text = read_host("/proc/interrupts")
    for line in (text or "").splitlines():
        fields = line.split()
        if fields and fields[0] == "TLB:":
            return sum(int(f) for f in fields[1:] if f.isdigit())
    return None


def host_tlb_facts():
    """What the host says about its TLBs: ``{"pcid": bool, "invpcid": bool,
    "meltdown": text of /sys/devices/system/cpu/vulnerabilities/meltdown
    ("Mitigation: PTI" means page-table isolation is on), "tlb_size":
    /proc/cpuinfo's "TLB size" line (AMD CPUs print it) or None,
    "shootdowns": TLB shootdown IPIs since boot}``, or None (not Linux)."""
    cpuinfo = read_host("/proc/cpuinfo")
    if cpuinfo is None:
        return None
    flags = set()
    tlb_size = None
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags" and not flags:
            flags = set(value.split())
        elif key.strip() == "TLB size" and tlb_size is None:
            tlb_size = value.strip()
    meltdown = read_host("/sys/devices/system/cpu/vulnerabilities/meltdown")
    return {
        "pcid": "pcid" in flags,
        "invpcid": "invpcid" in flags,
        "meltdown": meltdown.strip() if meltdown else None,
        "tlb_size": tlb_size,
        "shootdowns": _host_tlb_shootdowns(),
    }


def host_tlb_shootdown_experiment(rounds=2000):
    """TLB shootdowns on the real kernel: this Python process mmaps 4 pages,
    touches two, and munmaps them, ``rounds`` times; first alone, then
    with a second thread spinning (so the address space is live on another
    CPU, which must get an IPI for every flush: arch/x86/mm/tlb.c
    flush_tlb_mm_range() -> flush_tlb_multi()). Returns ``{"alone": n,
    "with a second thread": n}``, the growth of /proc/interrupts' "TLB
    shootdowns" (system-wide, so other programs add noise), or None when
    the host has no such line (not x86 Linux)."""
    import mmap
    import threading
    import time

    if _host_tlb_shootdowns() is None or not hasattr(mmap, "MAP_PRIVATE"):
        return None

    def measure(spinners):
        stop = threading.Event()

        def spin():
            while not stop.is_set():
                pass

        threads = [threading.Thread(target=spin, daemon=True) for _ in range(spinners)]
        for t in threads:
            t.start()
        time.sleep(0.02)
        before = _host_tlb_shootdowns()
        for _ in range(rounds):
            region = mmap.mmap(-1, 4 * mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            region[0] = 1
            region[mmap.PAGESIZE] = 1
            region.close()
        after = _host_tlb_shootdowns()
        stop.set()
        for t in threads:
            t.join()
        return after - before

    return {"alone": measure(0), "with a second thread": measure(1)}
