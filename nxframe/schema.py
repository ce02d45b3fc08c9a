"""The one table of columns every nxframe DataFrame and Parquet file follows.

``COLUMNS`` yields the Arrow schema, the pandas dtypes, the wire schema the
page decoder reads, the README's column table and the CLI's help. Change a
column here and every one of them follows.

Two types per column, on purpose: the *storage* type (:meth:`Column.arrow_type`,
what decode, pages and the lake's Parquet files hold: ``date32`` and
``timestamp[s]`` so DuckDB, Spark and Polars see DATE and TIMESTAMP) and the
*frame* type (:meth:`Column.pandas_dtype`). The frame's three temporal columns
are numpy ``datetime64[s]``, not Arrow-backed: on pandas 3.1 Arrow dates make
``df[df.date == "2024-03-01"]`` silently empty and ``.loc["2024-03"]``,
``to_json`` and merges with datetime64 columns raise (measured; ``docs/design.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "COLUMNS",
    "DECIMAL",
    "Column",
    "Kind",
    "PandasDtype",
    "arrow_schema",
    "column",
    "empty_table",
    "markdown_table",
    "pandas_dtypes",
]

#: Money and billed minutes: 12 integer digits, 6 decimal places, exact.
DECIMAL = pa.decimal128(18, 6)
#: Code columns are stored dictionary-encoded and read as pandas categoricals.
DICTIONARY = pa.dictionary(pa.int32(), pa.string())

#: What a frame column's dtype can be: numpy datetimes, tz-aware datetimes, categoricals, Arrow.
PandasDtype: TypeAlias = np.dtype[np.datetime64] | pd.DatetimeTZDtype | pd.CategoricalDtype | pd.ArrowDtype

Kind = Literal["date", "id", "int", "text", "code", "time", "decimal", "extra"]


@dataclass(frozen=True)
class Column:
    """One column of the DataFrame: where it comes from and what it holds.

    Attributes:
        name: the snake_case column name.
        api_field: the record field in the API's JSON (``None`` for ``date``,
            which is the requested day, and ``extra``, which gathers fields
            the documentation does not list).
        kind: how the value is decoded; decides the Arrow type.
        description: one line for humans (README, ``--help``).
        labels: for codes, the label of code 0, code 1, ...
    """

    name: str
    api_field: str | None
    kind: Kind
    description: str
    labels: tuple[str, ...] = ()

    def arrow_type(self, tz: str | None = None) -> pa.DataType:
        """The column's Arrow type; ``tz`` makes the time columns tz-aware."""
        return {
            "date": pa.date32(),
            "id": pa.int64(),
            "int": pa.int64(),
            "text": pa.string(),
            "code": DICTIONARY,
            "time": pa.timestamp("s", tz=tz),
            "decimal": DECIMAL,
            "extra": pa.string(),
        }[self.kind]

    def pandas_dtype(self, tz: str | None = None) -> PandasDtype:
        """The column's dtype in the DataFrame (not in the lake: see the module docstring)."""
        if self.kind == "date":
            return np.dtype("datetime64[s]")
        if self.kind == "time":
            return np.dtype("datetime64[s]") if tz is None else pd.DatetimeTZDtype("s", tz)
        if self.kind == "code":
            return pd.CategoricalDtype(list(self.labels))
        return pd.ArrowDtype(self.arrow_type(tz))

    def type_label(self, tz: str | None = None) -> str:
        """How the README and ``--help`` name the frame's type."""
        if self.kind == "code":
            return "category: " + ", ".join(f"`{label}`" for label in self.labels)
        if self.kind == "date":
            return "datetime64[s] (midnight; Parquet DATE in the lake)"
        if self.kind == "time":
            return "datetime64[s] (`datetime64[s, tz]` when `tz` is given)"
        return str(self.arrow_type(tz))


COLUMNS: tuple[Column, ...] = (
    Column("date", None, "date", "the requested date (the partition key)"),
    Column("id", "id", "id", "record id, unique within a day"),
    Column("did_number", "number", "text", "the DID number"),
    Column("call_number", "callNumber", "text", "the other party's number"),
    Column("call_type", "callType", "code", "direction: 0 incoming, 1 outgoing", ("incoming", "outgoing")),
    Column("country_name", "countryName", "text", "country of the call direction"),
    Column("start_time", "startTime", "time", "call start (wall clock of the API)"),
    Column("end_time", "endTime", "time", "call end (wall clock of the API)"),
    Column("call_duration", "callDuration", "int", "call length in seconds"),
    Column("fee_type", "feeType", "code", "billing increments: 0 per started minute, 1 per second", ("60+60", "1+1")),
    Column("fee_duration_minute", "feeDurationMinute", "decimal", "billed minutes"),
    Column("call_price_unit", "callPriceUnit", "decimal", "price per billed minute"),
    Column("call_price", "callPrice", "decimal", "cost of the call"),
    Column("end_direction", "endDirection", "code", "who hung up: 0 caller, 1 callee", ("caller", "callee")),
    Column("end_reason", "endReason", "text", "hang-up reason code, e.g. -7"),
    Column("end_reason_name", "endReasonName", "text", "hang-up reason, e.g. Caller Hang-up"),
    Column("caller_ip", "callerIp", "text", "caller IP"),
    Column("callee_ip", "calleeIp", "text", "callee IP"),
    Column("extra", None, "extra", "JSON object of fields the API docs do not list; null when none"),
)

_BY_NAME = {c.name: c for c in COLUMNS}


def column(name: str) -> Column:
    """The column called ``name``."""
    return _BY_NAME[name]


def arrow_schema(tz: str | None = None) -> pa.Schema:
    """The Arrow schema of a fetched table, ``date`` included."""
    return pa.schema([pa.field(c.name, c.arrow_type(tz)) for c in COLUMNS])


def pandas_dtypes(tz: str | None = None) -> dict[str, PandasDtype]:
    """The dtype of each DataFrame column, in column order.

    Codes are categoricals with their documented labels (a frame holding an
    undocumented code has it as an extra category after them); the temporal
    columns are numpy ``datetime64[s]``, the times ``datetime64[s, tz]`` with
    ``tz``; everything else is ``pd.ArrowDtype`` of the storage type.
    """
    return {c.name: c.pandas_dtype(tz) for c in COLUMNS}


def empty_table(tz: str | None = None) -> pa.Table:
    """A table with every column and no rows."""
    return arrow_schema(tz).empty_table()


def markdown_table() -> str:
    """The README's column table, generated so it cannot drift from the code."""
    lines = ["| column | dtype | from | meaning |", "|---|---|---|---|"]
    for c in COLUMNS:
        source = f"`{c.api_field}`" if c.api_field else "—"
        lines.append(f"| {c.name} | {c.type_label()} | {source} | {c.description} |")
    return "\n".join(lines)
