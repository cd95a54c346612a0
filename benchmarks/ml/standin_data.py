"""Write the stand-in's realistic day-0 world as CSV files for ``make bench-ml``.

Runs in the project venv (the simulator's dependencies live there, not in the
recommender's venv): listens.csv (user_id, track_id: one row per history item, repeats
kept), tracks.csv (track_id, genre) and truth.csv (user_id, genres "A|B": the oracle's
true preferences, favourite first). And loads.csv, ``make evaluate``'s format
(user_id,track_id,weight,timestamp): the listens of day 0 and those the histories gained
by ``--later-day``, each timed by the load that first saw it, as the warehouse times
them when the daily job loads day 0 then that day (the time split's data).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from api.oracle import true_preferences
from api.stand_in.settings import Settings
from api.stand_in.world import records
from benchmarks.ml.csv_files import INTERACTIONS, write_csv

FIRST_LOAD = 1_764_547_200  # 2025-12-01 00:00 UTC: any fixed time does
SECONDS_PER_DAY = 86_400


def write_loads(first: dict, later: dict, later_day: int, path: Path) -> None:
    """A history grows by appending: the items past its day-0 length arrived later."""
    heard_first = {h["user_id"]: len(h["items"] or []) for h in first["listen_history"]}
    loaded_at = {False: FIRST_LOAD, True: FIRST_LOAD + later_day * SECONDS_PER_DAY}
    rows = (
        (history["user_id"], track, 1, loaded_at[position >= heard_first.get(history["user_id"], 0)])
        for history in later["listen_history"]
        for position, track in enumerate(history["items"] or [])
    )
    write_csv(path, INTERACTIONS, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--later-day", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    settings = Settings(users=args.users, tracks=args.tracks)
    world = records(settings, day=0)
    listens = ((history["user_id"], track) for history in world["listen_history"] for track in history["items"] or [])
    write_csv(args.out / "listens.csv", ("user_id", "track_id"), listens)
    write_loads(world, records(settings, day=args.later_day), args.later_day, args.out / "loads.csv")
    write_csv(args.out / "tracks.csv", ("track_id", "genre"), ((t["id"], t["genres"]) for t in world["tracks"]))
    preferences = true_preferences(settings, day=0).items()
    write_csv(args.out / "truth.csv", ("user_id", "genres"), ((u, "|".join(g)) for u, g in preferences))
    print(
        f"stand-in data: {args.users} users, {args.tracks} tracks, realistic mode, day 0 "
        f"-> {args.out} in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
