# redact_gw developer entry points. `make run` and `make test` are the two quickstart
# commands: each sets up .venv on first use (Python 3.11+) and then does its job.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint bench throughput clean-state

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: start the demo AI model and the gateway on embedded defaults (dev keys on first run)
run: $(STAMP)
	$(BIN)/python -m redact_gw.demo --config config/redact-gw.yaml

## test: lint, Dockerfile check, then the whole test suite
test: $(STAMP) lint
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check redact_gw tests bench
	$(BIN)/mypy redact_gw
	$(BIN)/hadolint Dockerfile

bench: $(STAMP)
	$(BIN)/python bench/proxy_latency.py

## throughput: detection end to end vs vanilla Presidio and raw spaCy NER (a few minutes)
throughput: $(STAMP)
	$(BIN)/python bench/detection_throughput.py

## clean-state: remove the dev vault, keys and API keys under var/
clean-state:
	rm -rf var/
