"""Address spaces: layout, page walks, faults, brk/mmap/munmap/mprotect,
uaccess, /proc/<pid>/maps and status, vmalloc, ioremap, i386 kmap."""

from pathlib import Path

import pytest

import memlab
from memlab import PAGE_SIZE, Machine, procfs
from memlab.mm import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    PTE_RW,
    TASK_SIZE_MAX,
    X86_64_LAYOUT,
    ZERO_PFN,
    File,
    I386Highmem,
    SegmentationFault,
    SyscallError,
    access_ok,
    pgtable_indices,
)

DATA = Path(__file__).parent / "data"
RW = PROT_READ | PROT_WRITE


@pytest.fixture
def m():
    return Machine(ram="256MiB")


@pytest.fixture
def p(m):
    return m.spawn(
        "hello",
        text=0x1234,
        data=0x300,
        bss=0x5000,
        symbols={"main": ("TEXT", 0x139), "counter": ("DATA", 0x10), "buffer": ("BSS", 0x40)},
    )


def test_layout_constants():
    assert TASK_SIZE_MAX == 0x7FFFFFFFF000
    starts = {name.split(" (")[0]: start for start, _, name in X86_64_LAYOUT}
    assert starts["direct mapping of all physical memory"] == 0xFFFF888000000000 == memlab.layout.PAGE_OFFSET
    assert starts["vmalloc/ioremap space"] == 0xFFFFC90000000000
    assert starts["virtual memory map: struct page array"] == 0xFFFFEA0000000000
    assert starts["kernel text mapping"] == 0xFFFFFFFF80000000
    assert starts["module mapping space"] == memlab.layout.MODULES_VADDR == 0xFFFFFFFFC0000000  # RANDOMIZE_BASE
    for (_s1, e1, _), (s2, _, _) in zip(X86_64_LAYOUT, X86_64_LAYOUT[1:]):
        assert e1 + 1 == s2  # the table covers the 64-bit space without gaps


def test_pgtable_indices_known_addresses():
    assert pgtable_indices(0x0000555555554000) == (170, 341, 170, 340, 0)
    assert pgtable_indices(0x00007FFFFFFFF000) == (255, 511, 511, 511, 0)
    assert pgtable_indices(0xFFFF888000000000) == (273, 0, 0, 0, 0)
    assert pgtable_indices(0xFFFFFFFF81000123) == (511, 510, 8, 0, 0x123)


def test_access_ok():
    assert access_ok(0x1000, 100)
    assert not access_ok(TASK_SIZE_MAX - 10, 100)
    assert not access_ok(0xFFFF888000000000, 8)


def test_process_layout_no_aslr(p):
    mm = p.mm
    assert mm.start_code == 0x555555554000
    assert p.segment_of(p.symbols["main"][1]) == "TEXT"
    assert p.segment_of(p.symbols["counter"][1]) == "DATA"
    assert p.segment_of(p.symbols["buffer"][1]) == "BSS"
    stack = [v for v in mm.vmas if v.name == "[stack]"][0]
    assert (stack.start, stack.end) == (0x7FFFFFFDE000, 0x7FFFFFFFF000)
    assert mm.mmap_base == 0x7FFFF7FFF000
    assert p.segment_of(0xFFFF888000001000).startswith("kernel: direct mapping")


def test_aslr_is_seeded(m):
    a = m.spawn("x", aslr=True, seed=5)
    b = m.spawn("x", aslr=True, seed=5)
    c = m.spawn("x", aslr=True, seed=6)
    assert a.mm.start_code == b.mm.start_code != c.mm.start_code
    assert a.mm.start_brk == b.mm.start_brk


def test_maps_golden(p):
    assert procfs.maps(p) == (
        "555555554000-555555556000 r-xp 00000000 fe:00 %d                     /home/student/hello\n"
        "555555556000-555555557000 rw-p 00002000 fe:00 %d                     /home/student/hello\n"
        "555555557000-55555555c000 rw-p 00000000 00:00 0 \n"
        "7ffff7ff9000-7ffff7ffd000 r--p 00000000 00:00 0                          [vvar]\n"
        "7ffff7ffd000-7ffff7fff000 r-xp 00000000 00:00 0                          [vdso]\n"
        "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n"
        "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
        % (p.exe.inode, p.exe.inode)
    )


