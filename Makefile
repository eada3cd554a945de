# ilforge: `make demo` and `make test` are the two commands of the README's quick start.
# Both create .venv when missing and install what they need (torch's CPU build first, so that
# packages depending on torch do not pull a CUDA build).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ilforge-installed
DEMO_DIR ?= demo-work
DEMO_SEED ?=

.PHONY: setup system-packages test test-slow test-backends demo clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

setup: $(STAMP) system-packages

# Debian packages: cp2k (cp2k_shell.psmp, basis sets and potentials in /usr/share/cp2k) for the
# cp2k labeler, chromium for the report's browser test. Idempotent: nothing happens when the
# programs are on PATH; a machine without apt-get (or without root) gets a message instead of a
# failure, and the tests that need them skip with that reason.
system-packages:
	@missing=""; \
	command -v cp2k_shell.psmp >/dev/null 2>&1 || missing="$$missing cp2k"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -z "$$missing" ]; then \
		echo "system packages present: cp2k, chromium"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	else \
		echo "not installed:$$missing (Debian/Ubuntu: sudo apt-get install$$missing); tests that need them will skip"; \
	fi

test: setup
	$(PY) -m pytest -m "not slow and not backends" -q

test-slow: setup
	$(PY) -m pytest -m slow -q

# Backends in their own environments (docs/backends.md): creates the deepmd, nequip (NequIP and
# Allegro), sevenn and apax environments once (~8 GB under ~/.cache/ilforge/envs, or $$ILFORGE_ENVS_DIR)
# and runs the tests marked `backends`, none skipped (ILFORGE_TEST_BACKENDS_REQUIRED). CI runs it after
# `make test` (.ci/run): ~32 min from nothing on 2 cores.
test-backends: $(STAMP)
	$(VENV)/bin/ilforge env create deepmd
	$(VENV)/bin/ilforge env create nequip
	$(VENV)/bin/ilforge env create sevenn
	$(VENV)/bin/ilforge env create apax
	ILFORGE_TEST_BACKENDS_REQUIRED=1 $(PY) -m pytest -m backends -q

# The embedded example end to end (plan, build, sample, label, train, validate, md, analyze,
# report) on a laptop CPU; rerunning it resumes, skipping finished stages. Other seeds:
# make demo DEMO_SEED=2 DEMO_DIR=demo-2
demo: $(STAMP)
	$(VENV)/bin/ilforge run examples/emim_bf4.yaml --workdir $(DEMO_DIR) $(if $(DEMO_SEED),--seed $(DEMO_SEED))

clean:
	rm -rf $(DEMO_DIR) .pytest_cache
