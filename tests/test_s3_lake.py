"""A lake on a real S3 server (SeaweedFS on 127.0.0.1): everything the local lake promises, and how it is set up.

The server is ``weed mini`` (tests/s3server.py), with one identity, so wrong
credentials are refused as on AWS. Settings reach the store the three ways
S3 users set them: the AWS environment, ``storage_options``, and
``--storage-option`` on the command line.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from s3server import ACCESS_KEY, BUCKET, REGION, SECRET_KEY, FaultProxy, Weed

import nxframe
from nxframe.lake import Lake
from nxframe.lake.footer import encode_partition
from nxframe.query import CdrQuery
from nxframe.simulator import Simulator

WEEK = ("2024-03-01", "2024-03-07")


def _run(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nxframe", *arguments], env=env, capture_output=True, text=True, timeout=120
    )


def _env(sim: Simulator, **extra: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")} | sim.env() | extra


def test_an_s3_lake_equals_ground_truth_and_a_local_lake(
    s3: Weed, s3_lake: str, sim: Simulator, client: nxframe.Client, tmp_path: Path
) -> None:
    sim.add_calls("2024-03-03", 5)
    on_s3 = nxframe.sync_lake(s3_lake, *WEEK, client=client, progress=False)
    local = nxframe.sync_lake(tmp_path / "lake", *WEEK, client=client, progress=False)
    assert set(on_s3["action"]) == {"fetched"}
    pd.testing.assert_frame_equal(on_s3, local)
    truth = sim.ground_truth(*WEEK)
    pd.testing.assert_frame_equal(nxframe.read_lake(s3_lake), truth)
    pd.testing.assert_frame_equal(nxframe.read_lake(s3_lake, "2024-03-02", "2024-03-03"), sim.ground_truth(
        "2024-03-02", "2024-03-03"))  # fmt: skip
    for deep in (False, True):
        checked = nxframe.check_lake(s3_lake, *WEEK, deep=deep, client=client)
        assert set(checked["status"]) == {"match"}
    report = nxframe.monthly_report(s3_lake, "2024-03")
    assert report.totals["cost"].iloc[0] == truth["call_price"].sum()
    pd.testing.assert_frame_equal(nxframe.audit_billing(s3_lake), nxframe.audit_billing(tmp_path / "lake"))
    again = nxframe.sync_lake(s3_lake, *WEEK, client=client, progress=False, refresh_days=0)
    assert set(again["action"]) == {"skipped"}
    prefix = s3_lake.removeprefix("s3://")
    keys = sorted(path.removeprefix(prefix) for path in s3.fs().find(prefix))
    assert keys == ["/_nxframe_lake.json"] + [f"/date={d.date()}/part-0.parquet" for d in pd.date_range(*WEEK)]
    assert s3.uploads() == []  # and the lock is gone: the writer deleted its lease


def test_storage_options_and_the_command_line_reach_the_store_without_the_environment(
    s3: Weed, s3_lake: str, sim: Simulator, client: nxframe.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    nxframe.sync_lake(s3_lake, *WEEK, client=client, progress=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION"):
        monkeypatch.delenv(name)
    with pytest.raises(nxframe.LakeError, match=r"no usable storage credentials.*AWS_ACCESS_KEY_ID.*storage_options"):
        nxframe.read_lake(s3_lake)
    options = s3.options() | {"client_kwargs": {"region_name": REGION}}
    pd.testing.assert_frame_equal(nxframe.read_lake(s3_lake, storage_options=options), sim.ground_truth(*WEEK))
    pd.testing.assert_frame_equal(
        nxframe.fetch_cdr("2024-03-08", lake=s3_lake, storage_options=options, client=client, progress=False),
        sim.ground_truth("2024-03-08"),
    )
    assert Lake(s3_lake, storage_options=options).dates()[-1] == dt.date(2024, 3, 8)
    flags = ["--storage-option", f"endpoint_url={s3.endpoint}", "--storage-option", f"key={ACCESS_KEY}",
             "--storage-option", f"secret={SECRET_KEY}",
             "--storage-option", f'client_kwargs={{"region_name": "{REGION}"}}']  # fmt: skip
    done = _run("check", "--lake", s3_lake, "--start", WEEK[0], "--end", "2024-03-08", *flags, env=_env(sim))
    assert done.returncode == 0, done.stderr
    assert "8 match" in done.stdout
    assert SECRET_KEY not in done.stdout + done.stderr and ACCESS_KEY not in done.stdout + done.stderr
    bare = _run("audit", "--lake", s3_lake, "--month", "2024-03", env=_env(sim))
    assert bare.returncode == 1
    assert bare.stderr.count("\n") == 1 and "Traceback" not in bare.stderr
    assert bare.stderr.startswith(f"nxframe: error: LakeError: lake '{s3_lake}': cannot ")  # the URL as given
    said = bare.stderr.replace(s3_lake, "LAKE")
    assert "key and secret in --storage-option" in said and "storage_options" not in said


def test_a_named_profile_in_the_aws_files_is_used_as_aws_tools_use_it(
    s3_lake: str, client: nxframe.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nxframe.sync_lake(s3_lake, "2024-03-01", "2024-03-02", client=client, progress=False)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[team]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    with pytest.raises(nxframe.LakeError, match="no usable storage credentials"):
        nxframe.read_lake(s3_lake)  # the default profile has none
    monkeypatch.setenv("AWS_PROFILE", "team")
    assert nxframe.read_lake(s3_lake)["date"].dt.day.unique().tolist() == [1, 2]


def test_a_storage_option_value_is_json_when_it_parses_and_text_otherwise(sim: Simulator) -> None:
    from nxframe.cli import build_parser
    from nxframe.cli_commands import _storage_options

    args = build_parser().parse_args(
        ["unlock", "--lake", "s3://b/l", "--storage-option", "anon=true", "--storage-option", "max_concurrency=3",
         "--storage-option", 'client_kwargs={"region_name": "x"}', "--storage-option", "key=01",
         "--storage-option", "endpoint_url=http://h:1/a=b"]
    )  # fmt: skip
    assert _storage_options(args) == {
        "anon": True,
        "max_concurrency": 3,
        "client_kwargs": {"region_name": "x"},
        "key": "01",  # not JSON (a leading zero): the text as typed
        "endpoint_url": "http://h:1/a=b",
    }
    done = _run("unlock", "--lake", "s3://b/l", "--storage-option", "no-equals-sign-secret", env=_env(sim))
    assert done.returncode == 2 and "KEY=VALUE" in done.stderr and "no-equals-sign-secret" not in done.stderr
    twice = _run("unlock", "--lake", "s3://b/l", "--storage-option", "key=a", "--storage-option", "key=b",
                 env=_env(sim))  # fmt: skip
    assert twice.returncode == 2 and "--storage-option key given more than once" in twice.stderr


def test_s3fs_gets_nxframe_timeouts_no_retries_of_its_own_and_no_caches(
    s3_lake: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bounds a hanging store meets: 10 s to connect, 30 s to answer, nxframe's retries only."""
    fs = Lake(s3_lake).fs
    config = fs.config_kwargs
    assert (config["connect_timeout"], config["read_timeout"], config["retries"]["total_max_attempts"]) == (10, 30, 1)
    assert fs.retries == 1 and fs.dircache.use_listings_cache is False
    own = Lake(s3_lake, storage_options={"config_kwargs": {"read_timeout": 5}}).fs.config_kwargs
    assert own["read_timeout"] == 5 and own["connect_timeout"] == 10.0  # the caller's win, key by key
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    regional = Lake(s3_lake).fs
    assert regional.client_kwargs == {"region_name": "eu-west-3"}  # botocore reads AWS_DEFAULT_REGION only
    regional.connect()
    assert regional.s3.meta.region_name == "eu-west-3"


