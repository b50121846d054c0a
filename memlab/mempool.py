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

The user-space pools that the lesson compares with (:class:`ObjectPool`,
:class:`SizeClassPool`) live in :mod:`memlab.userpool` and are re-exported
here.
"""

from __future__ import annotations

from collections import deque, namedtuple

from .errors import BadFree, BadPool, BadSize, MemlabError, OutOfMemory, PoolExhausted, reject
from .gfp import GFP, gfp_names, parse_gfp
from .records import StrEnum
from .units import check_order
from .userpool import ObjectPool, SizeClassPool

__all__ = [
    "Mempool",
    "MempoolWaiter",
    "MempoolEvent",
    "PoolEvent",
    "BadPool",
    "PoolExhausted",
    "ObjectPool",
    "SizeClassPool",
    "mempool_create_slab_pool",
    "mempool_create_kmalloc_pool",
    "mempool_create_page_pool",
    "mempool_gfp_text",
]

_NOMEMALLOC_NORETRY_NOWARN = GFP["__GFP_NOMEMALLOC"] | GFP["__GFP_NORETRY"] | GFP["__GFP_NOWARN"]
_RECLAIM_IO = GFP["__GFP_DIRECT_RECLAIM"] | GFP["__GFP_IO"]


#: Events a mempool remembers for its drawings (older ones are dropped, so a
#: long run costs bounded memory).
HISTORY_LEN = 1024


class PoolEvent(StrEnum):
    """What happened in a mempool, as its history records it."""

    CREATE = "create"
    BACKING = "backing"  # element from the backing allocator
    RESERVE = "reserve"  # backing failed: element from the reserve
    BACKING_FAILED = "backing_failed"  # backing failed and the reserve was not used
    NULL = "null"  # NULL returned: the caller may not sleep
    SLEEP = "sleep"  # the caller sleeps on pool->wait
    WOKEN = "woken"  # a sleeper got an element
    FREE_TO_RESERVE = "free_to_reserve"
    FREE_TO_BACKING = "free_to_backing"
    RESIZE = "resize"
    DESTROY = "destroy"


# the events as module constants for the hot paths (cheaper than enum lookups)
_BACKING = PoolEvent.BACKING
_BACKING_FAILED = PoolEvent.BACKING_FAILED
_CREATE = PoolEvent.CREATE
_DESTROY = PoolEvent.DESTROY
_FREE_TO_BACKING = PoolEvent.FREE_TO_BACKING
_FREE_TO_RESERVE = PoolEvent.FREE_TO_RESERVE
_NULL = PoolEvent.NULL
_RESERVE = PoolEvent.RESERVE
_RESIZE = PoolEvent.RESIZE
_SLEEP = PoolEvent.SLEEP
_WOKEN = PoolEvent.WOKEN


class MempoolEvent(namedtuple("MempoolEvent", "step event curr_nr")):
    """One entry of ``pool.history``: event number, what happened, and
    ``curr_nr`` afterwards."""

    __slots__ = ()


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
    ``free_fn(element, pool_data)``. ``history`` holds the last
    ``HISTORY_LEN`` events for
    the plots as :class:`MempoolEvent` records ``(step, event, curr_nr)``."""

    def __init__(self, machine, min_nr, alloc_fn, free_fn, pool_data=None, name="mempool", describe=None):
        if min_nr.__class__ is not int or min_nr < 0:
            raise reject(BadPool, min_nr, f"mempool_create: min_nr {min_nr!r} must be an int >= 0")
        if min_nr > _INT_MAX:
            raise BadPool(f"mempool_create: min_nr {min_nr} does not fit the kernel's int (max {_INT_MAX})")
        if min_nr * 8 > _KMALLOC_MAX_SIZE:  # mempool_init_node(): kmalloc_array(min_nr, sizeof(void *)) fails
            raise OutOfMemory(
                f"mempool_create: the reserve array for {min_nr} elements ({min_nr * 8} bytes) is more than "
                f"kmalloc_array() can allocate (4 MiB): -ENOMEM, nothing was allocated"
            )
        if not callable(alloc_fn) or not callable(free_fn):
            raise BadPool(
                "mempool_create: alloc_fn and free_fn must be callables "
                "alloc_fn(gfp_mask, pool_data) and free_fn(element, pool_data)"
            )
        self.machine = machine
        self.name = name
        self.min_nr = min_nr
        self.elements = []
        self.alloc_fn = alloc_fn
        self.free_fn = free_fn
        self.pool_data = pool_data
        self.wait = deque()
        self.outstanding = set()
        self._events = 0
        self._history = deque(maxlen=HISTORY_LEN)  # raw (step, event, curr_nr) tuples
        self.stats = {
            "from_backing": 0,
            "from_reserve": 0,
            "backing_failed": 0,
            "null": 0,
            "slept": 0,
            "freed_to_reserve": 0,
            "freed_to_backing": 0,
        }
        self.destroyed = False
        self._describe = describe or (lambda e: hex(e) if isinstance(e, int) else repr(e))
        while len(self.elements) < min_nr:  # mempool_init_node(): pre-fill
            element = self._backing_alloc(GFP["GFP_KERNEL"])
            if element is None:
                got = len(self.elements)
                for e in self.elements:
                    self.free_fn(e, self.pool_data)
                self.elements.clear()
                raise OutOfMemory(
                    f"mempool_create({name}): could only pre-fill {got} of "
                    f"{min_nr} elements; the pool was not created (-ENOMEM) and the elements went back "
                    f"to the backing allocator (a slab cache may keep a few empty slabs, as SLUB does)"
                )
            self.elements.append(element)
        self._log(_CREATE)

    # ---------------------------------------------------------------- state
    @property
    def curr_nr(self):
        return len(self.elements)

    def describe(self, element):
        return self._describe(element)

    def _log(self, event):
        self._history.append((self._events, event, len(self.elements)))
        self._events += 1

    @property
    def history(self):
        """The last ``HISTORY_LEN`` events, oldest first, as :class:`MempoolEvent`
        records (kept as plain tuples and made records when read)."""
        return [MempoolEvent(*raw) for raw in self._history]

    @property
    def last_event(self):
        """The most recent :class:`MempoolEvent`."""
        return MempoolEvent(*self._history[-1])

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
            raise BadPool(
                "mempool_alloc: __GFP_ZERO is not allowed (VM_WARN_ON_ONCE): reserved elements would not be zeroed"
            )
        gfp_mask = mask | _NOMEMALLOC_NORETRY_NOWARN
        gfp_temp = gfp_mask & ~_RECLAIM_IO
        element = self._try(gfp_temp)
        if element is not None:
            return element
        if gfp_temp != gfp_mask:  # retry at once with the caller's full flags
            element = self._try(gfp_mask, reserve=False)
            if element is not None:
                return element
        if not gfp_mask & GFP["__GFP_DIRECT_RECLAIM"]:
            self.stats["null"] += 1
            self._log(_NULL)
            return None
        waiter = MempoolWaiter(task, self, gfp_mask)
        self.wait.append(waiter)
        self.stats["slept"] += 1
        self._log(_SLEEP)
        return waiter

    def _try(self, mask, reserve=True):
        """One round of repeat_alloc: backing allocator, then the reserve."""
        element = self._backing_alloc(mask)
        if element is not None:
            self.outstanding.add(_key(element))
            self.stats["from_backing"] += 1
            self._log(_BACKING)
            return element
        if reserve and self.elements:
            element = self.elements.pop()  # remove_element()
            self.outstanding.add(_key(element))
            self.stats["from_reserve"] += 1
            self._log(_RESERVE)
            return element
        self._log(_BACKING_FAILED)
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
            raise BadFree(
                f"mempool_free: {self.describe(element)} is not an element handed out by mempool "
                f"{self.name} (double free, or from another pool)"
            )
        self.outstanding.discard(key)
        if len(self.elements) < self.min_nr:
            self.elements.append(element)  # add_element()
            self.stats["freed_to_reserve"] += 1
            self._log(_FREE_TO_RESERVE)
            self._wake_up()
            return
        self.free_fn(element, self.pool_data)
        self.stats["freed_to_backing"] += 1
        self._log(_FREE_TO_BACKING)

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
                self._log(_WOKEN)

    # --------------------------------------------------------------- resize
    def resize(self, new_min_nr):
        """Kernel: mm/mempool.c mempool_resize(): shrinking frees surplus
        reserve elements; growing allocates (GFP_KERNEL) up to the new
        min_nr and stops quietly if the backing allocator fails. Sleepers
        then retry at once (in the kernel they re-poll within
        io_schedule_timeout(5*HZ); memlab has no clock). Growing past what
        kmalloc_array(new_min_nr, sizeof(void *)) can allocate (4 MiB)
        returns -ENOMEM (-12) and changes nothing, as the kernel does."""
        self._check_live("mempool_resize")
        if new_min_nr.__class__ is not int or new_min_nr <= 0:
            raise reject(BadPool, new_min_nr, f"mempool_resize: new_min_nr {new_min_nr!r} must be an int > 0 (BUG_ON)")
        if new_min_nr > _INT_MAX:
            raise BadPool(f"mempool_resize: new_min_nr {new_min_nr} does not fit the kernel's int (max {_INT_MAX})")
        if new_min_nr > self.min_nr and new_min_nr * 8 > _KMALLOC_MAX_SIZE:
            # kmalloc_array(new_min_nr, sizeof(void *)) fails: -ENOMEM, the pool is unchanged
            return -_ENOMEM
        if new_min_nr <= self.min_nr:
            while new_min_nr < len(self.elements):
                self.free_fn(self.elements.pop(), self.pool_data)
            self.min_nr = new_min_nr
            self._log(_RESIZE)
            return 0
        self.min_nr = new_min_nr
        while len(self.elements) < self.min_nr:
            element = self._backing_alloc(GFP["GFP_KERNEL"])
            if element is None:
                break
            self.elements.append(element)
        self._log(_RESIZE)
        self._wake_up()
        return 0

    def destroy(self):
        """Kernel: mempool_destroy() -> mempool_exit(): reserve elements go
        back to the backing allocator. memlab refuses while elements are
        still handed out or tasks wait (the kernel would leak or crash later)."""
        self._check_live("mempool_destroy")
        if self.outstanding or self.wait:
            raise BadPool(
                f"mempool_destroy({self.name}): {len(self.outstanding)} element"
                f"{'s' if len(self.outstanding) != 1 else ''} still handed out and {len(self.wait)} "
                f"task{'s' if len(self.wait) != 1 else ''} waiting; free them first (their later "
                f"mempool_free() would touch a destroyed pool)"
            )
        while self.elements:
            self.free_fn(self.elements.pop(), self.pool_data)
        self.destroyed = True
        self._log(_DESTROY)

    def check_invariants(self):
        assert 0 <= len(self.elements) <= self.min_nr, f"curr_nr {len(self.elements)} outside 0..{self.min_nr}"
        keys = [_key(e) for e in self.elements]
        assert len(set(keys)) == len(keys), "an element is twice in the reserve"
        assert not set(keys) & self.outstanding, "an element is both in the reserve and handed out"
        assert not self.wait or not self.elements, "tasks sleep while the reserve has elements"

    def __repr__(self):
        state = (
            "destroyed"
            if self.destroyed
            else (f"curr_nr {self.curr_nr}/{self.min_nr}, {len(self.outstanding)} out, {len(self.wait)} waiting")
        )
        return f"<mempool {self.name}: {state}>"


