"""`make erase-user USER_ID=N`: one person erased everywhere (transform/macros/erasure.sql).

    python -m orchestrate.erase_user N

An erasure reaches every schema, the recommender's included, which no component role
may write: dbt runs it as the warehouse's owner (WAREHOUSE_USER / WAREHOUSE_PASSWORD, the
shell's, else `.env`), through Meltano's own override of the plugin's settings.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from orchestrate.project import PROJECT_ROOT, load_dotenv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user_id", type=int, help="the id of the person to erase (as the API serves it)")
    user_id = parser.parse_args(argv).user_id
    load_dotenv()
    as_owner = {
        **os.environ,
        "DBT_POSTGRES_WAREHOUSE_USER": os.environ["WAREHOUSE_USER"],
        "DBT_POSTGRES_WAREHOUSE_PASSWORD": os.environ["WAREHOUSE_PASSWORD"],
    }
    meltano = PROJECT_ROOT / ".venv" / "bin" / "meltano"
    command = [str(meltano), "invoke", "dbt-postgres", "run-operation", "erase_user",
               "--args", f"{{user_id: {user_id}}}"]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=as_owner, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
