"""The project's place and what Meltano sees of its settings: the shell's, else `.env`."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DOTENV = PROJECT_ROOT / ".env"
# Meltano's system database lives in this schema of the warehouse (meltano.yml).
MELTANO_SCHEMA = "meltano"


def layered_settings() -> dict[str, str]:
    """The process environment over the project's `.env`, as Meltano layers them."""
    # Imported here: the Airflow scheduler imports this package (job_definition) without it.
    from dotenv import dotenv_values

    saved = dotenv_values(DOTENV) if DOTENV.exists() else {}
    return {**{name: value for name, value in saved.items() if value is not None}, **os.environ}


def load_dotenv() -> None:
    """The project's `.env` under the process environment, into it."""
    os.environ.update(layered_settings())
