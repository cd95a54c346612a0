"""`moovitamix-ml run` day after day against a real Postgres, MLflow in a temp dir:
first model promoted after a search, unchanged data skipped (new users still served),
a few new listens scored by the champion without retraining, more of them retrained on a
time split and refused by the gate, operator-forced retrain promoted with the champion's
settings reused.
Each step checks the table, the champion alias and the ledger row; what MLflow records
(dataset, signature, version tags and descriptions) is checked on the way, and no run
may make MLflow warn."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import mlflow
import psycopg
import pytest
from mlflow.tracking import MlflowClient
from pyspark.sql import SparkSession

from recommender.cli import main

from .synthetic import genre_of, synthetic_listens

pytestmark = pytest.mark.integration
DAY0 = datetime(2026, 11, 1, 6, tzinfo=timezone.utc)
N_TRACKS = 40


def _load(conn: psycopg.Connection, rows: list[tuple[int, int]], seen_at: datetime) -> None:
    counts: dict[tuple[int, int], int] = {}
    for pair in rows:
        counts[pair] = counts.get(pair, 0) + 1
    with conn.cursor() as cur:
        with cur.copy("copy marts.user_track_interactions from stdin") as copy:
            for (user_id, track_id), count in counts.items():
                copy.write_row((user_id, track_id, count, seen_at, seen_at))
        cur.execute(
            "insert into marts.dim_users select distinct user_id, 'genre-' || (user_id % 4) "
            "from marts.user_track_interactions on conflict do nothing"
        )


def _ledger(conn: psycopg.Connection) -> list[dict]:
    cur = conn.execute("select * from ml.training_runs order by started_at")
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _recs(conn: psycopg.Connection) -> dict[int, list[tuple]]:
    by_user: dict[int, list[tuple]] = {}
    for row in conn.execute(
        "select user_id, rank, track_id, score, model_version, generated_at "
        "from ml.user_recommendations order by user_id, rank"
    ):
        by_user.setdefault(row[0], []).append(row)
    return by_user


def _run(capsys: pytest.CaptureFixture[str], recwarn: pytest.WarningsRecorder) -> str:
    """One job run; fails on any warning MLflow emits, as a Python warning (its own, or
    one it triggers in a library it calls) or on its logger."""
    recwarn.clear()
    assert main(["run"]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    from_mlflow = [
        f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
        for w in recwarn
        if "mlflow" in w.filename or "mlflow" in str(w.message).lower()
    ]
    assert not from_mlflow, from_mlflow
    assert not re.findall(r"^.*(?:WARNING|ERROR) mlflow.*$", err, re.MULTILINE), err
    return err


def _dataset(client: MlflowClient, run_id: str) -> tuple[object, dict[str, str]]:
    (dataset_input,) = client.get_run(run_id).inputs.dataset_inputs
    return dataset_input.dataset, {tag.key: tag.value for tag in dataset_input.tags}


def _version_tags(client: MlflowClient, version: str) -> dict[str, str]:
    return client.get_model_version("moovitamix-als", version).tags


def _child_runs(client: MlflowClient, run_id: str) -> list:
    experiment_id = client.get_run(run_id).info.experiment_id
    return client.search_runs(
        [experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run_id}'"
    )


def test_daily_runs_promote_skip_refuse_and_force(
    warehouse: psycopg.Connection,
    job_env: Path,
    spark: SparkSession,  # the job reuses the session's Spark (it only stops its own)
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    recwarn: pytest.WarningsRecorder,
) -> None:
    with warehouse.cursor() as cur, cur.copy("copy marts.dim_tracks from stdin") as copy:
        for i in range(N_TRACKS):
            copy.write_row((5000 + i, genre_of(5000 + i)))
    rows = synthetic_listens(n_users=50, n_tracks=N_TRACKS)
    _load(warehouse, rows, DAY0)
    # A track absent from dim_tracks that many users listened to: it must never be served.
    warehouse.execute(
        "insert into marts.user_track_interactions "
        "select distinct user_id, 777777, 3, %s, %s from marts.user_track_interactions "
        "where user_id < 1040",
        (DAY0, DAY0),
    )
    # A user without any listen: cold start.
    warehouse.execute("insert into marts.dim_users values (1, 'genre-2')")
    client = MlflowClient(tracking_uri=f"sqlite:///{job_env.resolve()}/.mlflow/mlflow.db")

    # Day 1: first model, promoted.
    monkeypatch.setenv("MOOVITAMIX_RUN_ID", "day-1")
    log = _run(capsys, recwarn)
    first = _ledger(warehouse)[-1]
    assert first["run_id"] == "day-1"
    assert first["decision"] == "promoted", first
    assert (
        first["candidate"] == "als"
        and "chosen on the per_user validation split" in (first["reason"])
    )
    assert first["model_version"] == "1" and first["interactions_rows"] == 50 * 6
    assert first["ndcg_at_10"] > first["popularity_ndcg_at_10"] > 0
    assert first["users_scored"] == 51 and first["cold_start_users"] == 1
    assert 0 < first["coverage"] <= 1
    assert "event=run_complete" in log.splitlines()[-1]
    assert "decision=promoted" in log.splitlines()[-1]
    recs = _recs(warehouse)
    history: dict[int, set[int]] = {}
    for user_id, track_id in rows:
        history.setdefault(user_id, set()).add(track_id)
    assert set(recs) == set(history) | {1}
    for user_id, user_recs in recs.items():
        assert [r[1] for r in user_recs] == list(range(1, 11))
        tracks = {r[2] for r in user_recs}
        assert len(tracks) == 10 and not tracks & history.get(user_id, set())
        assert 777777 not in tracks
    # Cold start: the favourite genre's tracks first (the genre has 10 tracks).
    assert {genre_of(r[2]) for r in recs[1]} == {"genre-2"}
    assert {r[4] for rs in recs.values() for r in rs} == {"1"}
    assert str(client.get_model_version_by_alias("moovitamix-als", "champion").version) == "1"
    run = client.get_run(first["mlflow_run_id"])
    for name in ("precision_at_10", "recall_at_10", "map_at_10", "ndcg_at_10", "coverage"):
        assert f"model_{name}" in run.data.metrics and f"baseline_{name}" in run.data.metrics
    assert run.data.params["data_interactions_rows"] == "300"
    assert run.data.params["split_method"] == "per_user"
    assert run.data.params["data_max_updated_at"].startswith("2026-11-01")
    assert run.data.tags["decision"] == "promoted"
    # The search: two ALS settings, then plain and recent popularity (two half-lives),
    # each a nested run; the parent holds the settings that went to the gate.
    children = _child_runs(client, first["mlflow_run_id"])
    assert sorted(c.data.params["candidate"] for c in children) == [
        "als",
        "als",
        "popularity",
        "recent_popularity",
        "recent_popularity",
    ]
    assert all("validation_ndcg_at_10" in c.data.metrics for c in children)
    assert run.data.params["search_fits"] == "2" and run.data.params["candidate"] == "als"
    assert run.data.params["als_rank"] == "8" and "validation_ndcg_at_10" in run.data.metrics
    assert "event=search_trial" in log and "event=search_done" in log
    # The Datasets tab: the interactions, digest = the fingerprint, with their row count.
    dataset, input_tags = _dataset(client, first["mlflow_run_id"])
    assert dataset.name == "marts.user_track_interactions"
    assert dataset.digest == first["data_fingerprint"] == run.data.params["data_fingerprint"]
    assert dataset.source_type == "postgres"
    assert json.loads(dataset.source)["table"] == "marts.user_track_interactions"
    assert json.loads(dataset.profile)["num_rows"] == 300
    assert {"user_idx", "track_idx", "weight"} <= {
        c["name"] for c in json.loads(dataset.schema)["mlflow_colspec"]
    }
    assert input_tags["mlflow.data.context"] == "training"
    # The version: tagged with the gate's verdict, its NDCG@10 and its data; described.
    assert _version_tags(client, "1") == {
        "gate_decision": "promoted",
        "ndcg_at_10": str(first["ndcg_at_10"]),
        "data_fingerprint": first["data_fingerprint"],
        "candidate": "als",
        "popularity_half_life_days": "0.0",
    }
    champion_version = client.get_model_version("moovitamix-als", "1")
    assert champion_version.run_id == first["mlflow_run_id"]
    assert champion_version.description.startswith("Promoted to `champion` (promoted")
    assert "Alias `champion`" in client.get_registered_model("moovitamix-als").description
    # The logged model (MLflow 3: a model of the run, named), its signature and example.
    info = mlflow.models.get_model_info("models:/moovitamix-als@champion")
    assert info.name == "als" and info.run_id == first["mlflow_run_id"]
    assert info.signature.inputs.input_names() == ["user_idx", "track_idx"]
    assert [c.type.name for c in info.signature.inputs.inputs] == ["integer", "integer"]
    assert info.signature.outputs.input_names() == ["prediction"]
    assert info.saved_input_example_info is not None
    (output,) = run.outputs.model_outputs
    assert output.model_id == info.model_id
    assert champion_version.source == f"models:/{info.model_id}"

    # Day 2: same interactions, one new user: no training, the new user is served.
    warehouse.execute("insert into marts.dim_users values (2, 'genre-1')")
    monkeypatch.setenv("MOOVITAMIX_RUN_ID", "day-2")
    _run(capsys, recwarn)
    second = _ledger(warehouse)[-1]
    assert second["decision"] == "skipped", second
    assert "unchanged" in second["reason"] and second["model_version"] == "1"
    assert second["ndcg_at_10"] is None and second["champion_ndcg_at_10"] is not None
    assert second["candidate"] is None and not _child_runs(client, second["mlflow_run_id"])
    assert 2 in _recs(warehouse) and second["cold_start_users"] == 2
    # The champion still serves and no history grew: the users it knows keep their lists
    # (but those due in the rotation), copied into the new publication.
    kept = client.get_run(second["mlflow_run_id"]).data.metrics["users_kept"]
    assert 0 < kept <= 50, kept
    republished = _recs(warehouse)
    assert len({r[5] for rs in republished.values() for r in rs}) == 1
    assert republished[1000][0][5] > recs[1000][0][5]
    # Same model, same data: the users scored again get the same lists too (their scores
    # up to float32 rounding: BLAS sums a block of users in its own order).
    for user_id, user_recs in recs.items():
        assert [r[1:3] for r in republished[user_id]] == [r[1:3] for r in user_recs]
        assert [r[3] for r in republished[user_id]] == pytest.approx([r[3] for r in user_recs])
    assert len(client.search_model_versions("name='moovitamix-als'")) == 1
    dataset, input_tags = _dataset(client, second["mlflow_run_id"])
    assert dataset.digest == first["data_fingerprint"] and input_tags["mlflow.data.context"] == (
        "scoring"
    )

    # Day 3, morning: new listens arrive later (about 1/6 of the pairs), fewer than the share
    # that calls for a retraining: the champion scores them, and no list offers a track
    # its user has now heard.
    later = [
        (u, t)
        for u, t in synthetic_listens(n_users=50, n_tracks=N_TRACKS, seed=8)
        if (u, t) not in set(rows)
    ][:60]
    _load(warehouse, later, DAY0 + timedelta(days=1))
    monkeypatch.setenv("RETRAIN_MIN_CHANGED_SHARE", "0.5")
    monkeypatch.setenv("MOOVITAMIX_RUN_ID", "day-3-light")
    _run(capsys, recwarn)
    light = _ledger(warehouse)[-1]
    assert light["decision"] == "skipped" and light["model_version"] == "1", light
    share = len(set(later)) / light["interactions_rows"]
    assert f"{share:.1%} of the interactions are new since champion v1's training" in (
        light["reason"]
    )
    assert light["data_fingerprint"] != first["data_fingerprint"]
    params = client.get_run(light["mlflow_run_id"]).data.params
    assert params["data_changed_share"] == str(round(share, 4))
    heard = set(rows) | set(later)
    published = {(user, r[2]) for user, rs in _recs(warehouse).items() for r in rs}
    assert published and not published & heard
    assert len(client.search_model_versions("name='moovitamix-als'")) == 1
    monkeypatch.delenv("RETRAIN_MIN_CHANGED_SHARE")

    # Day 3: the same listens, at the default share they call for a retraining (a time
    # split); the gate is made unpassable: the challenger is registered, the champion
    # stays and serves.
    monkeypatch.setenv("GATE_NDCG_TOLERANCE", "-1")
    monkeypatch.setenv("MOOVITAMIX_RUN_ID", "day-3")
    _run(capsys, recwarn)
    third = _ledger(warehouse)[-1]
    assert third["decision"] == "kept_champion", third
    assert client.get_run(third["mlflow_run_id"]).data.params["split_method"] == "time"
    assert third["champion_ndcg_at_10"] is not None
    assert "below champion" in third["reason"]
    assert third["model_version"] == "1" and {
        r[4] for rs in _recs(warehouse).values() for r in rs
    } == {"1"}
    assert str(client.get_model_version_by_alias("moovitamix-als", "champion").version) == "1"
    assert len(client.search_model_versions("name='moovitamix-als'")) == 2
    # The refused challenger is tagged and described too.
    assert _version_tags(client, "2") == {
        "gate_decision": "kept_champion",
        "ndcg_at_10": str(third["ndcg_at_10"]),
        "data_fingerprint": third["data_fingerprint"],
        "candidate": third["candidate"],
        "popularity_half_life_days": "0.0",
    }
    assert third["data_fingerprint"] != first["data_fingerprint"]
    refused = client.get_model_version("moovitamix-als", "2").description
    assert refused.startswith("Registered, not promoted (kept_champion") and "v1" in refused
    third_dataset, _ = _dataset(client, third["mlflow_run_id"])
    assert json.loads(third_dataset.profile)["num_rows"] == third["interactions_rows"]

    # Day 4: same data as day 3 (would skip), but the operator forces a retrain; a wide
    # tolerance lets the retrained model through the (same) gate. Fewer interactions are
    # new since the champion's training than the share that calls for a search: the
    # champion's settings are reused, nothing is searched.
    monkeypatch.setenv("SEARCH_MIN_CHANGED_SHARE", "0.5")
    monkeypatch.setenv("GATE_NDCG_TOLERANCE", "1")
    monkeypatch.setenv("RETRAIN_FORCE", "true")
    monkeypatch.setenv("MOOVITAMIX_RUN_ID", "day-4")
    _run(capsys, recwarn)
    fourth = _ledger(warehouse)[-1]
    assert fourth["decision"] == "forced_retrain_promoted", fourth
    assert fourth["model_version"] == "3"
    assert "its settings are reused, no search" in fourth["reason"]
    assert fourth["candidate"] == "als" and not _child_runs(client, fourth["mlflow_run_id"])
    assert client.get_run(fourth["mlflow_run_id"]).data.params["search_fits"] == "0"
    assert str(client.get_model_version_by_alias("moovitamix-als", "champion").version) == "3"
    assert _version_tags(client, "3")["gate_decision"] == "forced_retrain_promoted"
    assert [r["run_id"] for r in _ledger(warehouse)] == [
        "day-1",
        "day-2",
        "day-3-light",
        "day-3",
        "day-4",
    ]


def test_empty_input_fails_clearly_and_is_recorded(
    warehouse: psycopg.Connection,
    job_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MOOVITAMIX_RUN_ID", "empty")
    assert main(["run"]) == 1
    assert "error: marts.user_track_interactions is empty" in capsys.readouterr().err
    row = _ledger(warehouse)[-1]
    assert row["run_id"] == "empty" and row["decision"] == "failed"
