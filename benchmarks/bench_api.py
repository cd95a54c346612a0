"""``make bench-api``: the stand-in's start-up time, peak memory and page latency at 1M
records per endpoint.

Starts ``python -m api.stand_in`` as a real server (by default 1,000,000 tracks and users, realistic
mode), measures how long until it answers and its peak RSS, then times pages of 100
spread over the whole listing, over HTTP on 127.0.0.1. The baseline, measured in the same
run, is the floor any implementation pays: the same server answering a tiny request
(``/?`` redirect), and encoding an already-built page of dicts in-process. The last
line printed is a JSON object with every figure. Not a test: timings vary by machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

from api.stand_in.app import encode
from api.stand_in.settings import Settings
from api.stand_in.world import World
from local.ports import free_port
from local.stand_in import start_stand_in
from orchestrate.project import PROJECT_ROOT
from orchestrate.startup import stop_process

RECORDS = int(os.environ.get("BENCH_RECORDS", "1000000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "150"))
LIMITS = {"startup_s": 30.0, "peak_rss_mb": 2048.0, "page_median_ms": 20.0}


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc (Linux only)")


def _latencies(client: httpx.Client, path: str, pages: list[int]) -> list[float]:
    timings = []
    for page in pages:
        start = time.perf_counter()
        response = client.get(path, params={"page": page, "size": 100})
        timings.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return timings


def _summary(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
    }


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog="BENCH_RECORDS (1,000,000) and BENCH_REQUESTS (150) size it."
    ).parse_args(argv)
    port = free_port()
    started = time.perf_counter()
    log = PROJECT_ROOT / ".logs" / "bench-api.log"
    server = start_stand_in({"MOOVITAMIX_API_RECORDS": str(RECORDS)}, port, log, 300)
    results: dict[str, object] = {"records_per_endpoint": RECORDS, "startup_s": round(time.perf_counter() - started, 2)}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            pages = [1 + (i * 7919) % (RECORDS // 100) for i in range(REQUESTS)]  # spread over the listing
            per_endpoint = {path: _latencies(client, path, pages) for path in ("/tracks", "/users", "/listen_history")}
            everything = [t for timings in per_endpoint.values() for t in timings]
            results["page"] = _summary(everything)
            results["page_by_endpoint"] = {path: _summary(t) for path, t in per_endpoint.items()}
            floor = []
            for _ in range(REQUESTS):
                start = time.perf_counter()
                client.get("/", follow_redirects=False)
                floor.append((time.perf_counter() - start) * 1000)
            results["baseline_http_redirect"] = _summary(floor)
            results["peak_rss_mb"] = round(_peak_rss_mb(server.pid), 1)
    finally:
        stop_process(server, grace_s=30)
    # In-process: building + encoding a page, against encoding one already built.
    world = World(Settings(tracks=RECORDS, users=RECORDS))
    built, encoded = [], []
    for page in pages[:50]:
        start = time.perf_counter()
        items = world.page("listen_history", (page - 1) * 100, page * 100)
        encode({"items": items})
        built.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        encode({"items": items})
        encoded.append((time.perf_counter() - start) * 1000)
    results["in_process_build_and_encode_history_page"] = _summary(built)
    results["baseline_encode_prebuilt_history_page"] = _summary(encoded)
    median = results["page"]["median_ms"]  # type: ignore[index]
    results["within_limits"] = (
        results["startup_s"] < LIMITS["startup_s"]  # type: ignore[operator]
        and results["peak_rss_mb"] < LIMITS["peak_rss_mb"]  # type: ignore[operator]
        and median < LIMITS["page_median_ms"]
    )
    print(f"records per endpoint   {RECORDS}")
    print(f"start-up               {results['startup_s']} s (limit {LIMITS['startup_s']})")
    print(f"peak RSS               {results['peak_rss_mb']} MB (limit {LIMITS['peak_rss_mb']})")
    print(f"page of 100 over HTTP  {results['page']} (limit median {LIMITS['page_median_ms']} ms)")
    for path, figures in results["page_by_endpoint"].items():  # type: ignore[attr-defined]
        print(f"  {path:<20} {figures}")
    print(f"baseline: redirect     {results['baseline_http_redirect']}")
    print(f"in-process build+encode {results['in_process_build_and_encode_history_page']}")
    print(f"baseline: encode only  {results['baseline_encode_prebuilt_history_page']}")
    print(json.dumps(results))
    return 0 if results["within_limits"] else 1


if __name__ == "__main__":
    sys.exit(main())
