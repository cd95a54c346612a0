"""Tracks: their records, and (realistic mode) their genres and Zipf popularity.

Realistic popularity: within a genre, the r-th track (in catalogue order) weighs 1/(r+1)
(Zipf's law, exponent 1). Catalogue order is random with respect to everything else, and
new tracks join the tail of their genre, so a listen drawn on day t only ever needs the
tracks that existed on day t and stays the same on every later day. Weights are integers
so the draws are exact on every machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from api.stand_in.columns import pick, updated_at
from api.stand_in.draws import I64, Draws
from api.stand_in.ids import draw_ids
from api.stand_in.pools import FIRST_NAMES, GENRES, LAST_NAMES, WORDS, format_timestamps
from api.stand_in.settings import Settings
from api.stand_in.timeline import SHIFT_CAPACITY, born_day, events, moment_in_day, new_per_day, size_at

Record = dict[str, Any]
_ZIPF_SCALE = 1 << 40


class Catalogue:
    def __init__(self, settings: Settings, draws: Draws, today: int) -> None:
        self.settings = settings
        self.draws = draws
        self.today = today
        self.size = size_at(settings.tracks, settings.daily_new, today)
        self.ids = draw_ids(settings.seed, settings.universe, "tracks", settings.tracks, self.size + SHIFT_CAPACITY)
        if settings.mode == "realistic":
            self._build_genre_tables()

    def size_on(self, day: npt.ArrayLike) -> I64:
        """How many tracks existed on each given day."""
        per_day = new_per_day(self.settings.tracks, self.settings.daily_new)
        return self.settings.tracks + np.asarray(day, dtype=np.int64) * per_day

    def genre_of(self, index: npt.ArrayLike) -> I64:
        return self.draws.below("track.genre", index, len(GENRES))

    def _build_genre_tables(self) -> None:
        genres = self.genre_of(np.arange(self.size))
        order = np.argsort(genres, kind="stable")  # stable: catalogue order within a genre
        counts = np.bincount(genres, minlength=len(GENRES))
        self._by_genre = order.astype(np.int64)
        self._offsets = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
        ranks = np.arange(1, int(counts.max()) + 1, dtype=np.int64)
        self._zipf_cumulative = np.cumsum(_ZIPF_SCALE // ranks)
        # How many tracks of each genre existed on each day: (genre, day).
        bounds = self.size_on(np.arange(self.today + 1))
        members = [order[start : start + count] for start, count in zip(self._offsets, counts, strict=True)]
        self._genre_sizes = np.stack([np.searchsorted(tracks, bounds) for tracks in members]).astype(np.int64)

    def draw(self, genre: I64, day: I64, stream: str, key: I64, salt: I64) -> I64:
        """Track indices of ``genre`` by Zipf popularity among the tracks that existed on ``day``."""
        available = self._genre_sizes[genre, day]
        total = self._zipf_cumulative[np.maximum(available - 1, 0)]
        target = self.draws.below(stream, key, np.maximum(total, 1), salt)
        rank = np.searchsorted(self._zipf_cumulative, target, side="right")
        picked = self._by_genre[self._offsets[genre] + np.minimum(rank, np.maximum(available - 1, 0))]
        # A genre with no track yet (tiny catalogues only): any track of that day instead.
        anywhere = self.draws.below(stream + ".fallback", key, self.size_on(day), salt)
        return np.where(available > 0, picked, anywhere)

    def records(self, index: I64) -> list[Record]:
        s, draws = self.settings, self.draws
        born = born_day(index, s.tracks, s.daily_new, self.today)
        version, last = events(draws, "track.update", index, born, self.today, s.daily_updates)
        created = moment_in_day(draws, "track.created", index, born)
        updated = updated_at(draws, "track.updated", index, born, created, version, last, s.mode)
        if s.mode == "realistic":
            genres = [GENRES[g] for g in self.genre_of(index).tolist()]
        else:
            # Shipped behaviour: a random word, not a value from GENRES.
            genres = [WORDS[w] for w in draws.below("track.genre_word", index, len(WORDS)).tolist()]
        columns = zip(
            self.ids[index].tolist(),
            # Name and album change when a track is updated; the rest is fixed at birth.
            pick(WORDS, draws.below("track.name", index, len(WORDS), version)),
            _people(draws, "track.artist", index),
            _people(draws, "track.songwriters", index),
            draws.below("track.minutes", index, 60).tolist(),
            draws.below("track.seconds", index, 60).tolist(),
            genres,
            pick(WORDS, draws.below("track.album", index, len(WORDS), version)),
            format_timestamps(created),
            format_timestamps(updated),
            strict=True,
        )
        return [
            {
                "id": track_id,
                "name": name,
                "artist": artist,
                "songwriters": songwriters,
                "duration": f"{minutes:02d}:{seconds:02d}",
                "genres": genre,
                "album": album,
                "created_at": created_at,
                "updated_at": updated_at,
            }
            for track_id, name, artist, songwriters, minutes, seconds, genre, album, created_at, updated_at in columns
        ]


def _people(draws: Draws, stream: str, index: I64) -> list[str]:
    first = pick(FIRST_NAMES, draws.below(stream + ".first", index, len(FIRST_NAMES)))
    last = pick(LAST_NAMES, draws.below(stream + ".last", index, len(LAST_NAMES)))
    return [f"{f} {la}" for f, la in zip(first, last, strict=True)]
