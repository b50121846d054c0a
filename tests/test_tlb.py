"""The TLB model: hits and misses, PCIDs across context switches, flushes
after munmap/mprotect with invlpg or a full flush, shootdowns, PTI."""

import pytest

import memlab
from memlab import MemlabError, SegmentationFault
from memlab.mm import PROT_READ, TLB_NR_DYN_ASIDS, TLB_SINGLE_PAGE_FLUSH_CEILING


def _machine(**tlb):
    m = memlab.Machine(ram="64MiB", cpus=2)
    if tlb:
        m.set_tlb(**tlb)
    return m


def test_second_access_hits_and_a_full_tlb_evicts_the_least_recently_used():
    m = _machine(capacity=4)
    p = m.spawn("a")
    base = p.mmap(length=6 * 4096)
    t = m.tlb
    t.switch_to(p)
    first = t.access(p, base, write=True)
    assert not first.hit and first.fault == "minor" and first.walk_refs == 8  # walk, fault, walk again
    again = t.access(p, base)
    assert again.hit and again.walk_refs == 0
    for i in range(1, 5):
        t.access(p, base + i * 4096, write=True)  # pages 1-4 push page 0 out (capacity 4)
    assert len(t.tlb(0)) == 4
    assert not t.access(p, base).hit  # evicted
    assert t.access(p, base + 4 * 4096).hit
    assert t.tlb(0).hits == 2 and t.tlb(0).misses == 6


def test_a_store_through_a_read_only_entry_faults_and_refills():
    m = _machine()
    p = m.spawn("a")
    base = p.mmap(length=4096)
    t = m.tlb
    t.switch_to(p)
    t.access(p, base)  # read: the zero page, read-only
    store = t.access(p, base, write=True)
    assert not store.hit and store.fault == "minor" and "read-only entry" in store.text
    assert t.access(p, base, write=True).hit


def test_pcid_keeps_entries_across_a_context_switch_and_no_pcid_flushes_them():
    for pcid, survives in ((True, True), (False, False)):
        m = _machine(pcid=pcid)
        p, q = m.spawn("a"), m.spawn("b")
        base = p.mmap(length=4096)
        t = m.tlb
        t.switch_to(p)
        t.access(p, base, write=True)
        away = t.switch_to(q)
        back = t.switch_to(p)
        assert t.access(p, base).hit is survives
        assert (away.flushed + back.flushed > 0) is not survives
        if pcid:
            assert (back.asid, back.pcid) == (1, 2) and "still holds a" in back.text  # ASID 0 is init_mm's


def test_seven_address_spaces_recycle_the_six_asids():
    m = _machine()
    procs = [m.spawn(f"p{i}") for i in range(TLB_NR_DYN_ASIDS + 1)]
    t = m.tlb
    addr = {}
    for p in procs:
        addr[p] = p.mmap(length=4096)
        rec = t.switch_to(p)
        t.access(p, addr[p], write=True)
    # p0..p4 took ASIDs 1..5 (init_mm holds 0 from boot); p5 wrapped to 0, p6 takes 1 from p0
    assert rec.asid == 1 and "taking it from p0" in rec.text
    back = t.switch_to(procs[0])
    assert back.asid == 2 and "new ASID" in back.text and not t.access(procs[0], addr[procs[0]]).hit
    t.switch_to(procs[3])
    assert t.access(procs[3], addr[procs[3]]).hit  # p3 keeps its ASID (4): still cached


def test_munmap_flushes_with_invlpg_up_to_33_pages_and_sends_a_shootdown():
    m = _machine()
    p = m.spawn("threads")
    base = p.mmap(length=64 * 4096)
    t = m.tlb
    t.switch_to(p, cpu=0)
    t.switch_to(p, cpu=1)  # a second thread of the same process on CPU 1
    for i in range(40):
        t.access(p, base + i * 4096, write=True, cpu=0)
    t.access(p, base, cpu=1)
    p.munmap(base, 2 * 4096)
    flush = t.log[-1]
    assert flush.how == "invlpg" and flush.pages == 2 and flush.cpus == [0, 1] and flush.ipis == 1
    assert flush.dropped == 3 and "TLB shootdown" in flush.text
    assert not t.access(p, base + 2 * 4096, cpu=1).hit
    p.munmap(base + 2 * 4096, 38 * 4096)  # 38 touched pages > 33: flush everything of this PCID
    flush = t.log[-1]
    assert flush.how == "full" and flush.pages == 38 > TLB_SINGLE_PAGE_FLUSH_CEILING
    assert len(t.tlb(0)) == 0
    before = len(t.log)
    p.munmap(base + 50 * 4096, 4096)  # never touched: no entry cleared, no flush (mmu_gather)
    assert len(t.log) == before


def test_mprotect_flushes_and_an_idle_asid_catches_up_on_the_next_switch():
    m = _machine()
    p, q = m.spawn("a"), m.spawn("b")
    base = p.mmap(length=2 * 4096)
    t = m.tlb
    t.switch_to(p, cpu=1)
    t.access(p, base, write=True, cpu=1)
    t.switch_to(q, cpu=1)  # p's entries stay cached under ASID 0 of CPU 1
    t.switch_to(p, cpu=0)
    t.access(p, base, write=True, cpu=0)
    p.mprotect(base, 4096, PROT_READ)
    assert t.log[-1].cpus == [0] and t.log[-1].ipis == 0  # CPU 1 does not run p: no IPI
    back = t.switch_to(p, cpu=1)
    assert "page tables changed since (tlb_gen)" in back.text and back.flushed == 1
    assert not t.access(p, base, cpu=1).hit


def test_pti_syscalls_flush_without_pcid_and_keep_entries_with_it():
    for pcid in (False, True):
        m = _machine(pcid=pcid, pti=True)
        p = m.spawn("a")
        base = p.mmap(length=4096)
        t = m.tlb
        t.switch_to(p)
        rec = t.access(p, base, write=True)
        if pcid:
            assert rec.pcid == 2 | 1 << 11  # user tables: kernel PCID (ASID 1 + 1) with bit 11 set
        text = t.syscall()
        assert ("flush every non-global entry" in text) is not pcid
        assert t.access(p, base).hit is pcid
    assert "CR3 does not change" in _machine().tlb.syscall()


def test_bad_tlb_use_is_refused():
    m = _machine()
    p = m.spawn("a")
    with pytest.raises(MemlabError, match="not running on CPU 0"):
        m.tlb.access(p, 0x10000)
    m.tlb.switch_to(p)
    with pytest.raises(SegmentationFault):
        m.tlb.access(p, 0x10)
    assert len(m.tlb.tlb(0)) == 0  # nothing cached for a failed access
    with pytest.raises(MemlabError, match="CPU 5 does not exist"):
        m.tlb.switch_to(p, cpu=5)
    with pytest.raises(MemlabError):
        m.set_tlb(capacity=0)
