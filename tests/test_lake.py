"""The Parquet lake: exact, atomic, incremental, readable by the engines users scale out to."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pa_ds
import pyarrow.parquet as pq
import pytest

import nxframe
from nxframe.lake import Lake
from nxframe.simulator import Simulator

MONTH = ("2024-02-01", "2024-02-29")


@pytest.fixture
def month_lake(tmp_path: Path, sim: Simulator, client: nxframe.Client) -> Path:
    lake = tmp_path / "lake"
    result = nxframe.sync_lake(lake, *MONTH, client=client)
    assert set(result["action"]) == {"fetched"}
    return lake


def test_a_synced_month_equals_ground_truth_row_for_row(sim: Simulator, month_lake: Path) -> None:
    df = nxframe.read_lake(month_lake)
    pd.testing.assert_frame_equal(df, sim.ground_truth(*MONTH))
    assert df["date"].is_monotonic_increasing
    sent = [Decimal(str(r["callPrice"])) for d in pd.date_range(*MONTH) for r in sim.records(d.date())]
    assert df["call_price"].sum() == sum(sent)


def test_the_layout_is_hive_partitions_with_one_schema(month_lake: Path) -> None:
    parts = sorted(month_lake.glob("date=*/part-0.parquet"))
    assert len(parts) == 29
    assert [p.parent.name for p in parts][:2] == ["date=2024-02-01", "date=2024-02-02"]
    schemas = {str(pq.read_schema(p).remove_metadata()) for p in parts}
    assert len(schemas) == 1
    schema = pq.read_schema(parts[0])
    assert "date" not in schema.names  # the path carries it, as Hive readers expect
    assert schema.field("call_price").type == pa.decimal128(18, 6)
    assert pq.ParquetFile(parts[0]).metadata.row_group(0).column(0).compression == "ZSTD"


def test_each_file_carries_metadata_but_no_secret(sim: Simulator, month_lake: Path) -> None:
    part = month_lake / "date=2024-02-05" / "part-0.parquet"
    metadata = json.loads(pq.read_schema(part).metadata[b"nxframe"])
    assert metadata["nxframe_version"] == nxframe.__version__
    assert metadata["rows"] == metadata["total_row"] == len(sim.records("2024-02-05"))
    assert metadata["query"] == {"did_number": None, "call_number": None, "call_type": None, "tz": None}
    assert dt.datetime.fromisoformat(metadata["fetched_at"]).tzinfo is not None
    flat = pq.read_schema(part).metadata
    assert flat[b"nxframe.version"] == nxframe.__version__.encode()
    assert int(flat[b"nxframe.rows"]) == metadata["rows"] and b"nxframe.fetched_at" in flat
    signs = {r.headers["sign"] for r in sim.requests}
    for path in month_lake.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert sim.access_secret.encode() not in data
            assert not any(s.encode() in data for s in signs)


def test_a_day_without_calls_is_a_zero_row_partition(sim: Simulator, client: nxframe.Client, tmp_path: Path) -> None:
    sim.set_rows("2024-02-10", 0)
    lake = tmp_path / "lake"
    nxframe.sync_lake(lake, "2024-02-09", "2024-02-11", client=client)
    empty = lake / "date=2024-02-10" / "part-0.parquet"
    assert pq.read_metadata(empty).num_rows == 0
    assert (
        pq.read_schema(empty).remove_metadata()
        == pq.read_schema(lake / "date=2024-02-09" / "part-0.parquet").remove_metadata()
    )
    assert nxframe.check_lake(lake, "2024-02-10", "2024-02-10", client=client)["status"].tolist() == ["match"]
    df = nxframe.read_lake(lake)
    assert dt.date(2024, 2, 10) not in set(df["date"])
    pd.testing.assert_frame_equal(df, sim.ground_truth("2024-02-09", "2024-02-11"))


def test_read_lake_filters_dates_and_keeps_the_schema(sim: Simulator, month_lake: Path, client: nxframe.Client) -> None:
    part = nxframe.read_lake(month_lake, "2024-02-10", dt.date(2024, 2, 12))
    pd.testing.assert_frame_equal(part, sim.ground_truth("2024-02-10", "2024-02-12"))
    fetched = client.fetch_cdr("2024-02-10", "2024-02-12", progress=False)
    pd.testing.assert_frame_equal(part, fetched)
    none = nxframe.read_lake(month_lake, "2030-01-01", "2030-01-31")
    assert none.empty and none.dtypes.astype(str).tolist() == part.dtypes.astype(str).tolist()


def test_rerunning_a_date_replaces_it_never_duplicates(
    sim: Simulator, client: nxframe.Client, month_lake: Path
) -> None:
    client.fetch_cdr("2024-02-05", "2024-02-06", lake=month_lake, progress=False)
    client.fetch_cdr("2024-02-05", lake=month_lake, progress=False)
    df = nxframe.read_lake(month_lake)
    assert df["id"].is_unique
    pd.testing.assert_frame_equal(df, sim.ground_truth(*MONTH))


def test_a_second_sync_skips_all_but_the_refresh_window(sim: Simulator, client: nxframe.Client, tmp_path: Path) -> None:
    today = dt.date(2024, 3, 1)  # injected: the day after a month's last is not special
    start = today - dt.timedelta(days=9)
    lake = tmp_path / "lake"
    first = nxframe.sync_lake(lake, start, today, client=client, today=today)
    assert first["action"].tolist() == ["fetched"] * 10
    sim.reset()
    second = nxframe.sync_lake(lake, start, today, client=client, refresh_days=2, today=today)
    actions = dict(zip(second["date"].dt.date, second["action"], strict=True))
    assert [actions[today - dt.timedelta(days=n)] for n in (0, 1, 2)] == ["refreshed"] * 3
    assert [actions[start + dt.timedelta(days=n)] for n in range(7)] == ["skipped"] * 7
    assert {(r.body or {}).get("date") for r in sim.requests} == {str(today - dt.timedelta(days=n)) for n in (0, 1, 2)}
    assert second["rows"].tolist() == first["rows"].tolist()
    sim.reset()
    nothing = nxframe.sync_lake(lake, start, today - dt.timedelta(days=3), client=client, today=today)
    assert set(nothing["action"]) == {"skipped"} and sim.requests == []


def test_one_failed_date_leaves_the_others_done_and_the_rerun_finishes(
    sim: Simulator, client: nxframe.Client, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    sim.faults.add("http_503", times=None, date="2024-02-03")
    with sim.client(max_retries=1, retry_backoff=0.01) as impatient:
        result = nxframe.sync_lake(lake, "2024-02-01", "2024-02-05", client=impatient)
    failed = result[result["action"] == "failed"]
    assert failed["date"].dt.date.tolist() == [dt.date(2024, 2, 3)]
    assert "ServerError" in failed["error"].iloc[0] and "HTTP 503" in failed["error"].iloc[0]
    assert (result["action"] == "fetched").sum() == 4
    assert Lake(lake).dates() == [dt.date(2024, 2, d) for d in (1, 2, 4, 5)]
    sim.faults.clear()
    again = nxframe.sync_lake(lake, "2024-02-01", "2024-02-05", client=client)
    assert dict(zip(again["date"].dt.date, again["action"], strict=True))[dt.date(2024, 2, 3)] == "fetched"
    pd.testing.assert_frame_equal(nxframe.read_lake(lake), sim.ground_truth("2024-02-01", "2024-02-05"))


#: A fetch into a lake in a process whose files the kernel caps at a size (RLIMIT_FSIZE): a real
#: "File too large" from the OS in the middle of writing the partition, nothing patched.
_CAPPED_WRITER = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of the process dying
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
import nxframe
try:
    nxframe.fetch_cdr("2024-02-07", lake=sys.argv[1], progress=False)
except nxframe.LakeError as exc:
    print(exc)
    sys.exit(3)
"""


