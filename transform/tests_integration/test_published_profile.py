"""The profile of the published lists (marts.profile_published_*) on data loaded by the real
pipeline, with publications swapped in as the recommender swaps them (as the role ml).

1. The job's dbt-postgres:build leaves the profile out (it runs before the publication).
2. dbt-postgres:profile-published profiles a known small publication with exactly the
   figures it has: users, coverage of the catalogue, cold starts, genre mix.
3. Run again on the same publication, it adds nothing; a second publication, after a day
   that grew the catalogue, adds its rows and leaves the first one's as they were.

Run from the project root with the project venv: `.venv/bin/python -m pytest
transform/tests_integration`. The warehouse: dbt_harness.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from dbt_harness import Warehouse, fresh_warehouse, rows_written

DATABASE = "dbt_published_profile_test"
PROFILE_MODELS = ("profile_published_lists", "profile_published_genres")
RECORDS = "200"  # per endpoint: enough users and genres, a quick load


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    with fresh_warehouse(DATABASE, tmp_path_factory.mktemp("dbt")) as fresh:
        yield fresh


def publish(conn: psycopg.Connection, rows: list[tuple[int, int, int, str, dt.datetime]]) -> None:
    """(user_id, rank, track_id, model_version, generated_at) rows as the new publication, swapped
    in the way the recommender does it (ml/recommender/data.py: prepare_staging, then
    swap_in_staged): a new table takes the name, so no grant on the old one survives."""
    with conn.transaction():
        conn.execute("set local role ml")
        conn.execute("drop table if exists ml.user_recommendations_staged")
        conn.execute("create table ml.user_recommendations_staged (like ml.user_recommendations including all)")
        with conn.cursor() as cursor:
            cursor.executemany(
                "insert into ml.user_recommendations_staged values (%s, %s, %s, 0.5, %s, %s)", rows
            )
    with conn.transaction():
        conn.execute("set local role ml")
        conn.execute("alter table ml.user_recommendations rename to user_recommendations_previous")
        conn.execute("drop table ml.user_recommendations_previous")
        conn.execute("alter table ml.user_recommendations_staged rename to user_recommendations")
        conn.execute("alter index ml.user_recommendations_staged_pkey rename to user_recommendations_pkey")


@dataclass(frozen=True)
class Picked:
    """Users and tracks of the loaded marts, chosen for what the profile must count."""

    listeners: tuple[int, int]  # users with a listen of a catalogued track
    newcomer: int  # a user without one: the recommender's cold start
    tracks: dict[str, tuple[int, ...]]  # two tracks of one genre, one of each of two others


def pick(conn: psycopg.Connection) -> Picked:
    listeners = [row[0] for row in conn.execute(
        "select distinct user_id from marts.user_track_interactions join marts.dim_tracks using (track_id)"
        " order by user_id limit 2")]
    # A user of dim_users without any catalogued listen if the data has one, else an id
    # nobody has: the profile counts what the lists hold.
    newcomer = conn.execute(
        "select coalesce(min(user_id), (select max(user_id) + 1 from marts.dim_users)) from marts.dim_users u"
        " where not exists (select from marts.user_track_interactions i join marts.dim_tracks t using (track_id)"
        "                   where i.user_id = u.user_id)").fetchone()[0]
    by_genre = conn.execute(
        "select genre, (array_agg(track_id order by track_id))[1:2] from marts.dim_tracks"
        " where genre is not null group by genre having count(*) >= 2 order by genre limit 3").fetchall()
    assert len(listeners) == 2 and len(by_genre) == 3, "the stand-in's data should have listeners and genres"
    (first, pair), (second, others), (third, more) = by_genre
    return Picked((listeners[0], listeners[1]), newcomer,
                  {first: tuple(pair), second: (others[0],), third: (more[0],)})


def profile_rows(conn: psycopg.Connection, model: str) -> list[tuple]:
    return conn.execute(f"select * from marts.{model} order by 1, 2").fetchall()


def test_the_daily_build_leaves_the_published_profile_out(warehouse: Warehouse) -> None:
    warehouse.load(MOOVITAMIX_API_DAY="0", MOOVITAMIX_API_RECORDS=RECORDS)
    results = warehouse.dbt(command="build")
    assert not [node for node in results if "published" in node]
    with warehouse.connect() as conn:
        assert conn.execute("select to_regclass('marts.profile_published_lists')").fetchone()[0] is None


def test_a_publication_is_profiled_once_with_its_exact_figures(warehouse: Warehouse) -> None:
    first_at = dt.datetime(2026, 12, 1, 6, 40, tzinfo=dt.UTC)
    with warehouse.connect() as conn:
        picked = pick(conn)
        (genre_a, (a1, a2)), (genre_b, (b1,)), (genre_c, (c1,)) = picked.tracks.items()
        listener_1, listener_2 = picked.listeners
        # Six slots, four distinct tracks: genre a four times, b and c once each.
        publish(conn, [
            (listener_1, 1, a1, "5", first_at), (listener_1, 2, a2, "5", first_at),
            (listener_2, 1, a1, "5", first_at), (listener_2, 2, b1, "5", first_at),
            (picked.newcomer, 1, c1, "5", first_at), (picked.newcomer, 2, a1, "5", first_at),
        ])
        catalogue = conn.execute("select count(*) from marts.dim_tracks").fetchone()[0]
        known_users = conn.execute("select count(*) from marts.dim_users").fetchone()[0]
        listens = dict(conn.execute(
            "select genre, count(*) from marts.fct_listens join marts.dim_tracks using (track_id)"
            " where genre is not null group by genre").fetchall())

    results = warehouse.dbt(command="profile-published")
    assert {node for node in results if node.startswith("model.")} == {f"model.moovitamix.{m}" for m in PROFILE_MODELS}
    assert all(node["status"] in ("success", "pass") for node in results.values()), results

    total_listens = sum(listens.values())
    slots = {genre_a: 4, genre_b: 1, genre_c: 1}
    with warehouse.connect() as conn:
        assert profile_rows(conn, "profile_published_lists") == [(
            first_at, "5", known_users, 3, 6, 4, catalogue, 4 / catalogue, 1, 0, 1, 1 / 3,
        )]
        assert sorted(profile_rows(conn, "profile_published_genres")) == sorted(
            (first_at, genre, slots.get(genre, 0), slots.get(genre, 0) / 6, listens.get(genre, 0),
             listens.get(genre, 0) / total_listens)
            for genre in listens.keys() | slots.keys()
        )

        # The same publication again: nothing new to profile, nothing written.
        before = {model: profile_rows(conn, model) for model in PROFILE_MODELS}
        again = warehouse.dbt(command="profile-published")
        assert [rows_written(again, model) for model in PROFILE_MODELS] == [0, 0]
        assert {model: profile_rows(conn, model) for model in PROFILE_MODELS} == before


def test_a_second_publication_adds_its_rows_and_keeps_the_first(warehouse: Warehouse) -> None:
    with warehouse.connect() as conn:
        first = {model: profile_rows(conn, model) for model in PROFILE_MODELS}
        catalogue_before = conn.execute("select count(*) from marts.dim_tracks").fetchone()[0]
    # The next day: new tracks and users, then the day's build and a popularity publication.
    warehouse.load(MOOVITAMIX_API_DAY="1", MOOVITAMIX_API_RECORDS=RECORDS)
    warehouse.dbt(command="build")
    second_at = dt.datetime(2026, 12, 2, 6, 40, tzinfo=dt.UTC)
    with warehouse.connect() as conn:
        catalogue = conn.execute("select count(*) from marts.dim_tracks").fetchone()[0]
        assert catalogue > catalogue_before, "day 1 of the stand-in should add tracks"
        users = [row[0] for row in conn.execute("select user_id from marts.dim_users order by user_id limit 4")]
        tracks = [row[0] for row in conn.execute(
            "select track_id from marts.dim_tracks where genre is not null order by track_id limit 2")]
        publish(conn, [(user, rank, track, "popularity", second_at)
                       for user in users for rank, track in enumerate(tracks, start=1)])

    results = warehouse.dbt(command="profile-published")
    assert rows_written(results, "profile_published_lists") == 1
    with warehouse.connect() as conn:
        lists = profile_rows(conn, "profile_published_lists")
        genres = profile_rows(conn, "profile_published_genres")
    # The first publication's rows, as they were written (its catalogue, its listens).
    assert lists[0] == first["profile_published_lists"][0]
    assert [row for row in genres if row[0] != second_at] == first["profile_published_genres"]
    assert rows_written(results, "profile_published_genres") == len(genres) - len(first["profile_published_genres"])
    # A popularity publication: every user with a list is a cold start.
    assert lists[1][:7] == (second_at, "popularity", lists[1][2], 4, 8, 2, catalogue)
    assert lists[1][7] == 2 / catalogue and lists[1][9:] == (4, 4, 1.0)
