"""The simulated sanitizers (memlab.pitfalls, issue 11): each pitfall of
examples/pitfalls/ is reported with the bug kind, line and report layout of
the real AddressSanitizer, LeakSanitizer, MemorySanitizer or
ThreadSanitizer on the same C++ file, its fix runs clean, and valid
programs are never reported."""

import re
from pathlib import Path

import hypothesis.strategies as st
import pytest
from conftest import examples
from hypothesis import given, settings

from memlab import MemlabError, native
from memlab.pitfalls import PITFALLS, MemorySanitizer, Sanitizer, SanitizerError, counter_program, run, rz_size

DATA = Path(__file__).parent / "data"
TOOLS = {
    "address": "AddressSanitizer",
    "leak": "LeakSanitizer",
    "thread": "ThreadSanitizer",
    "memory": "MemorySanitizer",
}


def simulated(name, fixed=False, **options):
    p = PITFALLS[name]
    return run(p.fixed if fixed else p.faulty, f"{name}.cpp", p.tool, **options)


def test_every_pitfall_of_the_examples_has_its_simulated_program():
    assert sorted(PITFALLS) == sorted(native.PITFALLS)


@pytest.mark.parametrize("name", sorted(native.PITFALLS))
def test_each_pitfall_is_found_as_the_real_tool_names_it_and_its_fix_runs_clean(name):
    found = simulated(name)
    tool, kind = native.PITFALLS[name]
    assert found is not None and (found.tool, found.kind) == (TOOLS[tool], kind)
    assert simulated(name, fixed=True) is None


def _normalised(report):
    """A report with what differs between two runs masked: addresses, pids,
    thread ids, build ids, directories, module offsets; shadow rows dropped
    (their bytes depend on the allocator's layout) except the guilty byte."""
    out = []
    for line in report.splitlines():
        if re.match(r"^(  |=>)0x[0-9a-f]+:", line):
            if line.startswith("=>"):
                out.append("guilty " + re.search(r"\[(..)\]", line).group(1))
            continue
        line = re.sub(r"==\d+==", "==PID==", line)
        line = re.sub(r"\(pid=\d+\)", "(pid=PID)", line)
        line = re.sub(r"\(tid=\d+, (running|finished)\)", "(tid=TID, STATE)", line)
        line = re.sub(r"\(BuildId: [0-9a-f]+\)", "(BuildId: ID)", line)
        line = re.sub(r"\((?!libstdc|libtsan)[^()\s]+\+0x[0-9a-f]+\)", "(EXE+OFFSET)", line)
        line = re.sub(r"0x[0-9a-f]+", "ADDR", line)
        line = re.sub(r"/\S*/examples/pitfalls/", "", line)
        out.append(line.rstrip())
    return out


LINE_FOR_LINE = [
    "heap_buffer_overflow",
    "heap_use_after_free",
    "double_free",
    "alloc_dealloc_mismatch",
    "non_virtual_destructor",
    "memory_leak",
    "auto_ptr_copy",
    "uninitialized_read",
    "wild_pointer",
    "data_race",
]


@pytest.mark.parametrize("name", LINE_FOR_LINE)
def test_the_simulated_report_is_the_real_one_line_for_line(name):
    if native.pitfall_compiler(name) is None:
        pytest.skip(f"no compiler for {name} here (e.g. Binder): nothing to compare with")
    real = native.sanitizer_report(name)["report"]
    assert _normalised(simulated(name).report) == _normalised(real)


@pytest.mark.skipif(native.compiler() is None, reason="no g++ here (e.g. Binder): nothing to compare with")
def test_a_shared_ptr_cycle_is_two_indirect_leaks_as_lsan_reports_it():
    # (the real stacks run through make_shared's internals and std::thread, which the simulation leaves out)
    def heads(report):
        return sorted(line for line in report.splitlines() if " leak of " in line or line.startswith("SUMMARY"))

    real = native.sanitizer_report("shared_ptr_cycle")["report"]
    assert (
        heads(simulated("shared_ptr_cycle").report)
        == heads(real)
        == [
            "Indirect leak of 32 byte(s) in 1 object(s) allocated from:",
            "Indirect leak of 32 byte(s) in 1 object(s) allocated from:",
            "SUMMARY: AddressSanitizer: 64 byte(s) leaked in 2 allocation(s).",
        ]
    )


