"""Memory pools: the kernel's mempool, and user-space object pools beside it.

Kernel part: mm/mempool.c (Linux 6.12) mempool_init_node(), mempool_alloc(),
mempool_free(), mempool_resize(), mempool_exit()/mempool_destroy(),
add_element()/remove_element(), and the backing helpers mempool_alloc_slab(),
mempool_kmalloc(), mempool_alloc_pages(). A mempool keeps ``min_nr``
elements in reserve so that a path that must make progress under memory
pressure (block I/O, swap-out, network receive) can always get one:

* create pre-fills the reserve with ``min_nr`` elements (and fails, leaving
  nothing behind, if it cannot);
* alloc tries the backing allocator first *without* direct reclaim or I/O,
  then takes an element from the reserve, then retries the backing allocator
  with the caller's full flags, then either returns NULL (no
  ``__GFP_DIRECT_RECLAIM``: GFP_ATOMIC, GFP_NOWAIT) or sleeps on the pool's
  wait queue until someone frees an element;
* free refills the reserve while ``curr_nr < min_nr`` (waking the waiters),
  otherwise gives the element back to the backing allocator.

memlab shows the sleep instead of blocking: :meth:`Mempool.alloc` returns a
:class:`MempoolWaiter` that sits on ``pool.wait`` until a
:meth:`Mempool.free` hands it an element. Not modelled: the 5-second
io_schedule_timeout() that re-polls the backing allocator, and concurrency.

User-space part: :class:`ObjectPool` (one chunk, an intrusive free list:
what a C++ object pool or ``std::pmr`` pool resource does) and
:class:`SizeClassPool` (several object pools by size class, larger requests
to a general allocator).
"""

from collections import deque

from .errors import BadFree, BadSize, MemlabError, OutOfMemory
from .gfp import GFP, gfp_names, parse_gfp

__all__ = ["Mempool", "MempoolWaiter", "BadPool", "PoolExhausted", "ObjectPool", "SizeClassPool"]

_NOMEMALLOC_NORETRY_NOWARN = GFP["__GFP_NOMEMALLOC"] | GFP["__GFP_NORETRY"] | GFP["__GFP_NOWARN"]
_RECLAIM_IO = GFP["__GFP_DIRECT_RECLAIM"] | GFP["__GFP_IO"]


class BadPool(MemlabError, ValueError):
    """A pool used against its rules (destroy with elements out, bad min_nr...)."""


class PoolExhausted(MemlabError, MemoryError):
    """A user-space pool has no free object left."""


class MempoolWaiter:
    """A task asleep in mempool_alloc() on ``pool.wait`` (TASK_UNINTERRUPTIBLE).

    ``state`` is "waiting" until a mempool_free() wakes it and it gets an
    element (``state`` "done", ``element`` set)."""

    __slots__ = ("task", "pool", "gfp", "state", "element")

    def __init__(self, task, pool, gfp):
        self.task = task
        self.pool = pool
        self.gfp = gfp
        self.state = "waiting"
        self.element = None

    def __repr__(self):
        got = f", got {self.pool.describe(self.element)}" if self.state == "done" else ""
        return f"<task {self.task!r} {self.state} in mempool_alloc({self.pool.name}){got}>"


