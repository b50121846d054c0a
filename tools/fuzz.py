"""Seeded fuzzing of memlab's public calls: valid and invalid operations mixed.

``python tools/fuzz.py [--ops N] [--seed S] [--area NAME]`` (``make fuzz`` runs
1,000,000 operations per area). Every area drives one part of the model
with a seeded stream in which about a fifth of the calls are invalid on
purpose (double frees, foreign objects, wrong orders and types, huge
sizes, objects of another Machine). After every call it checks:

* **raw**: an exception that is not a ``MemlabError`` (a Python internal
  error reaching the student);
* **changed**: a rejected call (``MemlabError``) that changed the model's
  visible state (the area's snapshot: counters and /proc-style figures);
* the model's invariants (``check_invariants()``).

The report gives, per area, the operations run, how many were rejected,
and the raw and changed counts with their distinct messages. The test suite
runs a short stream per area (tests/test_fuzz.py) and requires zero raw and
zero changed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import memlab
from memlab import MemlabError

# values a careless caller passes where an int, a page or an object belongs
JUNK = [None, -1, 2**70, 1.5, "7", True, b"x", [], {}, object()]


def _junk(rng):
    return rng.choice(JUNK)


class Area:
    """One part of the model under fuzzing: ``ops`` are ``(weight, method)``.
    A method does any valid preparation itself and makes the call under test
    through :meth:`attempt`, which checks a rejected call left the state as
    it was."""

    name = "area"

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.rejected = 0
        self.changed: Counter = Counter()

    def attempt(self, fn, *args):
        """Call ``fn(*args)``; a MemlabError must leave :meth:`snapshot` unchanged."""
        before = self.snapshot()
        try:
            return fn(*args)
        except MemlabError as err:
            self.rejected += 1
            if self.snapshot() != before:
                self.changed[f"{getattr(fn, '__name__', fn)}: {type(err).__name__}: {str(err)[:90]}"] += 1
            return None

    def snapshot(self):
        raise NotImplementedError

    def invariants(self):
        pass


class ZoneArea(Area):
    name = "Zone"

    def __init__(self, seed):
        super().__init__(seed)
        self.zone = memlab.Zone("Normal", 1024)
        self.live = []

    def snapshot(self):
        z = self.zone
        return (z.nr_free_pages, tuple(z.nr_free_by_order()), len(z.allocated_blocks()))

    def invariants(self):
        self.zone.check_invariants()

    def alloc(self):
        page = self.attempt(self.zone.alloc_pages, self.rng.choice([0, 0, 1, 2, 3, 5]))
        if page is not None:
            self.live.append(page)

    def free(self):
        if self.live:
            page = self.live.pop(self.rng.randrange(len(self.live)))
            self.attempt(self.zone.free_pages, page, page.order)

    def bad_alloc(self):
        self.attempt(self.zone.alloc_pages, self.rng.choice([11, -1, 2**70, 1.0, None, True, "2"]))

    def bad_free(self):
        rng = self.rng
        choice = rng.randrange(6)
        if choice == 0 and self.live:  # double free
            page = rng.choice(self.live)
            self.zone.free_pages(page, page.order)
            self.live.remove(page)
            self.attempt(self.zone.free_pages, page, page.order)
        elif choice == 1 and self.live:  # wrong order
            page = rng.choice(self.live)
            self.attempt(self.zone.free_pages, page, page.order + 1)
        elif choice == 2:
            self.attempt(self.zone.free_pages, memlab.Page(rng.choice([0.0, 5000, -3, None]), 0), 0)
        elif choice == 3:
            self.attempt(self.zone.free_pages, _junk(rng), 0)
        elif choice == 4 and any(p.order for p in self.live):
            page = rng.choice([p for p in self.live if p.order])
            self.attempt(self.zone.free_pages, page.pfn + 1, 0)  # inside a block
        else:
            self.attempt(self.zone.free_pages, rng.randrange(1024), _junk(rng))

    def ops(self):
        return [(40, self.alloc), (40, self.free), (8, self.bad_alloc), (12, self.bad_free)]


class SlubArea(Area):
    name = "SLUB"

    def __init__(self, seed):
        super().__init__(seed)
        self.m = memlab.Machine(ram="32MiB", cpus=2)
        self.other = memlab.Machine(ram="32MiB", cpus=2)
        self.foreign = self.other.kmem_cache_create("foreign", 64)
        self.caches = [self.m.kmem_cache_create(f"c{i}", s) for i, s in enumerate((24, 200, 1000))]
        self.objs = []  # (cache or None for kmalloc, addr)

    def snapshot(self):
        slub = self.m.slub
        return (
            self.m.nr_free_pages,
            tuple((c.name, c.nr_slabs, c.objects_in_use, c.total_objects) for c in slub.caches),
        )

    def invariants(self):
        self.m.slub.check_invariants()

    def alloc(self):
        rng = self.rng
        if rng.random() < 0.5:
            cache = rng.choice(self.caches)
            addr = self.attempt(self.m.kmem_cache_alloc, cache)
        else:
            cache, addr = None, self.attempt(self.m.kmalloc, rng.randint(1, 9000))
        if addr is not None:
            self.objs.append((cache, addr))

    def free(self):
        if self.objs:
            cache, addr = self.objs.pop(self.rng.randrange(len(self.objs)))
            if cache is None:
                self.attempt(self.m.kfree, addr)
            else:
                self.attempt(self.m.kmem_cache_free, cache, addr)

    def bad(self):
        rng = self.rng
        m = self.m
        choice = rng.randrange(8)
        if choice == 0:
            self.attempt(m.kmem_cache_alloc, rng.choice([None, "c0", self.foreign, 5]))
        elif choice == 1:
            self.attempt(m.kmem_cache_alloc, rng.choice(self.caches), rng.choice(["GFP_NOPE", -1, 2**40, None]))
        elif choice == 2 and self.objs:  # double free
            cache, addr = rng.choice(self.objs)
            self.objs.remove((cache, addr))
            (m.kfree(addr) if cache is None else m.kmem_cache_free(cache, addr))
            (self.attempt(m.kfree, addr) if cache is None else self.attempt(m.kmem_cache_free, cache, addr))
        elif choice == 3 and self.objs:  # the wrong cache
            cache, addr = rng.choice(self.objs)
            wrong = rng.choice([c for c in self.caches if c is not cache])
            self.attempt(m.kmem_cache_free, wrong, addr)
        elif choice == 4:
            self.attempt(m.kmalloc, rng.choice([0, -5, 2**70, 5 << 20, 1.5, None]))
        elif choice == 5:
            self.attempt(m.kfree, rng.choice([0x1234, None, 1.5, 2**80]))
        elif choice == 6:
            self.attempt(m.kmem_cache_create, rng.choice(["", None, "kmalloc-64", 5]), rng.choice([0, -1, 1 << 40, 64]))
        else:
            self.attempt(m.kmem_cache_free, self.foreign, 0xFFFF888000001000)

    def ops(self):
        return [(42, self.alloc), (40, self.free), (18, self.bad)]


class MempoolArea(Area):
    name = "mempool"

    def __init__(self, seed):
        super().__init__(seed)
        self.m = memlab.Machine(ram="32MiB", cpus=2)
        self.pool = self.m.mempool_create_kmalloc_pool(4, 256)
        self.held = []

    def snapshot(self):
        p = self.pool
        return (p.curr_nr, p.min_nr, len(p.outstanding), tuple(sorted(p.stats.items())), self.m.nr_free_pages)

    def invariants(self):
        self.pool.check_invariants()

    def alloc(self):
        got = self.attempt(self.m.mempool_alloc, self.pool, self.rng.choice(["GFP_KERNEL", "GFP_ATOMIC", "GFP_NOIO"]))
        if isinstance(got, int):
            self.held.append(got)

    def free(self):
        if self.held:
            self.attempt(self.m.mempool_free, self.held.pop(self.rng.randrange(len(self.held))), self.pool)

    def bad(self):
        rng = self.rng
        m = self.m
        choice = rng.randrange(6)
        if choice == 0:
            self.attempt(m.mempool_alloc, rng.choice([None, 5, "pool"]), "GFP_KERNEL")
        elif choice == 1:
            self.attempt(m.mempool_alloc, self.pool, rng.choice(["GFP_KERNEL|__GFP_ZERO", "nope", -1]))
        elif choice == 2 and self.held:
            e = rng.choice(self.held)
            self.held.remove(e)
            m.mempool_free(e, self.pool)
            self.attempt(m.mempool_free, e, self.pool)
        elif choice == 3:
            self.attempt(m.mempool_free, rng.choice([0x1234, 1.5, [], None]), self.pool)
        elif choice == 4:
            self.attempt(m.mempool_resize, self.pool, rng.choice([0, -1, 1.5, 2**64, "4"]))
        else:
            self.attempt(m.mempool_free, rng.choice(self.held) if self.held else 0, rng.choice([None, 5]))

    def ops(self):
        return [(42, self.alloc), (40, self.free), (18, self.bad)]


class AddressSpaceArea(Area):
    name = "address spaces"

    def __init__(self, seed):
        super().__init__(seed)
        self.m = memlab.Machine(ram="64MiB", cpus=2)
        self.p = self.m.spawn("fuzz", seed=seed)
        self.maps = []

    def snapshot(self):
        from memlab import procfs

        return (procfs.maps(self.p), procfs.status(self.p), self.m.nr_free_pages)

    def invariants(self):
        self.p.mm.check_invariants()

    def mmap(self):
        if len(self.maps) >= 64:  # keep the address space (and the /proc snapshot) a steady size
            self.munmap()
        n = self.rng.randint(1, 8) * 4096
        addr = self.attempt(self.p.mmap, None, n)
        if addr is not None:
            self.maps.append((addr, n))

    def munmap(self):
        if self.maps:
            addr, n = self.maps.pop(self.rng.randrange(len(self.maps)))
            self.attempt(self.p.munmap, addr, n)

    def touch(self):
        if self.maps:
            addr, n = self.rng.choice(self.maps)
            self.attempt(self.p.touch, addr + self.rng.randrange(n), self.rng.random() < 0.5)

    def brk(self):
        p = self.p
        self.attempt(p.brk, p.mm.brk + self.rng.randint(-3, 4) * 4096)

    def bad(self):
        rng = self.rng
        p = self.p
        choice = rng.randrange(10)
        if choice == 0:
            self.attempt(p.mmap, None, rng.choice([0, -4096, 1.5, None, 2**60]))
        elif choice == 1:
            self.attempt(p.munmap, rng.choice([1, None, 1.5, 2**70]), 4096)
        elif choice == 2:
            self.attempt(
                p.mprotect, rng.choice([0x10000, 3, None]), rng.choice([4096, -1, None]), rng.choice([1, 99, None])
            )
        elif choice == 3:
            self.attempt(p.touch, rng.choice([0x10, None, -1, 1.5, 1 << 48]))
        elif choice == 4:
            self.attempt(p.brk, rng.choice([None, -1, 1.5, 1 << 50, "x"]))
        elif choice == 5:
            self.attempt(p.read, rng.choice([0x10, None]), rng.choice([5, -5, None]))
        elif choice == 6:
            self.attempt(p.write, rng.choice([0x10, None]), rng.choice([b"x", 5, None]))
        elif choice == 7:
            self.attempt(p.mmap, None, 4096, 3, rng.choice([0, 0x1000, 99]))  # bad flags
        elif choice == 8:
            self.attempt(p.copy_from_user, rng.choice([None, 0x10]), rng.choice([0x10, None]), rng.choice([8, -1]))
        else:
            self.attempt(self.m.spawn, rng.choice(["", None, 5]), rng.choice([0, -1, 1 << 47, None]))

    def mprotect(self):
        from memlab.mm import PROT_READ, PROT_WRITE

        if self.maps:
            addr, n = self.rng.choice(self.maps)
            self.attempt(self.p.mprotect, addr, n, self.rng.choice([PROT_READ, PROT_READ | PROT_WRITE]))

    def ops(self):
        return [
            (22, self.mmap),
            (18, self.munmap),
            (22, self.touch),
            (10, self.brk),
            (8, self.mprotect),
            (20, self.bad),
        ]


class DmaApiArea(Area):
    name = "DMA API"

    def __init__(self, seed):
        super().__init__(seed)
        from memlab.dma import DMA_BIT_MASK

        self.m = memlab.Machine(ram="6GiB", cpus=2)
        self.devs = [self.m.create_device(f"d{b}", DMA_BIT_MASK(b)) for b in (24, 32, 64)]
        self.maps = []  # (dev, buf, handle, size, dir)
        self.coherent = []  # (dev, size, cpu, handle)

    def snapshot(self):
        api = self.m.dma
        return (
            api.swiotlb.slots_used,
            api.bounce_copies,
            tuple(len(d.mappings) for d in self.devs),
            self.m.nr_free_pages,
        )

    def map(self):
        from memlab.dma import DMA_BIDIRECTIONAL, DMA_FROM_DEVICE, DMA_TO_DEVICE

        rng = self.rng
        if len(self.maps) >= 64:
            self.unmap()
        dev = rng.choice(self.devs)
        size = rng.randint(1, 6000)
        buf = self.attempt(self.m.kmalloc, size)
        if buf is None:
            return
        direction = rng.choice([DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL])
        handle = self.attempt(self.m.dma_map_single, dev, buf, size, direction)
        if handle is None or self.m.dma_mapping_error(dev, handle):
            self.m.kfree(buf)
            return
        self.maps.append((dev, buf, handle, size, direction))

    def unmap(self):
        if self.maps:
            dev, buf, handle, size, direction = self.maps.pop(self.rng.randrange(len(self.maps)))
            self.attempt(self.m.dma_unmap_single, dev, handle, size, direction)
            self.m.kfree(buf)

    def sync(self):
        if self.maps:
            dev, _buf, handle, size, direction = self.rng.choice(self.maps)
            call = self.m.dma_sync_single_for_cpu if self.rng.random() < 0.5 else self.m.dma_sync_single_for_device
            self.attempt(call, dev, handle, size, direction)

    def coherent_op(self):
        rng = self.rng
        if self.coherent and rng.random() < 0.5:
            dev, size, cpu, handle = self.coherent.pop(rng.randrange(len(self.coherent)))
            self.attempt(self.m.dma_free_coherent, dev, size, cpu, handle)
        else:
            dev, size = rng.choice(self.devs), rng.randint(1, 20000)
            got = self.attempt(self.m.dma_alloc_coherent, dev, size)
            if got is not None:
                self.coherent.append((dev, size, got[0], got[1]))

    def bad(self):
        from memlab.dma import DMA_TO_DEVICE

        rng = self.rng
        m = self.m
        dev = rng.choice(self.devs)
        choice = rng.randrange(7)
        if choice == 0:
            self.attempt(m.dma_map_single, rng.choice([None, 5, "d32"]), 0xFFFF888000100000, 64, DMA_TO_DEVICE)
        elif choice == 1:
            self.attempt(m.dma_map_single, dev, rng.choice([None, 0x10, 1.5, 2**80]), 64, DMA_TO_DEVICE)
        elif choice == 2:
            self.attempt(m.dma_map_single, dev, 0xFFFF888000100000, rng.choice([0, -1, None, 1 << 40]), 1)
        elif choice == 3:
            self.attempt(m.dma_map_single, dev, 0xFFFF888000100000, 64, rng.choice([3, -1, None, 1.5]))
        elif choice == 4 and self.maps:  # unmap twice
            d, buf, handle, size, direction = self.maps.pop(rng.randrange(len(self.maps)))
            m.dma_unmap_single(d, handle, size, direction)
            m.kfree(buf)
            self.attempt(m.dma_unmap_single, d, handle, size, direction)
        elif choice == 5:
            self.attempt(m.dma_unmap_single, dev, rng.choice([None, 1.5, 0x1234, "h"]), 64, DMA_TO_DEVICE)
        else:
            self.attempt(m.dma_sync_single_for_cpu, dev, rng.choice([None, 0x1234]), rng.choice([0, 64, None]), 1)

    def ops(self):
        return [(25, self.map), (22, self.unmap), (15, self.sync), (18, self.coherent_op), (20, self.bad)]


class I8237Area(Area):
    name = "8237A"

    def __init__(self, seed):
        super().__init__(seed)
        from memlab.dma import IsaDevice

        self.m = memlab.Machine(ram="64MiB", cpus=2)
        self.ctrl = self.m.dma8237
        self.buf = self.m.alloc_pages(5, "GFP_DMA").phys_addr  # 128 KiB, 128 KiB aligned
        for ch in (1, 2, 3, 5, 6, 7):
            self.ctrl.attach(ch, IsaDevice(f"dev{ch}", data=bytes(range(256)) * 4, burst=4))

    def snapshot(self):
        c = self.ctrl
        return tuple((ch.base_addr, ch.base_count, ch.cur_addr, ch.cur_count, ch.mode, ch.masked) for ch in c.channels)

    def program(self):
        from memlab.dma import DMA_MODE_BLOCK, DMA_MODE_DEMAND, DMA_MODE_READ, DMA_MODE_SINGLE, DMA_MODE_WRITE

        rng = self.rng
        ch = rng.choice([1, 2, 3, 5, 6, 7])
        count = rng.randint(1, 2048)
        mode = rng.choice([DMA_MODE_SINGLE, DMA_MODE_BLOCK, DMA_MODE_DEMAND]) | rng.choice(
            [DMA_MODE_READ, DMA_MODE_WRITE]
        )
        self.attempt(self.ctrl.program, ch, self.buf + (rng.randrange(8) << 12), count, mode)

    def run(self):
        rng = self.rng
        if rng.random() < 0.5:
            self.attempt(self.ctrl.dreq, rng.choice([1, 2, 3, 5, 6, 7]))
        self.attempt(self.ctrl.run, rng.randint(1, 40))

    def bad(self):
        rng = self.rng
        c = self.ctrl
        choice = rng.randrange(6)
        if choice == 0:
            self.attempt(c.set_dma_mode, rng.choice([4, 8, -1, None, 1.5]), 0x44)
        elif choice == 1:
            self.attempt(c.set_dma_mode, rng.choice([1, 5]), rng.choice([-4, 256, None, 1.5]))
        elif choice == 2:
            self.attempt(c.set_dma_count, rng.choice([1, 5]), rng.choice([0, -1, 1 << 20, None, 1.5]))
        elif choice == 3:
            self.attempt(c.set_dma_addr, rng.choice([1, 5]), rng.choice([-1, 1 << 30, None, 1.5, 0xFFF0]))
        elif choice == 4:
            self.attempt(c.outb, rng.choice([-1, 256, None]), rng.choice([0x0B, 0x99, None]))
        else:
            self.attempt(c.run_to_tc, rng.choice([0, 4, None, 9]))

    def ops(self):
        return [(30, self.program), (50, self.run), (20, self.bad)]


class LibcArea(Area):
    """glibc's malloc family and the file system calls of one process."""

    name = "libc and syscalls"

    def __init__(self, seed):
        super().__init__(seed)
        self.m = memlab.Machine(ram="256MiB", cpus=2)
        self.p = self.m.spawn("fuzz", seed=seed)
        self.c = self.p.libc
        self.live = []
        self.file = self.m.create_file("/fuzz", 0)
        self.fd = self.p.sys.open(self.file)

    def snapshot(self):
        c = self.c
        return (
            tuple(c.chunk_list()),
            tuple(sorted(c.mallinfo2().items())),
            self.file.size,
            self.p.sys.fds[self.fd].pos,
        )

    def invariants(self):
        pos = None
        for addr, size, state in self.c.chunk_list():
            if state == "mmapped":
                continue
            assert pos is None or addr == pos, f"heap gap or overlap at {addr:#x}"
            pos = addr + size

    def malloc(self):
        rng = self.rng
        n = rng.choice([rng.randrange(0, 200), rng.randrange(0, 5000), rng.randrange(100_000, 300_000)])
        addr = self.attempt(rng.choice([self.c.malloc, lambda n: self.c.calloc(1, n)]), n)
        if addr:
            self.live.append(addr)

    def free(self):
        if self.live:
            self.attempt(self.c.free, self.live.pop(self.rng.randrange(len(self.live))))

    def realloc(self):
        if self.live:
            i = self.rng.randrange(len(self.live))
            new = self.attempt(self.c.realloc, self.live[i], self.rng.randrange(1, 3000))
            if new:
                self.live[i] = new

    def io(self):
        if self.live:
            rng = self.rng
            call = rng.choice([self.p.sys.read, self.p.sys.write])
            self.attempt(call, self.fd, rng.choice(self.live), rng.randrange(0, 200))
            self.attempt(self.p.sys.lseek, self.fd, rng.randrange(0, 4096))

    def bad(self):
        rng, c = self.rng, self.c
        choice = rng.randrange(7)
        if choice == 0:
            self.attempt(c.malloc, _junk(rng))
        elif choice == 1:  # frees of addresses malloc never handed out, or handed out and freed
            self.attempt(c.free, rng.choice([16, 0x5555555592A8, _junk(rng), *(a + 8 for a in self.live[:1])]))
        elif choice == 2:
            self.attempt(c.realloc, rng.choice([0x1234, _junk(rng)]), rng.choice([10, -1, _junk(rng)]))
        elif choice == 3:
            self.attempt(c.calloc, _junk(rng), rng.choice([1, _junk(rng)]))
        elif choice == 4:
            self.attempt(self.p.sys.read, rng.choice([99, _junk(rng)]), 0x1000, 10)
        elif choice == 5:
            self.attempt(self.p.sys.write, self.fd, rng.choice([0x10, 0xFFFF888000000000, _junk(rng)]), 10)
        else:
            self.attempt(self.p.sys.lseek, self.fd, rng.choice([-1, _junk(rng)]), rng.choice([0, 7]))

    def ops(self):
        return [(30, self.malloc), (25, self.free), (10, self.realloc), (15, self.io), (20, self.bad)]


