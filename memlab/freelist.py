"""The classic placement policies of a free-list allocator, side by side.

A heap of ``size`` bytes from ``base`` and one free list of ``(addr, size)``
blocks; ``alloc(n)`` takes ``n`` bytes (plus ``header`` bytes, rounded up to
``align``) from a block the *policy* picks, ``free(addr)`` puts the block
back where the list *order* says, and *coalesce* merges it with free
neighbours. This is the textbook allocator of OSTEP's chapter 17 (its
homework simulator malloc.py prints its free list the same way), not
glibc's (:mod:`memlab.libc` is glibc's); lesson 06 runs one workload under
every policy and compares what is left.

Policies: ``first`` (the first block that fits, in list order), ``next``
(first fit, starting where the last search stopped), ``best`` (the smallest
block that fits; the first of equal ones), ``worst`` (the largest). Orders:
``address`` (sorted by address: coalescing needs it), ``size+`` (smallest
first), ``size-`` (largest first), ``front`` (a freed block goes first:
LIFO), ``back`` (last: FIFO).
"""

from __future__ import annotations

import random

from .errors import BadFree, BadSize, MemlabError, reject

__all__ = ["FreeListHeap", "POLICIES", "ORDERS", "placement_run", "compare_policies"]

POLICIES = ("first", "next", "best", "worst")
ORDERS = ("address", "size+", "size-", "front", "back")


