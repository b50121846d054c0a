"""Build the nbgrader source notebooks, one per assignment of
``memlab.exercises.ASSIGNMENTS``: ``python coursework/make_assignments.py``
(``make release`` runs it first). Each notebook asks for the student's id
(their variant's seed), then the assignment's exercises (autograded: a
visible test of the answer's form, hidden tests of its value) and one
question to answer in words (graded by hand). The cells carry nbgrader's
metadata (schema 3); the reference solutions and the model answers sit
between ``### BEGIN SOLUTION`` and ``### END SOLUTION``."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from memlab.exercises import ASSIGNMENTS  # noqa: E402

#: Model answers of the questions in words (graded by hand: what a full answer says).
MODEL_ANSWERS = {
    "a01_address_space": (
        "A read fault on anonymous memory that was never written maps the shared zero page, read-only: every such "
        "page of the process points at the same frame of zeros, so no frame is allocated and RSS counts none of them "
        "(the zero page is counted nowhere). The first write to such a page faults again (a write to a read-only "
        "entry): the kernel allocates a frame, fills it with zeros and maps it writable (copy-on-write from the zero "
        "page); only then does RSS grow by a page."
    ),
    "a02_buddy": "The free pages can be split into small pieces: a 2 MiB block needs 512 contiguous, aligned pages, "
    "and one page in use in each 512-page block prevents every merge (external fragmentation). Before it compacts, "
    "the kernel checks compaction_suitable(): enough free pages above the watermark plus compact_gap(order) = "
    "2 << order must exist (else memory is short, reclaim first); then, for costly orders, the fragmentation index "
    "must be above vm.extfrag_threshold (500), meaning the failure is due to fragmentation, not to a lack of memory.",
    "a02b_fragmentation": "The Unmovable free lists are empty, so __rmqueue_claim() takes the largest free block of "
    "another type (Movable) and, since it is at least a pageblock, claims its whole pageblock(s) for Unmovable; the "
    "rest of the block goes to the Unmovable free lists. Later unmovable allocations are served from there, so "
    "they stay together in a few pageblocks instead of being scattered; the Movable pageblocks keep only movable "
    "pages, which reclaim or compaction can empty, so they can become free 2 MiB blocks again.",
    "a03_slab": "kmalloc rounds the request up to the next size class (kmalloc-128): the 28 bytes are internal "
    "fragmentation, allocated but unused (ksize() reports 128). It costs memory for every such object (22 % here), "
    "and more for sizes just above a class. A dedicated kmem_cache_create() cache sizes its objects exactly "
    "(rounded to the alignment), can have a constructor and its own debugging and statistics, and is the better "
    "choice for many objects of one fixed size.",
    "a04_pools": "A mempool is a reserve for forward progress, not a faster allocator: the elements are kept for the "
    "moment the normal allocator fails. Asking the backing allocator first (without __GFP_DIRECT_RECLAIM or I/O, "
    "so it cannot block in reclaim) leaves the reserve full while memory is available; only when that fails does "
    "mempool_alloc take a reserved element, and if the reserve is empty it waits for one to be freed.",
    "a05_dma": "The device cannot address the buffer, so swiotlb bounces: at dma_map_single() it takes a slot in "
    "its bounce pool below 4 GiB, copies the buffer into it (for every direction) and gives the device the slot's "
    "address; at dma_unmap_single() (for DMA_FROM_DEVICE or bidirectional) it copies the slot back into the "
    "original buffer and frees the slot. The cost is two memory copies per transfer and slots of a limited pool "
    "(2 KiB slots, 256 KiB at most per mapping).",
    "a06_usage": "A request that large is served by mmap(): glibc maps anonymous memory and the kernel only creates "
    "a VMA; no frame is allocated until a page is touched. RSS counts only pages that faulted in, so it hardly "
    "moves. The memory is taken page by page when the program first writes each page (a write fault allocates and "
    "zeroes a frame); with overcommit the mmap itself succeeds even beyond the RAM.",
    "a07_pitfalls": "A use after free is caught only if the freed bytes are still poisoned when the program touches "
    "them. If the block were handed out again at once, the stale pointer would point into a new, valid allocation "
    "and AddressSanitizer would see an ordinary access: the bug would go unnoticed (and corrupt the new object). "
    "The quarantine keeps freed chunks poisoned and out of reuse for a while (up to a size limit), so such accesses "
    "are reported as heap-use-after-free.",
    "a08_monitoring": "Linux keeps file data in the page cache and leaves little memory free: free memory is wasted "
    "memory, so MemFree is low on a healthy machine that has read files. Clean cache and reclaimable slab can be "
    "dropped whenever a program needs memory. The script should watch MemAvailable, the kernel's estimate of "
    "what can be allocated without swapping (free minus reserves plus the reclaimable cache and slab).",
}


def _meta(grade_id, *, grade=False, solution=False, locked=True, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def build(assignment):
    a = assignment
    cells = [
        new_markdown_cell(
            f"# {a.title}\n\nCoursework for lesson `{a.lesson}`. **Total: {a.total_points} points.**\n\n"
            '1. Write your student id in the next cell (`STUDENT_ID = "..."`): it chooses your own variant of '
            "every question, and the grader rebuilds the same variant from it.\n"
            "2. Each question prints its problem. Work it out (with pencil and paper, or by driving `memlab` as the "
            "lesson does) and set `answer_N` to a whole number. The test cell under it checks the answer's form; "
            "hidden tests check its value when your work is graded.\n"
            "3. The last question asks for a few sentences in your own words; it is graded by hand.\n\n"
            "Run every cell from the top before you submit (**Kernel > Restart Kernel and Run All Cells**).",
            metadata=_meta("instructions"),
        ),
        new_code_cell(
            '### BEGIN SOLUTION\nSTUDENT_ID = "demo"\n### END SOLUTION',
            metadata=_meta("student-id", solution=True, locked=False),
        ),
        new_code_cell(
            "import memlab\nfrom memlab.exercises import question, student_seed\n\n"
            f'SEED = student_seed(STUDENT_ID, "{a.name}")\nprint(f"Your variant: seed {{SEED}}")',
            metadata=_meta("setup"),
        ),
    ]
    for i, kind in enumerate(a.kinds, 1):
        cells += [
            new_markdown_cell(f"## Question {i} ({a.points} points)", metadata=_meta(f"q{i}-title")),
            new_code_cell(f'print(question("{kind}", SEED))', metadata=_meta(f"q{i}-text")),
            new_code_cell(
                f'### BEGIN SOLUTION\nanswer_{i}, worked = memlab.exercises.worked_answer("{kind}", SEED)\n'
                "print(worked)\n### END SOLUTION",
                metadata=_meta(f"q{i}-answer", solution=True, locked=False),
            ),
            new_code_cell(
                f"# the answer's form (the value is checked when graded)\n"
                f"assert isinstance(answer_{i}, int) and not isinstance(answer_{i}, bool), "
                f'"answer_{i} must be a whole number (an int)"\n'
                f"### BEGIN HIDDEN TESTS\n"
                f'assert memlab.exercises.is_correct("{kind}", SEED, answer_{i}), "answer_{i} is not right"\n'
                f"### END HIDDEN TESTS",
                metadata=_meta(f"q{i}-test", grade=True, points=a.points),
            ),
        ]
    n = len(a.kinds) + 1
    cells += [
        new_markdown_cell(
            f"## Question {n} ({a.explain_points} points, graded by hand)\n\n{a.explain}", metadata=_meta(f"q{n}-title")
        ),
        new_markdown_cell(
            f"### BEGIN SOLUTION\n{MODEL_ANSWERS[a.name]}\n### END SOLUTION",
            metadata=_meta(f"q{n}-explain", grade=True, solution=True, locked=False, points=a.explain_points),
        ),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def main():
    for name, assignment in ASSIGNMENTS.items():
        folder = HERE / "source" / name
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(build(assignment), folder / f"{name}.ipynb")
    print(f"{len(ASSIGNMENTS)} assignments in {HERE / 'source'}")


if __name__ == "__main__":
    main()