class PitfallsArea(Area):
    """The simulated sanitizers: programs that allocate, touch and free,
    correctly and not; a sanitizer's finding (a SanitizerError) is a
    result, after which a new program starts."""

    name = "pitfalls"

    def __init__(self, seed):
        super().__init__(seed)
        self.m = memlab.Machine(ram="256MiB", cpus=2)
        self.findings = 0
        self._new()

    def _new(self):
        from memlab.pitfalls import MemorySanitizer, Sanitizer

        for old in ("s", "msan"):  # the last programs' processes exit: their memory goes back
            if hasattr(self, old):
                getattr(self, old).process.exit()
        self.s = Sanitizer("fuzz.cpp", machine=self.m, quarantine_size_mb=self.rng.choice([0, 1, 256]))
        self.msan = MemorySanitizer("fuzz.cpp", machine=self.m)
        self.live = []  # (address, size, kind)

    def snapshot(self):
        s = self.s
        return (
            tuple((c.beg, c.size, c.state) for c in s.chunks.values()),
            s.quarantine_bytes,
            tuple(sorted(s.vars.items())),
            tuple(self.msan.blocks),
        )

    def _call(self, fn, *args, **kwargs):
        """A call that may find a bug: the finding ends this program."""
        from memlab.pitfalls import SanitizerError

        before = self.snapshot()
        try:
            return fn(*args, **kwargs)
        except SanitizerError:
            self.findings += 1
            if self.snapshot() != before:
                self.changed[f"{fn.__name__}: a finding changed the model"] += 1
            self._new()
        except MemlabError as err:
            self.rejected += 1
            if self.snapshot() != before:
                self.changed[f"{fn.__name__}: {type(err).__name__}: {str(err)[:90]}"] += 1
        return None

    def alloc(self):
        rng, s = self.rng, self.s
        kind = rng.choice(["malloc", "new", "new[]", "calloc"])
        n = rng.choice([rng.randrange(0, 64), rng.randrange(0, 3000)])
        call = {"malloc": s.malloc, "new": s.new, "new[]": s.new_array}.get(kind)
        addr = self._call(call, n, line=rng.randrange(1, 50)) if call else self._call(s.calloc, 1, n, line=3)
        if addr:
            self.live.append((addr, n, "malloc" if kind == "calloc" else kind))
            s.let(f"v{len(self.live)}", addr)

    def touch(self):
        if self.live:
            rng = self.rng
            addr, n, _ = rng.choice(self.live)
            off = rng.randrange(-16, n + 24)  # in bounds mostly, past either end sometimes
            size = rng.choice([1, 4, 8])
            if rng.random() < 0.5:
                self._call(self.s.read, addr + off, size, line=7)
            else:
                self._call(self.s.write, addr + off, bytes(size), line=8)

    def release(self):
        if self.live:
            rng = self.rng
            addr, _, kind = self.live.pop(rng.randrange(len(self.live)))
            if rng.random() < 0.15:  # the wrong function now and then
                kind = rng.choice(["malloc", "new", "new[]"])
            call = {"malloc": self.s.free, "new": self.s.delete, "new[]": self.s.delete_array}[kind]
            self._call(call, addr, line=9)
            if rng.random() < 0.1:
                self._call(call, addr, line=10)  # and twice

    def memory(self):
        rng, m = self.rng, self.msan
        a = self._call(m.malloc, rng.randrange(1, 64), line=1)
        if a:
            self._call(m.write, a, b"\0" * rng.randrange(0, 4), line=2)
            self._call(m.use, a, 4, line=3, col=1)

    def threads(self):
        from memlab.pitfalls import counter_program

        rng = self.rng
        fix = rng.choice([None, "volatile", "mutex", "atomic"])
        n = rng.randrange(1, 30)
        result = counter_program(fix, iterations=n, seed=rng.randrange(1000), switch=rng.random()).run()
        if result.values["counter"] + result.lost != 2 * n or (result.report is None) != (fix in ("mutex", "atomic")):
            self.changed[f"threads: {fix}: counter {result.values}, lost {result.lost}, report {result.report}"] += 1

    def bad(self):
        rng, s = self.rng, self.s
        choice = rng.randrange(7)
        if choice == 6:
            self._call(rng.choice([s.calloc, self.msan.calloc]), rng.choice([1, _junk(rng)]), _junk(rng), line=1)
        elif choice == 0:
            self._call(s.malloc, _junk(rng), line=1)
        elif choice == 1:
            self._call(s.free, rng.choice([_junk(rng), 0x1234]), line=rng.choice([1, 0, _junk(rng)]))
        elif choice == 2:
            self._call(s.read, _junk(rng), rng.choice([4, _junk(rng)]), line=2)
        elif choice == 3:
            self._call(s.write, rng.choice([0x10, _junk(rng)]), rng.choice([b"x", _junk(rng)]), line=3)
        elif choice == 4:
            self._call(self.msan.use, _junk(rng), 4, line=1, col=rng.choice([1, 0, _junk(rng)]))
        else:
            self._call(s.delete, rng.choice([_junk(rng), 0]), line=4, size=rng.choice([None, -3, _junk(rng)]))

    def ops(self):
        return [
            (25, self.alloc),
            (25, self.touch),
            (20, self.release),
            (8, self.memory),
            (2, self.threads),
            (20, self.bad),
        ]


