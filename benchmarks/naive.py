"""The naive baseline: the straightforward, exact requests + json + pandas client.

What an analyst would write without nxframe, made exact so the comparison
is fair: ``json.loads`` (decimals kept as ``Decimal``, never a float) ->
``pd.DataFrame(rows)`` -> ``Decimal(str(v))`` per money cell ->
``pd.to_datetime`` -> then ``ArrowDtype`` / categoricals so that it returns
exactly nxframe's DataFrame (the benchmarks assert it does).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pandas as pd
import requests

from nxframe.redaction import Secret
from nxframe.schema import COLUMNS, pandas_dtypes
from nxframe.signing import sign

__all__ = ["naive_decimal_frame", "naive_fetch", "naive_frame", "naive_rows", "to_nxframe_schema"]

KNOWN = {c.api_field for c in COLUMNS if c.api_field}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def naive_rows(bodies: Iterable[bytes]) -> list[dict[str, Any]]:
    """Every record of the pages, as Python dicts."""
    rows: list[dict[str, Any]] = []
    for body in bodies:
        rows.extend(json.loads(body, parse_float=Decimal)["data"]["list"])
    return rows


def naive_decimal_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The straightforward exact frame: money as ``Decimal`` objects, times parsed, fields as pandas made them."""
    extra = [
        json.dumps(unknown, separators=(",", ":"), ensure_ascii=False)
        if (unknown := {k: v for k, v in row.items() if k not in KNOWN})
        else None
        for row in rows
    ]
    df = pd.DataFrame(rows)
    for c in COLUMNS:
        if c.kind == "decimal":
            df[c.api_field] = pd.Series(
                [None if v in (None, "") else Decimal(str(v)) for v in df[c.api_field]], dtype=object
            )
        elif c.kind == "time":
            df[c.api_field] = pd.to_datetime(df[c.api_field].replace("", None), format=TIME_FORMAT, errors="raise")
    df = df[[c.api_field for c in COLUMNS if c.api_field]]
    df["extra"] = pd.Series(extra, dtype=object)
    return df


def naive_frame(bodies: Iterable[bytes], date: dt.date) -> pd.DataFrame:
    """The naive client's result from page bodies, in nxframe's schema."""
    return to_nxframe_schema(naive_decimal_frame(naive_rows(bodies)), date)


def to_nxframe_schema(df: pd.DataFrame, date: dt.date) -> pd.DataFrame:
    """The naive frame converted to nxframe's schema: names, dtypes (``schema.pandas_dtypes``), categoricals.

    Numbers sent as strings (``"64"``, ``"1"``) are read as the numbers they
    are; phone numbers sent as JSON numbers stay text.
    """
    dtypes = pandas_dtypes()
    out: dict[str, Any] = {"date": pd.Series(pd.to_datetime([date] * len(df))).astype(dtypes["date"])}
    for c in COLUMNS[1:]:
        values = df[c.api_field or c.name]
        dtype = dtypes[c.name]
        if c.kind == "decimal":
            out[c.name] = pd.Series(values.tolist(), dtype=dtype)  # Decimal -> decimal128 is exact or raises
        elif c.kind == "time":
            out[c.name] = values.astype(dtype)
        elif c.kind == "code":
            labels = list(c.labels)
            numbers = [int(v) if isinstance(v, str) and v.lstrip("-").isdigit() else v for v in values]
            texts = [labels[v] if v in (0, 1) else str(v) for v in numbers]
            out[c.name] = pd.Series(pd.Categorical(texts, categories=labels + sorted(set(texts) - set(labels))))
        elif c.kind in ("id", "int"):
            out[c.name] = pd.Series([None if v is None or v == "" else int(v) for v in values], dtype=dtype)
        else:  # text: phone numbers sent as JSON numbers stay text; "" and NaN are missing
            out[c.name] = pd.Series([None if v is None or v != v or v == "" else str(v) for v in values], dtype=dtype)
    return pd.DataFrame(out)


def naive_fetch(
    base_url: str, access_key: str, access_secret: str, date: dt.date, page_size: int = 999
) -> tuple[pd.DataFrame, int]:
    """Fetch a day page after page, each request signed; returns the frame and the pages fetched."""
    session = requests.Session()
    rows: list[dict[str, Any]] = []
    page, pages = 1, 1
    while page <= pages:
        data = json.dumps({"date": date.isoformat(), "page": page, "pageSize": page_size}, separators=(",", ":"))
        ts = str(int(time.time() * 1000))
        headers = {
            "Content-Type": "application/json",
            "accessKey": access_key,
            "ts": ts,
            "bizType": "4",
            "action": "cdr",
        }
        headers["sign"] = sign(
            access_key=access_key, action="cdr", biz_type="4", ts=ts, body=data, access_secret=Secret(access_secret)
        )
        response = session.post(f"{base_url}/api/did/cdr", data=data.encode(), headers=headers, timeout=30)
        response.raise_for_status()
        data_part = json.loads(response.content, parse_float=Decimal)["data"]
        rows.extend(data_part["list"])
        pages = data_part["totalPage"]
        page += 1
    session.close()
    return to_nxframe_schema(naive_decimal_frame(rows), date), pages
