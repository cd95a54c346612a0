"""What a model version may serve, and the choice between such candidates.

The ALS model scores each user; a popularity candidate gives every user the most
listened tracks they have not heard, counted plainly or with recent listens weighing
more (recent popularity). When what users listen to next is mostly what is new, a
recent popularity list can beat a model that ignores time: the candidates are compared
on the validation split and the best one goes to the gate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .settings import AlsParams

ALS, POPULARITY, RECENT_POPULARITY = "als", "popularity", "recent_popularity"


@dataclass(frozen=True)
class Candidate:
    kind: str
    # The ALS settings: those of the model every version holds, whatever it serves.
    als: AlsParams
    # Recent popularity's half-life (0 for the other kinds).
    popularity_half_life_days: float = 0.0

    @property
    def is_als(self) -> bool:
        return self.kind == ALS

    @property
    def label(self) -> str:
        if self.kind == RECENT_POPULARITY:
            return f"{self.kind}({self.popularity_half_life_days:g}d)"
        return self.kind

    def as_mlflow_params(self) -> dict[str, Any]:
        return {
            "candidate": self.kind,
            "popularity_half_life_days": self.popularity_half_life_days,
            **self.als.as_mlflow_params(),
        }

    @classmethod
    def from_tags(cls, tags: Mapping[str, str], als: AlsParams) -> Candidate:
        """What a version serves, from its tags (``as_version_tags``); a version without
        them is an ALS one."""
        return cls(
            kind=tags.get("candidate", ALS),
            als=als,
            popularity_half_life_days=float(tags.get("popularity_half_life_days", 0.0)),
        )

    def as_version_tags(self) -> dict[str, Any]:
        return {"candidate": self.kind, "popularity_half_life_days": self.popularity_half_life_days}


def popularity_candidates(als: AlsParams, half_lives_days: tuple[float, ...]) -> list[Candidate]:
    """Plain popularity and one recent popularity per positive half-life."""
    return [Candidate(POPULARITY, als)] + [
        Candidate(RECENT_POPULARITY, als, half_life)
        for half_life in sorted(set(half_lives_days))
        if half_life > 0
    ]


def best(scores: list[tuple[Candidate, float]]) -> tuple[Candidate, float]:
    """The highest score; on a tie the first listed (list the ALS model first: on equal
    merit, the personalised lists)."""
    return max(scores, key=lambda scored: scored[1])
