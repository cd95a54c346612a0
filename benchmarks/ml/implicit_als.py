"""The `implicit` library's ALS on the benchmark's training matrix (run by bench_ml.py in
a venv of its own: the platform never depends on `implicit`).

Input npz: user_idx, track_idx, weight (training), users (to recommend for), shape,
params (rank, reg_param, alpha, seed), iterations (one model per count). Output npz, per
count i: recs_i (n x k, -1 = none), fit_seconds_i (median of the timed fits); and users.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
from implicit.cpu.als import AlternatingLeastSquares
from scipy.sparse import csr_matrix

TIMED_FITS = 3


def main(source: str, target: str, k: int = 10) -> None:
    data = np.load(source)
    n_users, n_tracks = (int(x) for x in data["shape"])
    rank, reg, alpha, seed = data["params"].tolist()
    # implicit's confidence is 1 + alpha * weight, the same as Spark's implicit ALS.
    matrix = csr_matrix(
        (data["weight"].astype(np.float32), (data["user_idx"], data["track_idx"])),
        shape=(n_users, n_tracks),
    )

    def new_model(iterations: int) -> AlternatingLeastSquares:
        return AlternatingLeastSquares(
            factors=int(rank),
            regularization=float(reg),
            alpha=float(alpha),
            iterations=iterations,
            random_state=int(seed),
        )

    users = data["users"]
    out: dict[str, np.ndarray] = {"users": users}
    # One untimed fit first, as for Spark: both are compared warm (see bench_ml.py).
    new_model(int(data["iterations"][0])).fit(matrix, show_progress=False)
    for iterations in data["iterations"].tolist():
        seconds = []
        for _ in range(TIMED_FITS):
            model = new_model(iterations)
            started = time.perf_counter()
            model.fit(matrix, show_progress=False)
            seconds.append(time.perf_counter() - started)
        ids, _ = model.recommend(users, matrix[users], N=k, filter_already_liked_items=True)
        out[f"recs_{iterations}"] = ids
        out[f"fit_seconds_{iterations}"] = np.array(statistics.median(seconds))
    np.savez(target, **out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
