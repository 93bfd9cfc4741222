# Every target prepares what it needs: a fresh Debian/Ubuntu machine only needs `make test`.
PY := .venv/bin/python
RUN_DB := $(PY) -m tests.support.mariadb_server run --
# uv (make lock, the tests' side environments) uses the machine's interpreters, never its own.
export UV_PYTHON_DOWNLOADS := never

.PHONY: test test-fast test-latest lock lint docs demo django-suite bench bench-instructions bench-gevent bench-pins clean venv

## System packages, uv, and .venv with uv.lock's exact versions (scripts/bootstrap.sh).
venv:
	@scripts/bootstrap.sh

## Refresh uv.lock: the newest release of everything pyproject.toml allows, for every Python and
## every dependency group; then .venv follows it. Run `make test-latest` first
## (docs/dev/development.md). LOCK_ARGS="--upgrade-package sentry-sdk" moves one package only.
lock:
	$$(scripts/bootstrap.sh --uv) lock $(or $(LOCK_ARGS),--upgrade)
	@scripts/bootstrap.sh

## The whole suite (as make test) in .venv-latest, on the newest releases instead of the lock's,
## then a report: what differs from uv.lock, and whether it passed. uv.lock is left as it is.
test-latest: venv
	@scripts/test_latest.sh

## The whole suite: Django's own tests (the --quick list, this ENGINE against stock; fails on
## any regression), then ours (unit, integration, faults), each against a throwaway MariaDB.
## PYTEST_ARGS=... runs only our tests (for quick iterations).
test: venv
ifeq ($(PYTEST_ARGS),)
	$(RUN_DB) $(PY) -m tests.django_suite --quick \
		$(if $(DJANGO_POOLED_MYSQL_TEST_URL),,--load-timezones)
endif
	$(RUN_DB) $(PY) -m pytest $(PYTEST_ARGS)

## Unit tests only (no database).
test-fast: venv
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

## Per-statement cost against the stock backend (prints a table; not a test).
bench: venv
	MARIADB_CPUS=1 $(RUN_DB) taskset -c 0 $(PY) benchmarks/overhead.py $(BENCH_ARGS)

## Client CPU instructions per operation against the stock backend, counted by valgrind's
## callgrind: repeatable where `make bench`'s clock is not (prints a table; not a test).
bench-instructions: venv
	$(RUN_DB) $(PY) benchmarks/instructions.py $(BENCH_ARGS)

## Django's own test suite with this ENGINE and with the stock backend; fails on any regression.
## DJANGO_SUITE_ARGS=--quick runs the short list (docs/django-suite.md). Time zone tables are
## loaded only into the throwaway server (not into one named by DJANGO_POOLED_MYSQL_TEST_URL).
django-suite: venv
	$(RUN_DB) $(PY) -m tests.django_suite \
		$(if $(DJANGO_POOLED_MYSQL_TEST_URL),,--load-timezones) $(DJANGO_SUITE_ARGS)

## mysqlclient blocking vs cooperative vs PyMySQL under gevent (prints a table; not a test).
bench-gevent: venv
	$(RUN_DB) $(PY) benchmarks/gevent_compare.py $(BENCH_ARGS)

## Idioms that hold a statement lease for a whole request (connection_created SET, per-request
## SET, warnings) against plain requests, 200 gevent greenlets (prints a table; not a test;
## docs/benchmarks.md). BENCH_ARGS="--seconds 15 --rounds 3" for a longer run.
bench-pins: venv
	$(RUN_DB) $(PY) benchmarks/session_pins.py $(BENCH_ARGS)

## ruff (lint and format) and mypy on the package and the tools around it ([tool.mypy] files).
lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

## The documentation site, docs/ -> docs/_build/html (docs/dev/docs-tooling.md). A fresh build
## every time (-E -a) with warnings as errors (-W, all of them: --keep-going) and every internal
## reference checked (-n): a link to a missing page or heading fails it.
docs: venv
	$(PY) -m sphinx -E -a -W --keep-going -n -q -b html docs docs/_build/html
	@echo "Site built: docs/_build/html/index.html"

## Gunicorn gevent workers: stock CONN_MAX_AGE=0/60 against this ENGINE on a throwaway MariaDB
## with max_connections=60 (docs/benchmarks.md). Other scenarios: DEMO_ARGS="--help".
demo: venv
	$(PY) testproject/demo/run.py $(DEMO_ARGS)

clean:
	rm -rf .venv .venv-latest .pytest_cache .mypy_cache .ruff_cache build *.egg-info docs/_build
