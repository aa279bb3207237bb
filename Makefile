# Two entry points on a fresh machine: `make run` (the app on the embedded model) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
CHROMIUM ?= /usr/bin/chromium
export GRADIO_ANALYTICS_ENABLED = False
export HF_HUB_DISABLE_TELEMETRY = 1

.PHONY: run test lint format bench train train-chunk train-heads chromium clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.run-deps: requirements.txt pyproject.toml | $(PY)
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-deps -e .
	touch $@

$(VENV)/.dev-deps: requirements-dev.txt $(VENV)/.run-deps
	$(PIP) install -q -r requirements-dev.txt
	touch $@

run: $(VENV)/.run-deps  ## the app on the embedded default model, on http://127.0.0.1:7860
	$(PY) app.py

chromium:  ## Debian's Chromium for the browser tests (root, as on CI)
	@command -v $(CHROMIUM) >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: $(VENV)/.dev-deps chromium  ## lint + the whole test suite
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: $(VENV)/.dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev-deps
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(VENV)/.dev-deps  ## speed against transformers -> benchmarks/RESULTS.md
	$(PY) -m benchmarks.run_all

train: $(VENV)/.dev-deps  ## retrain every model in assets/ from ../shared: the base model alone is about 4 h on 2 idle AMD EPYC cores, 8 h beside other jobs (resumable)
	$(PY) -m xlm.train all

MINUTES ?= 90
THREADS ?= 1
train-chunk: $(VENV)/.dev-deps  ## one time-boxed chunk of the base model's run (MINUTES=90 THREADS=1; resumes from ~/.cache/xlm-explorer/train/mix or assets/)
	$(PY) -m xlm.train --threads $(THREADS) chunk --minutes $(MINUTES)

JOBS ?= 1
train-heads: $(VENV)/.dev-deps  ## fine-tune QA, language id, POS tagger and causal LM from the shipped base, then export them (about 1 h at 1 thread beside a chunk; JOBS=2 runs two at a time: 41 min on 2 idle AMD EPYC cores)
	$(PY) -m xlm.train heads --jobs $(JOBS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
