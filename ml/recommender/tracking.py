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

import json
import platform
import time

import mlflow
import mlflow.spark
import pandas as pd
import pyspark
from mlflow.data.dataset_source import DatasetSource
from mlflow.data.dataset_source_registry import register_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.exceptions import MlflowException
from mlflow.models import Model, ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types import ColSpec, DataType, Schema
from pyspark.ml import PipelineModel
from pyspark.ml.recommendation import ALSModel
from pyspark.sql.types import StructType

from .candidates import Candidate
from .policy import Champion
from .settings import AlsParams, Settings

CHAMPION_ALIAS = "champion"
# Tag of every run that trained a model and of every model version: the fingerprint of the
# interactions it learnt from, which the retraining policy compares with today's.
FINGERPRINT_TAG = "data_fingerprint"
# The other tags of a model version: the gate's verdict and the NDCG@10 it was judged on.
DECISION_TAG = "gate_decision"
NDCG_TAG = "ndcg_at_10"
INTERACTIONS_DATASET = "marts.user_track_interactions"
# The model's signature: ALS scores (user, track) pairs of dense indices (idmap.py, Spark
# ints, never null) and returns the predicted preference. Declared, not inferred: MLflow's
# inference warns about any integer column (it might hold missing values at inference,
# mlflow/types/utils.py), which these never do.
MODEL_SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec(DataType.integer, "user_idx"), ColSpec(DataType.integer, "track_idx")]),
    outputs=Schema([ColSpec(DataType.float, "prediction")]),
)
MODEL_INPUTS = MODEL_SIGNATURE.inputs.input_names()
# Spark's types (DataType.typeName()) as MLflow's, for the dataset's schema.
_MLFLOW_TYPES = {
    "integer": DataType.integer,
    "long": DataType.long,
    "float": DataType.float,
    "double": DataType.double,
    "boolean": DataType.boolean,
    "string": DataType.string,
    "binary": DataType.binary,
    "timestamp": DataType.datetime,
    "timestamp_ntz": DataType.datetime,
    "date": DataType.datetime,
}


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


def log_child_run(name: str, params: Mapping[str, Any], metrics: Mapping[str, float]) -> str:
    """A run nested in the active one (a candidate of the search): its settings and how
    it did. It carries no data fingerprint, so the skip rule never counts it."""
    with mlflow.start_run(run_name=name, nested=True) as run:
        log_params(params)
        log_metrics(metrics)
    return run.info.run_id


class WarehouseTableSource(DatasetSource):
    """A table of the PostgreSQL warehouse, as the job's Spark JDBC source reads it."""

    def __init__(self, url: str, table: str):
        self.url = url
        self.table = table

    @staticmethod
    def _get_source_type() -> str:
        return "postgres"

    def load(self):  # pragma: no cover - the job reads it through Spark's JDBC source
        raise MlflowException(f"{self.table} is read by `moovitamix-ml run` (jdbc.py)")

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False  # only ever built explicitly, never guessed from a string

    @classmethod
    def _resolve(cls, raw_source: Any) -> WarehouseTableSource:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "table": self.table}

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> WarehouseTableSource:
        return cls(url=source_dict["url"], table=source_dict["table"])


# So `mlflow.data.get_source(run.inputs.dataset_inputs[0])` rebuilds it.
register_dataset_source(WarehouseTableSource)


class InteractionsDataset(MetaDataset):
    """The interactions a run read, described without collecting them: the digest is the
    job's fingerprint (interactions.fingerprint, summed by the executors), the schema is
    the Spark DataFrame's and the profile holds the row count and the data version."""

    def __init__(
        self, source: DatasetSource, name: str, digest: str, schema, profile: dict[str, Any]
    ):
        self._profile = profile
        super().__init__(source=source, name=name, digest=digest, schema=schema)

    @property
    def profile(self) -> dict[str, Any]:
        return self._profile

    def to_dict(self) -> dict[str, str]:
        return {**super().to_dict(), "profile": json.dumps(self._profile)}


def dataset_schema(schema: StructType) -> Schema:
    return Schema(
        [
            ColSpec(
                _MLFLOW_TYPES.get(field.dataType.typeName(), DataType.string),
                field.name,
                required=not field.nullable,
            )
            for field in schema.fields
        ]
    )


