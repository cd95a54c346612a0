# The recommender's targets, included by the top Makefile (which defines ML_VENV, PY, UV,
# PYTHON and .meltano/.installed). Bench state lives under .spark/ (ignored, `make clean`).
.PHONY: evaluate serve native-blas bench-ml bench-ml-blas bench-serve

# The PostgreSQL JDBC driver Spark reads and writes the warehouse with. Nothing may be
# fetched at run time, so the setup takes it from Debian's libpostgresql-jdbc-java: the
# installed jar when the package is there, else the package downloaded and unpacked here
# (apt-get download and dpkg-deb need no root). The job finds it at SPARK_JDBC_JAR.
JDBC_JAR := $(CURDIR)/.spark/jars/postgresql.jar
SYSTEM_JDBC_JAR := /usr/share/java/postgresql.jar
TEST_PREREQS += $(JDBC_JAR)
.meltano/.installed: $(JDBC_JAR)

$(JDBC_JAR):
	@mkdir -p $(@D)
	@if [ -f $(SYSTEM_JDBC_JAR) ]; then cp -L $(SYSTEM_JDBC_JAR) $@; else \
		tmp=$$(mktemp -d) && chmod 755 $$tmp && (cd $$tmp && apt-get download -q libpostgresql-jdbc-java) && \
		dpkg-deb -x $$tmp/libpostgresql-jdbc-java_*.deb $$tmp/root && \
		cp -L $$tmp/root/usr/share/java/postgresql.jar $@ && rm -rf $$tmp; fi
	@echo "PostgreSQL JDBC driver: $@"

BENCH_TARGETS += bench-ml bench-ml-blas bench-serve

ML_PY := $(ML_VENV)/bin/python
ML_BENCH_DIR := $(CURDIR)/.spark/bench-ml
BENCH_ML_VENV := $(ML_BENCH_DIR)/venv
ML_BENCH_USERS ?= 20000
ML_BENCH_TRACKS ?= 10000
RECOMMENDATIONS_API_PORT ?= 8200
ML_BENCH_API_PORT ?= 8201
ML_BENCH_WAREHOUSE_PORT ?= 5451
ML_BENCH_ENV := $(WITH_DOTENV) WAREHOUSE_PORT=$(ML_BENCH_WAREHOUSE_PORT) WAREHOUSE_DATA_DIR=$(CURDIR)/.pgdata-bench-ml

# Train and evaluate on any CSV user_id,track_id[,weight][,timestamp]; the last line of
# stdout is {"model": {...}, "popularity": {...}}.
evaluate: .meltano/.installed ## INTERACTIONS=file.csv: train and evaluate the recommender on any interactions file
	@test -n "$(INTERACTIONS)" || { echo "usage: make evaluate INTERACTIONS=file.csv" >&2; exit 2; }
	@$(ML_VENV)/bin/moovitamix-ml evaluate --interactions "$(INTERACTIONS)"

# The read API on ml.user_recommendations of the current warehouse.
serve: .meltano/.installed ## the recommendations read API on ml.user_recommendations (RECOMMENDATIONS_API_PORT, 8200)
	$(ML_VENV)/bin/moovitamix-ml serve --port $(RECOMMENDATIONS_API_PORT)

# `implicit` (the benchmark's yardstick) and the packages shipping public data sets: a venv
# of the benchmark's own, never a platform dependency. The data packages come without
# their dependencies: only their files are read.
$(BENCH_ML_VENV)/.installed: $(VENV)/.installed benchmarks/ml/requirements-data.txt
	$(UV) venv --quiet --clear --python $(PYTHON) $(BENCH_ML_VENV)
	$(UV) pip install --quiet --python $(BENCH_ML_VENV)/bin/python implicit==0.7.3
	$(UV) pip install --quiet --python $(BENCH_ML_VENV)/bin/python --no-deps --require-hashes \
		-r benchmarks/ml/requirements-data.txt
	touch $@

# Debian's OpenBLAS as the libblas.so.3/liblapack.so.3 Spark's netlib can load. Optional and
# off by default (SPARK_NATIVE_BLAS=false): at rank 16 the Java BLAS fit is faster here
# (`make bench-ml-blas`: native / Java 1.34), JNI costs more than OpenBLAS saves.
native-blas: ## Debian's OpenBLAS for Spark (installed when root; optional)
	@if ldconfig -p | grep -q 'libblas\.so\.3 '; then echo "native BLAS: present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y -qq libopenblas0-pthread; \
	else echo "native BLAS: missing (apt-get install libopenblas0-pthread); Spark uses Java BLAS"; fi

# Part 1: quality vs popularity, the oracle and implicit, fit time vs implicit, on the
# stand-in's data. Part 2: what the retraining publishes on the stand-in's data, a real
# public set (MovieLens 100K, from the data package) and a planted set, under the time
# split and a per-user hold-out, against implicit tuned by the same search. Same run.
ML_BENCH_DATA := $(ML_BENCH_DIR)/data
bench-ml: .meltano/.installed $(BENCH_ML_VENV)/.installed ## the recommender on the stand-in's, a real public and a planted data set: NDCG@10 against popularity, recent popularity, the oracle and implicit's ALS; fit time
	$(PY) -m benchmarks.ml.standin_data --users $(ML_BENCH_USERS) \
		--tracks $(ML_BENCH_TRACKS) --out $(ML_BENCH_DATA)
	$(BENCH_ML_VENV)/bin/python -m benchmarks.ml.public_data --out $(ML_BENCH_DATA)/movielens-100k.csv
	$(PY) -m benchmarks.ml.planted_data --out $(ML_BENCH_DATA)/planted.csv
	OPENBLAS_NUM_THREADS=1 MOOVITAMIX_HOME=$(ML_BENCH_DIR) $(ML_PY) -m benchmarks.ml.bench_ml \
		--data $(ML_BENCH_DATA) --movielens $(ML_BENCH_DATA)/movielens-100k.csv \
		--planted $(ML_BENCH_DATA)/planted.csv --implicit-python $(BENCH_ML_VENV)/bin/python

# ALS fit time with the machine's OpenBLAS against Spark's Java BLAS (same data, same run).
bench-ml-blas: .meltano/.installed native-blas ## ALS fit time with the machine's OpenBLAS against Spark's Java BLAS
	$(PY) -m benchmarks.ml.standin_data --users $(ML_BENCH_USERS) \
		--tracks $(ML_BENCH_TRACKS) --out $(ML_BENCH_DIR)/data
	OPENBLAS_NUM_THREADS=1 MOOVITAMIX_HOME=$(ML_BENCH_DIR) $(ML_PY) -m benchmarks.ml.bench_blas \
		--data $(ML_BENCH_DIR)/data

# Serving latency at 100,000 users, on a Postgres of its own (stopped afterwards).
bench-serve: .meltano/.installed ## the read API's latency at 100,000 users
	$(ML_BENCH_ENV) $(PY) -m local.postgres start
	@status=0; $(ML_BENCH_ENV) $(ML_PY) -m benchmarks.ml.bench_serve --port $(ML_BENCH_API_PORT) \
		|| status=1; \
	$(ML_BENCH_ENV) $(PY) -m local.postgres stop; exit $$status
