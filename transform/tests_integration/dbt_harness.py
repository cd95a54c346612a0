"""What the integration tests of the dbt project share: a database of their own on the test
warehouse, loaded by the real pipeline (stand-in API ► tap ► target-postgres) and built by
dbt through Meltano, as the daily job runs it.

The warehouse comes from WAREHOUSE_* (defaults: the `make test` instance, started here if it
is not running); each test module works in a database of its own, dropped and recreated.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from local.ports import free_port
from local.postgres import LocalPostgres
from local.stand_in import running_stand_in
from orchestrate.project import PROJECT_ROOT, load_dotenv
from orchestrate.roles import prepare_warehouse

os.environ.setdefault("WAREHOUSE_PORT", "5434")
os.environ.setdefault("WAREHOUSE_DATA_DIR", str(PROJECT_ROOT / ".pgdata-test"))
load_dotenv()  # the owner, the roles' passwords and the salt, as `make install` wrote them

MELTANO = PROJECT_ROOT / ".venv/bin/meltano"


@dataclass
class Warehouse:
    env: dict[str, str]
    target_path: Path
    database: str
    exit_code: int | None = None  # of the last dbt command

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(
            host=self.env["WAREHOUSE_HOST"],
            port=int(self.env["WAREHOUSE_PORT"]),
            user=self.env["WAREHOUSE_USER"],
            password=self.env["WAREHOUSE_PASSWORD"],
            dbname=self.database,
            autocommit=True,
        )

    def dbt(self, *args: str, check: bool = True, command: str | None = None) -> dict[str, dict]:
        """Run dbt as the job does (through Meltano, which hands it the salt's session setting),
        with these arguments or as one of the plugin's commands (`command="build"`: the job's
        dbt-postgres:build); return its run results by node id without the hash of tests
        (model.moovitamix.x)."""
        result = subprocess.run(
            [
                str(MELTANO),
                "invoke",
                f"dbt-postgres:{command}" if command else "dbt-postgres",
                *args,
                "--target-path",
                str(self.target_path),
                "--log-path",
                str(self.target_path),
            ],
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.exit_code = result.returncode
        if check:
            assert result.returncode == 0, result.stdout[-4000:]
        if args[:2] == ("source", "freshness"):  # its results, by table, are in sources.json
            results = json.loads((self.target_path / "sources.json").read_text())["results"]
            return {node["unique_id"].rsplit(".", 1)[-1]: node for node in results}
        results = json.loads((self.target_path / "run_results.json").read_text())["results"]
        return {".".join(node["unique_id"].split(".")[:3]): node for node in results}

    def load(self, **api_settings: str) -> None:
        """Serve the stand-in with these settings and load it with the real Meltano pipeline."""
        with running_stand_in({**self.env, **api_settings}, free_port(), self.target_path / "stand-in.log") as url:
            result = subprocess.run(
                [str(MELTANO), "run", "tap-moovitamix", "target-postgres"],
                cwd=PROJECT_ROOT,
                env={**self.env, "TAP_MOOVITAMIX_API_URL": url},
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        assert result.returncode == 0, result.stderr[-4000:]


@contextmanager
def fresh_warehouse(database: str, tmp: Path) -> Iterator[Warehouse]:
    """An empty database with the platform's roles, schemas and tables (orchestrate/roles.py)."""
    server = LocalPostgres.from_env()
    local = os.environ["WAREHOUSE_HOST"] in ("127.0.0.1", "localhost")
    started_here = local and not server.is_running()
    if started_here:
        server.start()
    env = {
        **os.environ,
        "WAREHOUSE_DB": database,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.pop("MOOVITAMIX_API_URL", None)
    login = {"host": env["WAREHOUSE_HOST"], "port": int(env["WAREHOUSE_PORT"]), "user": env["WAREHOUSE_USER"],
             "password": env["WAREHOUSE_PASSWORD"], "autocommit": True}
    with psycopg.connect(dbname="postgres", **login) as admin:
        admin.execute(f'drop database if exists "{database}" with (force)')
        admin.execute(f'create database "{database}"')
    with psycopg.connect(dbname=database, **login) as fresh:  # schemas and roles, dbt's included
        prepare_warehouse(fresh)
    try:
        yield Warehouse(env=env, target_path=tmp / "target", database=database)
    finally:
        if started_here:
            server.stop()


def rows_written(results: dict[str, dict], model: str) -> int:
    return results[f"model.moovitamix.{model}"]["adapter_response"]["rows_affected"]