class MobilityArea(Area):
    """A MobilityZone: migratetypes, per-CPU lists of two CPUs, compaction."""

    name = "mobility"
    GFPS = ("GFP_KERNEL", "GFP_HIGHUSER_MOVABLE", "GFP_KERNEL|__GFP_RECLAIMABLE", "GFP_ATOMIC")

    def __init__(self, seed):
        super().__init__(seed)
        self.zone = memlab.MobilityZone("Normal", 4096, zone_idx=2)
        self.live = []

    def snapshot(self):
        z = self.zone  # (the pcp lists' self-tuned high and counters are left out: a failed request may tune them)
        return (z.nr_free_by_type(), sorted(z.allocated_blocks()), sorted(z.pcp_pages()), z.pageblocks())

    def invariants(self):
        self.zone.check_invariants()

    def alloc(self):
        rng = self.rng
        order = rng.choice([0, 0, 0, 1, 2, 3, 4, 9])
        page = self.attempt(self.zone.alloc_pages, order, rng.choice(self.GFPS), rng.randrange(2))
        if page is not None:
            self.live.append(page)

    def free(self):
        if self.live:
            page = self.live.pop(self.rng.randrange(len(self.live)))
            self.attempt(self.zone.free_pages, page, page.order, self.rng.randrange(2))

    def housekeeping(self):
        rng = self.rng
        if rng.random() < 0.5:
            self.zone.drain_all_pages()
        else:
            self.zone.compact_zone(rng.choice([-1, -1, 2, 4, 9]))

    def bad(self):
        rng, z = self.rng, self.zone
        choice = rng.randrange(6)
        if choice == 0:
            self.attempt(z.alloc_pages, rng.choice([0, 11, _junk(rng)]), rng.choice(["GFP_KERNEL|__GFP_MOVABLE|"
                         "__GFP_RECLAIMABLE", "NOPE", _junk(rng)]))  # fmt: skip
        elif choice == 1:
            self.attempt(z.alloc_pages, 0, "GFP_KERNEL", rng.choice([2, -1, _junk(rng)]))
        elif choice == 2 and self.live:  # a double free, the first one perhaps to a per-CPU list
            page = self.live.pop(rng.randrange(len(self.live)))
            z.free_pages(page, page.order, rng.randrange(2))
            self.attempt(z.free_pages, page, page.order, rng.randrange(2))
        elif choice == 3 and self.live:
            page = rng.choice(self.live)
            self.attempt(z.free_pages, page, page.order, rng.choice([5, _junk(rng)]))
        elif choice == 4:
            self.attempt(z.compact_zone, rng.choice([11, -2, _junk(rng)]))
        else:  # a pfn that is no live block's head (a free page, one on a per-CPU list, inside a block), or junk
            pfn = rng.randrange(4096)
            if z.allocated_order(pfn) is None:
                self.attempt(z.free_pages, rng.choice([pfn, _junk(rng)]), rng.choice([0, _junk(rng)]))

    def ops(self):
        return [(40, self.alloc), (35, self.free), (3, self.housekeeping), (22, self.bad)]


