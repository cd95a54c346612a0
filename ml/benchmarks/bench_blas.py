"""``make bench-ml-blas``: Spark ALS fit time with the machine's native BLAS (Debian's
OpenBLAS through netlib's JNI loader) against Spark's pure-Java fallback, on the same
data in the same run. Each variant runs in its own JVM (a JVM picks its BLAS once):
the fallback is forced by pointing netlib at a library that does not exist.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

JAVA_ONLY = (
    "-Ddev.ludovic.netlib.blas.nativeLib=libnone.so "
    "-Ddev.ludovic.netlib.lapack.nativeLib=libnone.so"
)


def fit_once(data_dir: Path) -> None:
    """Child: fit ALS on every interaction of the stand-in data, print BLAS + seconds."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_ml import load

    from recommender.interactions import to_spark
    from recommender.settings import Settings
    from recommender.spark import build_spark, native_blas
    from recommender.train import build_als

    settings = Settings.from_env()
    interactions, _, _ = load(data_dir)
    spark = build_spark(
        settings.spark_master, settings.checkpoint_dir, settings.spark_shuffle_partitions
    )
    blas = native_blas(spark)
    frame = to_spark(spark, interactions).cache()
    frame.count()
    started = time.perf_counter()
    build_als(settings.als).fit(frame)
    seconds = time.perf_counter() - started
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
    variants = {"native": "", "java": JAVA_ONLY}
    seconds: dict[str, list[float]] = {"native": [], "java": []}
    blas: dict[str, str] = {}
    for label in ("native", "java", "java", "native"):
        options = variants[label]
        env = {**os.environ, "JDK_JAVA_OPTIONS": options} if options else dict(os.environ)
        out = subprocess.run(
            [sys.executable, __file__, "--data", str(args.data), "--child"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        blas[label] = result["blas"]
        seconds[label].append(result["fit_seconds"])
        print(f"{label:<7} native BLAS {result['blas']:<8} ALS fit {result['fit_seconds']:6.1f} s")
    if blas["native"] == blas["java"]:
        print("no native BLAS on this machine (make native-blas)")
        return
    native, java = (sum(seconds[k]) / len(seconds[k]) for k in ("native", "java"))
    print(f"mean fit: native {native:.1f} s, java {java:.1f} s, native / java {native / java:.2f}")


if __name__ == "__main__":
    main()
