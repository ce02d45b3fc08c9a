"""The dlt resource against dlt's DuckDB destination (embedded, a real database in tmp_path) and the simulator.

Every figure is compared with the simulator's ground truth: the money is
exact DECIMAL(18, 6), a date loaded again replaces its rows, and nothing is
duplicated. dlt's folders are pointed at tmp_path, so nothing lands in ~.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pandas as pd
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

import nxframe
from nxframe.dlt import cdr
from nxframe.simulator import Simulator

DATES = [dt.date(2024, 3, d) for d in range(1, 6)]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _dlt_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dlt's data, config and pipelines in tmp_path; no telemetry leaves the machine."""
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt-data"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.chdir(tmp_path)


class Warehouse:
    """One dlt pipeline into one DuckDB file, and the questions a test asks of it."""

    def __init__(self, folder: Path, name: str = "nxcloud") -> None:
        self.path = folder / f"{name}.duckdb"
        self.pipeline = dlt.pipeline(
            pipeline_name=name,
            destination=dlt.destinations.duckdb(str(self.path)),
            dataset_name="calls",
            pipelines_dir=str(folder / "pipelines"),
        )

    def run(self, resource: Any) -> None:
        self.pipeline.run(resource)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.sql(sql).fetchall()

    def types(self) -> dict[str, str]:
        rows = self.query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'calls' and table_name = 'cdr'"
        )
        return dict(rows)  # type: ignore[arg-type]

    def tables(self) -> set[str]:
        if not self.path.exists():
            return set()
        return {name for (name,) in self.query("select table_name from information_schema.tables")}

    def calls(self) -> set[tuple[Any, ...]]:
        return set(self.query("select date, id, call_price, fee_duration_minute, call_price_unit from calls.cdr"))

    def counts(self) -> tuple[int, int, Decimal]:
        ((rows, distinct, total),) = self.query(
            "select count(*), count(distinct (date, id)), sum(call_price) from calls.cdr"
        )
        return rows, distinct, total


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path)


def truth_calls(truth: pd.DataFrame) -> set[tuple[Any, ...]]:
    return {
        (row.date.date(), row.id, row.call_price, row.fee_duration_minute, row.call_price_unit)
        for row in truth.itertuples(index=False)
    }


