"""Graded coursework: one nbgrader assignment per lesson, built on the exercises.

Each assignment (:data:`ASSIGNMENTS`) asks two or three of the lesson's
seeded exercises, autograded, and one question to answer in words, graded
by hand. Every student gets their own variant: the seed comes from the
student's id and the assignment's name (:func:`student_seed`), so the
autograder, running the notebook again, builds the same problems. The
notebooks themselves are made by ``coursework/make_assignments.py``.
"""

from __future__ import annotations

import hashlib

from ..errors import BadSize
from .core import BadAnswer

__all__ = ["ASSIGNMENTS", "Assignment", "student_seed", "question", "is_correct", "worked_answer"]


class Assignment:
    """One assignment: ``name`` (the nbgrader assignment id), the lesson's
    notebook, the exercise kinds it grades (``points`` each) and the
    question answered in words (``explain``, ``explain_points``)."""

    def __init__(self, name, lesson, title, kinds, explain, points=2, explain_points=2):
        self.name = name
        self.lesson = lesson
        self.title = title
        self.kinds = tuple(kinds)
        self.explain = explain
        self.points = points
        self.explain_points = explain_points

    @property
    def total_points(self):
        return self.points * len(self.kinds) + self.explain_points

    def __repr__(self):
        return f"Assignment({self.name!r}: {', '.join(self.kinds)}; {self.total_points} points)"


ASSIGNMENTS = {
    a.name: a
    for a in (
        Assignment("a01_address_space", "01_address_space", "Address spaces, page tables and the TLB",
                   ["pgtable_index", "copy_from_user_left", "tlb_misses"],
                   "A process reads 1 GiB of memory it has mapped but never written. Its RSS hardly grows. Explain "
                   "why, naming the page the kernel maps and what the first write then does."),
        Assignment("a02_buddy", "02_buddy_allocator", "The buddy allocator and fragmentation",
                   ["buddy_of", "next_pfn", "fragmentation_index"],
                   "A zone is 60 % free, yet an order-9 request fails. Explain how this can happen, and how the "
                   "kernel tells a lack of memory from fragmentation before it compacts."),
        Assignment("a02b_fragmentation", "02b_fighting_fragmentation", "How Linux fights fragmentation",
                   ["pcp_batch", "oom_victim"],
                   "Explain what grouping pages by mobility does with the first GFP_KERNEL allocation in a zone "
                   "whose pageblocks are all Movable, and why that keeps 2 MiB blocks possible."),
        Assignment("a03_slab", "03_slab_allocator", "The slab allocator",
                   ["objs_per_slab", "kmalloc_class"],
                   "kmalloc(100) returns a 128-byte object. Explain where the other 28 bytes go and what this "
                   "costs, and when a dedicated cache (kmem_cache_create) is the better choice."),
        Assignment("a04_pools", "04_memory_pools", "Memory pools",
                   ["mempool_curr_nr"],
                   "Explain why mempool_alloc() first asks the backing allocator without direct reclaim, and only "
                   "then takes an element from the reserve."),
        Assignment("a05_dma", "05_dma", "DMA",
                   ["dma_count_register"],
                   "A device with a 32-bit DMA mask is handed a buffer above 4 GiB. Explain what swiotlb does at "
                   "dma_map_single() and at dma_unmap_single(), and what it costs."),
        Assignment("a06_usage", "06_usage_scenarios", "Memory in use: glibc's malloc",
                   ["malloc_chunk_size", "tcache_reuse", "mmap_threshold_after_free"],
                   "malloc(1 GiB) succeeds on a machine with 512 MiB of RAM and the process's RSS hardly moves. "
                   "Explain why, and when the memory is really taken."),
        Assignment("a07_pitfalls", "07_pitfalls", "C/C++ memory pitfalls",
                   ["find_the_bug", "lost_update"],
                   "Explain why AddressSanitizer keeps freed blocks in a quarantine instead of handing them out "
                   "again at once, and what it would miss without it."),
        Assignment("a08_monitoring", "08_monitoring", "Monitoring memory",
                   ["free_used", "drop_caches_freed"],
                   "A monitoring script alarms when MemFree falls below 10 % of MemTotal. Explain why it alarms on "
                   "healthy machines and which figure it should watch instead."),
    )
}  # fmt: skip


def student_seed(student_id, assignment):
    """The seed of ``student_id``'s variant of ``assignment``: the first
    31 bits of SHA-256 of ``"assignment:student_id"``, the same on every
    machine and in every run (the autograder's included)."""
    if not isinstance(student_id, str) or not student_id.strip():
        raise BadSize(
            f"student_seed: student id {student_id!r} must be a non-empty string: write your id in the "
            f'first answer cell, STUDENT_ID = "..."'
        )
    if assignment not in ASSIGNMENTS:
        raise BadSize(f"student_seed: no assignment {assignment!r}; the assignments are {', '.join(ASSIGNMENTS)}")
    digest = hashlib.sha256(f"{assignment}:{student_id.strip()}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1


def question(kind, seed):
    """The text of exercise ``kind`` for ``seed`` (what the student answers)."""
    from .registry import make

    return make(kind, seed).question


def is_correct(kind, seed, answer):
    """True if ``answer`` is the answer to exercise ``kind`` with ``seed``
    (an answer that is not a whole number is simply wrong)."""
    from .registry import make

    try:
        return bool(make(kind, seed).check(answer).correct)
    except BadAnswer:
        return False


def worked_answer(kind, seed):
    """``(answer, explanation)`` of exercise ``kind`` for ``seed``: what the
    reference solutions use (the self-check widget shows the same after a
    first try; a graded assignment leans on the written answer for that)."""
    from .registry import make

    text = make(kind, seed).solution()
    return int(text.split("\n", 1)[0].split()[1]), text
