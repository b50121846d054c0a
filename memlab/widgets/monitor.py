"""The monitoring dashboard: a simulated machine's memory as an administrator reads it.

Buttons make a process read and write a file, allocate and free anonymous
memory, look up many files, ``sync`` and ``drop_caches``; after each one the
memory breakdown (:class:`memlab.plots.MemoryDrawing`), ``free`` and the
lines of /proc/meminfo that moved are shown, and *the host* shows the real
machine's ``free`` beside it."""

from __future__ import annotations

import ipywidgets as W

from ..machine import Machine
from ..monitor import drop_caches, free, host_meminfo, meminfo_record
from ..plots import MemoryDrawing, MemoryTimelineDrawing
from .base import Dashboard, number, panels, picture, pre, row

__all__ = ["MonitorDashboard"]

_SHOWN = ("MemFree", "MemAvailable", "Buffers", "Cached", "Active(file)", "Inactive(file)", "Dirty", "AnonPages",
          "Mapped", "Slab", "SReclaimable", "SUnreclaim", "PageTables")  # fmt: skip


class MonitorDashboard(Dashboard):
    """``MonitorDashboard(ram="256MiB")``: one process (``self.process``)
    on a fresh machine, a 64 MiB file to read and write."""

    def __init__(self, ram="256MiB"):
        super().__init__("Read a file, then watch Cached and MemAvailable.")
        self.ram = ram
        self.drawing = MemoryDrawing()
        self.mib = number(4, "MiB", 1, 64, "1 to 64 MiB at a time")
        self.read_button = W.Button(description="read the file", button_style="primary")
        self.write_button = W.Button(description="write the file")
        self.sync_button = W.Button(description="sync")
        self.anon_button = W.Button(description="malloc and touch")
        self.unmap_button = W.Button(description="free the anonymous memory")
        self.lookup_button = W.Button(description="look up 1,000 files")
        self.drop_buttons = [W.Button(description=f"drop_caches {k}", button_style="warning") for k in (1, 2, 3)]
        self.host_button = W.Button(description="the host's free")
        self.reset_button = W.Button(description="reset", button_style="danger")
        self.run_button = W.Button(description="run 16 s: read 1 MiB/s", tooltip="a time series of the run")
        self.progress = W.IntProgress(value=0, min=0, max=16, description="run", layout=W.Layout(width="260px"))
        self.timeline = MemoryTimelineDrawing()
        self.timeline_image = picture(self.timeline)
        self.timeline_image.layout.display = "none"  # (shown after a run)
        self.image = picture(self.drawing)
        self.free_view = W.HTML(layout=W.Layout(overflow="auto"))
        self.meminfo_view = W.HTML(layout=W.Layout(overflow="auto"))
        self.wire(
            [
                (self.read_button, self._on_read),
                (self.write_button, self._on_write),
                (self.sync_button, self._on_sync),
                (self.anon_button, self._on_anon),
                (self.unmap_button, self._on_unmap),
                (self.lookup_button, self._on_lookup),
                (self.host_button, self._on_host),
                (self.reset_button, self._new_machine),
                (self.run_button, self._on_run),
                *[(b, lambda k=k: self._on_drop(k)) for k, b in zip((1, 2, 3), self.drop_buttons)],
            ]
        )
        controls = W.VBox(
            [
                row(self.mib, self.read_button, self.write_button, self.sync_button),
                row(self.anon_button, self.unmap_button, self.lookup_button),
                row(*self.drop_buttons, self.host_button, self.reset_button),
                row(self.run_button, self.progress),
            ]
        )
        self.children = [
            controls,
            self.status,
            self.image,
            self.timeline_image,
            panels(self.free_view, self.meminfo_view, min_width="640px"),
        ]
        self._new_machine()

    def __repr__(self):
        return f"MonitorDashboard(ram={self.ram!r})"

    # ---------------------------------------------------------------- model
    def _new_machine(self):
        from ..mm import MAP_ANONYMOUS, MAP_PRIVATE

        self.machine = Machine(ram=self.ram)
        self.process = self.machine.spawn("app")
        self.file = self.machine.create_file("/data/big.bin", 64 << 20)
        self.fd = self.process.sys.open(self.file)
        self.buffer = self.process.mmap(length=64 << 20, flags=MAP_PRIVATE | MAP_ANONYMOUS)  # the read buffer
        self.anon = []  # (address, length) of the anonymous memory allocated by the button
        self.lookups = 0
        self.before = meminfo_record(self.machine)
        self.timeline.update(([self.before] * 17, range(17)))  # axes and legend of a 16 s run, drawn ahead
        self.refresh()
        self.info("A fresh machine: one process, a 64 MiB file not read yet.")

    def refresh(self):
        now = meminfo_record(self.machine)
        self.image.value = self.drawing.update(now).png()
        self.free_view.value = "<b>free</b>" + pre(free(now), wrap=False)
        lines = []
        for name in _SHOWN:
            delta = now[name] - self.before[name]
            change = f"   ({delta:+,} kB)" if delta else ""
            lines.append(f"{name + ':':<16}{now[name]:>8} kB{change}")
        self.meminfo_view.value = "<b>/proc/meminfo (the lines that matter here)</b>" + pre(
            "\n".join(lines), wrap=False
        )
        self.before = now

    # -------------------------------------------------------------- callbacks
    def _io(self, call, what):
        n = self.value_of(self.mib) << 20
        p = self.process
        p.sys.lseek(self.fd, 0)
        done = call(self.fd, self.buffer, n)
        self.refresh()
        self.ok(
            f"{what} {done >> 20} MiB of the file: see Cached{', Dirty' if call == p.sys.write else ''} and MemFree"
        )

    def _on_read(self):
        self._io(self.process.sys.read, "read")

    def _on_write(self):
        self._io(self.process.sys.write, "wrote")

    def _on_sync(self):
        written = self.machine.sync()
        self.refresh()
        self.ok(f"sync: {written} dirty pages written back to the disk; they stay cached, now clean")

    def _on_anon(self):
        n = self.value_of(self.mib) << 20
        addr = self.process.libc.malloc(n)
        self.process.write(addr, bytes(n))  # touched: the pages are faulted in
        self.anon.append(addr)
        self.refresh()
        self.ok(f"malloc({n >> 20} MiB) and touched: AnonPages grows, the page cache does not shrink by itself")

    def _on_unmap(self):
        if not self.anon:
            self.info("Nothing to free: press malloc and touch first.")
            return
        for addr in self.anon:
            self.process.libc.free(addr)
        self.anon.clear()
        self.refresh()
        self.ok("free(): glibc gave the big blocks back with munmap; AnonPages falls")

    def _on_lookup(self):
        for i in range(1000):
            self.machine.create_file(f"/etc/conf.d/f{self.lookups + i}", 100)
        self.lookups += 1000
        self.refresh()
        self.ok(
            "1,000 files looked up: their dentries and inodes fill the slab (SReclaimable), Buffers holds inode blocks"
        )

    def _on_drop(self, mode):
        freed = drop_caches(self.machine, mode)
        self.refresh()
        what = {1: "clean, unmapped page cache", 2: "unused dentries and inodes", 3: "both"}[mode]
        self.ok(f"echo {mode} > /proc/sys/vm/drop_caches: {freed} pages freed ({what}); dirty pages stay until sync")

    def _on_run(self):
        """16 simulated seconds of reading 1 MiB a second: the progress bar
        moves as it runs, then the time series of the run is drawn."""
        p = self.process
        records, times = [meminfo_record(self.machine)], [0]
        self.progress.value = 0
        for second in range(1, 17):
            p.sys.read(self.fd, self.buffer, 1 << 20)
            records.append(meminfo_record(self.machine))
            times.append(second)
            self.progress.value = second
        self.timeline_image.value = self.timeline.update((records, times)).png()
        self.timeline_image.layout.display = None
        self.refresh()
        grew = (records[-1]["Cached"] - records[0]["Cached"]) >> 10
        moved = (records[-1]["MemAvailable"] - records[0]["MemAvailable"]) >> 10
        self.ok(f"16 s of reading 1 MiB/s: the page cache grew by {grew} MiB, MemAvailable moved by {moved} MiB "
                "(the time series above; a read past the end of the file reads nothing)")  # fmt: skip

    def _on_host(self):
        host = host_meminfo()
        if host is None:
            self.error("this machine has no /proc/meminfo to read")
            return
        self.free_view.value = "<b>free (this computer, now)</b>" + pre(free(host), wrap=False)
        self.info("The real machine's figures, read now (press any other button to go back to the simulation)")
