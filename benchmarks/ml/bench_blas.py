"""``make bench-ml-blas``: Spark ALS fit time with the machine's native BLAS (Debian's
OpenBLAS through netlib's JNI loader) against Spark's pure-Java fallback, on the same
data in the same run. Each variant runs in its own JVM (a JVM picks its BLAS once),
chosen with the job's own setting SPARK_NATIVE_BLAS; each JVM fits 3 times and reports
the mean of its two warm fits.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

FITS = 3


def fit_once(data_dir: Path) -> None:
    """Child: fit ALS on every interaction of the stand-in data, print BLAS + seconds."""
    from benchmarks.ml.bench_ml import load, spark_frame
    from recommender.settings import Settings
    from recommender.spark import build_spark, loaded_native_blas
    from recommender.train import build_als, training_frame

    settings = Settings.from_env()
    interactions, _, _ = load(data_dir)
    spark = build_spark(settings.spark, settings.checkpoint_dir, with_jdbc=False)
    blas = loaded_native_blas(spark)
    frame = training_frame(spark_frame(spark, interactions))
    frame.count()  # persisting is lazy: stored before the clock starts, only fits are timed
    fits = []
    for _ in range(FITS):
        started = time.perf_counter()
        build_als(settings.als).fit(frame)
        fits.append(time.perf_counter() - started)
    seconds = sum(fits[1:]) / len(fits[1:])  # the first fit also warms the JIT up
    spark.stop()
    print(json.dumps({"blas": blas, "fit_seconds": seconds}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fit_once(args.data)
        return
    # A-B-B-A order: the machine's load drifts during the run (other jobs share its two
    # cores), and a linear drift cancels out of the mean of an ABBA sequence.
    seconds: dict[str, list[float]] = {"native": [], "java": []}
    blas: dict[str, str] = {}
    for label in ("native", "java", "java", "native"):
        env = {**os.environ, "SPARK_NATIVE_BLAS": str(label == "native").lower()}
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.ml.bench_blas", "--data", str(args.data), "--child"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        blas[label] = result["blas"]
        seconds[label].append(result["fit_seconds"])
        print(f"{label:<7} BLAS {result['blas']:<8} warm ALS fit {result['fit_seconds']:6.2f} s")
    if blas["native"] == blas["java"]:
        print("no native BLAS on this machine (make native-blas)")
        return
    native, java = (sum(seconds[k]) / len(seconds[k]) for k in ("native", "java"))
    print(f"mean fit: native {native:.2f} s, java {java:.2f} s, native / java {native / java:.2f}")


if __name__ == "__main__":
    main()
