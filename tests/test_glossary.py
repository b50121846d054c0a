"""The glossary (notebooks/glossary.ipynb, made by tools/make_glossary.py) is
up to date: every term has its entry and is linked where a lesson first
uses it, and every kernel function the lessons name has its Elixir link."""

import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

import make_glossary  # noqa: E402


def _text(name):
    nb = json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def test_the_glossary_notebook_is_what_the_tool_writes():
    assert _text("glossary") == make_glossary.glossary_cells()


def test_every_kernel_function_the_lessons_name_has_an_elixir_link():
    names = set()
    for lesson in make_glossary.ORDER:
        for text in _text(lesson):
            names |= set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)\(", text))
            names |= set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", text)) & make_glossary.BARE_KERNEL
    names -= make_glossary.NOT_KERNEL
    glossary = "\n".join(_text("glossary"))
    assert names and all(f"{make_glossary.ELIXIR}{n})" in glossary for n in names), sorted(
        n for n in names if f"{make_glossary.ELIXIR}{n})" not in glossary
    )
    assert {"__rmqueue_claim", "copy_from_user", "mempool_alloc", "__rmqueue_smallest", "dma_map_single"} <= names


def test_each_term_is_linked_where_the_course_first_uses_it_and_the_links_resolve():
    assert make_glossary.link_first_uses(write=False) == []  # nothing left to link: the lessons are up to date
    glossary = "\n".join(_text("glossary"))
    linked = set()
    for lesson in make_glossary.ORDER:
        for text in _text(lesson):
            linked |= set(re.findall(r"\(glossary\.ipynb#([a-z-]+)\)", text))
    anchors = {t[0] for t in make_glossary.TERMS}
    assert linked <= anchors and len(linked) >= 25
    assert all(f'<a id="{a}"></a>' in glossary for a in anchors)
    for lesson in re.findall(r"\]\((\w+)\.ipynb\)", glossary):
        assert (REPO / "notebooks" / f"{lesson}.ipynb").exists(), lesson
