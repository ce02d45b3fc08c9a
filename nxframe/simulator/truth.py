"""The simulator's records as the DataFrame nxframe should return, built without nxframe's decoder.

This is the test oracle, so it takes the plain road on purpose: Python
values record by record, ``Decimal`` straight from the generator, no
``pyarrow.json``, no shared code with :mod:`nxframe.decode` beyond the
column table itself.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa

from ..schema import COLUMNS
from .data import value_json

__all__ = ["truth_frame"]


def truth_frame(days: Iterable[tuple[dt.date, list[dict[str, Any]]]], tz: str | None = None) -> pd.DataFrame:
    """One row per record, in date then id order, with the DataFrame's exact dtypes."""
    values: dict[str, list[Any]] = {c.name: [] for c in COLUMNS}
    known = {c.api_field for c in COLUMNS if c.api_field}
    for date, records in days:
        for record in records:
            for c in COLUMNS:
                if c.kind == "date":
                    value: Any = date
                elif c.kind == "extra":
                    unknown = {k: v for k, v in record.items() if k not in known}
                    value = value_json(unknown) if unknown else None
                else:
                    value = _convert(c.kind, c.labels, record.get(c.api_field))  # type: ignore[arg-type]
                values[c.name].append(value)
    series = {}
    for c in COLUMNS:
        if c.kind == "code":
            labels = list(c.labels)
            others = sorted({v for v in values[c.name] if v is not None and v not in labels})
            series[c.name] = pd.Series(pd.Categorical(values[c.name], categories=labels + others))
        else:
            array = pa.array(values[c.name], c.arrow_type(None))
            if c.kind == "date":
                array = array.cast(pa.timestamp("s"))
            if c.kind == "time" and tz is not None:
                array = pa.compute.assume_timezone(array, tz)
            # The frame's dtype comes from the column table, never written here by hand.
            series[c.name] = pd.Series(array, dtype=pd.ArrowDtype(array.type)).astype(c.pandas_dtype(tz))
    return pd.DataFrame(series)


def _convert(kind: str, labels: tuple[str, ...], value: Any) -> Any:
    if value is None:
        return None
    if kind in ("id", "int"):
        return int(value)
    if kind == "decimal":
        return Decimal(str(value))
    if kind == "time":
        return None if value == "" else dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    text = value if isinstance(value, str) else json.dumps(value)
    if text == "":
        return None
    if kind == "code":
        return labels[int(text)] if text in ("0", "1") else text
    return text
