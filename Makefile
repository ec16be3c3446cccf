# The commands of the README. Each sets up what it needs first (Debian packages, virtualenv).
PYTEST_ARGS ?=
BENCH_ARGS ?= --patients 1000,10000
LOAD_ARGS ?=
INDEX_SIM_ARGS ?=
INDEX_ORTHANC_ARGS ?=

.PHONY: run test test-unit test-orthanc-1.12 lint bench bench-index load messages setup-run setup-test setup-bench

run: setup-run
	.venv/bin/python -m scripts.launch

test: setup-test
	.venv/bin/python -m pytest $(PYTEST_ARGS)

# The unit tests alone (tests/unit): no Orthanc, browser, PostgreSQL or Redis needed; seconds.
test-unit:
	.venv/bin/python -m pytest tests/unit $(PYTEST_ARGS)

# The whole suite against Debian 13's Orthanc 1.12.7, run from a Debian 13 chroot on any Debian machine
# (docs/operations.md, "Orthanc versions"; needs root). Not part of .ci/run, which tests the machine's own Orthanc.
test-orthanc-1.12: setup-test
	ORTHANC_BINARY="$$(scripts/orthanc-debian13.sh)" .venv/bin/python -m pytest $(PYTEST_ARGS)

# Benchmarks (docs/benchmarks.md): builds the synthetic archives once under bench/data/.
bench: setup-bench
	.venv/bin/python -m bench.run $(BENCH_ARGS)
	.venv/bin/python -m bench.upload
	.venv/bin/python -m bench.viewer
	.venv/bin/python -m bench.calls

# The archive index at scale (docs/benchmarks.md, "Archive index"): a simulated million-study index on
# SQLite and PostgreSQL (kept under bench/data/), then a real Orthanc on PostgreSQL.
bench-index: setup-bench
	.venv/bin/python -m bench.index_sim $(INDEX_SIM_ARGS)
	.venv/bin/python -m bench.index_orthanc $(INDEX_ORTHANC_ARGS)

# Load test (docs/operations.md, "Load"): 50 users browsing for 60 s with wrk; exits 1 on any error.
# `make load LOAD_ARGS=--short` is a 10-second check on a smaller archive.
load: setup-bench
	.venv/bin/python -m bench.load $(LOAD_ARGS)

lint: setup-test
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

# Interface languages (docs/languages.md): re-extract the English messages, merge them into each
# catalogue (new or changed ones arrive untranslated or fuzzy: tests/unit/test_i18n.py fails until they are
# translated), and compile the .mo files the app reads.
BABEL = .venv/bin/pybabel
messages: setup-run
	$(BABEL) extract -F gallery/translations/babel.cfg -k _l -k _ln:1,2 --no-location --sort-output \
		--project "Orthanc Gallery" -o gallery/translations/messages.pot .
	$(BABEL) update -i gallery/translations/messages.pot -d gallery/translations --ignore-obsolete
	$(BABEL) compile -d gallery/translations --statistics

setup-run:
	scripts/setup.sh run

setup-test:
	scripts/setup.sh test

setup-bench:
	scripts/setup.sh bench
