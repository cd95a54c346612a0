"""The job as a cluster runs it: nothing large is collected to the driver, and the same
code trains, evaluates, scores and publishes on a real standalone Spark master and
worker started from the installed PySpark. Each run is a process of its own (a JVM with
its own settings), against the test warehouse."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pyspark
import pytest

from .conftest import PROJECT_ROOT, conninfo, fresh_marts

pytestmark = pytest.mark.integration

USERS = 20_000
TRACKS = 1_000
HISTORY = 30
TOP_N = 10
RESULT_LIMIT = "2m"
SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def large_marts(test_database: str) -> str:
    """USERS users with HISTORY distinct tracks each: ALS's candidate sets for the old
    "n + longest history" scoring are USERS x (TOP_N + HISTORY) rows, far more than
    RESULT_LIMIT once collected, and so are the published lists themselves."""
    rng = random.Random(5)
    seen_at = datetime(2026, 11, 1, 6, tzinfo=timezone.utc)
    with psycopg.connect(**conninfo(test_database), autocommit=True) as conn:  # type: ignore[arg-type]
        fresh_marts(conn)
        with conn.cursor() as cur:
            with cur.copy("copy marts.dim_tracks from stdin") as copy:
                for track in range(TRACKS):
                    copy.write_row((10_000 + track, f"genre-{track % 7}"))
            with cur.copy("copy marts.dim_users from stdin") as copy:
                for user in range(USERS):
                    copy.write_row((user, f"genre-{user % 7}"))
            with cur.copy("copy marts.user_track_interactions from stdin") as copy:
                for user in range(USERS):
                    # Tastes: mostly the user's genre, so there is something to learn.
                    liked = [t for t in range(TRACKS) if t % 7 == user % 7]
                    tracks = set(rng.sample(liked, HISTORY - 5)) | set(rng.sample(range(TRACKS), 5))
                    for track in tracks:
                        copy.write_row((user, 10_000 + track, rng.randint(1, 4), seen_at, seen_at))
        conn.execute("analyze")
    return test_database


def _job_env(tmp_path: Path, database: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "WAREHOUSE_DB": database,
        "MOOVITAMIX_HOME": str(tmp_path),
        "SPARK_JDBC_JAR": str(PROJECT_ROOT / ".spark" / "jars" / "postgresql.jar"),
        "ALS_RANK": "8",
        "ALS_MAX_ITER": "3",
        # The search runs too (its collects are under the same limit), kept small.
        "SEARCH_MAX_FITS": "2",
        "SEARCH_RANKS": "8",
        "SEARCH_MAX_ITERS": "3",
        "RECOMMENDATIONS_TOP_N": str(TOP_N),
        "MOOVITAMIX_RUN_ID": tmp_path.name,
        **extra,
    }
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_ARTIFACT_ROOT", "SPARK_CONF_DIR", "SPARK_MASTER"):
        if name not in extra:
            env.pop(name, None)
    return env


def _run_job(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recommender.cli", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _check_published(database: str) -> None:
    with psycopg.connect(**conninfo(database)) as conn:  # type: ignore[arg-type]
        users, rows = conn.execute(
            "select count(distinct user_id), count(*) from ml.user_recommendations"
        ).fetchone()
        listened = conn.execute(
            "select count(*) from ml.user_recommendations r "
            "join marts.user_track_interactions i using (user_id, track_id)"
        ).fetchone()[0]
    assert (users, rows, listened) == (USERS, USERS * TOP_N, 0)


def _spark_conf_dir(tmp_path: Path) -> Path:
    conf_dir = tmp_path / "spark-conf"
    conf_dir.mkdir()
    (conf_dir / "spark-defaults.conf").write_text(f"spark.driver.maxResultSize {RESULT_LIMIT}\n")
    return conf_dir


def test_the_limit_is_in_force_for_a_large_collect(tmp_path: Path) -> None:
    # Without this, the test below could pass because the limit was never applied.
    conf_dir = _spark_conf_dir(tmp_path)
    probe = (
        "from pathlib import Path\n"
        "from recommender.settings import Settings\n"
        "from recommender.spark import build_spark\n"
        "s = Settings.from_env()\n"
        "spark = build_spark(s.spark, Path(s.project_root) / 'ckpt', with_jdbc=False)\n"
        "spark.range(3_000_000).selectExpr('id', 'id * 2 as twice').collect()\n"
    )
    env = _job_env(tmp_path, "unused", SPARK_CONF_DIR=str(conf_dir))
    proc = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode != 0 and "maxResultSize" in proc.stderr, proc.stderr[-2000:]


def test_train_evaluate_score_publish_with_a_tiny_driver_result_limit(
    tmp_path: Path, large_marts: str
) -> None:
    env = _job_env(tmp_path, large_marts, SPARK_CONF_DIR=str(_spark_conf_dir(tmp_path)))
    proc = _run_job(env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "event=evaluated" in proc.stderr and "decision=promoted" in proc.stderr
    _check_published(large_marts)


@pytest.fixture()
def standalone_cluster(tmp_path: Path) -> Iterator[str]:
    """A real Spark master and one worker (2 cores), from PySpark's own launcher."""
    master_port, master_ui = _free_port(), _free_port()
    env = {
        **os.environ,
        "SPARK_HOME": str(SPARK_CLASS.parent.parent),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(tmp_path),
    }
    url = f"spark://127.0.0.1:{master_port}"
    logs = (tmp_path / "master.log").open("w"), (tmp_path / "worker.log").open("w")
    master = subprocess.Popen(
        [str(SPARK_CLASS), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", str(master_port), "--webui-port", str(master_ui)],
        env=env, stdout=logs[0], stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker = subprocess.Popen(
        [str(SPARK_CLASS), "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
         "--cores", "2", "--memory", "3g", "--webui-port", str(_free_port()),
         "--work-dir", str(tmp_path / "work")],
        env=env, stdout=logs[1], stderr=subprocess.STDOUT,
    )  # fmt: skip
    state_url = f"http://127.0.0.1:{master_ui}/json/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(state_url, timeout=2) as answer:
                    if json.load(answer).get("aliveworkers", 0) >= 1:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-2000:]
            time.sleep(1)
        yield state_url
    finally:
        for process in (worker, master):
            process.terminate()
        for process in (worker, master):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def test_the_same_job_runs_on_a_standalone_master_and_worker(
    tmp_path: Path, large_marts: str, standalone_cluster: str
) -> None:
    with urllib.request.urlopen(standalone_cluster, timeout=5) as answer:
        master_url = json.load(answer)["url"]
    env = _job_env(tmp_path, large_marts, SPARK_MASTER=master_url, SPARK_EXECUTOR_MEMORY="2g")
    proc = _run_job(env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    _check_published(large_marts)
    with urllib.request.urlopen(standalone_cluster, timeout=5) as answer:
        state = json.load(answer)
    # The work ran on the worker's executor, not in a local driver.
    finished = [app for app in state["completedapps"] if app["name"] == "moovitamix-recommender"]
    assert finished and finished[0]["cores"] >= 1, state
