"""The pure parts of bench_day: where the job writes, how stages are named, the summary and
the targets; what an interrupt prints and the exit code (stopping the job: test_job_stop.py).
The whole benchmark is `make bench-day RECORDS=1000` (a few minutes)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from benchmarks import bench_day
from benchmarks.bench_day import (
    EXIT_INTERRUPTED,
    Baseline,
    DayResult,
    Stage,
    Warehouse,
    catch_interrupts,
    dir_size,
    job_environment,
    render_day,
    stage_of,
    summarise,
    targets,
)
from benchmarks.process_memory import ProcessId
from orchestrate.project import PROJECT_ROOT


def test_job_environment_keeps_every_store_in_the_state_dir_and_drops_what_would_skew_it() -> None:
    caller = {
        "PATH": "/usr/bin",
        "MOOVITAMIX_API_URL": "https://real.example.com",
        "MOOVITAMIX_API_FAULT_SLOW_RATE": "0.5",
        "TAP_MOOVITAMIX_PAGE_SIZE": "10",
        "ALERT_WEBHOOK_URL": "https://hooks.example.com/x",
        "MLFLOW_TRACKING_URI": "sqlite:///dev/mlflow.db",
        "WAREHOUSE_PORT": "5433",
    }
    state = Path("/tmp/bench")
    env = job_environment(caller, state, records=5000, day=1, warehouse_port=5462, api_port=8062)
    assert env["PATH"] == "/usr/bin"
    for dropped in ("MOOVITAMIX_API_URL", "MOOVITAMIX_API_FAULT_SLOW_RATE", "TAP_MOOVITAMIX_PAGE_SIZE",
                    "ALERT_WEBHOOK_URL"):
        assert dropped not in env
    assert (env["MOOVITAMIX_API_RECORDS"], env["MOOVITAMIX_API_DAY"], env["MOOVITAMIX_API_PORT"]) == (
        "5000", "1", "8062")
    assert (env["WAREHOUSE_PORT"], env["WAREHOUSE_DATA_DIR"]) == ("5462", "/tmp/bench/pgdata")
    for name in ("MELTANO_SYS_DIR_ROOT", "MLFLOW_TRACKING_URI", "MLFLOW_ARTIFACT_ROOT",
                 "DBT_TARGET_PATH", "DBT_LOG_PATH", "RUN_LOG_DIR", "REPORT_PATH", "SPARK_LOCAL_DIRS"):
        assert "/tmp/bench/" in env[name], name
    assert env["MOOVITAMIX_HOME"] == str(PROJECT_ROOT)


def test_stage_of_names_each_task_of_the_job() -> None:
    assert stage_of("tap-moovitamix target-postgres") == "extract_load"
    assert stage_of("dbt-postgres:build") == "dbt_build"
    assert stage_of("dbt-postgres:profile-published") == "published_profile"
    assert stage_of("soda:verify-all") == "soda"
    assert stage_of("recommender:run") == "recommender"
    assert stage_of("new-tool:run") == "new_tool"


def test_dir_size_counts_allocated_blocks_and_ignores_a_missing_dir(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "file").write_bytes(b"x" * 100_000)
    assert 100_000 <= dir_size(tmp_path) < 200_000
    assert dir_size(tmp_path / "missing") == 0


def day(number: int, wall: float, stages: dict[str, float], rss_mb: int, model: dict | None) -> DayResult:
    result = DayResult(number, 0, wall, Baseline(10.0, 8.0, 3000), (1.0, 1.5))
    result.run = {"run_id": f"run-{number}", "status": "success"}
    result.stages = [Stage(name, name, "success", seconds, 0.0, 1.0, rss_mb * 1024, None)
                     for name, seconds in stages.items()]
    result.peak_rss_kb = rss_mb * 1024
    result.model = model
    return result


def test_summary_has_the_agreed_keys_and_takes_the_newest_trained_model() -> None:
    day0 = day(0, 100.0, {"extract_load": 20.0, "dbt_build": 50.0}, 900,
               {"decision": "promoted", "ndcg_at_10": 0.3, "popularity_ndcg_at_10": 0.1})
    day1 = day(1, 40.0, {"extract_load": 15.0, "dbt_build": 10.0}, 700,
               {"decision": "skipped", "ndcg_at_10": None, "popularity_ndcg_at_10": None})
    summary = summarise(1000, [day0, day1])
    assert summary["records_per_endpoint"] == 1000
    assert (summary["day0_seconds"], summary["day1_seconds"], summary["peak_rss_mb"]) == (100.0, 40.0, 900)
    assert summary["stages"]["day1"] == {"extract_load": 15.0, "dbt_build": 10.0, "other": 15.0}
    assert (summary["ndcg_at_10"], summary["popularity_ndcg_at_10"]) == (0.3, 0.1)  # day 1 did not train
    assert summary["extract_load_vs_baseline"] == {"day0": 2.0, "day1": 1.5}
    table = render_day(day1, 1000, day0)
    # Each stage, the rest and the whole day against day 0: 15/20, 10/50, 15/30, 40/100.
    for ratio in ("0.75", "0.20", "0.50", "0.40"):
        assert f" {ratio} " in table


def test_targets_are_judged_only_on_what_was_measured() -> None:
    verdicts = {label: met for label, _, met in targets({
        "day0_seconds": 44 * 60, "day1_seconds": None, "peak_rss_mb": 13_000, "peak_pss_mb": 9_000,
        "ndcg_at_10": 0.25, "popularity_ndcg_at_10": 0.1,
    })}
    assert verdicts == {
        "day 0 < 45 min": True,
        "day 1 < 20 min": None,
        "peak RSS < 12 GB (sum of RSS)": False,
        "peak RSS < 12 GB (sum of PSS)": True,
        "NDCG@10 >= 2.5 x popularity": True,
    }


# --- an interrupt ---------------------------------------------------------------------------

def test_an_interrupt_raises_even_when_sigint_was_inherited_ignored(signal_handlers: None) -> None:
    # What a non-interactive shell gives a command it starts in the background.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    catch_interrupts()
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(2)


def test_an_interrupted_benchmark_reports_what_it_measured_stops_postgres_and_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], signal_handlers: None,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # started in the background by a script
    stopped: list[Warehouse] = []
    warehouse = Warehouse({"WAREHOUSE_PASSWORD": "x"}, 5462, ProcessId(1, 1), tmp_path / "pgdata")
    ok = subprocess.CompletedProcess[str]([], 0, "", "")
    monkeypatch.setattr(bench_day, "load_dotenv", lambda: None)
    monkeypatch.setattr(bench_day, "local_postgres", lambda env, action: ok)
    monkeypatch.setattr(bench_day, "port_in_use", lambda port: False)
    monkeypatch.setattr(bench_day, "prepare_state", lambda state: None)
    monkeypatch.setattr(bench_day, "start_warehouse", lambda env: warehouse)
    monkeypatch.setattr(bench_day, "stop_warehouse", stopped.append)

    def run_day(number: int, *args: object) -> DayResult:
        if number == 1:  # Ctrl-C during day 1; unnoticed, the day would end as failed
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(2)
            return DayResult(1, -signal.SIGKILL, 2.0, Baseline(10.0, 8.0, 3000), (1.0, 1.0))
        return day(0, 100.0, {"extract_load": 20.0}, 900, None)

    monkeypatch.setattr(bench_day, "run_day", run_day)
    code = bench_day.main(["--records", "1000", "--state-dir", str(tmp_path / "state")])
    assert code == EXIT_INTERRUPTED
    assert stopped == [warehouse]
    out = capsys.readouterr().out
    assert "=== day 0 " in out and "=== targets" in out
    assert '"day0_seconds": 100.0' in out.splitlines()[-1]


def test_a_benchmark_whose_job_failed_exits_1() -> None:
    assert bench_day.exit_code([day(0, 1.0, {}, 1, None)], interrupted=False) == 1
    assert bench_day.exit_code([day(0, 1.0, {}, 1, None), day(1, 1.0, {}, 1, None)], interrupted=False) == 0
    assert bench_day.exit_code([day(0, 1.0, {}, 1, None)], interrupted=True) == EXIT_INTERRUPTED
