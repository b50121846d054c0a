"""The C library's malloc on a simulated process (issue 10): glibc 2.36's
rules, checked call by call against the host's real glibc where it can
answer, and the errors glibc aborts with."""

import random

import pytest

import memlab
from memlab import Machine, native
from memlab.libc import MallocAbort, request2size, run_trace

HOST_GLIBC = native.glibc_version()
needs_host_glibc = pytest.mark.skipif(
    HOST_GLIBC != "2.36" or native.build("malloc_trace.c") is None,
    reason=f"the model follows glibc 2.36; this host has {HOST_GLIBC or 'no glibc'} (or no gcc)",
)


def process():
    return Machine(ram="1GiB").spawn("a.out")


def mixed(seed, n=300):
    """Seeded calls of every kind and size class: tcache, fastbins, small
    and large bins, the top, mmap, the dynamic threshold, trimming."""
    rng = random.Random(seed)
    ops, live, k = [], [], 0
    if rng.random() < 0.3:
        ops.append(("o", rng.choice([1, -1, -2, -3, -4]), rng.choice([0, 64, 160, 4096, 65536, 300000])))
    for _ in range(n):
        r = rng.random()
        if r < 0.55 or not live:
            size = rng.choice(
                [rng.randrange(0, 130), rng.randrange(0, 1500), rng.randrange(0, 70000), rng.randrange(60000, 300000)]
            )
            ops.append(("m", size) if rng.random() < 0.9 else ("c", rng.randrange(0, 4), size))
            live.append(k)
            k += 1
        elif r < 0.9:
            ops.append(("f", live.pop(rng.randrange(len(live)))))
        else:
            ops.append(("r", live.pop(rng.randrange(len(live))), rng.choice([rng.randrange(0, 3000), 150000])))
            live.append(k)
            k += 1
    return ops


@needs_host_glibc
@pytest.mark.parametrize("seed", range(24))
def test_every_pointer_and_the_final_mallinfo2_match_the_real_glibc(seed):
    # Each call's offset from the program break at start (or "mmap"), its
    # malloc_usable_size(), then mallinfo2() and the break: identical.
    ops = mixed(seed)
    assert run_trace(process(), ops) == native.malloc_trace(ops)


@needs_host_glibc
def test_usable_size_of_every_size_matches_the_real_glibc():
    # malloc(n); free; for n = 0..2100 and sizes around the mmap threshold
    sizes = [*range(0, 2101), 131_048, 131_049, 131_072, 300_000]
    ops = [op for k, n in enumerate(sizes) for op in (("m", n), ("f", k))]
    assert run_trace(process(), ops) == native.malloc_trace(ops)


@needs_host_glibc
def test_the_dynamic_threshold_in_a_real_process():
    # Through ctypes in a fresh interpreter: 20 MiB is mmapped (outside
    # [heap] in /proc/self/maps); once freed, the threshold follows it and
    # 10 MiB comes from the heap. The model does the same.
    code = """
import ctypes
c = ctypes.CDLL(None); c.malloc.restype = ctypes.c_void_p; c.free.argtypes = [ctypes.c_void_p]
def in_heap(a):
    heap = [l for l in open("/proc/self/maps") if l.rstrip().endswith("[heap]")][0].split()[0].split("-")
    lo, hi = (int(x, 16) for x in heap)
    return lo <= a < hi
a = c.malloc(20 << 20); print(in_heap(a)); c.free(a)
print(in_heap(c.malloc(10 << 20)))
"""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    p = process()
    libc = p.libc
    a = libc.malloc(20 << 20)
    model = [str(a - 16 not in libc.mmapped)]
    libc.free(a)
    b = libc.malloc(10 << 20)
    model.append(str(b - 16 not in libc.mmapped))
    assert out == model == ["False", "True"]
    assert libc.mmap_threshold == (20 << 20) + 4096


def test_first_malloc_sets_up_the_tcache_and_a_132_kib_heap():
    p = process()
    start = p.brk()
    a = p.libc.malloc(1)
    assert a - start == 0x2A0  # after the 0x290-byte tcache_perthread_struct
    assert p.brk() - start == 0x21000  # nb + M_TOP_PAD (128 KiB) + MINSIZE, rounded to pages
    assert p.libc.malloc_usable_size(a) == 24 and request2size(1) == 32
    assert [(s, st) for _, s, st in p.libc.chunk_list()] == [(0x290, "inuse"), (32, "inuse"), (0x21000 - 0x2B0, "top")]


def test_big_malloc_costs_no_ram_until_written_and_raises_the_threshold_when_freed():
    p = process()
    c = p.libc
    before = p.rss_kb
    big = c.malloc(1 << 30)
    assert p.rss_kb - before <= 8  # the chunk header's page only
    assert c.mmap_threshold == 128 * 1024 and c.n_mmaps == 1
    p.write(big + (1 << 29), b"x")
    assert p.rss_kb - before <= 12
    c.free(big)  # 1 GiB is above DEFAULT_MMAP_THRESHOLD_MAX (32 MiB): no change
    assert c.mmap_threshold == 128 * 1024
    mid = c.malloc(200_000)
    c.free(mid)  # an mmapped chunk of 200,704 bytes: the threshold follows it
    assert (c.mmap_threshold, c.trim_threshold) == (200_704, 401_408)
    again = c.malloc(200_000)
    assert p.brk() > again > p.brk() - (1 << 20)  # now from the heap
    assert c.mallopt(memlab.M_MMAP_THRESHOLD, 64 * 1024) == 1 and c.no_dyn_threshold


