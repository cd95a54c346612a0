# MooVitamix data platform. Every target installs what it needs on a fresh machine:
# the project venv (.venv), then every Meltano plugin in its own venv (.meltano/).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
MELTANO := $(VENV)/bin/meltano
UV := $(VENV)/bin/uv
TAP_VENV := .meltano/extractors/tap-moovitamix/venv
ML_VENV := .meltano/utilities/recommender/venv
SODA_VENV := .meltano/utilities/soda/venv

# The warehouse every step reads and writes (WAREHOUSE_*) comes from the shell, else from
# `.env`, which `make install` writes for the project-local server and Meltano reads.
MOOVITAMIX_API_PORT ?= 8000
MLFLOW_UI_PORT ?= 5000
# Offline machine: telemetry would only make each call wait on an unreachable host.
export SODA_CORE_TELEMETRY_ENABLED := false
export MELTANO_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

# Tests and benchmarks start project-local servers of their own, with the passwords and
# salt of `.env` (written by `make install`), whatever the shell points WAREHOUSE_* at.
WITH_DOTENV := set -a && . ./.env && set +a &&
# `make test` gets its own Postgres instance, so it never touches the data of `make run`.
TEST_WAREHOUSE_PORT ?= 5434
TEST_SERVER := WAREHOUSE_PORT=$(TEST_WAREHOUSE_PORT) WAREHOUSE_DATA_DIR=$(CURDIR)/.pgdata-test
TEST_ENV := $(WITH_DOTENV) $(TEST_SERVER)
# The end-to-end runs retrain with the ALS_* settings, unsearched: the search itself (its
# choice, its budget, its child runs) is tested in ml/tests, and within the whole job by
# tests/test_daily_job.py; elsewhere it would only lengthen each run. Each run's Spark job
# lasts seconds on small data: the JVM's first-tier compiler only (and its serial
# collector) halves what it spends compiling (ml/recommender/settings.py). The ML suite,
# one Spark session for minutes, runs with the default JIT: the same time either way.
END_TO_END_ENV := SEARCH_MAX_FITS=0 SPARK_JAVA_OPTIONS='-XX:TieredStopAtLevel=1 -XX:+UseSerialGC'

