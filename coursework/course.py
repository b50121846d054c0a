"""The teacher's commands, scripted: release every assignment, autograde a
submission, read the gradebook. ``make release`` and ``make autograde-demo``
call this file; ``coursework/TEACHING.md`` shows the nbgrader commands
behind each step.

``python coursework/course.py release`` builds the source notebooks
(make_assignments.py) and runs ``nbgrader generate_assignment`` for each
into ``coursework/release/``; ``python coursework/course.py autograde-demo``
submits each reference solution as student "demo", autogrades it and
prints the scores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _env():
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")  # nbgrader calls alembic
    return env


def nbgrader(course, *args):
    """Run ``nbgrader args...`` in ``course`` (a course directory with this
    nbgrader_config.py); raise with its output if it fails."""
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=_env(), capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def release(course=HERE):
    """Build the source notebooks and generate every release notebook."""
    from make_assignments import main as build  # (this folder is on sys.path when run as a script)

    from memlab.exercises import ASSIGNMENTS

    if Path(course) == HERE:
        build()
    for name in ASSIGNMENTS:
        nbgrader(course, "generate_assignment", name, "--force")
    return [Path(course) / "release" / name / f"{name}.ipynb" for name in ASSIGNMENTS]


def submit(course, student, assignment, notebook):
    """Put ``notebook`` where nbgrader collects ``student``'s submission."""
    folder = Path(course) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(notebook, folder / f"{assignment}.ipynb")


def autograde(course, assignment, student=None):
    """``nbgrader autograde`` (all submitted students, or one)."""
    args = ["autograde", assignment, "--create", "--force"]
    return nbgrader(course, *(args + (["--student", student] if student else [])))


def scores(course, assignment):
    """``{student: {grade_id: (score, max_score)}}`` from the gradebook
    (``None`` where a cell waits for manual grading)."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions(assignment):
            grades = {}
            for nb in sub.notebooks:
                for g in nb.grades:
                    score = g.manual_score if g.manual_score is not None else g.auto_score
                    grades[g.name] = (score, g.max_score)
            out[sub.student_id] = grades
    return out


def autograde_demo(course=HERE):
    """Submit each reference solution as "demo", autograde it, print the scores."""
    from memlab.exercises import ASSIGNMENTS

    for name in ASSIGNMENTS:
        submit(course, "demo", name, Path(course) / "source" / name / f"{name}.ipynb")
        autograde(course, name, "demo")
        grades = scores(course, name)["demo"]
        auto = sum(s for s, _ in grades.values() if s is not None)
        top = sum(m for _, m in grades.values())
        manual = [k for k, (s, _) in grades.items() if s is None]
        print(f"{name:20} demo: {auto:g} of {top:g} points autograded; waiting for a teacher: {', '.join(manual)}")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "release":
        for path in release():
            print(path.relative_to(HERE.parent))
    elif command == "autograde-demo":
        autograde_demo()
    else:
        sys.exit("usage: python coursework/course.py release | autograde-demo")
