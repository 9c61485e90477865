# The two commands a new user runs: `make demo` and `make test`. Everything else is a building block.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo demo-batch test test-unit lint typecheck schemas rules bench clean

setup:
	@scripts/bootstrap

demo: setup
	$(PY) -m sidecar.demo

demo-batch: setup
	$(PY) -m sidecar.demo batch

# The whole suite, with a real local Kafka broker started for it and stopped afterwards.
# pytest exits 5 when it collected nothing; that is a failure here, never a silent pass.
# Lint and type checks first (seconds), so pytest's summary is the last thing printed.
test: setup
	$(VENV)/bin/ruff check sidecar tests benchmarks
	$(VENV)/bin/mypy sidecar
	scripts/kafka-local run-with --state-dir .kafka-test -- $(VENV)/bin/pytest $(PYTEST_ARGS)

test-unit: setup
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check sidecar tests benchmarks scripts

typecheck: setup
	$(VENV)/bin/mypy sidecar

schemas: setup
	$(PY) -m sidecar.schemas schemas

# Alert rules: deploy/prometheus/rules.source.yaml rendered to the plain rules file and the PrometheusRule.
rules: setup
	$(PY) deploy/prometheus/render.py

bench: setup
	$(PY) benchmarks/batch_validate.py --rows 100000

clean:
	rm -rf demo-out .kafka-test .kafka-local .pytest_cache
