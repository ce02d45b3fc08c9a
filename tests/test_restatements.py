"""What changed since the sign-off: calls planted in the simulator come back from ``restatements``, to the digit.

February 2024 is synced from the simulator over HTTP and signed off. Then
NXCloud "restates" it: the simulator gains late calls, loses calls and
re-rates others (``Simulator.restate``), the lake is synced again (the
refresh window over the month), and ``restatements`` must list exactly what
was planted, with the prices and cost changes computed here in plain
``Decimal`` from the simulator's records.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import nxframe
from nxframe.report import RESTATEMENT_COLUMNS
from nxframe.simulator import Simulator

MONTH = "2024-02"
FIRST, LAST = dt.date(2024, 1, 1), dt.date(2024, 2, 29)
MONEY = pd.ArrowDtype(pa.decimal128(18, 6))
DTYPES = {
    "date": "datetime64[s]",
    "id": pd.ArrowDtype(pa.int64()),
    "change": pd.ArrowDtype(pa.string()),
    "fields": pd.ArrowDtype(pa.string()),
    "signed_call_price": MONEY,
    "current_call_price": MONEY,
    "cost_delta": MONEY,
}


@dataclass
class Planted:
    """The restatement rows the simulator was told to make, from its records in plain Python."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, date: str, call_id: int, change: str, signed: Any, current: Any, fields: str | None = None) -> None:
        signed = None if signed is None else Decimal(str(signed))
        current = None if current is None else Decimal(str(current))
        delta = (current or Decimal(0)) - (signed or Decimal(0))
        self.rows.append((pd.Timestamp(date), call_id, change, fields, signed, current, delta))

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(sorted(self.rows, key=lambda row: (row[0], row[1])), columns=list(RESTATEMENT_COLUMNS))
        return frame.astype(DTYPES)


@dataclass
class Restated:
    sim: Simulator
    lake: Path
    package: Path
    planted: Planted


@pytest.fixture(scope="module")
def restated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restated]:
    root = tmp_path_factory.mktemp("restated")
    lake = root / "lake"
    with Simulator(seed=11, rows_per_day=60) as sim, sim.client() as client:
        nxframe.sync_lake(lake, FIRST, LAST, client=client, progress=False)
        package = nxframe.monthly_report(lake, MONTH).signoff(root / "signoff")
        planted = Planted()
        for date, add, remove, reprice in (
            ("2024-02-03", 2, [0, 7], {3: "1.234567", 11: "0.777000"}),
            ("2024-02-17", 0, [5], {}),
            ("2024-02-29", 1, [], {0: "0.000001"}),
        ):
            records = sim.records(date)
            removed = [records[i] for i in remove]
            prices = {records[i]["id"]: price for i, price in reprice.items()}
            assert all(Decimal(str(records[i]["callPrice"])) != Decimal(p) for i, p in reprice.items())
            for record in removed:
                planted.add(date, record["id"], "removed", record["callPrice"], None)
            for record in records:
                if record["id"] in prices:
                    planted.add(date, record["id"], "changed", record["callPrice"], prices[record["id"]], "call_price")
            for record in sim.restate(date, add=add, remove=[r["id"] for r in removed], reprice=prices):
                planted.add(date, record["id"], "added", None, record["callPrice"])
        synced = nxframe.sync_lake(
            lake, "2024-02-01", LAST, refresh_days=40, today=dt.date(2024, 3, 1), client=client, progress=False
        )
        assert set(synced["action"]) == {"refreshed"}
        yield Restated(sim, lake, package, planted)


def test_the_restatements_are_what_was_planted_to_the_digit(restated: Restated) -> None:
    found = nxframe.restatements(restated.package)
    expected = restated.planted.frame()
    assert expected["change"].value_counts().to_dict() == {"added": 3, "removed": 3, "changed": 3}
    pd.testing.assert_frame_equal(found, expected)


def test_the_cost_change_is_the_lakes_cost_now_minus_the_signed_cost(restated: Restated) -> None:
    found = nxframe.restatements(restated.package)
    now = nxframe.read_lake(restated.lake, "2024-02-01", LAST)["call_price"].sum()
    signed = nxframe.monthly_report(restated.package, MONTH).total_cost
    assert found["cost_delta"].sum() == now - signed != 0


def test_the_lake_named_or_a_frame_give_the_same_answer(restated: Restated) -> None:
    expected = restated.planted.frame()
    pd.testing.assert_frame_equal(nxframe.restatements(restated.package, restated.lake), expected)
    pd.testing.assert_frame_equal(nxframe.restatements(restated.package, str(restated.lake)), expected)
    frame = nxframe.read_lake(restated.lake)  # January too: dates outside the month are not compared
    pd.testing.assert_frame_equal(nxframe.restatements(restated.package, frame), expected)


def test_a_changed_field_is_named_in_the_frames_column_order(restated: Restated) -> None:
    frame = nxframe.read_lake(restated.lake, "2024-02-10", "2024-02-10")
    row = frame.index[4]
    frame.loc[row, "country_name"] = "Atlantis"
    frame.loc[row, "fee_duration_minute"] = Decimal("77")
    frame.loc[row, "end_reason_name"] = None
    found = nxframe.restatements(restated.package, frame)
    changed = found[found["change"] == "changed"]
    assert changed["id"].tolist() == [frame.loc[row, "id"]]
    assert changed["fields"].tolist() == ["country_name,fee_duration_minute,end_reason_name"]
    assert changed["cost_delta"].tolist() == [Decimal("0")]
    removed = found[found["change"] == "removed"]  # the frame holds one date: the others' calls are gone from it
    assert removed["date"].dt.strftime("%Y-%m-%d").nunique() == 28


