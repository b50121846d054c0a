"""The DMA dashboard: program an 8237A channel, raise the device's request,
step clock by clock or run to terminal count; and map a buffer with the
Linux DMA API to watch bouncing and syncing."""

from __future__ import annotations

import ipywidgets as W

from ..dma import (
    DMA_AUTOINIT,
    DMA_BIDIRECTIONAL,
    DMA_BIT_MASK,
    DMA_FROM_DEVICE,
    DMA_MODE_BLOCK,
    DMA_MODE_DECREMENT,
    DMA_MODE_DEMAND,
    DMA_MODE_SINGLE,
    DMA_TO_DEVICE,
    READ_TRANSFER,
    VERIFY_TRANSFER,
    WRITE_TRANSFER,
    IsaDevice,
)
from ..layout import virt_to_phys
from ..machine import Machine
from ..plots import DmaTimingDrawing
from .base import Dashboard, number, panels, parse_int, picture, pre, row

__all__ = ["DmaDashboard"]

_MODES = {"single": DMA_MODE_SINGLE, "block": DMA_MODE_BLOCK, "demand": DMA_MODE_DEMAND}
_KINDS = {
    "device -> memory (DMA_MODE_READ)": WRITE_TRANSFER,
    "memory -> device (DMA_MODE_WRITE)": READ_TRANSFER,
    "verify": VERIFY_TRANSFER,
}
_DIRS = {"DMA_FROM_DEVICE": DMA_FROM_DEVICE, "DMA_TO_DEVICE": DMA_TO_DEVICE, "DMA_BIDIRECTIONAL": DMA_BIDIRECTIONAL}


