# The project's Python images, one file, two targets (docker-compose.yml):
#   api     the stand-in of the client's API: Debian's Python 3.11 and the project venv
#   runner  the daily job and the MLflow server: the api image plus Java for Spark and
#           every Meltano plugin venv, installed by `make install` as on a laptop
# BASE_IMAGE: debian:bookworm-slim from a registry, or the image `make base-image` makes
# from Debian's packages where no registry is reachable (containers/base-image.sh).
# No secret is ever built in: the job gets its passwords and salt from the environment
# (compose.env), and the package index settings only visit the build (secrets below).
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS api
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3.11 python3.11-venv make ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# A user of its own: nothing in the containers runs as root. The MLflow volume's mount
# point is made here, owned by it, so a new named volume starts with that owner.
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin app \
    && mkdir -p /app /data/mlflow /data/runs \
    && chown app:app /app /data/mlflow /data/runs
USER app
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 \
    SODA_CORE_TELEMETRY_ENABLED=false \
    MELTANO_SEND_ANONYMOUS_USAGE_STATS=false \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false
# The index settings of the machine that builds (its CA bundle, an index URL) arrive as
# build secrets, mounted for one RUN only: never in a layer, the image's history or its
# environment. Without them pip and uv use their defaults. Downloads are cached across
# builds outside the image (the cache mount).
COPY --chown=app:app containers/with-package-index.sh containers/
COPY --chown=app:app Makefile requirements.lock ./
RUN --mount=type=secret,id=package-index,uid=10001 --mount=type=secret,id=ca-bundle,uid=10001 \
    --mount=type=cache,target=/home/app/.cache,uid=10001,gid=10001 \
    sh containers/with-package-index.sh make .venv/.installed
COPY --chown=app:app api api
ENV MOOVITAMIX_API_HOST=0.0.0.0
CMD [".venv/bin/python", "-m", "api.stand_in"]

FROM api AS runner
USER root
# Slim Debian images have no man folders, where the JRE's install script links its pages.
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        openjdk-17-jre-headless libpostgresql-jdbc-java git \
    && rm -rf /var/lib/apt/lists/*
USER app
# What `make install` reads first (the Meltano files, the lock files, the project's own
# packages), so that a change elsewhere (models, contracts, the supervisor) reuses this
# layer; then every venv from the lock files, as `make install` makes them, in one layer.
# `make install` also writes the local server's .env (generated passwords): an empty one
# stands in for it and is removed in the same step, so none is ever in the image.
COPY --chown=app:app meltano.yml ./
COPY --chown=app:app extract extract
COPY --chown=app:app ml ml
COPY --chown=app:app local/postgres.py local/
COPY --chown=app:app transform/transformers.meltano.yml transform/dbt-postgres.lock transform/
COPY --chown=app:app quality/quality.meltano.yml quality/soda.lock quality/
COPY --chown=app:app orchestrate/jobs.meltano.yml orchestrate/
RUN --mount=type=secret,id=package-index,uid=10001 --mount=type=secret,id=ca-bundle,uid=10001 \
    --mount=type=cache,target=/home/app/.cache,uid=10001,gid=10001 \
    touch .env && sh containers/with-package-index.sh make install && rm .env
COPY --chown=app:app . .
CMD [".venv/bin/python", "-m", "orchestrate.run_daily"]
