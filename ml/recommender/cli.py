"""``moovitamix-ml``: the recommender's command line (run, evaluate, serve, mlflow-ui)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import RecommenderError
from .events import emit, setup_logging
from .settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moovitamix-ml",
        description="Train, evaluate, gate, score and serve the MooVitamix ALS recommender.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="decide ► train + evaluate + gate in MLflow ► write ml.user_recommendations",
        description="Every option defaults to its environment variable (see README), "
        "then to the built-in default.",
    )
    evaluate = sub.add_parser(
        "evaluate",
        help="train and evaluate on a CSV; the last stdout line is the metrics as JSON",
    )
    evaluate.add_argument(
        "--interactions",
        type=Path,
        required=True,
        help="CSV of user_id,track_id[,weight][,timestamp]",
    )
    for command in (run, evaluate):
        command.add_argument("--rank", type=int, help="ALS rank (env ALS_RANK)")
        command.add_argument("--reg-param", type=float, help="ALS regParam (env ALS_REG_PARAM)")
        command.add_argument("--alpha", type=float, help="ALS alpha (env ALS_ALPHA)")
        command.add_argument("--max-iter", type=int, help="ALS maxIter (env ALS_MAX_ITER)")
        command.add_argument("--seed", type=int, help="ALS seed (env ALS_SEED)")
        command.add_argument("--spark-master", help="Spark master URL (env SPARK_MASTER)")
    run.add_argument(
        "--top-n", type=int, help="recommendations per user (env RECOMMENDATIONS_TOP_N)"
    )
    run.add_argument(
        "--force-retrain",
        action="store_const",
        const=True,
        help="retrain even if the interactions did not change (env RETRAIN_FORCE)",
    )
    serve = sub.add_parser("serve", help="the read API on ml.user_recommendations")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8200)
    ui = sub.add_parser("mlflow-ui", help="the MLflow UI on the tracking store the runs use")
    ui.add_argument("--port", type=int, default=5000)
    return parser


def _fail(reason: str, code: int = 1) -> int:
    emit("run_failed", level=logging.ERROR, reason=reason)
    print(f"error: {reason}", file=sys.stderr)
    return code


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        name: getattr(args, name, None)
        for name in (
            "rank",
            "reg_param",
            "alpha",
            "max_iter",
            "seed",
            "spark_master",
            "top_n",
            "force_retrain",
        )
    }
    return Settings.from_env().with_overrides(**overrides).checked()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging()
    try:
        settings = _settings(args)
    except ValueError as exc:  # a malformed or out-of-range setting
        return _fail(str(exc))
    # Imported here so `--help` and settings errors answer without loading Spark/MLflow.
    try:
        if args.command == "serve":
            import uvicorn

            from .serve import create_app

            uvicorn.run(
                create_app(settings.warehouse.as_reader()),
                host=args.host,
                port=args.port,
                log_level="warning",
                access_log=False,
            )
        elif args.command == "mlflow-ui":
            # One worker: the store is a local SQLite file unless a server is configured.
            ui_args = ["ui", "--workers", "1", "--host", "127.0.0.1", "--port", str(args.port)]
            store = ["--backend-store-uri", settings.mlflow_tracking_uri]
            artifacts = ["--default-artifact-root", settings.mlflow_artifact_location]
            os.execvp("mlflow", ["mlflow", *ui_args, *store, *artifacts])
        elif args.command == "evaluate":
            from .offline import evaluate_csv, print_result

            print_result(evaluate_csv(args.interactions, settings))
        else:
            from .pipeline import run

            run(settings)
    except RecommenderError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted", code=130)
    return 0


if __name__ == "__main__":
    sys.exit(main())