def test_no_storage_secret_in_a_repr_an_error_a_log_line_the_metadata_or_the_command_line(
    s3: Weed, s3_lake: str, sim: Simulator, client: nxframe.Client, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = (SECRET_KEY, ACCESS_KEY)
    options = s3.options()
    with caplog.at_level(logging.DEBUG, logger="nxframe"):
        nxframe.sync_lake(s3_lake, *WEEK, client=client, storage_options=options, progress=False)
        wrong = options | {"secret": "not-the-secret-" + SECRET_KEY[::-1]}
        with pytest.raises(nxframe.LakeError, match="access denied") as caught:
            nxframe.read_lake(s3_lake, storage_options=wrong)
    shown = [repr(Lake(s3_lake, storage_options=options)), str(caught.value), caught.value.path or "", caplog.text]
    shown.append(repr(Lake(f"s3://{ACCESS_KEY}:{SECRET_KEY}@{BUCKET}/x", storage_options=options)))
    assert not [text for text in shown for secret in (*secrets, wrong["secret"]) if secret in text]
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    data = s3.fs().cat_file(f"{s3_lake.removeprefix('s3://')}/date=2024-03-01/part-0.parquet")
    assert not [secret for secret in secrets if secret.encode() in data]
    assert pq.ParquetFile(io.BytesIO(data)).metadata.metadata[b"nxframe.date"] == b"2024-03-01"
    env = _env(sim) | {"AWS_SECRET_ACCESS_KEY": "wrong-" + SECRET_KEY}
    done = _run("--debug", "check", "--lake", s3_lake, "--start", WEEK[0], "--end", WEEK[1], env=env)
    assert done.returncode == 1 and "access denied" in done.stderr
    assert not [secret for secret in (*secrets, env["AWS_SECRET_ACCESS_KEY"]) if secret in done.stdout + done.stderr]


def test_a_writer_that_fails_deletes_its_lease(s3: Weed, s3_lake: str, sim: Simulator, client: nxframe.Client) -> None:
    sim.faults.add("code_1002", times=None, date="2024-03-02")
    with pytest.raises(nxframe.ParameterError, match="NXCloud rejected the query parameters for 2024-03-02 page 1"):
        nxframe.fetch_cdr("2024-03-01", "2024-03-03", lake=s3_lake, client=client, progress=False)
    assert Lake(s3_lake).dates() == [dt.date(2024, 3, 1)]  # the date before the failure is kept
    assert not s3.fs().exists(f"{s3_lake.removeprefix('s3://')}/_nxframe.lock")
    assert nxframe.unlock_lake(s3_lake) is None


def test_a_partition_goes_up_in_one_put_even_past_100_mib(s3: Weed, s3_lake: str) -> None:
    """No multipart upload (a killed writer would leave it unfinished); one PutObject takes up to 5 GB."""
    with FaultProxy(s3.port) as proxy:
        lake = Lake(s3_lake, storage_options=s3.options(proxy.endpoint))
        data = os.urandom(101 * 2**20)
        lake.storage.write("date=2024-03-01/part-0.parquet", data)
    assert [(seen.method, seen.path.split("?")[0]) for seen in proxy.seen] == [
        ("PUT", f"/{s3_lake.removeprefix('s3://')}/date=2024-03-01/part-0.parquet")
    ]
    assert s3.fs().size(f"{s3_lake.removeprefix('s3://')}/date=2024-03-01/part-0.parquet") == len(data)
    assert s3.uploads() == []


def _partition(date: str, rows: int, *, row_group: int | None = None) -> bytes:
    """A valid partition of ``rows`` zero-filled calls; small row groups make its footer long."""
    day = dt.date.fromisoformat(date)
    with Simulator(seed=1, rows_per_day=rows) as sim:
        table = sim.client().fetch_arrow(day, progress=False)
    data = encode_partition(day, table, CdrQuery.build(day, day).filters(), None)
    if row_group is None:
        return data
    parquet = pq.read_table(io.BytesIO(data))
    sink = pa.BufferOutputStream()
    pq.write_table(parquet, sink, row_group_size=row_group, write_page_checksum=True)
    return bytes(sink.getvalue().to_pybytes())


def test_a_footer_read_in_two_requests_is_pinned_to_one_version(s3: Weed, s3_lake: str) -> None:
    """The second range request carries If-Match: replaced in between, the reader starts over on the new version."""
    name = "date=2024-03-01/part-0.parquet"
    key = f"{s3_lake.removeprefix('s3://')}/{name}"
    old, new = _partition("2024-03-01", 3000, row_group=20), _partition("2024-03-01", 3100, row_group=20)
    assert pq.read_metadata(io.BytesIO(old)).serialized_size > 64 * 1024  # longer than one suffix request
    fs = s3.fs()
    fs.pipe_file(key, old)
    ranged = []

    def replace_before_the_second_range(method: str, path: str, headers: dict[str, str]) -> None:
        if method == "GET" and "Range" in headers:
            ranged.append(headers.get("If-Match"))
            if len(ranged) == 2:
                fs.pipe_file(key, new)  # a writer replaces the partition between the reader's two requests
        return None

    with FaultProxy(s3.port, replace_before_the_second_range) as proxy:
        info = Lake(s3_lake, storage_options=s3.options(proxy.endpoint)).partition_info(dt.date(2024, 3, 1))
    assert info.rows == 3100
    assert ranged[0] is None and ranged[1] is not None  # the second request was pinned to the first one's ETag
    assert len(ranged) == 4 and ranged[2] is None and ranged[3] not in (None, ranged[1])  # a 412, then again


def test_a_month_of_a_long_lake_lists_one_prefix_and_opens_only_its_dates(s3: Weed, s3_lake: str) -> None:
    lake = Lake(s3_lake)
    query = CdrQuery.build("2024-01-01", "2024-01-01")
    empty = nxframe.schema.arrow_schema(None).empty_table()
    with lake.writer():
        for day in pd.date_range("2024-01-01", "2024-04-30"):
            lake.write_date(day.date(), empty, query, today=dt.date(2025, 1, 1))
    with FaultProxy(s3.port) as proxy:
        frame = nxframe.read_lake(s3_lake, "2024-03-01", "2024-03-31", storage_options=s3.options(proxy.endpoint))
    assert len(frame) == 0
    gets = [seen.path.split("?")[0] for seen in proxy.seen if seen.method == "GET" and "list-type" not in seen.path]
    lists = [seen.path for seen in proxy.seen if "list-type" in seen.path]
    assert len(lists) == 1 and f"prefix={s3_lake.split('/', 3)[3]}/date=2024-03-" in lists[0]
    parts = sorted(path for path in gets if path.endswith("part-0.parquet"))
    assert parts == [f"/{s3_lake.removeprefix('s3://')}/date={d.date()}/part-0.parquet"
                     for d in pd.date_range("2024-03-01", "2024-03-31")]  # fmt: skip
    assert len(gets) == 31 + 1  # the dates asked for and the marker, nothing else


def test_brackets_and_stars_in_an_s3_lake_path_are_literal(
    s3_lake: str, sim: Simulator, client: nxframe.Client
) -> None:
    lake = s3_lake + "/team[1]*?"
    nxframe.sync_lake(lake, "2024-03-01", "2024-03-02", client=client, progress=False)
    pd.testing.assert_frame_equal(nxframe.read_lake(lake), sim.ground_truth("2024-03-01", "2024-03-02"))
    assert (
        nxframe.read_lake(s3_lake + "/team[1]*?", "2024-03-02")["call_price"].sum()
        == sim.ground_truth("2024-03-02")["call_price"].sum()
    )


def test_money_on_s3_stays_decimal(s3_lake: str, client: nxframe.Client) -> None:
    nxframe.sync_lake(s3_lake, "2024-03-01", "2024-03-01", client=client, progress=False)
    total = nxframe.read_lake(s3_lake)["call_price"].sum()
    assert isinstance(total, Decimal)
