"""``moovitamix-ml``: the recommender job's command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .errors import RecommenderError
from .events import emit, setup_logging
from .settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moovitamix-ml",
        description="Train, evaluate, register and score the MooVitamix ALS recommender.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="train + evaluate + register in MLflow + write ml.user_recommendations",
        description="Every option defaults to its environment variable (see README), "
        "then to the built-in default.",
    )
    run.add_argument("--rank", type=int, help="ALS rank (env ALS_RANK, default 16)")
    run.add_argument(
        "--reg-param", type=float, help="ALS regParam (env ALS_REG_PARAM, default 0.1)"
    )
    run.add_argument("--alpha", type=float, help="ALS alpha (env ALS_ALPHA, default 10)")
    run.add_argument("--max-iter", type=int, help="ALS maxIter (env ALS_MAX_ITER, default 10)")
    run.add_argument("--seed", type=int, help="ALS seed (env ALS_SEED, default 42)")
    run.add_argument(
        "--top-n", type=int, help="recommendations per user (env RECOMMENDATIONS_TOP_N, default 10)"
    )
    run.add_argument("--spark-master", help="Spark master URL (env SPARK_MASTER, default local[*])")
    return parser


def _fail(reason: str, code: int = 1) -> int:
    emit("run_failed", level=logging.ERROR, reason=reason)
    print(f"error: {reason}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging()
    try:
        settings = Settings.from_env().with_overrides(
            rank=args.rank,
            reg_param=args.reg_param,
            alpha=args.alpha,
            max_iter=args.max_iter,
            seed=args.seed,
            top_n=args.top_n,
            spark_master=args.spark_master,
        )
    except ValueError as exc:  # a malformed environment variable
        return _fail(str(exc))
    # Imported here so `--help` and settings errors answer without loading Spark/MLflow.
    from .pipeline import run

    try:
        run(settings)
    except RecommenderError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted", code=130)
    return 0


if __name__ == "__main__":
    sys.exit(main())
