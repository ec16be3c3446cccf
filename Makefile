# The two commands of the README. Each sets up what it needs first (Debian packages, virtualenv).
PYTEST_ARGS ?=

.PHONY: run test lint bench setup-run setup-test

run: setup-run
	.venv/bin/python -m gallery.launch

test: setup-test
	.venv/bin/python -m pytest $(PYTEST_ARGS)

bench: setup-test
	.venv/bin/python -m bench.upload

lint: setup-test
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

setup-run:
	scripts/setup.sh run

setup-test:
	scripts/setup.sh test
