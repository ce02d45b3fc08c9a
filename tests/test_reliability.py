"""Reliability runs: a month under random faults, and a sync killed at random moments.

The soak and the 20-kill harness are marked ``slow`` (``make test-slow``);
the default run kills the sync 5 times.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import nxframe
from nxframe.lake import Lake
from nxframe.simulator import TRANSIENT_KINDS, Simulator

MONTH = ("2024-01-01", "2024-01-31")
FORTNIGHT = ("2024-01-01", "2024-01-14")


@pytest.mark.slow
def test_a_month_synced_through_ten_percent_random_faults_equals_ground_truth(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    sim.set_rows("2024-01-15", 2500)  # a busy day: several pages, several chances to fail
    sim.faults.random(0.10, TRANSIENT_KINDS, seed=20240101)
    with sim.client(retry_backoff=0.005, max_retries=8) as c:
        result = nxframe.sync_lake(lake, *MONTH, client=c, progress=False, page_size=200)
        retries = dict(c.retries)
    injected = dict(sim.faults.injected)
    with capsys.disabled():
        print(f"\nsoak: {len(sim.requests)} requests, faults injected {injected}, retries made {retries}")
    assert set(result["action"]) == {"fetched"}
    assert sum(injected.values()) >= 5
    assert sum(retries.values()) == sum(injected.values())
    pd.testing.assert_frame_equal(nxframe.read_lake(lake), sim.ground_truth(*MONTH))


def _complete_partitions(lake: Path, sim: Simulator) -> int:
    """Every visible partition reads whole; returns how many there are."""
    store = Lake(lake)
    for date in store.dates():
        table = pq.read_table(lake / f"date={date}" / "part-0.parquet")
        assert table.num_rows == len(sim.records(date)), f"{date} is partial"
    visible = [p for p in lake.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))]
    assert all(p.name == "part-0.parquet" for p in visible), visible
    if store.dates():
        assert len(nxframe.read_lake(lake)) == sum(len(sim.records(d)) for d in store.dates())
    return len(store.dates())


@pytest.mark.parametrize("kills", [5, pytest.param(20, marks=pytest.mark.slow)])
def test_a_sync_killed_at_random_moments_always_leaves_a_readable_lake(
    kills: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(7)
    lake = tmp_path / "lake"
    with Simulator(seed=11, rows_per_day=2500, latency=0.08) as sim:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")} | sim.env()
        command = [
            sys.executable,
            "-m",
            "nxframe",
            "sync",
            "--lake",
            str(lake),
            "--start",
            FORTNIGHT[0],
            "--end",
            FORTNIGHT[1],
        ]
        # Every killed run re-fetches the whole month, so kills also land while complete partitions are replaced.
        refresh_all = ["--refresh-days", "3660"]
        counts = []
        for _ in range(kills):
            # Killed after a random number of the run's requests (a run makes ~45), however slowly it starts:
            # events, not a clock, decide when, so a loaded machine moves the kill, never misses the writes.
            target = len(sim.requests) + rng.randint(4, 40)
            process = subprocess.Popen(
                command + refresh_all, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            while len(sim.requests) < target and process.poll() is None:
                time.sleep(rng.uniform(0.005, 0.02))
            process.send_signal(signal.SIGKILL)
            process.wait()
            counts.append(_complete_partitions(lake, sim))
        with capsys.disabled():
            print(f"\ncrash harness: partitions after each of {kills} kills: {counts}")
        assert max(counts) > 0  # the kills landed after writes had begun
        sim.latency = 0.0
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        pd.testing.assert_frame_equal(nxframe.read_lake(lake), sim.ground_truth(*FORTNIGHT))
    assert list(lake.rglob("*.tmp")) == []  # the rerun, once it held the lock, removed what the kills left
