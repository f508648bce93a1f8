# Two commands do all the set-up on a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The CPU build of torch goes in first, so nothing below can pull a multi-GB CUDA build.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/robust attack --bench medqa --attack bias --out runs/demo-medqa-bias

# Two worker processes (pytest-xdist), one per core of a 2-core machine; each test file stays on one
# worker (--dist loadfile), so module fixtures run once. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile

# The one table first (benchmarks/bench_scale.py, written to benchmarks/RESULTS.md), then every other
# benchmark script that has a --quick mode. imagecorruptions without its dependencies: they would
# pull the non-headless opencv-python.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps "imagecorruptions==1.1.2"
	$(BIN)/python benchmarks/bench_scale.py --quick
	for script in benchmarks/*.py; do \
		case $$script in benchmarks/bench_scale.py) continue;; esac; \
		grep -q -- '--quick' $$script || continue; \
		$(BIN)/python $$script --quick || exit 1; \
	done

clean:
	rm -rf $(VENV) runs .pytest_cache
