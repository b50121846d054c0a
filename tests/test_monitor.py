"""/proc/meminfo, free and drop_caches of the simulated machine (issue 12),
against the host's kernel and procps tools."""

import os
import random
import shutil
import subprocess
from types import SimpleNamespace

import pytest

import memlab
from memlab import MemlabError, monitor, procfs

HOST = monitor.host_meminfo()
needs_host = pytest.mark.skipif(HOST is None, reason="no /proc/meminfo here")
# 6.15 added Balloon: after FilePmdMapped (the host runs a newer kernel than the model's 6.12)
NEWER_THAN_612 = {"Balloon"}


@needs_host
def test_the_fields_are_the_kernels_in_its_order():
    host = [name for name in HOST if name not in NEWER_THAN_612]
    ours = list(monitor.MEMINFO_FIELDS)
    assert [n for n in ours if n in host] == host  # the same order
    missing = set(host) - set(ours)
    assert not missing, f"fields of the host's meminfo the model does not print: {missing}"


@needs_host
def test_the_layout_is_the_kernels_character_for_character():
    with open("/proc/meminfo") as f:
        text = f.read()
    assert monitor.render_meminfo(monitor.parse_meminfo(text)) == text  # show_val_kb() widths, the bare counts


@needs_host
def test_mem_available_follows_si_mem_available_on_the_host():
    with open("/proc/zoneinfo") as f:
        zones = procfs.parse_zoneinfo(f.read()).values()
    host = monitor.host_meminfo()  # (read right after: the figures move a little between the two reads)
    zs = [
        SimpleNamespace(lowmem_reserve=z["protection"], managed_pages=z["managed"], wmark_pages=lambda w, z=z: z[w])
        for z in zones
    ]
    pages = {k: v // 4 for k, v in host.items()}
    wmark_low = sum(z["low"] for z in zones)
    got = monitor.mem_available(
        pages["MemFree"],
        monitor.totalreserve_pages(zs),
        wmark_low,
        pages["Active(file)"],
        pages["Inactive(file)"],
        pages["SReclaimable"],
        pages["KReclaimable"] - pages["SReclaimable"],
    )
    assert abs(got - pages["MemAvailable"]) <= max(256, pages["MemAvailable"] // 200)  # within 0.5 %


def _free_on_host(record, flags):
    """The real free(1) reading ``record`` as /proc/meminfo (a private mount namespace)."""
    path = "/tmp/memlab-meminfo-test"
    with open(path, "w") as f:
        f.write(monitor.render_meminfo(record))
    cmd = f"mount --bind {path} /proc/meminfo && free {' '.join(flags)}"
    run = subprocess.run(["unshare", "-m", "sh", "-c", cmd], capture_output=True, text=True)
    return run.stdout if run.returncode == 0 else None


def _can_run_free():
    if HOST is None or shutil.which("free") is None or shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    return _free_on_host(HOST, []) is not None


@pytest.mark.skipif(not _can_run_free(), reason="needs free(1), unshare and root to show it a made-up meminfo")
def test_free_prints_what_procps_free_prints():
    rng = random.Random(4)
    records = [HOST, monitor.meminfo_record(memlab.Machine(ram="1GiB"))]
    for _ in range(12):
        rec = dict(HOST)
        for k in ("MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SReclaimable", "Shmem", "SwapTotal"):
            rec[k] = rng.choice([0, rng.randrange(2000), rng.randrange(10**7), rng.randrange(10**11), 10189, 1048535])
        rec["MemTotal"] = max(rec["MemTotal"], rec["MemFree"], rec["MemAvailable"])
        rec["SwapFree"] = rng.randrange(rec["SwapTotal"] + 1)
        records.append(rec)
    for rec in records:
        for flags in ([], ["-h"], ["-w"], ["-h", "-w"]):
            assert monitor.free(rec, human="-h" in flags, wide="-w" in flags) == _free_on_host(rec, flags), flags


def _workload():
    m = memlab.Machine(ram="256MiB")
    p = m.spawn("reader")
    f = m.create_file("/data", 2 << 20)
    fd = p.sys.open(f)
    buf = p.mmap(length=2 << 20)
    p.sys.read(fd, buf, 2 << 20)  # every page of the file cached, the buffer faulted in
    p.sys.lseek(fd, 0)
    p.sys.read(fd, buf, 64 << 10)  # the first 16 pages read a second time: active
    p.sys.lseek(fd, 1536 << 10)
    p.sys.write(fd, buf, 12 << 10)  # 3 pages dirty (pages 384..386, not mapped below)
    from memlab.mm import MAP_PRIVATE, PROT_READ

    mapped = p.mmap(length=1 << 20, prot=PROT_READ, flags=MAP_PRIVATE, file=f)  # 256 pages of the file mapped ...
    for i in range(0, 40 << 12, 4096):
        p.touch(mapped + i)  # ... 40 of them touched
    from memlab.slub.geometry import SLAB_RECLAIM_ACCOUNT

    cache = m.kmem_cache_create("dentry_like", 192, flags=SLAB_RECLAIM_ACCOUNT)
    objs = [m.kmem_cache_alloc(cache) for _ in range(100)]
    return m, p, f, cache, objs


def test_meminfo_adds_up_and_follows_the_page_cache():
    m, _, _, cache, _ = _workload()
    r = monitor.meminfo_record(m)
    # read twice (16 pages) or read then written (3): active, the rest inactive
    # (the file's inode-table block is in the block device's cache: Buffers, a file page too)
    assert r["Cached"] == 512 * 4 and r["Buffers"] == 4
    assert r["Active(file)"] == 19 * 4 and r["Inactive(file)"] == (493 + 1) * 4
    assert r["Dirty"] == 3 * 4 and r["Mapped"] == 40 * 4 and r["AnonPages"] == 512 * 4
    reclaimable = [cache, *m.vfs.caches]  # ours, and the dentries and inodes of the file lookups
    assert r["SReclaimable"] == sum(c.nr_slabs * c.pagesperslab for c in reclaimable) * 4 > 0
    assert r["Slab"] >= r["SReclaimable"]
    assert (
        r["Active"] == r["Active(anon)"] + r["Active(file)"]
        and r["Inactive"] == r["Inactive(anon)"] + r["Inactive(file)"]
    )
    pgd = 4 * len(m.processes)  # each process's top-level table (not counted in PageTables)
    used = r["MemTotal"] - r["MemFree"]
    parts = r["Cached"] + r["Buffers"] + r["AnonPages"] + r["Slab"] + r["PageTables"] + r["VmallocUsed"] + pgd
    assert used == parts, (used, parts)


def test_mem_available_is_the_formula_on_the_model():
    m, *_ = _workload()
    r = monitor.meminfo_record(m)
    zones = list(m.node_zones)
    expected = monitor.mem_available(
        r["MemFree"] // 4,
        monitor.totalreserve_pages(zones),
        sum(z.wmark_pages("low") for z in zones),
        r["Active(file)"] // 4,
        r["Inactive(file)"] // 4,
        r["SReclaimable"] // 4,
    )
    assert r["MemAvailable"] == expected * 4
    reserve = monitor.totalreserve_pages(zones) * 4
    assert r["MemFree"] - reserve < r["MemAvailable"] < r["MemFree"] - reserve + r["Cached"] + r["SReclaimable"]


def test_drop_caches_frees_exactly_the_clean_unmapped_page_cache_and_the_empty_reclaimable_slabs():
    m, _, _, cache, objs = _workload()
    before = monitor.meminfo_record(m)
    freed = monitor.drop_caches(m, 1)
    after = monitor.meminfo_record(m)
    assert freed == 512 - 3 - 40 + 1  # dirty and mapped pages stay; the metadata block goes
    assert after["Cached"] == (3 + 40) * 4 and after["Dirty"] == before["Dirty"] and after["Buffers"] == 0
    assert after["MemFree"] - before["MemFree"] == freed * 4
    for obj in objs:
        m.kmem_cache_free(cache, obj)
    slabs = cache.nr_slabs
    freed = monitor.drop_caches(m, 2)
    assert freed == slabs * cache.pagesperslab and cache.nr_slabs == 0
    in_use = sum(c.nr_slabs * c.pagesperslab for c in m.vfs.caches)  # the open, mapped file's dentry and inode
    assert monitor.meminfo_record(m)["SReclaimable"] == in_use * 4 and len(m.vfs.dentries) == 1
    with pytest.raises(MemlabError, match="must be 1"):
        monitor.drop_caches(m, 4)


def test_free_of_the_model_reads_its_meminfo():
    m, *_ = _workload()
    r = monitor.meminfo_record(m)
    text = monitor.free(r)
    mem = text.splitlines()[1].split()
    assert [int(x) for x in mem[1:]] == [
        r["MemTotal"],
        r["MemTotal"] - r["MemAvailable"],
        r["MemFree"],
        r["Shmem"],
        r["Buffers"] + r["Cached"] + r["SReclaimable"],
        r["MemAvailable"],
    ]
    with pytest.raises(MemlabError, match="meminfo record"):
        monitor.free("MemTotal: 5")


def test_lookups_grow_the_dentry_and_inode_caches_and_drop_caches_2_reclaims_the_unused():
    m = memlab.Machine(ram="256MiB")
    p = m.spawn("find")
    files = [m.create_file(f"/etc/f{i}", 100) for i in range(200)]
    dcache, icache = m.vfs.caches
    r = monitor.meminfo_record(m)
    assert len(m.vfs.dentries) == len(m.vfs.inodes) == 200  # a dentry and an inode per file
    assert r["SReclaimable"] == (dcache.nr_slabs * dcache.pagesperslab + icache.nr_slabs * icache.pagesperslab) * 4
    assert r["Buffers"] == 4 * len({(f.inode - 1) // 16 for f in files})  # one inode-table block per 16 inodes
    fd = p.sys.open(files[0])  # in use: its dentry stays
    p.sys.read(fd, p.mmap(length=4096), 100)  # and files[0] has a page cached: its inode stays
    before = r["SReclaimable"]
    monitor.drop_caches(m, 2)
    assert len(m.vfs.dentries) == len(m.vfs.inodes) == 1
    assert monitor.meminfo_record(m)["SReclaimable"] < before
    p.sys.close(fd)
    p.sys.open(files[5])  # looked up again: a new dentry and inode
    assert len(m.vfs.dentries) == len(m.vfs.inodes) == 2


def test_sync_writes_the_dirty_pages_to_disk_and_drop_caches_then_reads_them_back():
    m = memlab.Machine(ram="256MiB")
    p = m.spawn("log")
    f = m.create_file("/var/log/app", 0)
    fd = p.sys.open(f)
    buf = p.mmap(length=8192)
    p.write(buf, b"line\n" * 1000)
    p.sys.write(fd, buf, 5000)  # two pages, dirty, the disk still empty
    assert monitor.meminfo_record(m)["Dirty"] == 8 and f.disk_contents() == bytes(5000)
    assert monitor.drop_caches(m, 1) == 1  # dirty pages are not dropped (the metadata block is)
    assert m.sync() == 2 and monitor.meminfo_record(m)["Dirty"] == 0
    assert f.disk_contents() == (b"line\n" * 1000)[:5000]  # on disk
    assert monitor.drop_caches(m, 1) == 2 and monitor.meminfo_record(m)["Cached"] == 0
    p.sys.lseek(fd, 4096)
    assert p.sys.read(fd, buf, 904) == 904 and p.read(buf, 904) == (b"line\n" * 1000)[4096:5000]  # read from disk
    v = monitor.vmstat_record(m)
    assert (v["nr_dirtied"], v["nr_written"], v["pgpgout"], v["drop_pagecache"]) == (2, 2, 8, 2)
    assert v["pgpgin"] >= 4 and v["nr_file_pages"] == 1


@needs_host
def test_the_vmstat_counters_have_the_kernels_names_in_its_order():
    with open("/proc/vmstat") as f:
        host = [line.split()[0] for line in f]
    assert [n for n in host if n in monitor.VMSTAT_FIELDS] == list(monitor.VMSTAT_FIELDS)
    m = memlab.Machine(ram="64MiB")
    text = monitor.vmstat_text(m)
    assert text.splitlines()[0] == f"nr_free_pages {monitor.meminfo_record(m)['MemFree'] // 4}"


def _vmstat_on_host(meminfo_rec, vmstat_rec, stat):
    """The real vmstat(8) reading made-up /proc/meminfo, /proc/vmstat and /proc/stat."""
    with open("/proc/vmstat") as f:
        names = [line.split()[0] for line in f]
    files = {
        "/proc/meminfo": monitor.render_meminfo(meminfo_rec),
        "/proc/vmstat": "".join(f"{n} {vmstat_rec.get(n, 0)}\n" for n in names),
        "/proc/stat": (
            "cpu  " + " ".join(map(str, stat["cpu"])) + "\ncpu0 " + " ".join(map(str, stat["cpu"])) + "\n"
            f"intr {stat['intr']} 0\nctxt {stat['ctxt']}\nbtime 1\nprocesses 9\n"
            f"procs_running {stat['procs_running']}\nprocs_blocked {stat['procs_blocked']}\n"
        ),
    }
    mounts = []
    for i, (target, text) in enumerate(files.items()):
        path = f"/tmp/memlab-vmstat-{i}"
        with open(path, "w") as f:
            f.write(text)
        mounts.append(f"mount --bind {path} {target}")
    run = subprocess.run(
        ["unshare", "-m", "sh", "-c", " && ".join([*mounts, "vmstat"])], capture_output=True, text=True
    )
    return run.stdout if run.returncode == 0 else None


@pytest.mark.skipif(not _can_run_free() or shutil.which("vmstat") is None, reason="needs vmstat(8), unshare and root")
def test_vmstat_prints_what_procps_vmstat_prints():
    rng = random.Random(9)
    for _ in range(25):
        mi = dict(HOST)
        for k in ("MemFree", "Buffers", "Cached", "SReclaimable", "SwapTotal"):
            mi[k] = rng.choice([0, rng.randrange(10**4), rng.randrange(10**7), rng.randrange(10**9)])
        mi["SwapFree"] = rng.randrange(mi["SwapTotal"] + 1)
        vm = {k: rng.randrange(10**9) for k in ("pgpgin", "pgpgout")}
        vm.update({k: rng.randrange(10**6) for k in ("pswpin", "pswpout")})
        ticks = [rng.randrange(10**7) for _ in range(8)] if rng.random() < 0.9 else [0] * 8
        stat = {"cpu": [*ticks, 0, 0], "intr": rng.randrange(10**9), "ctxt": rng.randrange(10**9)}
        stat.update(procs_running=rng.randrange(1, 5), procs_blocked=rng.randrange(3))
        real = _vmstat_on_host(mi, vm, stat)
        assert monitor.VMSTAT_HEADER + monitor.vmstat_since_boot(mi, vm, stat) == real


def test_vmstat_run_shows_the_page_cache_filling_at_the_read_rate():
    m = memlab.Machine(ram="256MiB", cpus=1)
    p = m.spawn("cat")
    f = m.create_file("/big", 8 << 20)
    fd = p.sys.open(f)
    buf = p.mmap(length=1 << 20)
    p.write(buf, bytes(1 << 20))  # (the buffer's pages faulted in before the run)
    text = monitor.vmstat_run(m, lambda i: p.sys.read(fd, buf, 512 << 10), delay=2, count=4)
    lines = text.splitlines()
    assert lines[:2] == monitor.VMSTAT_HEADER.splitlines()
    rows = [[int(x) for x in line.split()] for line in lines[3:]]
    assert [r[8] for r in rows] == [256, 256, 256]  # bi: 512 KiB in 2 s
    assert [b[5] - a[5] for a, b in zip(rows, rows[1:])] == [512, 512]  # cache grows by what was read
    assert [a[3] - b[3] for a, b in zip(rows, rows[1:])] == [512, 512]  # and free shrinks by as much
    assert all(r[12:] == [0, 0, 100, 0, 0] for r in rows)  # (CPU time is not modelled: idle)


def _top_mem_lines_on_host(record):
    path = "/tmp/memlab-meminfo-top"
    with open(path, "w") as f:
        f.write(monitor.render_meminfo(record))
    run = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount --bind {path} /proc/meminfo && top -b -n1"],
        capture_output=True,
        text=True,
    )
    return "".join(run.stdout.splitlines(keepends=True)[3:5]) if run.returncode == 0 else None


@pytest.mark.skipif(not _can_run_free() or shutil.which("top") is None, reason="needs top(1), unshare and root")
def test_tops_memory_lines_are_the_real_tops():
    rng = random.Random(12)
    for _ in range(10):
        rec = dict(HOST)
        for k in ("MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SReclaimable", "SwapTotal"):
            rec[k] = rng.choice([0, rng.randrange(10**5), rng.randrange(10**7), rng.randrange(5 * 10**8)])
        rec["MemTotal"] = max(rec["MemTotal"], rec["MemFree"], rec["MemAvailable"], 1)
        rec["MemAvailable"] = rec["MemAvailable"] or 1
        rec["SwapFree"] = rng.randrange(rec["SwapTotal"] + 1)
        assert monitor.top_memory_lines(rec) == _top_mem_lines_on_host(rec)


@pytest.mark.skipif(shutil.which("top") is None, reason="no top(1) here")
def test_top_rows_are_formatted_as_top_formats_them():
    lines = subprocess.run(["top", "-b", "-n1"], capture_output=True, text=True).stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("PID"))
    assert lines[start] == monitor.TOP_HEADER
    checked = 0
    for row in lines[start + 1 :]:
        f = row.split(None, 11)
        if len(f) < 12 or not (f[2].isdigit() and f[4].isdigit() and f[5].isdigit() and f[6].isdigit()):
            continue  # (a real-time priority or a scaled size like 1.2g: not our case)
        minutes, rest = f[10].split(":")
        hundredths = int(minutes) * 6000 + round(float(rest) * 100)
        args = (int(f[0]), f[1], int(f[2]), int(f[3]), int(f[4]), int(f[5]), int(f[6]), f[7], float(f[8]), float(f[9]))
        assert monitor.top_line(*args, hundredths, f[11]) == row
        checked += 1
    assert checked > 0


@pytest.mark.skipif(shutil.which("ps") is None, reason="no ps(1) here")
def test_ps_aux_rows_are_formatted_as_ps_formats_them():
    lines = subprocess.run(["ps", "aux", "--sort", "-rss"], capture_output=True, text=True).stdout.splitlines()
    assert lines[0] == monitor.PS_AUX_HEADER
    checked = 0
    for row in lines[1:]:
        f = row.split(None, 10)
        if len(f) < 11 or len(f[0]) > 8:
            continue
        args = (f[0], int(f[1]), float(f[2]), float(f[3]), int(f[4]), int(f[5]), f[6], f[7], f[8], f[9], f[10])
        assert monitor.ps_aux_line(*args) == row
        checked += 1
    assert checked > 0


def test_top_and_ps_of_the_machine_list_its_processes_largest_first():
    m = memlab.Machine(ram="256MiB")
    small, big = m.spawn("small"), m.spawn("big")
    big.write(big.mmap(length=8 << 20), bytes(8 << 20))
    small.write(small.mmap(length=1 << 20), bytes(1 << 20))
    top_rows = monitor.top(m).splitlines()
    header = top_rows.index(monitor.TOP_HEADER)
    assert [r.split()[-1] for r in top_rows[header + 1 :]] == ["big", "small"]
    assert top_rows[3:5] == monitor.top_memory_lines(monitor.meminfo_record(m)).splitlines()
    ps_rows = monitor.ps_aux(m).splitlines()
    assert ps_rows[0] == monitor.PS_AUX_HEADER and [r.split()[5] for r in ps_rows[1:]] == ["8192", "1024"]


@needs_host
def test_the_hosts_files_read_into_records():
    vm = monitor.host_vmstat()
    assert vm["nr_free_pages"] > 0 and "pgfault" in vm
    me = monitor.host_status()
    assert me["VmRSS"] > 0 and me["VmRSS"] == me["RssAnon"] + me["RssFile"] + me["RssShmem"]
    assert me["Name"] == "python" or me["Name"].startswith("python")
    table = monitor.host_pagetypeinfo()
    if table is not None:  # (root only)
        with open("/proc/buddyinfo") as f:
            free = procfs.parse_buddyinfo(f.read())
        some = next(iter(table))
        assert len(table[some]) == 11 and some[2] in (
            "Unmovable",
            "Movable",
            "Reclaimable",
            "HighAtomic",
            "CMA",
            "Isolate",
        )
        assert free  # buddyinfo's per-order totals are the sums of these rows (read a moment apart)


def test_a_fresh_machines_reports_are_golden_text():
    from pathlib import Path

    m = memlab.Machine(ram="1GiB")
    p = m.spawn("app")
    f = m.create_file("/data", 1 << 20)
    fd = p.sys.open(f)
    p.sys.read(fd, p.mmap(length=1 << 20), 1 << 20)
    text = monitor.meminfo(m) + "\n" + monitor.free(monitor.meminfo_record(m), wide=True) + "\n" + monitor.top(m)
    text += "\n" + monitor.ps_aux(m) + "\n" + monitor.vmstat_text(m)
    golden = Path(__file__).parent / "data" / "monitor_golden.txt"
    assert text == golden.read_text()


@pytest.mark.skipif(shutil.which("top") is None, reason="no top(1) here")
def test_tops_summary_lines_are_the_real_tops():
    import re

    real = "".join(subprocess.run(["top", "-b", "-n1"], capture_output=True, text=True).stdout.splitlines(True)[:3])
    first, second, third = real.splitlines()
    h, m, s = (int(x) for x in re.search(r"top - (\d+):(\d+):(\d+)", first).groups())
    up = re.search(r" up (?:(\d+) days?, )?(?:\s*(\d+):(\d+)|(\d+) min), ", first).groups()
    uptime = int(up[0] or 0) * 86400 + (int(up[1]) * 3600 + int(up[2]) * 60 if up[1] else int(up[3]) * 60)
    users = int(re.search(r"(\d+) users?,", first).group(1))
    load = [float(x) for x in first.split("load average:")[1].split(",")]
    tasks = [int(x) for x in re.findall(r"(\d+) (?:total|running|sleeping|stopped|zombie)", second)]
    cpu = [float(x) for x in re.findall(r"([\d.]+) (?:us|sy|ni|id|wa|hi|si|st)", third)]
    assert monitor.top_summary_lines((h, m, s), uptime, users, load, tasks, cpu) == real
    assert monitor.top_summary_lines((0, 5, 0), 300, 2, (0, 0, 0), (1, 0, 1, 0, 0), [0] * 8).startswith(
        "top - 00:05:00 up 5 min,  2 users,  load average: 0.00, 0.00, 0.00\n"
    )
    two_days = monitor.top_summary_lines((1, 2, 3), 2 * 86400 + 3 * 3600 + 4 * 60, 1, (1, 2, 3), (1,) * 5, [0] * 8)
    assert two_days.startswith("top - 01:02:03 up 2 days,  3:04,  1 user,  load average: 1.00, 2.00, 3.00\n")