def cause(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first error of ``kind`` in the chain dlt wrapped around it."""
    while error is not None and not isinstance(error, kind):
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return error


def dates_asked(sim: Simulator) -> set[str]:
    return {r.body["date"] for r in sim.requests if r.body}


def test_a_pipeline_loads_exact_decimal_money_equal_to_the_ground_truth(
    sim: Simulator, client: nxframe.Client, warehouse: Warehouse
) -> None:
    warehouse.run(cdr(DATES[0], DATES[-1], client=client))
    truth = sim.ground_truth(DATES[0], DATES[-1])
    types = warehouse.types()
    assert {types[c] for c in ("call_price", "call_price_unit", "fee_duration_minute")} == {"DECIMAL(18,6)"}
    assert (types["date"], types["id"], types["start_time"], types["call_type"]) == (
        "DATE",
        "BIGINT",
        "TIMESTAMP",
        "VARCHAR",
    )
    rows, distinct, total = warehouse.counts()
    assert (rows, distinct) == (len(truth), len(truth))
    assert isinstance(total, Decimal) and total == truth["call_price"].sum()
    assert warehouse.calls() == truth_calls(truth)  # the 16-digit canary prices included, digit for digit


def test_the_wall_clock_stays_the_wall_clock(sim: Simulator, client: nxframe.Client, warehouse: Warehouse) -> None:
    """Naive times load as TIMESTAMP, not as instants in UTC (dlt drops the hint it infers from Arrow)."""
    warehouse.run(cdr(DATES[0], DATES[0], client=client))
    truth = sim.ground_truth(DATES[0])
    loaded = warehouse.query("select id, start_time from calls.cdr where start_time is not null")
    expected = {(row.id, row.start_time.to_pydatetime()) for row in truth.itertuples() if not pd.isna(row.start_time)}
    assert set(loaded) == expected


def test_with_tz_the_times_are_instants(sim: Simulator, client: nxframe.Client, warehouse: Warehouse) -> None:
    warehouse.run(cdr(DATES[0], DATES[0], client=client, tz="Asia/Shanghai"))
    assert warehouse.types()["start_time"] == "TIMESTAMP WITH TIME ZONE"
    truth = sim.ground_truth(DATES[0], tz="Asia/Shanghai")
    loaded = dict(warehouse.query("select id, epoch(start_time) from calls.cdr where start_time is not null"))
    expected = {row.id: row.start_time.timestamp() for row in truth.itertuples() if not pd.isna(row.start_time)}
    assert loaded == expected


def test_a_rerun_after_a_day_grew_and_a_call_was_repriced_leaves_exactly_the_ground_truth(
    sim: Simulator, client: nxframe.Client, warehouse: Warehouse
) -> None:
    warehouse.run(cdr(DATES[0], DATES[-1], client=client))
    repriced = sim.records(DATES[-2])[10]["id"]
    sim.restate(DATES[-2], reprice={repriced: "9.876543"})  # billed again, inside the refresh window
    sim.restate(DATES[-1], add=7)  # late calls
    sim.reset()
    warehouse.run(cdr(DATES[0], DATES[-1], client=client))
    assert dates_asked(sim) == {DATES[-2].isoformat(), DATES[-1].isoformat()}  # refresh_days=2: only those again
    truth = sim.ground_truth(DATES[0], DATES[-1])
    rows, distinct, total = warehouse.counts()
    assert (rows, distinct) == (len(truth), len(truth))
    assert total == truth["call_price"].sum()
    assert warehouse.calls() == truth_calls(truth)
    assert warehouse.query(f"select call_price from calls.cdr where id = {repriced}") == [(Decimal("9.876543"),)]


def test_a_run_goes_on_from_the_last_date_loaded(sim: Simulator, client: nxframe.Client, warehouse: Warehouse) -> None:
    warehouse.run(cdr(DATES[0], DATES[2], client=client, refresh_days=1))
    sim.reset()
    warehouse.run(cdr(DATES[0], DATES[-1], client=client, refresh_days=1))
    assert dates_asked(sim) == {d.isoformat() for d in DATES[2:]}
    truth = sim.ground_truth(DATES[0], DATES[-1])
    assert warehouse.counts()[:2] == (len(truth), len(truth))
    assert warehouse.calls() == truth_calls(truth)


def test_end_none_loads_up_to_yesterday(sim: Simulator, client: nxframe.Client, warehouse: Warehouse) -> None:
    yesterday = sim.today() - dt.timedelta(days=1)
    warehouse.run(cdr(yesterday - dt.timedelta(days=1), client=client))
    assert dates_asked(sim) == {(yesterday - dt.timedelta(days=1)).isoformat(), yesterday.isoformat()}
    assert warehouse.counts()[0] == len(sim.ground_truth(yesterday - dt.timedelta(days=1), yesterday))


def test_a_failed_date_fails_the_run_and_the_next_run_loads_it(
    sim: Simulator, client: nxframe.Client, warehouse: Warehouse
) -> None:
    sim.faults.add("code_1002", times=None, date=DATES[2].isoformat())
    with pytest.raises(PipelineStepFailed, match="rejected the query parameters for 2024-03-03") as caught:
        warehouse.run(cdr(DATES[0], DATES[-1], client=client))
    assert isinstance(cause(caught.value, nxframe.NxframeError), nxframe.ParameterError)
    assert "cdr" not in warehouse.tables()  # nothing of a failed run is loaded
    sim.reset()
    warehouse.run(cdr(DATES[0], DATES[-1], client=client))
    truth = sim.ground_truth(DATES[0], DATES[-1])
    assert warehouse.counts()[:2] == (len(truth), len(truth))
    assert warehouse.calls() == truth_calls(truth)


def test_other_filters_under_the_same_name_are_refused(client: nxframe.Client, warehouse: Warehouse) -> None:
    warehouse.run(cdr(DATES[0], DATES[0], client=client))
    with pytest.raises(PipelineStepFailed, match=r"call_type=None.*cdr\.with_name"):
        warehouse.run(cdr(DATES[0], DATES[0], client=client, call_type="incoming"))


def test_a_bad_argument_names_the_parameter(client: nxframe.Client, warehouse: Warehouse) -> None:
    with pytest.raises(PipelineStepFailed, match="refresh_days must be an integer") as caught:
        warehouse.run(cdr(DATES[0], DATES[0], client=client, refresh_days=-1))
    refused = cause(caught.value, nxframe.InvalidInputError)
    assert isinstance(refused, nxframe.InvalidInputError) and refused.parameter == "refresh_days"


def test_importing_nxframe_does_not_import_dlt() -> None:
    code = "import sys, nxframe; print('dlt' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_without_dlt_the_import_says_how_to_install_it() -> None:
    code = (
        "import sys\n"
        "sys.modules['dlt'] = None  # what Python does for a package that is not installed: ImportError\n"
        "try:\n"
        "    import nxframe.dlt\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'nxframe[dlt]'" in out


def test_the_readme_pipeline_runs_and_loads_the_ground_truth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Loading a warehouse\n", 1)[1].split("\n## ", 1)[0]
    block = next(b for b in section.split("```python\n")[1:] if "from nxframe.dlt import cdr" in b).split("```")[0]
    with Simulator(seed=7) as sim:
        for name, value in sim.env().items():
            monkeypatch.setenv(name, value)
        exec(compile(block, "README.md", "exec"), {})
        start, end = (dt.date.fromisoformat(d) for d in block.split('cdr("', 1)[1].split('")', 1)[0].split('", "'))
        truth = sim.ground_truth(start, end)
    with duckdb.connect(str(tmp_path / "nxcloud.duckdb"), read_only=True) as con:
        ((rows, total),) = con.sql("select count(*), sum(call_price) from calls.cdr").fetchall()
    assert (rows, total) == (len(truth), truth["call_price"].sum())
