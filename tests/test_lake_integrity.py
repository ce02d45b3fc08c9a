"""Each partition knows its date and query; a path is a path; a month of a long lake opens only the month.

These hold on every lake (a local folder here, ``memory://`` where a lock
inside the process is at stake); the S3 side is in test_s3_lake.py.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import nxframe
from nxframe.lake import Lake
from nxframe.lake.footer import encode_partition
from nxframe.query import CdrQuery
from nxframe.simulator import Simulator

WEEK = ("2024-02-01", "2024-02-07")


@pytest.fixture
def week_lake(tmp_path: Path, client: nxframe.Client) -> Path:
    lake = tmp_path / "lake"
    nxframe.sync_lake(lake, *WEEK, client=client, progress=False)
    return lake


def _statuses(lake: Path | str, client: nxframe.Client, *, deep: bool = False) -> dict[str, str]:
    checked = nxframe.check_lake(lake, *WEEK, client=client, deep=deep)
    return dict(zip(checked["date"].dt.strftime("%Y-%m-%d"), checked["status"], strict=True))


def test_a_partition_copied_into_another_dates_folder_is_damaged_refused_and_refetched(
    week_lake: Path, sim: Simulator, client: nxframe.Client
) -> None:
    """The issue's case: day 3's file in day 4's folder was read as day 4 (50 duplicate ids in the report)."""
    copied = week_lake / "date=2024-02-04" / "part-0.parquet"
    shutil.copyfile(week_lake / "date=2024-02-03" / "part-0.parquet", copied)
    for deep in (False, True):  # the footer is read anyway: a shallow check sees it too
        assert _statuses(week_lake, client, deep=deep) == {d: "match" for d in _days()} | {"2024-02-04": "damaged"}
    with pytest.raises(nxframe.LakeError, match="holds the calls of 2024-02-03, not of its folder's date 2024-02-04"
                       ) as caught:  # fmt: skip
        nxframe.read_lake(week_lake)
    assert caught.value.path == str(copied)
    with pytest.raises(nxframe.LakeError, match=re.escape("date=2024-02-04/part-0.parquet")):
        nxframe.monthly_report(week_lake, "2024-02")
    sim.reset()
    again = nxframe.sync_lake(week_lake, *WEEK, client=client, refresh_days=0, progress=False)  # a plain sync
    assert again[again["action"] != "skipped"]["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-02-04"]
    assert {str((r.body or {}).get("date")) for r in sim.requests} == {"2024-02-04"}
    pd.testing.assert_frame_equal(nxframe.read_lake(week_lake), sim.ground_truth(*WEEK))


def test_a_partition_of_another_query_is_damaged_refused_and_refetched(
    week_lake: Path, sim: Simulator, client: nxframe.Client
) -> None:
    """A partition written with other filters (another writer, an old bug): never counted as this lake's."""
    day = dt.date(2024, 2, 5)
    incoming = CdrQuery.build(day, day, call_type="incoming")
    table = client.fetch_arrow(day, call_type="incoming", progress=False)
    part = week_lake / "date=2024-02-05" / "part-0.parquet"
    part.write_bytes(encode_partition(day, table, incoming.filters(), None))
    assert _statuses(week_lake, client) == {d: "match" for d in _days()} | {"2024-02-05": "damaged"}
    foreign = r"date=2024-02-05/part-0.parquet holds calls with call_type=incoming, naive times, but the lake holds all"
    with pytest.raises(nxframe.LakeError, match=foreign):
        nxframe.read_lake(week_lake)
    again = nxframe.sync_lake(week_lake, *WEEK, client=client, refresh_days=0, progress=False)
    assert dict(zip(again["date"].dt.strftime("%Y-%m-%d"), again["action"], strict=True))["2024-02-05"] == "refreshed"
    pd.testing.assert_frame_equal(nxframe.read_lake(week_lake), sim.ground_truth(*WEEK))


def test_a_partition_a_sync_cannot_read_is_fetched_again_by_a_plain_sync(
    week_lake: Path, sim: Simulator, client: nxframe.Client
) -> None:
    (week_lake / "date=2024-02-02" / "part-0.parquet").write_bytes(b"PAR1 not a parquet file PAR1")
    again = nxframe.sync_lake(week_lake, *WEEK, client=client, refresh_days=0, progress=False)
    assert again[again["action"] == "refreshed"]["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-02-02"]
    pd.testing.assert_frame_equal(nxframe.read_lake(week_lake), sim.ground_truth(*WEEK))


