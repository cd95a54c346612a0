# Benchmarks of the whole platform (included by the top Makefile, which defines PY and
# .meltano/.installed). State lives under .bench-day/ (ignored), emptied at every start.
.PHONY: bench-day stop-bench-day clean-bench-day

# Not in BENCH_TARGETS: at its default size (1,000,000 records per endpoint, what it is
# for) its two days take about two hours, many times all of `make bench`; a smaller
# default would measure a size no target is set for.
BENCH_DAY_RECORDS := $(or $(RECORDS),1000000)
BENCH_DAY_WAREHOUSE_PORT ?= 5462
BENCH_DAY_API_PORT ?= 8062
BENCH_DAY_BASELINE_API_PORT ?= 8063
BENCH_DAY_STATE := $(CURDIR)/.bench-day

# The daily job, day 0 then day 1, on a warehouse of its own; last line a JSON object.
bench-day: .meltano/.installed ## RECORDS=N: the whole daily job, day 0 then day 1, at N records per endpoint (default 1,000,000)
	$(PY) -m benchmarks.bench_day --records $(BENCH_DAY_RECORDS) --state-dir $(BENCH_DAY_STATE) \
		--warehouse-port $(BENCH_DAY_WAREHOUSE_PORT) --api-port $(BENCH_DAY_API_PORT) \
		--baseline-api-port $(BENCH_DAY_BASELINE_API_PORT)

# A bench-day killed with SIGKILL cannot stop its Postgres: `make stop` and `make clean` do.
stop: stop-bench-day
stop-bench-day: ## stop the Postgres of a bench-day that was killed
	@if [ -x $(PY) ] && [ -d $(BENCH_DAY_STATE)/pgdata ]; then \
		WAREHOUSE_PORT=$(BENCH_DAY_WAREHOUSE_PORT) WAREHOUSE_DATA_DIR=$(BENCH_DAY_STATE)/pgdata \
			$(PY) -m local.postgres stop; \
	fi

clean: clean-bench-day
clean-bench-day: stop-bench-day ## remove bench-day's state
	rm -rf $(BENCH_DAY_STATE)

# Quality of the approximate candidate step against exact scoring, same model, same run.
# Stand-in data (realistic day 0) at CANDIDATES_USERS users and tracks, written under .spark/.
.PHONY: bench-candidates
BENCH_TARGETS += bench-candidates
CANDIDATES_USERS ?= 100000
CANDIDATES_DATA := $(CURDIR)/.spark/bench-candidates/data
bench-candidates: .meltano/.installed ## the recommender's candidate pool against exact scoring, NDCG@10 and time
	$(PY) -m benchmarks.ml.standin_data --users $(CANDIDATES_USERS) \
		--tracks $(CANDIDATES_USERS) --out $(CANDIDATES_DATA)
	MOOVITAMIX_HOME=$(CURDIR)/.spark/bench-candidates $(ML_VENV)/bin/python \
		benchmarks/bench_candidate_pool.py --data $(CANDIDATES_DATA)
