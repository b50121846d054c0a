"""Stateful property test of mmap/munmap/mprotect/brk against a page-level
model: VMAs never overlap, stay sorted, adjacent compatible VMAs are merged,
and every page has the protection the model says."""

import hypothesis.strategies as st
from conftest import examples
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from memlab import Machine
from memlab.mm import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    SegmentationFault,
    SyscallError,
)

BASE = 0x10000000
PAGES = 24
PG = 4096


def perms_of(prot):
    return (
        ("r" if prot & PROT_READ else "-")
        + ("w" if prot & PROT_WRITE else "-")
        + ("x" if prot & PROT_EXEC else "-")
        + "p"
    )


class MmMachine(RuleBasedStateMachine):
    """Addresses are drawn from a fixed window of pages (not a Bundle: any
    page may be mapped, unmapped or protected), so a failure already reads
    as a short list of syscalls on page numbers."""

    @initialize()
    def setup(self):
        self.m = Machine(ram="64MiB")
        self.p = self.m.spawn("sm")
        self.model = {}  # page index in the window -> perms

    def window(self):
        return [v for v in self.p.mm.vmas if BASE <= v.start < BASE + PAGES * PG]

    @rule(
        first=st.integers(0, PAGES - 1),
        n=st.integers(1, 6),
        prot=st.sampled_from([PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC]),
    )
    def mmap_fixed(self, first, n, prot):
        n = min(n, PAGES - first)
        self.p.mmap(addr=BASE + first * PG, length=n * PG, prot=prot, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
        for i in range(first, first + n):
            self.model[i] = perms_of(prot)

    @rule(first=st.integers(0, PAGES - 1), n=st.integers(1, 6))
    def munmap(self, first, n):
        n = min(n, PAGES - first)
        self.p.munmap(BASE + first * PG, n * PG)
        for i in range(first, first + n):
            self.model.pop(i, None)

    @rule(
        first=st.integers(0, PAGES - 1),
        n=st.integers(1, 6),
        prot=st.sampled_from([PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC]),
    )
    def mprotect(self, first, n, prot):
        n = min(n, PAGES - first)
        pages = range(first, first + n)
        try:
            self.p.mprotect(BASE + first * PG, n * PG, prot)
        except SyscallError as err:
            assert err.errno == "ENOMEM" and any(i not in self.model for i in pages)
            return
        assert all(i in self.model for i in pages)
        for i in pages:
            self.model[i] = perms_of(prot)

    @rule(i=st.integers(0, PAGES - 1), write=st.booleans())
    def touch(self, i, write):
        try:
            self.p.touch(BASE + i * PG, write=write)
        except SegmentationFault as err:
            assert i not in self.model or (write and "w" not in self.model[i]) or "r" not in self.model[i]
            assert err.si_code == ("SEGV_MAPERR" if i not in self.model else "SEGV_ACCERR")
        else:
            assert i in self.model and ("w" in self.model[i] if write else "r" in self.model[i])

    @rule(bad=st.sampled_from([1, 2048]))
    def unaligned(self, bad):
        try:
            self.p.munmap(BASE + bad, PG)
        except SyscallError as err:
            assert err.errno == "EINVAL"
        else:
            raise AssertionError("unaligned munmap accepted")

    @invariant()
    def consistent(self):
        vmas = self.p.mm.vmas
        assert [v.start for v in vmas] == sorted(v.start for v in vmas)
        self.p.mm.check_invariants()
        for a, b in zip(vmas, vmas[1:]):
            assert a.end <= b.start, "VMAs overlap"
            assert not b.can_merge_after(a), f"adjacent compatible VMAs not merged: {a} {b}"
        seen = {}
        for v in self.window():
            for addr in range(v.start, v.end, PG):
                seen[(addr - BASE) // PG] = v.perms
        assert seen == self.model


TestMmMachine = MmMachine.TestCase
TestMmMachine.settings = settings(max_examples=examples(0.55), stateful_step_count=40)
