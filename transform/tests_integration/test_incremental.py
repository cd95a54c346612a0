"""The dbt project on data loaded by the real pipeline (stand-in API ► tap ► target-postgres).

1. Incremental builds equal a full rebuild: load day 0, build; load day 1 (histories grow,
   records change), build; load another universe (ids redrawn: identities replaced,
   histories shrink), build; then `dbt build --full-refresh` into the same tables must give
   the same rows in every mart.
2. Corrupted raw data: an orphan track id in a history is kept, flagged and warned about
   (the build passes); a duplicate key in a mart fails dbt's key test.

Run from the project root with the project venv (it imports `orchestrate`):
`.venv/bin/python -m pytest transform/tests_integration`. The warehouse: dbt_harness.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dbt_harness import Warehouse, fresh_warehouse, rows_written

DATABASE = "dbt_incremental_test"

# Every mart, with the order that makes two reads comparable row by row.
MARTS = {
    "dim_tracks": "track_id",
    "dim_users": "user_id",
    "fct_listens": "user_id, position",
    "user_track_interactions": "user_id, track_id",
    "daily_volumes": "load_date, entity",
}
# The data profile's totals, each against the same count taken from the marts it summarises.
# Not in MARTS: a profile day keeps what its loads brought, which a rebuild after ids were
# redrawn does not (the models' comments).
PROFILE_TOTALS = {
    "select sum(listens) from marts.profile_daily_listens": "select count(*) from marts.fct_listens",
    "select sum(listeners) from marts.profile_daily_listens":
        "select count(*) from (select distinct (first_seen_at at time zone 'UTC')::date, user_id"
        " from marts.fct_listens) as listeners_by_day",
    "select sum(catalogued_listens) from marts.profile_daily_listens":
        "select count(*) from marts.fct_listens where is_known_track",
    "select sum(favourite_genre_listens) from marts.profile_daily_listens":
        "select count(*) from marts.fct_listens join marts.dim_tracks using (track_id)"
        " join marts.dim_users using (user_id) where genre = favorite_genre",
    "select sum(listens) from marts.profile_daily_genre_listens":
        "select count(*) from marts.fct_listens join marts.dim_tracks using (track_id) where genre is not null",
    "select sum(listens) from marts.profile_artist_listens":
        "select count(*) from marts.fct_listens join marts.dim_tracks using (track_id) where artist is not null",
    "select sum(users) from marts.profile_history_lengths": "select count(*) from marts.dim_users",
}


def marts(warehouse: Warehouse) -> dict[str, list[tuple]]:
    with warehouse.connect() as conn:
        return {
            name: conn.execute(f"select * from marts.{name} order by {order}").fetchall()
            for name, order in MARTS.items()
        }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    with fresh_warehouse(DATABASE, tmp_path_factory.mktemp("dbt")) as fresh:
        yield fresh


def test_incremental_builds_equal_a_full_rebuild(warehouse: Warehouse) -> None:
    warehouse.load(MOOVITAMIX_API_DAY="0")
    warehouse.dbt("build")
    warehouse.load(MOOVITAMIX_API_DAY="1")
    day_1 = warehouse.dbt("build")
    # The profile, built incrementally over two days, counts every listen once.
    with warehouse.connect() as conn:
        for total, expected in PROFILE_TOTALS.items():
            assert conn.execute(total).fetchone()[0] == conn.execute(expected).fetchone()[0] > 0, total
    # Another universe: the client's application redrew every id (identities replaced).
    warehouse.load(MOOVITAMIX_API_DAY="1", MOOVITAMIX_API_UNIVERSE="1")
    warehouse.dbt("build")
    incremental = marts(warehouse)

    warehouse.dbt("build", "--full-refresh")
    rebuilt = marts(warehouse)

    for mart in MARTS:
        assert incremental[mart] == rebuilt[mart], f"marts.{mart} differs after --full-refresh"
    # Day 1 only rebuilt the histories that changed: a small share of the listens.
    assert 0 < rows_written(day_1, "fct_listens") < len(incremental["fct_listens"]) / 4
    with warehouse.connect() as conn:
        seen_days = conn.execute("select count(distinct first_seen_at) from marts.fct_listens").fetchone()[0]
        conflicts = conn.execute("select sum(conflicting_count) from marts.daily_volumes").fetchone()[0]
    assert seen_days == 3, "first_seen_at should keep the load of each of the three loads"
    assert conflicts > 0, "the redrawn ids should be counted as conflicting"


def test_orphan_track_is_kept_and_flagged(warehouse: Warehouse) -> None:
    with warehouse.connect() as conn:
        user_id = conn.execute(
            "update raw.listen_history set items = items || 999999999::bigint,"
            " updated_at = updated_at + interval '1 hour', _sdc_batched_at = now() at time zone 'UTC',"
            " _sdc_sync_started_at = (extract(epoch from now()) * 1000)::bigint"
            " where (user_id, created_at) = (select user_id, created_at at time zone 'UTC'"
            "   from staging.stg_listen_history order by user_id limit 1)"
            " returning user_id"
        ).fetchone()[0]
    results = warehouse.dbt("build")
    assert results["test.moovitamix.fct_listens_unknown_tracks"]["status"] == "warn"
    with warehouse.connect() as conn:
        flagged = conn.execute(
            "select user_id from marts.fct_listens where track_id = 999999999 and not is_known_track"
        ).fetchall()
    assert flagged == [(user_id,)]


def test_duplicate_key_fails_the_key_test(warehouse: Warehouse) -> None:
    with warehouse.connect() as conn:
        # The primary key would refuse the duplicate: drop it, as a broken load might bypass it.
        constraint = conn.execute(
            "select conname from pg_constraint where conrelid = 'marts.dim_tracks'::regclass and contype = 'p'"
        ).fetchone()[0]
        conn.execute(f'alter table marts.dim_tracks drop constraint "{constraint}"')
        conn.execute("insert into marts.dim_tracks select * from marts.dim_tracks limit 1")
    results = warehouse.dbt("test", "--select", "dim_tracks", check=False)
    failed = {node for node, result in results.items() if result["status"] == "fail"}
    assert failed == {"test.moovitamix.unique_dim_tracks_track_id"}


def test_source_freshness_warns_then_stops_the_job(warehouse: Warehouse) -> None:
    """The platform's one freshness definition (sources.yml): 26 h warns, 168 h is a gate."""
    warehouse.load(MOOVITAMIX_API_DAY="0")  # raw exists whatever ran before
    with warehouse.connect() as conn:
        conn.execute("update raw.users set _sdc_batched_at = now() at time zone 'UTC' - interval '30 hours'")
    assert {key: node["status"] for key, node in warehouse.dbt("source", "freshness").items()} == {
        "tracks": "pass", "users": "warn", "listen_history": "pass"}
    with warehouse.connect() as conn:
        conn.execute("update raw.tracks set _sdc_batched_at = now() at time zone 'UTC' - interval '200 hours'")
    stale = warehouse.dbt("source", "freshness", check=False)
    assert stale["tracks"]["status"] == "error" and warehouse.exit_code != 0
