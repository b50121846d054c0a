"""glibc 2.36's malloc and free on a simulated process: the main arena,
the tcache, fastbins, the unsorted, small and large bins, the top chunk,
brk and mmap (malloc/malloc.c; see :mod:`memlab.libc` for the whole story
and what is not modelled)."""

from __future__ import annotations

from collections import deque

from ..errors import BadSize, MemlabError, reject
from ..heap import chunk_size

__all__ = [
    "Arena",
    "align_up",
    "MallocAbort",
    "request2size",
    "M_MXFAST",
    "M_TRIM_THRESHOLD",
    "M_TOP_PAD",
    "M_MMAP_THRESHOLD",
    "M_MMAP_MAX",
]

SIZE_SZ = 8
MALLOC_ALIGNMENT = 16
MALLOC_ALIGN_MASK = MALLOC_ALIGNMENT - 1
MINSIZE = 32
CHUNK_HDR_SZ = 16
PREV_INUSE, IS_MMAPPED = 1, 2
NSMALLBINS = 64
MIN_LARGE_SIZE = NSMALLBINS * MALLOC_ALIGNMENT  # 1024
TCACHE_MAX_BINS = 64
TCACHE_FILL_COUNT = 7
MAX_FAST_SIZE = 80 * SIZE_SZ // 4  # 160
DEFAULT_MXFAST = 64 * SIZE_SZ // 4  # 128
DEFAULT_TRIM_THRESHOLD = 128 * 1024
DEFAULT_TOP_PAD = 128 * 1024  # sysdeps/generic/malloc-machine.h
DEFAULT_MMAP_THRESHOLD = 128 * 1024
DEFAULT_MMAP_THRESHOLD_MAX = 4 * 1024 * 1024 * 8  # 32 MiB on 64-bit
DEFAULT_MMAP_MAX = 65536
FASTBIN_CONSOLIDATION_THRESHOLD = 65536
PTRDIFF_MAX = (1 << 63) - 1
PAGE = 4096
TCACHE_STRUCT = 2 * TCACHE_MAX_BINS + 8 * TCACHE_MAX_BINS  # sizeof (tcache_perthread_struct): 640

# malloc.h
M_MXFAST, M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX = 1, -1, -2, -3, -4


class MallocAbort(MemlabError):
    """glibc found a bad call or a corrupted heap, printed ``message`` and
    called abort() (the program dies of SIGABRT). ``message`` is glibc's
    text, e.g. ``free(): double free detected in tcache 2``."""

    def __init__(self, message, detail=""):
        self.message = message
        super().__init__(f"{message}{' - ' + detail if detail else ''} (glibc prints this and aborts: SIGABRT)")


def request2size(n: int) -> int:
    """The chunk size of a malloc(n): ``max(32, (n + 8 + 15) & ~15)``
    (the same geometry :func:`memlab.heap.chunk_size` teaches in lesson 04)."""
    return chunk_size(n)


def csize2tidx(size):
    return (size - MINSIZE + MALLOC_ALIGNMENT - 1) // MALLOC_ALIGNMENT


def fastbin_index(size):
    return (size >> 4) - 2


def largebin_index(sz):
    """largebin_index_64()"""
    if sz >> 6 <= 48:
        return 48 + (sz >> 6)
    if sz >> 9 <= 20:
        return 91 + (sz >> 9)
    if sz >> 12 <= 10:
        return 110 + (sz >> 12)
    if sz >> 15 <= 4:
        return 119 + (sz >> 15)
    if sz >> 18 <= 2:
        return 124 + (sz >> 18)
    return 126


def bin_index(size):
    return size >> 4 if size < MIN_LARGE_SIZE else largebin_index(size)


def align_up(n, a):
    """``n`` rounded up to a multiple of ``a`` (a power of two)."""
    return (n + a - 1) & ~(a - 1)