@pytest.mark.skipif(native.compiler() is None, reason="no g++ here (e.g. Binder): nothing to compare with")
def test_iterator_invalidation_names_the_same_bug_at_the_same_line():
    # (the real stacks run through std::vector's internals, which the simulation leaves out)
    real = native.sanitizer_report("iterator_invalidation")
    found = simulated("iterator_invalidation")
    assert found.kind == real["kind"] == "heap-use-after-free"
    assert _normalised(found.summary) == _normalised(real["summary"])


def test_a_report_is_stable_golden_text():
    found = run(PITFALLS["heap_buffer_overflow"].faulty, "heap_buffer_overflow.cpp")
    assert found.report == (DATA / "asan_heap_buffer_overflow.txt").read_text()
    assert (
        "[04]" not in found.report and "00 00 00 00 00[fa]" in found.report
    )  # 40 bytes: five granules, then the redzone


def test_the_redzone_grows_with_the_request_as_compute_rz_log_says():
    assert [rz_size(n) for n in (1, 48, 49, 96, 97, 448, 449, 3968, 3969)] == [16, 16, 32, 32, 64, 64, 128, 128, 256]
    s = Sanitizer()
    small, big = s.malloc(48, line=1), s.malloc(449, line=2)
    assert s.shadow_byte(small - 16) == s.shadow_byte(big - 128) == 0xFA and s.shadow_byte(big) == 0
    s.free(small, line=3)
    assert s.shadow_byte(small) == 0xFD and s.shadow_byte(big + 448) == 1  # one byte of the last granule


def test_leaks_direct_and_indirect_as_lsan_groups_them():
    # the host's LeakSanitizer on this program (a = malloc(10); b = malloc(16); b[0] = malloc(7);
    # a = b = 0): Direct 16, Direct 10, Indirect 7, 33 bytes in 3 allocations
    s = Sanitizer("t.cpp")
    s.let("a", s.malloc(10, line=14))
    b = s.let("b", s.malloc(16, line=15))
    s.store_ptr(b, s.malloc(7, line=16), line=16)
    s.let("a", None)
    s.let("b", None)
    with pytest.raises(SanitizerError) as e:
        s.exit()
    lines = e.value.report.splitlines()
    heads = [ln for ln in lines if "leak of" in ln]
    assert heads == [
        "Direct leak of 16 byte(s) in 1 object(s) allocated from:",
        "Direct leak of 10 byte(s) in 1 object(s) allocated from:",
        "Indirect leak of 7 byte(s) in 1 object(s) allocated from:",
    ]
    assert lines[-1] == e.value.summary == "SUMMARY: AddressSanitizer: 33 byte(s) leaked in 3 allocation(s)."


def test_a_pointer_in_a_variable_or_in_a_reachable_block_keeps_a_block_alive():
    s = Sanitizer()
    head = s.let("head", s.malloc(16, line=1))
    s.store_ptr(head + 8, s.malloc(16, line=2), line=2)  # head->next
    assert s.exit() is None  # reachable: no leak (LSan does not ask that memory be freed)


def test_the_derived_part_leaks_when_the_size_check_is_off():
    found = run(PITFALLS["non_virtual_destructor"].faulty, "non_virtual_destructor.cpp", new_delete_type_mismatch=False)
    assert found.tool == "LeakSanitizer" and "Direct leak of 64 byte(s) in 1 object(s)" in found.report
    assert "in Derived::Derived() non_virtual_destructor.cpp:12" in found.report


def test_without_a_quarantine_a_use_after_free_goes_unseen():
    # the reason for the quarantine: the freed block is handed out again at once
    def program(s):
        p = s.malloc(32, line=1)
        s.free(p, line=2)
        q = s.malloc(32, line=3)
        assert q == p
        s.read(p, 4, line=4)  # reads q's bytes: nothing to see
        s.free(q, line=5)

    assert run(program, quarantine_size_mb=0) is None
    found = run(_uaf_with_quarantine)
    assert found.kind == "heap-use-after-free"


