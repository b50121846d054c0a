"""A plain set-per-order buddy allocator with no bookkeeping: the yardstick
"ref" of benchmarks/README.md that memlab's figures are divided by. Not part
of memlab."""

from memlab.units import MAX_PAGE_ORDER, NR_PAGE_ORDERS


class PlainPage:
    __slots__ = ("pfn", "order")

    def __init__(self, pfn, order):
        self.pfn = pfn
        self.order = order


class PlainBuddy:
    def __init__(self, nr_pages):
        self.free = [set() for _ in range(NR_PAGE_ORDERS)]
        for pfn in range(0, nr_pages, 1 << MAX_PAGE_ORDER):
            self.free[MAX_PAGE_ORDER].add(pfn)

    def alloc_pages(self, order):
        free = self.free
        for cur in range(order, NR_PAGE_ORDERS):
            if free[cur]:
                pfn = free[cur].pop()
                while cur > order:
                    cur -= 1
                    free[cur].add(pfn + (1 << cur))
                return PlainPage(pfn, order)
        from memlab.errors import OutOfMemory

        raise OutOfMemory(order)

    def free_pages(self, page, order):
        pfn = page.pfn
        free = self.free
        while order < MAX_PAGE_ORDER:
            buddy = pfn ^ (1 << order)
            if buddy not in free[order]:
                break
            free[order].remove(buddy)
            pfn &= buddy
            order += 1
        free[order].add(pfn)
