# Two commands take a fresh clone to a working course; each sets itself up.
#   make grade        grade the example submissions (solutions/rnn_forward/examples/submitted)
#   make test         run the project's tests (make test-fast: the quick ones, in under a minute)
# and more:
#   make lint         ruff, as CI runs it
#   make assignment   copy the reference into source/, generate release/, check both with nbgrader validate
#   make benchmark    time the autograder against nbgrader autograde on 100 notebooks
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_VERSION := 2.13.0
ASSIGNMENT := rnn_forward
# nbgrader runs its helpers (alembic) by name, so the venv must come first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup grade assignment test test-fast lint benchmark

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

grade: setup
	$(BIN)/python -m autograder grade solutions/$(ASSIGNMENT)/examples/submitted --json report.json --csv report.csv \
	  --html report --call-timeout 5

assignment: setup
	$(BIN)/python -m autograder.tools.sync
	nbgrader generate_assignment $(ASSIGNMENT) --force
	nbgrader validate source/$(ASSIGNMENT)/$(ASSIGNMENT).ipynb
	nbgrader validate --invert release/$(ASSIGNMENT)/$(ASSIGNMENT).ipynb

# pytest exits 5 when it collects nothing: that is a broken suite, not a pass.
test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; \
	exit $$rc

test-fast: PYTEST_ARGS += -m "not slow"
test-fast: test

lint: setup
	$(BIN)/ruff check .

# python -m autograder grade against nbgrader autograde on the same 100 notebooks.
benchmark: setup
	$(BIN)/python -m autograder.tools.benchmark -n 100
