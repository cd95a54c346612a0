"""``python -m api.bench``: start-up time, peak memory and page latency at 1M records per endpoint.

Starts ``python -m api`` as a real server (by default 1,000,000 tracks and users, realistic
mode), measures how long until it answers and its peak RSS, then times pages of 100
spread over the whole listing, over HTTP on 127.0.0.1. The baseline, measured in the same
run, is the floor any implementation pays: the same server answering a tiny request
(``/?`` redirect), and encoding an already-built page of dicts in-process. The last
line printed is a JSON object with every figure. Not a test: timings vary by machine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from api.app import encode
from api.settings import Settings
from api.world import World

RECORDS = int(os.environ.get("BENCH_RECORDS", "1000000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "150"))
LIMITS = {"startup_s": 30.0, "peak_rss_mb": 2048.0, "page_median_ms": 20.0}
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def main() -> int:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOOVITAMIX_API_")}
    env.update({"MOOVITAMIX_API_PORT": str(port), "MOOVITAMIX_API_RECORDS": str(RECORDS)})
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "api"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    results: dict[str, object] = {"records_per_endpoint": RECORDS}
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            while True:
                if server.poll() is not None:
                    raise SystemExit(f"error: the server exited with {server.returncode}")
                try:
                    client.get("/openapi.json")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            results["startup_s"] = round(time.perf_counter() - started, 2)
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
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
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