@pytest.mark.parametrize("source", ["stored", "live"])
def test_maps_format_matches_real_file(source):
    text = (DATA / "host_self_maps_6.18.txt").read_text() if source == "stored" else procfs.host_self_maps()
    if text is None:
        pytest.skip("no /proc/self/maps")
    rebuilt = "".join(procfs.maps_line(*row) for row in procfs.parse_maps(text))
    assert rebuilt == text


def test_status_format_matches_real_file():
    text = (DATA / "host_self_status_mem_6.18.txt").read_text()
    for line in text.splitlines(keepends=True):
        name, value = line.split(":\t")
        assert procfs.status_field(name, int(value.split()[0])) == line


def test_status_counts(p):
    text = procfs.status(p)
    assert "VmExe:\t       8 kB\n" in text and "VmStk:\t     132 kB\n" in text
    assert "VmRSS:\t       0 kB\n" in text
    addr = p.mmap(length=0x4000)
    for i in range(3):
        p.touch(addr + i * 4096, write=True)
    text = procfs.status(p)
    assert "RssAnon:\t      12 kB\n" in text and "VmRSS:\t      12 kB\n" in text
    assert "VmPTE:\t      12 kB\n" in text  # one PUD, one PMD, one PTE table


def test_demand_paging_and_fault_counters(m, p):
    addr = p.mmap(length=3 * 4096)
    steps, result = p.mm.walk(addr)
    assert "demand paging" in result["fault"]
    free, tables = m.nr_free_pages, len(p.mm.pt_pages)
    assert p.touch(addr) == "minor"  # a read maps the shared zero page: no frame, no RSS
    assert m.nr_free_pages == free - (len(p.mm.pt_pages) - tables) and p.mm.rss_anon == 0
    assert p.mm.walk(addr)[1].pfn == ZERO_PFN
    assert p.touch(addr + 100, write=True) == "minor"  # the first write: a page of its own (wp_page_copy)
    assert p.touch(addr + 200, write=True) == "hit"
    assert p.mm.min_flt == 2 and m.nr_free_pages < free and p.mm.rss_anon == 1
    steps, result = p.mm.walk(addr + 0x123)
    assert [s["level"] for s in steps] == ["PGD", "PUD", "PMD", "PTE"]
    assert all(s["present"] for s in steps)
    assert result["phys"] & 0xFFF == 0x123
    assert steps[3]["entry"] >> 12 & ((1 << 40) - 1) == result["pfn"]
    assert p.read(addr, 4) == b"\x00" * 4  # anonymous memory starts zeroed


def test_file_mapping_major_then_minor(m):
    f = File("/usr/lib/libdemo.so", 0x8000)
    p1 = m.spawn("one")
    p2 = m.spawn("two")
    a = p1.mmap(length=0x8000, prot=PROT_READ | PROT_EXEC, flags=MAP_PRIVATE, file=f)
    b = p2.mmap(length=0x8000, prot=PROT_READ, flags=MAP_PRIVATE, file=f)
    assert p1.touch(a, execute=True) == "major"
    assert p2.touch(b) == "minor"  # already in the page cache
    assert p1.mm.maj_flt == 1 and p2.mm.min_flt == 1
    assert "RssFile:\t       4 kB" in procfs.status(p2)


def test_segfaults(p):
    with pytest.raises(SegmentationFault) as err:
        p.touch(0x1000)
    assert err.value.si_code == "SEGV_MAPERR"
    with pytest.raises(SegmentationFault) as err:
        p.touch(p.symbols["main"][1], write=True)  # write to text
    assert err.value.si_code == "SEGV_ACCERR"
    with pytest.raises(SegmentationFault, match="ring 3") as err:
        p.touch(0xFFFF888000001000)  # canonical kernel address: not mapped for the user
    assert (err.value.si_code, err.value.address) == ("SEGV_MAPERR", 0xFFFF888000001000)
    with pytest.raises(SegmentationFault, match="general protection") as err:
        p.touch(0x0000800000000000)  # non-canonical: #GP, si_code SI_KERNEL, si_addr 0
    assert (err.value.si_code, err.value.address) == ("SI_KERNEL", 0)
    ro = p.mmap(length=4096, prot=PROT_READ)
    with pytest.raises(SegmentationFault, match="SEGV_ACCERR"):
        p.touch(ro, execute=True)