class ReclaimArea(Area):
    """A machine with reclaim: processes touch and unmap memory, read files,
    exit; kswapd, direct reclaim, compaction and the OOM killer do their
    work; invalid calls in between."""

    name = "reclaim"

    def __init__(self, seed):
        super().__init__(seed)
        self.m = memlab.Machine(ram="24MiB", mobility=True)
        self.procs = []
        self.files = [self.m.create_file(f"/f{i}", 1 << 20) for i in range(6)]

    def snapshot(self):
        m = self.m
        return (
            tuple(tuple(z.nr_free_by_type()) for z in m.populated_zones),
            tuple(sorted(m.processes)),
            tuple(sorted(m.vm_events.items())),
        )

    def invariants(self):
        for z in self.m.populated_zones:
            z.check_invariants()

    def _alive(self):
        self.procs = [p for p in self.procs if not p.exited]
        return self.procs

    def work(self):
        rng = self.rng
        procs = self._alive()
        if len(procs) < 4 and rng.random() < 0.3:
            self.procs.append(self.m.spawn(f"p{len(self.procs)}"))
            return
        if not procs:
            return
        p = rng.choice(procs)
        try:
            if rng.random() < 0.6:
                size = rng.choice([1, 4, 16, 64]) << 12
                addr = p.mmap(length=size)
                for off in range(0, size, 4096):
                    p.touch(addr + off, write=True)
                if rng.random() < 0.5:
                    p.munmap(addr, size)
            else:
                fd = p.sys.open(rng.choice(self.files))
                buf = p.mmap(length=64 << 10)
                p.sys.read(fd, buf, 64 << 10)
                p.sys.close(fd)
        except memlab.OutOfMemory:
            pass  # memory ran out: reclaim and the OOM killer did what they could (not a bad call)
        except memlab.errors.SyscallError:
            pass  # the OOM killer chose this process on the way

    def housekeeping(self):
        rng = self.rng
        if rng.random() < 0.5:
            self.m.compact_memory(rng.choice([-1, 3]))
        elif self._alive():
            rng.choice(self.procs).exit()

    def bad(self):
        rng = self.rng
        choice = rng.randrange(3)
        if choice == 0:
            self.attempt(self.m.alloc_pages, rng.choice([11, _junk(rng)]), rng.choice(["GFP_KERNEL", "NOPE"]))
        elif choice == 1:
            self.attempt(self.m.compact_memory, rng.choice([12, _junk(rng)]))
        else:  # a pfn no one allocated (pfn 5 is reserved at boot), or junk
            pfn = rng.choice([5, rng.randrange(256, self.m.nr_pages)])
            if pfn == 5 or self.m.zone_of_pfn(pfn).allocated_order(pfn) is None:
                self.attempt(self.m.free_pages, rng.choice([pfn, _junk(rng)]), 0)

    def ops(self):
        return [(60, self.work), (4, self.housekeeping), (36, self.bad)]


