"""The 8237A's whole transfer at once: the bytes move with numpy slices and
the clock and bus-hold counts are computed for the channel's mode, so a
64 KiB block transfer takes a fraction of a millisecond. The clocked path
(:meth:`memlab.dma.Dma8237.clock`) and this one agree on clock and bus-hold
counts (tests/test_dma.py).
"""

from __future__ import annotations

from ..errors import DmaError
from .isa import (
    DMA_AUTOINIT,
    DMA_MODE_BLOCK,
    DMA_MODE_DECREMENT,
    DMA_MODE_SINGLE,
    MODE_SELECT,
    READ_TRANSFER,
    TRANSFER_TYPE,
    WRITE_TRANSFER,
    BusState,
    IsaDevice,
)

__all__ = ["run_to_tc"]


def run_to_tc(ctrl, dmanr, trace_limit=64):
    """Finish the programmed transfer on ``dmanr`` as if the device kept
    DREQ up: bytes move with numpy slices (no Python loop per byte) and
    the clock and bus-hold counts are computed for the channel's mode.
    Short transfers (up to ``trace_limit`` data) are clocked one by one
    instead, so the trace stays complete. Returns the number of data this
    channel moved (fewer than programmed when higher-priority channels kept
    the bus: the clocked path stops after ten times the expected clocks)."""
    ctrl.check_channel(dmanr)
    ch = ctrl.channels[dmanr]
    if ch.masked:
        raise DmaError(f"channel {dmanr} is masked: call enable_dma({dmanr}) first")
    if ch.device is None:
        ch.device = IsaDevice(f"device on channel {dmanr}")
    remaining = ((ch.cur_count + 1) & 0xFFFF) or 0x10000
    step = -1 if ch.mode & DMA_MODE_DECREMENT else 1
    # the 16-bit address counter wraps inside its 64/128 KiB page (the page register does not count): a
    # transfer programmed through the ports past the page edge is clocked one datum at a time, as the chip does
    wraps = not 0 <= ch.cur_addr + step * (remaining - 1) <= 0xFFFF
    if remaining <= trace_limit or wraps:
        start = ch.moved  # this channel's own count: a higher-priority channel may take the bus meanwhile
        guard = 0
        while ch.moved - start < remaining and guard < 10 * remaining + 100:
            ch.device.dreq = True
            ctrl.clock()
            guard += 1
        while ctrl.state is not BusState.SI:  # let the last cycle finish
            ctrl.clock()
        return ch.moved - start
    import numpy as np  # loaded on the first bulk transfer: import memlab stays light

    width = 1 if dmanr <= 3 else 2
    nbytes = remaining * width
    phys = ctrl.phys_address(dmanr)
    kind = ch.mode & TRANSFER_TYPE
    mem = ctrl.machine.mem
    if step == 1:
        lo = phys
    else:
        lo = phys - nbytes + width
    if kind == WRITE_TRANSFER:
        data = np.frombuffer(ch.device.produce(nbytes), dtype=np.uint8)
        if step == -1:
            data = data.reshape(-1, width)[::-1].ravel()
        mem.write(lo, data.tobytes())
    elif kind == READ_TRANSFER:
        data = np.frombuffer(mem.read(lo, nbytes), dtype=np.uint8)
        if step == -1:
            data = data.reshape(-1, width)[::-1].ravel()
        ch.device.consumed += data.tobytes()
    mode = ch.mode & MODE_SELECT
    if mode == DMA_MODE_SINGLE:
        burst = 1  # the bus goes back after every datum
    elif mode == DMA_MODE_BLOCK:
        burst = remaining
    else:
        burst = max(1, ch.device.burst)
    grants = -(-remaining // burst)
    # S1 (A8-A15 into the latch) opens every grant and comes again only when A8-A15 change
    addrs = (ch.cur_addr + step * np.arange(remaining, dtype=np.int64)) & 0xFFFF
    new_high = np.empty(remaining, dtype=bool)
    new_high[0] = True
    new_high[1:] = (addrs[1:] >> 8) != (addrs[:-1] >> 8)
    new_high[::burst] = True
    s1_states = int(new_high.sum())
    arbitration = 1 + ctrl.cpu_bus_cycle + 1  # SI (HRQ), S0 while the CPU finishes, S0 with HLDA
    released = grants - 1 + int(ctrl.bus_released)  # an SI clock with HRQ low after each bus release
    clocks = remaining * 3 + s1_states + grants * arbitration + released
    held = remaining * 3 + s1_states + grants  # HLDA is up from the last S0 clock to S4
    ctrl.clocks += clocks
    ctrl.cpu_held_clocks += held
    ctrl.transfers += remaining
    ch.moved += remaining
    ch.cur_addr = (ch.cur_addr + step * remaining) & 0xFFFF
    ch.cur_count = 0xFFFF
    ch.tc = True
    if ch.mode & DMA_AUTOINIT:
        ch.cur_addr, ch.cur_count = ch.base_addr, ch.base_count
    else:
        ch.masked = True
    ch.device.dreq = False
    ch.device.burst_left = ch.device.burst
    ctrl.bus_released = True
    return remaining
