"""Page reclaim on a machine (memlab.vmscan): kswapd, direct reclaim, the
slab shrinker and the OOM killer."""

import re

import pytest

import memlab
from memlab import OutOfMemory
from memlab.errors import SyscallError
from memlab.vmscan import OOM_SCORE_ADJ_MIN, Vmscan, oom_badness


def _reader(m, size):
    p = m.spawn("reader")
    f = m.create_file("/big", size)
    fd = p.sys.open(f)
    buf = p.mmap(length=1 << 20)
    for _ in range(size >> 20):
        p.sys.read(fd, buf, 1 << 20)
    return p, f, fd


def _above_low(m):
    from memlab.page_alloc import zone_watermark_ok

    return any(zone_watermark_ok(z, 0, z.wmark_pages("low"), 2) for z in m.populated_zones)


def test_reclaim_is_off_unless_asked_for():
    assert memlab.Machine(ram="64MiB").reclaim is False
    assert memlab.Machine(ram="64MiB", mobility=True).reclaim is True
    assert memlab.Machine(ram="64MiB", reclaim=True).reclaim is True


def test_kswapd_wakes_below_the_low_watermark_and_reclaims_clean_page_cache_to_the_high_one():
    m = memlab.Machine(ram="64MiB", reclaim=True)
    _, f, _ = _reader(m, 40 << 20)
    assert m.vm_events["pageoutrun"] == 0 and len(f.page_cache) == 10240  # 40 MiB fits: no reclaim yet
    hog = m.spawn("hog")
    buf = hog.mmap(length=24 << 20)
    for off in range(0, 24 << 20, 4096):  # 6144 pages more than the free memory
        hog.touch(buf + off, write=True)
    ev = m.vm_events
    assert ev["pageoutrun"] >= 1 and ev["pgsteal_kswapd"] > 0
    assert ev["pgsteal_kswapd"] == ev["pgscan_kswapd"]  # clean, unmapped pages: every scanned page went
    assert len(f.page_cache) == 10240 - ev["pgsteal_kswapd"] - ev["pgsteal_direct"]
    # kswapd woke whenever a zone fell below its low watermark and each time stopped above the high
    # one; the allocations after its last run left the node between the two
    assert _above_low(m) and "reclaimed" in m.vmscan.log[-1]
    assert ev["oom_kill"] == 0 and hog.rss_kb == 24 << 10
    for z in m.populated_zones:
        z.check_invariants()


def test_reclaim_takes_the_oldest_pages_first_and_spares_the_active_ones():
    m = memlab.Machine(ram="64MiB", reclaim=True)
    p, f, fd = _reader(m, 32 << 20)
    buf = p.mmap(length=1 << 20)
    p.sys.lseek(fd, 31 << 20)
    p.sys.read(fd, buf, 1 << 20)  # the last MiB read twice: active
    assert len(f.active) == 256
    hog = m.spawn("hog")
    b = hog.mmap(length=32 << 20)
    for off in range(0, 32 << 20, 4096):
        hog.touch(b + off, write=True)
    cached = set(f.page_cache)
    assert cached and set(range(7936, 8192)) <= cached  # the active pages stayed
    assert min(cached) > 0 and not set(range(min(cached))) & cached  # what went, went from the start of the file


def test_dirty_pages_are_written_back_before_they_are_reclaimed():
    m = memlab.Machine(ram="64MiB", reclaim=True)
    p = m.spawn("writer")
    f = m.create_file("/log", 0)
    fd = p.sys.open(f)
    buf = p.mmap(length=1 << 20)
    p.write(buf, b"x" * (1 << 20))
    for _ in range(40):
        p.sys.write(fd, buf, 1 << 20)
    assert len(f.dirty) > 0
    hog = m.spawn("hog")
    b = hog.mmap(length=24 << 20)
    for off in range(0, 24 << 20, 4096):
        hog.touch(b + off, write=True)
    assert m.vm_events["nr_written"] > 0 and m.vm_events["pgsteal_kswapd"] > 0
    assert f.disk_contents()[: 1 << 20] == b"x" * (1 << 20)  # written back, then dropped: the data is safe


def test_mapped_file_pages_are_not_reclaimed():
    m = memlab.Machine(ram="64MiB", reclaim=True)
    p, f, _ = _reader(m, 16 << 20)
    from memlab.mm import MAP_PRIVATE, PROT_READ

    mapped = p.mmap(length=16 << 20, prot=PROT_READ, flags=MAP_PRIVATE, file=f)
    for off in range(0, 4 << 20, 4096):
        p.touch(mapped + off)  # the first 4 MiB mapped
    hog = m.spawn("hog")
    b = hog.mmap(length=40 << 20)
    for off in range(0, 40 << 20, 4096):
        hog.touch(b + off, write=True)
    assert set(range(1024)) <= set(f.page_cache)


