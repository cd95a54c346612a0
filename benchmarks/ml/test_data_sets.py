"""The data sets ``make bench-ml`` builds: the public set's conversion, the planted set's
structure, the stand-in's loads."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from benchmarks.ml import planted_data, public_data, standin_data


def rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


def test_liked_ratings_become_listens_with_their_time(tmp_path: Path) -> None:
    source = tmp_path / "ml.inter"
    source.write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "196\t242\t3\t881250949\n186\t302\t4\t891717742\n22\t377\t5.0\t878887116.0\n"
    )
    assert public_data.convert(source, tmp_path / "out.csv") == 2
    assert rows(tmp_path / "out.csv") == [
        ["user_id", "track_id", "weight", "timestamp"],
        ["186", "302", "1", "891717742"],
        ["22", "377", "1", "878887116"],
    ]


def test_the_planted_set_is_seeded_and_holds_its_structure() -> None:
    planted = planted_data.listens(users=300, tracks=200, seed=3)
    again = planted_data.listens(users=300, tracks=200, seed=3)
    assert np.array_equal(planted.track, again.track) and np.array_equal(planted.day, again.day)
    # Users listen in their favourite genres far more than chance (2 of 12 genres).
    genre = planted.genre_of_track[planted.track]
    liked = (genre == planted.favourites[planted.user, 0]) | (genre == planted.favourites[planted.user, 1])
    assert liked.mean() >= planted_data.PREFERRED_SHARE
    # Nobody hears a track before it comes out.
    assert (planted.day >= planted.released[planted.track]).all()
    # What is new is heard more: listens of the last weeks go mostly to tracks of the period.
    late = planted.day > planted_data.DAYS - 14
    assert (planted.released[planted.track[late]] >= 0).mean() > 0.8


def test_the_stand_in_loads_time_each_listen_by_the_load_that_first_saw_it(tmp_path: Path) -> None:
    first = {"listen_history": [{"user_id": 1, "items": [10, 11]}, {"user_id": 2, "items": None}]}
    later = {
        "listen_history": [
            {"user_id": 1, "items": [10, 11, 12]},
            {"user_id": 2, "items": [13]},
            {"user_id": 3, "items": [10]},
        ]
    }
    standin_data.write_loads(first, later, 7, tmp_path / "loads.csv")
    day0, day7 = str(standin_data.FIRST_LOAD), str(standin_data.FIRST_LOAD + 7 * 86_400)
    assert rows(tmp_path / "loads.csv")[1:] == [
        ["1", "10", "1", day0],
        ["1", "11", "1", day0],
        ["1", "12", "1", day7],
        ["2", "13", "1", day7],
        ["3", "10", "1", day7],
    ]