def _uaf_with_quarantine(s):
    p = s.malloc(32, line=1)
    s.free(p, line=2)
    q = s.malloc(32, line=3)
    assert q != p  # the freed chunk waits in quarantine
    s.read(p, 4, line=4)


def test_bad_input_names_the_value_and_changes_nothing():
    s = Sanitizer()
    p = s.malloc(8, line=1)
    for call in (lambda: s.malloc(-1, line=2), lambda: s.malloc(8, line=0), lambda: s.read(p, "4", line=2)):
        with pytest.raises(MemlabError, match="must be"):
            call()
    assert list(s.chunks) == [p] and s.finding is None
    with pytest.raises(SanitizerError):
        s.free(p + 1, line=3)  # free on address which was not malloc()-ed
    with pytest.raises(MemlabError, match="stopped at line 3 by AddressSanitizer"):
        s.malloc(8, line=4)


OPS = st.lists(
    st.tuples(
        st.sampled_from(["malloc", "calloc", "new", "new[]", "free", "touch"]),
        st.integers(0, 600),
        st.integers(0, 10**6),
    ),
    max_size=40,
)


@settings(max_examples=examples(1.0), deadline=None)
@given(OPS)
def test_a_valid_program_is_never_reported(ops):
    s = Sanitizer()
    live = []  # (address, size, kind)
    line = 1
    for op, size, pick in ops:
        line += 1
        if op in ("malloc", "calloc", "new", "new[]"):
            alloc = {"malloc": s.malloc, "new": s.new, "new[]": s.new_array}.get(op)
            addr = alloc(size, line=line) if alloc else s.calloc(1, size, line=line)
            live.append((addr, size, "malloc" if op == "calloc" else op))
            s.let(f"v{line}", addr)
        elif live and op == "touch":
            addr, n, _ = live[pick % len(live)]
            start = pick % max(n, 1)
            s.write(addr + start, bytes(min(n - start, 16)) if n else b"", line=line)
            s.read(addr, n, line=line)
        elif live:
            addr, n, kind = live.pop(pick % len(live))
            {"malloc": s.free, "new": s.delete, "new[]": s.delete_array}[kind](addr, line=line)
    for addr, _, kind in live:
        {"malloc": s.free, "new": s.delete, "new[]": s.delete_array}[kind](addr, line=line + 1)
    assert s.exit() is None and s.finding is None


def test_lost_updates_are_counted_and_only_the_fixes_keep_them_all():
    for seed in (0, 1, 2):
        racy = counter_program(None, iterations=500, seed=seed).run()
        assert racy.values["counter"] + racy.lost == 1000 and racy.lost > 0 and racy.report is not None
        again = counter_program(None, iterations=500, seed=seed).run()
        assert (again.values, again.lost, again.timeline) == (racy.values, racy.lost, racy.timeline)  # the seed decides
        volatile = counter_program("volatile", iterations=500, seed=seed).run()
        assert volatile.values == racy.values and volatile.report.summary == racy.report.summary  # no help at all
        for fix in ("mutex", "atomic"):
            done = counter_program(fix, iterations=500, seed=seed).run()
            assert done.values["counter"] == 1000 and done.lost == 0 and done.report is None


def test_without_interleaving_no_update_is_lost_but_the_race_is_still_reported():
    # ThreadSanitizer finds the race from the order of events, not from a wrong result
    run_ = counter_program(None, iterations=100, switch=0).run()
    assert run_.values["counter"] == 200 and run_.lost == 0 and run_.report.kind == "data race"


STEPS = st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["inc", "read"])), min_size=1, max_size=30)


