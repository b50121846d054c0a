# memlab: `make lab` opens the course, `make test` runs every test.
# Both create .venv and install memlab with its dependencies first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.memlab-installed

.PHONY: setup lab test test-fast lint format bench bench-compare notebooks fuzz release autograde-demo clean

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py memlab/page_alloc/_cbuddy.c
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

# (--allow-root only when run as root, e.g. in a container)
lab: setup
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root,) notebooks/00_start_here.ipynb

# Unit, property, widget and browser tests, then every notebook under nbval;
# then the tests and notebooks again on the pure-Python buddy core (the path
# of a machine without a C compiler; the stored outputs must not change).
test: setup
	$(PY) -m pytest -q --nbval --nbval-current-env tests notebooks
	MEMLAB_PURE_PYTHON=1 $(PY) -m pytest -q -m "not browser" --nbval --nbval-current-env tests notebooks

# The same without the browser and notebook runs (quick local loop).
test-fast: setup
	$(PY) -m pytest -q -m "not browser" tests

# The house rules: ruff (lint and format), the layer contracts, mypy.
lint: setup
	$(VENV)/bin/ruff check memlab tests benchmarks tools coursework
	$(VENV)/bin/ruff format --check memlab tests benchmarks tools coursework
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff check --fix memlab tests benchmarks tools
	$(VENV)/bin/ruff format memlab tests benchmarks tools

# Ratios to a yardstick measured in the same run, pinned to one CPU; results
# in benchmarks/results/. bench-compare sets the newest two result files side by side.
bench: setup
	$(PY) benchmarks/run.py --notebooks

bench-compare: setup
	$(PY) benchmarks/run.py --compare

# 1,000,000 seeded operations per area, valid and invalid mixed (tools/fuzz.py).
fuzz: setup
	$(PY) tools/fuzz.py --ops 1000000

# Coursework (coursework/TEACHING.md): the nbgrader release notebooks of every
# assignment, and the reference solutions autograded as student "demo".
release: setup
	$(PY) coursework/course.py release

autograde-demo: release
	$(PY) coursework/course.py autograde-demo

# Re-execute every notebook in place so the stored outputs are current.
notebooks: setup
	$(PY) tools/run_notebooks.py notebooks/*.ipynb

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
