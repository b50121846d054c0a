"""Lesson 06's exercises: seeded, checked against the simulated glibc,
and a wrong answer that matches a known mistake is told what it was."""

import pytest
from conftest import check_seeded_numeric

from memlab.exercises import usage
from memlab.libc import request2size

NUMERIC = ["malloc_chunk_size", "tcache_reuse", "mmap_threshold_after_free"]


@pytest.mark.parametrize("kind", NUMERIC)
def test_same_seed_same_problem_and_right_and_wrong_answers(kind):
    check_seeded_numeric(kind)


def test_malloc_chunk_size_is_the_distance_between_two_mallocs():
    for seed in range(12):
        ex = usage.malloc_chunk_size(seed)
        answer = int(ex.solution().split()[1])
        assert f"b - a = {answer} bytes" in ex.run()[1]


def test_malloc_chunk_size_names_the_forgotten_header():
    ex = next(usage.malloc_chunk_size(s) for s in range(50) if "malloc(4)" in usage.malloc_chunk_size(s).question)
    assert "Not quite" in ex.check(16).message and "32-byte minimum" in ex.check(16).message
    ex = usage.malloc_chunk_size(0)  # malloc(78): 96
    assert "without the 8-byte size field" in ex.check(80).message


def test_tcache_reuse_is_last_in_first_out():
    for seed in range(12):
        ex = usage.tcache_reuse(seed)
        answer = int(ex.solution().split()[1])
        assert ex.run()[-1].endswith(f"the address of p{answer}")
    ex = usage.tcache_reuse(7)  # p4 then p1 freed into the 32-byte bin: p1 comes back
    assert ex.check(1).correct and "LIFO" in ex.check(4).message


def test_mmap_threshold_after_free_follows_glibcs_rule():
    for seed in range(12):
        ex = usage.mmap_threshold_after_free(seed)
        answer = int(ex.solution().split()[1])
        n = int(ex.question.split("malloc(")[1].split(")")[0].replace(",", ""))
        chunk = -(-(request2size(n) + 8) // 4096) * 4096
        assert answer == (chunk if chunk <= 32 << 20 else 131_072)


def test_why_malloc_costs_no_ram_explains_every_option_and_runs():
    ex = usage.why_malloc_costs_no_ram(3)
    assert len(ex.options) == 4 and all(len(why) > 40 for _, why in ex.options)
    assert ex.check(ex.letters[ex._answer]).correct
    lines = ex.run()
    before, after = (int(x.split(" kB")[0].split("RSS ")[-1]) for x in (lines[0].split(";")[0], lines[0]))
    assert after - before <= 4