class FreeListHeap:
    """A free-list allocator (see the module docstring). ``alloc`` returns
    the address or -1 when no block fits; ``searched`` counts the list
    elements the last search looked at."""

    def __init__(self, size=100, base=1000, policy="best", order="address", coalesce=False, header=0, align=1):
        if policy not in POLICIES:
            raise MemlabError(f"policy {policy!r} must be one of {', '.join(POLICIES)}")
        if order not in ORDERS:
            raise MemlabError(f"list order {order!r} must be one of {', '.join(ORDERS)}")
        for label, value in (("size", size), ("base", base), ("header", header), ("align", align)):
            if value.__class__ is not int or value < (1 if label in ("size", "align") else 0):
                raise reject(BadSize, value, f"FreeListHeap: {label} {value!r} must be a positive int")
        self.size, self.base, self.policy, self.order = size, base, policy, order
        self.coalesce, self.header, self.align = bool(coalesce), header, align
        self.free_list: list[tuple[int, int]] = [(base, size)]
        self.sizes: dict[int, int] = {}  # address handed out -> bytes taken (header and padding included)
        self.searched = 0
        self._next = 0  # next fit: where the last search stopped

    def alloc(self, n: int) -> int:
        if n.__class__ is not int or n < 1:
            raise reject(BadSize, n, f"alloc: size {n!r} must be an int >= 1")
        need = -(-(n + self.header) // self.align) * self.align
        lst = self.free_list
        pick = None
        if self.policy in ("first", "next"):
            start = self._next % len(lst) if self.policy == "next" and lst else 0
            order = list(range(start, len(lst))) + list(range(start))
            self.searched = 0
            for i in order:
                self.searched += 1
                if lst[i][1] >= need:
                    pick = i
                    break
        else:
            self.searched = len(lst)
            fits = [i for i, (_, s) in enumerate(lst) if s >= need]
            if fits:
                key = (lambda i: lst[i][1]) if self.policy == "best" else (lambda i: -lst[i][1])
                pick = min(fits, key=key)  # (min keeps the first of equals)
        if pick is None:
            return -1
        addr, size = lst[pick]
        if size > need:
            lst[pick] = (addr + need, size - need)
            if self.order in ("size+", "size-"):
                lst.sort(key=lambda b: (b[1], b[0]) if self.order == "size+" else (-b[1], b[0]))
        else:
            del lst[pick]
        self._next = pick
        self.sizes[addr] = need
        return addr

    def free(self, addr: int) -> int:
        size = self.sizes.pop(addr, None) if addr.__class__ is int else None
        if size is None:
            raise BadFree(f"free({addr!r}): not an address this heap handed out (or freed already)")
        lst = self.free_list
        block = (addr, size)
        if self.coalesce:  # merge with a free neighbour on either side, wherever it sits in the list
            for other in [b for b in lst if b[0] + b[1] == addr or addr + size == b[0]]:
                lst.remove(other)
                block = (min(block[0], other[0]), block[1] + other[1])
        if self.order == "front":
            lst.insert(0, block)
        elif self.order == "back":
            lst.append(block)
        else:
            lst.append(block)
            lst.sort()
            if self.order in ("size+", "size-"):
                lst.sort(key=lambda b: (b[1], b[0]) if self.order == "size+" else (-b[1], b[0]))
        return 0

    def list_text(self):
        """The free list as OSTEP's malloc.py prints it."""
        blocks = " ".join(f"[ addr:{a} sz:{s} ]" for a, s in self.free_list)
        return f"Free List [ Size {len(self.free_list)} ]: {blocks}"

    def stats(self):
        """Free bytes, free blocks, the largest, and external fragmentation
        (1 - largest / free: 0 when all free memory is one block)."""
        free = sum(s for _, s in self.free_list)
        largest = max((s for _, s in self.free_list), default=0)
        return {
            "free": free,
            "blocks": len(self.free_list),
            "largest": largest,
            "fragmentation": 0.0 if free == 0 else 1 - largest / free,
        }


def placement_run(heap, ops):
    """Apply ``ops`` (``("alloc", n)`` or ``("free", k)`` for the k-th
    pointer) and return the trace lines, OSTEP style, and the pointers."""
    ptrs, lines = [], []
    for op, arg in ops:
        if op == "alloc":
            addr = heap.alloc(arg)
            lines.append(f"ptr[{len(ptrs)}] = Alloc({arg}) returned {addr} (searched {heap.searched} elements)")
            ptrs.append(addr)
        else:
            lines.append(f"Free(ptr[{arg}]) returned {heap.free(ptrs[arg])}")
        lines.append(heap.list_text())
    return lines, ptrs


def _workload(seed, n_ops, max_size, budget):
    """Seeded calls that never ask for more than ``budget`` bytes at once:
    a failure then means the free bytes were there, but in pieces."""
    rng = random.Random(seed)
    ops, live, sizes, k = [], [], {}, 0
    for _ in range(n_ops):
        n = rng.randint(1, max_size)
        if live and (rng.random() < 0.45 or sum(sizes[i] for i in live) + n > budget):
            ops.append(("free", live.pop(rng.randrange(len(live)))))
        else:
            ops.append(("alloc", n))
            sizes[k] = n
            live.append(k)
            k += 1
    return ops


def compare_policies(seed=0, n_ops=2000, size=4096, max_size=200, coalesce=True, in_use=0.5):
    """One seeded workload under every policy and list order: a row per
    pair with failed allocations, elements searched per allocation, and
    the free list at the end (blocks, largest, fragmentation). The
    workload never asks for more than ``in_use`` of the heap at once, so
    every failure is external fragmentation: the bytes were free, but not
    in one block."""
    ops = _workload(seed, n_ops, max_size, int(size * in_use))
    rows = []
    for policy in POLICIES:
        for order in ORDERS:
            heap = FreeListHeap(size, 0, policy, order, coalesce)
            fails = searched = allocs = 0
            ptrs = []
            for op, arg in ops:
                if op == "alloc":
                    addr = heap.alloc(arg)
                    allocs += 1
                    searched += heap.searched
                    fails += addr < 0
                    ptrs.append(addr)
                elif ptrs[arg] >= 0:
                    heap.free(ptrs[arg])
            rows.append(
                {"policy": policy, "order": order, "failed": fails, "searched": searched / allocs, **heap.stats()}
            )
    return rows
