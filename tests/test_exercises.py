"""Exercises: deterministic per seed, hidden answers the model confirms."""

import re

import pytest

import memlab
from memlab import exercises
from memlab.exercises import BadAnswer


@pytest.mark.parametrize("kind", sorted(exercises.numeric.NUMERIC))
def test_same_seed_same_problem(kind):
    a, b = exercises.make(kind, 11), exercises.make(kind, 11)
    assert a.question == b.question and a._answer == b._answer
    assert a.solution().startswith(f"Answer: {a._answer}")


@pytest.mark.parametrize("kind", sorted(exercises.numeric.NUMERIC))
def test_check_right_and_wrong(kind):
    for seed in range(20):
        ex = exercises.make(kind, seed)
        assert ex.check(ex._answer).correct
        assert ex.check(str(ex._answer)).correct
        wrong = ex.check(ex._answer + 1)
        assert not wrong.correct and "Not quite" in wrong.message


def test_seeds_vary_the_problem():
    assert len({exercises.buddy_of(s).question for s in range(30)}) > 20


def test_buddy_of_answer_is_kernel_buddy():
    for seed in range(50):
        ex = exercises.buddy_of(seed)
        m = re.search(r"order-(\d+) block at pfn (\d+)\?", ex.question)
        order, pfn = int(m.group(1)), int(m.group(2))
        assert ex._answer == memlab.buddy_pfn(pfn, order)


def test_next_pfn_answer_replays_on_a_fresh_zone():
    for seed in range(30):
        ex = exercises.next_pfn(seed)
        z = memlab.Zone("Normal", 32)
        history = ex.question.split(" sees: ")[1].split(". Which")[0]
        pages = {}
        steps = re.findall(r"alloc_pages\((\d+)\) -> pfn (\d+)|free_pages\(pfn (\d+), order (\d+)\)", history)
        assert steps
        for a_order, a_pfn, f_pfn, f_order in steps:
            if a_order:
                p = z.alloc_pages(int(a_order))
                assert p.pfn == int(a_pfn)
                pages[p.pfn] = p
            else:
                z.free_pages(pages.pop(int(f_pfn)), int(f_order))
        order = int(ex.question.split("next alloc_pages(")[1].split(")")[0])
        assert z.alloc_pages(order).pfn == ex._answer


