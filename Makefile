# The commands of the README. Each sets up what it needs first (Debian packages, virtualenv).
PYTEST_ARGS ?=
BENCH_ARGS ?= --patients 1000,10000
LOAD_ARGS ?=

.PHONY: run test lint bench load setup-run setup-test setup-bench

run: setup-run
	.venv/bin/python -m gallery.launch

test: setup-test
	.venv/bin/python -m pytest $(PYTEST_ARGS)

# Benchmarks (README, "Benchmarks"): builds the synthetic archives once under bench/data/.
bench: setup-bench
	.venv/bin/python -m bench.run $(BENCH_ARGS)
	.venv/bin/python -m bench.upload
	.venv/bin/python -m bench.viewer
	.venv/bin/python -m bench.calls

# Load test (README, "Reliability"): 50 users browsing for 60 s with wrk; exits 1 on any error.
# `make load LOAD_ARGS=--short` is a 10-second check on a smaller archive.
load: setup-bench
	.venv/bin/python -m bench.load $(LOAD_ARGS)

lint: setup-test
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

setup-run:
	scripts/setup.sh run

setup-test:
	scripts/setup.sh test

setup-bench:
	scripts/setup.sh bench
