# ilforge: `make demo` and `make test` are the two commands of the README's quick start.
# Both create .venv when missing and install what they need (torch's CPU build first, so that
# packages depending on torch do not pull a CUDA build).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ilforge-installed
DEMO_DIR ?= demo-work

.PHONY: setup cp2k test test-slow demo clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

setup: $(STAMP) cp2k

# Debian's CP2K (cp2k_shell.psmp, basis sets and potentials in /usr/share/cp2k) for the cp2k
# labeler. Idempotent: nothing happens when cp2k_shell.psmp is already on PATH; a machine without
# apt-get (or without root) gets a message instead of a failure.
cp2k:
	@if command -v cp2k_shell.psmp >/dev/null 2>&1; then \
		echo "cp2k: $$(command -v cp2k_shell.psmp) present"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y cp2k; \
	else \
		echo "cp2k: cp2k_shell.psmp not found; install CP2K (Debian/Ubuntu: sudo apt-get install cp2k) for the cp2k labeler"; \
	fi

test: setup
	$(PY) -m pytest -m "not slow" -q

test-slow: setup
	$(PY) -m pytest -m slow -q

demo: setup
	$(VENV)/bin/ilforge plan examples/emim_bf4.yaml
	$(VENV)/bin/ilforge build examples/emim_bf4.yaml --workdir $(DEMO_DIR)

clean:
	rm -rf $(DEMO_DIR) .pytest_cache
