"""The warehouse's roles and grants (roles.sql) and its tables outside raw
(migrations/), applied by its owner.

    python -m orchestrate.roles          # once on a managed Postgres, as its owner, and
                                         # again after each upgrade of the platform

Each component logs in with its own role; its password is WAREHOUSE_<ROLE>_PASSWORD (the
shell's, else the project's `.env`). Applying sets the password of every role whose
variable is set, so a DBA runs this once with the passwords of the secret store; the
daily run applies the grants alone (no password travels at each run).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import psycopg
from psycopg import sql

from orchestrate.project import load_dotenv
from orchestrate.startup import log
from orchestrate.summary import connect_warehouse

GRANTS_SQL = Path(__file__).with_name("roles.sql")
# One file per schema, each idempotent and creating its tables as the schema's writer: the
# one place the tables of ops, quality and ml are defined (raw is target-postgres', the
# staging, snapshots, marts and pii models dbt's).
MIGRATIONS = Path(__file__).with_name("migrations")
# The login roles of the components, in the order of the data's journey.
COMPONENT_ROLES = ("loader", "transformer", "quality", "ml", "reader", "pii_reader")
# The roles the daily job itself logs in with (the others serve people and the read API).
JOB_ROLES = ("loader", "transformer", "quality", "ml")


def password_variable(role: str) -> str:
    return f"WAREHOUSE_{role.upper()}_PASSWORD"


def role_passwords(settings: Mapping[str, str]) -> dict[str, str]:
    variables = {role: password_variable(role) for role in COMPONENT_ROLES}
    return {role: settings[variable] for role, variable in variables.items() if settings.get(variable)}


def prepare_warehouse(connection: psycopg.Connection, passwords: Mapping[str, str] | None = None) -> None:
    """Roles, schemas, ownership, grants and tables, idempotently; passwords for the roles given."""
    connection.execute(GRANTS_SQL.read_text())
    for role, password in (passwords or {}).items():
        statement = sql.SQL("alter role {} with login password {}")
        connection.execute(statement.format(sql.Identifier(role), sql.Literal(password)))
    migrations = sorted(MIGRATIONS.glob("*.sql"))
    for migration in migrations:
        with connection.transaction():
            connection.execute(migration.read_text())
            connection.execute("reset role")  # `set local` lasts until the outer transaction ends
    log("warehouse.grants", roles=",".join(COMPONENT_ROLES), passwords_set=",".join(passwords or {}),
        migrations=",".join(migration.stem for migration in migrations))


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    load_dotenv()
    try:
        with connect_warehouse() as connection:
            prepare_warehouse(connection, role_passwords(os.environ))
    except (psycopg.Error, KeyError) as error:
        print(f"error: could not prepare the warehouse: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
