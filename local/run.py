"""`make run`: the daily job on this machine, with what a laptop lacks started for it.

    python -m local.run [the options of orchestrate/run_daily.py]

Starts the project-local Postgres unless WAREHOUSE_HOST names another server, and the
stand-in API for the run unless MOOVITAMIX_API_URL names a real one (or the chosen task
reads no API); then hands over to the supervisor, orchestrate/run_daily.py, with the
stand-in's URL, and stops the stand-in by its PID when the supervisor is done.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from api.stand_in.settings import Settings
from local.postgres import LocalPostgres, warehouse_is_local
from local.stand_in import running_stand_in
from orchestrate import run_daily
from orchestrate.job_definition import job_tasks
from orchestrate.project import PROJECT_ROOT, layered_settings
from orchestrate.settings import number, validate
from orchestrate.startup import StartupError, log, port_in_use


@contextmanager
def stand_in_api(port: int) -> Iterator[str]:
    """The stand-in API (api/stand_in/) for the duration of the job; its URL."""
    if port_in_use(port):
        raise StartupError(
            f"port {port} on 127.0.0.1 is already in use"
            " (set MOOVITAMIX_API_PORT, or set MOOVITAMIX_API_URL to use that server)"
        )
    log_path = PROJECT_ROOT / ".logs" / "api.log"
    log("api.starting", port=port, log=log_path)
    # Tied to this process, even killed outright: its port is free for the next run.
    with running_stand_in(os.environ, port, log_path, tied_to_parent=True) as url:
        log("api.ready", url=url)
        yield url
    log("api.stopped", url=url)


def main(argv: list[str] | None = None) -> int:
    # Read, not loaded: the supervisor tells the runner's own secrets from the .env's.
    settings = layered_settings()
    # Only --task matters here (does the run read the API?); run_daily parses the rest.
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--task")
    known, _ = parser.parse_known_args(argv)
    if {"-h", "--help"} & set(argv if argv is not None else sys.argv[1:]):
        print(__doc__.strip() + "\n", flush=True)
        return run_daily.main(argv)  # the supervisor's own options, then exit: nothing started
    task = known.task
    tasks = [task] if task else job_tasks()
    try:
        # What the supervisor checks first, checked before anything is started for it.
        validate(settings)
        environment = settings.get("MELTANO_ENVIRONMENT", "dev")
        runner = settings if environment in run_daily.LOCAL_ENVIRONMENTS else dict(os.environ)
        run_daily.check_secrets(environment, runner)
        run_daily.preflight(tasks)
        if warehouse_is_local(settings):
            LocalPostgres.from_env(settings).start()
        if settings.get("MOOVITAMIX_API_URL") or not run_daily.needs_api(tasks):
            return run_daily.main(argv)
        with stand_in_api(int(number("MOOVITAMIX_API_PORT", settings) or Settings.port)) as url:
            os.environ["MOOVITAMIX_API_URL"] = url
            return run_daily.main(argv)
    except StartupError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
