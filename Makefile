# Plan assistant: `make help` lists the targets.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help setup ingest run test test-fast eval lint clean screenshots

help: ## show this help
	@grep -E '^[a-z-]+:.*## ' Makefile | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install the project (PyPI only, no model downloads)

ingest: setup ## parse corpus/ and build index/
	$(BIN)/assistant ingest

run: ingest ## set up, build the index and start the server + widget demo on http://127.0.0.1:8000/demo (PORT=8080, HOST=0.0.0.0)
	$(BIN)/assistant serve --host $(HOST) --port $(PORT)

test: setup ## set up everything (chromium for browser tests, postgres + redis for the replica test) and run the whole test suite
	bash scripts/ensure_chromium.sh
	bash scripts/ensure_services.sh
	$(BIN)/python -m pytest

screenshots: setup ## refresh docs/screenshots/widget-*.png from the browser tests (tests never write docs/ otherwise)
	bash scripts/ensure_chromium.sh
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q -m browser tests/browser

test-fast: setup ## unit tests only
	$(BIN)/python -m pytest -m unit

eval: ingest ## run the eval suites (ours vs baseline) and write evals/reports/
	$(BIN)/assistant eval

lint: setup ## ruff + mypy
	$(BIN)/ruff check assistant tests
	$(BIN)/mypy -p assistant

clean: ## remove built index and caches (keeps .venv)
	rm -rf index/CURRENT index/PREVIOUS index/gens index/chroma index/cache index/baseline .pytest_cache