def test_fragmentation_index_answer_matches_zone_method():
    # rebuild a zone whose free_area has the stated counts and compare with Zone.fragmentation_index
    for seed in range(30):
        ex = exercises.fragmentation_index(seed)
        counts_text = ex.question.split("counts are ")[1].split(" (higher")[0]
        counts = [int(part.split(": ")[1]) for part in counts_text.split(", ")]
        order = int(ex.question.split("for an order-")[1].split(" ")[0])
        z = memlab.Zone("Normal", 1 << 14)
        # hold everything, then free isolated blocks (buddy kept allocated) of the wanted orders
        held = {}
        while z.nr_free_pages:
            p = z.alloc_pages(0)
            held[p.pfn] = p
        pfn = 0
        for o, c in enumerate(counts):
            for _ in range(c):
                pfn = -(-pfn // (2 << o)) * (2 << o)  # aligned so that the buddy stays allocated
                block = [held.pop(x) for x in range(pfn, pfn + (1 << o))]
                for x in block:
                    z.free_pages(x, 0)
                pfn += 2 << o
        assert [z.free_area[o].nr_free for o in range(len(counts))] == counts
        assert z.fragmentation_index(order) == ex._answer


def test_bad_answers_and_kinds():
    ex = exercises.buddy_of(0)
    with pytest.raises(BadAnswer, match="not a whole number"):
        ex.check("twelve")
    with pytest.raises(BadAnswer):
        ex.check(True)
    assert ex.check(hex(ex._answer)).correct
    with pytest.raises(BadAnswer, match="no exercise kind"):
        exercises.make("nope", 1)
    with pytest.raises(BadAnswer):
        exercises.make("buddy_of", "1")


def test_objs_per_slab_matches_slub_geometry():
    from memlab.slub import calculate_order, order_objects

    for seed in range(25):
        ex = exercises.objs_per_slab(seed)
        size = int(re.search(r"makes a cache of (\d+)-byte", ex.question).group(1))
        cpus = int(re.search(r"with (\d+) CPU", ex.question).group(1))
        stride = (size + 7) // 8 * 8
        assert ex._answer == order_objects(calculate_order(stride, cpus), stride)


def test_kmalloc_class_answer_is_ksize():
    for seed in range(25):
        ex = exercises.kmalloc_class(seed)
        size = int(re.search(r"kmalloc\((\d+),", ex.question).group(1))
        m = memlab.Machine(ram="32MiB")
        assert m.ksize(m.kmalloc(size)) == ex._answer


def test_pgtable_index_matches_a_real_walk():
    for seed in range(20):
        ex = exercises.pgtable_index(seed)
        vaddr = int(re.search(r"address (0x[0-9a-f]+)", ex.question).group(1), 16)
        level = ["PGD", "PUD", "PMD", "PTE"].index(ex.question.split()[1])
        m = memlab.Machine(ram="32MiB")
        p = m.spawn("x")
        p.mmap(addr=vaddr & ~0xFFF, length=4096, flags=0x32)  # MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED
        p.touch(vaddr)
        steps, _ = p.mm.walk(vaddr)
        assert steps[level]["index"] == ex._answer


def test_copy_from_user_left_matches_the_model():
    for seed in range(20):
        ex = exercises.copy_from_user_left(seed)
        off = int(re.search(r"offset (0x[0-9a-f]+)", ex.question).group(1), 16)
        extra = int(re.search(r"the next (\d+)", ex.question).group(1))
        n = int(re.search(r", (\d+)\) return", ex.question).group(1))
        m = memlab.Machine(ram="64MiB")
        p = m.spawn("x")
        base = p.mmap(addr=0x10000000, length=(extra + 1) * 4096, flags=0x32)  # nothing mapped after it
        kbuf = m.kmalloc(n)
        assert p.copy_from_user(kbuf, base + off, n) == ex._answer


def test_dma_count_register_matches_the_controller():
    for seed in range(20):
        ex = exercises.dma_count_register(seed)
        ch, n = map(int, re.search(r"set_dma_count\((\d), (\d+)\)", ex.question).groups())
        d = memlab.Machine(ram="32MiB").dma8237
        d.set_dma_addr(ch, 0x20000 if ch <= 3 else 0x40000)
        d.set_dma_count(ch, n)
        assert d.channels[ch].base_count == ex._answer


# ------------------------------------------------------------- diagnoses
def _diagnosis(ex, wrong):
    result = ex.check(wrong)
    assert not result.correct
    return result.message


def test_dma_count_register_diagnoses_the_byte_count_and_the_transfer_count():
    for seed in range(30):
        ex = exercises.dma_count_register(seed)
        ch, nbytes = map(int, re.search(r"set_dma_count\((\d+), (\d+)\)", ex.question).groups())
        words = nbytes // (1 if ch <= 3 else 2)
        assert "you gave the byte count" in _diagnosis(ex, nbytes)
        if words != nbytes:
            assert "counts words" in _diagnosis(ex, nbytes - 1)
        assert "number of transfers" in _diagnosis(ex, words)


def test_copy_from_user_left_diagnoses_bytes_copied_instead_of_not_copied():
    seen = 0
    for seed in range(40):
        ex = exercises.copy_from_user_left(seed)
        if ex._answer == 0:
            continue
        n = int(re.search(r"buf, (\d+)\)", ex.question).group(1))
        copied = n - ex._answer
        assert "bytes NOT copied" in _diagnosis(ex, copied)
        assert "0 means success" in _diagnosis(ex, 0)
        seen += 1
    assert seen > 10


def test_buddy_of_diagnoses_the_wrong_order_and_addition():
    for seed in range(30):
        ex = exercises.buddy_of(seed)
        order, pfn = map(int, re.search(r"order-(\d+) block at pfn (\d+)", ex.question).groups())
        assert f"buddy at order {order + 1}" in _diagnosis(ex, pfn ^ (1 << (order + 1)))
        if pfn & (1 << order):  # the buddy lies below: adding is the classic slip
            assert "added the block size" in _diagnosis(ex, pfn + (1 << order))


def test_fragmentation_index_recognises_a_fraction_and_exact_division():
    for seed in range(30):
        ex = exercises.fragmentation_index(seed)
        message = _diagnosis(ex, f"{ex._answer / 1000:.3f}")
        assert "as a fraction" in message and f"write {ex._answer}" in message
    ex = exercises.fragmentation_index(2)
    assert "thousandths" in _diagnosis(ex, "0.5") or ex._answer == 500
    with pytest.raises(BadAnswer):
        exercises.buddy_of(1).check("0.5")  # only the thousandths exercise takes a fraction


def test_an_unrecognised_wrong_answer_gets_the_hint():
    ex = exercises.dma_count_register(4)
    message = _diagnosis(ex, 7)
    assert "Hint:" in message and "It looks like" not in message


# --------------------------------------------------------- why-questions
@pytest.mark.parametrize("kind", sorted(exercises.why.WHY))
def test_why_questions_explain_every_option(kind):
    orders = set()
    for seed in range(6):
        ex = exercises.make(kind, seed)
        assert len(ex.options) == 4 and all(len(why) > 40 for _text, why in ex.options)
        right = ex.check(ex.letters[ex._answer])
        assert right.correct and ex.options[ex._answer][1] in right.message
        for i, (_text, why) in enumerate(ex.options):
            if i != ex._answer:
                wrong = ex.check(i)
                assert not wrong.correct and why in wrong.message
        assert ex.check(ex.options[ex._answer][0]).correct  # the option text works too
        assert ex.solution().count(" - wrong: ") == 3
        orders.add(tuple(text for text, _ in ex.options))
    assert len(orders) > 1  # the seed shuffles the options
    with pytest.raises(BadAnswer):
        exercises.make(kind, 0).check("z")


def test_predictions_run_the_simulation_and_agree_with_the_answer():
    for seed in range(8):
        ex = exercises.next_pfn(seed)
        assert f"Page(pfn={ex._answer}," in ex.run()[-1]
        ex = exercises.dma_count_register(seed)
        assert f": {ex._answer} (" in ex.run()[-1]
        ex = exercises.copy_from_user_left(seed)
        assert ex.run()[-1].endswith(f"-> {ex._answer} (bytes not copied)")
        ex = exercises.kmalloc_class(seed)
        assert ex.run()[-1] == f"ksize(addr) -> {ex._answer}"
    zero = exercises.why_zero_page(1).run()
    assert "RssAnon:\t       0 kB" in zero[1] and "4000 kB" in zero[2]
    assert "external fragmentation" in exercises.why_large_request_fails(1).run()[-1]
    with pytest.raises(BadAnswer):
        exercises.pgtable_index(1).run()  # not a prediction


def test_tlb_misses_diagnoses_the_flush_and_the_capacity():
    seen = set()
    for seed in range(30):
        ex = exercises.tlb_misses(seed)
        pcid = "PCID on" in ex.question
        for wrong, why in ex.mistakes:
            message = ex.check(wrong).message
            assert any(w in message for v, w in ex.mistakes if v == wrong)  # the first of equal values speaks
            if why in message:
                seen.add(("pcid" if pcid else "nopcid", why.split(";")[0][:20]))
        assert f"A missed {ex._answer} times" in ex.run()[-1]
    assert len(seen) >= 3  # flush, no flush and capacity mistakes all occur


def test_absurd_answers_are_refused_without_counting_as_an_attempt():
    ex = exercises.buddy_of(1)
    for absurd in (10**5000, "9" * 5000):
        with pytest.raises(BadAnswer, match="no answer here is that large"):
            ex.check(absurd)
    assert ex.attempts == 0
