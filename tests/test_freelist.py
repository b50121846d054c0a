"""The textbook free-list allocator (lesson 06): OSTEP's homework output
reproduced, each placement policy and list order, coalescing, and the
seeded placement exercise."""

import pytest

from memlab import MemlabError
from memlab.errors import BadFree
from memlab.exercises import usage
from memlab.freelist import ORDERS, POLICIES, FreeListHeap, compare_policies, placement_run

OSTEP_SEED_0 = [("alloc", 3), ("free", 0), ("alloc", 5), ("free", 1), ("alloc", 8), ("free", 2), ("alloc", 8)]
OSTEP_SEED_0 += [("free", 3), ("alloc", 2), ("alloc", 7)]


def test_the_ostep_homework_trace_for_best_fit_seed_0():
    # malloc.py -n 10 -H 0 -p BEST -s 0 -c, as printed in the book's homework
    lines, ptrs = placement_run(FreeListHeap(100, 1000, "best", "address"), OSTEP_SEED_0)
    assert ptrs == [1000, 1003, 1008, 1008, 1000, 1008]
    assert (
        lines[-1]
        == "Free List [ Size 4 ]: [ addr:1002 sz:1 ] [ addr:1003 sz:5 ] [ addr:1015 sz:1 ] [ addr:1016 sz:84 ]"
    )
    assert lines[-2] == "ptr[5] = Alloc(7) returned 1008 (searched 4 elements)"


def test_each_policy_picks_its_block():
    def heap(policy):
        h = FreeListHeap(100, 0, policy, "address")
        ptrs = [h.alloc(n) for n in (10, 1, 30, 1, 20, 1)]  # free blocks of 10, 30, 20 and the rest (37)
        for i in (0, 2, 4):
            h.free(ptrs[i])
        return h

    assert heap("first").alloc(15) == 11  # the 30 at 11
    assert heap("best").alloc(15) == 42  # the 20 at 42
    assert heap("worst").alloc(15) == 63  # the 37 at 63
    h = heap("next")
    assert h.alloc(5) == 0 and h.alloc(15) == 11  # next fit goes on from where it stopped
    assert h.alloc(9) == 26 and h.alloc(25) == 63  # ... and passes the 5 left at 5 for the 37 at the end


def test_orders_and_coalescing():
    h = FreeListHeap(64, 0, "first", "front")
    a, b, c = h.alloc(8), h.alloc(8), h.alloc(8)
    h.free(a)
    h.free(c)
    assert h.free_list[0] == (c, 8) and h.alloc(8) == c  # LIFO
    h = FreeListHeap(64, 0, "first", "address", coalesce=True)
    a, b, c = h.alloc(8), h.alloc(8), h.alloc(8)
    for p in (a, c, b):
        h.free(p)
    assert h.free_list == [(0, 64)] and h.stats()["fragmentation"] == 0
    h = FreeListHeap(64, 0, "first", "size+")
    a, _, c = h.alloc(8), h.alloc(1), h.alloc(16)
    h.free(c)
    h.free(a)
    assert [s for _, s in h.free_list] == [8, 16, 39]
    with pytest.raises(BadFree):
        h.free(a)
    with pytest.raises(MemlabError, match="policy"):
        FreeListHeap(policy="random")


def test_compare_policies_on_one_workload():
    rows = compare_policies(seed=1, n_ops=600, size=2048, max_size=120)
    assert {(r["policy"], r["order"]) for r in rows} == {(p, o) for p in POLICIES for o in ORDERS}
    for r in rows:
        assert 0 <= r["fragmentation"] < 1 and r["largest"] <= r["free"] <= 2048
    best, worst = (next(r for r in rows if r["policy"] == p and r["order"] == "address") for p in ("best", "worst"))
    assert best["searched"] >= 1 and worst["searched"] >= 1


def test_placement_exercise_replays_and_diagnoses_the_other_policies():
    seen = set()
    for seed in range(12):
        ex = usage.placement(seed)
        answer = int(ex.solution().split()[1])
        assert ex.check(answer).correct and f"returned {answer}" in ex.solution()
        for value, why in ex.mistakes:
            assert "fit" in why and ex.check(value).message.count("fit") >= 2
        seen.add(ex.question.split(", ")[4])
    assert seen == {"FIRST fit. The calls: Alloc(8)", *seen}  # (all four policies appear over the seeds)
    assert {s.split()[0] for s in seen} == {"FIRST", "NEXT", "BEST", "WORST"}
