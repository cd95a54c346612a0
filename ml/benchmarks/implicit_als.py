"""The `implicit` library's ALS on the benchmark's training matrix (run by bench_ml.py in
a venv of its own: the platform never depends on `implicit`).

Input npz: user_idx, track_idx, weight (training), users (to recommend for), shape,
params (rank, reg_param, alpha, max_iter, seed). Output npz: users, recs (n x k,
-1 = none), fit_seconds.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from implicit.cpu.als import AlternatingLeastSquares
from scipy.sparse import csr_matrix


def main(source: str, target: str, k: int = 10) -> None:
    data = np.load(source)
    n_users, n_tracks = (int(x) for x in data["shape"])
    rank, reg, alpha, iterations, seed = data["params"].tolist()
    # implicit's confidence is 1 + alpha * weight, the same as Spark's implicit ALS.
    matrix = csr_matrix(
        (data["weight"].astype(np.float32), (data["user_idx"], data["track_idx"])),
        shape=(n_users, n_tracks),
    )
    def new_model() -> AlternatingLeastSquares:
        return AlternatingLeastSquares(
            factors=int(rank),
            regularization=float(reg),
            alpha=float(alpha),
            iterations=int(iterations),
            random_state=int(seed),
        )

    # One untimed fit first, as for Spark: both are compared warm (see bench_ml.py).
    new_model().fit(matrix, show_progress=False)
    model = new_model()
    started = time.perf_counter()
    model.fit(matrix, show_progress=False)
    fit_seconds = time.perf_counter() - started
    users = data["users"]
    ids, _ = model.recommend(users, matrix[users], N=k, filter_already_liked_items=True)
    np.savez(target, users=users, recs=ids, fit_seconds=np.array(fit_seconds))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
