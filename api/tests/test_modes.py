"""The two data modes: shipped (shaped like the client's generator) and realistic."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from api.oracle import PREFERRED_SHARE, true_preferences
from api.stand_in.pools import GENRES
from api.stand_in.settings import Settings
from api.stand_in.world import records

Records = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def shipped() -> Records:
    return records(Settings(mode="shipped"))


@pytest.fixture(scope="module")
def realistic_settings() -> Settings:
    return Settings(mode="realistic", tracks=2000, users=1000)


@pytest.fixture(scope="module")
def realistic(realistic_settings: Settings) -> Records:
    return records(realistic_settings)


def test_shipped_records_look_like_the_clients_generator(shipped: Records) -> None:
    track_ids = {track["id"] for track in shipped["tracks"]}
    assert all(1 <= track_id <= 100_000 for track_id in track_ids)
    words = {track["genres"] for track in shipped["tracks"]}
    assert len(words) > 100 and not words & set(GENRES)  # random words, not the genre list
    assert all(" " not in word for word in words)
    user_ids = [user["id"] for user in shipped["users"]]
    assert [history["user_id"] for history in shipped["listen_history"]] == user_ids
    for history in shipped["listen_history"]:
        assert len(history["items"]) == len(set(history["items"])) == 5
        assert set(history["items"]) <= track_ids
    # As shipped, updated_at is drawn independently of created_at on tracks and users.
    assert any(track["updated_at"] < track["created_at"] for track in shipped["tracks"])


def test_realistic_tracks_carry_contract_genres(realistic: Records) -> None:
    genres = Counter(track["genres"] for track in realistic["tracks"])
    assert set(genres) == set(GENRES)
    assert all(track["updated_at"] >= track["created_at"] for track in realistic["tracks"])


def test_realistic_history_lengths_vary_and_leave_unlistened_tracks(realistic: Records) -> None:
    lengths = [len(history["items"]) for history in realistic["listen_history"]]
    assert min(lengths) >= 5 and max(lengths) <= 200
    assert min(lengths) < 15 and max(lengths) > 150
    assert len(set(lengths)) > 100
    catalogue = {track["id"] for track in realistic["tracks"]}
    for history in realistic["listen_history"]:
        assert set(history["items"]) <= catalogue
        assert len(catalogue - set(history["items"])) >= 10


def test_popularity_follows_zipf(realistic: Records) -> None:
    plays = Counter(item for history in realistic["listen_history"] for item in history["items"])
    ranked = [count for _, count in plays.most_common()]
    # Zipf (exponent 1) inside each genre: the head dwarfs the median, the top ranks decay ~1/r.
    assert ranked[0] > 20 * ranked[len(ranked) // 2]
    top_per_genre = len(GENRES)
    assert sum(ranked[:top_per_genre]) > 0.15 * sum(ranked)
    assert len(plays) < len(realistic["tracks"])  # the long tail is partly never played


def test_oracle_preferences_drive_listening(realistic_settings: Settings, realistic: Records) -> None:
    truth = true_preferences(realistic_settings)
    genre_of = {track["id"]: track["genres"] for track in realistic["tracks"]}
    users = {user["id"]: user for user in realistic["users"]}
    assert set(truth) == set(users)
    sizes = Counter(len(genres) for genres in truth.values())
    assert set(sizes) == {1, 2, 3}
    for user_id, genres in truth.items():
        assert genres[0] == users[user_id]["favorite_genres"]
        assert len(set(genres)) == len(genres) and set(genres) <= set(GENRES)
    inside = total = 0
    for history in realistic["listen_history"]:
        preferred = set(truth[history["user_id"]])
        inside += sum(genre_of[item] in preferred for item in history["items"])
        total += len(history["items"])
    # PREFERRED_SHARE from the preferred genres, plus the random ones that happen to fall there.
    assert PREFERRED_SHARE - 0.03 < inside / total < PREFERRED_SHARE + 0.08


def test_oracle_recovers_favourites_better_than_chance(realistic_settings: Settings, realistic: Records) -> None:
    """A naive 'most played genre' guess matches the oracle's favourite far above 1/17."""
    truth = true_preferences(realistic_settings)
    genre_of = {track["id"]: track["genres"] for track in realistic["tracks"]}
    hits = 0
    for history in realistic["listen_history"]:
        top = Counter(genre_of[item] for item in history["items"]).most_common(1)[0][0]
        hits += top in truth[history["user_id"]]
    assert hits / len(realistic["listen_history"]) > 0.9
