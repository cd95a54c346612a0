# The warehouse: Debian's PostgreSQL 15 (docker-compose.yml). The owner and the database
# are made at the first start, from the environment (containers/warehouse-entrypoint.sh);
# the component roles and grants are applied by the runner with orchestrate/roles.py,
# the code the project-local server applies at each start.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
# No cluster at install time (postgresql-common would make one): the volume holds the only one.
RUN mkdir -p /etc/postgresql-common \
    && echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        -o Dpkg::Options::=--force-confold postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/postgresql/data && chown postgres:postgres /var/lib/postgresql/data
COPY containers/warehouse-entrypoint.sh /usr/local/bin/warehouse-entrypoint
USER postgres
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data/cluster
ENTRYPOINT ["warehouse-entrypoint"]