def test_a_write_that_fails_leaves_the_previous_partition_byte_for_byte(sim: Simulator, month_lake: Path) -> None:
    part = month_lake / "date=2024-02-07" / "part-0.parquet"
    before = part.read_bytes()
    sim.add_calls("2024-02-07", 10)
    cap = len(before) // 2  # the new partition is larger than this: the OS refuses to write all of it
    done = subprocess.run(
        [sys.executable, "-c", _CAPPED_WRITER, str(month_lake), str(cap)],
        env={**os.environ, **sim.env()},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 3, done.stderr[-2000:]  # a storage failure is a LakeError
    assert re.search(r"cannot write date=2024-02-07/part-0.parquet: .*File too large", done.stdout), done.stdout
    assert part.read_bytes() == before
    assert [p.name for p in part.parent.iterdir()] == ["part-0.parquet"]


def test_a_fetch_that_fails_mid_day_leaves_the_previous_partition(
    sim: Simulator, client: nxframe.Client, month_lake: Path
) -> None:
    part = month_lake / "date=2024-02-08" / "part-0.parquet"
    before = part.read_bytes()
    sim.set_rows("2024-02-08", 900)
    sim.faults.add("code_1002", times=None, date="2024-02-08", page=3)
    with pytest.raises(nxframe.ParameterError, match="NXCloud rejected the query parameters for 2024-02-08 page 3"):
        client.fetch_cdr("2024-02-08", page_size=300, lake=month_lake, progress=False)
    assert part.read_bytes() == before


def test_stray_temporaries_are_ignored_by_readers_and_only_stale_ones_cleaned(
    sim: Simulator, client: nxframe.Client, month_lake: Path
) -> None:
    import duckdb

    folder = month_lake / "date=2024-02-09"
    stale = folder / ".part-0.parquet.deadbeef.tmp"
    stale.write_bytes(b"PAR1 half a file")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))  # left by a writer killed before this one took the lock
    df = nxframe.read_lake(month_lake)
    assert len(df) == len(sim.ground_truth(*MONTH))
    sql = f"SELECT count(*) FROM read_parquet('{month_lake}/**/*.parquet', hive_partitioning=true)"
    assert duckdb.connect().execute(sql).fetchall() == [(len(df),)]
    assert pa_ds.dataset(month_lake, format="parquet", partitioning="hive").count_rows() == len(df)
    client.fetch_cdr("2024-02-09", lake=month_lake, progress=False)
    assert not stale.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["part-0.parquet"]


