"""CLI failure modes that must be one clear line and a non-zero exit (no Spark needed)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.cli import main
from recommender.settings import Settings

ML_DIR = Path(__file__).resolve().parents[1]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_warehouse_names_host_and_port(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    port = _closed_port()
    monkeypatch.setenv("WAREHOUSE_HOST", "127.0.0.1")
    monkeypatch.setenv("WAREHOUSE_PORT", str(port))
    monkeypatch.setenv("MOOVITAMIX_HOME", str(tmp_path))
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert f"error: cannot connect to the warehouse at 127.0.0.1:{port}" in err
    assert "Traceback" not in err


def test_missing_java_is_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # an empty directory: no java on PATH
    env["MOOVITAMIX_HOME"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "recommender.cli", "run"],
        cwd=ML_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert (
        "error: Java not found (install OpenJDK 17 and/or set JAVA_HOME)"
        in proc.stderr.splitlines()
    )
    assert "Traceback" not in proc.stderr


def test_settings_from_env_and_cli_overrides(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "WAREHOUSE_HOST",
        "WAREHOUSE_PORT",
        "MLFLOW_TRACKING_URI",
        "ALS_RANK",
        "SPARK_DRIVER_MEMORY",
        "SPARK_JDBC_JAR",
        "DBT_TARGET_PATH",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MOOVITAMIX_HOME", str(tmp_path))
    monkeypatch.setenv("ALS_ALPHA", "2.5")
    monkeypatch.setenv("RETRAIN_MAX_MODEL_AGE_DAYS", "3")
    monkeypatch.setenv("MOOVITAMIX_RUN_ID", "run-42")
    monkeypatch.setenv("SPARK_NATIVE_BLAS", "true")
    settings = Settings.from_env().with_overrides(rank=4, top_n=None, force_retrain=True)
    assert settings.warehouse.address == "127.0.0.1:5433"
    assert settings.warehouse.user == "moovitamix" and settings.warehouse.dbname == "moovitamix"
    assert settings.als.rank == 4 and settings.als.alpha == 2.5 and settings.als.reg_param == 3.0
    assert settings.top_n == 10 and settings.run_id == "run-42"
    assert settings.policy.force_retrain and settings.policy.max_model_age_days == 3
    assert settings.als.num_blocks == 2 and settings.spark.master == "local[*]"
    assert settings.spark.native_blas and not Settings().spark.native_blas
    # Derived from the machine's memory unless set: never Spark's 1 GiB default here.
    assert (
        settings.spark.driver_memory.endswith("g") and int(settings.spark.driver_memory[:-1]) >= 1
    )
    assert settings.spark.jdbc_jar == tmp_path.resolve() / ".spark" / "jars" / "postgresql.jar"
    assert settings.candidate_pool == 20_000
    assert settings.rescore_every_days == 7
    assert settings.mlflow_tracking_uri == f"sqlite:///{tmp_path.resolve()}/.mlflow/mlflow.db"
    assert settings.mlflow_artifact_location.endswith("/.mlflow/artifacts")
    assert settings.checkpoint_dir == tmp_path.resolve() / ".spark" / "checkpoints"
    assert settings.dbt_target_dir == tmp_path.resolve() / "transform" / "target"


def test_bad_number_in_env_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALS_RANK", "sixteen")
    assert main(["run"]) == 1
    assert "error: ALS_RANK must be an integer, got 'sixteen'" in capsys.readouterr().err


def test_bad_boolean_in_env_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RETRAIN_FORCE", "maybe")
    assert main(["run"]) == 1
    assert "error: RETRAIN_FORCE must be true or false, got 'maybe'" in capsys.readouterr().err


def test_log_lines_follow_later_stderr_redirections(monkeypatch: pytest.MonkeyPatch) -> None:
    from recommender.events import emit, setup_logging

    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    setup_logging()
    emit("first_line")
    # Another capture (the next test, a wrapper) must receive the lines from then on.
    monkeypatch.setattr(sys, "stderr", second)
    setup_logging()
    emit("second_line", decision="skipped")
    assert "event=first_line" in first.getvalue() and "second_line" not in first.getvalue()
    assert second.getvalue().endswith("event=second_line decision=skipped\n")


def test_timed_steps_log_their_seconds_and_what_they_found(monkeypatch: pytest.MonkeyPatch) -> None:
    from recommender.events import setup_logging, timed

    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    setup_logging()
    with timed("lists_evaluated", lists="model") as fields:
        fields["ndcg_at_10"] = 0.25
    line = captured.getvalue().strip()
    assert " event=lists_evaluated seconds=" in line
    assert line.endswith("lists=model ndcg_at_10=0.25")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ALS_RANK", "-1", "ALS_RANK=-1 is not allowed: it must be at least 1 and at most 10000"),
        ("RECOMMENDATIONS_TOP_N", "0", "RECOMMENDATIONS_TOP_N=0 is not allowed: it must be"),
        ("HOLDOUT_FRACTION", "1.5", "HOLDOUT_FRACTION=1.5 is not allowed: it must be at least"),
    ],
)
def test_an_out_of_range_setting_stops_before_spark(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    variable: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv("MOOVITAMIX_HOME", str(tmp_path))
    monkeypatch.setenv(variable, value)
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: {message}")
    assert "Traceback" not in err
    assert not (tmp_path / ".mlflow").exists()  # no MLflow store was even opened
