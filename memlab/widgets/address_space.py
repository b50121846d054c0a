"""The address-space dashboard: type or pick a virtual address and see the
page walk and the translation (or the fault); grow the heap with brk, mmap a
region, touch pages, and watch RSS, /proc/pid/maps and the page tables grow."""

import ipywidgets as W

from .. import plots, procfs
from ..mm import PROT_EXEC, PROT_READ, PROT_WRITE, SegmentationFault, pgtable_indices
from ..physmem import PAGE_OFFSET
from ._common import figure_png, guarded, pre, status_html

__all__ = ["AddressSpaceDashboard"]


class AddressSpaceDashboard(W.VBox):
    """``AddressSpaceDashboard(process=None, seed=0)``: with no process, a
    fresh machine runs a small "hello" program (TEXT, DATA, BSS symbols)."""

    def __init__(self, process=None, seed=0):
        from ..physmem import Machine

        if process is None:
            machine = Machine(ram="256MiB", cpus=2)
            process = machine.spawn("hello", text=0x1234, data=0x300, bss=0x5000, seed=seed,
                                    symbols={"main": ("TEXT", 0x139), "counter": ("DATA", 0x10),
                                             "buffer": ("BSS", 0x40)})
        self.process = process
        self.machine = process.machine
        self.seed = seed
        self.last_error = None
        self.mappings = []
        self._walk_fig = None
        self._space_fig = None

        self.address = W.Text(value=f"{process.symbols.get('counter', ('', process.mm.start_code))[1]:#x}",
                              description="address", layout=W.Layout(width="300px"))
        self.pick = W.Dropdown(options=self._interesting(), description="or pick", layout=W.Layout(width="330px"))
        self.walk_button = W.Button(description="walk", button_style="primary", tooltip="4-level page walk")
        self.read_button = W.Button(description="read (ring 3)", tooltip="user-mode load: may page-fault")
        self.write_button = W.Button(description="write (ring 3)", tooltip="user-mode store: may page-fault")
        self.pages = W.BoundedIntText(value=8, min=1, max=4096, description="pages", layout=W.Layout(width="170px"))
        self.brk_up = W.Button(description="brk + pages")
        self.brk_down = W.Button(description="brk - pages")
        self.prot_r = W.Checkbox(value=True, description="PROT_READ", indent=False, layout=W.Layout(width="110px"))
        self.prot_w = W.Checkbox(value=True, description="PROT_WRITE", indent=False, layout=W.Layout(width="115px"))
        self.prot_x = W.Checkbox(value=False, description="PROT_EXEC", indent=False, layout=W.Layout(width="110px"))
        self.mmap_button = W.Button(description="mmap", button_style="info")
        self.munmap_button = W.Button(description="munmap last mmap")
        self.status = W.HTML(status_html("Type an address (hex) or pick one, then press walk, read or write."))
        self.walk_image = W.Image(format="png", layout=W.Layout(width="100%"))
        self.space_image = W.Image(format="png", layout=W.Layout(width="48%"))
        self.maps = W.HTML()
        self.status_text = W.HTML()

        self.pick.observe(self._on_pick, names="value")
        for button, handler in ((self.walk_button, self._on_walk), (self.read_button, self._on_read),
                                (self.write_button, self._on_write), (self.brk_up, self._on_brk_up),
                                (self.brk_down, self._on_brk_down), (self.mmap_button, self._on_mmap),
                                (self.munmap_button, self._on_munmap)):
            button.on_click(handler)
        controls = W.VBox([
            W.HBox([self.address, self.pick, self.walk_button, self.read_button, self.write_button]),
            W.HBox([self.pages, self.brk_up, self.brk_down, self.prot_r, self.prot_w, self.prot_x, self.mmap_button,
                    self.munmap_button]),
        ])
        text = W.VBox([W.HTML("<b>/proc/%d/status</b> (memory lines)" % process.pid), self.status_text],
                      layout=W.Layout(width="50%"))
        super().__init__([controls, self.status, self.walk_image, W.HBox([self.space_image, text]),
                          W.HTML("<b>/proc/%d/maps</b>" % process.pid), self.maps])
        self._refresh_space()
        self._on_walk()

    def __repr__(self):
        return f"AddressSpaceDashboard({self.process!r})"

    # ----------------------------------------------------------------- views
    def _interesting(self):
        p = self.process
        mm = p.mm
        stack = next(v for v in mm.vmas if v.name == "[stack]")
        opts = [("(choose)", None)]
        opts += [(f"{name} ({seg})", addr) for name, (seg, addr) in p.symbols.items()]
        opts += [("heap start (start_brk)", mm.start_brk), ("top of the stack", stack.end - 8),
                 ("just below the stack", stack.start - 8), ("NULL + 0x10", 0x10),
                 ("kernel: direct map of pfn 1", PAGE_OFFSET + 0x1000),
                 ("kernel text", 0xFFFFFFFF81000000), ("non-canonical", 0x0000800000000000)]
        opts += [(f"mmap #{i + 1}", a) for i, (a, _) in enumerate(self.mappings)]
        return opts

    def _parse(self):
        text = self.address.value.strip().lower().replace("_", "")
        try:
            value = int(text, 16) if text.startswith("0x") else int(text, 0 if text.isdigit() else 16)
        except ValueError:
            from ..errors import BadSize

            raise BadSize(f"address {self.address.value!r} is not a number (write hex like 0x555555556010)") from None
        if not 0 <= value < 1 << 64:
            from ..errors import BadSize

            raise BadSize(f"address {value:#x} does not fit in 64 bits")
        return value

    def _refresh_text(self):
        self.maps.value = pre(procfs.maps(self.process), wrap=False)
        lines = [line for line in procfs.status(self.process).splitlines(keepends=True)
                 if line.startswith(("Vm", "Rss"))]
        mm = self.process.mm
        lines.append(f"(page faults: {mm.min_flt} minor, {mm.maj_flt} major)\n")
        self.status_text.value = pre("".join(lines), wrap=False)

    def _refresh_space(self):
        from matplotlib.figure import Figure

        if self._space_fig is None:
            self._space_fig = Figure(figsize=(5.0, 4.6), dpi=64)
            self._space_fig.subplots_adjust(left=0.04, right=0.99, bottom=0.01, top=0.94)
        fig = self._space_fig
        fig.clear()
        plots.address_space(fig.subplots(), self.process, ranges=False)
        self.space_image.value = figure_png(fig, dpi=64)
        self._refresh_text()
        self.pick.unobserve(self._on_pick, names="value")
        self.pick.options = self._interesting()
        self.pick.value = None
        self.pick.observe(self._on_pick, names="value")

    def _show_walk(self, vaddr):
        from matplotlib.figure import Figure

        steps, result = self.process.mm.walk(vaddr)
        if self._walk_fig is None:
            self._walk_fig = Figure(figsize=(11, 3.2), dpi=64)
            self._walk_fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.98)
        fig = self._walk_fig
        fig.clear()
        plots.page_walk(fig.subplots(), vaddr, steps, result)
        self.walk_image.value = figure_png(fig, dpi=64)
        return steps, result

    # ------------------------------------------------------------ callbacks
    def _on_pick(self, change):
        if change["new"] is not None:
            self.address.value = f"{change['new']:#x}"
            try:
                self._on_walk()
            except Exception as err:  # noqa: BLE001 - shown in the status line
                self.status.value = status_html(f"internal error: {err}", "error")

    @guarded
    def _on_walk(self, _=None):
        vaddr = self._parse()
        steps, result = self._show_walk(vaddr)
        idx = pgtable_indices(vaddr)
        where = self.process.segment_of(vaddr) if vaddr < 1 << 47 else "kernel half"
        if "phys" in result:
            self.status.value = status_html(
                f"{vaddr:#x} ({where}): PGD[{idx[0]}] PUD[{idx[1]}] PMD[{idx[2]}] PTE[{idx[3]}] + offset "
                f"{idx[4]:#x} -> physical {result['phys']:#x}", "ok")
        else:
            self.status.value = status_html(f"{vaddr:#x} ({where}): {result['fault']}", "info")

    def _touch(self, write):
        vaddr = self._parse()
        try:
            kind = self.process.touch(vaddr, write=write)
        except SegmentationFault as err:
            self._show_walk(vaddr)
            self.status.value = status_html(f"{err} - the process would be killed by SIGSEGV", "error")
            return
        self._show_walk(vaddr)
        self._refresh_text()
        what = {"hit": "the page was mapped: no fault", "minor": "minor page fault: the kernel allocated a frame "
                "and filled the PTE", "major": "major page fault: the page was read from the file"}[kind]
        self.status.value = status_html(f"{'write' if write else 'read'} {vaddr:#x}: {what}", "ok")

    @guarded
    def _on_read(self, _=None):
        self._touch(False)

    @guarded
    def _on_write(self, _=None):
        self._touch(True)

    @guarded
    def _on_brk_up(self, _=None):
        p = self.process
        old = p.mm.brk
        new = p.brk(old + self.pages.value * 4096)
        self._refresh_space()
        self.status.value = status_html(f"brk({old + self.pages.value * 4096:#x}) -> {new:#x}" +
                                        ("" if new != old else " (refused: the break did not move)"),
                                        "ok" if new != old else "error")

    @guarded
    def _on_brk_down(self, _=None):
        p = self.process
        target = max(p.mm.start_brk, p.mm.brk - self.pages.value * 4096)
        new = p.brk(target)
        self._refresh_space()
        self.status.value = status_html(f"brk({target:#x}) -> {new:#x}: pages above the break are unmapped", "ok")

    @guarded
    def _on_mmap(self, _=None):
        prot = (PROT_READ if self.prot_r.value else 0) | (PROT_WRITE if self.prot_w.value else 0) | \
               (PROT_EXEC if self.prot_x.value else 0)
        length = self.pages.value * 4096
        addr = self.process.mmap(length=length, prot=prot)
        self.mappings.append((addr, length))
        self._refresh_space()
        self.address.value = f"{addr:#x}"
        self.status.value = status_html(f"mmap(NULL, {length:#x}, prot {prot}) -> {addr:#x} (top-down below "
                                        f"mmap_base); no page is allocated until it is touched", "ok")

    @guarded
    def _on_munmap(self, _=None):
        if not self.mappings:
            self.status.value = status_html("Nothing mmapped from this dashboard yet.", "error")
            return
        addr, length = self.mappings.pop()
        self.process.munmap(addr, length)
        self._refresh_space()
        self.status.value = status_html(f"munmap({addr:#x}, {length:#x}): mapping and its pages are gone", "ok")
