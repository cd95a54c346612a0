"""What a run may skip on: only the fingerprint of a training that finished, or the one
the champion learnt; what the MLflow dataset describes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient
from pyspark.sql.types import IntegerType, LongType, StructField, StructType, TimestampType

from recommender import tracking
from recommender.settings import Settings


def trained(client: MlflowClient, experiment_id: str, fingerprint: str, status: str | None) -> None:
    """A training run tagged with its data; status None: killed, left RUNNING."""
    run = client.create_run(experiment_id, tags={tracking.FINGERPRINT_TAG: fingerprint})
    if status is not None:
        client.set_terminated(run.info.run_id, status=status)


def test_only_a_finished_training_lets_the_next_run_skip(tmp_path: Path) -> None:
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    client = MlflowClient()
    experiment_id = client.create_experiment("runs", artifact_location=str(tmp_path / "artifacts"))
    assert tracking.last_trained_fingerprint(experiment_id) is None

    trained(client, experiment_id, "day-1", "FINISHED")
    assert tracking.last_trained_fingerprint(experiment_id) == "day-1"

    trained(client, experiment_id, "day-2", "FAILED")
    trained(client, experiment_id, "day-2", None)
    assert tracking.last_trained_fingerprint(experiment_id) == "day-1"

    trained(client, experiment_id, "day-2", "FINISHED")
    assert tracking.last_trained_fingerprint(experiment_id) == "day-2"


def test_the_champion_fingerprint_is_its_version_tag_else_its_run_tag(tmp_path: Path) -> None:
    """The skip rule compares today's data with what the champion learnt: the version's
    ``data_fingerprint`` tag, or its run's for versions registered before versions had it."""
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    client = MlflowClient()
    experiment_id = client.create_experiment("runs", artifact_location=str(tmp_path / "artifacts"))
    settings = replace(Settings.from_env(), registered_model_name="als")
    assert tracking.champion(settings) is None
    client.create_registered_model("als")

    def register(run_tag: str, version_tags: dict[str, str]) -> str:
        run = client.create_run(experiment_id, tags={tracking.FINGERPRINT_TAG: run_tag})
        client.log_metric(run.info.run_id, "model_ndcg_at_10", 0.25)
        version = client.create_model_version(
            "als", str(tmp_path / "artifacts" / run_tag), run.info.run_id, tags=version_tags
        ).version
        tracking.promote(settings, str(version))
        return str(version)

    assert register("legacy-run", {}) == "1"
    champion = tracking.champion(settings)
    assert champion is not None and champion.fingerprint == "legacy-run"
    assert champion.version == "1" and champion.ndcg_at_10 == 0.25

    register("run-tag", {tracking.FINGERPRINT_TAG: "version-tag"})
    champion = tracking.champion(settings)
    assert champion is not None and champion.version == "2"
    assert champion.fingerprint == "version-tag"


def test_the_dataset_schema_is_the_spark_schema_without_collecting() -> None:
    schema = StructType(
        [
            StructField("user_id", LongType(), nullable=False),
            StructField("weight", IntegerType(), nullable=False),
            StructField("seen_at", TimestampType(), nullable=True),
        ]
    )
    assert tracking.dataset_schema(schema).to_dict() == [
        {"type": "long", "name": "user_id", "required": True},
        {"type": "integer", "name": "weight", "required": True},
        {"type": "datetime", "name": "seen_at", "required": False},
    ]