AREAS = {
    a.name: a
    for a in (
        ZoneArea,
        SlubArea,
        MempoolArea,
        AddressSpaceArea,
        DmaApiArea,
        I8237Area,
        LibcArea,
        PitfallsArea,
        MobilityArea,
        ReclaimArea,
    )
}


def run_area(cls, n_ops, seed):
    """Run ``n_ops`` operations of area ``cls``; returns a report dict."""
    import traceback

    area = cls(seed)
    rng = area.rng
    ops = area.ops()
    weights = [w for w, _ in ops]
    funcs = [f for _, f in ops]
    raw: Counter = Counter()
    where = {}
    start = time.perf_counter()
    for _ in range(n_ops):
        op = rng.choices(funcs, weights)[0]
        try:
            op()
        except Exception as err:  # not a MemlabError: attempt() handles those
            key = f"{op.__name__}: {type(err).__name__}: {str(err)[:90]}"
            raw[key] += 1
            where.setdefault(key, traceback.extract_tb(err.__traceback__)[-1])
        area.invariants()
    return {
        "area": cls.name,
        "ops": n_ops,
        "rejected": area.rejected,
        "raw": raw,
        "where": where,
        "changed": area.changed,
        "seconds": time.perf_counter() - start,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--area", choices=list(AREAS), default=None)
    args = parser.parse_args(argv)
    bad = 0
    for name, cls in AREAS.items():
        if args.area and name != args.area:
            continue
        r = run_area(cls, args.ops, args.seed)
        print(
            f"{name:15} {r['ops']:>9} ops  {r['rejected']:>8} rejected  raw {sum(r['raw'].values()):>6} "
            f"({len(r['raw'])} distinct)  changed {sum(r['changed'].values()):>6} ({len(r['changed'])} distinct)  "
            f"{r['seconds']:.1f} s"
        )
        for kind in ("raw", "changed"):
            for message, count in r[kind].most_common(12):
                at = r["where"].get(message) if kind == "raw" else None
                print(f"    {kind} x{count}: {message}" + (f"  [{Path(at.filename).name}:{at.lineno}]" if at else ""))
        bad += sum(r["raw"].values()) + sum(r["changed"].values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
