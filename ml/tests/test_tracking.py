"""What a run may skip on: only the fingerprint of a training that finished."""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from recommender import tracking


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
