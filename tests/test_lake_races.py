"""The lake under concurrency and damage: readers during a write, two writers, the lock, flipped bytes.

Writers run in subprocesses (a real second process, as a cron job and a
notebook would be), against a Simulator this test starts, over real HTTP.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from lake_worker import RACE_DAYS, race  # tests/ is on sys.path: the helper the subprocesses run

import nxframe
from nxframe.lake import Lake
from nxframe.simulator import Simulator

WORKER = Path(__file__).with_name("lake_worker.py")
DAYS = ("2024-04-01", "2024-04-08")


def _env(sim: Simulator) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")} | sim.env()


@contextlib.contextmanager
def _worker(sim: Simulator, *arguments: str) -> Iterator[subprocess.Popen[str]]:
    """A worker process, once it has printed that it holds the lock or started writing; killed after."""
    with subprocess.Popen(
        [sys.executable, str(WORKER), *arguments], env=_env(sim), stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            assert first.strip() in {"held", "writing"}, first
            yield process
        finally:
            process.kill()


def _asked(sim: Simulator) -> Counter[tuple[str, int]]:
    """How many times each (date, page) was requested."""
    return Counter((str((r.body or {}).get("date")), int((r.body or {}).get("page", 0))) for r in sim.requests)


def test_readers_never_fail_while_another_process_rewrites_the_same_dates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = race(str(tmp_path / "lake"), 4)  # the days grow meanwhile, so each rewrite changes the file
    with capsys.disabled():
        print(f"\nreaders during a write: {len(seen.errors)} errors out of {seen.reads} reads; writer: {seen.writer}")
    assert int(seen.writer.split()[1]) >= 2  # "runs N ...": partitions were replaced while being read
    assert seen.reads >= 20
    assert seen.errors == [], seen.errors[:3]
    assert seen.partial == [], seen.partial[:3]
    assert seen.most_dates == len(pd.date_range(*RACE_DAYS))


def test_two_sync_processes_on_one_lake_fetch_each_date_once_and_equal_ground_truth(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    with Simulator(seed=5, latency=0.25) as sim:  # a sync takes a second or two: the two overlap
        command = [sys.executable, "-m", "nxframe", "sync", "--lake", str(lake), "--start", DAYS[0], "--end", DAYS[1]]
        runs = [subprocess.Popen(command, env=_env(sim), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
        runs.append(subprocess.Popen(command, env=_env(sim), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        outputs = [run.communicate(timeout=120) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        asked = _asked(sim)
        pd.testing.assert_frame_equal(nxframe.read_lake(lake), sim.ground_truth(*DAYS))
    dates = [str(d.date()) for d in pd.date_range(*DAYS)]
    # The second writer waited for the first, then found every date there: each first page was asked once.
    assert {date: asked[(date, 1)] for date in dates} == dict.fromkeys(dates, 1)
    assert Lake(lake).dates() == [dt.date.fromisoformat(d) for d in dates]


def test_a_writer_that_waits_beyond_lock_timeout_is_told_who_holds_the_lake(
    sim: Simulator, client: nxframe.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    with _worker(sim, "hold", str(lake), "30") as holder:
        before = dt.datetime.now(dt.UTC).replace(microsecond=0)
        busy = r"is being written by pid \d+ .* waited 0\.5 s \(lock_timeout\) for it\. Let that writer finish"
        with pytest.raises(nxframe.LakeError, match=busy) as caught:
            nxframe.sync_lake(lake, *DAYS, client=client, lock_timeout=0.5)
        message = str(caught.value)
        assert f"pid {holder.pid}" in message
        assert f"host {socket.gethostname()}" in message
        since = dt.datetime.fromisoformat(message.split(" since ")[1].split(";")[0])
        assert since.tzinfo is not None and since <= before + dt.timedelta(seconds=1)
        assert "lock_timeout" in message and caught.value.path == str(lake / "_nxframe.lock")
        with pytest.raises(nxframe.LakeError, match=f"pid {holder.pid}"), Lake(lake).writer(lock_timeout=0):
            pass
        assert sim.requests == []  # a sync that cannot write asks nothing
    result = nxframe.sync_lake(lake, *DAYS, client=client, lock_timeout=5)  # the kernel freed a killed holder's lock
    assert set(result["action"]) == {"fetched"}


def test_a_live_local_writer_is_named_not_unlocked(sim: Simulator, tmp_path: Path) -> None:
    """A local lock is the kernel's: it ends with its process, so there is never a dead writer's lock to break."""
    lake = tmp_path / "lake"
    with _worker(sim, "hold", str(lake), "30") as holder:
        with pytest.raises(nxframe.LakeError, match=f"pid {holder.pid} on host .* which is alive"):
            nxframe.unlock_lake(lake)
        holder.kill()
        holder.wait()
    assert nxframe.unlock_lake(lake) is None  # the kernel freed it with the process


def test_nxframe_sync_waits_lock_timeout_then_names_the_holder_and_the_flag(sim: Simulator, tmp_path: Path) -> None:
    """The command line speaks in flags: the lock message says ``--lock-timeout``, exit 1, nothing asked."""
    lake = tmp_path / "lake"
    with _worker(sim, "hold", str(lake), "30") as holder:
        done = subprocess.run(
            [sys.executable, "-m", "nxframe", "sync", "--lake", str(lake), "--start", DAYS[0], "--end", DAYS[0],
             "--lock-timeout", "0.3"],
            env=_env(sim), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert f"pid {holder.pid}" in line and "(--lock-timeout)" in line and "lock_timeout" not in line
    assert sim.requests == []


def test_a_live_writers_temporary_survives_and_a_stale_one_is_removed(
    sim: Simulator, client: nxframe.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    nxframe.sync_lake(lake, *DAYS, client=client)
    folder = lake / "date=2024-04-03"
    live = folder / ".part-0.parquet.999999-live.tmp"
    stale = folder / ".part-0.parquet.999998-dead.tmp"
    stale.write_bytes(b"PAR1 left by a writer killed long ago")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    with Lake(lake).writer():
        live.write_bytes(b"PAR1 being written")  # newer than the lock holder's start
        nxframe.sync_lake(lake, "2024-04-03", "2024-04-03", client=client, refresh_days=3660)
        assert live.exists() and not stale.exists()
    assert sorted(p.name for p in folder.iterdir()) == [live.name, "part-0.parquet"]


def _flip_data_page_bytes(part: Path) -> None:
    """Overwrite bytes in the middle of the largest column chunk, leaving the footer intact."""
    metadata = pq.read_metadata(part)
    chunks = [metadata.row_group(0).column(i) for i in range(metadata.num_columns)]
    largest = max(chunks, key=lambda c: c.total_compressed_size)
    start = largest.dictionary_page_offset or largest.data_page_offset
    middle = start + largest.total_compressed_size // 2
    data = bytearray(part.read_bytes())
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    part.write_bytes(bytes(data))
    assert pq.read_metadata(part).num_rows == metadata.num_rows  # the footer still reads


def test_flipped_bytes_in_a_data_page_are_found_named_and_repaired(
    sim: Simulator, client: nxframe.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    sim.set_rows("2024-04-05", 3000)
    nxframe.sync_lake(lake, *DAYS, client=client)
    part = lake / "date=2024-04-05" / "part-0.parquet"
    _flip_data_page_bytes(part)
    with pytest.raises(nxframe.LakeError, match=re.escape("date=2024-04-05/part-0.parquet")) as caught:
        nxframe.read_lake(lake)
    assert caught.value.path == str(part)
    shallow = nxframe.check_lake(lake, *DAYS, client=client)
    assert set(shallow["status"]) == {"match"}  # the footer alone cannot tell
    deep = nxframe.check_lake(lake, *DAYS, deep=True, client=client)
    statuses = dict(zip(deep["date"].dt.date, deep["status"], strict=True))
    assert statuses.pop(dt.date(2024, 4, 5)) == "damaged" and set(statuses.values()) == {"match"}
    sim.reset()
    repaired = nxframe.sync_lake(lake, *DAYS, client=client, verify=True)
    assert repaired[repaired["action"] != "skipped"]["date"].dt.date.tolist() == [dt.date(2024, 4, 5)]
    assert {str((r.body or {}).get("date")) for r in sim.requests if (r.body or {}).get("pageSize") != 1} == {
        "2024-04-05"
    }
    pd.testing.assert_frame_equal(nxframe.read_lake(lake), sim.ground_truth(*DAYS))


def test_partitions_carry_page_checksums(sim: Simulator, client: nxframe.Client, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    nxframe.sync_lake(lake, "2024-04-01", "2024-04-01", client=client)
    part = lake / "date=2024-04-01" / "part-0.parquet"
    verified = pq.ParquetFile(part, page_checksum_verification=True).read()
    assert verified.num_rows == len(sim.records("2024-04-01"))
    _flip_data_page_bytes(part)
    with pytest.raises(OSError, match="CRC checksum verification failed"):
        pq.ParquetFile(part, page_checksum_verification=True).read()
