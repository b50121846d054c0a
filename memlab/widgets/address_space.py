"""The address-space dashboard: type or pick a virtual address and see the
page walk and the translation (or the fault); grow the heap with brk, mmap a
region, touch pages, and watch RSS, /proc/pid/maps and the page tables grow."""

from __future__ import annotations

import ipywidgets as W

from .. import procfs
from ..errors import BadSize, SegmentationFault
from ..layout import START_KERNEL, pfn_to_virt
from ..machine import Machine
from ..mm import PROT_EXEC, PROT_READ, PROT_WRITE
from ..plots import AddressSpaceDrawing, PageWalkDrawing
from ..units import PAGE_SIZE
from .base import Dashboard, number, panels, parse_int, picture, pre, row

__all__ = ["AddressSpaceDashboard"]


class AddressSpaceDashboard(Dashboard):
    """``AddressSpaceDashboard(process=None, seed=0)``: with no process, a
    fresh machine runs a small "hello" program (TEXT, DATA, BSS symbols)."""

    def __init__(self, process=None, seed=0):
        super().__init__("Type an address (hex) or pick one, then press walk, read or write.")
        if process is None:
            machine = Machine(ram="256MiB", cpus=2)
            process = machine.spawn(
                "hello",
                text=0x1234,
                data=0x300,
                bss=0x5000,
                seed=seed,
                symbols={"main": ("TEXT", 0x139), "counter": ("DATA", 0x10), "buffer": ("BSS", 0x40)},
            )
        self.process = process
        self.machine = process.machine
        self.seed = seed
        self.mappings = []
        self.walk_drawing = PageWalkDrawing()
        self._walk_shown = None  # (vaddr, steps, result) of the walk picture
        self.space_drawing = AddressSpaceDrawing()

        self.address = W.Text(
            value=f"{process.symbols.get('counter', ('', process.mm.start_code))[1]:#x}",
            description="address",
            layout=W.Layout(width="300px"),
        )
        self.pick = W.Dropdown(options=self._interesting(), description="or pick", layout=W.Layout(width="330px"))
        self.walk_button = W.Button(description="walk", button_style="primary", tooltip="4-level page walk")
        self.read_button = W.Button(description="read (ring 3)", tooltip="user-mode load: may page-fault")
        self.write_button = W.Button(description="write (ring 3)", tooltip="user-mode store: may page-fault")
        self.pages = number(8, "pages", 1, 4096, "brk and mmap here move 1 to 4096 pages (16 MiB) at a time")
        self.brk_up = W.Button(description="brk + pages")
        self.brk_down = W.Button(description="brk - pages")
        self.prot_r = W.Checkbox(value=True, description="PROT_READ", indent=False, layout=W.Layout(width="110px"))
        self.prot_w = W.Checkbox(value=True, description="PROT_WRITE", indent=False, layout=W.Layout(width="115px"))
        self.prot_x = W.Checkbox(value=False, description="PROT_EXEC", indent=False, layout=W.Layout(width="110px"))
        self.mmap_button = W.Button(description="mmap", button_style="info")
        self.munmap_button = W.Button(description="munmap last mmap")
        self.pcid = W.Checkbox(value=True, description="PCID", indent=False, tooltip="X86_FEATURE_PCID")
        self.switch_button = W.Button(
            description="context switch away and back", tooltip="CPU 0 runs another process, then this one again"
        )
        self.tlb_text = W.HTML()
        self.walk_image = picture(self.walk_drawing)
        self.space_image = picture(self.space_drawing)
        self.maps = W.HTML()
        self.status_text = W.HTML()

        self._on_pick = self._guard(self._pick)
        self.pick.observe(self._on_pick, names="value")
        self.wire(
            [
                (self.walk_button, self._on_walk),
                (self.read_button, self._on_read),
                (self.write_button, self._on_write),
                (self.brk_up, self._on_brk_up),
                (self.brk_down, self._on_brk_down),
                (self.mmap_button, self._on_mmap),
                (self.munmap_button, self._on_munmap),
                (self.switch_button, self._on_switch),
            ]
        )
        self.watch(self.pcid, self._on_pcid)
        controls = W.VBox(
            [
                row(self.address, self.pick, self.walk_button, self.read_button, self.write_button),
                row(
                    self.pages,
                    self.brk_up,
                    self.brk_down,
                    self.prot_r,
                    self.prot_w,
                    self.prot_x,
                    self.mmap_button,
                    self.munmap_button,
                ),
                row(self.switch_button, self.pcid),
            ]
        )
        text = W.VBox(
            [W.HTML("<b>/proc/%d/status</b> (memory lines)" % process.pid), self.status_text],
            layout=W.Layout(width="50%"),
        )
        self.children = [
            controls,
            self.status,
            self.tlb_text,
            self.walk_image,
            panels(self.space_image, text, min_width="300px"),
            W.HTML("<b>/proc/%d/maps</b>" % process.pid),
            self.maps,
        ]
        self.other = None  # the process a context switch runs meanwhile, spawned when first needed
        self.machine.tlb.switch_to(process, cpu=0)
        self._refresh_tlb()
        self._refresh_space()
        self._guard(self._on_walk)()

    def __repr__(self):
        return f"AddressSpaceDashboard({self.process!r})"

    # ----------------------------------------------------------------- views
    def _interesting(self):
        p = self.process
        mm = p.mm
        stack = next(v for v in mm.vmas if v.name == "[stack]")
        opts = [("(choose)", None)]
        opts += [(f"{name} ({seg})", addr) for name, (seg, addr) in p.symbols.items()]
        opts += [
            ("heap start (start_brk)", mm.start_brk),
            ("top of the stack", stack.end - 8),
            ("just below the stack", stack.start - 8),
            ("NULL + 0x10", 0x10),
            ("kernel: direct map of pfn 1", pfn_to_virt(1)),
            ("kernel text", START_KERNEL),
            ("non-canonical", 1 << 47),
        ]
        opts += [(f"mmap #{i + 1}", a) for i, (a, _) in enumerate(self.mappings)]
        return opts

    def _parse(self):
        """The typed address: always hexadecimal, with or without ``0x``
        (as /proc/pid/maps prints addresses)."""
        value = parse_int(self.address.value, "address", base=16)
        if not 0 <= value < 1 << 64:
            raise BadSize(f"address {value:#x} does not fit in 64 bits")
        return value

    def _understood(self):
        """'read ... as hex: ' when the address was typed without 0x."""
        text = self.address.value.strip()
        if text.lower().startswith("0x"):
            return ""
        return f"read {text!r} as hexadecimal (addresses in /proc/pid/maps are hex) = {self._parse():#x}; "

    def _refresh_tlb(self, last=""):
        tlb = self.machine.tlb
        t = tlb.tlb(0)
        mode = ("PCID on" if tlb.pcid else "PCID off") + (", PTI" if tlb.pti else "")
        line = (
            f"TLB of CPU 0 ({mode}): {len(t)} of {t.capacity} entries; {t.hits} hits, {t.misses} misses, "
            f"{t.walk_refs} memory references spent on page walks"
        )
        self.tlb_text.value = pre(line + (f"\nlast: {last}" if last else ""))

    def _refresh_text(self):
        self.maps.value = pre(procfs.maps(self.process), wrap=False)
        lines = [
            line for line in procfs.status(self.process).splitlines(keepends=True) if line.startswith(("Vm", "Rss"))
        ]
        mm = self.process.mm
        lines.append(f"(page faults: {mm.min_flt} minor, {mm.maj_flt} major)\n")
        self.status_text.value = pre("".join(lines), wrap=False)

    def _refresh_space(self):
        self.space_image.value = self.space_drawing.update(self.process).png()
        self._refresh_text()
        self.pick.unobserve(self._on_pick, names="value")
        self.pick.options = self._interesting()
        self.pick.value = None
        self.pick.observe(self._on_pick, names="value")

    def _show_walk(self, vaddr):
        """Walk ``vaddr``; redraw the walk picture only if the walk changed
        (an mmap elsewhere leaves it as it was: no redraw, half the click)."""
        steps, result = self.process.mm.walk(vaddr)
        if (vaddr, steps, result) != self._walk_shown:
            self.walk_image.value = self.walk_drawing.update(self.process, vaddr).png()
            self._walk_shown = (vaddr, steps, result)
        return steps, result

    # ------------------------------------------------------------ callbacks
    def _pick(self, change):
        if change["new"] is not None:
            self.address.value = f"{change['new']:#x}"
            self._on_walk()

    def _on_walk(self):
        vaddr = self._parse()
        steps, result = self._show_walk(vaddr)
        where = self.process.segment_of(vaddr)
        heard = self._understood()
        if result.phys is not None:
            # a huge page ends the walk early: the offset takes the bits of the levels not walked
            shift = 12 + 9 * (4 - len(steps))
            path = " ".join(f"{s.level}[{s.index}]" for s in steps)
            size = {12: "4 KiB", 21: "2 MiB", 30: "1 GiB"}[shift]
            self.ok(
                f"{heard}{vaddr:#x} ({where}): {path} + offset {vaddr & ((1 << shift) - 1):#x} "
                f"({size} page) -> physical {result.phys:#x}"
            )
        else:
            self.info(f"{heard}{vaddr:#x} ({where}): {result.fault}")

    def _touch(self, write):
        vaddr = self._parse()
        try:
            rec = self.machine.tlb.access(self.process, vaddr, write=write, cpu=0)
        except SegmentationFault as err:
            self._show_walk(vaddr)
            self.error(f"{err} - the process would be killed by SIGSEGV")
            return
        kind = rec.fault or "hit"
        self._show_walk(vaddr)
        self._refresh_text()
        self._refresh_tlb(rec.text)
        what = {
            "hit": "the page was mapped: no fault",
            "minor": "minor page fault: the kernel allocated a frame and filled the PTE",
            "major": "major page fault: the page was read from the file",
        }[kind]
        self.ok(f"{'write' if write else 'read'} {vaddr:#x}: {what}")

    def _on_read(self):
        self._touch(False)

    def _on_write(self):
        self._touch(True)

    def _rewalk(self):
        """Redraw the walk of the address in the box after the address space changed."""
        try:
            self._show_walk(self._parse())
        except BadSize:
            pass  # the box holds no address: nothing to redraw

    def _on_brk_up(self):
        p = self.process
        old = p.mm.brk
        pages = self.value_of(self.pages)
        new = p.brk(old + pages * PAGE_SIZE)
        self._refresh_space()
        self._rewalk()
        refused = "" if new != old else " (refused: the break did not move)"
        self.report(f"brk({old + pages * PAGE_SIZE:#x}) -> {new:#x}{refused}", "ok" if new != old else "error")

    def _on_brk_down(self):
        p = self.process
        old = p.mm.brk
        if old == p.mm.start_brk:
            self.info(
                f"The heap is empty: the break {old:#x} is already at start_brk, and brk() refuses to go lower "
                "(it would return the break unchanged). Nothing changed."
            )
            return
        pages = self.value_of(self.pages)
        wanted = old - pages * PAGE_SIZE
        target = max(p.mm.start_brk, wanted)
        new = p.brk(target)
        self._refresh_space()
        self._rewalk()
        clamped = (
            f" ({pages} pages would go below start_brk {p.mm.start_brk:#x}: moved to start_brk instead)"
            if wanted < target
            else ""
        )
        self.ok(f"brk({target:#x}) -> {new:#x}: the heap's pages above the new break are unmapped{clamped}")

    def _on_mmap(self):
        prot = (
            (PROT_READ if self.prot_r.value else 0)
            | (PROT_WRITE if self.prot_w.value else 0)
            | (PROT_EXEC if self.prot_x.value else 0)
        )
        length = self.value_of(self.pages) * PAGE_SIZE
        addr = self.process.mmap(length=length, prot=prot)
        self.mappings.append((addr, length))
        self._refresh_space()
        self.address.value = f"{addr:#x}"
        self._rewalk()
        self.ok(
            f"mmap(NULL, {length:#x}, prot {prot}) -> {addr:#x} (top-down below "
            f"mmap_base); no page is allocated until it is touched"
        )

    def _on_switch(self):
        tlb = self.machine.tlb
        if self.other is None:
            self.other = self.machine.spawn("other", seed=self.seed)
        mine = [key for key in tlb.tlb(0).entries if key[0] == tlb.user_tag(0)]
        away = tlb.switch_to(self.other, cpu=0)
        back = tlb.switch_to(self.process, cpu=0)
        still = [key for key in mine if key in tlb.tlb(0).entries]
        self._refresh_tlb(back.text)
        self.ok(
            f"{away.text}. Back: {back.text}. So {len(still)} of the {len(mine)} TLB entries of "
            f"{self.process.name} survived the round trip."
        )

    def _on_pcid(self, change):
        tlb = self.machine.set_tlb(pcid=change["new"])
        tlb.switch_to(self.process, cpu=0)
        self._refresh_tlb()
        self.info(
            f"TLBs emptied and PCID turned {'on' if change['new'] else 'off'}: read some pages, then try a context "
            "switch."
        )

    def _on_munmap(self):
        if not self.mappings:
            self.error("Nothing mmapped from this dashboard yet.")
            return
        addr, length = self.mappings.pop()
        before = self.machine.tlb.nr_records
        self.process.munmap(addr, length)
        self._refresh_space()
        self._rewalk()
        tlb = self.machine.tlb
        new = list(tlb.log)[len(tlb.log) - min(len(tlb.log), tlb.nr_records - before) :]
        flush = next((r for r in new if r.__class__.__name__ == "TlbFlush"), None)
        self._refresh_tlb(flush.text if flush else "")
        tlb_note = f"; {flush.text}" if flush else "; no page was mapped, so no TLB flush"
        self.ok(f"munmap({addr:#x}, {length:#x}): mapping and its pages are gone{tlb_note}")