def test_stack_grows_down_within_limit(p):
    stack = [v for v in p.mm.vmas if v.name == "[stack]"][0]
    start = stack.start
    assert p.touch(start - 0x3000, write=True) == "minor"
    assert stack.start == start - 0x3000
    with pytest.raises(SegmentationFault):
        p.touch(stack.end - (9 << 20))  # beyond RLIMIT_STACK (8 MiB)


def test_brk_grows_and_shrinks_heap(m, p):
    base = p.mm.brk
    assert p.brk() == base
    assert p.brk(base + 0x21000) == base + 0x21000
    assert "[heap]" in procfs.maps(p)
    p.touch(base + 0x20000, write=True)
    free = m.nr_free_pages
    assert p.brk(base + 0x1000) == base + 0x1000
    assert m.nr_free_pages == free + 1  # the touched heap page went back
    with pytest.raises(SegmentationFault):
        p.touch(base + 0x20000)
    assert p.sbrk(0x1000) == base + 0x1000


def test_mmap_top_down_and_fixed(p):
    a = p.mmap(length=0x3000)
    b = p.mmap(length=0x1000)
    assert b + 0x1000 == a and a + 0x3000 <= p.mm.mmap_base
    c = p.mmap(addr=0x10000000, length=0x2000, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    assert c == 0x10000000
    with pytest.raises(SyscallError) as err:
        p.mmap(addr=0x10000001, length=0x1000, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    assert err.value.errno == "EINVAL"
    with pytest.raises(SyscallError) as err:
        p.mmap(addr=0xFFFF888000000000, length=0x1000, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    assert err.value.errno == "ENOMEM"
    with pytest.raises(SyscallError, match="EINVAL"):
        p.mmap(length=-4096)
    with pytest.raises(SyscallError, match="EINVAL"):
        p.mmap(length=4096, flags=MAP_ANONYMOUS)


def test_munmap_splits_and_mprotect_merges(p):
    a = p.mmap(length=0x5000)
    n = len(p.mm.vmas)
    p.munmap(a + 0x1000, 0x1000)  # punch a hole: one VMA becomes two
    assert len(p.mm.vmas) == n + 1
    with pytest.raises(SyscallError, match="EINVAL"):
        p.munmap(a + 1, 0x1000)
    with pytest.raises(SyscallError, match="EINVAL"):
        p.munmap(a, 0)
    b = p.mmap(length=0x4000)
    n = len(p.mm.vmas)
    p.mprotect(b + 0x1000, 0x1000, PROT_READ)  # split into three
    assert len(p.mm.vmas) == n + 2
    p.mprotect(b + 0x1000, 0x1000, RW)  # and merged back
    assert len(p.mm.vmas) == n
    with pytest.raises(SyscallError, match="ENOMEM"):
        p.mprotect(a + 0x1000, 0x1000, PROT_READ)  # the hole is unmapped


def test_mprotect_takes_effect_on_mapped_pages(p):
    a = p.mmap(length=0x1000)
    p.write(a, b"hi")
    p.mprotect(a, 0x1000, PROT_READ)
    with pytest.raises(SegmentationFault, match="SEGV_ACCERR"):
        p.write(a, b"x")
    assert p.read(a, 2) == b"hi"


def test_copy_from_user_partial_copy_and_zero_fill(m, p):
    a = p.mmap(length=0x2000)
    p.write(a, b"A" * 0x2000)
    p.munmap(a + 0x1000, 0x1000)  # the second page is gone
    kbuf = m.kmalloc(0x1800)
    m.memset(kbuf, 0xEE, 0x1800)
    left = p.copy_from_user(kbuf, a + 0x800, 0x1000)
    assert left == 0x800  # stopped at the unmapped page
    assert m.read(kbuf, 0x800) == b"A" * 0x800
    assert m.read(kbuf + 0x800, 0x800) == b"\x00" * 0x800  # the uncopied tail is zeroed
    assert p.copy_from_user(kbuf, 0xFFFF888000000000, 16) == 16  # access_ok fails: nothing copied
    assert p.copy_from_user(kbuf, a, 0x100) == 0


def test_copy_to_user(m, p):
    kbuf = m.kmalloc(64)
    m.write(kbuf, b"from the kernel")
    a = p.mmap(length=0x1000)
    assert p.copy_to_user(a, kbuf, 15) == 0
    assert p.read(a, 15) == b"from the kernel"
    ro = p.mmap(length=0x1000, prot=PROT_READ)
    assert p.copy_to_user(ro, kbuf, 15) == 15  # not writable: nothing copied
    assert p.copy_to_user(TASK_SIZE_MAX - 4, kbuf, 15) == 15


def test_exit_returns_everything(m):
    free = m.nr_free_pages
    q = m.spawn("short")
    a = q.mmap(length=0x10000)
    for i in range(16):
        q.touch(a + i * 4096, write=True)
    q.exit()
    assert m.nr_free_pages == free


def test_vmalloc_scattered_pages_and_kernel_walk(m, p):
    addr = m.vmalloc(8 << 20)  # above the 4 MiB buddy limit
    steps, res = p.mm.walk(addr + 0x1234)
    assert [s["level"] for s in steps] == ["PGD", "PUD", "PMD", "PTE"] and "vmalloc" in res["note"]
    _, res2 = p.mm.walk(addr + 0x2234)
    assert res2["pfn"] != res["pfn"]
    steps, res = p.mm.walk(0xFFFF888000000000 + 0x5000)
    assert res["phys"] == 0x5000 and steps[1]["huge"].startswith("1 GiB page")
    m.vfree(addr)
    _, res = p.mm.walk(addr)
    assert "fault" in res
    with pytest.raises(SyscallError):
        m.vfree(addr)
    _, res = p.mm.walk(0x0000800000000000)
    assert "non-canonical" in res["fault"]


def test_ioremap_maps_device_memory_only(m, p):
    regs = m.ioremap(0xFEBF0000, 0x1000)
    _, res = p.mm.walk(regs + 0x10)
    assert res["phys"] == 0xFEBF0010
    with pytest.raises(SyscallError, match="RAM"):
        m.ioremap(0x100000, 0x1000)


def test_i386_highmem_kmap():
    k = I386Highmem(ram="2GiB")
    # MAXMEM = VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE: below the classic 896 MiB since 4.15
    assert k.zones["Normal"][1] == memlab.layout.I386_MAXMEM >> 12 and 880 << 8 < k.lowmem_pages < 896 << 8
    assert "HighMem" in k.zones
    assert k.kmap(100) == 0xC0000000 + (100 << 12)  # lowmem: permanent address
    high = k.lowmem_pages + 5
    addr = k.kmap(high)
    assert addr == memlab.layout.I386_PKMAP_BASE + (1 << 12)  # get_next_pkmap_nr() pre-increments: slot 1 first
    assert k.kmap(high) == addr  # same slot, counted twice
    k.kunmap(high)
    k.kunmap(high)
    assert k.pkmap[1] == high and k.pkmap_count[1] == 1  # unmapped lazily: the PTE stays until a flush
    assert k.kmap(high) == addr and k.tlb_flushes == 0  # found again without a new slot
    k.kunmap(high)
    with pytest.raises(SyscallError, match="not kmapped"):
        k.kunmap(high)
    for i in range(1, 1023):  # slots 2..1023
        k.kmap(k.lowmem_pages + 100 + i)
    assert k.tlb_flushes == 0
    k.kmap(k.lowmem_pages + 2000)  # wraps to slot 0: flush_all_zero_pkmaps() frees slot 1, one TLB flush
    assert k.tlb_flushes == 1 and k.pkmap[0] == k.lowmem_pages + 2000 and k.pkmap[1] is None
    k.kmap(k.lowmem_pages + 2001)  # slot 1, freed by that flush
    with pytest.raises(SyscallError, match="PKMAP"):
        k.kmap(k.lowmem_pages + 3000)
    assert "HighMem" not in I386Highmem(ram="512MiB").zones


def test_i386_kmap_local_uses_per_cpu_fixmap_slots_in_stack_order():
    k = I386Highmem(ram="2GiB")
    a, b = k.lowmem_pages + 1, k.lowmem_pages + 2
    va = k.kmap_local_page(a, cpu=0)
    vb = k.kmap_atomic(b, cpu=0)
    assert vb == va - 4096  # the next fixmap index: fixmap addresses count down
    assert k.kmap_local_page(a, cpu=1) == va - 16 * 4096  # KM_MAX_IDX slots per CPU
    assert any(s <= va <= e and "fixmap" in n for s, e, n in memlab.layout.I386_LAYOUT)
    assert k.kmap_local_page(100) == 0xC0000000 + (100 << 12)  # lowmem: no slot
    with pytest.raises(SyscallError, match="nest"):
        k.kunmap_local(va, cpu=0)  # not the last one
    k.kunmap_atomic(vb, cpu=0)
    k.kunmap_local(va, cpu=0)
    assert k.pkmap_count == [0] * 1024 and k.tlb_flushes == 0  # no PKMAP slot, no global flush
    for i in range(16):
        k.kmap_local_page(k.lowmem_pages + i, cpu=2)
    with pytest.raises(SyscallError, match="KM_MAX_IDX"):
        k.kmap_local_page(k.lowmem_pages + 99, cpu=2)


def test_i386_layout_is_contiguous_and_built_from_the_macros():
    layout = memlab.layout.I386_LAYOUT
    assert layout[0][0] == 0 and layout[-1][1] == 0xFFFFFFFF
    assert all(prev[1] + 1 == cur[0] for prev, cur in zip(layout, layout[1:], strict=False))
    names = " ".join(n for _, _, n in layout)
    assert "cpu_entry_area" in names and "LDT" in names and "PKMAP" in names
    assert memlab.layout.I386_LDT_BASE_ADDR - memlab.layout.I386_PKMAP_BASE == 4 << 20  # 1024 pages, one PMD


def test_private_file_mapping_copy_on_write(m):
    f = File("/data/shared.bin", 0x2000)
    p1 = m.spawn("writer")
    p2 = m.spawn("reader")
    a = p1.mmap(length=0x2000, prot=RW, flags=MAP_PRIVATE, file=f)
    b = p2.mmap(length=0x2000, prot=PROT_READ, flags=MAP_PRIVATE, file=f)
    assert p2.read(b, 4) == b"\x00" * 4  # page-cache page
    p1.write(a, b"mine")  # private: copy on write
    assert p1.read(a, 4) == b"mine"
    assert p2.read(b, 4) == b"\x00" * 4  # the file's page is untouched
    assert "RssAnon:\t       4 kB" in procfs.status(p1) and "RssFile:\t       0 kB" in procfs.status(p1)
    c = p2.mmap(length=0x1000, prot=PROT_READ, flags=MAP_PRIVATE, file=f)
    p2.touch(c)
    p2.mprotect(c, 0x1000, RW)
    p2.write(c, b"copy")  # still a private copy after mprotect
    assert p2.read(b, 4) == b"\x00" * 4


def test_shared_file_mapping_writes_the_page_cache(m):
    f = File("/data/log", 0x1000)
    p1 = m.spawn("a")
    p2 = m.spawn("b")
    a = p1.mmap(length=0x1000, prot=RW, flags=MAP_SHARED, file=f)
    b = p2.mmap(length=0x1000, prot=PROT_READ, flags=MAP_SHARED, file=f)
    p1.write(a, b"hello")
    assert p2.read(b, 5) == b"hello"
    assert any(line.split()[1] == "rw-s" for line in procfs.maps(p1).splitlines())


def test_zero_page_until_the_first_write(m, p):
    # do_anonymous_page(): reads map the zero page read-only; do_wp_page(): writes copy
    n = 64
    base = p.mmap(length=n * PAGE_SIZE)
    free, tables = m.nr_free_pages, len(p.mm.pt_pages)
    for i in range(n):
        assert p.touch(base + i * PAGE_SIZE) == "minor"
    assert p.mm.min_flt == n and p.mm.rss_anon == 0
    new_tables = len(p.mm.pt_pages) - tables
    assert m.nr_free_pages == free - new_tables  # page-table pages only: the data is the zero page
    assert p.read(base, 16) == bytes(16)
    for i in range(n):
        assert p.touch(base + i * PAGE_SIZE, write=True) == "minor"
    assert p.mm.min_flt == 2 * n and p.mm.rss_anon == n
    assert p.mm.walk(base)[1].flags & PTE_RW
    p.munmap(base, n * PAGE_SIZE)
    assert p.mm.rss_anon == 0 and m.nr_free_pages == free - new_tables
    shared = p.mmap(length=PAGE_SIZE, flags=MAP_SHARED | MAP_ANONYMOUS)
    p.touch(shared)  # shared anonymous memory (shmem) gets a real page even on a read
    assert p.mm.walk(shared)[1].pfn != ZERO_PFN and p.mm.rss_anon == 1


def test_host_reads_map_the_zero_page_and_writes_allocate():
    rows = procfs.host_zero_page_experiment(1000)
    if rows is None:
        pytest.skip("needs Linux")
    (_, f0, rss0), (_, f1, rss1), (_, f2, rss2) = rows
    assert [step for step, _, _ in rows] == ["mmap", "read", "write"]
    assert f1 - f0 >= 1000 and rss1 - rss0 < 256  # 1000 minor faults, (almost) no RSS: the zero page
    assert f2 - f1 >= 1000 and rss2 - rss1 >= 4000 - 256  # a frame for each written page


def test_signals_match_the_host(tmp_path, p):
    import shutil
    import subprocess

    if shutil.which("gcc") is None:
        pytest.skip("no gcc")
    source = Path(__file__).resolve().parents[1] / "examples" / "segv_si_code.c"
    exe = tmp_path / "segv"
    subprocess.run(["gcc", "-O0", "-o", str(exe), str(source)], check=True)
    host = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines()
    codes = {"SEGV_MAPERR": 1, "SI_KERNEL": 128}
    ours = []
    for addr in (0xFFFF888000001000, 0x0000800000000000, 0x10):
        with pytest.raises(SegmentationFault) as err:
            p.touch(addr)
        si_addr = f"{err.value.address:#x}" if err.value.address else "(nil)"
        ours.append(f"si_code={codes[err.value.si_code]} si_addr={si_addr}")
    assert ours == host


def test_brk_never_extends_the_bss_vma(m):
    # 6.1+: brk() expands only a VMA at or above start_brk; the BSS keeps its own VMA
    p = m.spawn("bss", data=0x1000, bss=0x6000)
    start = p.mm.brk
    bss_vma = p.mm.find_vma(start - 1)
    assert bss_vma.end == start and bss_vma.file is None
    p.brk(start + 3 * PAGE_SIZE)
    heap = p.mm.find_vma(start)
    assert heap is not bss_vma and (heap.start, heap.end) == (start, start + 3 * PAGE_SIZE)
    lines = procfs.maps(p).splitlines()
    bss_line = next(line for line in lines if line.startswith(f"{bss_vma.start:08x}-{bss_vma.end:08x} rw-p"))
    heap_line = next(line for line in lines if line.startswith(f"{start:08x}-{start + 3 * PAGE_SIZE:08x} rw-p"))
    assert not bss_line.endswith("[heap]") and heap_line.endswith("[heap]")  # vma_is_initial_heap(), strict bounds
    p.brk(start + 5 * PAGE_SIZE)  # growing expands the heap VMA, still apart from the BSS
    assert p.mm.find_vma(start).end == start + 5 * PAGE_SIZE and p.mm.find_vma(start - 1) is bss_vma
    p.brk(start)  # shrinking to start_brk removes the heap VMA and its [heap] line
    assert "[heap]" not in procfs.maps(p)


def test_host_keeps_bss_and_heap_apart(tmp_path):
    import shutil
    import subprocess

    if shutil.which("gcc") is None or shutil.which("setarch") is None:
        pytest.skip("needs gcc and setarch")
    source = Path(__file__).resolve().parents[1] / "examples" / "brk_after_bss.c"
    exe = tmp_path / "brk"
    subprocess.run(["gcc", "-O0", "-o", str(exe), str(source)], check=True)
    out = subprocess.run(["setarch", "x86_64", "-R", str(exe)], capture_output=True, text=True)
    if out.returncode:
        pytest.skip(f"cannot run without ASLR here: {out.stderr.strip()}")
    rows = procfs.parse_maps(out.stdout)
    heap = next(r for r in rows if r[6] == "[heap]")
    below = next(r for r in rows if r[1] == heap[0])  # the VMA that ends where the heap starts
    assert below[6] == "" and below[2] == "rw-p"  # the BSS: its own anonymous VMA, not part of [heap]


def test_aslr_ranges_of_6_12():
    from memlab.mm import BRK_RND_RANGE, STACK_RND_MASK

    m = Machine(ram="64MiB")
    offsets = []
    for seed in range(40):
        p = m.spawn("r", bss=0x1000, aslr=True, seed=seed)
        bss_end = -(-p.segments["BSS"][1] // PAGE_SIZE) * PAGE_SIZE
        offsets.append(p.mm.start_brk - bss_end)
        stack = next(v for v in p.mm.vmas if v.name == "[stack]")
        # mmap_base() leaves the stack's whole random range (and the guard gap) free: nothing lands above it
        assert p.mm.mmap_base <= TASK_SIZE_MAX - (8 << 20) - (STACK_RND_MASK << 12) - (1 << 20)
        assert all(v.end <= stack.start for v in p.mm.vmas if v is not stack)
        p.exit()
    assert all(0 <= off < BRK_RND_RANGE and off % PAGE_SIZE == 0 for off in offsets)
    assert max(offsets) > 32 << 20  # beyond the 32 MiB of kernels before 6.9


def test_modules_live_where_the_host_puts_them():
    # with RANDOMIZE_BASE (distribution kernels) KERNEL_IMAGE_SIZE is 1 GiB: modules from 0xffffffffc0000000
    try:
        with open("/proc/kallsyms") as f:
            addrs = [int(line.split()[0], 16) for line in f if line.rstrip().endswith("]")]
    except OSError:
        addrs = []
    addrs = [a for a in addrs if a]
    if not addrs:
        pytest.skip("this host hides module addresses (kptr_restrict, not root, or no modules)")
    assert all(memlab.layout.MODULES_VADDR <= a < memlab.layout.FIXADDR_TOP for a in addrs)
    assert {memlab.layout.region_of(a) for a in addrs} == {"module mapping space (1008 MiB)"}


def test_stack_growth_is_a_pure_query_matching_the_fault_path():
    m = memlab.Machine(ram="64MiB")
    p = m.spawn("a")
    stack = next(v for v in p.mm.vmas if v.name == "[stack]")
    start = stack.start
    assert p.mm.stack_growth(start - 8) is stack and stack.start == start
    assert p.mm.stack_growth(start) is None  # mapped already
    assert p.mm.stack_growth(stack.end - (8 << 20) - 4096) is None  # beyond RLIMIT_STACK
    _steps, result = p.mm.walk(start - 8)
    assert result.phys is None and "grows the stack" in result.fault
    p.touch(start - 8)
    assert stack.start == start - 4096


def test_kernel_image_walk_uses_2mib_pages_from_start_kernel():
    from memlab.layout import KERNEL_IMAGE_PHYS_END, START_KERNEL, START_KERNEL_MAP

    m = memlab.Machine(ram="64MiB")
    p = m.spawn("a")
    steps, result = p.mm.walk(START_KERNEL + 0x234567)
    assert [s.level for s in steps] == ["PGD", "PUD", "PMD"] and steps[-1].huge.startswith("2 MiB")
    assert (steps[0].index, steps[1].index, steps[2].index) == (511, 510, 9)
    assert result.phys == 0x1234567 and steps[2].entry & ~0xFFF == 0x1200000
    end = START_KERNEL_MAP + ((KERNEL_IMAGE_PHYS_END + (1 << 21) - 1) & ~((1 << 21) - 1))
    assert p.mm.walk(end - 1)[1].phys == end - 1 - START_KERNEL_MAP
    for outside in (START_KERNEL - 1, end):
        assert "cleanup_highmap" in p.mm.walk(outside)[1].fault


def test_a_file_page_never_shows_another_process_freed_data():
    m = Machine(ram="64MiB")
    a = m.spawn("writer")
    secret = a.mmap(length=64 * PAGE_SIZE)
    a.write(secret, b"SECRET!!" * (64 * PAGE_SIZE // 8))
    a.munmap(secret, 64 * PAGE_SIZE)  # the frames go back to the buddy allocator, still holding the bytes
    b = m.spawn("reader")
    f = m.create_file("/tmp/empty.dat", 64 * PAGE_SIZE)
    addr = b.mmap(length=64 * PAGE_SIZE, file=f, flags=memlab.mm.MAP_SHARED)
    seen = b.read(addr, 64 * PAGE_SIZE)
    assert b"SECRET" not in seen and seen == bytes(64 * PAGE_SIZE)
    text = b.read(b.mm.start_code, 64)  # the program's own text page: read from its file, not freed memory
    assert b"SECRET" not in text


def test_a_file_page_holds_the_file_data_and_zeros_past_the_end():
    from memlab.mm import File

    m = Machine(ram="64MiB")
    p = m.spawn("reader")
    f = File("/tmp/hello.txt", 5000, data=b"hello, file" + b"x" * 4989)
    addr = p.mmap(length=2 * PAGE_SIZE, file=f, flags=memlab.mm.MAP_SHARED, prot=memlab.mm.PROT_READ)
    assert p.read(addr, 11) == b"hello, file"
    tail = p.read(addr + 4096, 4096)
    assert tail[: 5000 - 4096] == b"x" * (5000 - 4096) and tail[5000 - 4096 :] == bytes(4096 - (5000 - 4096))
    with pytest.raises(memlab.BadSize):
        File("big", 3, data=b"four")


def test_the_guard_page_below_the_canonical_hole_is_not_called_kernel():
    m = Machine(ram="64MiB")
    p = m.spawn("a")
    assert p.segment_of(0x7FFFFFFFF800).startswith("guard page above TASK_SIZE_MAX")
    assert p.segment_of(0xFFFF888000000000).startswith("kernel:")


def test_read_write_and_brk_refuse_bad_arguments_without_allocating():
    m = Machine(ram="64MiB")
    p = m.spawn("a")
    addr = p.mmap(length=PAGE_SIZE)
    free = m.nr_free_pages
    for call in (lambda: p.write(addr, 5), lambda: p.write(addr, 10**12), lambda: p.read(addr, -5),
                 lambda: p.read(None, 5), lambda: p.brk("x")):  # fmt: skip
        with pytest.raises(memlab.BadSize):
            call()
    assert m.nr_free_pages == free and p.mm.rss_anon == 0
    brk = p.mm.brk
    assert p.brk(1 << 50) == brk  # past TASK_SIZE: refused, the break stays


def test_exited_processes_page_zero_bad_files_and_huge_images_are_refused():
    from memlab.mm import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE

    m = Machine(ram="64MiB")
    p = m.spawn("a")
    with pytest.raises(memlab.SyscallError, match=r"EPERM.*mmap_min_addr"):
        p.mmap(addr=0, length=PAGE_SIZE, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    with pytest.raises(memlab.SyscallError, match="EBADF"):
        p.mmap(length=PAGE_SIZE, file="name", flags=MAP_PRIVATE)
    low = p.mmap(addr=0x1000, length=PAGE_SIZE)  # a hint below mmap_min_addr is ignored
    assert low >= 65536
    pid = m._next_pid if hasattr(m, "_next_pid") else None
    with pytest.raises(memlab.BadSize, match="does not fit"):
        m.spawn("big", text=1 << 47)
    with pytest.raises(memlab.BadSize, match="segment"):
        m.spawn("sym", symbols={"x": ("HEAP", 0)})
    if pid is not None:
        assert m._next_pid == pid  # nothing was allocated for the refused spawns
    q = m.spawn("b")
    free = m.nr_free_pages
    q.exit()
    assert m.nr_free_pages > free
    after = m.nr_free_pages
    for call in (
        q.exit,
        lambda: q.mmap(length=PAGE_SIZE),
        lambda: q.brk(q.mm.brk + PAGE_SIZE),
        lambda: q.touch(0x10000),
    ):
        with pytest.raises(memlab.SyscallError, match="ESRCH"):
            call()
    assert m.nr_free_pages == after


def test_a_constructor_that_fails_gives_its_slab_back():
    m = Machine(ram="64MiB")

    def wrong_signature():  # a ctor takes the object's address
        pass

    cache = m.kmem_cache_create("bad_ctor", 64, ctor=wrong_signature)
    free = m.nr_free_pages
    with pytest.raises(memlab.BadCache, match="constructor"):
        m.kmem_cache_alloc(cache)
    assert m.nr_free_pages == free and cache.nr_slabs == 0
    m.slub.check_invariants()
    mine = m.kmem_cache_create("kmalloc-mine", 64)  # a student's cache with a kmalloc-like name
    m.kmem_cache_destroy(mine)


def test_a_program_without_data_still_has_a_heap_that_grows():
    m = Machine(ram="64MiB")
    p = m.spawn("nodata", data=0, bss=0)
    start = p.mm.brk
    assert p.brk(start + PAGE_SIZE) == start + PAGE_SIZE  # used to be refused: a DATA page sat at the break
    assert "[heap]" in procfs.maps(p)
    p.mm.check_invariants()
