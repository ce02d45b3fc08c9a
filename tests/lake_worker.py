"""A second process for the lake race tests: ``hold`` the writer lock, ``sync`` in a loop, or a whole ``race``.

    python tests/lake_worker.py hold LAKE SECONDS
    python tests/lake_worker.py sync LAKE START END SECONDS
    python tests/lake_worker.py writeloop LAKE DATE   # hold the lock, rewrite DATE until the lock is lost
    python tests/lake_worker.py race LAKE SECONDS      # a simulator, a sync process, read_lake in a loop

``hold`` and ``sync`` take the server and credentials from ``NXCLOUD_*`` (a
Simulator the test started), an S3 lake's from ``AWS_*``, and print one line
once they hold the lock or start writing. ``writeloop`` prints ``wrote N``
after each write and ``stopped: <message>`` (exit 3) when its lock is lost.
``race`` prints ``E errors out of R reads``; run it with ``PYTHONPATH`` at
another checkout of nxframe to measure that version alike.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field

import pandas as pd

import nxframe
from nxframe.lake import Lake

RACE_DAYS = ("2024-04-01", "2024-04-08")


def hold(lake: str, seconds: float) -> None:
    with Lake(lake).writer(lock_timeout=10):
        print("held", flush=True)
        time.sleep(seconds)


def writeloop(lake: str, date: str) -> None:
    """Hold the lake and rewrite one date (zero rows) every 0.3 s; a lost lock ends it with exit 3."""
    from nxframe.query import CdrQuery
    from nxframe.schema import arrow_schema

    day = dt.date.fromisoformat(date)
    query = CdrQuery.build(day, day)
    empty = arrow_schema(None).empty_table()
    store = Lake(lake)
    writes = 0
    try:
        with store.writer(lock_timeout=10):
            print("held", flush=True)
            while True:
                store.write_date(day, empty, query, today=day)
                writes += 1
                print(f"wrote {writes}", flush=True)
                time.sleep(0.3)
    except nxframe.LakeError as exc:
        print(f"stopped: {exc}", flush=True)
        sys.exit(3)


def sync(lake: str, start: str, end: str, seconds: float) -> None:
    """Re-fetch every date again and again; a date the growing server made fail is counted, not fatal."""
    deadline = time.monotonic() + seconds
    runs = writes = failed = 0
    print("writing", flush=True)
    with nxframe.Client(retry_backoff=0.01) as client:
        while runs == 0 or time.monotonic() < deadline:
            result = nxframe.sync_lake(lake, start, end, refresh_days=3660, client=client, progress=False)
            runs += 1
            failed += int((result["action"] == "failed").sum())
            writes += len(result) - failed
    print(f"runs {runs} writes {writes} failed {failed}", flush=True)


@dataclass
class Race:
    """What the reader saw while another process kept rewriting the lake."""

    reads: int = 0
    errors: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    most_dates: int = 0
    writer: str = ""


def race(lake: str, seconds: float) -> Race:
    """``read_lake`` in a loop while a sync process rewrites the same dates and the days keep growing.

    Each read must succeed, and each date in it must hold exactly as many
    rows as the server had for it at some moment (a complete partition).
    """
    from nxframe.simulator import Simulator

    rng = random.Random(1)
    outcome = Race()
    with Simulator(seed=3, rows_per_day=1500) as sim:
        dates = [d.date() for d in pd.date_range(*RACE_DAYS)]
        counts = {date: {len(sim.records(date))} for date in dates}
        env = {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")} | sim.env()
        command = [sys.executable, __file__, "sync", lake, *RACE_DAYS, str(seconds)]
        with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as writer:
            assert writer.stdout is not None
            writer.stdout.readline()
            while writer.poll() is None:
                if not Lake(lake).dates():
                    time.sleep(0.01)
                    continue
                if outcome.reads % 2 == 0:  # a day grows: its next partition differs in size and footer
                    grown = rng.choice(dates)
                    sim.add_calls(grown, rng.randint(1, 40))
                    counts[grown].add(len(sim.records(grown)))
                outcome.reads += 1
                try:
                    frame = nxframe.read_lake(lake)
                except nxframe.NxframeError as exc:
                    outcome.errors.append(str(exc))
                    continue
                sizes = frame.groupby("date", observed=True).size()
                outcome.most_dates = max(outcome.most_dates, len(sizes))
                for day, rows in sizes.items():
                    date = day.date() if hasattr(day, "date") else day
                    if rows not in counts[date]:
                        outcome.partial.append(f"{date}: {rows} rows, the server had {sorted(counts[date])}")
            outcome.writer = writer.stdout.read().strip()
    return outcome


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "hold":
        hold(rest[0], float(rest[1]))
    elif command == "writeloop":
        writeloop(rest[0], rest[1])
    elif command == "race":
        seen = race(rest[0], float(rest[1]))
        print(f"{len(seen.errors)} errors out of {seen.reads} reads, {len(seen.partial)} partial; {seen.writer}")
        for text in seen.errors[-1:] + seen.partial[-1:]:
            print(f"  e.g. {text}")
    else:
        sync(rest[0], rest[1], rest[2], float(rest[3]))