MELTANO_FILES := meltano.yml $(wildcard */*.meltano.yml) \
	extract/tap-moovitamix/pyproject.toml extract/bookmark-guard/pyproject.toml ml/pyproject.toml \
	extract/target-postgres.lock transform/dbt-postgres.lock quality/soda.lock \
	extract/tap-moovitamix/requirements.lock extract/bookmark-guard/requirements.lock ml/requirements.lock
BOOKMARK_GUARD_VENV := .meltano/utilities/bookmark-guard/venv

.PHONY: help install lock run test test-faults lint start db-url mlflow-ui docs quality erase-user stop clean bench bench-api bench-el

# Each stage keeps its own targets beside its code; they add to these lists. A public
# target says what it does after `##` on its line: `make help` lists those.
BENCH_TARGETS := bench-api bench-el
TEST_PREREQS := .meltano/.test-installed
-include ml/ml.mk orchestrate/ops.mk
-include benchmarks/benchmarks.mk
-include containers/containers.mk

help: ## every public target, with what it does
	@awk -F ':[^#]*## ' '/^[a-z][a-z0-9-]*:[^=]*## / {printf "make %-17s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# Every venv installs its third-party packages from a lock file, each with its hashes
# (hash-checking mode: a package that differs from the one locked is refused).
$(VENV)/.installed: requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (install Python 3.11 or set PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements.lock
	touch $@

# Meltano's system database is the warehouse (meltano.yml), which need not run yet:
# installing plugins records nothing there, so a throwaway one serves.
# The plugins' pip_url install their locked dependencies; the project's own packages then
# go on top, editable, with --no-deps (a local directory has no hash to check).
.meltano/.installed: $(VENV)/.installed $(MELTANO_FILES) .env
	MELTANO_DATABASE_URI=sqlite:///$(CURDIR)/.meltano/install.db $(MELTANO) install
	$(UV) pip install --quiet --no-deps --python $(TAP_VENV)/bin/python -e extract/tap-moovitamix
	$(UV) pip install --quiet --no-deps --python $(BOOKMARK_GUARD_VENV)/bin/python -e extract/bookmark-guard
	$(UV) pip install --quiet --no-deps --python $(ML_VENV)/bin/python -e ml
	touch $@

# Added to, never overwritten: a key the code starts to need is appended.
.env: local/postgres.py | $(VENV)/.installed
	$(PY) -m local.postgres dotenv

# Test-only extras go into the plugins' own venvs, where their code runs.
.meltano/.test-installed: .meltano/.installed extract/tap-moovitamix/requirements-test.lock ml/requirements-test.lock
	$(UV) pip install --quiet --require-hashes --python $(TAP_VENV)/bin/python -r extract/tap-moovitamix/requirements-test.lock
	$(UV) pip install --quiet --require-hashes --python $(ML_VENV)/bin/python -r ml/requirements-test.lock
	touch $@

# The lock files, from their inputs (top-level pins): run after changing a pin, commit the result.
LOCK := $(UV) pip compile --quiet --generate-hashes --python-version 3.11
lock: $(VENV)/.installed ## regenerate the hash-locked requirements of every venv after changing a pin
	$(LOCK) requirements.txt -o requirements.lock
	$(LOCK) extract/target-postgres.in -o extract/target-postgres.lock
	$(LOCK) transform/dbt-postgres.in -o transform/dbt-postgres.lock
	$(LOCK) quality/soda.in -o quality/soda.lock
	$(LOCK) orchestrate/dags/requirements.txt -o orchestrate/dags/requirements.lock
	$(LOCK) extract/bookmark-guard/pyproject.toml -o extract/bookmark-guard/requirements.lock
	$(LOCK) extract/tap-moovitamix/pyproject.toml -o extract/tap-moovitamix/requirements.lock
	$(LOCK) extract/tap-moovitamix/pyproject.toml --extra test -c extract/tap-moovitamix/requirements.lock \
		-o extract/tap-moovitamix/requirements-test.lock
	$(LOCK) ml/pyproject.toml -o ml/requirements.lock
	$(LOCK) ml/pyproject.toml --extra test -c ml/requirements.lock -o ml/requirements-test.lock

install: .meltano/.installed ## every venv and Meltano plugin from the lock files, and the project's .env (run by the others when needed)

run: .meltano/.installed ## the whole daily job end to end (local Postgres, stand-in API, MLflow), then a summary
	$(PY) -m local.run

test: $(TEST_PREREQS) ## every test suite, on a Postgres instance of its own (port TEST_WAREHOUSE_PORT, 5434)
	@$(TEST_ENV) $(PY) -m local.postgres start
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(PY) -m pytest -q -ra api/tests || status=1; \
	$(PY) -m pytest -q -ra benchmarks || status=1; \
	$(PY) -m pytest -q -ra orchestrate/tests || status=1; \
	$(PY) -m pytest -q -ra local/tests || status=1; \
	(cd extract/tap-moovitamix && $(CURDIR)/$(TAP_VENV)/bin/python -m pytest -q -ra tap_moovitamix/tests) || status=1; \
	(cd extract/bookmark-guard && $(CURDIR)/$(PY) -m pytest -q -ra tests) || status=1; \
	$(TEST_ENV) SODA_BIN=$(CURDIR)/$(SODA_VENV)/bin/soda $(PY) -m pytest -q -ra quality/tests || status=1; \
	$(TEST_ENV) $(PY) -m pytest -q -ra transform/tests_integration || status=1; \
	$(TEST_ENV) $(ML_VENV)/bin/python -m pytest -q -ra ml/tests || status=1; \
	$(TEST_ENV) $(END_TO_END_ENV) $(PY) -m pytest -q -ra tests || status=1; \
	$(TEST_ENV) $(PY) -m local.postgres stop; \
	exit $$status

# The fault matrix alone (tests/faults/, also part of `make test`): each scenario
# named, with its measured outcome.
test-faults: $(TEST_PREREQS) ## the fault matrix alone (restarts, kills, signals, full disks, clocks), each scenario's outcome
	@$(TEST_ENV) $(PY) -m local.postgres start
	@status=0; $(TEST_ENV) $(END_TO_END_ENV) $(PY) -m pytest -v -raP tests/faults || status=1; \
	$(TEST_ENV) $(PY) -m local.postgres stop; exit $$status

# Benchmarks print their figures and a baseline measured in the same run; never timed tests.
bench: $(BENCH_TARGETS) ## every benchmark but bench-day, each against a baseline of the same run

bench-api: $(VENV)/.installed ## the stand-in API at 1,000,000 records per endpoint: start-up, memory, page latency
	$(PY) -m benchmarks.bench_api

# The whole tap ► target ► Postgres path against plain HTTP + COPY, on a Postgres of its own.
BENCH_WAREHOUSE_PORT ?= 5435
bench-el: .meltano/.installed ## extract-load records/s against plain HTTP + COPY, 100,000 records per endpoint
	$(WITH_DOTENV) WAREHOUSE_PORT=$(BENCH_WAREHOUSE_PORT) WAREHOUSE_DATA_DIR=$(CURDIR)/.pgdata-bench $(PY) -m benchmarks.bench_el

lint: $(VENV)/.installed ## ruff check of the whole project
	$(VENV)/bin/ruff check .

start: $(VENV)/.installed ## the stand-in API in the foreground (MOOVITAMIX_API_PORT, 8000)
	$(PY) -m api.stand_in

# The owner's URI, or a component role's: make db-url ROLE=reader
db-url: $(VENV)/.installed .env ## start the project-local Postgres if needed; its owner's URI last (ROLE=reader: that role's)
	@$(PY) -m local.postgres url $(if $(ROLE),--role $(ROLE))

mlflow-ui: .meltano/.installed ## the MLflow UI on http://127.0.0.1:5000 (MLFLOW_UI_PORT)
	$(MELTANO) invoke recommender mlflow-ui --port $(MLFLOW_UI_PORT)

quality: .meltano/.installed ## dbt tests + every Soda contract on the current warehouse; non-zero if a gate fails
	@$(PY) -m local.postgres start
	quality/run_quality.sh

# One person erased everywhere, and kept out of later runs (transform/macros/erasure.sql).
erase-user: .meltano/.installed ## USER_ID=N: erase one person everywhere (raw, snapshots, pii, marts, ml) and keep them out
	@case "$(USER_ID)" in ''|*[!0-9]*) echo "usage: make erase-user USER_ID=<the user's numeric id>" >&2; exit 2;; esac
	@$(PY) -m local.postgres start
	$(PY) -m orchestrate.erase_user $(USER_ID)

docs: .meltano/.installed ## generate the dbt docs and serve them on http://127.0.0.1:8080
	$(MELTANO) invoke dbt-postgres:docs-generate
	$(MELTANO) invoke dbt-postgres:docs-serve

stop: ## stop every server the project started, every Postgres included
	@if [ -x $(PY) ]; then \
		$(PY) -m local.postgres stop; \
		$(TEST_SERVER) $(PY) -m local.postgres stop; \
	fi

clean: stop ## stop, then remove all local state (venvs, plugins, data, MLflow store, logs)
	rm -rf $(VENV) .meltano .env .airflow .pgdata .pgdata-* .mlflow .spark .logs reports \
		transform/target transform/logs quality/output
