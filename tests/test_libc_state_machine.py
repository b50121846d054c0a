"""Stateful property test of the simulated glibc malloc: after every call
the chunks and the top tile the heap exactly, every size field in the
process's memory says what the model says, every live buffer still holds
what the program wrote into it, mallinfo2() adds up, and a refused call
changes nothing."""

import hypothesis.strategies as st
from conftest import examples
from hypothesis import settings
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, multiple, rule

from memlab import Machine, MemlabError
from memlab.libc import MallocAbort

SIZES = st.one_of(
    st.integers(0, 140), st.integers(0, 1100), st.integers(1000, 70_000), st.sampled_from([131_048, 131_049, 200_000])
)


class MallocMachine(RuleBasedStateMachine):
    buffers = Bundle("buffers")

    @initialize(mxfast=st.sampled_from([None, 0, 64]))
    def setup(self, mxfast):
        self.p = Machine(ram="1GiB").spawn("prog")
        self.c = self.p.libc
        self.start = self.p.brk()
        if mxfast is not None:
            assert self.c.mallopt(1, mxfast) == 1
        self.data = {}  # address -> the bytes the program wrote there
        self.tag = 0

    def _fill(self, addr, n):
        self.tag += 1
        pattern = bytes([self.tag % 251 + 1]) * min(n, 64)
        self.p.write(addr, pattern)
        self.data[addr] = pattern

    def _state(self):
        return self.c.chunk_list(), self.c.mallinfo2(), self.p.brk()

    @rule(target=buffers, n=SIZES)
    def malloc(self, n):
        addr = self.c.malloc(n)
        assert addr % 16 == 0 and self.c.malloc_usable_size(addr) >= n
        self._fill(addr, n)
        return addr

    @rule(target=buffers, nmemb=st.integers(0, 8), size=SIZES)
    def calloc(self, nmemb, size):
        addr = self.c.calloc(nmemb, size)
        assert self.p.read(addr, min(nmemb * size, 256)) == bytes(min(nmemb * size, 256))
        self._fill(addr, nmemb * size)
        return addr

    @rule(target=buffers, addr=consumes(buffers), n=SIZES)
    def realloc(self, addr, n):
        kept = self.data.pop(addr)
        new = self.c.realloc(addr, n)
        if n == 0:
            assert new == 0
            return multiple()
        assert self.p.read(new, min(len(kept), n)) == kept[:n]
        self._fill(new, n)
        return new

    @rule(addr=consumes(buffers))
    def free(self, addr):
        del self.data[addr]
        self.c.free(addr)

    @rule(addr=buffers, offset=st.sampled_from([8, 16, 24]))
    def free_inside_a_buffer(self, addr, offset):
        before = self._state()
        try:
            self.c.free(addr + offset)
        except MallocAbort as err:
            assert err.message == "free(): invalid pointer"
        else:
            raise AssertionError("a pointer into the middle of a buffer was freed")
        assert self._state() == before

    @rule(n=SIZES)
    def double_free(self, n):
        addr = self.c.malloc(n)
        self.c.free(addr)
        before = self._state()
        try:
            self.c.free(addr)
        except MemlabError:
            pass  # glibc's abort, or memlab's refusal where glibc would not notice
        else:
            assert addr - 16 not in self.c.chunks and addr - 16 not in self.c.mmapped  # merged away: not a chunk
        assert self._state() == before

    @invariant()
    def the_heap_is_tiled_and_every_header_is_true(self):
        chunks = [(a, s, st) for a, s, st in self.c.chunk_list() if st != "mmapped"]
        if not chunks:
            return
        pos = self.start
        for addr, size, state in chunks:
            assert addr == pos, f"gap or overlap at {addr:#x} (expected {pos:#x})"
            assert size >= 32 and size % 16 == 0
            raw = int.from_bytes(self.p.read(addr + 8, 8), "little")
            assert raw & ~7 == size, f"{state} chunk at {addr:#x}: header says {raw:#x}"
            pos += size
        assert pos == self.p.brk() and chunks[-1][2] == "top"
        mi = self.c.mallinfo2()
        assert mi["arena"] == self.p.brk() - self.start
        assert mi["uordblks"] + mi["fordblks"] == mi["arena"]

    @invariant()
    def every_buffer_keeps_its_bytes(self):
        for addr, pattern in self.data.items():
            assert self.p.read(addr, len(pattern)) == pattern


TestMallocMachine = MallocMachine.TestCase
TestMallocMachine.settings = settings(max_examples=examples(0.5), stateful_step_count=40)
