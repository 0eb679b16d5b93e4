# redact_gw developer entry points. `make run` and `make test` are the two quickstart
# commands: each sets up .venv on first use (Python 3.11+) and then does its job.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test test-db lint bench live-bench throughput shell clean-state eval eval-data

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: start the demo AI model and the gateway on embedded defaults (dev keys on first run);
## ports: REDACT_GW_PORT (gateway, 8080) and REDACT_GW_DEMO_PORT (demo model, 8099)
run: $(STAMP)
	$(BIN)/python -m redact_gw.demo --config config/redact-gw.yaml

## test: PostgreSQL test database, lint, Dockerfile check, then the whole test suite
## (PostgreSQL: REDACT_GW_TEST_PG_DSN, default postgresql://postgres@127.0.0.1:5432/test;
## the database is created when missing)
test: $(STAMP) test-db lint
	$(BIN)/pytest -q

test-db: $(STAMP)
	@$(BIN)/python -m tests.pg

lint: $(STAMP)
	$(BIN)/ruff check redact_gw tests bench
	$(BIN)/mypy redact_gw
	$(BIN)/hadolint Dockerfile

## bench: the gateway's added latency; arguments pass through: make bench ARGS=--real
bench: $(STAMP)
	$(BIN)/python bench/proxy_latency.py $(ARGS)

## live-bench: live calls under load (N = 10, 50, 200 concurrent calls; a few minutes);
## arguments pass through: make live-bench ARGS="-n 50 --repeat 1 --workers 2"
live-bench: $(STAMP)
	$(BIN)/python bench/live_latency.py $(ARGS)

## throughput: short utterances and call-length texts end to end vs vanilla Presidio and raw
## spaCy NER (a few minutes; utterances from `make eval-data`, a loud fallback without it)
throughput: $(STAMP)
	-$(MAKE) --no-print-directory eval-data
	$(BIN)/python -m bench.detection_throughput $(ARGS)

## shell: a shell with .venv activated (redact-gw on PATH); exit to leave
shell: $(STAMP)
	@echo "redact-gw is on PATH in this shell; 'exit' leaves it"
	@. $(BIN)/activate && exec $${SHELL:-/bin/sh} -i

EVAL_STAMP := $(VENV)/.eval-stamp
$(EVAL_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,eval]'
	touch $(EVAL_STAMP)

## eval-data: presidio-evaluator's labeled dataset from its sdist on PyPI (once, via pip)
eval-data: $(EVAL_STAMP)
	$(BIN)/python -m bench.eval_data

## eval: detection quality on external data, gateway vs vanilla Presidio (ARGS="--split test")
eval: eval-data
	$(BIN)/python -m bench.eval_external $(ARGS)

## clean-state: remove the dev vault, keys and API keys under var/
clean-state:
	rm -rf var/