def log_interactions(
    settings: Settings,
    schema: StructType,
    rows: int,
    fingerprint: str,
    profile: Mapping[str, Any],
    context: str,
) -> InteractionsDataset:
    """Log the run's interactions as an MLflow dataset (the run's Datasets tab)."""
    warehouse = settings.warehouse
    dataset = InteractionsDataset(
        source=WarehouseTableSource(
            f"postgresql://{warehouse.host}:{warehouse.port}/{warehouse.dbname}",
            INTERACTIONS_DATASET,
        ),
        name=INTERACTIONS_DATASET,
        digest=fingerprint,
        schema=dataset_schema(schema),
        profile={"num_rows": rows, **profile},
    )
    mlflow.log_input(dataset, context=context)
    return dataset


def log_and_register_model(
    model: ALSModel,
    settings: Settings,
    dfs_tmpdir: Path,
    example: pd.DataFrame,
    tags: Mapping[str, Any],
) -> RegisteredModel:
    """Log the fitted ALS model in the active run (an MLflow 3 logged model, with its
    signature and ``example`` as input example) and register it as a new version tagged
    with ``tags``.

    ``mlflow.spark.log_model`` has no ``name=`` in MLflow 3.17 (it still takes the MLflow 2
    positional artifact path and logs through ``Model._log_v2``, without a logged model),
    so the model goes through ``Model.log``, which every MLflow 3 flavour uses, with the
    spark flavour. The environment is given whole (``conda_env``): otherwise MLflow infers
    the requirements by loading the model in a subprocess (a second JVM, ~15 s), may consult
    package indexes, and warns that it cannot pin ``pip``, which the job's venv (made by uv)
    does not have.
    """
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_and_register_model needs an active MLflow run")
    dfs_tmpdir.mkdir(parents=True, exist_ok=True)
    inputs = example[MODEL_INPUTS]
    info = Model.log(
        artifact_path=None,
        name="als",
        flavor=mlflow.spark,
        spark_model=model,
        registered_model_name=settings.registered_model_name,
        signature=MODEL_SIGNATURE,
        input_example=inputs,
        tags={name: str(value) for name, value in tags.items()},
        conda_env={
            "name": "mlflow-env",
            "channels": ["conda-forge"],
            "dependencies": [
                f"python={platform.python_version()}",
                "pip",
                {"pip": [f"mlflow=={mlflow.__version__}", f"pyspark=={pyspark.__version__}"]},
            ],
        },
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


def describe(settings: Settings, version: str, description: str) -> None:
    """The registered model's description (what it is, what the alias means) and this
    version's (the gate's verdict on it)."""
    policy = settings.policy
    client = MlflowClient()
    client.update_registered_model(
        settings.registered_model_name,
        description=(
            "Implicit-feedback ALS (Spark ML) trained daily by `moovitamix-ml run` on "
            f"{INTERACTIONS_DATASET}; input (user_idx, track_idx), the dense indices of "
            "ml.user_index / ml.track_index, output the predicted preference. "
            f"Alias `{CHAMPION_ALIAS}`: the version whose lists are published in "
            "ml.user_recommendations; it moves only to a version that passes the gate "
            f"(NDCG@10 >= {policy.gate_min_popularity_lift:g} x popularity's and >= the "
            f"champion's - {policy.gate_ndcg_tolerance:g}, on the same hold-out). Every "
            f"version is tagged `{DECISION_TAG}`, `{NDCG_TAG}` (on its run's hold-out) and "
            f"`{FINGERPRINT_TAG}` (the interactions it learnt, the dataset's digest)."
        ),
    )
    client.update_model_version(settings.registered_model_name, version, description=description)


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
    # The version's own tag; versions registered before it existed: their run's tag.
    fingerprint = version.tags.get(FINGERPRINT_TAG) or (
        data.tags.get(FINGERPRINT_TAG) if data else None
    )
    als = AlsParams.from_mlflow_params(data.params) if data else None
    return Champion(
        version=str(version.version),
        age_days=age_days,
        ndcg_at_10=data.metrics.get("model_ndcg_at_10") if data else None,
        fingerprint=fingerprint,
        # Versions registered before the search logged their settings serve ALS, with
        # settings nobody recorded: a search is then due.
        served=Candidate.from_tags(version.tags, als) if als else None,
        data_max_updated_at=data.params.get("data_max_updated_at") if data else None,
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
