"""A user-space general-purpose allocator on a simulated heap, for comparison
with memory pools.

:class:`Malloc` keeps glibc's chunk geometry (glibc malloc/malloc.c: an
8-byte size header, 16-byte alignment, a minimum chunk of 32 bytes, so a
request of n bytes takes ``max(32, (n + 8 + 15) & ~15)`` bytes) and grows the
heap with ``brk`` in 128 KiB steps (M_TOP_PAD). Free chunks are kept in one
address-ordered list, searched first fit and coalesced with free neighbours
on free (boundary tags).

Deliberately simpler than glibc: no tcache, fastbins, small/large bins or
arenas, no mmap for large requests (M_MMAP_THRESHOLD), no heap trimming. The
point it makes is the one that matters for pools: a general allocator pays a
header per object, searches, and fragments.
"""

from bisect import bisect_left, insort

from .errors import BadFree, BadSize, reject

__all__ = ["Malloc", "chunk_size"]

HEADER = 8  # the overhead per chunk: the size field (prev_size is lent to the previous chunk)
CHUNK_TO_MEM = 16  # chunk2mem(): 2 * SIZE_SZ
PTRDIFF_MAX = (1 << 63) - 1
ALIGN = 16
MIN_CHUNK = 32
TOP_PAD = 128 << 10


def chunk_size(n):
    """Bytes a malloc(n) chunk takes (glibc request2size on x86-64)."""
    return max(MIN_CHUNK, (n + HEADER + ALIGN - 1) & ~(ALIGN - 1))


class Malloc:
    """``malloc``/``free`` on a heap starting at ``start`` (first fit,
    coalescing). ``heap_size`` is what brk handed out; ``stats()`` gives
    bytes requested, chunk bytes in use, free bytes and fragmentation."""

    def __init__(self, start=0x555555559000):
        self.start = start
        self.brk = start
        self.free_starts = []  # sorted chunk starts of free chunks
        self.free_size = {}  # chunk start -> size
        self.used = {}  # user address -> (chunk start, chunk size, requested)
        self.requested = 0
        self.searches = 0

    @property
    def heap_size(self):
        return self.brk - self.start

    def malloc(self, n):
        if n.__class__ is not int or n <= 0:
            raise reject(BadSize, n, f"malloc: size {n!r} must be an int > 0")
        if n > PTRDIFF_MAX:
            # checked_request2size() fails: glibc sets errno = ENOMEM and returns NULL
            raise BadSize(f"malloc({n}): more than PTRDIFF_MAX ({PTRDIFF_MAX}) bytes; glibc returns NULL (ENOMEM)")
        need = chunk_size(n)
        for i, start in enumerate(self.free_starts):  # first fit
            self.searches += 1
            size = self.free_size[start]
            if size >= need:
                del self.free_starts[i]
                del self.free_size[start]
                return self._carve(start, size, need, n)
        start = self.brk  # extend the heap (sbrk)
        top = self.free_starts[-1] if self.free_starts else None
        if top is not None and top + self.free_size[top] == self.brk:
            start = top  # grow the free top chunk
            self.free_starts.pop()
            have = self.free_size.pop(top)
        else:
            have = 0
        grow = -(-(need - have + TOP_PAD) // 4096) * 4096
        self.brk += grow
        return self._carve(start, have + grow, need, n)

    def _carve(self, start, total, need, n):
        """Use ``need`` bytes at the start of a free span of ``total`` bytes;
        the rest stays free when it can hold a chunk (split)."""
        if total - need >= MIN_CHUNK:
            rest = start + need
            insort(self.free_starts, rest)
            self.free_size[rest] = total - need
        else:
            need = total
        return self._use(start, need, n)

    def _use(self, start, size, n):
        # chunk2mem(): the pointer follows prev_size and size (2 * SIZE_SZ = 16 bytes), so it is 16-byte
        # aligned like the chunk; the usable bytes run 8 bytes into the next chunk's prev_size field
        addr = start + CHUNK_TO_MEM
        self.used[addr] = (start, size, n)
        self.requested += n
        return addr

    def free(self, addr):
        entry = self.used.pop(addr, None) if addr.__class__ is int else None
        if entry is None:
            raise BadFree(
                f"free(): invalid pointer {addr!r} (not from malloc, or already freed: glibc aborts "
                f"with 'free(): double free detected' or 'free(): invalid pointer')"
            )
        start, size, n = entry
        self.requested -= n
        i = bisect_left(self.free_starts, start)
        if i < len(self.free_starts) and self.free_starts[i] == start + size:  # merge with next
            nxt = self.free_starts.pop(i)
            size += self.free_size.pop(nxt)
        if i > 0:
            prev = self.free_starts[i - 1]
            if prev + self.free_size[prev] == start:  # merge with previous
                self.free_size[prev] += size
                return
        self.free_starts.insert(i, start)
        self.free_size[start] = size

    def stats(self):
        free_bytes = sum(self.free_size.values())
        largest = max(self.free_size.values(), default=0)
        in_use = sum(s for _, s, _ in self.used.values())
        return {
            "heap_size": self.heap_size,
            "requested": self.requested,
            "chunk_bytes_in_use": in_use,
            "free_bytes": free_bytes,
            "free_chunks": len(self.free_starts),
            "fragmentation": 0.0 if not free_bytes else 1 - largest / free_bytes,
        }

    def check_invariants(self):
        chunks = sorted(
            [(s, z, "used") for s, z, _ in self.used.values()]
            + [(s, self.free_size[s], "free") for s in self.free_starts]
        )
        pos = self.start
        for start, size, _kind in chunks:
            assert start == pos, f"gap or overlap at {start:#x} (expected {pos:#x})"
            assert size >= MIN_CHUNK and size % ALIGN == 0
            pos += size
        assert pos == self.brk, "chunks do not cover the heap"
        frees = [s for s, _, k in chunks if k == "free"]
        for a, b in zip(frees, frees[1:]):
            assert a + self.free_size[a] != b, "two free chunks side by side were not coalesced"
