"""A plain set-per-order buddy allocator with no bookkeeping: the yardstick
"ref" of benchmarks/README.md that memlab's figures are divided by. It
returns bare int PFNs and keeps no list order, no trail, no checks. Not part
of memlab, and it imports nothing from it."""

MAX_ORDER = 10  # MAX_PAGE_ORDER on x86-64
NR_ORDERS = MAX_ORDER + 1


class NoBlock(Exception):
    """No free block large enough."""


class PlainBuddy:
    def __init__(self, nr_pages):
        self.free = [set() for _ in range(NR_ORDERS)]
        for pfn in range(0, nr_pages, 1 << MAX_ORDER):
            self.free[MAX_ORDER].add(pfn)

    def alloc_pages(self, order):
        free = self.free
        for cur in range(order, NR_ORDERS):
            if free[cur]:
                pfn = free[cur].pop()
                while cur > order:
                    cur -= 1
                    free[cur].add(pfn + (1 << cur))
                return pfn
        raise NoBlock(order)

    def free_pages(self, pfn, order):
        free = self.free
        while order < MAX_ORDER:
            buddy = pfn ^ (1 << order)
            if buddy not in free[order]:
                break
            free[order].remove(buddy)
            pfn &= buddy
            order += 1
        free[order].add(pfn)
