"""The C/C++ pitfalls of lesson 07 (issue 11) under the real sanitizers:
each program in examples/pitfalls/ is built with AddressSanitizer (and
LeakSanitizer) or ThreadSanitizer, and its report names the bug it shows.
The simulated checker's reports are compared with these kinds."""

import pytest

from memlab import native

needs_gxx = pytest.mark.skipif(native.compiler() is None, reason="no g++ here (Binder has none)")


def needs_its_compiler(name):
    if native.pitfall_compiler(name) is None:
        pytest.skip(f"no compiler for {name} here (MemorySanitizer needs clang++; Binder has neither)")


@pytest.mark.parametrize("name", sorted(native.PITFALLS))
def test_the_real_sanitizer_names_the_bug(name):
    needs_its_compiler(name)
    tool, kind = native.PITFALLS[name]
    report = native.sanitizer_report(name)
    expected_tool = {
        "address": "AddressSanitizer",
        "leak": "LeakSanitizer",
        "thread": "ThreadSanitizer",
        "memory": "MemorySanitizer",
    }[tool]
    assert (report["tool"], report["kind"]) == (expected_tool, kind), report["report"][:600]
    assert report["summary"].startswith("SUMMARY: ")


@needs_gxx
def test_the_leak_report_counts_bytes_and_blocks():
    report = native.sanitizer_report("memory_leak")
    assert "Direct leak of 100 byte(s) in 1 object(s) allocated from:" in report["report"]
    assert report["summary"] == "SUMMARY: AddressSanitizer: 100 byte(s) leaked in 1 allocation(s)."


@needs_gxx
def test_a_non_virtual_destructor_is_caught_by_the_sized_delete():
    # Modern ASan catches it before any leak check: operator delete gets the Base's size, not the Derived's
    import re

    report = native.sanitizer_report("non_virtual_destructor")["report"]
    assert re.search(r"size of the allocated type: +8 bytes;", report)  # Derived: one pointer
    assert re.search(r"size of the deallocated type: +1 bytes\.", report)  # Base: empty, one byte


@pytest.mark.parametrize("name", sorted(native.PITFALLS))
def test_the_fixed_program_runs_clean_under_the_same_sanitizer(name):
    needs_its_compiler(name)
    report = native.sanitizer_report(name, fixed=True)
    assert report["kind"] is None and "Sanitizer" not in report["report"], report["report"][:600]
