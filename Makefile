# Two commands take a fresh clone to a working course; each sets itself up.
#   make grade        grade each assignment's example submissions (solutions/<name>/examples/submitted)
#   make test         run the project's tests (make test-fast: the quick ones, in under a minute)
# and more:
#   make lint         ruff and mypy, as CI runs them
#   make assignment   copy the reference into source/, generate release/, check both with nbgrader validate
#   make benchmark    time the autograder against nbgrader autograde on 100 notebooks
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_VERSION := 2.13.0
# Every assignment of the course: solutions/<name>/assignment.py.
ASSIGNMENTS := $(patsubst solutions/%/assignment.py,%,$(wildcard solutions/*/assignment.py))
# nbgrader runs its helpers (alembic) by name, so the venv must come first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup grade assignment test test-fast test-layer lint benchmark gpu-check

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@# The sandbox for student code, and a headless browser for the class report's tests:
	@# as root on Debian/Ubuntu install what is missing, elsewhere say what.
	@missing=""; command -v bwrap >/dev/null || missing="bubblewrap"; \
	  command -v chromedriver >/dev/null || missing="$$missing chromium chromium-driver"; \
	  [ -z "$$missing" ] || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    { apt-get update -qq && apt-get install -y -qq $$missing; }; } || \
	  echo "warning: missing $$missing (without bubblewrap, student code runs with process isolation only;" \
	    "without chromium, the class report's browser test is skipped)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# Pinned and first: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==$(TORCH_VERSION)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# One assignment writes report.json, report.csv and report/; several, report-<name>.* each.
grade: setup
	@set -e; for a in $(ASSIGNMENTS); do \
	  out=report; [ "$(words $(ASSIGNMENTS))" = 1 ] || out=report-$$a; \
	  $(BIN)/python -m autograder grade solutions/$$a/examples/submitted --assignment solutions/$$a \
	    --json $$out.json --csv $$out.csv --html $$out --call-timeout 5; \
	done

assignment: setup
	@set -e; for a in $(ASSIGNMENTS); do \
	  $(BIN)/python -m autograder.tools.sync --assignment solutions/$$a; \
	  nbgrader generate_assignment $$a --force; \
	  nbgrader validate source/$$a/$$a.ipynb; \
	  nbgrader validate --invert release/$$a/$$a.ipynb; \
	done

# pytest exits 5 when it collects nothing: that is a broken suite, not a pass.
test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; \
	exit $$rc

test-fast: PYTEST_ARGS += -m "not slow"
test-fast: test

# One layer alone: make test-layer LAYER=engine (or sandbox, assignment).
test-layer: PYTEST_ARGS += -m "$(LAYER)"
test-layer: test

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

# python -m autograder grade against nbgrader autograde on the same 100 notebooks.
benchmark: setup
	@set -e; for a in $(ASSIGNMENTS); do $(BIN)/python -m autograder.tools.benchmark -n 100 --assignment solutions/$$a; done

# On a machine with CUDA, in under 5 minutes: the examples graded with --device cuda in the sandbox (and their
# scores against --device cpu), then the CUDA tests; one summary. Without CUDA it says so and passes.
gpu-check: setup
	$(BIN)/python -m autograder.tools.gpu_check