def mempool_create_slab_pool(machine, min_nr, cache):
    """mempool_create_slab_pool(): elements from kmem_cache_alloc(cache).
    A cache with a constructor is refused: mm/mempool.c mempool_alloc_slab()
    has ``VM_BUG_ON(mem->ctor)`` (a reserve element handed out again would
    not be constructed afresh)."""
    slub = machine.slub
    slub.check_cache(cache, "mempool_create_slab_pool")
    if cache.ctor is not None:
        raise BadPool(
            f"mempool_create_slab_pool: cache {cache.name} has a constructor; mempool_alloc_slab() has "
            f"VM_BUG_ON(mem->ctor): elements recycled through the reserve would skip it"
        )
    return Mempool(
        machine,
        min_nr,
        lambda gfp, c: slub.kmem_cache_alloc(c, gfp),
        lambda e, c: slub.kmem_cache_free(c, e),
        cache,
        name=f"slab:{cache.name}",
    )


def mempool_create_kmalloc_pool(machine, min_nr, size):
    """mempool_create_kmalloc_pool(): elements from kmalloc(size)."""
    if size.__class__ is not int or size <= 0:
        raise reject(BadSize, size, f"mempool_create_kmalloc_pool: size {size!r} must be an int > 0")
    slub = machine.slub
    return Mempool(
        machine, min_nr, lambda gfp, n: slub.kmalloc(n, gfp), lambda e, n: slub.kfree(e), size, name=f"kmalloc:{size}"
    )


