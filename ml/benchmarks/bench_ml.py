"""``make bench-ml``: the recommender's quality and training speed on the stand-in's
realistic data (>= 20,000 users), against four baselines measured in the same run:
popularity, the oracle (the simulator's true preferences), and the `implicit` library's
ALS on the same training matrix with the same hyper-parameters.

Targets (issue 6): ALS NDCG@10 >= 2.5 x popularity and >= 90 % of the oracle; Spark's
fit time <= 4 x implicit's at equal or better NDCG@10. Both libraries are timed warm: the
median of 3 fits after untimed ones (Spark's first, JIT-cold fit is printed too, it is
what the daily job pays). implicit is also run with 2 x and 4 x the iterations, to show
where its NDCG@10 levels off. The figures are printed, whether or not the targets are met.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.idmap import apply_mapping, empty_mapping, extend_mapping
from recommender.interactions import per_user_split, relevant_by_user, seen_by_user
from recommender.popularity import Popularity, popularity_lists
from recommender.score import als_top_n
from recommender.settings import Settings
from recommender.spark import build_spark, loaded_native_blas
from recommender.train import build_als, ranking_metrics, training_frame

K = 10
TIMED_FITS = 3
IMPLICIT_ITERATION_FACTORS = (1, 2, 4)
GENRE_COUNT = 17
PREFERRED_SHARE = 0.85  # api.histories.PREFERRED_SHARE, the simulator's own constant


def load(data_dir: Path) -> tuple[pd.DataFrame, dict[int, str], dict[int, list[str]]]:
    listens = pd.read_csv(data_dir / "listens.csv")
    pairs = listens.groupby(["user_id", "track_id"]).size().rename("weight").reset_index()
    pairs = pairs.assign(weight=pairs["weight"].astype("float32"), seen_at=pd.NaT)
    users = extend_mapping(empty_mapping(), pairs["user_id"])
    tracks = extend_mapping(empty_mapping(), pairs["track_id"])
    interactions = apply_mapping(pairs, users, tracks)
    genres = pd.read_csv(data_dir / "tracks.csv")
    genre_of_track = {
        int(tracks[t]): g
        for t, g in zip(genres["track_id"], genres["genre"], strict=True)
        if t in tracks.index
    }
    truth = pd.read_csv(data_dir / "truth.csv")
    preferred = {
        int(users[u]): g.split("|")
        for u, g in zip(truth["user_id"], truth["genres"], strict=True)
        if u in users.index
    }
    return interactions, genre_of_track, preferred


def oracle_lists(
    train: pd.DataFrame,
    genre_of_track: dict[int, str],
    preferred: dict[int, list[str]],
    users: list[int],
) -> dict[int, list[int]]:
    """The simulator's own model of a listen: P(track | user) = P(genre | user) x
    P(track | genre), with P(genre | user) from the true preferences (85 % shared by the
    preferred genres, 15 % over all genres) and P(track | genre) from training counts.
    Ranked like every other list: listened tracks removed, best K kept."""
    n_tracks = int(train["track_idx"].max()) + 1
    counts = np.bincount(train["track_idx"], minlength=n_tracks).astype(np.float64)
    names = sorted(set(genre_of_track.values()))
    genre = np.full(n_tracks, -1)
    for track, name in genre_of_track.items():
        if track < n_tracks:
            genre[track] = names.index(name)
    per_genre = np.bincount(genre[genre >= 0], weights=counts[genre >= 0], minlength=len(names))
    within = np.where(genre >= 0, counts / np.maximum(per_genre[genre], 1), 0.0)
    seen = seen_by_user(train)
    lists: dict[int, list[int]] = {}
    for start in range(0, len(users), 1000):
        batch = users[start : start + 1000]
        weights = np.full((len(batch), len(names)), (1 - PREFERRED_SHARE) / GENRE_COUNT)
        for row, user in enumerate(batch):
            liked = [names.index(g) for g in preferred.get(user, []) if g in names]
            weights[row, liked] += PREFERRED_SHARE / max(len(liked), 1)
        scores = weights[:, np.maximum(genre, 0)] * within
        for row, user in enumerate(batch):
            scores[row, list(seen.get(user, ()))] = -1.0
        top = np.argpartition(-scores, K, axis=1)[:, :K]
        for row, user in enumerate(batch):
            lists[user] = sorted(top[row].tolist(), key=lambda t: -scores[row, t])
    return lists


def run_implicit(
    python: Path, train: pd.DataFrame, users: list[int], settings: Settings, work: Path
) -> dict[int, tuple[dict[int, list[int]], float]]:
    """iterations -> (lists, median warm fit seconds), for the platform's iteration count
    and its multiples in IMPLICIT_ITERATION_FACTORS."""
    source, target = work / "implicit-in.npz", work / "implicit-out.npz"
    als = settings.als
    iterations = [als.max_iter * factor for factor in IMPLICIT_ITERATION_FACTORS]
    np.savez(
        source,
        user_idx=train["user_idx"].to_numpy(),
        track_idx=train["track_idx"].to_numpy(),
        weight=train["weight"].to_numpy(),
        users=np.array(users, dtype=np.int32),
        shape=np.array([train["user_idx"].max() + 1, train["track_idx"].max() + 1]),
        params=np.array([als.rank, als.reg_param, als.alpha, als.seed]),
        iterations=np.array(iterations),
    )
    script = Path(__file__).with_name("implicit_als.py")
    subprocess.run([str(python), str(script), str(source), str(target)], check=True)
    out = np.load(target)
    return {
        count: (
            {
                int(u): [int(t) for t in row if t >= 0]
                for u, row in zip(out["users"], out[f"recs_{count}"], strict=True)
            },
            float(out[f"fit_seconds_{count}"]),
        )
        for count in iterations
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="standin_data.py's output")
    parser.add_argument("--implicit-python", type=Path, required=True)
    args = parser.parse_args()
    settings = Settings.from_env()

    interactions, genre_of_track, preferred = load(args.data)
    split = per_user_split(interactions, settings.holdout_fraction, settings.holdout_seed)
    relevant = relevant_by_user(split.test)
    users = sorted(relevant)
    catalogue = int(split.train["track_idx"].nunique())
    print(
        f"data: {interactions['user_id'].nunique()} users, {catalogue} tracks, "
        f"{len(interactions)} interactions; per-user hold-out {len(split.test)} pairs "
        f"of {len(users)} users; ALS {settings.als.as_mlflow_params()}"
    )

    spark = build_spark(
        settings.spark_master,
        settings.checkpoint_dir,
        settings.spark_shuffle_partitions,
        native_blas=settings.spark_native_blas,
    )
    blas = loaded_native_blas(spark)
    # Built (and stored on the executors) before the clock starts: only the fit is timed.
    frame = training_frame(spark, split.train)
    # The first fit in a JVM pays for the JIT compiling ALS's code paths; it is printed
    # (the daily job's own cost). The second still runs partly interpreted; the target
    # compares the median of the next ones with implicit's warm fits.
    fits = []
    for _ in range(2 + TIMED_FITS):
        started = time.perf_counter()
        model = build_als(settings.als).fit(frame)
        fits.append(time.perf_counter() - started)
    spark_fit = statistics.median(fits[2:])
    ranked = als_top_n(spark, model, split.train, users, K)
    spark.stop()
    results = {
        "spark ALS": ranking_metrics(
            {u: [t for t, _ in r] for u, r in ranked.items()}, relevant, K, catalogue
        )
    }
    popularity = Popularity.from_interactions(split.train)
    results["popularity"] = ranking_metrics(
        popularity_lists(popularity, users, seen_by_user(split.train), K), relevant, K, catalogue
    )
    results["oracle"] = ranking_metrics(
        oracle_lists(split.train, genre_of_track, preferred, users), relevant, K, catalogue
    )
    with tempfile.TemporaryDirectory() as work:
        implicit_runs = run_implicit(
            args.implicit_python, split.train, users, settings, Path(work)
        )
    implicit_quality = {
        count: (ranking_metrics(lists, relevant, K, catalogue), seconds)
        for count, (lists, seconds) in implicit_runs.items()
    }
    results["implicit ALS"], implicit_fit = implicit_quality[settings.als.max_iter]

    print(f"\n{'recommender':<14}" + "".join(f"{m:>17}" for m in results["oracle"]))
    for name, metrics in results.items():
        print(f"{name:<14}" + "".join(f"{v:>17.4f}" for v in metrics.values()))
    als, pop, oracle, imp = (
        results[n]["ndcg_at_10"] for n in ("spark ALS", "popularity", "oracle", "implicit ALS")
    )
    print(
        f"\nfit time (median of {TIMED_FITS} warm fits, {settings.als.max_iter} iterations): "
        f"Spark ALS {spark_fit:.2f} s (native BLAS {blas}, master {settings.spark_master}; "
        f"each fit {', '.join(f'{t:.2f}' for t in fits)} s, the first in a fresh JVM), "
        f"implicit ALS {implicit_fit:.2f} s"
    )
    for count, (metrics, seconds) in implicit_quality.items():
        print(
            f"implicit ALS, {count:>3} iterations: NDCG@10 {metrics['ndcg_at_10']:.4f} "
            f"in {seconds:.2f} s (Spark, {settings.als.max_iter}: {als:.4f} in {spark_fit:.2f} s)"
        )
    checks = [
        ("NDCG@10 ALS / popularity", als / pop, ">= 2.5", als / pop >= 2.5),
        ("NDCG@10 ALS / oracle", als / oracle, ">= 0.90", als / oracle >= 0.9),
        (
            "fit time Spark / implicit",
            spark_fit / implicit_fit,
            "<= 4",
            spark_fit / implicit_fit <= 4,
        ),
        ("NDCG@10 Spark / implicit", als / imp, ">= 1.00", als >= imp),
    ]
    for label, value, target, met in checks:
        print(f"{label:<28} {value:8.2f}  target {target:<8} {'met' if met else 'NOT MET'}")


if __name__ == "__main__":
    main()
