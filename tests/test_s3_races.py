"""One S3 lake, several processes: readers during writes, two writers racing, kills, a lease taken over.

Every writer here is a separate process (as two cron jobs on two machines
would be), talking to the real S3 server (SeaweedFS, whose conditional writes
are atomic) and to a Simulator over HTTP. The lease's lifetime is shortened
with ``NXFRAME_LOCK_LEASE_SECONDS`` where a test waits for one to expire.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from lake_worker import RACE_DAYS, race
from s3server import BUCKET, Weed

import nxframe
from nxframe.lake import Lake
from nxframe.simulator import Simulator

WORKER = Path(__file__).with_name("lake_worker.py")
DAYS = ("2024-04-01", "2024-04-06")


def _env(sim: Simulator, **extra: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")} | sim.env() | extra


def _command(lake: str, start: str = DAYS[0], end: str = DAYS[1], *flags: str) -> list[str]:
    return [sys.executable, "-m", "nxframe", "sync", "--lake", lake, "--start", start, "--end", end, *flags]


def _sync(lake: str, sim: Simulator, *flags: str, **env: str) -> subprocess.Popen[str]:
    command = _command(lake, DAYS[0], DAYS[1], *flags)
    return subprocess.Popen(command, env=_env(sim, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _same(frame: pd.DataFrame, expected: pd.DataFrame) -> bool:
    try:
        pd.testing.assert_frame_equal(frame, expected)
    except AssertionError:
        return False
    return True


@contextlib.contextmanager
def _worker(sim: Simulator, *arguments: str, **env: str) -> Iterator[subprocess.Popen[str]]:
    """A lake_worker process, once it has said it holds the lock; killed after."""
    with subprocess.Popen(
        [sys.executable, str(WORKER), *arguments], env=_env(sim, **env), stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "held"
            yield process
        finally:
            process.kill()
            process.wait()


def _key(lake: str, name: str) -> str:
    return f"{lake.removeprefix('s3://')}/{name}"


def test_readers_never_fail_while_another_process_rewrites_the_same_dates(
    s3_lake: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = race(s3_lake, 3)  # the days grow meanwhile, so each rewrite changes every partition
    with capsys.disabled():
        print(f"\nS3 readers during writes: {len(seen.errors)} failures of {seen.reads} reads; writer: {seen.writer}")
    assert int(seen.writer.split()[1]) >= 2  # "runs N ...": partitions were replaced while being read
    assert seen.reads >= 10
    assert seen.errors == [], seen.errors[:3]
    assert seen.partial == [], seen.partial[:3]
    assert seen.most_dates == len(pd.date_range(*RACE_DAYS))


def test_a_long_lived_reader_sees_what_other_processes_wrote_at_once(s3_lake: str, sim: Simulator) -> None:
    """No listing or block cache survives between calls: a new date shows, a rewritten one is not 'damaged'."""
    store = Lake(s3_lake)  # one object, as a notebook keeps it
    first = subprocess.run(_command(s3_lake, DAYS[0], "2024-04-02"), env=_env(sim), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert len(store.read()) == len(sim.ground_truth(DAYS[0], "2024-04-02"))
    sim.add_calls("2024-04-02", 7)
    command = _command(s3_lake, DAYS[0], "2024-04-03", "--refresh-days", "3660")
    again = subprocess.run(command, env=_env(sim), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert store.dates() == [dt.date(2024, 4, 1), dt.date(2024, 4, 2), dt.date(2024, 4, 3)]
    pd.testing.assert_frame_equal(store.read(), sim.ground_truth(DAYS[0], "2024-04-03"))
    assert set(nxframe.check_lake(store, DAYS[0], "2024-04-03", client=sim.client())["status"]) == {"match"}


@pytest.mark.parametrize("rounds", [2, pytest.param(10, marks=pytest.mark.slow)])
def test_two_writers_racing_never_mix_their_partitions(
    rounds: int, s3: Weed, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two syncs of the same dates from two 'machines' (two simulators with different data), again and again.

    Every other round the lake starts with a dead writer's expired lease, so
    the two race to take it over (If-Match) instead of to create it (If-None-Match).
    """
    waited = 0
    expired = {"pid": 1, "host": "gone", "since": "2020-01-01T00:00:00+00:00", "expires": "2020-01-01T00:05:00+00:00"}
    with Simulator(seed=21, latency=0.05) as one, Simulator(seed=22, latency=0.05) as other:
        for number in range(rounds):
            lake = f"s3://{BUCKET}/race-{os.getpid()}-{number}-{random.randrange(10**6)}"
            if number % 2 == 0:
                s3.fs().pipe_file(_key(lake, "_nxframe.lock"), json.dumps(expired).encode())
            writers = [_sync(lake, one, **s3.env()), _sync(lake, other, **s3.env())]
            outputs = [writer.communicate(timeout=120) for writer in writers]
            assert [writer.returncode for writer in writers] == [0, 0], outputs
            frame = nxframe.read_lake(lake, storage_options=s3.options())
            sources = [_same(frame, sim.ground_truth(*DAYS)) for sim in (one, other)]
            assert sources in ([True, False], [False, True]), "a lake with partitions of both writers"
            waited += sum("6 skipped" in out for out, _ in outputs)  # the second found every date written
            assert not s3.fs().exists(_key(lake, "_nxframe.lock"))
    with capsys.disabled():
        print(f"\ntwo writers x {rounds} rounds: 0 mixed lakes; the second writer waited {waited} times")
    assert waited == rounds


