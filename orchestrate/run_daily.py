"""`make run`: the whole daily job on this machine, then a short summary.

Starts what the job needs and is missing (the project-local warehouse, the stand-in API
unless MOOVITAMIX_API_URL points at a real one), runs the Meltano job `daily`, stops
what it started except the warehouse, and prints what landed where.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from orchestrate.local_postgres import PROJECT_ROOT, LocalPostgres
from orchestrate.startup import StartupError, log, port_in_use
from orchestrate.summary import print_summary

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def check_java() -> None:
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and Path(java_home, "bin", "java").exists()):
        raise StartupError(
            "Java not found: the recommender needs a JDK 17 (apt-get install openjdk-17-jre-headless, or set JAVA_HOME)"
        )


def check_api(url: str) -> None:
    probe = f"{url.rstrip('/')}/tracks?page=1&size=1"
    try:
        response = requests.get(probe, timeout=10)
        response.raise_for_status()
        response.json()["total"]
    except (requests.RequestException, ValueError, KeyError) as error:
        raise StartupError(
            f"the MooVitamix API at {url} is unreachable or not answering per contract: {error}"
        ) from error


@contextmanager
def stand_in_api() -> Iterator[str]:
    """The local stand-in API for the duration of the job, stopped by its PID afterwards."""
    port = int(os.environ.get("MOOVITAMIX_API_PORT", "8000"))
    if port_in_use(port):
        raise StartupError(
            f"port {port} on 127.0.0.1 is already in use"
            " (set MOOVITAMIX_API_PORT, or set MOOVITAMIX_API_URL to use that server)"
        )
    url = f"http://127.0.0.1:{port}"
    log_path = PROJECT_ROOT / ".logs" / "api.log"
    with log_path.open("w") as api_log:
        server = subprocess.Popen(
            [sys.executable, "-m", "api"], cwd=PROJECT_ROOT, stdout=api_log, stderr=subprocess.STDOUT
        )
    log("api.starting", pid=server.pid, url=url, log=log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise StartupError(f"the stand-in API exited at start (code {server.returncode}), see {log_path}")
            try:
                check_api(url)
                break
            except StartupError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        log("api.ready", url=url)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log("api.stopped", pid=server.pid)


def run_job(api_url: str, run_id: str, log_path: Path) -> int:
    """`meltano run daily`, its output shown live and kept in the run log."""
    # The run id travels to the tap, which stamps it on rejected records.
    env = {**os.environ, "TAP_MOOVITAMIX_API_URL": api_url, "TAP_MOOVITAMIX_RUN_ID": run_id}
    command = [str(Path(sys.executable).with_name("meltano")), "run", "daily"]
    log("job.start", run_id=run_id, command=" ".join(command), api_url=api_url, log=log_path)
    with (
        log_path.open("a") as run_log,
        subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as job,
    ):
        assert job.stdout is not None
        for line in job.stdout:
            sys.stdout.write(line)
            run_log.write(line)
    log("job.end", run_id=run_id, status="success" if job.returncode == 0 else "failed", exit_code=job.returncode)
    return job.returncode


def main() -> int:
    started = time.monotonic()
    run_id = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}"
    log_path = PROJECT_ROOT / ".logs" / f"daily-{run_id}.log"
    log_path.parent.mkdir(exist_ok=True)
    try:
        check_java()
        if os.environ.get("WAREHOUSE_HOST", "127.0.0.1") in LOCAL_HOSTS:
            LocalPostgres.from_env().start()
        external_api = os.environ.get("MOOVITAMIX_API_URL")
        if external_api:
            check_api(external_api)
            code = run_job(external_api, run_id, log_path)
        else:
            with stand_in_api() as url:
                code = run_job(url, run_id, log_path)
    except StartupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print_summary(job_succeeded=code == 0, log_path=log_path, seconds=time.monotonic() - started)
    return code


if __name__ == "__main__":
    sys.exit(main())
