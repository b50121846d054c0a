"""Packaging rules: Binder installs memlab, environment.yml lists every
runtime dependency of pyproject.toml (a dependency goes into both), every
third-party package the code imports is declared, and the version is said
in one place."""

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[1]


def names(specs):
    return {re.split(r"[<>=!~ \[]", s.strip(), maxsplit=1)[0].lower() for s in specs if isinstance(s, str)}


def test_environment_lists_runtime_dependencies_and_pins_python():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "conda-forge" in env["channels"]
    assert "python=3.12" in deps and "pip" in deps
    assert names(project["dependencies"]) <= names(deps)
    assert "nbval" in names(deps)


def test_postbuild_installs_memlab_and_no_binder_folder():
    text = (ROOT / "postBuild").read_text()
    assert text.startswith("#!/bin/bash") and "set -e" in text
    assert "pip install" in text and "-e ." in text
    assert (ROOT / "postBuild").stat().st_mode & 0o111
    assert not (ROOT / "binder").exists()


def test_ci_runs_make_test_with_browser_required():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "MEMLAB_REQUIRE_BROWSER=1" in ci and "chromium" in ci


# import name -> distribution name, where they differ
_DISTRIBUTIONS = {"PIL": "pillow", "yaml": "pyyaml"}


def test_every_imported_package_is_a_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = names(project["dependencies"])
    imported = set()
    for path in (ROOT / "memlab").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m not in sys.stdlib_module_names and m != "memlab"}
    assert {_DISTRIBUTIONS.get(m, m).lower() for m in third_party} <= declared, third_party


def test_one_version_string():
    import memlab

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    hits = [p for p in (ROOT / "memlab").rglob("*.py") if re.search(r"^__version__ = ", p.read_text(), re.M)]
    assert [p.name for p in hits] == ["version.py"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", memlab.__version__)


def test_environment_pins_what_the_package_pins():
    """Binder (environment.yml) and pip (pyproject) get the same version ranges,
    e.g. matplotlib below 3.11, whose glyph-by-glyph text costs every dashboard click."""

    def ranges(specs):
        out = {}
        for s in specs:
            if isinstance(s, str):
                name = re.split(r"[<>=!~ \[]", s.strip(), maxsplit=1)[0].lower()
                out[name] = s.strip()[len(name) :].replace(" ", "")
        return out

    project = ranges(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    env = ranges(yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"])
    assert project["matplotlib"].endswith("<3.11")
    assert {name: env.get(name) for name in project} == project
