"""User-space memory pools, for comparison with the kernel's mempools and
with malloc.

:class:`ObjectPool` is one chunk with an intrusive free list, what a C++
object pool or ``std::pmr::monotonic``/pool resource does; :class:`SizeClassPool`
keeps several object pools by size class and passes larger requests to a
general allocator (``std::pmr::unsynchronized_pool_resource``, or a slab
allocator in user space). Addresses are plain numbers in a simulated user
address range: these pools do not allocate from a :class:`memlab.Machine`.
"""

from __future__ import annotations

from .errors import BadFree, BadSize, PoolExhausted, reject

__all__ = ["ObjectPool", "SizeClassPool"]


class ObjectPool:
    """A fixed-size object pool as C or C++ code writes it: one chunk of
    ``capacity`` slots of ``object_size`` bytes (rounded up to ``align``),
    and an intrusive free list threaded through the free slots (LIFO).
    allocate() and deallocate() are O(1) and never fragment; the price is a
    fixed capacity and one object size. ``base`` is the chunk's (user
    virtual) address."""

    def __init__(self, object_size, capacity, align=16, base=0x7F0000000000, name="pool"):
        if object_size.__class__ is not int or object_size <= 0:
            raise reject(BadSize, object_size, f"ObjectPool: object_size {object_size!r} must be an int > 0")
        if capacity.__class__ is not int or capacity <= 0:
            raise reject(BadSize, capacity, f"ObjectPool: capacity {capacity!r} must be an int > 0")
        if align.__class__ is not int or align <= 0 or align & (align - 1):
            raise reject(BadSize, align, f"ObjectPool: align {align!r} must be a power of two")
        self.name = name
        self.object_size = object_size
        self.stride = -(-max(object_size, 8) // align) * align  # a free slot holds the next pointer
        self.capacity = capacity
        self.base = base
        self.chunk_bytes = self.stride * capacity
        self.free_list = list(range(capacity - 1, -1, -1))  # head (slot 0) last
        self.isfree = bytearray(b"\x01") * capacity
        self.in_use = 0
        self.peak = 0

    def allocate(self):
        """An object's address; :class:`PoolExhausted` when all are in use."""
        if not self.free_list:
            raise PoolExhausted(f"{self.name}: all {self.capacity} objects of {self.object_size} bytes are in use")
        slot = self.free_list.pop()
        self.isfree[slot] = 0
        self.in_use += 1
        if self.in_use > self.peak:
            self.peak = self.in_use
        return self.base + slot * self.stride

    def deallocate(self, addr):
        """Put the object back at the head of the free list."""
        slot, rem = divmod(addr - self.base, self.stride) if addr.__class__ is int else (-1, 0)
        if rem or not 0 <= slot < self.capacity:
            raise BadFree(
                f"{self.name}: {addr!r} is not an object of this pool "
                f"({self.base:#x}..{self.base + self.chunk_bytes:#x}, every {self.stride} bytes)"
            )
        if self.isfree[slot]:
            raise BadFree(f"{self.name}: double free of {addr:#x} (slot {slot} is already free)")
        self.isfree[slot] = 1
        self.free_list.append(slot)
        self.in_use -= 1

    def owns(self, addr):
        return addr.__class__ is int and self.base <= addr < self.base + self.chunk_bytes

    @property
    def overhead_bytes(self):
        """Bytes of the chunk not holding live object data."""
        return self.chunk_bytes - self.in_use * self.object_size

    def __repr__(self):
        return (
            f"<ObjectPool {self.name}: {self.in_use}/{self.capacity} objects of {self.object_size} B "
            f"(stride {self.stride})>"
        )


class SizeClassPool:
    """Object pools by size class, as ``std::pmr::unsynchronized_pool_resource``
    or a slab allocator in user space: a request goes to the smallest class
    that fits; each class grows by chunks of ``objects_per_chunk`` objects;
    requests above the largest class go to ``upstream`` (a general
    allocator with ``malloc``/``free``)."""

    def __init__(self, classes=(16, 32, 64, 128, 256, 512), objects_per_chunk=64, upstream=None, base=0x7E0000000000):
        if list(classes) != sorted(set(classes)) or not classes:
            raise BadSize(f"SizeClassPool: classes {classes!r} must be increasing sizes")
        self.classes = tuple(classes)
        self.objects_per_chunk = objects_per_chunk
        self.upstream = upstream
        self.pools = {c: [] for c in self.classes}
        self._next_base = base
        self.upstream_live = {}

    def _class_of(self, size):
        for c in self.classes:
            if size <= c:
                return c
        return None

    def allocate(self, size):
        if size.__class__ is not int or size <= 0:
            raise reject(BadSize, size, f"SizeClassPool.allocate: size {size!r} must be an int > 0")
        c = self._class_of(size)
        if c is None:
            if self.upstream is None:
                raise PoolExhausted(
                    f"size {size} is above the largest class {self.classes[-1]} and there is no upstream allocator"
                )
            addr = self.upstream.malloc(size)
            self.upstream_live[addr] = size
            return addr
        for pool in self.pools[c]:
            if pool.free_list:
                return pool.allocate()
        pool = ObjectPool(c, self.objects_per_chunk, base=self._next_base, name=f"class-{c}")
        self._next_base += -(-pool.chunk_bytes // 4096) * 4096
        self.pools[c].append(pool)
        return pool.allocate()

    def deallocate(self, addr):
        if addr in self.upstream_live:
            del self.upstream_live[addr]
            self.upstream.free(addr)
            return
        for pools in self.pools.values():
            for pool in pools:
                if pool.owns(addr):
                    pool.deallocate(addr)
                    return
        raise BadFree(f"SizeClassPool: {addr!r} was not allocated here")

    @property
    def reserved_bytes(self):
        return sum(p.chunk_bytes for pools in self.pools.values() for p in pools)

    @property
    def live_objects(self):
        return sum(p.in_use for pools in self.pools.values() for p in pools) + len(self.upstream_live)