class Mempool:
    """``mempool_t``: ``min_nr``, ``curr_nr`` and the reserve ``elements``
    (a LIFO stack, as add_element()/remove_element() use it), the wait
    queue ``wait``, and the backing ``alloc_fn(gfp_mask, pool_data)`` /
    ``free_fn(element, pool_data)``. ``history`` records every event for
    the plots: ``(step, event, curr_nr)``."""

    def __init__(self, machine, min_nr, alloc_fn, free_fn, pool_data=None, name="mempool", describe=None):
        if min_nr.__class__ is not int or min_nr < 0:
            raise BadPool(f"mempool_create: min_nr {min_nr!r} must be an int >= 0")
        if not callable(alloc_fn) or not callable(free_fn):
            raise BadPool("mempool_create: alloc_fn and free_fn must be callables "
                          "alloc_fn(gfp_mask, pool_data) and free_fn(element, pool_data)")
        self.machine = machine
        self.name = name
        self.min_nr = min_nr
        self.elements = []
        self.alloc_fn = alloc_fn
        self.free_fn = free_fn
        self.pool_data = pool_data
        self.wait = deque()
        self.outstanding = set()
        self.history = []
        self.stats = {"from_backing": 0, "from_reserve": 0, "backing_failed": 0, "null": 0, "slept": 0,
                      "freed_to_reserve": 0, "freed_to_backing": 0}
        self.destroyed = False
        self._describe = describe or (lambda e: hex(e) if isinstance(e, int) else repr(e))
        while len(self.elements) < min_nr:            # mempool_init_node(): pre-fill
            element = self._backing_alloc(GFP["GFP_KERNEL"])
            if element is None:
                got = len(self.elements)
                for e in self.elements:
                    self.free_fn(e, self.pool_data)
                self.elements.clear()
                raise OutOfMemory(f"mempool_create({name}): could only pre-fill {got} of "
                                  f"{min_nr} elements; the pool was not created (-ENOMEM), nothing is left "
                                  f"allocated")
            self.elements.append(element)
        self._log("create")

    # ---------------------------------------------------------------- state
    @property
    def curr_nr(self):
        return len(self.elements)

    def describe(self, element):
        return self._describe(element)

    def _log(self, event):
        self.history.append((len(self.history), event, len(self.elements)))

    def _backing_alloc(self, mask):
        try:
            element = self.alloc_fn(mask, self.pool_data)
        except MemlabError:
            element = None
        if element is None:
            self.stats["backing_failed"] += 1
        return element

    def _check_live(self, what):
        if self.destroyed:
            raise BadPool(f"{what}: mempool {self.name} was destroyed")

    # ---------------------------------------------------------------- alloc
    def alloc(self, gfp="GFP_KERNEL", task="task"):
        """Kernel: mm/mempool.c mempool_alloc(). Returns the element, None
        (``NULL``: the caller may not sleep), or a :class:`MempoolWaiter`
        when the caller sleeps until an element is freed."""
        self._check_live("mempool_alloc")
        mask = parse_gfp(gfp)
        if mask & GFP["__GFP_ZERO"]:
            raise BadPool("mempool_alloc: __GFP_ZERO is not allowed (VM_WARN_ON_ONCE): reserved elements "
                          "would not be zeroed")
        gfp_mask = mask | _NOMEMALLOC_NORETRY_NOWARN
        gfp_temp = gfp_mask & ~_RECLAIM_IO
        element = self._try(gfp_temp)
        if element is not None:
            return element
        if gfp_temp != gfp_mask:                      # retry at once with the caller's full flags
            element = self._try(gfp_mask, reserve=False)
            if element is not None:
                return element
        if not gfp_mask & GFP["__GFP_DIRECT_RECLAIM"]:
            self.stats["null"] += 1
            self._log("null")
            return None
        waiter = MempoolWaiter(task, self, gfp_mask)
        self.wait.append(waiter)
        self.stats["slept"] += 1
        self._log("sleep")
        return waiter

    def _try(self, mask, reserve=True):
        """One round of repeat_alloc: backing allocator, then the reserve."""
        element = self._backing_alloc(mask)
        if element is not None:
            self.outstanding.add(_key(element))
            self.stats["from_backing"] += 1
            self._log("backing")
            return element
        if reserve and self.elements:
            element = self.elements.pop()             # remove_element()
            self.outstanding.add(_key(element))
            self.stats["from_reserve"] += 1
            self._log("reserve")
            return element
        self._log("backing_failed")
        return None

    # ----------------------------------------------------------------- free
    def free(self, element):
        """Kernel: mm/mempool.c mempool_free(): refill the reserve while
        ``curr_nr < min_nr`` and wake the waiters (the first to retry takes
        an element), else give the element back to the backing allocator."""
        self._check_live("mempool_free")
        if element is None:
            return
        key = _key(element)
        if key not in self.outstanding:
            raise BadFree(f"mempool_free: {self.describe(element)} is not an element handed out by mempool "
                          f"{self.name} (double free, or from another pool)")
        self.outstanding.discard(key)
        if len(self.elements) < self.min_nr:
            self.elements.append(element)             # add_element()
            self.stats["freed_to_reserve"] += 1
            self._log("free_to_reserve")
            self._wake_up()
            return
        self.free_fn(element, self.pool_data)
        self.stats["freed_to_backing"] += 1
        self._log("free_to_backing")

    def _wake_up(self):
        """wake_up(&pool->wait): every sleeper retries; those that fail sleep again."""
        for _ in range(len(self.wait)):
            waiter = self.wait.popleft()
            element = self._try(waiter.gfp)
            if element is None:
                self.wait.append(waiter)
            else:
                waiter.state = "done"
                waiter.element = element
                self._log("woken")

    # --------------------------------------------------------------- resize
    def resize(self, new_min_nr):
        """Kernel: mm/mempool.c mempool_resize(): shrinking frees surplus
        reserve elements; growing allocates (GFP_KERNEL) up to the new
        min_nr and stops quietly if the backing allocator fails. Sleepers
        then retry at once (in the kernel they re-poll within
        io_schedule_timeout(5*HZ); memlab has no clock)."""
        self._check_live("mempool_resize")
        if new_min_nr.__class__ is not int or new_min_nr <= 0:
            raise BadPool(f"mempool_resize: new_min_nr {new_min_nr!r} must be an int > 0 (BUG_ON)")
        if new_min_nr <= self.min_nr:
            while new_min_nr < len(self.elements):
                self.free_fn(self.elements.pop(), self.pool_data)
            self.min_nr = new_min_nr
            self._log("resize")
            return 0
        self.min_nr = new_min_nr
        while len(self.elements) < self.min_nr:
            element = self._backing_alloc(GFP["GFP_KERNEL"])
            if element is None:
                break
            self.elements.append(element)
        self._log("resize")
        self._wake_up()
        return 0

    def destroy(self):
        """Kernel: mempool_destroy() -> mempool_exit(): reserve elements go
        back to the backing allocator. memlab refuses while elements are
        still handed out or tasks wait (the kernel would leak or crash later)."""
        self._check_live("mempool_destroy")
        if self.outstanding or self.wait:
            raise BadPool(f"mempool_destroy({self.name}): {len(self.outstanding)} element"
                          f"{'s' if len(self.outstanding) != 1 else ''} still handed out and {len(self.wait)} "
                          f"task{'s' if len(self.wait) != 1 else ''} waiting; free them first (their later "
                          f"mempool_free() would touch a destroyed pool)")
        while self.elements:
            self.free_fn(self.elements.pop(), self.pool_data)
        self.destroyed = True
        self._log("destroy")

    def check_invariants(self):
        assert 0 <= len(self.elements) <= self.min_nr, f"curr_nr {len(self.elements)} outside 0..{self.min_nr}"
        keys = [_key(e) for e in self.elements]
        assert len(set(keys)) == len(keys), "an element is twice in the reserve"
        assert not set(keys) & self.outstanding, "an element is both in the reserve and handed out"
        assert not self.wait or not self.elements, "tasks sleep while the reserve has elements"

    def __repr__(self):
        state = "destroyed" if self.destroyed else (f"curr_nr {self.curr_nr}/{self.min_nr}, "
                                                     f"{len(self.outstanding)} out, {len(self.wait)} waiting")
        return f"<mempool {self.name}: {state}>"