def test_a_date_missing_from_the_lake_restates_its_calls_as_removed(restated: Restated, tmp_path: Path) -> None:
    lake = Path(shutil.copytree(restated.lake, tmp_path / "lake"))
    shutil.rmtree(lake / "date=2024-02-20")
    found = nxframe.restatements(restated.package, lake)
    gone = found[found["date"] == "2024-02-20"]
    signed = nxframe.read_lake(restated.lake, "2024-02-20", "2024-02-20")  # that date was not restated
    assert set(gone["change"]) == {"removed"} and len(gone) == len(signed) > 0
    assert gone["cost_delta"].sum() == -signed["call_price"].sum()


def test_nothing_changed_is_an_empty_frame_with_the_columns(restated: Restated, tmp_path: Path) -> None:
    report = nxframe.monthly_report(restated.lake, MONTH)
    package = report.signoff(tmp_path / "fresh")
    found = nxframe.restatements(package)
    assert found.empty
    assert list(found.columns) == list(RESTATEMENT_COLUMNS)
    assert found.dtypes.to_dict() == {name: pd.Series(dtype=dtype).dtype for name, dtype in DTYPES.items()}


# -- refused --------------------------------------------------------------------------------


def test_a_tampered_package_is_refused(restated: Restated, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(restated.package, tmp_path / "copy"))
    (copy / "rows.parquet").write_bytes((copy / "rows.parquet").read_bytes()[:-10])
    with pytest.raises(nxframe.SignoffError, match=r"rows\.parquet changed"):
        nxframe.restatements(copy)


def test_a_call_twice_in_the_source_is_invalid_input(restated: Restated) -> None:
    frame = nxframe.read_lake(restated.lake, "2024-02-01", LAST)
    twice = pd.concat([frame, frame.iloc[[5]]], ignore_index=True)
    with pytest.raises(nxframe.InvalidInputError, match=r"the source hold 1 calls more than once \(the first: 2024-02"):
        nxframe.restatements(restated.package, twice)


def test_a_lake_of_another_query_is_invalid_input(restated: Restated, tmp_path: Path) -> None:
    did = str(restated.sim.records("2024-02-05")[0]["number"])
    other = tmp_path / "other"
    with restated.sim.client() as client:
        nxframe.sync_lake(other, "2024-02-05", "2024-02-05", did_number=did, client=client, progress=False)
    with pytest.raises(nxframe.InvalidInputError, match="was signed from") as caught:
        nxframe.restatements(restated.package, other)
    assert caught.value.parameter == "source"


def test_times_in_another_zone_are_invalid_input(restated: Restated) -> None:
    frame = nxframe.read_lake(restated.lake, "2024-02-01", LAST)
    for name in ("start_time", "end_time"):
        frame[name] = frame[name].dt.tz_localize("Asia/Shanghai")
    with pytest.raises(nxframe.InvalidInputError, match="Asia/Shanghai"):
        nxframe.restatements(restated.package, frame)


def test_a_lake_that_is_not_there_is_invalid_input(restated: Restated, tmp_path: Path) -> None:
    with pytest.raises(nxframe.InvalidInputError, match="no lake at"):
        nxframe.restatements(restated.package, tmp_path / "nowhere")


def test_storage_options_that_are_not_a_dict_are_invalid_input(restated: Restated) -> None:
    with pytest.raises(nxframe.InvalidInputError, match="storage_options must be a dict"):
        nxframe.restatements(restated.package, storage_options="key=x")  # type: ignore[arg-type]


# -- the command line ------------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")}
    return subprocess.run(
        [sys.executable, "-m", "nxframe", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_the_command_prints_one_line_and_exits_1(restated: Restated, tmp_path: Path) -> None:
    out = tmp_path / "restated.csv"
    result = run("restatements", "--signoff", str(restated.package), "--out", str(out))
    assert result.returncode == 1, result.stderr
    created = nxframe.report.package.open_package(restated.package).created_at
    expected = restated.planted.frame()
    cost = expected["cost_delta"].sum()
    assert result.stdout.splitlines() == [
        f"3 calls added, 3 removed, 3 changed on 3 dates since the sign-off of {created}; "
        f"cost {'+' if cost >= 0 else ''}{cost:f} CNY"
    ]
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == [str(i) for i in expected["id"]]
    assert [Decimal(row["cost_delta"]) for row in rows] == expected["cost_delta"].tolist()
    assert [row["date"] for row in rows] == expected["date"].dt.strftime("%Y-%m-%d").tolist()


def test_the_command_exits_0_when_nothing_changed(restated: Restated, tmp_path: Path) -> None:
    package = nxframe.monthly_report(restated.lake, MONTH).signoff(tmp_path / "fresh")
    result = run("restatements", "--signoff", str(package), "--lake", str(restated.lake))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.strip().startswith("0 calls added, 0 removed, 0 changed on 0 dates since the sign-off of ")
    assert result.stdout.strip().endswith("; cost +0.000000 CNY")


def test_the_command_names_a_changed_package_and_exits_1(restated: Restated, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(restated.package, tmp_path / "copy"))
    (copy / "csv" / "notes.csv").unlink()
    result = run("restatements", "--signoff", str(copy))
    assert result.returncode == 1
    assert result.stderr.startswith("nxframe: error: SignoffError: ") and "csv/notes.csv is missing" in result.stderr


def test_a_bad_out_is_refused_before_any_work(restated: Restated, tmp_path: Path) -> None:
    result = run("restatements", "--signoff", str(restated.package), "--out", str(tmp_path / "x.parquet"))
    assert result.returncode == 2
    assert "--out must end in .csv" in result.stderr
