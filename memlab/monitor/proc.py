"""/proc/meminfo and /proc/vmstat of the simulated machine, the host's, and drop_caches.

:func:`meminfo` is ``/proc/meminfo`` of a simulated :class:`memlab.Machine`
as fs/proc/meminfo.c meminfo_proc_show() prints it on x86-64 (Linux 6.12,
with the configuration of the course's host: no HIGHMEM, ZSWAP, no
MEMORY_FAILURE, THP, no CMA, no unaccepted memory; 6.15 added ``Balloon:``
after ``FilePmdMapped:``, which this machine's 6.18 kernel prints):
every field from the model, ``MemAvailable`` as si_mem_available()
(mm/show_mem.c) computes it. :func:`parse_meminfo` reads the text back and
:func:`host_meminfo` reads the real machine's file into the same record.
:func:`vmstat_record` is the part of /proc/vmstat the model keeps.

:func:`drop_caches` is ``echo 1|2|3 > /proc/sys/vm/drop_caches``:
drop_pagecache_sb() drops the clean page-cache pages no process maps
(invalidate_mapping_pages(): dirty, mapped or locked pages stay), and mode
2 shrinks the dentry and inode caches and the reclaimable slab caches
(drop_slab()). Nothing here ever writes the host's /proc/sys.

``Buffers`` is the block device's page cache (the inode-table blocks the
file lookups read, :mod:`memlab.vfs`), ``SReclaimable`` holds the dentry
and inode caches. Where the model has no counterpart the field is 0 (a
simplification, said in lesson 08): SwapCached, Swap (no swap), Zswap,
Shmem, KernelStack (tasks have no kernel stacks in the model), Percpu,
huge pages. Every page is on an LRU list as the kernel puts it there:
page-cache pages inactive until read or written a second time
(folio_mark_accessed()), anonymous pages inactive (since 5.9 new anonymous
pages start on the inactive list); reclaim, which would move pages between
the lists, is not modelled.
"""

from __future__ import annotations

from ..errors import BadSize, reject
from ..procfs import read_host
from ..units import PAGE_SHIFT
from ..vmscan import mapped_file_pfns

__all__ = [
    "MEMINFO_FIELDS",
    "meminfo_record",
    "meminfo",
    "render_meminfo",
    "parse_meminfo",
    "host_meminfo",
    "mem_available",
    "totalreserve_pages",
    "drop_caches",
    "VMSTAT_FIELDS",
    "vmstat_record",
    "vmstat_text",
    "parse_vmstat",
    "host_vmstat",
    "parse_status",
    "host_status",
    "parse_pagetypeinfo",
    "host_pagetypeinfo",
]

MEMINFO_FIELDS = (
    "MemTotal",
    "MemFree",
    "MemAvailable",
    "Buffers",
    "Cached",
    "SwapCached",
    "Active",
    "Inactive",
    "Active(anon)",
    "Inactive(anon)",
    "Active(file)",
    "Inactive(file)",
    "Unevictable",
    "Mlocked",
    "SwapTotal",
    "SwapFree",
    "Zswap",
    "Zswapped",
    "Dirty",
    "Writeback",
    "AnonPages",
    "Mapped",
    "Shmem",
    "KReclaimable",
    "Slab",
    "SReclaimable",
    "SUnreclaim",
    "KernelStack",
    "PageTables",
    "SecPageTables",
    "NFS_Unstable",
    "Bounce",
    "WritebackTmp",
    "CommitLimit",
    "Committed_AS",
    "VmallocTotal",
    "VmallocUsed",
    "VmallocChunk",
    "Percpu",
    "AnonHugePages",
    "ShmemHugePages",
    "ShmemPmdMapped",
    "FileHugePages",
    "FilePmdMapped",
    "HugePages_Total",
    "HugePages_Free",
    "HugePages_Rsvd",
    "HugePages_Surp",
    "Hugepagesize",
    "Hugetlb",
    "DirectMap4k",
    "DirectMap2M",
    "DirectMap1G",
)
#: fields printed as a bare count (hugetlb_report_meminfo()), not in kB
_COUNTS = {"HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp"}
#: (VMALLOC_END - VMALLOC_START) >> 10 with 4-level paging, as the host prints it
VMALLOC_TOTAL_KB = 34359738367


def _kb(pages):
    return pages << (PAGE_SHIFT - 10)


def totalreserve_pages(zones):
    """calculate_totalreserve_pages() (mm/page_alloc.c): per zone, its
    largest lowmem_reserve plus its high watermark, at most its managed
    pages; summed. ``zones``: objects with ``lowmem_reserve``,
    ``managed_pages`` and ``wmark_pages("high")``."""
    total = 0
    for z in zones:
        reserve = max([0, *z.lowmem_reserve]) + z.wmark_pages("high")
        total += min(reserve, z.managed_pages)
    return total