def test_an_unreadable_partition_is_a_lake_error_naming_it(month_lake: Path) -> None:
    (month_lake / "date=2024-02-11" / "part-0.parquet").write_bytes(b"garbage, not parquet")
    with pytest.raises(nxframe.LakeError, match="date=2024-02-11"):
        nxframe.read_lake(month_lake)


def test_check_reports_a_drifted_date_and_verify_refetches_it(
    sim: Simulator, client: nxframe.Client, month_lake: Path
) -> None:
    sim.add_calls("2024-02-14", 6)
    report = nxframe.check_lake(month_lake, "2024-02-13", "2024-02-15", client=client)
    assert report["status"].tolist() == ["match", "drift", "match"]
    row = report[report["status"] == "drift"].iloc[0]
    assert row["api_rows"] - row["lake_rows"] == 6
    plain = nxframe.sync_lake(month_lake, *MONTH, client=client)
    assert set(plain["action"]) == {"skipped"}
    verified = nxframe.sync_lake(month_lake, *MONTH, client=client, verify=True)
    assert verified[verified["action"] != "skipped"]["date"].dt.date.tolist() == [dt.date(2024, 2, 14)]
    pd.testing.assert_frame_equal(nxframe.read_lake(month_lake), sim.ground_truth(*MONTH))


