"""Packaging rules: Binder installs memlab, and environment.yml lists every
runtime dependency of pyproject.toml (a dependency goes into both)."""

import re
from pathlib import Path

import pytest
import yaml

tomllib = pytest.importorskip("tomllib")          # Python >= 3.11

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
