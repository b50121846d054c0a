"""The heap dashboard: glibc's malloc inside a simulated process.

malloc, calloc, realloc and free (:class:`memlab.libc.Libc`), the heap's
chunks to scale (:class:`memlab.plots.HeapDrawing`), the tcache and bins,
the process's heap mapping and RSS; two buttons make the classic mistakes
(a second free, a write past the end of a buffer) so glibc's messages can
be read in the status line."""

from __future__ import annotations

import ipywidgets as W

from .. import procfs
from ..libc import request2size
from ..machine import Machine
from ..plots import HeapDrawing
from .base import Dashboard, number, picture, pre, row

__all__ = ["HeapDashboard"]


class HeapDashboard(Dashboard):
    """Interactive glibc malloc on one simulated process.

    ``HeapDashboard(ram="256MiB")``. Controls: a size and *malloc* /
    *calloc*; a live buffer and *free* / *realloc* to a new size; *free it
    again* (the last buffer freed); *write 8 bytes past the end* of the
    chosen buffer; *reset* (a new process).
    """

    def __init__(self, ram="256MiB"):
        super().__init__("Pick a size and press malloc.")
        self.ram = ram
        self.drawing = HeapDrawing()
        self.size = number(24, "bytes", 0, 1 << 30, "requests from 0 bytes to 1 GiB")
        self.malloc_button = W.Button(description="malloc", button_style="primary")
        self.calloc_button = W.Button(description="calloc (1, bytes)")
        self.buffer = W.Dropdown(options=[], description="buffer", layout=W.Layout(width="330px"))
        self.free_button = W.Button(description="free")
        self.new_size = number(100, "new size", 0, 1 << 30, "realloc to 0 bytes to 1 GiB")
        self.realloc_button = W.Button(description="realloc")
        self.again_button = W.Button(description="free it again", button_style="warning", tooltip="the last free")
        self.overflow_button = W.Button(
            description="write 8 bytes past the end", button_style="warning", layout=W.Layout(width="220px")
        )
        self.reset_button = W.Button(description="reset", button_style="danger")
        self.image = picture(self.drawing)
        self.bins = W.HTML()
        self.wire(
            [
                (self.malloc_button, self._on_malloc),
                (self.calloc_button, self._on_calloc),
                (self.free_button, self._on_free),
                (self.realloc_button, self._on_realloc),
                (self.again_button, self._on_again),
                (self.overflow_button, self._on_overflow),
                (self.reset_button, self._on_reset),
            ]
        )
        controls = W.VBox(
            [
                row(self.size, self.malloc_button, self.calloc_button, self.reset_button),
                row(self.buffer, self.free_button, self.new_size, self.realloc_button),
                row(self.again_button, self.overflow_button),
            ]
        )
        self.children = [controls, self.status, self.image, self.bins]
        self._new_process()

    def __repr__(self):
        return f"HeapDashboard({len(self.live)} live buffers)"

    # ---------------------------------------------------------------- model
    def _new_process(self):
        self.process = Machine(ram=self.ram, cpus=2).spawn("prog")
        self.libc = self.process.libc
        self.start = self.process.brk()
        self.live = {}  # address -> requested size
        self.last_freed = None
        self.refresh()

    def _where(self, addr, before):
        """Where a new chunk came from, in words."""
        c, brk_before, tcache_before = self.libc, before[0], before[1]
        if addr - 16 in c.mmapped:
            return (
                f"its own mmap of {c.mmapped[addr - 16]:,} bytes (at or above the mmap threshold {c.mmap_threshold:,})"
            )
        if c.tcache is not None and sum(map(len, c.tcache)) < tcache_before:
            return "the tcache (a chunk of that size freed before)"
        if self.process.brk() > brk_before:
            return f"the top, after brk grew the heap by {self.process.brk() - brk_before:,} bytes"
        return "the free chunks and the top of the heap"

    def _snapshot(self):
        return self.process.brk(), sum(map(len, self.libc.tcache or []))

    def _allocated(self, call, addr, n, before):
        if addr == 0:
            self.info(f"{call} returned NULL")
        else:
            self.live[addr] = n
            self.refresh()
            self.buffer.value = addr
            where = "mmap" if addr - 16 in self.libc.mmapped else f"heap +{addr - self.start:#x}"
            self.ok(
                f"{call} = {addr:#x} ({where}): a {request2size(n)}-byte chunk, "
                f"{self.libc.malloc_usable_size(addr)} usable bytes, from {self._where(addr, before)}"
            )

    def refresh(self):
        self.image.value = self.drawing.update(self.libc).png()
        c, p = self.libc, self.process
        options = [(f"{a:#x}: {n} bytes", a) for a, n in sorted(self.live.items())]
        chosen = self.buffer.value
        self.buffer.options = options
        if options:
            self.buffer.value = chosen if chosen in self.live else options[-1][1]
        tcache = ", ".join(f"{32 + 16 * i}: {len(b)}" for i, b in enumerate(c.tcache or []) if b) or "empty"
        fast = ", ".join(f"{32 + 16 * i}: {len(b)}" for i, b in enumerate(c.fast) if b) or "empty"
        binned = [s for _, s, st in c.chunk_list() if st in ("unsorted", "small", "large")]
        heap = [line for line in procfs.maps(p).splitlines() if "[heap]" in line]
        lines = [
            f"tcache (chunk size: count): {tcache}",
            f"fastbins: {fast}",
            f"free chunks in the unsorted, small and large bins: {len(binned)} ({sum(binned):,} bytes)",
            f"top chunk: {c.top_size:,} bytes; mmapped chunks: {c.n_mmaps}",
            f"mmap threshold {c.mmap_threshold:,}; trim threshold {c.trim_threshold:,}",
            f"RSS {p.rss_kb} kB; /proc/{p.pid}/maps: " + (heap[0] if heap else "no [heap] mapping yet"),
        ]
        self.bins.value = pre("\n".join(lines))

    # -------------------------------------------------------------- callbacks
    def _on_malloc(self):
        n = self.value_of(self.size)
        before = self._snapshot()
        self._allocated(f"malloc({n})", self.libc.malloc(n), n, before)

    def _on_calloc(self):
        n = self.value_of(self.size)
        before = self._snapshot()
        self._allocated(f"calloc(1, {n})", self.libc.calloc(1, n), n, before)

    def _chosen(self):
        addr = self.buffer.value
        if addr is None:
            self.error("No live buffer: malloc one first.")
        return addr

    def _on_free(self):
        addr = self._chosen()
        if addr is None:
            return
        size = request2size(self.live[addr])
        mmapped = addr - 16 in self.libc.mmapped
        self.libc.free(addr)
        del self.live[addr]
        self.last_freed = addr
        self.refresh()
        state = next(
            (st for a, _, st in self.libc.chunk_list() if a == addr - 16), "merged into a neighbour or the top"
        )
        where = "munmap'ed: the mapping is gone" if mmapped else f"the chunk ({size} bytes) is now: {state}"
        self.ok(f"free({addr:#x}): {where}")

    def _on_realloc(self):
        addr = self._chosen()
        if addr is None:
            return
        n = self.value_of(self.new_size)
        new = self.libc.realloc(addr, n)
        del self.live[addr]
        if new:
            self.live[new] = n
        self.refresh()
        if new == 0:
            self.ok(f"realloc({addr:#x}, 0) freed the buffer and returned NULL")
            return
        self.buffer.value = new
        how = "in place" if new == addr else "moved: a new chunk, the data copied, the old chunk freed"
        self.ok(f"realloc({addr:#x}, {n}) = {new:#x}: {how}; {self.libc.malloc_usable_size(new)} usable bytes")

    def _on_again(self):
        if self.last_freed is None:
            self.error("Nothing freed yet: free a buffer first.")
            return
        self.libc.free(self.last_freed)  # a MemlabError lands in the status line
        self.refresh()
        self.info(f"free({self.last_freed:#x}) again went through: the chunk had been merged away")

    def _on_overflow(self):
        addr = self._chosen()
        if addr is None:
            return
        end = addr + self.libc.malloc_usable_size(addr)
        self.process.write(end, b"\xff" * 8)
        self.refresh()
        self.info(
            f"8 bytes of 0xff written at {end:#x}, just past the buffer: over the next chunk's size field. "
            f"glibc notices only when it next reads that field: when that chunk is freed, or when malloc cuts "
            f"from the top."
        )

    def _on_reset(self):
        self._new_process()
        self.ok("A new process: an empty heap.")