def mem_available(free, totalreserve, wmark_low, active_file, inactive_file, sreclaimable, misc_reclaimable=0):
    """si_mem_available() (mm/show_mem.c), in pages: free pages less the
    reserves, plus the page cache and the reclaimable kernel memory, each
    less the smaller of its half and the sum of the zones' low watermarks
    (part of it is in use and cannot be freed); never below 0."""
    available = free - totalreserve
    pagecache = active_file + inactive_file
    pagecache -= min(pagecache // 2, wmark_low)
    reclaimable = sreclaimable + misc_reclaimable
    reclaimable -= min(reclaimable // 2, wmark_low)
    return max(0, available + pagecache + reclaimable)


# ------------------------------------------------------------------ the model
def _page_cache(machine):
    """(cached, dirty, active, mapped) page counts of the machine's page cache."""
    cached = dirty = active = 0
    for f in machine.cached_files.values():
        cached += len(f.page_cache)
        dirty += len(f.dirty & f.page_cache.keys())
        active += len(f.active & f.page_cache.keys())
    return cached, dirty, active, len(mapped_file_pfns(machine))


def _slab_pages(machine):
    """(reclaimable, unreclaimable) pages of SLUB's slabs (NR_SLAB_*_B)."""
    from ..slub.geometry import SLAB_RECLAIM_ACCOUNT

    slub = machine.__dict__.get("slub")  # (not created just to be counted)
    rec = unrec = 0
    for cache in slub.caches if slub is not None else ():
        pages = cache.nr_slabs * cache.pagesperslab
        if cache.flags & SLAB_RECLAIM_ACCOUNT:
            rec += pages
        else:
            unrec += pages
    return rec, unrec


def _direct_map(total_kb):
    """DirectMap4k/2M/1G (a simplification: the first 2 MiB in 4 KiB
    pages, the rest of the first GiB in 2 MiB pages, the rest in 1 GiB
    pages; the real split depends on the firmware's memory map)."""
    small = min(total_kb, 2048)
    mid = min(max(total_kb, 0), 1 << 20) - small
    return small, max(mid, 0), max(total_kb - (1 << 20), 0)


def meminfo_record(machine):
    """/proc/meminfo of ``machine`` as ``{field: value}`` (kB, or a count
    for the HugePages_ lines), in the kernel's order."""
    zones = list(machine.node_zones)
    totalram = sum(z.managed_pages for z in zones)
    free = sum(z.nr_free_pages for z in zones if z.managed_pages)
    cached, dirty, active_file, mapped = _page_cache(machine)
    vfs = machine.__dict__.get("vfs")
    buffers = vfs.buffers if vfs is not None else 0
    inactive_file = cached + buffers - active_file  # (the block device's pages are file pages too)
    anon = sum(p.mm.rss_anon for p in machine.processes.values())
    page_tables = sum(len(p.mm.pt_pages) for p in machine.processes.values())
    sreclaimable, sunreclaim = _slab_pages(machine)
    kernel = machine.__dict__.get("kernel")
    vmalloc = sum(len(a.pages) for a in kernel.vmap_areas if a.pages) if kernel is not None else 0
    wmark_low = sum(z.wmark_pages("low") for z in zones)
    available = mem_available(free, totalreserve_pages(zones), wmark_low, active_file, inactive_file, sreclaimable)
    committed = sum(_committed_pages(p) for p in machine.processes.values())
    total_kb = _kb(machine.nr_pages)
    d4k, d2m, d1g = _direct_map(total_kb)
    values = {
        "MemTotal": _kb(totalram),
        "MemFree": _kb(free),
        "MemAvailable": _kb(available),
        "Buffers": _kb(buffers),
        "Cached": _kb(cached),
        "Active": _kb(active_file),
        "Inactive": _kb(anon + inactive_file),
        "Inactive(anon)": _kb(anon),
        "Active(file)": _kb(active_file),
        "Inactive(file)": _kb(inactive_file),
        "Dirty": _kb(dirty),
        "AnonPages": _kb(anon),
        "Mapped": _kb(mapped),
        "KReclaimable": _kb(sreclaimable),
        "Slab": _kb(sreclaimable + sunreclaim),
        "SReclaimable": _kb(sreclaimable),
        "SUnreclaim": _kb(sunreclaim),
        "PageTables": _kb(page_tables),
        "CommitLimit": _kb(totalram // 2),  # vm_commit_limit(): overcommit_ratio 50 %, no swap, no huge pages
        "Committed_AS": _kb(committed),
        "VmallocTotal": VMALLOC_TOTAL_KB,
        "VmallocUsed": _kb(vmalloc),
        "Hugepagesize": 2048,
        "DirectMap4k": d4k,
        "DirectMap2M": d2m,
        "DirectMap1G": d1g,
    }
    return {name: values.get(name, 0) for name in MEMINFO_FIELDS}


def _committed_pages(process):
    """The process's share of vm_committed_as: its private writable
    mappings (VM_ACCOUNT), in pages (a simplification: no MAP_NORESERVE)."""
    from ..mm import VM_SHARED, VM_WRITE

    return sum(v.size >> PAGE_SHIFT for v in process.mm.vmas if v.flags & VM_WRITE and not v.flags & VM_SHARED)


def render_meminfo(record):
    """The text of /proc/meminfo for a record: ``show_val_kb()`` lines
    (the name padded to 16 columns, the value right-aligned in 8, " kB"),
    the hugetlb counts without a unit."""
    lines = []
    for name, value in record.items():
        label = f"{name}:"
        if name in _COUNTS:
            lines.append(f"{label:<16}{value:>8}")
        else:
            lines.append(f"{label:<16}{value:>8} kB")
    return "\n".join(lines) + "\n"


def meminfo(machine) -> str:
    """/proc/meminfo of a simulated machine."""
    return render_meminfo(meminfo_record(machine))


def parse_meminfo(text):
    """``{field: value}`` from /proc/meminfo text (values in kB, counts as
    they are), in the file's order."""
    out = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if rest.strip():
            out[name.strip()] = int(rest.split()[0])
    return out


def host_meminfo(path="/proc/meminfo"):
    """The real machine's /proc/meminfo as a record, or None where it
    cannot be read."""
    try:
        with open(path) as f:
            return parse_meminfo(f.read())
    except OSError:
        return None


# ------------------------------------------------------------- /proc/vmstat
#: the /proc/vmstat counters the model keeps, in mm/vmstat.c's order (vmstat_text[]: zone, node, then events)
VMSTAT_FIELDS = (
    "nr_free_pages",
    "nr_inactive_anon",
    "nr_active_anon",
    "nr_inactive_file",
    "nr_active_file",
    "nr_slab_reclaimable",
    "nr_slab_unreclaimable",
    "nr_anon_pages",
    "nr_mapped",
    "nr_file_pages",
    "nr_dirty",
    "nr_writeback",
    "nr_dirtied",
    "nr_written",
    "nr_page_table_pages",
    "pgpgin",
    "pgpgout",
    "allocstall_dma",
    "allocstall_dma32",
    "allocstall_normal",
    "pgdeactivate",
    "pgfault",
    "pgmajfault",
    "pgrefill",
    "pgsteal_kswapd",
    "pgsteal_direct",
    "pgscan_kswapd",
    "pgscan_direct",
    "pgscan_file",
    "pgsteal_file",
    "slabs_scanned",
    "pageoutrun",
    "drop_pagecache",
    "drop_slab",
    "oom_kill",
    "pgmigrate_success",
    "compact_migrate_scanned",
    "compact_free_scanned",
    "compact_isolated",
    "compact_stall",
    "compact_fail",
    "compact_success",
    "compact_daemon_wake",
    "compact_daemon_migrate_scanned",
    "compact_daemon_free_scanned",
)
_ZONE_EVENTS = ("pgmigrate_success", "compact_migrate_scanned", "compact_free_scanned", "compact_isolated")


def vmstat_record(machine):
    """``{counter: value}`` of /proc/vmstat for the counters the model keeps
    (:data:`VMSTAT_FIELDS`): the nr_* gauges in pages, from the same figures
    as /proc/meminfo, and the events since boot (faults of the processes
    alive now)."""
    r = meminfo_record(machine)
    ev = machine.vm_events
    procs = machine.processes.values()
    pages = {k: v >> 2 for k, v in r.items() if k not in _COUNTS}
    values = {
        "nr_free_pages": pages["MemFree"],
        "nr_inactive_anon": pages["Inactive(anon)"],
        "nr_active_anon": pages["Active(anon)"],
        "nr_inactive_file": pages["Inactive(file)"],
        "nr_active_file": pages["Active(file)"],
        "nr_slab_reclaimable": pages["SReclaimable"],
        "nr_slab_unreclaimable": pages["SUnreclaim"],
        "nr_anon_pages": pages["AnonPages"],
        "nr_mapped": pages["Mapped"],
        "nr_file_pages": pages["Cached"] + pages["Buffers"],
        "nr_dirty": pages["Dirty"],
        "nr_writeback": pages["Writeback"],
        "nr_page_table_pages": pages["PageTables"],
        "pgfault": sum(p.mm.min_flt + p.mm.maj_flt for p in procs),
        "pgmajfault": sum(p.mm.maj_flt for p in procs),
    }
    for name in _ZONE_EVENTS:  # counted by each zone's compaction (memlab.page_alloc.compact)
        values[name] = ev[name] + sum(getattr(z, "events", {}).get(name, 0) for z in machine.populated_zones)
    return {name: values.get(name, ev[name]) for name in VMSTAT_FIELDS}


def vmstat_text(machine):
    """/proc/vmstat (the counters the model keeps): ``name value`` lines."""
    return "".join(f"{k} {v}\n" for k, v in vmstat_record(machine).items())


# ------------------------------------------------------------- drop_caches
def drop_caches(machine, mode):
    """``echo mode > /proc/sys/vm/drop_caches`` on the simulated machine:
    1 drops the clean page-cache pages no process maps, 2 the empty slabs of
    the reclaimable slab caches, 3 both. Returns the pages freed."""
    if mode not in (1, 2, 3) or mode.__class__ is not int:
        raise reject(BadSize, mode, f"drop_caches: {mode!r} must be 1 (page cache), 2 (slab) or 3 (both)")
    freed = 0
    machine.vm_events["drop_pagecache"] += mode & 1
    machine.vm_events["drop_slab"] += mode >> 1
    vfs = machine.__dict__.get("vfs")
    if mode & 1:
        if vfs is not None:
            freed += vfs.drop_blocks()
        mapped = mapped_file_pfns(machine)
        for f in list(machine.cached_files.values()):
            for index, pfn in list(f.page_cache.items()):
                if index in f.dirty or pfn in mapped:
                    continue  # invalidate_mapping_pages() leaves dirty and mapped folios
                del f.page_cache[index]
                f.active.discard(index)
                f.referenced.discard(index)
                machine.free_pages(pfn, 0)
                freed += 1
            if not f.page_cache:
                machine.cached_files.pop(id(f), None)
    if mode & 2:
        before = sum(_slab_pages(machine))
        if vfs is not None:
            vfs.shrink()  # the dcache and icache shrinkers (they shrink their own slabs)
        from ..slub.geometry import SLAB_RECLAIM_ACCOUNT

        slub = machine.__dict__.get("slub")
        for cache in slub.caches if slub is not None else ():
            if cache.flags & SLAB_RECLAIM_ACCOUNT:
                slub.kmem_cache_shrink(cache)
        freed += before - sum(_slab_pages(machine))
    return freed


# ------------------------------------------------------------- the host's files
def parse_vmstat(text):
    """``{counter: value}`` from /proc/vmstat text, in the file's order."""
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            out[name] = int(value)
    return out


def host_vmstat():
    """The real machine's /proc/vmstat, or None where it cannot be read."""
    text = read_host("/proc/vmstat")
    return None if text is None else parse_vmstat(text)


def parse_status(text):
    """``{field: value}`` from /proc/<pid>/status text: the memory fields
    (``Vm*``, ``Rss*``, ``HugetlbPages``) as ints in kB, the others as
    their text."""
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        value = value.strip()
        if value.endswith(" kB") and value[:-3].strip().isdigit():
            out[name] = int(value[:-3])
        else:
            out[name] = value
    return out


def host_status(pid="self"):
    """/proc/<pid>/status of a real process as a record, or None."""
    text = read_host(f"/proc/{pid}/status")
    return None if text is None else parse_status(text)


def parse_pagetypeinfo(text):
    """The free-page table of /proc/pagetypeinfo: ``{(node, zone,
    migratetype): [free blocks of order 0, 1, ... 10]}``."""
    out = {}
    for line in text.splitlines():
        if not line.startswith("Node") or ", type " not in line:
            continue
        head, _, rest = line.partition(", type ")
        words = rest.split()
        node = int(head.split(",")[0].split()[1])
        zone = head.split("zone")[1].strip()
        if all(w.isdigit() for w in words[1:]) and len(words) > 2:
            out[(node, zone, words[0])] = [int(w) for w in words[1:]]
    return out


def host_pagetypeinfo():
    """The real machine's /proc/pagetypeinfo free-page table, or None
    (the file is readable by root only)."""
    text = read_host("/proc/pagetypeinfo")
    return None if text is None else parse_pagetypeinfo(text)