@pytest.mark.parametrize("name", ["lake[1]", "lake*", "lake?", "[lake]"])
def test_a_lake_path_is_never_a_pattern(name: str, tmp_path: Path, sim: Simulator, client: nxframe.Client) -> None:
    """``lake[1]`` read back 0 rows after a successful sync when the path was used as a glob."""
    (tmp_path / "lake1").mkdir()  # what the pattern lake[1] would match instead
    lake = tmp_path / name
    nxframe.sync_lake(lake, "2024-02-01", "2024-02-02", client=client, progress=False)
    pd.testing.assert_frame_equal(nxframe.read_lake(lake), sim.ground_truth("2024-02-01", "2024-02-02"))
    assert set(nxframe.check_lake(lake, "2024-02-01", "2024-02-02", client=client)["status"]) == {"match"}
    assert Lake(lake).dates() == [dt.date(2024, 2, 1), dt.date(2024, 2, 2)]


def test_a_month_of_a_long_lake_opens_only_that_month(tmp_path: Path, client: nxframe.Client) -> None:
    """Listed once, by the month's prefix; other dates are never opened (here they could not be)."""
    lake = tmp_path / "lake"
    store = Lake(lake)
    query = CdrQuery.build("2023-01-01", "2023-01-01")
    empty = nxframe.schema.arrow_schema(None).empty_table()
    days = pd.date_range("2023-11-01", "2024-04-30")
    with store.writer():
        for day in days:
            store.write_date(day.date(), empty, query, today=dt.date(2025, 1, 1))
    for day in days:
        if day.month != 3:  # everything outside March is now unreadable
            (lake / f"date={day.date()}" / "part-0.parquet").write_bytes(b"not parquet")
    assert len(nxframe.read_lake(lake, "2024-03-01", "2024-03-31")) == 0
    assert Lake(lake).dates(dt.date(2024, 3, 1), dt.date(2024, 3, 31)) == [d.date() for d in days if d.month == 3]
    with pytest.raises(nxframe.LakeError, match="is unreadable"):
        nxframe.read_lake(lake, "2024-02-28", "2024-03-01")


def test_a_memory_lake_has_a_lock_inside_the_process(client: nxframe.Client) -> None:
    lake = f"memory://nxframe-lock-{time.monotonic_ns()}/lake"
    held, release = threading.Event(), threading.Event()

    def writer() -> None:
        with Lake(lake).writer():
            held.set()
            release.wait(30)

    thread = threading.Thread(target=writer, name="the-other-writer")
    thread.start()
    try:
        assert held.wait(30)
        with pytest.raises(nxframe.LakeError, match="being written by thread the-other-writer of this process"):
            nxframe.sync_lake(lake, *WEEK, client=client, lock_timeout=0.2, progress=False)
        with pytest.raises(nxframe.LakeError, match="which is alive: its lock ends with it"):
            nxframe.unlock_lake(lake)
    finally:
        release.set()
        thread.join()
    assert nxframe.unlock_lake(lake) is None
    assert set(nxframe.sync_lake(lake, *WEEK, client=client, progress=False)["action"]) == {"fetched"}


def test_storage_options_are_checked_before_anything_is_sent(
    sim: Simulator, client: nxframe.Client, tmp_path: Path
) -> None:
    for call in (
        lambda: nxframe.sync_lake(tmp_path / "lake", *WEEK, client=client, storage_options="key=x"),  # type: ignore[arg-type]
        lambda: nxframe.read_lake(tmp_path / "lake", storage_options=["x"]),
        lambda: nxframe.fetch_cdr(WEEK[0], lake=tmp_path / "lake", client=client, storage_options=1),  # type: ignore[arg-type]
        lambda: nxframe.unlock_lake(tmp_path / "lake", storage_options={1: "x"}),
    ):
        with pytest.raises(nxframe.InvalidInputError, match="storage_options must be a dict") as caught:
            call()
        assert caught.value.parameter == "storage_options"
    assert sim.requests == [] and not (tmp_path / "lake").exists()


def test_unlocking_a_local_lake_without_a_writer_returns_none(week_lake: Path) -> None:
    assert (week_lake / "_nxframe.lock").exists()  # the kernel's lock left its file; nobody holds it
    assert nxframe.unlock_lake(week_lake) is None
    assert nxframe.read_lake(week_lake, WEEK[0]).shape[0] > 0


def _days() -> list[str]:
    return [str(d.date()) for d in pd.date_range(*WEEK)]
