"""Why-questions: multiple choice, with an explanation for every option, so
a wrong pick teaches as much as a right one. Each takes a seed (it shuffles
the options) and most are predictions: :meth:`Exercise.run` then acts the
situation out in the simulation. The explanations state what the lessons
show with the model (and, where noted, what the host showed).
"""

from __future__ import annotations

from ..machine import Machine
from .core import Choice

__all__ = [
    "why_zero_page",
    "why_large_request_fails",
    "why_kmalloc_rounds",
    "why_mempool_backing_first",
    "why_bounce",
    "WHY",
]


def why_zero_page(seed):
    """Reading untouched anonymous memory costs no RAM (lesson 01)."""

    def demo():
        from .. import procfs

        machine = Machine(ram="64MiB", cpus=2)
        p = machine.spawn("reader")
        addr = p.mmap(length=1000 * 4096)

        def rss():
            return next(line for line in procfs.status(p).splitlines() if line.startswith("RssAnon"))

        lines = [f"mmap(1000 pages) -> {addr:#x}; {rss()}"]
        for i in range(1000):
            p.touch(addr + i * 4096)
        lines.append(f"after reading every page: {rss()} ({p.mm.min_flt} minor faults)")
        for i in range(1000):
            p.touch(addr + i * 4096, write=True)
        lines.append(f"after writing every page: {rss()} ({p.mm.min_flt} minor faults)")
        return lines

    return Choice(
        "why_zero_page",
        seed,
        "A process mmaps 1000 pages of private anonymous memory and reads each page once. Predict: how much "
        "does its RssAnon grow? (Pick, then press Run it.)",
        [
            (
                "Not at all: each read maps the kernel's shared zero page read-only; a frame comes only with "
                "the first write",
                "do_anonymous_page() answers a read fault on never-written anonymous memory with the zero page "
                "(a minor fault, no frame, RSS unchanged); the first write then faults again and gets a zeroed "
                "frame of its own. Lesson 01 shows the host doing the same.",
            ),
            (
                "By 4000 kB: every touched page gets a zeroed frame",
                "That is what the first *write* does. A read of memory nobody wrote can only return zeros, so "
                "the kernel maps its one shared zero page instead of spending a frame.",
            ),
            (
                "By 4000 kB, already at mmap time: mmap reserves the frames",
                "mmap only creates a VMA; frames come page by page on the first access that needs one (demand paging).",
            ),
            (
                "It depends on what the page cache holds",
                "Anonymous memory has no file behind it, so the page cache plays no part.",
            ),
        ],
        0,
        demo=demo,
    )


def why_large_request_fails(seed):
    """A large request fails although most memory is free (lesson 02)."""

    def demo():
        from ..errors import OutOfMemory
        from ..page_alloc import Zone
        from ..workloads import fill_and_reclaim

        zone = Zone("Normal", 16384)
        fill_and_reclaim(zone, 20000, seed=42)
        lines = [
            f"after fill_and_reclaim(seed=42): {zone.nr_free_pages} of {zone.managed_pages} pages free "
            f"({zone.nr_free_pages / zone.managed_pages:.0%}); free blocks by order {zone.nr_free_by_order()}"
        ]
        try:
            zone.alloc_pages(9)
        except OutOfMemory as err:
            lines.append(f"alloc_pages(9): OutOfMemory: {err}")
        return lines

    return Choice(
        "why_large_request_fails",
        seed,
        "A zone has about two thirds of its pages free, yet an order-9 request (512 contiguous pages, 2 MiB) "
        "fails. Why? (Pick, then press Run it to see such a zone.)",
        [
            (
                "The free pages are scattered: no free, naturally aligned block of 512 pages is left",
                "Buddy blocks are aligned to their size, and one allocated page anywhere in a 2 MiB range keeps "
                "it from being a free order-9 block. A few long-lived pages spread over memory are enough: "
                "external fragmentation.",
            ),
            (
                "The watermarks hold the free pages back",
                "The watermarks keep back a small reserve (min_free_kbytes, a few MiB to tens of MiB), not two "
                "thirds of a zone; and a watermark failure is about the count of free pages, which is ample here.",
            ),
            (
                "Order 9 is above MAX_PAGE_ORDER",
                "MAX_PAGE_ORDER is 10 on x86-64: orders 0 to 10 (up to 4 MiB) are legal; only order 11 and up "
                "fail at once.",
            ),
            (
                "Large blocks can only come from ZONE_DMA",
                "Every zone has free lists for orders 0 to 10; the GFP flags choose the zones, not the size.",
            ),
        ],
        0,
        demo=demo,
    )


