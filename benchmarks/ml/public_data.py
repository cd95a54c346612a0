"""MovieLens 100K, a real public feedback data set, as ``make evaluate``'s CSV
(user_id,track_id,weight,timestamp) for ``make bench-ml``.

The data comes with the `recbole` package (benchmarks/ml/requirements-data.txt),
installed without its dependencies in the benchmark's venv: nothing is downloaded at run
time. The file is found through the package's location, never imported (its
dependencies are not there). Ratings of 4 and 5 are taken as listens (implicit
feedback: the user liked it), each with weight 1 and the rating's Unix time. Runs with
the standard library only. The output is for local benchmarks: never commit or ship it
(GroupLens' terms, benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
from pathlib import Path

from benchmarks.ml.csv_files import INTERACTIONS, write_csv

PACKAGE = "recbole"
MEMBER = "dataset_example/ml-100k/ml-100k.inter"
LIKED = 4.0


def source_file() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{PACKAGE} is not installed: `make bench-ml` installs it (ml/ml.mk)")
    return Path(next(iter(spec.submodule_search_locations))) / MEMBER


def convert(source: Path, target: Path) -> int:
    """Write the liked ratings of ``source`` (a RecBole atomic file: a typed header, tab
    separated) to ``target``; returns the rows written."""
    with source.open(newline="") as lines:
        rows = csv.reader(lines, delimiter="\t")
        names = [column.split(":")[0] for column in next(rows)]
        user, item, rating, timestamp = (names.index(name) for name in ("user_id", "item_id", "rating", "timestamp"))
        liked = ((row[user], row[item], 1, int(float(row[timestamp]))) for row in rows if float(row[rating]) >= LIKED)
        return write_csv(target, INTERACTIONS, liked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = convert(source_file(), args.out)
    print(f"MovieLens 100K: {rows} liked ratings (>= {LIKED:g}) written to {args.out}")


if __name__ == "__main__":
    main()
