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

# tests/test_ops_report.py drives the report in headless Chromium through chromium-driver
# (Selenium, pinned in requirements.txt): Debian's packages, the browser and its driver of one build.
chromium: ## Debian's Chromium and chromium-driver for the report's browser test (installed when root)
	@{ command -v chromium && command -v chromedriver; } >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq \
			&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver; \
		else echo "chromium or chromium-driver missing: run apt-get install chromium chromium-driver as root" \
			"(the report's browser test is skipped without them)"; fi; }

TEST_PREREQS += chromium
