"""Every way an S3 store fails is a LakeError naming the lake and the cause, bounded in time; progress is kept.

The failures are real: a closed port, a socket that accepts and never
answers, a proxy in front of the real server that refuses connections, answers
503 SlowDown or refuses conditional writes (tests/s3server.py), a bucket that
does not exist, wrong or missing credentials, and a server that is killed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pandas as pd
import pytest
from s3server import BUCKET, FaultProxy, Silent, Weed, closed_port

import nxframe
from nxframe.lake import Lake
from nxframe.lake.s3 import MAX_ATTEMPTS
from nxframe.simulator import Simulator

WEEK = ("2024-03-01", "2024-03-07")


def _env(sim: Simulator, **extra: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")} | sim.env() | extra


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exit 1 and said so in one line, without a traceback."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    return done.stderr


def test_missing_credentials_name_the_variables_and_the_flag(s3_lake: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(nxframe.LakeError, match=re.escape(f"lake '{s3_lake}'")) as caught:
        nxframe.read_lake(s3_lake)
    assert "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)" in str(caught.value)
    assert "storage_options" in str(caught.value) and caught.value.__cause__ is None
    command = [sys.executable, "-m", "nxframe", "unlock", "--lake", s3_lake]
    done = subprocess.run(command, capture_output=True, text=True)
    assert "give key and secret in --storage-option" in _one_line(done)


def test_rejected_credentials_are_access_denied_without_the_secret(s3: Weed, s3_lake: str) -> None:
    wrong = s3.options() | {"secret": "a-wrong-secret-1234"}
    with pytest.raises(nxframe.LakeError, match="access denied \\(HTTP 403 SignatureDoesNotMatch") as caught:
        nxframe.sync_lake(s3_lake, *WEEK, storage_options=wrong)  # before any client is made: nothing fetched
    assert "a-wrong-secret-1234" not in str(caught.value)
    unknown = s3.options() | {"key": "no-such-access-key"}
    with pytest.raises(nxframe.LakeError, match="access denied \\(HTTP 403 InvalidAccessKeyId"):
        nxframe.read_lake(s3_lake, storage_options=unknown)


def test_a_missing_bucket_is_named_and_never_created(s3: Weed, s3_lake: str, client: nxframe.Client) -> None:
    before = s3.buckets()
    with pytest.raises(nxframe.LakeError, match=r"bucket 'no-such-bucket' does not exist at http://127\.0\.0\.1:\d+; "
                       r"create it \(nxframe never creates buckets\)"):  # fmt: skip
        nxframe.sync_lake("s3://no-such-bucket/lake", *WEEK, client=client)
    with pytest.raises(nxframe.LakeError, match="does not exist"):
        nxframe.fetch_cdr(WEEK[0], lake="s3://no-such-bucket/lake", client=client, progress=False)
    assert s3.buckets() == before == [BUCKET]


def test_an_endpoint_nobody_listens_on_is_unreachable_after_a_few_quick_attempts(
    s3_lake: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(nxframe.LakeError, match=r"\(connection refused\); check that the store is running") as caught:
        nxframe.read_lake(s3_lake)
    message = str(caught.value)
    assert message.startswith(f"lake '{s3_lake}': cannot read _nxframe_lake.json: cannot reach http://127.0.0.1:{port}")
    assert "(connection refused)" in message and "AWS_ENDPOINT_URL" in message
    assert f"gave up after {MAX_ATTEMPTS} attempts" in message


def test_a_store_that_never_answers_fails_at_the_read_timeout(s3: Weed, s3_lake: str) -> None:
    """The default is 30 s (see test_s3_lake); here 1 s, so the test is quick: one attempt, no retries."""
    with Silent() as silent:
        options = s3.options(silent.endpoint) | {"config_kwargs": {"read_timeout": 1}}
        with pytest.raises(nxframe.LakeError, match="did not answer within 1 s") as caught:
            nxframe.read_lake(s3_lake, storage_options=options)
        assert len(silent.accepted) == 1  # a hang is not retried: it already took the whole timeout
    assert f"lake '{s3_lake}'" in str(caught.value) and "read_timeout" in str(caught.value)


@pytest.mark.slow
def test_a_store_that_never_answers_is_reported_within_a_minute_with_the_defaults(s3: Weed, s3_lake: str) -> None:
    with Silent() as silent:
        started = time.monotonic()
        with pytest.raises(nxframe.LakeError, match="did not answer within 30 s"):
            nxframe.sync_lake(s3_lake, *WEEK, storage_options=s3.options(silent.endpoint))
        assert time.monotonic() - started < 120  # a correctness bound (60 s promised), generous for a loaded CI


def test_slowdown_is_retried_a_few_times_then_named(s3: Weed, s3_lake: str) -> None:
    with (
        FaultProxy(s3.port, lambda method, path, headers: "503") as proxy,
        pytest.raises(nxframe.LakeError, match="HTTP 503 SlowDown: Please reduce your request rate") as caught,
    ):
        nxframe.read_lake(s3_lake, storage_options=s3.options(proxy.endpoint))
    assert len(proxy.seen) == MAX_ATTEMPTS  # then it gave up, with backoff, within nxframe's retry budget
    assert f"gave up after {MAX_ATTEMPTS} attempts" in str(caught.value)


def test_a_store_that_goes_away_mid_sync_keeps_the_dates_written_and_fails_the_rest(
    s3: Weed, s3_lake: str, sim: Simulator, client: nxframe.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NXFRAME_LOCK_LEASE_SECONDS", "1")  # the lease left behind ends soon
    parts: list[str] = []

    def down_after_three_partitions(method: str, path: str, headers: dict[str, str]) -> str | None:
        if len(parts) >= 3:
            return "refuse"
        if method == "PUT" and path.endswith("part-0.parquet"):
            parts.append(path)
        return None

    with FaultProxy(s3.port, down_after_three_partitions) as proxy:
        result = nxframe.sync_lake(s3_lake, *WEEK, client=client, storage_options=s3.options(proxy.endpoint))
    actions = dict(zip(result["date"].dt.strftime("%Y-%m-%d"), result["action"], strict=True))
    written = sorted(path.split("date=")[1][:10] for path in parts)
    assert written == list(actions)[:3] and [actions[d] for d in written] == ["fetched"] * 3
    failed = result[result["action"] == "failed"]
    assert len(failed) == 4
    assert failed["error"].str.contains(f"lake '{s3_lake}'", regex=False).all()
    assert failed["error"].str.contains("cannot reach http://127.0.0.1:", regex=False).all()
    present = [str(d) for d in Lake(s3_lake).dates()]
    assert present == written  # what was reported fetched is there, exact; nothing else
    pd.testing.assert_frame_equal(nxframe.read_lake(s3_lake), sim.ground_truth(written[0], written[-1]))
    again = nxframe.sync_lake(s3_lake, *WEEK, client=client, refresh_days=0, lock_timeout=30)  # takes the lease over
    assert list(again["action"]) == ["skipped"] * 3 + ["fetched"] * 4
    pd.testing.assert_frame_equal(nxframe.read_lake(s3_lake), sim.ground_truth(*WEEK))


def test_nxframe_sync_against_a_store_that_fails_prints_the_dates_and_exits_1(
    s3: Weed, s3_lake: str, sim: Simulator
) -> None:
    def down_from_the_second_date(method: str, path: str, headers: dict[str, str]) -> str | None:
        return "refuse" if method == "PUT" and "date=2024-03-02" in path else None

    with FaultProxy(s3.port, down_from_the_second_date) as proxy:
        env = _env(sim, AWS_ENDPOINT_URL=proxy.endpoint)
        command = [sys.executable, "-m", "nxframe", "sync", "--lake", s3_lake, "--start", WEEK[0], "--end", WEEK[1]]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = {line.split()[0]: line.split()[1] for line in done.stdout.splitlines() if line.startswith("2024-")}
    assert lines == {"2024-03-01": "fetched"} | {f"2024-03-0{d}": "failed" for d in range(2, 8)}
    assert f"LakeError: lake '{s3_lake}': cannot write date=2024-03-02/part-0.parquet: cannot reach" in done.stdout
    assert done.stdout.splitlines()[-1] == f"6 failed, 1 fetched -> {s3_lake}"


def test_a_store_that_refuses_conditional_writes_is_refused_before_anything_is_fetched(
    s3: Weed, s3_lake: str, sim: Simulator, client: nxframe.Client
) -> None:
    def no_conditions(method: str, path: str, headers: dict[str, str]) -> str | None:
        return "501" if "If-None-Match" in headers or "If-Match" in headers else None

    with (
        FaultProxy(s3.port, no_conditions) as proxy,
        pytest.raises(nxframe.LakeError, match=r"refuses conditional writes \(If-None-Match") as caught,
    ):
        nxframe.sync_lake(s3_lake, *WEEK, client=client, storage_options=s3.options(proxy.endpoint))
    assert "_nxframe.lock" in str(caught.value) and sim.requests == []


def test_a_store_that_ignores_conditional_writes_is_refused_before_anything_is_fetched(
    s3: Weed, s3_lake: str, sim: Simulator, client: nxframe.Client
) -> None:
    with (
        FaultProxy(s3.port, lambda method, path, headers: "ignore") as proxy,
        pytest.raises(nxframe.LakeError, match=r"ignores conditional writes \(If-None-Match and If-Match\)"),
    ):
        nxframe.sync_lake(s3_lake, *WEEK, client=client, storage_options=s3.options(proxy.endpoint))
    assert sim.requests == []
    assert not s3.fs().exists(f"{s3_lake.removeprefix('s3://')}/_nxframe.lock")  # its probe lease was removed


@pytest.mark.slow  # a server of its own; a closed port and a proxy that refuses are the quick versions
def test_a_killed_server_is_a_lake_error_for_readers_and_one_line_on_the_command_line(
    aws_env: None, sim: Simulator, client: nxframe.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Weed().start()
    try:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        lake = f"s3://{BUCKET}/killed"
        nxframe.sync_lake(lake, *WEEK, client=client)
        server.kill()
        with pytest.raises(nxframe.LakeError, match="connection refused"):
            nxframe.read_lake(lake)
        done = subprocess.run(
            [sys.executable, "-m", "nxframe", "report", "--lake", lake, "--month", "2024-03", "--out", "x.html"],
            env=_env(sim), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert f"LakeError: lake '{lake}': cannot " in _one_line(done) and "connection refused" in done.stderr
    finally:
        server.stop()
