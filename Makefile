# Two commands take a fresh clone to a working course; each sets itself up.
#   make grade        grade the example submissions (autograder/examples/submitted)
#   make test         run the project's tests
# and two more:
#   make assignment   generate release/ from source/ and check both with nbgrader validate
#   make benchmark    time the autograder against nbgrader autograde on 100 notebooks
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_VERSION := 2.13.0
# nbgrader runs its helpers (alembic) by name, so the venv must come first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup grade assignment test benchmark

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@# The sandbox for student code; as root on Debian/Ubuntu install it, elsewhere say how.
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get update -qq && apt-get install -y -qq bubblewrap; }; } || \
	  echo "warning: bubblewrap (bwrap) is missing: student code will run with process isolation only"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# Pinned and first: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==$(TORCH_VERSION)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

grade: setup
	$(BIN)/python -m autograder grade autograder/examples/submitted --json report.json --csv report.csv --timeout 5

assignment: setup
	nbgrader generate_assignment rnn_forward --force
	nbgrader validate source/rnn_forward/rnn_forward.ipynb
	nbgrader validate --invert release/rnn_forward/rnn_forward.ipynb

# pytest exits 5 when it collects nothing: that is a broken suite, not a pass.
test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; \
	exit $$rc

# python -m autograder grade against nbgrader autograde on the same 100 notebooks.
benchmark: setup
	$(BIN)/python -m tests.benchmark -n 100
