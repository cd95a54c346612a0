"""`make bench-candidates`: what scoring every user against the most listened tracks only
(RECOMMENDATIONS_CANDIDATE_POOL) costs in quality, against exact scoring (every track),
measured in the same run on the same model.

The data is the stand-in's realistic day 0 (benchmarks/ml/standin_data.py's CSV, by
default 100,000 users and 100,000 tracks), read by Spark itself, split and evaluated the
way the daily job does (recommender.train.HoldOut). One ALS model is fitted; each pool
size then builds the evaluated users' lists and gets NDCG@10 and its scoring time. The
platform's target: NDCG@10 with the default pool >= 95 % of exact scoring.

Runs in the recommender's venv:
    python benchmarks/bench_candidate_pool.py --data DIR [--pools 0,50000,20000,10000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from recommender.events import setup_logging
from recommender.idmap import apply_mapping, empty_mapping, new_entries
from recommender.interactions import split_for_evaluation
from recommender.offline import read_interactions_csv
from recommender.settings import Settings
from recommender.spark import spark_session
from recommender.train import HoldOut, fit_als

TARGET_SHARE = 0.95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="standin_data.py's output")
    parser.add_argument("--pools", default="0,50000,20000,10000", help="0 means every track")
    args = parser.parse_args()
    pools = [int(p) for p in args.pools.split(",")]
    settings = Settings.from_env()
    setup_logging()

    with spark_session(settings, with_jdbc=False) as spark:
        raw = read_interactions_csv(spark, args.data / "listens.csv").cache()
        users = new_entries(empty_mapping(spark), raw.select("user_id")).cache()
        tracks = new_entries(empty_mapping(spark), raw.select("track_id")).cache()
        interactions = apply_mapping(raw, users, tracks).cache()
        split = split_for_evaluation(interactions, settings.holdout_fraction, settings.holdout_seed)
        hold_out = HoldOut.of(split, settings.eval_k)
        started = time.perf_counter()
        model = fit_als(split.train, settings.als)
        fit_seconds = time.perf_counter() - started
        print(
            f"data: {interactions.count()} interactions, {users.count()} users, "
            f"{hold_out.catalogue_size} tracks in training; hold-out {hold_out.test_rows} pairs "
            f"({split.method}); ALS fit {fit_seconds:.1f} s"
        )
        results: dict[int, tuple[float, float]] = {}
        for pool in pools:
            started = time.perf_counter()
            ndcg = hold_out.metrics(model, pool)["ndcg_at_10"]
            results[pool] = (ndcg, time.perf_counter() - started)
        popularity = hold_out.metrics(None, 0)["ndcg_at_10"]

    exact = results.get(0)
    print(f"\n{'candidate pool':>16} {'NDCG@10':>9} {'vs exact':>9} {'scoring s':>10}")
    for pool, (ndcg, seconds) in results.items():
        share = f"{ndcg / exact[0]:9.3f}" if exact else f"{'-':>9}"
        print(f"{pool or 'every track':>16} {ndcg:9.4f} {share} {seconds:10.1f}")
    print(f"{'popularity':>16} {popularity:9.4f}")
    default = settings.candidate_pool
    if exact and default in results:
        share = results[default][0] / exact[0]
        verdict = "met" if share >= TARGET_SHARE else "NOT MET"
        print(f"\ndefault pool {default}: {share:.3f} of exact NDCG@10 (target >= {TARGET_SHARE}): {verdict}")
    print(
        json.dumps(
            {
                "pools": {str(p): {"ndcg_at_10": n, "scoring_seconds": s} for p, (n, s) in results.items()},
                "popularity_ndcg_at_10": popularity,
                "default_pool": default,
            }
        )
    )


if __name__ == "__main__":
    main()
