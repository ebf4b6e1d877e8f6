# The two commands of the quick start: `make demo` and `make test`; `make conformance` runs
# optax's own test suite against the zoo (docs/conformance.md); `make fixtures` regenerates the
# committed parity fixtures (tests/reference/fixtures/, writers in tools/fixtures/).
# Each creates .venv when it is missing and installs what it needs into it.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
PYTEST_ARGS ?= -n 2 --dist loadgroup  # both cores (pytest-xdist); conftest.py's ONE_WORKER modules stay on one worker
BENCH_ARGS ?=

.PHONY: test test-distributed lint doctest docs conformance fixtures demo bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Marker files record which extras are installed; they are redone when pyproject changes.
$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PIP) install -q -e '.[test,parity]'
	touch $@

$(VENV)/.installed-docs: pyproject.toml | $(PY)
	$(PIP) install -q -e '.[docs]'
	touch $@

$(VENV)/.installed-demo: pyproject.toml | $(PY)
	$(PIP) install -q -e '.[demo]'
	touch $@

test: $(VENV)/.installed-test
	$(PY) -m pytest $(PYTEST_ARGS)

# `make test` also lints (ruff, configured in pyproject.toml) and runs the docstring examples
# with x64 off (tests/conftest.py, which turns x64 on, is not loaded for jaxopt_zoo/).
test: lint doctest

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .

doctest: $(VENV)/.installed-test
	$(PY) -m pytest $(PYTEST_ARGS) -p no:cacheprovider --doctest-modules jaxopt_zoo

# Two jax.distributed processes on localhost (4 CPU devices each, a mesh of 8) train soap and muon,
# checkpoint with orbax across both and resume, bit-identical to one process with the same mesh
# (tests/distributed, ~1 min on 2 cores; left out of `make test`; CI runs both).
test-distributed: $(VENV)/.installed-test
	$(PY) -m pytest -p no:cacheprovider tests/distributed

# The docs site in site/ (mkdocs-material + mkdocstrings), warnings as errors; no network needed.
docs: $(VENV)/.installed-docs
	$(VENV)/bin/mkdocs build --strict

# optax's own tests with the zoo's members in place of optax's same-named ones, every file
# (`make test` runs a fast subset); then the listed known differences alone: each must still fail.
conformance: $(VENV)/.installed-test
	CONFORMANCE=full $(PY) -m pytest $(PYTEST_ARGS) tests/conformance
	CONFORMANCE=known $(PY) -m pytest $(PYTEST_ARGS) tests/conformance

# The torch / pytorch_optimizer / schedulefree / transformers references on the fixed parity
# cases, written to tests/reference/fixtures/ for machines without them (docs/development.md).
fixtures: $(VENV)/.installed-test
	$(PY) -m tools.fixtures

# The optimizer paths on 2-D test functions, then the 11-optimizer shootout on digits (its table
# stays on screen); pictures, CSV and JSON in zoo-out/.
demo: $(VENV)/.installed-demo
	$(VENV)/bin/jaxopt-zoo demo --out zoo-out

# Side-by-side benchmarks (zoo vs optax vs the memory floor); BENCH_ARGS=--quick for a smoke run.
bench: $(VENV)/.installed-test
	$(PY) -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) zoo-out .pytest_cache site
