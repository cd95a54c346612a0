"""MLflow tracking + model registry, configured to work fully offline."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# MLflow 3 sends usage telemetry to a remote endpoint by default. These machines have
# no network, so every attempt would be a wasted timeout; set before importing mlflow
# because the flag is read at import/first use.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# MLflow configures its own loggers at INFO on import ("Creating initial MLflow database
# tables...", "Created version '3'..."); the job logs its own lines for those events.
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

import time

import mlflow
import mlflow.spark
import pyspark
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from pyspark.ml import PipelineModel
from pyspark.ml.recommendation import ALSModel

from .policy import Champion
from .settings import Settings

CHAMPION_ALIAS = "champion"
# Tag of every run that trained a model: the fingerprint of the interactions it learnt
# from, which the retraining policy compares with today's.
FINGERPRINT_TAG = "data_fingerprint"


@dataclass(frozen=True)
class RegisteredModel:
    run_id: str
    model_uri: str
    name: str
    version: str


def configure(settings: Settings) -> str:
    """Point MLflow at the tracking store and make sure the experiment exists.

    The experiment is created with an explicit artifact location under the project
    (``.mlflow/artifacts``): MLflow's default for a sqlite store is ``./mlruns``
    relative to whatever the cwd happens to be.
    """
    uri = settings.mlflow_tracking_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient()
    experiment = client.get_experiment_by_name(settings.mlflow_experiment)
    if experiment is None:
        settings.mlflow_artifact_dir.mkdir(parents=True, exist_ok=True)
        experiment_id = client.create_experiment(
            settings.mlflow_experiment, artifact_location=settings.mlflow_artifact_location
        )
    else:
        experiment_id = experiment.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def log_params(params: Mapping[str, Any]) -> None:
    mlflow.log_params(dict(params))


def log_metrics(metrics: Mapping[str, float]) -> None:
    mlflow.log_metrics({name: float(value) for name, value in metrics.items()})


def log_and_register_model(
    model: ALSModel, settings: Settings, dfs_tmpdir: Path
) -> RegisteredModel:
    """Log the fitted ALS model in the active run and register a new version.

    ``pip_requirements`` is given explicitly: otherwise MLflow infers it by loading the
    model in a subprocess (a second JVM, ~15 s) and may consult package indexes.
    """
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_and_register_model needs an active MLflow run")
    dfs_tmpdir.mkdir(parents=True, exist_ok=True)
    info = mlflow.spark.log_model(
        model,
        "model",
        registered_model_name=settings.registered_model_name,
        pip_requirements=[f"pyspark=={pyspark.__version__}", f"mlflow=={mlflow.__version__}"],
        dfs_tmpdir=str(dfs_tmpdir.resolve()),
    )
    version = info.registered_model_version
    if version is None:
        raise RuntimeError(f"MLflow did not register {settings.registered_model_name!r}")
    return RegisteredModel(
        run_id=run.info.run_id,
        model_uri=f"models:/{settings.registered_model_name}/{version}",
        name=settings.registered_model_name,
        version=str(version),
    )


def champion(settings: Settings) -> Champion | None:
    """The version behind the ``champion`` alias, its age, its logged NDCG@10 and the
    fingerprint of the interactions it learnt."""
    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(settings.registered_model_name, CHAMPION_ALIAS)
    except MlflowException:  # no registered model yet, or no alias set
        return None
    data = client.get_run(version.run_id).data if version.run_id else None
    age_days = (time.time() * 1000 - version.creation_timestamp) / 86_400_000
    return Champion(
        version=str(version.version),
        age_days=age_days,
        ndcg_at_10=data.metrics.get("model_ndcg_at_10") if data else None,
        fingerprint=data.tags.get(FINGERPRINT_TAG) if data else None,
    )


def last_trained_fingerprint(experiment_id: str) -> str | None:
    """The interactions the last training learnt, counting only runs that finished: a
    training that failed or was killed (its run left FAILED or RUNNING) trained nothing
    that serves, so the next run on the same data trains again instead of skipping."""
    runs = MlflowClient().search_runs(
        [experiment_id],
        filter_string=f"tags.{FINGERPRINT_TAG} != '' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].data.tags.get(FINGERPRINT_TAG) if runs else None


def load_champion(settings: Settings, dfs_tmpdir: Path) -> ALSModel:
    dfs_tmpdir.mkdir(parents=True, exist_ok=True)
    loaded = mlflow.spark.load_model(
        f"models:/{settings.registered_model_name}@{CHAMPION_ALIAS}",
        dfs_tmpdir=str(dfs_tmpdir.resolve()),
    )
    # mlflow.spark saves a bare model wrapped in a one-stage PipelineModel.
    model = loaded.stages[0] if isinstance(loaded, PipelineModel) else loaded
    if not isinstance(model, ALSModel):
        raise RuntimeError(f"the champion is a {type(model).__name__}, not an ALSModel")
    return model


def promote(settings: Settings, version: str) -> None:
    MlflowClient().set_registered_model_alias(
        settings.registered_model_name, CHAMPION_ALIAS, version
    )
