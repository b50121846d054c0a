"""calloc, realloc, malloc_usable_size, mallopt, mallinfo2 and
malloc_stats on top of :class:`memlab.libc.malloc.Arena` (glibc 2.36
malloc/malloc.c: __libc_calloc, __libc_realloc, _int_realloc,
mremap_chunk, musable, __libc_mallopt, int_mallinfo, __malloc_stats)."""

from __future__ import annotations

from ..errors import BadSize, MemlabError, reject
from .malloc import (
    CHUNK_HDR_SZ,
    IS_MMAPPED,
    M_MMAP_MAX,
    M_MMAP_THRESHOLD,
    M_MXFAST,
    M_TOP_PAD,
    M_TRIM_THRESHOLD,
    MAX_FAST_SIZE,
    MINSIZE,
    PAGE,
    PREV_INUSE,
    PTRDIFF_MAX,
    SIZE_SZ,
    Arena,
    MallocAbort,
    align_up,
    request2size,
)

__all__ = ["Libc"]


class Libc(Arena):
    """The malloc family of one simulated process: ``p.libc`` (see
    :mod:`memlab.libc`)."""

    # ------------------------------------------------------ calloc/realloc
    def calloc(self, nmemb: int, size: int) -> int:
        """``calloc(nmemb, size)``: zeroed memory, or 0 on overflow. Memory
        fresh from the kernel (mmapped, or brk beyond what the heap ever
        had) is already zero and is not cleared again."""
        for v in (nmemb, size):
            if v.__class__ is not int or v < 0:
                raise reject(BadSize, v, f"calloc: {v!r} must be an int >= 0 (a size_t)")
        nbytes = nmemb * size
        if nbytes >= 1 << 64 or nbytes > PTRDIFF_MAX:
            return 0
        if self.tcache is None:
            self._tcache_init()
        oldtop = self.top
        oldtopsize = self.top_size
        if oldtop is not None and oldtopsize < self.sbrk_base + self.max_system_mem - oldtop:
            oldtopsize = self.sbrk_base + self.max_system_mem - oldtop
        mem = self._int_malloc(request2size(nbytes))
        if mem == 0:
            return 0
        chunk = mem - CHUNK_HDR_SZ
        if chunk in self.mmapped:
            return mem
        csz = self.chunks[chunk][0]
        if chunk == oldtop and csz > oldtopsize:
            csz = oldtopsize
        self.process.write(mem, bytes(csz - SIZE_SZ))
        return mem

    def realloc(self, addr: int, n: int) -> int:
        """``realloc(addr, n)``: in place when the chunk or its free
        neighbour (or the top) allows, else malloc, copy and free."""
        if n.__class__ is not int or n < 0:
            raise reject(BadSize, n, f"realloc: size {n!r} must be an int >= 0 (a size_t)")
        if addr.__class__ is not int or addr < 0:
            raise reject(BadSize, addr, f"realloc: {addr!r} is not an address (an int)")
        if addr == 0:
            return self.malloc(n)
        if n == 0:
            self.free(addr)
            return 0
        chunk = addr - CHUNK_HDR_SZ
        if chunk in self.mmapped:
            return self._mremap_chunk(chunk, request2size(n)) + CHUNK_HDR_SZ
        entry = self.chunks.get(chunk)
        if entry is None:
            raise MallocAbort("realloc(): invalid pointer", f"realloc({addr:#x}, {n}): no chunk malloc handed out")
        if entry[1] != "inuse":
            raise MemlabError(
                f"realloc({addr:#x}, {n}): the chunk was freed (a use after free glibc may not notice); "
                f"memlab refuses it (not modelled)"
            )
        if n > PTRDIFF_MAX:
            return 0
        nb = request2size(n)
        oldsize = entry[0]
        nxt = chunk + oldsize
        for where, size, message in ((chunk, oldsize, "realloc(): invalid old size"), (nxt, None, None)):
            true = size if size is not None else (self.top_size if nxt == self.top else self.chunks[nxt][0])
            raw = self._read_head(where, true)
            if raw is not None:  # _int_realloc's first checks, on a field the program overwrote
                if raw & ~7 <= CHUNK_HDR_SZ or raw & ~7 >= self.system_mem:
                    raise MallocAbort(message or "realloc(): invalid next size", f"the size field reads {raw:#x}")
                raise self._damaged(where, true, raw)
        if oldsize >= nb:
            return self._shrink(chunk, oldsize, nb)
        if nxt == self.top and oldsize + self.top_size >= nb + MINSIZE:
            self.top_size -= nb - oldsize
            self.top = chunk + nb
            entry[0] = nb
            self._set_head(chunk, nb | PREV_INUSE)
            self._set_head(self.top, self.top_size | PREV_INUSE)
            return addr
        if nxt != self.top and self._binned(nxt) and oldsize + self.chunks[nxt][0] >= nb:
            entry[0] = oldsize + self._unlink(nxt)
            return self._shrink(chunk, entry[0], nb)
        new = self._int_malloc(nb)
        if new == 0:
            return 0
        if new - CHUNK_HDR_SZ == nxt:  # the new chunk is the next one (a grown top): no copy
            entry[0] = oldsize + self.chunks.pop(nxt)[0]
            return self._shrink(chunk, entry[0], nb)
        self.process.write(new, self.process.read(addr, oldsize - SIZE_SZ))
        self._int_free(chunk, oldsize)
        return new

    def _mremap_chunk(self, chunk, nb):
        """mremap_chunk(): an mmapped chunk stays mmapped, resized to whole
        pages (MREMAP_MAYMOVE). Simplification: growing moves it to a new
        mapping with a copy; the kernel would move the page-table entries."""
        p = self.process
        size = self.mmapped[chunk]
        new_size = align_up(nb + SIZE_SZ, PAGE)
        if new_size == size:
            return chunk
        if new_size < size:
            p.munmap(chunk + new_size, size - new_size)
            new = chunk
        else:
            new = p.mmap(length=new_size)
            p.write(new, p.read(chunk, size))
            p.munmap(chunk, size)
        del self.mmapped[chunk]
        self.mmapped[new] = new_size
        self._set_head(new, new_size | IS_MMAPPED)
        self.mmapped_mem += new_size - size
        self.max_mmapped_mem = max(self.max_mmapped_mem, self.mmapped_mem)
        return new

    def _shrink(self, chunk, size, nb):
        """The end of _int_realloc: keep ``nb`` bytes of a chunk of ``size``;
        a remainder of MINSIZE or more is freed (to the tcache if it fits)."""
        if size - nb < MINSIZE:
            self.chunks[chunk][0] = size
            self._set_head(chunk, size | PREV_INUSE)
        else:
            self.chunks[chunk][0] = nb
            self._set_head(chunk, nb | PREV_INUSE)
            self._new_chunk(chunk + nb, size - nb, "inuse")
            self._set_head(chunk + nb, (size - nb) | PREV_INUSE)
            self._int_free(chunk + nb, size - nb)
        return chunk + CHUNK_HDR_SZ

    # --------------------------------------------------------- queries
    def malloc_usable_size(self, addr: int) -> int:
        """musable(): chunk size - 8 in use, - 16 mmapped; 0 otherwise."""
        chunk = addr - CHUNK_HDR_SZ
        if chunk in self.mmapped:
            return self.mmapped[chunk] - CHUNK_HDR_SZ
        entry = self.chunks.get(chunk)
        return (
            entry[0] - SIZE_SZ
            if entry is not None and entry[1] != "unsorted" and entry[1] not in ("small", "large")
            else 0
        )

    def mallopt(self, param: int, value: int) -> int:
        """``mallopt(param, value)``: 1 if accepted, 0 if not. Setting
        M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD or M_MMAP_MAX turns
        the dynamic threshold off."""
        if self.tcache is not None:
            self._consolidate()
        if param == M_MXFAST:
            if not 0 <= value <= MAX_FAST_SIZE:
                return 0
            self.global_max_fast = self._max_fast(value)
        elif param == M_TRIM_THRESHOLD:
            self.trim_threshold, self.no_dyn_threshold = value, True
        elif param == M_TOP_PAD:
            self.top_pad, self.no_dyn_threshold = value, True
        elif param == M_MMAP_THRESHOLD:
            self.mmap_threshold, self.no_dyn_threshold = value, True
        elif param == M_MMAP_MAX:
            self.n_mmaps_max, self.no_dyn_threshold = value, True
        else:
            return 0
        return 1

    def mallinfo2(self) -> dict:
        """int_mallinfo() as a dict with struct mallinfo2's field names."""
        fast = [c for fb in self.fast for c in fb]
        fastavail = sum(self.chunks[c][0] for c in fast)
        binned = [c for c, (_, s) in self.chunks.items() if s in ("unsorted", "small", "large")]
        avail = self.top_size + fastavail + sum(self.chunks[c][0] for c in binned)
        return {
            "arena": self.system_mem,
            "ordblks": 1 + len(binned),
            "smblks": len(fast),
            "hblks": self.n_mmaps,
            "hblkhd": self.mmapped_mem,
            "usmblks": 0,
            "fsmblks": fastavail,
            "uordblks": self.system_mem - avail,
            "fordblks": avail,
            "keepcost": self.top_size,
        }

    def malloc_stats(self) -> str:
        """What ``malloc_stats()`` prints on stderr (one arena)."""
        mi = self.mallinfo2()
        u32 = 0xFFFFFFFF
        return (
            "Arena 0:\n"
            f"system bytes     = {mi['arena'] & u32:10d}\n"
            f"in use bytes     = {mi['uordblks'] & u32:10d}\n"
            "Total (incl. mmap):\n"
            f"system bytes     = {(mi['arena'] + self.mmapped_mem) & u32:10d}\n"
            f"in use bytes     = {(mi['uordblks'] + self.mmapped_mem) & u32:10d}\n"
            f"max mmap regions = {self.max_n_mmaps:10d}\n"
            f"max mmap bytes   = {self.max_mmapped_mem:10d}\n"
        )

    def chunk_list(self):
        """Every chunk of the brk heap in address order, with the top:
        ``(address, size, state)``, state one of "inuse", "tcache", "fast",
        "unsorted", "small", "large", "top"; then the mmapped chunks."""
        out = sorted((a, s, st) for a, (s, st) in self.chunks.items())
        if self.top is not None:
            out.append((self.top, self.top_size, "top"))
        out += sorted((a, s, "mmapped") for a, s in self.mmapped.items())
        return out
