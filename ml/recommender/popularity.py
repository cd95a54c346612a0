"""Popularity lists: the evaluation baseline and the cold-start answer.

Popularity = number of distinct listeners of a track. A user without history gets the
most popular tracks of their favourite genre, then the most popular overall to fill the
list; a user with history gets the most popular tracks they have not heard.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass

import pandas as pd

# (track_idx, score) pairs, best first.
Ranked = list[tuple[int, float]]


@dataclass(frozen=True)
class Popularity:
    overall: Ranked
    by_genre: dict[str, Ranked]

    @classmethod
    def from_interactions(
        cls, interactions: pd.DataFrame, genre_of_track: Mapping[int, str] | None = None
    ) -> Popularity:
        """``interactions`` needs user_idx and track_idx; ``genre_of_track`` maps a
        track_idx to its genre (tracks without one only appear in the overall list)."""
        listeners = interactions.groupby("track_idx")["user_idx"].nunique()
        # Ties broken by index so the lists (and the table) are reproducible.
        ordered = sorted(listeners.items(), key=lambda item: (-item[1], item[0]))
        overall = [(int(track), float(count)) for track, count in ordered]
        by_genre: dict[str, Ranked] = {}
        for track, count in overall:
            genre = (genre_of_track or {}).get(track)
            if genre:
                by_genre.setdefault(genre, []).append((track, count))
        return cls(overall=overall, by_genre=by_genre)

    def top_n(self, n: int, seen: Set[int] = frozenset(), genre: str | None = None) -> Ranked:
        """n unseen tracks: the genre's most popular first (when a genre is given), then
        the most popular overall."""
        chosen: Ranked = []
        taken: set[int] = set()
        for source in (self.by_genre.get(genre or "", []), self.overall):
            for track, score in source:
                if len(chosen) == n:
                    return chosen
                if track not in seen and track not in taken:
                    chosen.append((track, score))
                    taken.add(track)
        return chosen


def popularity_lists(
    popularity: Popularity, users: list[int], seen: Mapping[int, Set[int]], n: int
) -> dict[int, list[int]]:
    """The baseline's top-n unseen tracks for each user (track indices only)."""
    return {
        user: [track for track, _ in popularity.top_n(n, seen.get(user, frozenset()))]
        for user in users
    }