def test_the_slab_shrinker_frees_unused_dentries_and_inodes():
    m = memlab.Machine(ram="64MiB", reclaim=True)
    for i in range(2000):
        m.create_file(f"/etc/f{i}", 100)
    dentries = len(m.vfs.dentries)
    freed = m.vmscan.shrink_slab(0)  # priority 0: scan everything, twice over
    assert len(m.vfs.dentries) < dentries and freed > 0
    assert m.vm_events["slabs_scanned"] > 0


def test_the_oom_killer_kills_the_process_with_the_most_memory_and_logs_it_as_the_kernel_does():
    m = memlab.Machine(ram="64MiB", reclaim=True)
    small, protected = m.spawn("small"), m.spawn("sshd")
    for proc, size in ((small, 2 << 20), (protected, 20 << 20)):
        buf = proc.mmap(length=size)
        for off in range(0, size, 4096):
            proc.touch(buf + off, write=True)
    protected.oom_score_adj = OOM_SCORE_ADJ_MIN  # never chosen, however big
    hog = m.spawn("hog")
    b = hog.mmap(length=64 << 20)
    with pytest.raises(OutOfMemory, match=r"OOM killer: killed process \d+ \(hog\), the task that was allocating"):
        for off in range(0, 64 << 20, 4096):
            hog.touch(b + off, write=True)
    line = m.dmesg().splitlines()[-1]
    assert re.fullmatch(
        r"Out of memory: Killed process \d+ \(hog\) total-vm:\d+kB, anon-rss:\d+kB, file-rss:0kB, "
        r"shmem-rss:0kB, UID:0 pgtables:\d+kB oom_score_adj:0",
        line,
    )
    assert m.vm_events["oom_kill"] == 1 and sorted(p.name for p in m.processes.values()) == ["small", "sshd"]
    with pytest.raises(SyscallError, match="killed by the OOM killer"):
        hog.touch(b, write=True)
    for z in m.populated_zones:
        z.check_invariants()


def test_a_caller_that_may_not_sleep_gets_no_direct_reclaim():
    m = memlab.Machine(ram="64MiB", reclaim=True)
    hog = m.spawn("hog")
    b = hog.mmap(length=64 << 20)
    with pytest.raises(OutOfMemory):
        for off in range(0, 64 << 20, 4096):
            hog.touch(b + off, write=True)
    before = m.vm_events["oom_kill"], m.vm_events["allocstall_dma32"]
    with pytest.raises(OutOfMemory, match="slow path"):
        for _ in range(20000):
            m.alloc_pages(0, "GFP_ATOMIC")
    assert (m.vm_events["oom_kill"], m.vm_events["allocstall_dma32"]) == before


def test_oom_badness_is_rss_plus_page_tables_plus_the_adjustment():
    m = memlab.Machine(ram="64MiB")
    p = m.spawn("p")
    buf = p.mmap(length=1 << 20)
    for off in range(0, 1 << 20, 4096):
        p.touch(buf + off, write=True)
    base = 256 + len(p.mm.pagetables.pt_pages)
    assert oom_badness(p, m.totalram_pages) == base
    p.oom_score_adj = 500
    assert oom_badness(p, m.totalram_pages) == base + 500 * (m.totalram_pages // 1000)
    p.oom_score_adj = OOM_SCORE_ADJ_MIN
    assert oom_badness(p, m.totalram_pages) is None


def test_inactive_is_low_uses_the_square_root_ratio():
    assert Vmscan.inactive_is_low(100, 101) and not Vmscan.inactive_is_low(100, 100)
    one_gib = 1 << 18
    # 1 GiB of file LRU pages: ratio int_sqrt(10) = 3
    assert Vmscan.inactive_is_low(one_gib // 4 - 1, 3 * one_gib // 4 + 1)
    assert not Vmscan.inactive_is_low(one_gib // 4 + 1, 3 * one_gib // 4 - 1)


def test_proc_vmstat_reports_reclaim_and_compaction_in_the_kernels_order():
    from memlab import monitor

    m = memlab.Machine(ram="64MiB", mobility=True)
    _reader(m, 40 << 20)
    hog = m.spawn("hog")
    b = hog.mmap(length=28 << 20)
    for off in range(0, 28 << 20, 4096):
        hog.touch(b + off, write=True)
    hog.munmap(b + (4 << 20), 4 << 20)
    results = m.compact_memory()
    v = monitor.vmstat_record(m)
    assert v["pgsteal_kswapd"] == m.vm_events["pgsteal_kswapd"] > 0 and v["pageoutrun"] >= 1
    assert v["pgmigrate_success"] == sum(r.migrated_pages for r in results.values())
    assert v["compact_migrate_scanned"] == sum(r.migrate_scanned for r in results.values()) > 0
    host = monitor.host_vmstat()
    if host is None:
        pytest.skip("no /proc/vmstat")
    names = [n for n in host if n in v]
    assert names == [n for n in monitor.VMSTAT_FIELDS if n in host]  # the host's order
