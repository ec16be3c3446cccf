# The two commands of the README. Each sets up what it needs first (Debian packages, virtualenv).
PYTEST_ARGS ?=
BENCH_ARGS ?= --patients 1000,10000

.PHONY: run test lint bench setup-run setup-test

run: setup-run
	.venv/bin/python -m gallery.launch

test: setup-test
	.venv/bin/python -m pytest $(PYTEST_ARGS)

# Benchmarks (README, "Benchmarks"): builds the synthetic archives once under bench/data/.
bench: setup-test
	.venv/bin/python -m bench.run $(BENCH_ARGS)
	.venv/bin/python -m bench.upload
	.venv/bin/python -m bench.viewer
	.venv/bin/python -m bench.calls

lint: setup-test
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

setup-run:
	scripts/setup.sh run

setup-test:
	scripts/setup.sh test
