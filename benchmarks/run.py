"""Run every benchmark and print one table: nxframe, the baseline measured in the same run, the ratio, the target.

    python benchmarks/run.py            # the full run, a few minutes on 2 cores
    python benchmarks/run.py --quick    # a smaller smoke run

Each benchmark first checks that nxframe and its baseline produce the same
data (DataFrames equal, money equal to the JSON text digit for digit) and
stops without printing a figure if they do not. Generated data is cached in
``benchmarks/results/cache``; the table is also written to
``benchmarks/results/latest.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time
from pathlib import Path

import bench_audit
import bench_decode
import bench_fetch
import bench_lake
import bench_memory
import bench_month
import bench_signoff
import bench_stream
import pandas as pd
import pyarrow as pa
from common import ROOT, Measure, render

BENCHMARKS = {
    "decode": bench_decode,
    "fetch": bench_fetch,
    "month": bench_month,
    "memory": bench_memory,
    "stream": bench_stream,
    "audit": bench_audit,
    "lake": bench_lake,
    "signoff": bench_signoff,
}


def machine() -> str:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
        f"pandas {pd.__version__}, pyarrow {pa.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data and fewer repeats: a smoke run")
    parser.add_argument("--only", choices=list(BENCHMARKS), action="append", help="run only these (repeatable)")
    args = parser.parse_args()
    started = time.perf_counter()
    measures: list[Measure] = []
    for name, module in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        print(f"{name} ...", file=sys.stderr, flush=True)
        measures.extend(module.run(args.quick))
    if args.quick:  # the targets are set for the full sizes; a smoke run does not judge them
        measures = [dataclasses.replace(m, met=None) for m in measures]
    lines = [
        f"nxframe benchmarks{' (--quick)' if args.quick else ''}: {machine()}",
        "Medians of interleaved runs, wall clock; ratios are nxframe vs the baseline measured in the same run.",
        "",
        render(measures),
        "",
        f"Every figure passed its checks first (frames equal, money exact); {time.perf_counter() - started:.0f} s."
        + (" Targets apply to the full run, not to --quick." if args.quick else ""),
    ]
    text = "\n".join(lines)
    print(text)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / ("latest-quick.md" if args.quick else "latest.md")).write_text(text + "\n")
    missed = [m for m in measures if m.met is False]
    if missed:
        print(
            f"{len(missed)} target(s) missed: " + "; ".join(f"{m.question}: {m.label}" for m in missed), file=sys.stderr
        )


if __name__ == "__main__":
    main()