def test_calloc_does_not_clear_fresh_memory_but_clears_reused_memory():
    p = process()
    c = p.libc
    a = c.malloc(100)
    p.write(a, b"\xff" * 100)
    c.free(a)
    b = c.calloc(1, 100)  # calloc bypasses the tcache: a fresh chunk from the top, already zero
    assert b != a and p.read(b, 100) == bytes(100)
    rss = p.rss_kb
    big = c.calloc(1 << 20, 64)  # 64 MiB, mmapped: no memset, no page touched
    assert p.rss_kb - rss <= 8 and p.read(big + 12345, 4) == bytes(4)


def test_realloc_grows_in_place_into_the_top_and_moves_when_blocked():
    p = process()
    c = p.libc
    a = c.malloc(100)
    p.write(a, b"hello")
    assert c.realloc(a, 5000) == a  # the top follows: grown in place
    b = c.malloc(10)
    moved = c.realloc(a, 9000)
    assert moved != a and p.read(moved, 5) == b"hello"
    assert c.realloc(0, 10) != 0 and c.realloc(b, 0) == 0  # realloc(NULL, n) is malloc; (p, 0) frees


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("tcache", "free(): double free detected in tcache 2"),
        ("fasttop", "double free or corruption (fasttop)"),
        ("prev", "double free or corruption (!prev)"),
        ("invalid", "free(): invalid pointer"),
    ],
)
def test_bad_frees_abort_with_glibcs_message_and_change_nothing(setup, message):
    p = process()
    c = p.libc
    if setup == "tcache":
        victim = c.malloc(24)
        c.free(victim)
    elif setup == "fasttop":
        chunks = [c.malloc(24) for _ in range(8)]
        for x in chunks:
            c.free(x)  # 7 fill the tcache bin, the 8th goes to the fastbin
        victim = chunks[-1]
    elif setup == "prev":
        victim = c.malloc(5000)  # beyond the tcache: freed into the unsorted bin
        c.malloc(24)  # keeps it off the top
        c.free(victim)
    else:
        victim = c.malloc(24) + 8
    before = (c.chunk_list(), c.mallinfo2(), [list(b) for b in c.tcache])
    with pytest.raises(MallocAbort) as err:
        c.free(victim)
    assert err.value.message == message and "SIGABRT" in str(err.value)
    assert (c.chunk_list(), c.mallinfo2(), [list(b) for b in c.tcache]) == before


def test_a_double_free_glibc_would_miss_is_refused_and_says_so():
    c = process().libc
    chunks = [c.malloc(500) for _ in range(9)]
    for x in chunks[:8]:
        c.free(x)  # 7 fill the tcache bin; the 8th (too big for a fastbin) goes to the unsorted bin
    for _ in range(7):
        c.malloc(500)  # the tcache bin is empty again
    with pytest.raises(memlab.MemlabError, match="would not notice") as err:
        c.free(chunks[7])  # its key is not the tcache's and the bin has room: glibc would cache it twice
    assert not isinstance(err.value, MallocAbort)


def test_malloc_stats_text():
    c = process().libc
    c.free(c.malloc(100))
    assert c.malloc_stats() == (
        "Arena 0:\n"
        "system bytes     =     135168\n"
        "in use bytes     =        768\n"
        "Total (incl. mmap):\n"
        "system bytes     =     135168\n"
        "in use bytes     =        768\n"
        "max mmap regions =          0\n"
        "max mmap bytes   =          0\n"
    )


@pytest.mark.parametrize("bad", [-1, 1.5, "10", None])
def test_bad_sizes_are_rejected(bad):
    c = process().libc
    with pytest.raises(memlab.BadSize):
        c.malloc(bad)
    assert c.malloc(2**63) == 0  # more than PTRDIFF_MAX: NULL, as glibc


def test_an_overflow_into_the_top_chunk_is_caught_at_the_next_malloc():
    p = process()
    c = p.libc
    buf = c.malloc(24)  # the next chunk is the top
    p.write(buf + 24, (2**64 - 1).to_bytes(8, "little"))  # 8 bytes too many: the top's size field
    with pytest.raises(MallocAbort) as err:
        c.malloc(200)
    assert err.value.message == "malloc(): corrupted top size"


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (0xFFFFFFFFFFFFFF00, "free(): invalid pointer"),  # p > -size: the chunk would wrap
        (0x11, "free(): invalid size"),
        (0x4141414141414141, "double free or corruption (out)"),  # "AAAAAAAA": the next chunk lies past the top
        (0x32, "munmap_chunk(): invalid pointer"),  # IS_MMAPPED set
    ],
)
def test_a_damaged_size_field_is_read_at_free(field, message):
    p = process()
    c = p.libc
    a, b = c.malloc(24), c.malloc(24)
    p.write(a + 24, field.to_bytes(8, "little"))  # a's overflow reaches b's size field
    before = c.chunk_list()
    with pytest.raises(MallocAbort) as err:
        c.free(b)
    assert err.value.message == message and c.chunk_list() == before


def test_a_first_malloc_that_runs_out_of_memory_leaves_no_half_made_tcache():
    # the first malloc sets up the tcache with a chunk of its own; when that fails the next malloc tries again
    m = memlab.Machine(ram="64MiB")
    hog = m.spawn("hog")
    pages = []
    while True:  # take all of the machine's memory ...
        try:
            pages.append(hog.mmap(length=4096))
            hog.touch(pages[-1], write=True)
        except memlab.MemlabError:
            break
    for addr in pages[-3:-1]:
        hog.munmap(addr, 4096)  # ... but two pages: one for the new process's page table root
    p = m.spawn("late")
    for _ in range(3):
        try:
            p.libc.malloc(24)
        except memlab.MemlabError:
            pass  # (the kernel's OutOfMemory for the heap's first page)
        assert p.libc.tcache is None or len(p.libc.tcache) == 64
