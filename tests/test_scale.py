"""Scale: host memory per simulated operation stays O(1), zero pages cost
nothing, freed frames keep their bytes within a bound (issue 15)."""

import gc
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

import memlab
from memlab import PAGE_SIZE, Machine
from memlab.physmem import PhysicalMemory
from memlab.workloads import machine_mix


def _growth(fn):
    """Bytes allocated by ``fn()`` and still alive afterwards (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        gc.collect()
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def test_a_million_mixed_operations_keep_host_memory_bounded():
    # Every allocator, page faults, the TLB and the trails, 1,000,000 calls
    # after a warm-up (trails, logs and slab caches at their working size).
    # Stated bound: 1 MiB for the whole million, about one byte per call;
    # a trail or log that grew by one record per call, or a page fault that
    # stored its 4 KiB of zeros, would cost tens of MiB here.
    m = Machine(ram="1GiB", cpus=2)
    m.mem.retain = 64
    machine_mix(m, 100_000, seed=1)
    failures = []
    grown = _growth(lambda: failures.append(machine_mix(m, 1_000_000, seed=2)))
    assert failures == [0]
    assert grown < 1 << 20, f"1,000,000 operations left {grown / 2**20:.2f} MiB behind"
    assert m.mem.touched_pages <= 64 + 64, "frames holding data beyond the retained ones"


def test_faulted_zero_pages_cost_no_host_memory():
    m = Machine(ram="1GiB")
    p = m.spawn("zeros")
    n = 16_384  # 64 MiB
    base = p.mmap(length=n * PAGE_SIZE)

    def fault_all():
        for i in range(n):
            p.touch(base + i * PAGE_SIZE)  # read: the shared zero page
        for i in range(0, n, 2):
            p.touch(base + i * PAGE_SIZE, write=True)  # write: a zeroed frame of its own

    grown = _growth(fault_all)
    assert m.mem.touched_pages == 0
    assert grown < 400 * n, f"{grown / n:.0f} bytes per faulted page (page tables only, no 4 KiB of zeros)"
    assert p.read(base + 2 * PAGE_SIZE + 100, 8) == bytes(8)
    assert p.rss_kb >= n // 2 * 4  # the written half is resident


def test_a_frame_zeroed_as_a_whole_is_forgotten():
    mem = PhysicalMemory(16)
    mem.write(PAGE_SIZE + 10, b"data")
    assert mem.touched_pages == 1
    mem.write(PAGE_SIZE + 10, bytes(4))  # zeros into part of it: the frame stays
    assert mem.touched_pages == 1 and mem.read(PAGE_SIZE, PAGE_SIZE) == bytes(PAGE_SIZE)
    mem.fill(PAGE_SIZE, 0, PAGE_SIZE)  # clear_page()
    assert mem.touched_pages == 0
    mem.write(3 * PAGE_SIZE, bytes(3 * PAGE_SIZE))  # zeros to untouched frames store nothing
    assert mem.touched_pages == 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 4 * PAGE_SIZE - 1),
            st.one_of(st.binary(max_size=2 * PAGE_SIZE), st.integers(0, 2 * PAGE_SIZE).map(bytes)),
        ),
        max_size=12,
    )
)
def test_physical_memory_reads_what_was_written(writes):
    # The sparse RAM against a plain bytearray, zeros and all.
    mem, plain = PhysicalMemory(8), bytearray(8 * PAGE_SIZE)
    for addr, data in writes:
        mem.write(addr, data)
        plain[addr : addr + len(data)] = data
    assert mem.read(0, 8 * PAGE_SIZE) == bytes(plain)
    assert mem.touched_pages <= sum(1 for i in range(8) if any(plain[i * PAGE_SIZE : (i + 1) * PAGE_SIZE])) + len(
        writes
    )
    assert all(any(page) for page in mem._pages.values()) or writes


def test_freed_frames_keep_their_bytes_up_to_the_retained_number():
    m = Machine(ram="64MiB")
    m.mem.retain = 4
    pages = [m.alloc_pages(0, "GFP_KERNEL") for _ in range(6)]
    for n, page in enumerate(pages):
        m.mem.write(page.pfn << 12, b"frame %d" % n)
    reused = pages[0]
    m.free_pages(reused, 0)
    again = m.alloc_pages(0, "GFP_KERNEL")
    assert again.pfn == reused.pfn  # the head of free_area[0]: the frame just freed
    assert m.mem.read(again.pfn << 12, 7) == b"frame 0"  # stale bytes, as with init_on_free=0
    for page in pages[1:]:
        m.free_pages(page, 0)
    # five frames retired with data: the oldest still-free one forgot its bytes
    assert m.mem.read(pages[1].pfn << 12, 7) == bytes(7)
    assert [m.mem.read(p.pfn << 12, 7) for p in pages[2:]] == [b"frame %d" % n for n in range(2, 6)]
    assert m.mem.read(again.pfn << 12, 7) == b"frame 0"  # allocated again: never forgotten
    m.free_pages(again, 0)
    assert m.mem.touched_pages == 4


def test_the_tlb_log_keeps_the_last_records():
    m = Machine(ram="256MiB")
    p = m.spawn("t")
    base = p.mmap(length=4 * PAGE_SIZE)
    p.touch(base, write=True)
    m.tlb.switch_to(p, cpu=0)
    for _ in range(1500):
        m.tlb.access(p, base)
    assert len(m.tlb.log) == 1024
    assert m.tlb.nr_records == 1501
    assert m.tlb.log[-1].hit


def test_machine_mix_is_seeded_and_leaves_the_machine_as_it_found_it():
    a, b = Machine(ram="1GiB"), Machine(ram="1GiB")
    free = a.nr_free_pages
    assert machine_mix(a, 5000, seed=7) == machine_mix(b, 5000, seed=7) == 0
    assert [z.nr_free_by_order() for z in a.populated_zones] == [z.nr_free_by_order() for z in b.populated_zones]
    assert a.processes == {} and memlab.procfs.buddyinfo(a) == memlab.procfs.buddyinfo(b)
    assert free - a.nr_free_pages < 2048  # only slabs kept on the kmalloc caches' lists