@settings(max_examples=examples(1.0), deadline=None)
@given(st.lists(STEPS, min_size=2, max_size=3), st.integers(0, 10**6), st.floats(0, 1))
def test_threads_whose_shared_accesses_are_locked_or_atomic_are_never_reported(threads, seed, switch):
    from memlab.pitfalls import ThreadProgram

    prog = ThreadProgram(seed=seed, switch=switch)
    names = [prog.global_var(f"g{k}") for k in range(3)]
    for t, steps in enumerate(threads):
        body = []
        for var, what in steps:
            g, line = names[var], 10 + t
            if var == 2:  # g2 is a std::atomic: only atomic operations touch it
                body.append(("atomic_add", g, line))
            else:  # every plain access under the one mutex
                body += [("lock", "m", line), ("load", g, line)]
                body += [("add", 1, line), ("store", g, line)] if what == "inc" else []
                body.append(("unlock", "m", line))
        prog.thread(f"t{t}", body, line=20)
    result = prog.run()
    assert result.report is None and result.lost == 0


def test_an_atomic_and_a_plain_access_to_one_variable_race():
    from memlab.pitfalls import ThreadProgram

    prog = ThreadProgram(seed=1, switch=0.5)
    prog.global_var("n")
    prog.thread(
        "locked", [("lock", "m", 5), ("load", "n", 6), ("add", 1, 6), ("store", "n", 6), ("unlock", "m", 7)], line=9
    )
    prog.thread("atomic", [("atomic_add", "n", 8)] * 3, line=10)
    assert prog.run().report.kind == "data race"


def test_memory_sanitizer_follows_what_was_written():
    m = MemorySanitizer()
    a = m.malloc(16, line=1)
    m.write(a, b"\1\0\0\0", line=2)
    assert m.use(a, 4, line=3, col=1) == b"\1\0\0\0"  # written: fine
    c = m.calloc(4, 4, line=4)
    assert m.use(c + 8, 4, line=5, col=1) == bytes(4)  # calloc: zeros, written
    with pytest.raises(SanitizerError) as e:
        m.use(a + 2, 4, line=6, col=7)  # two written bytes, two not
    assert e.value.summary == "SUMMARY: MemorySanitizer: use-of-uninitialized-value prog.cpp:6:7 in main"
    assert "created by a heap allocation" in e.value.report and "in main prog.cpp:1:1" in e.value.report


def test_a_null_pointer_read_is_a_segv_on_the_zero_page():
    s = Sanitizer()
    with pytest.raises(SanitizerError) as e:
        s.read(0, 4, line=3)
    assert e.value.kind == "SEGV" and "Hint: address points to the zero page." in e.value.report
    assert e.value.report.startswith("AddressSanitizer:DEADLYSIGNAL\n")


def test_thread_and_memory_checkers_refuse_bad_input():
    from memlab.pitfalls import ThreadProgram

    with pytest.raises(MemlabError, match="probability"):
        ThreadProgram(switch=2)
    prog = ThreadProgram()
    with pytest.raises(MemlabError, match="not a global_var"):
        prog.thread("t", [("load", "nope", 1)], line=2)
    with pytest.raises(MemlabError, match="must be"):
        prog.thread("t", [("jump", "x", 1)], line=2)
    with pytest.raises(MemlabError, match="fix"):
        counter_program("lock-free")
    m = MemorySanitizer()
    with pytest.raises(MemlabError, match="col"):
        m.malloc(4, line=1, col=0)
    with pytest.raises(MemlabError, match="not declared"):
        m.use_local("q", line=2, col=1)


@settings(max_examples=examples(1.0), deadline=None)
@given(st.lists(st.tuples(st.integers(1, 64), st.integers(0, 64), st.booleans()), max_size=15))
def test_memory_sanitizer_never_reports_a_use_of_written_bytes(blocks):
    m = MemorySanitizer()
    for k, (size, start, zeroed) in enumerate(blocks, 1):
        a = m.calloc(1, size, line=k) if zeroed else m.malloc(size, line=k)
        start = min(start, size - 1)
        m.write(a + start, bytes(size - start), line=k)  # the tail is written
        assert m.use(a + start, size - start, line=k, col=1) == bytes(size - start)
        if zeroed:
            m.use(a, size, line=k, col=2)  # calloc wrote every byte
        m.free(a, line=k)
    assert m.finding is None
