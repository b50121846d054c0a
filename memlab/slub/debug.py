"""slub_debug: red zones, poisoning and the kernel's corruption reports.

Kernel: mm/slub.c setup_slab_debug(), init_object(), check_object(),
check_bytes_and_report(), print_trailer(), alloc_debug_processing(),
free_debug_processing(); include/linux/poison.h.

:class:`SlubDebug` is a mixin of :class:`memlab.slub.Slub`: the methods
read and write the slab's bytes in the machine's physical memory.
"""

from __future__ import annotations

from ..errors import SlabCorruption
from ..layout import VMEMMAP_START, phys_to_virt, virt_to_phys
from .geometry import (
    OBJECT_POISON,
    POISON_END,
    POISON_FREE,
    POISON_INUSE,
    SLAB_CONSISTENCY_CHECKS,
    SLAB_POISON,
    SLAB_RED_ZONE,
    SLUB_RED_ACTIVE,
    SLUB_RED_INACTIVE,
)

__all__ = ["SlubDebug"]


class SlubDebug:
    """The slub_debug half of the allocator (needs ``self.machine``)."""

    def _setup_slab_debug(self, cache, slab):
        """Kernel: setup_slab_debug() + init_object(SLUB_RED_INACTIVE) per object."""
        mem = self.machine.mem
        phys = slab.page.phys_addr
        mem.fill(phys, POISON_INUSE, slab.page.size)
        for index in range(slab.objects):
            self._init_object(cache, slab.object_address(index), SLUB_RED_INACTIVE)

    def _init_object(self, cache, addr, val):
        """Kernel: mm/slub.c init_object(): red zones set to ``val``, the
        object poisoned with POISON_FREE and a final POISON_END."""
        mem, phys = self.machine.mem, virt_to_phys(addr)
        if cache.flags & SLAB_RED_ZONE:
            mem.fill(phys - cache.red_left_pad, val, cache.red_left_pad)
        if cache.flags & OBJECT_POISON:
            mem.write(phys, bytes([POISON_FREE]) * (cache.object_size - 1) + bytes([POISON_END]))
        if cache.flags & SLAB_RED_ZONE:
            mem.fill(phys + cache.object_size, val, cache.inuse - cache.object_size)

    def _alloc_debug(self, cache, slab, index, addr):
        """Kernel: alloc_debug_processing(): with consistency checks (F),
        check the free object first (alloc_consistency_checks()); then mark
        its red zones active. A failed check leaves the object allocated
        (the kernel marks the slab used and leaks it); memlab raises."""
        if cache.flags & SLAB_CONSISTENCY_CHECKS:
            try:
                self._check_object(cache, slab, addr, SLUB_RED_INACTIVE)
            except SlabCorruption:
                slab.isfree[index] = 1  # undo: the model is as before the call
                slab.inuse -= 1
                slab.freelist.append(index)
                raise
        self._init_object(cache, addr, SLUB_RED_ACTIVE)

    def _free_debug(self, cache, slab, index, addr):
        """Kernel: free_debug_processing(): with consistency checks (F),
        check the red zones and padding before the free
        (free_consistency_checks()); then poison the object and mark its red
        zones inactive. Without F, Z and P still poison and red-zone the
        object, but nothing is checked: a corruption goes unnoticed."""
        if cache.flags & SLAB_CONSISTENCY_CHECKS:
            self._check_object(cache, slab, addr, SLUB_RED_ACTIVE)
        self._init_object(cache, addr, SLUB_RED_INACTIVE)

    def _check_object(self, cache, slab, addr, val):
        """Kernel: mm/slub.c check_object() and check_bytes_and_report()."""
        mem, phys = self.machine.mem, virt_to_phys(addr)
        checks = []
        if cache.flags & SLAB_RED_ZONE:
            checks.append(("Left Redzone", phys - cache.red_left_pad, bytes([val]) * cache.red_left_pad))
            checks.append(("Right Redzone", phys + cache.object_size, bytes([val]) * (cache.inuse - cache.object_size)))
        if cache.flags & SLAB_POISON:
            if cache.flags & OBJECT_POISON and val == SLUB_RED_INACTIVE:
                checks.append(("Poison", phys, bytes([POISON_FREE]) * (cache.object_size - 1)))
                checks.append(("End Poison", phys + cache.object_size - 1, bytes([POISON_END])))
            pad = cache.size_from_object - cache.pad_start  # check_pad_bytes()
            if pad > 0:
                checks.append(("Object padding", phys + cache.pad_start, bytes([POISON_INUSE]) * pad))
        for what, start, expected in checks:
            actual = mem.read(start, len(expected))
            if actual != expected:
                first = next(i for i in range(len(expected)) if actual[i] != expected[i])
                last = max(i for i in range(len(expected)) if actual[i] != expected[i])
                report = self._report(
                    cache, slab, addr, what, start + first, start + last, actual[first], expected[first]
                )
                self.machine.kernel_log.append(report)
                raise SlabCorruption(
                    f"BUG {cache.name} (Not tainted): {what} overwritten at "
                    f"{phys_to_virt(start + first):#x} (object {addr:#x}); see .report or "
                    f"machine.dmesg()",
                    report,
                )

    def _report(self, cache, slab, addr, what, fault, end, got, want):
        va_fault, va_end = phys_to_virt(fault), phys_to_virt(end)
        slab_off = addr - slab.base
        # a frozen CPU slab: its free objects belong to the CPU, slab->inuse == slab->objects
        used = slab.objects if slab is cache.cpu_slab else slab.inuse
        lines = [
            "=" * 77,
            f"BUG {cache.name} (Not tainted): {what} overwritten",
            "-" * 77,
            "",
            f"0x{va_fault:016x}-0x{va_end:016x} @offset={va_fault - slab.base}. First byte {got:#x} instead of "
            f"{want:#x}",
            f"Slab 0x{VMEMMAP_START + slab.page.pfn * 64:016x} objects={slab.objects} used={used} "
            f"fp=0x{0:016x} flags=0x{0x240:x}(head|slab)",
            f"Object 0x{addr:016x} @offset={slab_off} fp=0x{0:016x}",
            "",
        ]
        mem = self.machine.mem
        sections = []
        if cache.red_left_pad:
            sections.append(("Redzone  ", addr - cache.red_left_pad, cache.red_left_pad))
        sections.append(("Object   ", addr, cache.object_size))
        if cache.flags & SLAB_RED_ZONE:
            sections.append(("Redzone  ", addr + cache.object_size, cache.inuse - cache.object_size))
        if cache.pad_start != cache.size_from_object:  # print_trailer(): the filler after the metadata
            sections.append(("Padding  ", addr + cache.pad_start, cache.size_from_object - cache.pad_start))
        for label, start, length in sections:
            data = mem.read(virt_to_phys(start), length)
            for i in range(0, length, 16):
                chunk = data[i : i + 16]
                hexes = " ".join(f"{b:02x}" for b in chunk)
                text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
                lines.append(f"{label}{start + i:016x}: {hexes:<47}  {text}")
        lines.append(f"FIX {cache.name}: Restoring {what} 0x{va_fault:016x}-0x{va_end:016x}={want:#x}")
        return "\n".join(lines) + "\n"
