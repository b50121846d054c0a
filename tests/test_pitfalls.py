"""The simulated sanitizers (memlab.pitfalls, issue 11): each pitfall of
examples/pitfalls/ is reported with the bug kind, line and report layout of
the real AddressSanitizer/LeakSanitizer on the same C++ file, its fix runs
clean, and valid programs are never reported."""

import re
from pathlib import Path

import hypothesis.strategies as st
import pytest
from conftest import examples
from hypothesis import given, settings

from memlab import MemlabError, native
from memlab.pitfalls import PITFALLS, Sanitizer, SanitizerError, run, rz_size

DATA = Path(__file__).parent / "data"
ASAN_OR_LSAN = [name for name, (tool, _) in native.PITFALLS.items() if tool in ("address", "leak")]


@pytest.mark.parametrize("name", ASAN_OR_LSAN)
def test_each_pitfall_is_found_as_the_real_tool_names_it_and_its_fix_runs_clean(name):
    found = run(PITFALLS[name].faulty, f"{name}.cpp")
    assert found is not None and found.kind == native.PITFALLS[name][1]
    assert run(PITFALLS[name].fixed, f"{name}.cpp") is None


def _normalised(report):
    """A report with what differs between two runs masked: addresses, pids,
    directories, the executable; shadow rows dropped (their bytes depend on
    the allocator's layout) except the guilty byte."""
    out = []
    for line in report.splitlines():
        if re.match(r"^(  |=>)0x[0-9a-f]+:", line):
            if line.startswith("=>"):
                out.append("guilty " + re.search(r"\[(..)\]", line).group(1))
            continue
        line = re.sub(r"==\d+==", "==PID==", line)
        line = re.sub(r"\(pid=\d+\)", "(pid=PID)", line)
        line = re.sub(r"0x[0-9a-f]+", "ADDR", line)
        line = re.sub(r"/\S*/examples/pitfalls/", "", line)
        line = re.sub(r"_start \(\S+\)", "_start (EXE)", line)
        out.append(line.rstrip())
    return out


@pytest.mark.skipif(native.compiler() is None, reason="no g++ here (e.g. Binder): nothing to compare with")
@pytest.mark.parametrize(
    "name",
    [
        "heap_buffer_overflow",
        "heap_use_after_free",
        "double_free",
        "alloc_dealloc_mismatch",
        "non_virtual_destructor",
        "memory_leak",
    ],
)
def test_the_simulated_report_is_the_real_one_line_for_line(name):
    real = native.sanitizer_report(name)["report"]
    simulated = run(PITFALLS[name].faulty, f"{name}.cpp").report
    assert _normalised(simulated) == _normalised(real)


@pytest.mark.skipif(native.compiler() is None, reason="no g++ here (e.g. Binder): nothing to compare with")
def test_iterator_invalidation_names_the_same_bug_at_the_same_line():
    # (the real stacks run through std::vector's internals, which the simulation leaves out)
    real = native.sanitizer_report("iterator_invalidation")
    simulated = run(PITFALLS["iterator_invalidation"].faulty, "iterator_invalidation.cpp")
    assert simulated.kind == real["kind"] == "heap-use-after-free"
    assert _normalised(simulated.summary) == _normalised(real["summary"])


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
