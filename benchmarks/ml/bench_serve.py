"""``make bench-serve``: latency of GET /users/{id}/recommendations with 100,000 users
(1,000,000 rows) in ml.user_recommendations, against the same query sent straight to
Postgres with psycopg (the floor the API adds its overhead to), in the same run.

Target: p99 under 10 ms on this machine. Sequential requests over one
keep-alive connection, after a warm-up; the server runs in its own process.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx
import numpy as np

from recommender import data
from recommender.serve import QUERY
from recommender.settings import WarehouseSettings


def percentiles(samples: list[float]) -> str:
    ms = np.array(samples) * 1000
    return (
        f"p50 {np.percentile(ms, 50):6.2f} ms  p95 {np.percentile(ms, 95):6.2f} ms  "
        f"p99 {np.percentile(ms, 99):6.2f} ms  max {ms.max():7.2f} ms"
    )


def wait_until_up(client: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the API exited with {server.returncode}")
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    sys.exit("the API did not answer within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--port", type=int, default=8201)
    args = parser.parse_args()
    warehouse = WarehouseSettings.from_env()
    rng = random.Random(42)

    started = time.perf_counter()
    rows = (
        (user, rank, rng.randrange(1, 100_000), 1.0 / rank)
        for user in range(1, args.users + 1)
        for rank in range(1, 11)
    )
    generated_at = datetime.now(UTC)
    written = 0
    with data.connect(warehouse) as conn:
        data.ensure_ml_schema(conn)
        with conn.cursor() as cur:
            cur.execute("truncate ml.user_recommendations")
            with cur.copy("copy ml.user_recommendations from stdin") as copy:
                for row in rows:
                    copy.write_row((*row, "bench", generated_at))
                    written += 1
        conn.execute("analyze ml.user_recommendations")
        conn.commit()
    print(f"loaded {written} rows ({args.users} users) in {time.perf_counter() - started:.1f} s")

    users = [rng.randrange(1, args.users + 1) for _ in range(args.requests)]
    direct: list[float] = []
    with data.connect(warehouse, autocommit=True) as conn:
        for user in users[:500] + users:  # the first 500 warm the cache, then measured
            t = time.perf_counter()
            conn.execute(QUERY, (user,), prepare=True).fetchall()
            direct.append(time.perf_counter() - t)
    direct = direct[500:]

    server = subprocess.Popen(
        [sys.executable, "-m", "recommender.cli", "serve", "--port", str(args.port)],
        env=os.environ.copy(),
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=10) as client:
            wait_until_up(client, server)
            for user in users[:500]:
                client.get(f"/users/{user}/recommendations")
            served: list[float] = []
            for user in users:
                t = time.perf_counter()
                answer = client.get(f"/users/{user}/recommendations")
                served.append(time.perf_counter() - t)
                if answer.status_code != 200 or len(answer.json()["recommendations"]) != 10:
                    sys.exit(f"bad answer for user {user}: {answer.status_code}")
            missing = client.get(f"/users/{args.users + 1}/recommendations").status_code
    finally:
        server.terminate()
        server.wait(10)
    print(f"psycopg query   {percentiles(direct)}   ({len(direct)} queries, baseline)")
    print(f"API GET         {percentiles(served)}   ({len(served)} requests)")
    p99 = float(np.percentile(np.array(served) * 1000, 99))
    print(f"unknown user -> {missing}")
    print(f"API p99 {p99:.2f} ms  target < 10 ms  {'met' if p99 < 10 else 'NOT MET'}")


if __name__ == "__main__":
    main()
