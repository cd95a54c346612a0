# Operations targets (included by the top Makefile): the health report, and what the
# operations tests need on a fresh machine.
.PHONY: report chromium

# The real Airflow for the DAG's test (a venv of its own: its pins clash with Meltano's).
AIRFLOW_VENV := .airflow/venv
TEST_PREREQS += $(AIRFLOW_VENV)/.installed
$(AIRFLOW_VENV)/.installed: orchestrate/dags/requirements.lock $(VENV)/.installed
	$(UV) venv --quiet --clear --python $(PYTHON) $(AIRFLOW_VENV)
	$(UV) pip install --quiet --require-hashes --python $(AIRFLOW_VENV)/bin/python -r orchestrate/dags/requirements.lock
	touch $@

# The report reads the run ledger (ops.pipeline_*) of the warehouse; its path is the last line.
report: $(VENV)/.installed ## the health report of the current warehouse (reports/health.html); its path last
	@$(PY) -m local.postgres start
	@$(PY) -m orchestrate.report

# tests/test_ops_report.py opens the report in headless Chromium (Debian's package).
chromium: ## Debian's Chromium for the report's browser test (installed when root)
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y --no-install-recommends chromium; \
		else echo "chromium missing: run apt-get install chromium as root (the report test is skipped without it)"; fi; }

TEST_PREREQS += chromium