def test_a_filtered_lake_refuses_unfiltered_data(sim: Simulator, client: nxframe.Client, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    client.fetch_cdr("2024-02-01", call_type="incoming", lake=lake, progress=False)
    with pytest.raises(nxframe.LakeError, match="call_type=incoming"):
        client.fetch_cdr("2024-02-02", lake=lake, progress=False)
    result = nxframe.sync_lake(lake, "2024-02-01", "2024-02-02", client=client)  # sync keeps the lake's filters
    assert result["action"].tolist() == ["skipped", "fetched"]
    pd.testing.assert_frame_equal(nxframe.read_lake(lake), sim.ground_truth("2024-02-01", "2024-02-02", call_type=0))


def test_a_memory_lake_works_like_a_folder(sim: Simulator, client: nxframe.Client) -> None:
    lake = f"memory://nxframe-test-{time.monotonic_ns()}/lake"
    nxframe.sync_lake(lake, "2024-02-01", "2024-02-03", client=client)
    pd.testing.assert_frame_equal(nxframe.read_lake(lake), sim.ground_truth("2024-02-01", "2024-02-03"))
    assert nxframe.check_lake(lake, "2024-02-01", "2024-02-04", client=client)["status"].tolist() == [
        "match",
        "match",
        "match",
        "missing",
    ]


def test_a_tz_aware_lake_round_trips(sim: Simulator, client: nxframe.Client, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    fetched = client.fetch_cdr("2024-02-01", "2024-02-02", tz="Asia/Shanghai", lake=lake, progress=False)
    pd.testing.assert_frame_equal(nxframe.read_lake(lake), fetched)
    assert fetched["start_time"].dtype == nxframe.schema.pandas_dtypes("Asia/Shanghai")["start_time"]


def test_duckdb_polars_and_pyarrow_read_the_lake_exactly(sim: Simulator, month_lake: Path) -> None:
    import duckdb
    import polars as pl

    assert (month_lake / "_nxframe.lock").is_file()  # the writer's lock stays; every engine skips it
    truth = sim.ground_truth(*MONTH)
    total = truth["call_price"].sum()
    sql = (
        "SELECT sum(call_price), count(*), min(date) "
        f"FROM read_parquet('{month_lake}/**/*.parquet', hive_partitioning=true)"
    )
    ((duck_sum, duck_rows, duck_first),) = duckdb.connect().execute(sql).fetchall()
    assert (duck_sum, duck_rows, duck_first) == (total, len(truth), dt.date(2024, 2, 1))
    frame = (
        pl.scan_parquet(f"{month_lake}/**/*.parquet", hive_partitioning=True)
        .select(pl.col("call_price").sum())
        .collect()
    )
    assert frame.item() == total
    assert pl.read_parquet(f"{month_lake}/**/*.parquet", hive_partitioning=True).schema["call_price"] == pl.Decimal(
        18, 6
    )
    table = pa_ds.dataset(month_lake, format="parquet", partitioning="hive").to_table()
    assert table.schema.field("call_price").type == pa.decimal128(18, 6)
    assert pa.compute.sum(table.column("call_price")).as_py() == total


def _sync_command(lake: Path, start: str, end: str) -> list[str]:
    return [sys.executable, "-m", "nxframe", "sync", "--lake", str(lake), "--start", start, "--end", end]


def test_a_killed_sync_leaves_only_complete_partitions(sim: Simulator, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    sim.latency = 0.3
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")} | sim.env()
    process = subprocess.Popen(_sync_command(lake, "2024-02-01", "2024-02-10"), env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(list(lake.glob("date=*/part-0.parquet"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written = Lake(lake).dates()
    assert 3 <= len(written) < 10
    for date in written:
        table = pq.read_table(lake / f"date={date}" / "part-0.parquet")
        assert table.num_rows == len(sim.records(date))
    visible = [p for p in lake.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))]
    assert all(p.name == "part-0.parquet" for p in visible)
    sim.latency = 0.0
    rerun = subprocess.run(_sync_command(lake, "2024-02-01", "2024-02-10"), env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    pd.testing.assert_frame_equal(nxframe.read_lake(lake), sim.ground_truth("2024-02-01", "2024-02-10"))


def test_reading_a_lake_that_does_not_exist_says_so(tmp_path: Path) -> None:
    with pytest.raises(nxframe.InvalidInputError, match="no lake at"):
        nxframe.read_lake(tmp_path / "typo")
    (tmp_path / "empty").mkdir()
    assert nxframe.read_lake(tmp_path / "empty").empty


def test_dates_after_today_are_future_and_not_persisted(sim: Simulator, client: nxframe.Client, tmp_path: Path) -> None:
    """A zero-row partition means "no calls that day"; a future day has not happened yet."""
    lake = tmp_path / "lake"
    today = dt.date(2024, 2, 29)  # injected: the last day of a month
    result = nxframe.sync_lake(lake, "2024-02-28", "2024-03-02", client=client, today=today)
    assert result["action"].tolist() == ["fetched", "fetched", "future", "future"]
    assert result["rows"].isna().tolist() == [False, False, True, True]
    assert {(r.body or {}).get("date") for r in sim.requests} == {"2024-02-28", "2024-02-29"}  # the future is not asked
    assert Lake(lake).dates() == [dt.date(2024, 2, 28), dt.date(2024, 2, 29)]
    real_today = dt.date.today()
    client.fetch_cdr(real_today, real_today + dt.timedelta(days=1), lake=lake, progress=False)
    assert Lake(lake).dates()[-1] == real_today  # fetch_cdr(lake=) does not persist tomorrow either


def test_check_reports_future_dates_as_future_without_asking(
    sim: Simulator, client: nxframe.Client, tmp_path: Path
) -> None:
    """Checking the month in progress: the days still to come are neither missing nor drift."""
    lake = tmp_path / "lake"
    today = dt.date(2024, 2, 28)
    nxframe.sync_lake(lake, "2024-02-27", "2024-02-28", client=client, today=today)
    sim.requests.clear()
    checked = nxframe.check_lake(lake, "2024-02-27", "2024-03-01", client=client, today=today)
    assert checked["status"].tolist() == ["match", "match", "future", "future"]
    assert checked["api_rows"].isna().tolist() == [False, False, True, True]
    assert {(r.body or {}).get("date") for r in sim.requests} == {"2024-02-27", "2024-02-28"}


def test_sync_and_check_results_filter_by_date_like_the_frame(client: nxframe.Client, tmp_path: Path) -> None:
    """The result frames' ``date`` is datetime64[s] too, so the analyst's string filter finds the row."""
    lake = tmp_path / "lake"
    today = dt.date(2024, 3, 2)
    synced = nxframe.sync_lake(lake, "2024-03-01", "2024-03-02", client=client, today=today)
    checked = nxframe.check_lake(lake, "2024-03-01", "2024-03-02", client=client, today=today)
    for result in (synced, checked):
        assert str(result["date"].dtype) == "datetime64[s]"
        assert len(result[result["date"] == "2024-03-01"]) == 1


def test_a_truncated_partition_is_damaged_and_fetched_again_by_the_next_sync(
    sim: Simulator, client: nxframe.Client, month_lake: Path
) -> None:
    part = month_lake / "date=2024-02-12" / "part-0.parquet"
    part.write_bytes(part.read_bytes()[: len(part.read_bytes()) // 2])
    with pytest.raises(nxframe.LakeError, match=re.escape("date=2024-02-12/part-0.parquet")) as caught:
        nxframe.read_lake(month_lake)
    assert caught.value.path == str(part)
    checked = nxframe.check_lake(month_lake, "2024-02-11", "2024-02-13", client=client)
    assert checked["status"].tolist() == ["match", "damaged", "match"]
    assert checked["lake_rows"].isna().tolist() == [False, True, False]
    result = nxframe.sync_lake(month_lake, *MONTH, client=client)
    assert result[result["action"] != "skipped"]["date"].dt.date.tolist() == [dt.date(2024, 2, 12)]
    pd.testing.assert_frame_equal(nxframe.read_lake(month_lake), sim.ground_truth(*MONTH))


def test_verify_reports_a_date_it_could_not_count_and_syncs_the_rest(sim: Simulator, month_lake: Path) -> None:
    sim.add_calls("2024-02-20", 2)
    sim.faults.add("http_500", times=None, date="2024-02-03")
    with sim.client(max_retries=0) as impatient:
        result = nxframe.sync_lake(month_lake, *MONTH, client=impatient, verify=True)
    actions = dict(zip(result["date"].dt.date, result["action"], strict=True))
    assert actions[dt.date(2024, 2, 3)] == "failed"
    assert actions[dt.date(2024, 2, 20)] == "refreshed"
    assert list(actions.values()).count("skipped") == 27


def test_a_folder_nxframe_did_not_write_is_refused(sim: Simulator, client: nxframe.Client, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign" / "date=2024-02-01"
    foreign.mkdir(parents=True)
    pq.write_table(pa.table({"id": [1, 2], "call_price": [0.1, 0.2]}), foreign / "part-0.parquet")
    before = (foreign / "part-0.parquet").read_bytes()
    with pytest.raises(nxframe.LakeError, match="not written by nxframe"):
        nxframe.read_lake(tmp_path / "foreign")
    with pytest.raises(nxframe.LakeError, match="not written by nxframe"):
        client.fetch_cdr("2024-02-01", lake=tmp_path / "foreign", progress=False)
    with pytest.raises(nxframe.LakeError, match="not written by nxframe"):
        nxframe.sync_lake(tmp_path / "foreign", "2024-02-01", "2024-02-02", client=client)
    assert (foreign / "part-0.parquet").read_bytes() == before
    assert sim.requests == []


def test_bad_sync_and_check_arguments_are_refused_before_any_request(
    sim: Simulator, client: nxframe.Client, month_lake: Path, tmp_path: Path
) -> None:
    sim.reset()
    bad_sync: list[tuple[dict[str, object], str]] = [
        ({"refresh_days": 10**6}, "refresh_days must be an integer from 0 to 3660, not 1000000"),
        ({"refresh_days": -1}, "refresh_days must be an integer from 0 to 3660, not -1"),
        ({"refresh_days": True}, "refresh_days must be an integer from 0 to 3660, not True"),
        ({"client": "x"}, "client must be an nxframe.Client or None, not str"),
        ({"lock_timeout": -1}, "lock_timeout must be seconds from 0 to 604800 (a week), not -1"),
        ({"lock_timeout": float("nan")}, "lock_timeout must be seconds from 0 to 604800 (a week), not nan"),
        ({"verify": "yes"}, "verify must be True or False, not 'yes'"),
        ({"today": "2024-02-01"}, "today must be a datetime.date or None, not '2024-02-01'"),
    ]
    for arguments, words in bad_sync:
        with pytest.raises(nxframe.InvalidInputError, match=re.escape(words)):
            nxframe.sync_lake(month_lake, *MONTH, **{"client": client, **arguments})  # type: ignore[arg-type]
    with pytest.raises(nxframe.InvalidInputError, match="refresh_days must be an integer from 0 to 3660"):
        nxframe.sync_lake(month_lake, *MONTH, client=client, refresh_days=3661)
    with pytest.raises(nxframe.InvalidInputError, match="no lake at"):
        nxframe.check_lake(tmp_path / "typo", *MONTH, client=client)
    with pytest.raises(nxframe.InvalidInputError, match=re.escape("client must be an nxframe.Client")):
        nxframe.check_lake(month_lake, *MONTH, client="x")  # type: ignore[arg-type]
    assert not (tmp_path / "typo").exists()
    assert sim.requests == []