def mempool_create_page_pool(machine, min_nr, order):
    """mempool_create_page_pool(): elements are order-``order`` Pages."""
    check_order(order, "mempool_create_page_pool")
    return Mempool(
        machine,
        min_nr,
        lambda gfp, o: machine.alloc_pages(o, gfp),
        lambda e, o: machine.free_pages(e, o),
        order,
        name=f"pages:order-{order}",
        describe=lambda p: f"pfn {p.pfn}",
    )


#: INT_MAX, KMALLOC_MAX_SIZE (4 MiB: an order-10 block) and ENOMEM, for mempool_resize()
_INT_MAX = (1 << 31) - 1
_KMALLOC_MAX_SIZE = 1 << 22
_ENOMEM = 12


def _key(element):
    """Hashable identity of an element: an int address by its value, a Page
    by its pfn, anything else by its type and value (so 4096.0 is not the element 4096, and a numpy
    integer is not a handed-out address). An unhashable element raises
    BadFree."""
    if element.__class__ is int:  # the common case: a slab or kmalloc address
        return element
    pfn = getattr(element, "pfn", None)
    if pfn is not None:
        return ("page", pfn)
    try:
        hash(element)
    except TypeError:
        raise BadFree(f"{element!r} ({type(element).__name__}) cannot be a mempool element") from None
    return (element.__class__, element)


def mempool_gfp_text(mask):
    """How mempool_alloc() changes the caller's flags, in words."""
    full = mask | _NOMEMALLOC_NORETRY_NOWARN
    return f"caller {gfp_names(mask)} -> first try {gfp_names(full & ~_RECLAIM_IO)}, then {gfp_names(full)}"