class Arena:
    """glibc's main arena and malloc parameters on one process: malloc and
    free with everything they reach (see :mod:`memlab.libc`)."""

    def __init__(self, process):
        self.process = process
        # mp_ (struct malloc_par)
        self.mmap_threshold = DEFAULT_MMAP_THRESHOLD
        self.trim_threshold = DEFAULT_TRIM_THRESHOLD
        self.top_pad = DEFAULT_TOP_PAD
        self.n_mmaps_max = DEFAULT_MMAP_MAX
        self.no_dyn_threshold = False
        self.n_mmaps = self.max_n_mmaps = 0
        self.mmapped_mem = self.max_mmapped_mem = 0
        self.sbrk_base = None
        self.global_max_fast = self._max_fast(DEFAULT_MXFAST)
        # main_arena
        self.top = None  # address of the top chunk (None before the first malloc)
        self.top_size = 0
        self.system_mem = self.max_system_mem = 0
        self.last_remainder = None
        self.chunks: dict[int, list] = {}  # chunk address -> [size, state]: "inuse", "tcache", "fast" or a bin
        self.free_end: dict[int, int] = {}  # end address of a binned free chunk -> its start
        self.unsorted: deque[int] = deque()  # head (fd) on the left, bk on the right
        self.small = [deque() for _ in range(NSMALLBINS)]
        self.large: list[list[int]] = [[] for _ in range(128)]  # largest first, as fd walks them
        self.fast = [[] for _ in range(10)]  # LIFO: the head is the last item
        self.tcache: list[list[int]] | None = None  # LIFO per bin, made by tcache_init
        self.mmapped: dict[int, int] = {}  # chunk address -> chunk size

    # ------------------------------------------------------------ helpers
    @staticmethod
    def _max_fast(value):
        return MINSIZE // 2 if value == 0 else (value + SIZE_SZ) & ~MALLOC_ALIGN_MASK

    def _set_head(self, chunk, value):
        """Write a chunk's size field (with its flag bits) into the process."""
        self.process.write(chunk + SIZE_SZ, value.to_bytes(8, "little"))

    def _set_foot(self, chunk, size):
        self.process.write(chunk + size, size.to_bytes(8, "little"))

    def _read_head(self, chunk, size):
        """A chunk's size field read back from the process (a program that
        wrote past its buffer may have changed it): None if it is intact."""
        raw = int.from_bytes(self.process.read(chunk + SIZE_SZ, 8), "little")
        return None if raw & ~7 == size else raw

    def _damaged(self, chunk, size, raw):
        return MemlabError(
            f"the size field at {chunk + SIZE_SZ:#x} was overwritten ({raw:#x}, not {size:#x}): glibc would "
            f"believe it and corrupt the heap further; memlab stops here (not modelled)"
        )

    def _binned(self, chunk):
        entry = self.chunks.get(chunk)
        return entry is not None and entry[1] in ("unsorted", "small", "large")

    def _new_chunk(self, chunk, size, state):
        self.chunks[chunk] = [size, state]

    # ------------------------------------------------------------- bins
    def _to_unsorted(self, chunk, size):
        self.chunks[chunk] = [size, "unsorted"]
        self.free_end[chunk + size] = chunk
        self.unsorted.appendleft(chunk)
        self._set_head(chunk, size | PREV_INUSE)
        self._set_foot(chunk, size)

    def _unlink(self, chunk):
        """unlink_chunk(): take a binned free chunk off its list."""
        size, state = self.chunks.pop(chunk)
        del self.free_end[chunk + size]
        if state == "unsorted":
            self.unsorted.remove(chunk)
        elif state == "small":
            self.small[size >> 4].remove(chunk)
        else:
            self.large[largebin_index(size)].remove(chunk)
        return size  # (av->last_remainder is left as it is, even if it now names a chunk in use)

    def _place(self, chunk, size):
        """The unsorted pass files a chunk into its small or large bin."""
        self.chunks[chunk] = [size, "small" if size < MIN_LARGE_SIZE else "large"]
        self.free_end[chunk + size] = chunk
        if size < MIN_LARGE_SIZE:
            self.small[size >> 4].appendleft(chunk)
            return
        lst = self.large[largebin_index(size)]
        for j, other in enumerate(lst):  # largest first; a second chunk of a size goes after the first
            osize = self.chunks[other][0]
            if size >= osize:
                lst.insert(j + 1 if size == osize else j, chunk)
                return
        lst.append(chunk)

    def _tcache_put(self, chunk, tc_idx):
        self.chunks[chunk] = [self.chunks[chunk][0], "tcache"]
        self.tcache[tc_idx].append(chunk)

    def _tcache_get(self, tc_idx):
        chunk = self.tcache[tc_idx].pop()
        self.chunks[chunk][1] = "inuse"
        return chunk + CHUNK_HDR_SZ

    def _split_top(self, nb):
        victim = self.top
        self.top = victim + nb
        self.top_size -= nb
        self._new_chunk(victim, nb, "inuse")
        self._set_head(victim, nb | PREV_INUSE)
        self._set_head(self.top, self.top_size | PREV_INUSE)
        return victim + CHUNK_HDR_SZ

    def _split(self, victim, size, nb, remember):
        """Hand out ``nb`` bytes of a free chunk; the remainder (if at least
        MINSIZE) goes to the head of the unsorted bin."""
        if size - nb < MINSIZE:
            self._new_chunk(victim, size, "inuse")
        else:
            self._new_chunk(victim, nb, "inuse")
            self._set_head(victim, nb | PREV_INUSE)
            self._to_unsorted(victim + nb, size - nb)
            if remember:
                self.last_remainder = victim + nb
        return victim + CHUNK_HDR_SZ

    # ------------------------------------------------------------ malloc
    def malloc(self, n: int) -> int:
        """``malloc(n)``: the address of ``n`` usable bytes, or 0 (NULL) when
        the size is impossible (errno ENOMEM)."""
        if n.__class__ is not int or n < 0:
            raise reject(BadSize, n, f"malloc: size {n!r} must be an int >= 0 (a size_t)")
        if n > PTRDIFF_MAX:
            return 0
        tcache = self.tcache if self.tcache is not None else self._tcache_init()
        tc_idx = csize2tidx(request2size(n))
        if tc_idx < TCACHE_MAX_BINS and tcache and tcache[tc_idx]:
            return self._tcache_get(tc_idx)
        return self._int_malloc(request2size(n))

    def _tcache_init(self):
        self.tcache = []  # (so the first _int_malloc does not come back here)
        try:
            mem = self._int_malloc(request2size(TCACHE_STRUCT))
        finally:
            self.tcache = None  # tcache_init(): no tcache while its chunk could not be had
        if mem == 0:
            return []
        self.tcache_struct = mem
        self.tcache = [[] for _ in range(TCACHE_MAX_BINS)]
        return self.tcache

    def _int_malloc(self, nb):
        tcache = self.tcache
        tc_idx = csize2tidx(nb)
        stash = tcache and tc_idx < TCACHE_MAX_BINS
        if nb <= self.global_max_fast:
            fb = self.fast[fastbin_index(nb)]
            if fb:
                victim = fb.pop()
                self.chunks[victim][1] = "inuse"
                while stash and len(tcache[tc_idx]) < TCACHE_FILL_COUNT and fb:
                    self._tcache_put(fb.pop(), tc_idx)
                return victim + CHUNK_HDR_SZ
        if nb < MIN_LARGE_SIZE:
            idx = nb >> 4
            sb = self.small[idx]
            if sb:
                victim = sb[-1]
                self._unlink(victim)
                self._new_chunk(victim, nb, "inuse")
                while stash and len(tcache[tc_idx]) < TCACHE_FILL_COUNT and sb:
                    other = sb[-1]
                    self._unlink(other)
                    self._new_chunk(other, nb, "inuse")
                    self._tcache_put(other, tc_idx)
                return victim + CHUNK_HDR_SZ
        else:
            idx = largebin_index(nb)
            if any(self.fast):
                self._consolidate()
        while True:
            return_cached = False
            iters = 0
            while self.unsorted:
                victim = self.unsorted[-1]
                size = self.chunks[victim][0]
                if (
                    nb < MIN_LARGE_SIZE
                    and len(self.unsorted) == 1
                    and victim == self.last_remainder
                    and size > nb + MINSIZE
                ):
                    self._unlink(victim)
                    return self._split(victim, size, nb, True)
                self._unlink(victim)
                if size == nb:
                    self._new_chunk(victim, size, "inuse")
                    if stash and len(tcache[tc_idx]) < TCACHE_FILL_COUNT:
                        self._tcache_put(victim, tc_idx)
                        return_cached = True
                        continue
                    return victim + CHUNK_HDR_SZ
                self._place(victim, size)
                iters += 1
                if iters >= 10000:
                    break
            if return_cached:
                return self._tcache_get(tc_idx)
            if nb >= MIN_LARGE_SIZE:
                lst = self.large[idx]
                if lst and self.chunks[lst[0]][0] >= nb:
                    sizes = [self.chunks[c][0] for c in lst]
                    best = min(s for s in sizes if s >= nb)
                    j = sizes.index(best)
                    if j != len(lst) - 1 and sizes[j + 1] == best:
                        j += 1  # spare the first chunk of its size (the skip list)
                    victim = lst[j]
                    size = self._unlink(victim)
                    return self._split(victim, size, nb, False)
            for i in range(idx + 1, 127):  # the binmap scan: the next non-empty bin, its last chunk
                b = self.small[i] if i < NSMALLBINS else self.large[i]
                if b:
                    victim = b[-1]
                    size = self._unlink(victim)
                    return self._split(victim, size, nb, nb < MIN_LARGE_SIZE)
            raw = None if self.top is None else self._read_head(self.top, self.top_size)
            if raw is not None:  # _int_malloc: chunksize (av->top) > av->system_mem
                if raw & ~7 > self.system_mem:
                    raise MallocAbort("malloc(): corrupted top size", f"the top chunk's size field reads {raw:#x}")
                raise self._damaged(self.top, self.top_size, raw)
            if self.top is not None and self.top_size >= nb + MINSIZE:
                return self._split_top(nb)
            if any(self.fast):
                self._consolidate()
                continue
            return self._sysmalloc(nb)

    def _sysmalloc(self, nb):
        p = self.process
        if nb >= self.mmap_threshold and self.n_mmaps < self.n_mmaps_max:
            size = align_up(nb + SIZE_SZ, PAGE)
            mm = p.mmap(length=size)
            self.mmapped[mm] = size
            self._set_head(mm, size | IS_MMAPPED)
            self.n_mmaps += 1
            self.max_n_mmaps = max(self.max_n_mmaps, self.n_mmaps)
            self.mmapped_mem += size
            self.max_mmapped_mem = max(self.max_mmapped_mem, self.mmapped_mem)
            return mm + CHUNK_HDR_SZ
        old_size = self.top_size
        size = align_up(nb + self.top_pad + MINSIZE - old_size, PAGE)
        old_end = p.brk()
        try:
            new_end = p.brk(old_end + size)
        except MemlabError:
            new_end = old_end
        if new_end != old_end + size:  # brk refused: glibc falls back to mmap (simplified: ENOMEM)
            return 0
        if self.sbrk_base is None:
            self.sbrk_base = old_end
            self.top = old_end
        self.system_mem += size
        self.max_system_mem = max(self.max_system_mem, self.system_mem)
        self.top_size = old_size + size
        self._set_head(self.top, self.top_size | PREV_INUSE)
        return self._split_top(nb)

    def _consolidate(self):
        """malloc_consolidate(): every fastbin chunk merged with free
        neighbours and put in the unsorted bin (or into the top)."""
        for fb in self.fast:
            for chunk in reversed(fb):  # from the head, following fd
                self._merge_free(chunk, self.chunks[chunk][0])
            fb.clear()

    def _merge_free(self, chunk, size):
        """Coalesce a chunk being freed with free neighbours; to the head of
        the unsorted bin, or into the top."""
        del self.chunks[chunk]
        prev = self.free_end.get(chunk)
        if prev is not None:
            size += self._unlink(prev)
            chunk = prev
        nxt = chunk + size
        if nxt != self.top:
            if self._binned(nxt):
                size += self._unlink(nxt)
            self._to_unsorted(chunk, size)
        else:
            self.top = chunk
            self.top_size += size
            size = self.top_size  # (glibc's size now counts the whole new top)
            self._set_head(chunk, size | PREV_INUSE)
        return size

    # -------------------------------------------------------------- free
    def free(self, addr: int) -> None:
        """``free(addr)``; ``free(0)`` does nothing."""
        if addr.__class__ is not int:
            raise reject(BadSize, addr, f"free: {addr!r} is not an address (an int)")
        if addr == 0:
            return
        chunk = addr - CHUNK_HDR_SZ
        if chunk in self.mmapped:
            size = self.mmapped.pop(chunk)
            if (
                not self.no_dyn_threshold
                and size | IS_MMAPPED > self.mmap_threshold
                and size <= DEFAULT_MMAP_THRESHOLD_MAX
            ):
                self.mmap_threshold = size
                self.trim_threshold = 2 * size
            self.n_mmaps -= 1
            self.mmapped_mem -= size
            self.process.munmap(chunk, size)
            return
        entry = self.chunks.get(chunk)
        if entry is None:
            if addr & MALLOC_ALIGN_MASK == 0 and chunk == self.top:
                raise MallocAbort(
                    "double free or corruption (top)", f"free({addr:#x}): that chunk is part of the top chunk"
                )
            raise MallocAbort(
                "free(): invalid pointer", f"free({addr:#x}): no chunk that malloc handed out starts there"
            )
        size, state = entry
        if state != "inuse":
            self._double_free(addr, chunk, size, state)
        raw = self._read_head(chunk, size)
        if raw is not None:  # the first checks of __libc_free and _int_free, on the damaged field
            seen = raw & ~7
            if raw & IS_MMAPPED:
                raise MallocAbort("munmap_chunk(): invalid pointer", f"the size field reads {raw:#x} (IS_MMAPPED set)")
            if chunk > (-seen) % (1 << 64):
                raise MallocAbort("free(): invalid pointer", f"the size field reads {raw:#x}: the chunk would wrap")
            if seen < MINSIZE or seen & MALLOC_ALIGN_MASK:
                raise MallocAbort("free(): invalid size", f"the size field reads {raw:#x}")
            past_top = chunk + seen >= self.top + self.top_size  # _int_free_merge_chunk: nextchunk beyond the top
            if csize2tidx(seen) >= TCACHE_MAX_BINS and seen > self.global_max_fast and past_top:
                raise MallocAbort("double free or corruption (out)", f"the size field reads {raw:#x}")
            raise self._damaged(chunk, size, raw)
        self._int_free(chunk, size)

    def _double_free(self, addr, chunk, size, state):
        """A second free of a chunk: what glibc's checks in _int_free see."""
        again = f"free({addr:#x}) again"
        if state == "tcache":  # e->key == tcache_key, and the bin holds it
            raise MallocAbort("free(): double free detected in tcache 2", f"{again}: the chunk is in the tcache")
        tc_idx = csize2tidx(size)
        if tc_idx < TCACHE_MAX_BINS and len(self.tcache[tc_idx]) < TCACHE_FILL_COUNT:
            raise MemlabError(
                f"{again}: a double free glibc would not notice (the chunk is free in a {state} bin, its key is not "
                f"the tcache's, and the tcache bin has room): the chunk would sit in two lists and be handed out "
                f"twice. memlab refuses it (not modelled); under AddressSanitizer it is reported as a double-free"
            )
        if state == "fast":
            if self.fast[fastbin_index(size)][-1] == chunk:
                raise MallocAbort("double free or corruption (fasttop)", f"{again}: the chunk heads its fastbin")
            raise MemlabError(
                f"{again}: a double free glibc would not notice (glibc checks only the head of the fastbin); the "
                f"chunk would be handed out twice. memlab refuses it (not modelled)"
            )
        raise MallocAbort("double free or corruption (!prev)", f"{again}: the next chunk says this one is free")

    def _int_free(self, chunk, size):
        tc_idx = csize2tidx(size)
        if tc_idx < TCACHE_MAX_BINS and len(self.tcache[tc_idx]) < TCACHE_FILL_COUNT:
            self._tcache_put(chunk, tc_idx)
            return
        if size <= self.global_max_fast:
            self.chunks[chunk][1] = "fast"
            self.fast[fastbin_index(size)].append(chunk)
            return
        size = self._merge_free(chunk, size)
        if size >= FASTBIN_CONSOLIDATION_THRESHOLD:
            if any(self.fast):
                self._consolidate()
            if self.top_size >= self.trim_threshold:
                self._systrim(self.top_pad)

    def _systrim(self, pad):
        top_area = self.top_size - MINSIZE - 1
        if top_area <= pad:
            return 0
        extra = (top_area - pad) & ~(PAGE - 1)
        if extra == 0 or self.process.brk() != self.top + self.top_size:
            return 0
        self.process.brk(self.top + self.top_size - extra)
        self.system_mem -= extra
        self.top_size -= extra
        self._set_head(self.top, self.top_size | PREV_INUSE)
        return 1
