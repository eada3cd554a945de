# ilforge: `make demo` and `make test` are the two commands of the README's quick start.
# Both create .venv when missing and install what they need (torch's CPU build first, so that
# packages depending on torch do not pull a CUDA build).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ilforge-installed
DEMO_DIR ?= demo-work

.PHONY: setup test test-slow demo clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

setup: $(STAMP)

test: setup
	$(PY) -m pytest -m "not slow" -q

test-slow: setup
	$(PY) -m pytest -m slow -q

demo: setup
	$(VENV)/bin/ilforge plan examples/emim_bf4.yaml
	$(VENV)/bin/ilforge build examples/emim_bf4.yaml --workdir $(DEMO_DIR)

clean:
	rm -rf $(DEMO_DIR) .pytest_cache
