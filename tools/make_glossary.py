"""Write notebooks/glossary.ipynb and link each term from where the course
first uses it: ``python tools/make_glossary.py``.

The glossary has the terms below (:data:`TERMS`: a definition, the kernel
source, the lesson that teaches it) and a table of every kernel function
the lessons name as ``name()``, each linked to its cross-reference on
Elixir (Linux v6.12). Then, in the course's order, the first plain mention
of each term in a lesson's text becomes a link to its entry (not inside
code, a link or a heading); running the tool again changes nothing.
tests/test_glossary.py checks that both are up to date.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
ORDER = [
    "00_start_here",
    "01_address_space",
    "02_buddy_allocator",
    "02b_fighting_fragmentation",
    "03_slab_allocator",
    "04_memory_pools",
    "05_dma",
    "06_usage_scenarios",
    "07_pitfalls",
    "08_monitoring",
]
ELIXIR = "https://elixir.bootlin.com/linux/v6.12/A/ident/"

#: (anchor, term, words that mention it (regex, case-insensitive), definition, kernel source, lesson)
TERMS = [
    ("address-space", "address space", r"virtual address spaces?",
     "The addresses a process can use: on x86-64 the lower half (0 to 0x00007fffffffffff) is the process's own, "
     "the upper half the kernel's, the same in every process.", "arch/x86/include/asm/page_64_types.h",
     "01_address_space"),
    ("page", "page, page frame", r"page frames?",
     "4 KiB of memory: a *page* of virtual addresses is mapped onto a *page frame* of physical memory. The kernel "
     "describes every frame with a `struct page`.", "include/linux/mm_types.h (struct page)", "01_address_space"),
    ("pfn", "PFN", r"PFNs?",
     "Page frame number: a physical address divided by 4096. Frame 0 starts at address 0.",
     "include/linux/pfn.h", "02_buddy_allocator"),
    ("page-table", "page table, PTE", r"page tables?",
     "The tree the MMU walks to translate a virtual address: four levels on x86-64 (PGD, PUD, PMD, PTE), 9 bits of "
     "the address per level and 12 bits of offset. A page-table entry (PTE) holds the frame and the access bits.",
     "arch/x86/include/asm/pgtable_types.h", "01_address_space"),
    ("tlb", "TLB", r"TLBs?",
     "Translation lookaside buffer: the CPU's cache of recent translations. A change to a page table must flush "
     "the entries it made stale (`invlpg`, a full flush, shootdown IPIs to other CPUs).",
     "arch/x86/mm/tlb.c", "01_address_space"),
    ("vma", "VMA", r"VMAs?",
     "`struct vm_area_struct`: one contiguous range of a process's address space with the same permissions and "
     "backing (a file, or anonymous memory). `mmap` creates them, `/proc/<pid>/maps` lists them.",
     "include/linux/mm_types.h, mm/mmap.c", "01_address_space"),
    ("page-fault", "page fault", r"page faults?",
     "The MMU's trap when a translation is missing or forbids the access. The kernel then maps a page (demand "
     "paging), copies one (copy-on-write), grows the stack, or sends SIGSEGV.", "arch/x86/mm/fault.c, mm/memory.c",
     "01_address_space"),
    ("zero-page", "zero page", r"zero page",
     "One frame of zeros the kernel maps read-only wherever a process reads anonymous memory it never wrote; the "
     "first write replaces it with a page of its own.", "mm/memory.c do_anonymous_page()", "01_address_space"),
    ("direct-map", "direct map", r"direct map",
     "The kernel's mapping of all physical memory at a fixed offset (0xffff888000000000 on x86-64), so that "
     "`__va()` and `__pa()` are additions.", "Documentation/arch/x86/x86_64/mm.rst", "01_address_space"),
    ("vmalloc", "vmalloc", r"vmalloc",
     "Kernel memory that is contiguous in virtual addresses only: pages from anywhere, mapped side by side in the "
     "vmalloc area.", "mm/vmalloc.c", "01_address_space"),
    ("zone", "zone", r"zones?",
     "A range of physical memory with its own free lists and watermarks: DMA (below 16 MiB), DMA32 (below 4 GiB) "
     "and Normal on x86-64.", "include/linux/mmzone.h (struct zone)", "02_buddy_allocator"),
    ("order", "order", r"(?:orders? (?:\d+|k)|order-\d+)",
     "The size of a block of the buddy allocator as a power of two: a block of order k is 2^k pages, order 0 to "
     "10 (MAX_PAGE_ORDER).", "include/linux/mmzone.h", "02_buddy_allocator"),
    ("buddy-allocator", "buddy allocator", r"buddy allocator",
     "The kernel's page allocator: free memory in blocks of 2^order pages on one list per order "
     "(`free_area[order]`); a block is split to serve a smaller request and merged with its *buddy* when both are "
     "free.", "mm/page_alloc.c", "02_buddy_allocator"),
    ("fragmentation", "fragmentation", r"fragmentation",
     "*Internal*: memory handed out but unused, inside a block larger than asked for. *External*: enough memory "
     "is free, but not in one contiguous piece.", "mm/vmstat.c (the fragmentation indices)", "02_buddy_allocator"),
    ("watermark", "watermark", r"watermarks?",
     "The min, low and high levels of free pages of a zone: below low, kswapd wakes; below min, only callers with "
     "access to reserves may allocate.", "mm/page_alloc.c __setup_per_zone_wmarks()", "02_buddy_allocator"),
    ("gfp", "GFP flags", r"GFP flags",
     "\"Get free pages\" flags of an allocation: which zones it may use, whether it may sleep, reclaim or do I/O, "
     "and its mobility (GFP_KERNEL, GFP_ATOMIC, GFP_HIGHUSER_MOVABLE, ...).", "include/linux/gfp_types.h",
     "02_buddy_allocator"),
    ("migratetype", "migratetype, pageblock", r"migratetypes?",
     "Each 2 MiB pageblock has a migratetype (Unmovable, Movable, Reclaimable, ...) and the free lists are kept "
     "per type, so that pages that cannot move stay together.", "include/linux/mmzone.h, mm/page_alloc.c",
     "02b_fighting_fragmentation"),
    ("pcp", "per-CPU lists", r"per-CPU (?:page )?lists",
     "Each CPU's small stock of free pages per migratetype for orders 0-3 and 9 (`struct per_cpu_pages`), refilled "
     "and drained in batches.", "mm/page_alloc.c rmqueue_pcplist()", "02b_fighting_fragmentation"),
    ("compaction", "compaction", r"compaction",
     "Moving movable pages together so that free pages merge into large blocks: a migration scanner and a free "
     "scanner walk the zone from both ends.", "mm/compaction.c", "02b_fighting_fragmentation"),
    ("kswapd", "kswapd, reclaim", r"kswapd",
     "The kernel thread that frees memory (page cache, reclaimable slab) in the background when a zone falls below "
     "its low watermark; an allocation that finds nothing reclaims directly.", "mm/vmscan.c",
     "02b_fighting_fragmentation"),
    ("oom-killer", "OOM killer", r"OOM killer",
     "The last resort when memory runs out: it kills the process with the highest `oom_badness()` score.",
     "mm/oom_kill.c", "02b_fighting_fragmentation"),
    ("slab", "slab, SLUB", r"slab allocator",
     "The allocator of small kernel objects: pages from the buddy allocator cut into equal objects and kept in "
     "caches (`kmem_cache`). SLUB is the only one since Linux 6.8.", "mm/slub.c", "03_slab_allocator"),
    ("kmalloc", "kmalloc", r"kmalloc",
     "The kernel's general-purpose allocator: a request rounded up to a size class (8, 16, ... 8192 bytes) served "
     "by that class's slab cache; larger ones by the page allocator.", "mm/slab_common.c, include/linux/slab.h",
     "03_slab_allocator"),
    ("mempool", "mempool", r"mempools?",
     "A reserve of pre-allocated elements so that a critical path (block I/O under memory pressure) can always "
     "make progress.", "mm/mempool.c", "04_memory_pools"),
    ("dma", "DMA", r"DMA(?! zone)(?!32)",
     "Direct memory access: a device reads or writes memory without the CPU copying each byte.",
     "kernel/dma/, Documentation/core-api/dma-api.rst", "05_dma"),
    ("bounce-buffer", "bounce buffer, swiotlb", r"bounce buffers?",
     "When a device cannot reach a buffer (its DMA mask is too small), swiotlb copies the data through a buffer "
     "it can reach.", "kernel/dma/swiotlb.c", "05_dma"),
    ("page-cache", "page cache", r"page cache",
     "File data kept in memory after a read or write; clean pages can be dropped at any time, dirty ones after "
     "writeback.", "mm/filemap.c", "06_usage_scenarios"),
    ("rss", "RSS", r"RSS",
     "Resident set size: the pages of a process that are in memory now (`VmRSS` in /proc/<pid>/status).",
     "fs/proc/task_mmu.c", "06_usage_scenarios"),
    ("tcache", "tcache", r"tcache",
     "glibc's per-thread cache of recently freed small chunks (7 per size), reused first by malloc.",
     "glibc malloc/malloc.c", "06_usage_scenarios"),
    ("sanitizer", "sanitizer", r"sanitizers?",
     "A compiler mode that checks a program as it runs: AddressSanitizer (bad accesses, leaks), MemorySanitizer "
     "(uninitialised reads), ThreadSanitizer (data races).", "compiler-rt (LLVM), libsanitizer (GCC)",
     "07_pitfalls"),
    ("memavailable", "MemAvailable", r"MemAvailable",
     "/proc/meminfo's estimate of the memory new programs can get without swapping: free pages less the reserves, "
     "plus the page cache and reclaimable slab that could be dropped.", "mm/show_mem.c si_mem_available()",
     "08_monitoring"),
]  # fmt: skip

#: names called in the lessons' text that are not kernel functions (C library, memlab, parameters, C keywords)
NOT_KERNEL = {
    "abort", "alloc_fn", "free_fn", "gettimeofday", "kcompactd_tick", "mallinfo2", "malloc", "malloc_usable_size",
    "mallopt", "read", "request2size", "sizeof", "sync",
}  # fmt: skip


def _load(name):
    return json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())


def _save(name, nb):
    (NOTEBOOKS / f"{name}.ipynb").write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


#: kernel functions the lessons name without parentheses (a bare name could be anything: these are listed)
BARE_KERNEL = {
    "__free_one_page", "__rmqueue_smallest", "alloc_contig_range", "copy_to_user", "dma_alloc_coherent",
    "dma_map_single", "dma_mapping_error", "dma_pool_create", "dma_pool_zalloc", "dma_unmap_single",
    "kmem_cache_alloc", "kmem_cache_shrink", "mempool_destroy", "mempool_free", "mempool_resize", "seq_printf",
}  # fmt: skip


def kernel_functions():
    """Every function the lessons' text calls (written ```name()``` or
    ```name(arguments)```) or names bare from :data:`BARE_KERNEL`, with
    the lesson that names it first."""
    first = {}
    for name in ORDER:
        for cell in _load(name)["cells"]:
            if cell["cell_type"] == "markdown":
                text = "".join(cell["source"])
                for m in re.finditer(r"`([A-Za-z_][A-Za-z0-9_]*)\(", text):
                    if m.group(1) not in NOT_KERNEL:
                        first.setdefault(m.group(1), name)
                for m in re.finditer(r"`([A-Za-z_][A-Za-z0-9_]*)`", text):
                    if m.group(1) in BARE_KERNEL:
                        first.setdefault(m.group(1), name)
    return dict(sorted(first.items(), key=lambda kv: kv[0].lstrip("_")))


def glossary_cells():
    cells = [
        "# Glossary\n\nThe terms of the course, where each is taught, and the kernel source behind it (Linux 6.12). "
        "Each lesson links a term where it first uses it. After the terms: every kernel function the lessons "
        "name, linked to its cross-reference on [Elixir](https://elixir.bootlin.com/linux/v6.12/source) "
        "(definitions and every use)."
    ]
    for anchor, term, _, text, source, lesson in TERMS:
        cells.append(
            f'<a id="{anchor}"></a>\n### {term}\n{text}\n\n*Kernel:* {source}. *Taught in* [{lesson}]({lesson}.ipynb).'
        )
    rows = "\n".join(
        f"| [`{fn}()`]({ELIXIR}{fn}) | [{lesson}]({lesson}.ipynb) |" for fn, lesson in kernel_functions().items()
    )
    cells.append("## Kernel functions named in the course\n\n| function | first named in |\n|---|---|\n" + rows)
    return cells


def write_glossary():
    nb = {
        "cells": [
            {"cell_type": "markdown", "id": f"glossary-{i}", "metadata": {}, "source": text.splitlines(True)}
            for i, text in enumerate(glossary_cells())
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    _save("glossary", nb)


def _plain_spans(text):
    """(start, end) of the parts of a markdown text where no link may go:
    code, links, HTML tags, headings, bare URLs."""
    blocked = []
    for pattern in (r"(?s)```.*?```", r"`[^`]*`", r"\[[^\]]*\]\([^)]*\)", r"<[^>]+>", r"(?m)^#.*$", r"https?://\S+"):
        blocked += [m.span() for m in re.finditer(pattern, text)]
    return blocked


def link_first_uses(write=True):
    """Link the first plain mention of each term (course order); returns
    the ``(term, lesson)`` pairs linked now (``write=False``: only say)."""
    linked = []
    lessons = ORDER[1:]  # (00_start_here's path table names everything: links go where the lessons use a term)
    books = {name: _load(name) for name in lessons}
    for anchor, _, words, *_ in TERMS:
        target = f"glossary.ipynb#{anchor}"
        done = False
        for name in lessons:
            for cell in books[name]["cells"]:
                if cell["cell_type"] != "markdown":
                    continue
                text = "".join(cell["source"])
                if target in text:
                    done = True
                    break
                blocked = _plain_spans(text)
                for m in re.finditer(rf"(?<![\w/-])({words})(?![\w-])", text, re.I):
                    if any(a <= m.start() < b for a, b in blocked):
                        continue
                    text = text[: m.start()] + f"[{m.group(1)}]({target})" + text[m.end() :]
                    cell["source"] = text.splitlines(True)
                    linked.append((anchor, name))
                    done = True
                    break
                if done:
                    break
            if done:
                break
    if write:
        for name, nb in books.items():
            _save(name, nb)
    return linked


def main():
    write_glossary()
    for anchor, name in link_first_uses():
        print(f"linked {anchor} in {name}")


if __name__ == "__main__":
    main()