def _hexdump(data, base):
    lines = []
    for i in range(0, len(data), 16):
        chunk = data[i : i + 16]
        lines.append(
            f"{base + i:08x}: {' '.join(f'{b:02x}' for b in chunk):<47}  "
            + "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        )
    return "\n".join(lines)


class DmaDashboard(Dashboard):
    """``DmaDashboard(seed=0)``: an 8237A panel and a DMA-API panel on a
    6 GiB machine (so that buffers above 4 GiB exist for bouncing)."""

    def __init__(self, seed=0):
        super().__init__("Program the channel, raise DREQ, then step clocks.")
        self.machine = m = Machine(ram="6GiB", cpus=2)
        self.seed = seed
        self.buffer = m.alloc_pages(1, "GFP_DMA").phys_addr  # an 8 KiB ISA buffer in ZONE_DMA
        self.device = IsaDevice("floppy controller", data=b"Hello from the floppy controller! " * 8, burst=4)
        m.mem.write(self.buffer, bytes(64))
        self.drawing = DmaTimingDrawing()
        self.mapping = None
        self._programmed_at = (0, 0, 0)  # controller counters when the channel was last programmed
        # 8237 panel
        self.channel = W.Dropdown(
            options=[1, 2, 3, 5, 6, 7], value=2, description="channel", layout=W.Layout(width="150px")
        )
        self.count = number(8, "bytes", None, None)  # set_dma_count() judges it (1..65536 on channels 0-3)
        self.mode = W.Dropdown(options=list(_MODES), value="single", description="mode", layout=W.Layout(width="170px"))
        self.kind = W.Dropdown(options=list(_KINDS), description="transfer", layout=W.Layout(width="360px"))
        self.autoinit = W.Checkbox(value=False, description="autoinit", indent=False, layout=W.Layout(width="90px"))
        self.decrement = W.Checkbox(value=False, description="decrement", indent=False, layout=W.Layout(width="100px"))
        self.address = W.Text(value=f"{self.buffer:#x}", description="phys addr", layout=W.Layout(width="230px"))
        self.program_button = W.Button(description="program channel", button_style="primary")
        self.dreq_button = W.Button(description="device raises DREQ", button_style="info")
        self.step_button = W.Button(description="step 1 clock")
        self.step8_button = W.Button(description="step 8 clocks")
        self.tc_button = W.Button(description="run to TC")
        self.image = picture(self.drawing)
        self.registers = W.HTML()
        self.memory = W.HTML()
        # DMA API panel
        self.mask = W.Dropdown(
            options=[("DMA_BIT_MASK(64)", 64), ("DMA_BIT_MASK(32)", 32)],
            value=32,
            description="dev mask",
            layout=W.Layout(width="240px"),
        )
        self.coherent = W.Checkbox(
            value=True, description="cache-coherent (x86)", indent=False, layout=W.Layout(width="170px")
        )
        self.direction = W.Dropdown(options=list(_DIRS), description="dir", layout=W.Layout(width="260px"))
        self.map_button = W.Button(description="kmalloc + dma_map_single", layout=W.Layout(width="210px"))
        self.cpu_read_button = W.Button(description="CPU reads buffer")
        self.dev_write_button = W.Button(description="device writes")
        self.sync_button = W.Button(description="dma_sync_single_for_cpu", layout=W.Layout(width="200px"))
        self.unmap_button = W.Button(description="dma_unmap_single")
        self.api_text = W.HTML()
        self.wire(
            [
                (self.program_button, self._on_program),
                (self.dreq_button, self._on_dreq),
                (self.step_button, lambda: self._on_step(1)),
                (self.step8_button, lambda: self._on_step(8)),
                (self.tc_button, self._on_tc),
                (self.map_button, self._on_map),
                (self.cpu_read_button, self._on_cpu_read),
                (self.dev_write_button, self._on_dev_write),
                (self.sync_button, self._on_sync),
                (self.unmap_button, self._on_unmap),
            ]
        )
        isa = W.VBox(
            [
                W.HTML("<b>8237A DMA controller</b> (ISA: 24-bit addresses, 64/128 KiB pages)"),
                row(self.channel, self.address, self.count, self.mode),
                row(self.kind, self.autoinit, self.decrement, self.program_button),
                row(self.dreq_button, self.step_button, self.step8_button, self.tc_button),
                self.image,
                panels(
                    W.VBox([W.HTML("<b>registers</b>"), self.registers]),
                    W.VBox([W.HTML("<b>memory at the buffer</b>"), self.memory]),
                    min_width="560px",  # each text needs ~540 px: side by side only when both fit
                ),
            ]
        )
        api = W.VBox(
            [
                W.HTML("<b>Linux DMA API</b> (streaming mapping; swiotlb bounce buffers below 4 GiB)"),
                row(self.mask, self.coherent, self.direction, self.map_button),
                row(self.dev_write_button, self.cpu_read_button, self.sync_button, self.unmap_button),
                self.api_text,
            ]
        )
        self.children = [self.status, isa, api]
        self.refresh()
        self._refresh_api()

    def __repr__(self):
        return f"DmaDashboard(seed {self.seed})"

    @property
    def ctrl(self):
        return self.machine.dma8237

    # ----------------------------------------------------------- 8237 views
    def refresh(self):
        n = self.channel.value
        self.image.value = self.drawing.update(self.ctrl, n).png()
        ch = self.ctrl.channels[n]
        self.registers.value = pre(
            f"state {self.ctrl.state}   HRQ {int(self.ctrl.hrq)}  HLDA {int(self.ctrl.hlda)}\n"
            f"base address {ch.base_addr:#06x}  current {ch.cur_addr:#06x}  page {ch.page:#04x}\n"
            f"base count   {ch.base_count:#06x}  current {ch.cur_count:#06x}  residue {self.ctrl.get_dma_residue(n)}\n"
            f"mode {ch.mode:#04x}  masked {int(ch.masked)}  TC {int(ch.tc)}\n"
            f"this transfer (since programmed): {self._since()}\n"
            f"since power-on: transfers {self.ctrl.transfers}  clocks {self.ctrl.clocks}  "
            f"CPU held off {self.ctrl.cpu_held_clocks}",
            wrap=False,
        )
        addr = self._address()
        self.memory.value = pre(_hexdump(self.machine.mem.read(addr, 48), addr), wrap=False)

    def _since(self):
        """Bytes moved, clocks and clocks the CPU was held off the bus since
        the channel was last programmed (the counters are cumulative)."""
        t0, c0, h0 = self._programmed_at
        c = self.ctrl
        return f"transfers {c.transfers - t0}  clocks {c.clocks - c0}  CPU held off {c.cpu_held_clocks - h0}"

    def _address(self):
        """The typed physical address (hex with 0x, else decimal)."""
        return parse_int(self.address.value, "phys addr", base=10)

    def _on_program(self):
        n = self.channel.value
        mode = (
            _MODES[self.mode.value]
            | _KINDS[self.kind.value]
            | (DMA_AUTOINIT if self.autoinit.value else 0)
            | (DMA_MODE_DECREMENT if self.decrement.value else 0)
        )
        addr = self._address()
        self.ctrl.attach(n, self.device)
        self.device.dreq = False
        count = self.value_of(self.count)
        self.ctrl.program(n, addr, count, mode)
        self._programmed_at = (self.ctrl.transfers, self.ctrl.clocks, self.ctrl.cpu_held_clocks)
        if _KINDS[self.kind.value] == READ_TRANSFER:
            self.machine.mem.write(addr, b"memory contents for the device..."[:count])
        self.refresh()
        self.ok(
            f"claim_dma_lock; disable_dma({n}); clear_dma_ff({n}); set_dma_mode({n}, {mode:#04x}); "
            f"set_dma_addr({n}, {addr:#x}); set_dma_count({n}, {count}); enable_dma({n}); "
            f"release_dma_lock"
        )

    def _on_dreq(self):
        self.ctrl.dreq(self.channel.value)
        self.refresh()
        self.ok(f"DREQ{self.channel.value} raised: the controller will ask the CPU for the bus (HRQ)")

    def _on_step(self, n):
        rows = self.ctrl.run(n)
        self.refresh()
        last = rows[-1]
        self.ok(
            f"clock {last['clock']}: state {last['state']}"
            + (" - EOP: terminal count reached" if any(r["EOP"] for r in rows) else "")
        )

    def _on_tc(self):
        moved = self.ctrl.run_to_tc(self.channel.value)
        self.refresh()
        _t0, c0, h0 = self._programmed_at
        self.ok(
            f"run to terminal count: {moved} transfers; since this transfer was programmed the CPU was held off "
            f"the bus for {self.ctrl.cpu_held_clocks - h0} of {self.ctrl.clocks - c0} clocks"
        )

    # ------------------------------------------------------------ DMA API
    def _refresh_api(self):
        api = self.machine.dma
        lines = [
            f"swiotlb: {api.swiotlb.slots_used} of {api.swiotlb_slots} 2 KiB slots in use, pool at "
            f"{api.swiotlb_start:#x} (below 4 GiB); bounce copies so far: {api.bounce_copies}"
        ]
        if self.mapping:
            dev, buf, handle, size, _direction = self.mapping
            phys = virt_to_phys(buf)
            lines.append(f"buffer: kmalloc({size}) at {buf:#x} = physical {phys:#x}")
            lines.append(
                f"dma_handle {handle:#x}: "
                + (
                    f"bounced through swiotlb (buffer above the mask {dev.dma_mask:#x})"
                    if handle != phys
                    else "the buffer itself (the device reaches it)"
                )
            )
            lines.append(
                f"device {dev.name}: {'coherent' if dev.coherent else 'NON-coherent'}; cached lines: {len(api.cache)}"
            )
        else:
            lines.append("no mapping yet")
        self.api_text.value = pre("\n".join(lines))

    def _on_map(self):
        m = self.machine
        if self.mapping:
            self.error("Unmap the current buffer first (dma_unmap_single).")
            return
        dev = m.create_device("nic", DMA_BIT_MASK(self.mask.value), coherent=self.coherent.value)
        buf = m.kmalloc(256)  # GFP_KERNEL: ZONE_NORMAL, above 4 GiB on this machine
        m.write(buf, b"driver data     ")
        direction = _DIRS[self.direction.value]
        handle = m.dma_map_single(dev, buf, 256, direction)
        if m.dma_mapping_error(dev, handle):
            self.error(f"dma_mapping_error: {m.dma.debug_log[-1]}")
            return
        self.mapping = (dev, buf, handle, 256, direction)
        self._refresh_api()
        self.ok(f"dma_map_single(nic, {buf:#x}, 256, {self.direction.value}) -> {handle:#x}")

    def _need_mapping(self):
        """The current mapping ``(dev, buf, handle, size, direction)``, or None
        after telling the student to map a buffer first."""
        if not self.mapping:
            self.error("Map a buffer first.")
        return self.mapping

    def _on_dev_write(self):
        mapping = self._need_mapping()
        if mapping is None:
            return
        dev, _buf, handle, _size, _direction = mapping
        dev.dma_write(handle, b"PACKET FROM NIC!")
        self._refresh_api()
        self.ok(f"the device wrote 16 bytes at DMA address {handle:#x}")

    def _on_cpu_read(self):
        mapping = self._need_mapping()
        if mapping is None:
            return
        dev, buf, _handle, _size, _direction = mapping
        data = self.machine.dma.cpu_read(buf, 16, dev)
        self._refresh_api()
        self.ok(f"CPU reads {buf:#x}: {data!r}")

    def _on_sync(self):
        mapping = self._need_mapping()
        if mapping is None:
            return
        dev, buf, handle, size, direction = mapping
        self.machine.dma_sync_single_for_cpu(dev, handle, size, direction)
        self._refresh_api()
        if direction == DMA_TO_DEVICE:
            self.ok("dma_sync_single_for_cpu(DMA_TO_DEVICE): nothing to copy back, the device only reads this buffer")
            return
        done = []
        if handle != virt_to_phys(buf):
            done.append(f"the swiotlb slot at {handle:#x} copied back into the buffer (a bounce)")
        if not dev.coherent:
            done.append("the CPU's stale cache lines for the buffer invalidated")
        if not done:
            self.ok(
                "dma_sync_single_for_cpu: nothing to do - the device reached the buffer itself (no bounce) and "
                "is cache-coherent; the call is still required, it costs nothing here"
            )
        else:
            self.ok("dma_sync_single_for_cpu: " + "; ".join(done))

    def _on_unmap(self):
        mapping = self._need_mapping()
        if mapping is None:
            return
        dev, buf, handle, size, direction = mapping
        self.machine.dma_unmap_single(dev, handle, size, direction)
        self.machine.kfree(buf)
        self.mapping = None
        self._refresh_api()
        self.ok("dma_unmap_single: the buffer belongs to the CPU again")
