"""Runs implicit_als.py in the benchmark's venv on a pandas training matrix: the
platform's venv never imports `implicit`."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.settings import AlsParams

SCRIPT = Path(__file__).with_name("implicit_als.py")


@dataclass(frozen=True)
class ImplicitRun:
    # user_idx -> recommended track_idx, best first.
    lists: dict[int, list[int]]
    fit_seconds: float


def run_implicit(
    python: Path,
    train: pd.DataFrame,
    users: list[int],
    models: list[AlsParams],
    timed_fits: int = 1,
) -> list[ImplicitRun]:
    """One run per entry of ``models`` (its rank, regParam, alpha, iterations and seed)
    on ``train`` (user_idx, track_idx, weight: the confidence already applied)."""
    with tempfile.TemporaryDirectory() as work:
        source, target = Path(work) / "in.npz", Path(work) / "out.npz"
        np.savez(
            source,
            user_idx=train["user_idx"].to_numpy(),
            track_idx=train["track_idx"].to_numpy(),
            weight=train["weight"].to_numpy(),
            users=np.array(users, dtype=np.int32),
            shape=np.array([train["user_idx"].max() + 1, train["track_idx"].max() + 1]),
            seed=np.array(models[0].seed),
            timed_fits=np.array(timed_fits),
            configs=np.array([[m.rank, m.reg_param, m.alpha, m.max_iter] for m in models]),
        )
        subprocess.run([str(python), str(SCRIPT), str(source), str(target)], check=True)
        out = np.load(target)
        return [
            ImplicitRun(
                {
                    int(u): [int(t) for t in row if t >= 0]
                    for u, row in zip(out["users"], out[f"recs_{index}"], strict=True)
                },
                float(out[f"fit_seconds_{index}"]),
            )
            for index in range(len(models))
        ]
