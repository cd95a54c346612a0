"""The right to erasure: `make erase-user` removes one person from every table, in one
transaction, and the next daily run, which reads them again from the API, keeps them out."""

from __future__ import annotations

import os
import subprocess

import psycopg
import pytest

from local.postgres import LocalPostgres
from orchestrate.project import PROJECT_ROOT
from tests.conftest import connect, free_port, run_daily

TEXT_TYPES = ("text", "character varying", "json", "jsonb", "ARRAY")
# The person's id outside `user_id` columns; ops.erased_users keeps it on purpose.
ID_COLUMNS = {("raw", "users", "id")}
KEPT = {("ops", "erased_users")}


def traces(warehouse: psycopg.Connection, user_id: int, email: str) -> list[str]:
    """Every column of every table that still holds the person's e-mail or id."""
    found = []
    columns = warehouse.execute(
        "select c.table_schema, c.table_name, c.column_name, c.data_type from information_schema.columns c"
        " join information_schema.tables t using (table_schema, table_name)"
        " where t.table_type = 'BASE TABLE' and c.table_schema not in ('pg_catalog', 'information_schema', 'meltano')"
    ).fetchall()
    for schema, table, column, data_type in columns:
        name = f'"{schema}"."{table}"'
        if data_type in TEXT_TYPES:
            query, value = f'select count(*) from {name} where strpos("{column}"::text, %s) > 0', email
        elif (column == "user_id" or (schema, table, column) in ID_COLUMNS) and (schema, table) not in KEPT:
            query, value = f'select count(*) from {name} where "{column}" = %s', user_id
        else:
            continue
        hits = warehouse.execute(query, (value,)).fetchone()[0]
        if hits:
            found.append(f"{schema}.{table}.{column}: {hits}")
    return found


def erase(env: dict[str, str], user_id: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-s", "erase-user", f"USER_ID={user_id}"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_an_erased_user_leaves_no_trace_and_does_not_come_back(
    postgres_server: LocalPostgres, ops_env: dict[str, str]
) -> None:
    first = run_daily(ops_env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    with connect(postgres_server, ops_env["WAREHOUSE_DB"]) as warehouse:
        user_id, email = warehouse.execute(
            "select p.user_id, p.email from pii.users p where exists"
            " (select from ml.user_recommendations r where r.user_id = p.user_id)"
            " and exists (select from marts.fct_listens f where f.user_id = p.user_id) order by p.user_id limit 1"
        ).fetchone()
        assert traces(warehouse, user_id, email), "the person is not in the warehouse to begin with"

    erased = erase(ops_env, user_id)
    assert erased.returncode == 0, erased.stdout[-3000:] + erased.stderr[-3000:]
    assert f"erased user {user_id}: pii_users=1" in erased.stdout
    assert f"erased user {user_id}: user_recommendations=10" in erased.stdout
    with connect(postgres_server, ops_env["WAREHOUSE_DB"]) as warehouse:
        assert traces(warehouse, user_id, email) == []
        assert warehouse.execute("select user_id from ops.erased_users").fetchall() == [(user_id,)]

    # The same API on another URL: every stream is read in full again, the person with it.
    other_port = str(free_port())
    assert other_port != ops_env["MOOVITAMIX_API_PORT"]
    again = run_daily({**ops_env, "MOOVITAMIX_API_PORT": other_port}, "--run-id", "after-erasure")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]  # dbt and Soda tests included
    with connect(postgres_server, ops_env["WAREHOUSE_DB"]) as warehouse:
        assert traces(warehouse, user_id, email) == []
        served = warehouse.execute("select count(*) from marts.dim_users").fetchone()[0]
    assert served == int(ops_env["MOOVITAMIX_API_RECORDS"]) - 1
    # It was read again: the extract-load's figures count every user the API serves.
    with connect(postgres_server, ops_env["WAREHOUSE_DB"]) as warehouse:
        read = warehouse.execute(
            "select value from ops.pipeline_figures where run_id = 'after-erasure' and subject = 'users'"
            " and metric = 'records_read'"
        ).fetchone()[0]
    assert read == int(ops_env["MOOVITAMIX_API_RECORDS"])


@pytest.mark.parametrize("user_id", ["", "12; drop table pii.users", "-1"])
def test_erase_user_takes_a_numeric_id_only(user_id: str) -> None:
    result = subprocess.run(["make", "-s", "erase-user", f"USER_ID={user_id}"], cwd=PROJECT_ROOT,
                            env=dict(os.environ), capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and "usage: make erase-user USER_ID=" in result.stderr
