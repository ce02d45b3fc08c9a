"""The date stream every fetch reads: date order, later dates already asked for, a bounded window, prompt cancel.

Arrow and Polars users get it through ``client.iter_dates`` and ``nxframe.fetch_arrow``.
What happened is read at the simulator (``sim.requests``), over real HTTP: no clock decides a test.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
import threading
import time
from decimal import Decimal
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import nxframe
from nxframe.frames import to_frame
from nxframe.schema import arrow_schema
from nxframe.simulator import Simulator

DATES = [dt.date(2024, 3, d) for d in range(1, 6)]
PACKAGE = Path(nxframe.__file__).parent
README = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")


def dates_asked(sim: Simulator) -> set[dt.date]:
    return {dt.date.fromisoformat(r.body["date"]) for r in sim.requests if r.body}


def wait_for(condition: object, what: str) -> None:
    """Wait until ``condition()`` holds (a lower bound only: a slow machine waits longer, never fails sooner)."""
    deadline = time.monotonic() + 60
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what}")
        time.sleep(0.01)


def stream_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(("nxframe-page", "nxframe-date"))}


def test_iter_dates_yields_each_date_whole_in_date_order(sim: Simulator, client: nxframe.Client) -> None:
    sim.faults.add("timeout", date=DATES[0].isoformat(), page=1, seconds=1.0)  # the first date answers last
    seen: list[tuple[dt.date, set[dt.date]]] = []
    for date, table in client.iter_dates(DATES[0], DATES[-1], page_size=200):
        seen.append((date, dates_asked(sim)))
        assert table.schema == arrow_schema()
        pd.testing.assert_frame_equal(to_frame([table]), sim.ground_truth(date))
    assert [date for date, _ in seen] == DATES
    # When the slow first date was handed over, the next one had already been asked for.
    assert DATES[1] in seen[0][1]


def test_a_slow_consumer_holds_a_window_of_dates_not_the_range(sim: Simulator) -> None:
    """With concurrency 2, holding the first date leaves exactly two dates walked ahead of it, no more."""
    dates = [dt.date(2024, 3, 1) + dt.timedelta(days=n) for n in range(12)]
    for date in dates:
        sim.set_rows(date, 40)
    with sim.client(concurrency=2) as c:
        stream = c.iter_dates(dates[0], dates[-1])
        first, _ = next(stream)
        wait_for(lambda: dates_asked(sim) >= set(dates[:3]), "the window's dates to be asked for")
        time.sleep(0.3)  # room for a stream that does not stop at its window to show it
        assert first == dates[0]
        assert dates_asked(sim) == set(dates[:3])
        rest = [date for date, _ in stream]
    assert rest == dates[1:]


def test_a_failed_date_raises_when_the_stream_reaches_it(sim: Simulator, client: nxframe.Client) -> None:
    sim.faults.add("code_1002", times=None, date="2024-03-03")
    got: list[dt.date] = []
    with pytest.raises(nxframe.ParameterError, match="2024-03-03"):
        for date, _ in client.iter_dates(DATES[0], DATES[-1]):
            got.append(date)
    assert got == DATES[:2]


def test_leaving_the_loop_early_cancels_what_is_not_sent_and_leaves_no_thread(sim: Simulator) -> None:
    for date in DATES:
        sim.set_rows(date, 2000)
    sim.latency = 0.02
    before = stream_threads()
    with sim.client(concurrency=3) as c:
        for _date, _table in c.iter_dates(DATES[0], DATES[-1], page_size=50):
            break  # the generator is closed here: it waits only for the requests already on the wire
        asked = len(sim.requests)
        assert stream_threads() - before == set()
        time.sleep(0.3)
    assert len(sim.requests) == asked  # nothing was sent after the loop was left
    assert asked < 5 * 40  # and the days were not all fetched


def test_iter_dates_checks_its_arguments_before_any_request(sim: Simulator, client: nxframe.Client) -> None:
    with pytest.raises(nxframe.InvalidInputError, match="end 2024-03-01 is before start 2024-03-05"):
        client.iter_dates("2024-03-05", "2024-03-01")
    with pytest.raises(nxframe.InvalidInputError, match="page_size"):
        client.iter_dates("2024-03-05", page_size=1000)
    assert sim.requests == []


def test_fetch_arrow_is_one_table_in_the_lake_schema(sim: Simulator, client: nxframe.Client) -> None:
    table = nxframe.fetch_arrow(DATES[0], DATES[-1], client=client, progress=False)
    assert table.schema == arrow_schema()
    assert table.schema.field("date").type == pa.date32()
    assert table.schema.field("start_time").type == pa.timestamp("s")
    assert table.schema.field("call_price").type == pa.decimal128(18, 6)
    assert pa.types.is_dictionary(table.schema.field("call_type").type)
    pd.testing.assert_frame_equal(to_frame([table]), sim.ground_truth(DATES[0], DATES[-1]))


def test_fetch_arrow_with_tz_keeps_the_wall_clock_and_names_the_zone(sim: Simulator, client: nxframe.Client) -> None:
    table = client.fetch_arrow(DATES[0], tz="Asia/Shanghai", progress=False)
    assert table.schema == arrow_schema("Asia/Shanghai")
    pd.testing.assert_frame_equal(to_frame([table], "Asia/Shanghai"), sim.ground_truth(DATES[0], tz="Asia/Shanghai"))


def test_polars_gets_exact_decimal_money_from_fetch_arrow(sim: Simulator, client: nxframe.Client) -> None:
    df = pl.from_arrow(nxframe.fetch_arrow(DATES[0], DATES[-1], client=client, progress=False))
    assert isinstance(df, pl.DataFrame)
    assert df.schema["call_price"] == pl.Decimal(18, 6)
    assert df.schema["date"] == pl.Date
    truth = sim.ground_truth(DATES[0], DATES[-1])
    assert len(df) == len(truth)
    for column in ("call_price", "call_price_unit", "fee_duration_minute"):
        total = df[column].sum()
        assert isinstance(total, Decimal)
        assert total == truth[column].sum()
    # The 16-digit canary price survives: a float would have changed it.
    canary = max(df["call_price_unit"].to_list(), key=lambda d: len(d.as_tuple().digits))
    assert len(canary.as_tuple().digits) == 16 and Decimal(repr(float(canary))) != canary


def test_fetch_arrow_into_a_lake_writes_what_it_returns(sim: Simulator, client: nxframe.Client, tmp_path: Path) -> None:
    table = client.fetch_arrow(DATES[0], DATES[2], lake=tmp_path / "lake", progress=False)
    pd.testing.assert_frame_equal(nxframe.read_lake(tmp_path / "lake"), to_frame([table]))
    pd.testing.assert_frame_equal(to_frame([table]), sim.ground_truth(DATES[0], DATES[2]))


def test_an_empty_range_is_an_empty_table_with_every_column(sim: Simulator, client: nxframe.Client) -> None:
    sim.set_rows(DATES[0], 0)
    table = client.fetch_arrow(DATES[0], progress=False)
    assert table.num_rows == 0 and table.schema == arrow_schema()


def test_only_the_stream_walks_pages() -> None:
    """One walk of the pages for the frame, the Arrow table, the lake, sync_lake and the loaders."""
    walkers = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and {"DateWalk", "PageWorkers"} & {a.name for a in node.names}:
                walkers.add(path.relative_to(PACKAGE).as_posix())
    assert walkers == {"stream.py"}


def test_the_readme_arrow_and_polars_examples_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    section = README.split("\n## Arrow and Polars\n", 1)[1].split("\n## ", 1)[0]
    namespace: dict[str, object] = {}
    with Simulator(seed=7) as sim:
        for name, value in sim.env().items():
            monkeypatch.setenv(name, value)
        for block in re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL):
            exec(compile(block, "README.md", "exec"), namespace)
        truth = sim.ground_truth("2024-03-01", "2024-03-07")
    calls = namespace["calls"]
    assert isinstance(calls, pl.DataFrame) and calls.schema["call_price"] == pl.Decimal(18, 6)
    assert calls["call_price"].sum() == truth["call_price"].sum()
    per_date = truth.groupby("date").size()
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"{date.date()} {rows}" for date, rows in per_date.items()]
