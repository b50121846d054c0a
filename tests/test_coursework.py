"""The nbgrader coursework (coursework/): every assignment is released
without its solutions and hidden tests; the reference solution gets every
autograded point, the untouched release none, and a half-right submission
the points of the questions it got right. Scores are read from nbgrader's
gradebook, in a copy of the course directory."""

import json
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "coursework"))

pytest.importorskip("nbgrader")

import course  # noqa: E402

from memlab.exercises import ASSIGNMENTS, student_seed, worked_answer  # noqa: E402


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A course directory with every assignment generated."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "coursework" / "nbgrader_config.py", root)
    import make_assignments

    for name, assignment in ASSIGNMENTS.items():
        folder = root / "source" / name
        folder.mkdir(parents=True)
        import nbformat

        nbformat.write(make_assignments.build(assignment), folder / f"{name}.ipynb")
    course.release(root)
    return root


def _cells(path):
    return json.loads(Path(path).read_text())["cells"]


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def test_the_sources_in_the_repository_are_what_make_assignments_builds():
    import make_assignments
    import nbformat

    for name, assignment in ASSIGNMENTS.items():
        stored = nbformat.read(REPO / "coursework" / "source" / name / f"{name}.ipynb", as_version=4)
        assert [c.source for c in stored.cells] == [c.source for c in make_assignments.build(assignment).cells], name


def test_release_notebooks_hold_no_solution_and_no_hidden_test(released):
    for name, assignment in ASSIGNMENTS.items():
        text = (released / "release" / name / f"{name}.ipynb").read_text()
        for secret in ("BEGIN SOLUTION", "HIDDEN TESTS", "is_correct(", "worked_answer(", '"demo"'):
            assert secret not in text, f"{name}: {secret!r} in the release"
        cells = _cells(released / "release" / name / f"{name}.ipynb")
        assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code")
        graded = [c for c in cells if c["metadata"].get("nbgrader", {}).get("grade")]
        assert sum(c["metadata"]["nbgrader"]["points"] for c in graded) == assignment.total_points
        words = [c for c in graded if c["cell_type"] == "markdown"]
        assert len(words) == 1 and "YOUR ANSWER HERE" in "".join(words[0]["source"])  # the question in words
        assert not any("widget" in "".join(c["source"]) for c in graded)


def _autograded(released, name, student, notebook):
    course.submit(released, student, name, notebook)
    course.autograde(released, name, student)
    return course.scores(released, name)[student]


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_reference_solution_gets_every_autograded_point_and_the_blank_release_none(released, name):
    full = _autograded(released, name, "demo", released / "source" / name / f"{name}.ipynb")
    auto = {k: v for k, v in full.items() if not k.endswith("explain")}
    assert auto and all(score == top for score, top in auto.values()), full
    assert [v[0] for k, v in full.items() if k.endswith("explain")] == [None]  # waits for the teacher
    blank = _autograded(released, name, "blank", released / "release" / name / f"{name}.ipynb")
    assert all(score == 0 for score, _ in blank.values()), blank


def _answered(released, name, student, answers):
    """The release notebook with ``student``'s id and ``answers`` (question
    number -> value) filled in, as a student would."""
    cells = json.loads((released / "release" / name / f"{name}.ipynb").read_text())
    for cell in cells["cells"]:
        gid = _grade_id(cell)
        if gid == "student-id":
            cell["source"] = f'STUDENT_ID = "{student}"'
        elif gid and gid.endswith("-answer"):
            n = int(gid[1:].split("-")[0])
            cell["source"] = f"answer_{n} = {answers.get(n, 0)}"
    path = released / f"{student}-{name}.ipynb"
    path.write_text(json.dumps(cells))
    return path


@pytest.mark.parametrize("name", ["a02_buddy", "a06_usage"])
def test_a_half_right_submission_gets_the_points_of_the_questions_it_got_right(released, name):
    assignment = ASSIGNMENTS[name]
    seed = student_seed("alice", name)
    right = {i: worked_answer(kind, seed)[0] for i, kind in enumerate(assignment.kinds, 1)}
    answers = {1: right[1], 2: right[2] + 1, 3: right[3]}  # the second one wrong
    grades = _autograded(released, name, "alice", _answered(released, name, "alice", answers))
    assert grades["q1-test"] == (2.0, 2.0) and grades["q2-test"] == (0.0, 2.0) and grades["q3-test"] == (2.0, 2.0)
    bob = _autograded(released, name, "bob", _answered(released, name, "bob", right))  # alice's answers, bob's id
    assert sum(score for k, (score, _) in bob.items() if k != "q4-explain") < 6  # bob's variant differs


def test_student_seed_is_stable_and_says_what_is_missing():
    from memlab import MemlabError

    alice = student_seed("alice", "a02_buddy")
    assert alice == student_seed(" alice ", "a02_buddy") != student_seed("bob", "a02_buddy")
    assert student_seed("alice", "a02_buddy") == 1721436351  # SHA-256: the same on every machine, in every run
    with pytest.raises(MemlabError, match="STUDENT_ID"):
        student_seed("", "a02_buddy")
    with pytest.raises(MemlabError, match="a02_buddy"):
        student_seed("alice", "nope")
