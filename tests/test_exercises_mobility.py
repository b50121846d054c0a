"""Lesson 02b's exercises: seeded, answered by the model, and a known
mistake is named."""

import re
from types import SimpleNamespace

import pytest
from conftest import check_seeded_numeric

from memlab.exercises import mobility
from memlab.page_alloc import zone_batchsize
from memlab.vmscan import oom_badness


@pytest.mark.parametrize("kind", ["pcp_batch", "oom_victim"])
def test_same_seed_same_problem_and_right_and_wrong_answers(kind):
    check_seeded_numeric(kind)


def test_pcp_batch_is_zone_batchsize_and_names_the_missing_division():
    for seed in range(10):
        ex = mobility.pcp_batch(seed)
        managed = int(re.search(r"manages (\d+) pages", ex.question)[1])
        assert int(ex.solution().split()[1]) == zone_batchsize(managed)
    ex = next(mobility.pcp_batch(s) for s in range(30) if "manages 4" in mobility.pcp_batch(s).question)
    assert "divides it by 4" in ex.check(256).message


def test_oom_victim_is_the_highest_oom_badness():
    for seed in range(20):
        ex = mobility.oom_victim(seed)
        total = int(re.search(r"machine of (\d+) pages", ex.question)[1])
        procs = [
            SimpleNamespace(pid=int(pid), oom_score_adj=int(adj), mm=SimpleNamespace(
                rss_anon=int(rss), rss_file=0, pagetables=SimpleNamespace(pt_pages=[None] * int(pt))))
            for pid, rss, pt, adj in re.findall(
                r"pid +(\d+) +\S+ +RSS +(\d+) pages, page tables +(\d+) pages, oom_score_adj (-?\d+)", ex.question)
        ]  # fmt: skip
        assert len(procs) == 4
        scored = [(oom_badness(p, total), -p.pid, p.pid) for p in procs if oom_badness(p, total) is not None]
        assert int(ex.solution().split()[1]) == max(scored)[2]
    for ex in map(mobility.oom_victim, range(40)):
        rows = re.findall(r"pid +(\d+) +\S+ +RSS +(\d+) pages.*oom_score_adj (-?\d+)", ex.question)
        biggest = max(rows, key=lambda r: int(r[1]))
        if biggest[2] == "-1000":  # the trap: the biggest process is protected
            assert int(ex.solution().split()[1]) != int(biggest[0])
            assert "-1000 means never" in ex.check(int(biggest[0])).message
            break
    else:
        raise AssertionError("no seed below 40 protects the biggest process")


def test_why_grouping_demo_shows_the_contrast():
    ex = mobility.why_grouping(42)
    assert ex.check("a").correct is (ex.letters[ex.options.index(next(o for o in ex.options if "migratetype" in o[0]))]
                                      == "a")  # fmt: skip
    lines = ex.run()
    plain = int(re.search(r"in (\d+) of 32 pageblocks", lines[0])[1])
    grouped = int(re.search(r"in (\d+) of 32 pageblocks", lines[1])[1])
    assert grouped < plain
