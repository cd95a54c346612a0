"""The `implicit` library's ALS on a benchmark's training matrix (run by bench_ml.py in
the benchmark's venv: the platform never depends on `implicit`).

Input npz: user_idx, track_idx, weight (training, weights already transformed), users
(to recommend for), shape, seed, configs (one row per model: rank, reg_param, alpha,
iterations), timed_fits (fits per model; more than 1: one untimed fit first, then the
median of the timed ones). Output npz, per config i: recs_i (n x k, -1 = none),
fit_seconds_i; and users.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
from implicit.cpu.als import AlternatingLeastSquares
from scipy.sparse import csr_matrix


def main(source: str, target: str, k: int = 10) -> None:
    data = np.load(source)
    n_users, n_tracks = (int(x) for x in data["shape"])
    seed, timed_fits = int(data["seed"]), int(data["timed_fits"])
    # implicit's confidence is 1 + alpha * weight, the same as Spark's implicit ALS.
    matrix = csr_matrix(
        (data["weight"].astype(np.float32), (data["user_idx"], data["track_idx"])),
        shape=(n_users, n_tracks),
    )

    def new_model(rank: float, reg: float, alpha: float, iterations: float):
        return AlternatingLeastSquares(
            factors=int(rank),
            regularization=float(reg),
            alpha=float(alpha),
            iterations=int(iterations),
            random_state=seed,
        )

    users = data["users"]
    out: dict[str, np.ndarray] = {"users": users}
    if timed_fits > 1:
        # Untimed first, as for Spark: both are compared warm (see bench_ml.py).
        new_model(*data["configs"][0]).fit(matrix, show_progress=False)
    for index, config in enumerate(data["configs"]):
        seconds = []
        for _ in range(max(timed_fits, 1)):
            model = new_model(*config)
            started = time.perf_counter()
            model.fit(matrix, show_progress=False)
            seconds.append(time.perf_counter() - started)
        ids, _ = model.recommend(users, matrix[users], N=k, filter_already_liked_items=True)
        out[f"recs_{index}"] = ids
        out[f"fit_seconds_{index}"] = np.array(statistics.median(seconds))
    np.savez(target, **out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