def _key(element):
    """Hashable identity of an element (a Page is compared by pfn)."""
    pfn = getattr(element, "pfn", None)
    return ("page", pfn) if pfn is not None else element


# ---------------------------------------------------------------- user space
class ObjectPool:
    """A fixed-size object pool as C or C++ code writes it: one chunk of
    ``capacity`` slots of ``object_size`` bytes (rounded up to ``align``),
    and an intrusive free list threaded through the free slots (LIFO).
    allocate() and deallocate() are O(1) and never fragment; the price is a
    fixed capacity and one object size. ``base`` is the chunk's (user
    virtual) address."""

    def __init__(self, object_size, capacity, align=16, base=0x7F0000000000, name="pool"):
        if object_size.__class__ is not int or object_size <= 0:
            raise BadSize(f"ObjectPool: object_size {object_size!r} must be an int > 0")
        if capacity.__class__ is not int or capacity <= 0:
            raise BadSize(f"ObjectPool: capacity {capacity!r} must be an int > 0")
        if align.__class__ is not int or align <= 0 or align & (align - 1):
            raise BadSize(f"ObjectPool: align {align!r} must be a power of two")
        self.name = name
        self.object_size = object_size
        self.stride = -(-max(object_size, 8) // align) * align    # a free slot holds the next pointer
        self.capacity = capacity
        self.base = base
        self.chunk_bytes = self.stride * capacity
        self.free_list = list(range(capacity - 1, -1, -1))          # head (slot 0) last
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
            raise BadFree(f"{self.name}: {addr!r} is not an object of this pool "
                          f"({self.base:#x}..{self.base + self.chunk_bytes:#x}, every {self.stride} bytes)")
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
        return (f"<ObjectPool {self.name}: {self.in_use}/{self.capacity} objects of {self.object_size} B "
                f"(stride {self.stride})>")


class SizeClassPool:
    """Object pools by size class, as ``std::pmr::unsynchronized_pool_resource``
    or a slab allocator in user space: a request goes to the smallest class
    that fits; each class grows by chunks of ``objects_per_chunk`` objects;
    requests above the largest class go to ``upstream`` (a general
    allocator with ``malloc``/``free``)."""

    def __init__(self, classes=(16, 32, 64, 128, 256, 512), objects_per_chunk=64, upstream=None,
                 base=0x7E0000000000):
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
            raise BadSize(f"SizeClassPool.allocate: size {size!r} must be an int > 0")
        c = self._class_of(size)
        if c is None:
            if self.upstream is None:
                raise PoolExhausted(f"size {size} is above the largest class {self.classes[-1]} and there is no "
                                    f"upstream allocator")
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


def mempool_gfp_text(mask):
    """How mempool_alloc() changes the caller's flags, in words."""
    full = mask | _NOMEMALLOC_NORETRY_NOWARN
    return (f"caller {gfp_names(mask)} -> first try {gfp_names(full & ~_RECLAIM_IO)}, "
            f"then {gfp_names(full)}")
