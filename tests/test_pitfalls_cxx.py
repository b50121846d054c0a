"""std::vector and the smart pointers of the simulated programs
(memlab.pitfalls.cxx, issue 11): libstdc++'s heap calls, counts and growth."""

import pytest

from memlab import MemlabError
from memlab.pitfalls import AutoPtr, Sanitizer, SanitizerError, SharedPtr, UniquePtr, Vector, WeakPtr


def test_a_vector_doubles_and_frees_its_old_storage():
    s = Sanitizer()
    v = Vector(s, [], 4, line=1, name="v")
    caps = []
    for i in range(9):
        v.push_back(i, line=2)
        caps.append(v.capacity)
    assert caps == [1, 2, 4, 4, 8, 8, 8, 8, 16]  # size + max(size, 1) when full
    assert [v.get(i, line=3) for i in range(9)] == list(range(9))
    live = [c for c in s.chunks.values() if c.state == "allocated"]
    assert [c.size for c in live] == [64] and live[0].beg == v.data  # the old storages are freed
    it = v.begin()
    for i in range(8):
        v.push_back(i, line=4)  # 17 elements: a new storage
    with pytest.raises(SanitizerError) as e:
        s.read(it, 4, line=5)
    assert e.value.kind == "heap-use-after-free"


def test_shared_ptr_counts_and_the_last_owner_frees():
    s = Sanitizer()
    a = SharedPtr.make_shared(s, 8, line=1)
    assert (a.use_count, a.weak_count) == (1, 1)
    b = a.copy(line=2)
    w = WeakPtr(a, line=3)
    assert (a.use_count, a.weak_count) == (2, 2)
    a.reset(line=4)
    assert b.use_count == 1 and not w.expired()
    block = b.block
    b.reset(line=5)  # the object is destroyed, the block stays for the weak_ptr
    assert w.expired() and w.lock(line=6) is None
    assert s.chunks[block].state == "allocated"
    w.reset(line=7)
    assert s.chunks[block].state == "quarantine" and s.exit() is None


def test_a_cycle_of_shared_ptrs_leaks_and_a_weak_member_does_not():
    for weak, leaked in ((False, 2), (True, 0)):
        s = Sanitizer()
        a = SharedPtr.make_shared(s, 32, line=1, members=("other", "back"))
        b = SharedPtr.make_shared(s, 32, line=2, members=("other", "back"))
        a.set("other", b, line=3)
        b.set("back" if weak else "other", a, line=4, weak=weak)
        b.reset(line=5)
        a.reset(line=5)
        direct, indirect = s.leaks()
        assert (len(direct), len(indirect)) == (0, leaked)  # a cycle: each block pointed to by the other


def test_unique_ptr_cannot_be_copied_and_auto_ptr_copies_by_moving():
    s = Sanitizer()
    u = UniquePtr.make(s, 4, line=1)
    with pytest.raises(MemlabError, match="cannot be copied"):
        u.copy()
    v = u.move()
    assert u.get() == 0 and v.get() != 0
    a = AutoPtr.make(s, 4, line=2)
    b = a.copy()
    assert a.get() == 0 and b.get() != 0  # the "copy" took the object
    for p in (v, b):
        p.reset(line=3)
    assert s.exit() is None


def test_bad_uses_are_refused():
    s = Sanitizer()
    with pytest.raises(MemlabError, match="element size"):
        Vector(s, [1], 3, line=1)
    v = Vector(s, [1, 2], 4, line=1)
    with pytest.raises(MemlabError, match="holds 2 elements"):
        v.get(2, line=2)
    a = SharedPtr.make_shared(s, 16, line=3, members=("next",))
    with pytest.raises(MemlabError, match="no member 'prev'"):
        a.set("prev", None, line=4)
    a.reset(line=5)
    with pytest.raises(MemlabError, match="empty"):
        a.copy(line=6)