def why_kmalloc_rounds(seed):
    """kmalloc(100) gets a 128-byte object (lesson 03)."""

    def demo():
        machine = Machine(ram="32MiB", cpus=2)
        a, b = machine.kmalloc(100), machine.kmalloc(100)
        cache = machine.slub.kmalloc_cache_for(100)
        return [
            f"kmalloc(100) -> {a:#x}, kmalloc(100) -> {b:#x}: {b - a} bytes apart, from {cache.name}",
            f"ksize() -> {machine.ksize(a)}; the cache's objects are {cache.size} bytes, {cache.objperslab} per "
            f"{cache.pagesperslab}-page slab, with no header between them",
        ]

    return Choice(
        "why_kmalloc_rounds",
        seed,
        "Why does kmalloc(100) hand out an object whose ksize() is 128? (Pick, then press Run it.)",
        [
            (
                "kmalloc serves small requests from caches of fixed sizes, and 128 is the smallest that holds 100",
                "The kmalloc caches hold objects of 8, 16, 32, 64, 96, 128, 192, 256 ... 8192 bytes. Fixed sizes "
                "make allocation a freelist pop with no searching or splitting; the 28 unused bytes are the "
                "price (internal fragmentation).",
            ),
            (
                "SLUB puts a 28-byte header in front of every object",
                "SLUB keeps no per-object header: two kmalloc(100) objects lie exactly 128 bytes apart. Its free "
                "pointer lives inside free objects (after them with a constructor or debugging).",
            ),
            (
                "The 28 extra bytes hold the freelist pointer while the object is in use",
                "An object in use holds only the caller's data; SLUB writes its free pointer into an object only "
                "once it is freed.",
            ),
            (
                "The buddy allocator rounds every request up to a power of two",
                "The buddy allocator deals in whole pages (4 KiB and up); kmalloc up to 8 KiB never asks it for "
                "a single object, only for whole slabs.",
            ),
        ],
        0,
        demo=demo,
    )


def why_mempool_backing_first(seed):
    """mempool_alloc asks the allocator first, without reclaim (lesson 04)."""
    return Choice(
        "why_mempool_backing_first",
        seed,
        "mempool_alloc(pool, GFP_NOIO) first calls the normal allocator with __GFP_DIRECT_RECLAIM and __GFP_IO "
        "masked out, and only then takes an element from the reserve. Why this order?",
        [
            (
                "To save the reserve for when memory is really short, without ever blocking in reclaim while "
                "reserve elements are left",
                "The reserve exists so that the I/O which frees memory can always make progress. While the "
                "allocator can serve without reclaim, the reserve stays full; when it cannot, the reserve is "
                "used at once instead of waiting for reclaim.",
            ),
            (
                "Because taking an element from the reserve is slow",
                "Taking from the reserve is a pointer pop under a spinlock, cheaper than the allocator. Speed is "
                "not the reason.",
            ),
            (
                "Because reserve elements are not zeroed",
                "True, they are not (which is why mempool_alloc refuses __GFP_ZERO), but that is not why the "
                "allocator is asked first.",
            ),
            (
                "So that the first attempt may sleep in direct reclaim",
                "The opposite: the first attempt masks out __GFP_DIRECT_RECLAIM and __GFP_IO precisely so it "
                "does not block in reclaim while the reserve could serve.",
            ),
        ],
        0,
    )


def why_bounce(seed):
    """A 32-bit device gets a DMA address below 4 GiB (lesson 05)."""

    def demo():
        from ..dma import DMA_BIT_MASK, DMA_FROM_DEVICE
        from ..layout import virt_to_phys

        machine = Machine(ram="6GiB", cpus=2)
        dev = machine.create_device("old-pci-card", DMA_BIT_MASK(32))
        buf = machine.kmalloc(3000)
        handle = machine.dma_map_single(dev, buf, 3000, DMA_FROM_DEVICE)
        return [
            f"kmalloc(3000) -> {buf:#x}, physical {virt_to_phys(buf):#x} (above 4 GiB)",
            f"dma_map_single(old-pci-card, mask 32 bits) -> DMA address {handle:#x}: a swiotlb slot; "
            f"{machine.dma.swiotlb.slots_used} slots in use",
        ]

    return Choice(
        "why_bounce",
        seed,
        "On a 6 GiB machine without an IOMMU, a PCI card with a 32-bit DMA mask maps a kmalloc buffer at physical "
        "0x100008000 and gets a DMA address below 4 GiB. Why? (Pick, then press Run it.)",
        [
            (
                "The card cannot reach above 4 GiB, so swiotlb lends it a bounce slot below 4 GiB and copies the "
                "data between the slot and the buffer",
                "dma_map_single() sees the buffer is beyond the mask and maps a slot of the swiotlb pool instead; "
                "it copies the buffer in at map time and back at unmap or sync for DMA_FROM_DEVICE.",
            ),
            (
                "An IOMMU remapped the buffer",
                "An IOMMU could give the card any address it likes, but this machine has none: without one, a "
                "DMA address is the physical address or a bounce slot.",
            ),
            (
                "kmalloc moved the buffer below 4 GiB",
                "Nothing moves the buffer: the CPU keeps using its address, and only the device sees the slot.",
            ),
            (
                "The DMA address is the virtual address cut to 32 bits",
                "DMA addresses are bus addresses, not virtual ones; without an IOMMU they equal physical "
                "addresses (or swiotlb slots).",
            ),
        ],
        0,
        demo=demo,
    )


WHY = {
    "why_zero_page": why_zero_page,
    "why_large_request_fails": why_large_request_fails,
    "why_kmalloc_rounds": why_kmalloc_rounds,
    "why_mempool_backing_first": why_mempool_backing_first,
    "why_bounce": why_bounce,
}