def test_a_writer_working_past_its_lease_keeps_it_by_renewing(s3: Weed, s3_lake: str, sim: Simulator) -> None:
    with _worker(sim, "hold", s3_lake, "60", NXFRAME_LOCK_LEASE_SECONDS="1") as holder:
        first = json.loads(s3.fs().cat_file(_key(s3_lake, "_nxframe.lock")))
        time.sleep(2.5)  # past its lease: only renewals keep it
        with pytest.raises(nxframe.LakeError, match=f"being written by pid {holder.pid}"):
            nxframe.sync_lake(s3_lake, *DAYS, client=sim.client(), lock_timeout=1.5)
        later = json.loads(s3.fs().cat_file(_key(s3_lake, "_nxframe.lock")))
    assert later["since"] == first["since"] and later["expires"] > first["expires"]  # renewed, not replaced
    assert sim.requests == []


@pytest.mark.parametrize("rounds", [1, pytest.param(5, marks=pytest.mark.slow)])
def test_two_writers_of_different_queries_leave_one_query(rounds: int, s3: Weed, sim: Simulator) -> None:
    for number in range(rounds):
        lake = f"s3://{BUCKET}/queries-{os.getpid()}-{number}-{random.randrange(10**6)}"
        writers = [
            subprocess.Popen(
                [sys.executable, "-m", "nxframe", "fetch", DAYS[0], DAYS[1], "--lake", lake, *extra],
                env=_env(sim, **s3.env()), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for extra in ([], ["--type", "incoming"])
        ]  # fmt: skip
        outputs = [writer.communicate(timeout=120) for writer in writers]
        codes = sorted(writer.returncode for writer in writers)
        assert codes == [0, 1], outputs
        loser = next(err for (out, err), w in zip(outputs, writers, strict=True) if w.returncode == 1)
        assert "LakeError" in loser and "use another lake folder for another query" in loser
        frame = nxframe.read_lake(lake, storage_options=s3.options())
        winner = next(i for i, w in enumerate(writers) if w.returncode == 0)
        filters = {"call_type": "incoming"} if winner == 1 else {}
        pd.testing.assert_frame_equal(frame, sim.client().fetch_cdr(*DAYS, progress=False, **filters))


def test_a_second_writer_waits_then_names_the_holder_and_its_expiry(s3_lake: str, sim: Simulator) -> None:
    with _worker(sim, "hold", s3_lake, "60") as holder:
        before = dt.datetime.now(dt.UTC)
        with pytest.raises(nxframe.LakeError, match=f"pid {holder.pid} on host {socket.gethostname()}") as caught:
            nxframe.sync_lake(s3_lake, *DAYS, client=sim.client(), lock_timeout=1)
        expires = dt.datetime.fromisoformat(str(caught.value).split("lease expires at ")[1].split(";")[0])
        assert before < expires < before + dt.timedelta(seconds=305)
        assert "(lock_timeout)" in str(caught.value) and "unlock_lake" in str(caught.value)
        assert sim.requests == []  # a writer that cannot write asks nothing
        done = subprocess.run(
            [sys.executable, "-m", "nxframe", "sync", "--lake", s3_lake, "--start", DAYS[0], "--end", DAYS[0],
             "--lock-timeout", "0.5"], env=_env(sim), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 1 and "(--lock-timeout)" in done.stderr and "Traceback" not in done.stderr
        assert f"pid {holder.pid}" in done.stderr


def test_a_killed_holders_lease_is_broken_by_hand_or_taken_over_when_it_expires(
    s3: Weed, s3_lake: str, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NXFRAME_LOCK_LEASE_SECONDS", "1")
    with _worker(sim, "hold", s3_lake, "60") as holder:
        holder.kill()
        holder.wait()
    record = json.loads(s3.fs().cat_file(_key(s3_lake, "_nxframe.lock")))
    removed = nxframe.unlock_lake(s3_lake)
    assert removed == {k: record[k] for k in ("pid", "host", "since", "expires")} and removed["pid"] == holder.pid
    assert removed["host"] == socket.gethostname() and nxframe.unlock_lake(s3_lake) is None
    with _worker(sim, "hold", s3_lake, "60") as holder:
        holder.kill()
        holder.wait()
    result = nxframe.sync_lake(s3_lake, *DAYS, client=sim.client(), lock_timeout=30)  # waits ~1 s, takes it over
    assert set(result["action"]) == {"fetched"}
    assert not s3.fs().exists(_key(s3_lake, "_nxframe.lock"))  # and removed it when done


def test_nxframe_unlock_prints_whose_lock_it_broke(s3: Weed, s3_lake: str, sim: Simulator) -> None:
    since, expires = "2026-01-05T02:00:00+00:00", "2026-01-05T02:05:00+00:00"
    record = {"pid": 4242, "host": "cron-7", "since": since, "expires": expires}
    s3.fs().pipe_file(_key(s3_lake, "_nxframe.lock"), json.dumps(record | {"token": "t"}).encode())
    command = [sys.executable, "-m", "nxframe", "unlock", "--lake", s3_lake]
    done = subprocess.run(command, env=_env(sim), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "broke the lock of pid 4242 on host cron-7 since 2026-01-05T02:00:00+00:00 "
        "(its lease would have expired at 2026-01-05T02:05:00+00:00)\n"
    )
    again = subprocess.run(command, env=_env(sim), capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stdout == f"no lock on {s3_lake}: nothing to break\n"


def test_a_writer_whose_lease_was_taken_over_stops_before_writing_again(
    s3: Weed, s3_lake: str, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A holder frozen past its lease (SIGSTOP: a paused VM) loses it to a waiting writer, and notices."""
    monkeypatch.setenv("NXFRAME_LOCK_LEASE_SECONDS", "2")
    with _worker(sim, "writeloop", s3_lake, DAYS[0]) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().startswith("wrote 1")
        os.kill(holder.pid, signal.SIGSTOP)
        try:
            result = nxframe.sync_lake(s3_lake, DAYS[0], DAYS[0], client=sim.client(), lock_timeout=30,
                                       refresh_days=3660)  # fmt: skip
        finally:
            os.kill(holder.pid, signal.SIGCONT)
        assert list(result["action"]) == ["refreshed"]
        rest = holder.stdout.read()
        assert holder.wait(timeout=60) == 3, rest
    assert rest.startswith(f"stopped: lake '{s3_lake}': this writer's lock was taken over")
    assert "stopped before writing again" in rest and "wrote" not in rest
    data = s3.fs().cat_file(_key(s3_lake, f"date={DAYS[0]}/part-0.parquet"))
    assert pq.read_metadata(io.BytesIO(data)).num_rows == len(sim.records(DAYS[0]))  # the taker's, not overwritten


@pytest.mark.parametrize("runs", [2, pytest.param(12, marks=pytest.mark.slow)])
def test_syncs_killed_mid_write_leave_complete_partitions_and_no_uploads(
    runs: int, s3: Weed, s3_lake: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NXFRAME_LOCK_LEASE_SECONDS", "1")  # each killed writer's lease ends soon
    rng = random.Random(5)
    kills, seen = 0, []
    prefix = s3_lake.removeprefix("s3://")

    def etags() -> dict[str, str]:
        found = s3.fs().find(prefix, detail=True)
        return {key: info["ETag"] for key, info in found.items() if key.endswith("part-0.parquet")}

    with Simulator(seed=9, rows_per_day=6000, latency=0.08) as sim:
        for _ in range(runs):
            before = etags()
            writer = _sync(s3_lake, sim, "--refresh-days", "3660", "--lock-timeout", "30")
            deadline = time.monotonic() + 60
            while writer.poll() is None and etags() == before and time.monotonic() < deadline:
                time.sleep(0.05)  # until this writer has put its first partition
            time.sleep(rng.uniform(0, 0.6))
            kills += writer.poll() is None
            writer.kill()
            writer.communicate()
            after = etags()
            seen.append(sum(after.get(key) != etag for key, etag in before.items()) + len(after.keys() - before))
            for date in Lake(s3_lake).dates():  # whatever is visible is a whole partition
                assert Lake(s3_lake).partition_info(date).rows == len(sim.records(date))
        assert s3.uploads() == []
        sim.latency = 0.0
        final = _sync(s3_lake, sim, "--lock-timeout", "30")
        _, err = final.communicate(timeout=120)
        assert final.returncode == 0, err
        pd.testing.assert_frame_equal(nxframe.read_lake(s3_lake), sim.ground_truth(*DAYS))
    with capsys.disabled():
        print(f"\nS3 syncs killed mid-write: {kills} of {runs} runs, partitions put before each kill {seen}")
    assert kills >= runs // 2
