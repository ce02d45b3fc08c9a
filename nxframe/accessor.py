"""``df.cdr``: the exact versions of the pandas methods that fail on decimal money.

pandas 3.1 keeps ``decimal128[pyarrow]`` exact, but some of its methods do not
support it: ``describe()`` raises on the column (and ``DataFrame.describe()``
silently drops it), ``cumsum`` and ``nlargest`` raise, a division by a zero
decimal raises ``ArrowInvalid``, ``median``/``std``/``quantile`` return floats.
nxframe does not hide money in floats to dodge that; ``import nxframe``
registers this accessor instead, so ``df.cdr.<method>`` does the same job on
exact integers (a decimal128(18, 6) is an int64 count of millionths).

Rules shared by every method: money is never a float on the way; a result
that does not fit ``decimal128(18, 6)`` raises :class:`InvalidInputError`,
never a rounding; the only rounding is the documented one (6 places,
ROUND_HALF_UP: ties away from zero).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from .errors import InvalidInputError
from .report.tables import totals as totals_kernel
from .schema import DECIMAL

__all__ = ["QUANTILE_RULE", "CdrAccessor"]

#: How :meth:`CdrAccessor.describe` picks a quantile: numpy's "lower" (sorted value at floor(q * (n - 1))).
QUANTILE_RULE = "lower"
_PLACES = DECIMAL.scale
_LIMIT = 10**DECIMAL.precision - 1  # the largest unscaled decimal128(18, 6)
#: Which of tied rows :meth:`CdrAccessor.nlargest` keeps, as in ``DataFrame.nlargest``.
Keep = Literal["first", "last", "all"]
_STATS = ("count", "mean", "std", "min", "25%", "50%", "75%", "max", "sum")
_TOTALS = {"calls": "calls", "answered": "answered", "duration_seconds": "duration_s"}


@pd.api.extensions.register_dataframe_accessor("cdr")
class CdrAccessor:
    """Exact money methods on a call-record frame (``df.cdr``); every method returns a new object.

    - ``totals()``: one row, calls/answered/duration_s/billed_minutes/cost (the report's kernel)
    - ``describe()``: ``DataFrame.describe()`` with money as exact Decimals and a "sum" row
    - ``cumsum(col)``: exact running total, ``decimal128(18, 6)[pyarrow]``
    - ``nlargest(n, col)``: the rows with the largest values, like ``DataFrame.nlargest``
    - ``ratio(num, den)``: exact division to 6 places half-up, NA where ``den`` is 0 or NA
    - ``floats()``: a copy with money as float64, for charts and statistics only
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def totals(self) -> pd.DataFrame:
        """One row: ``calls, answered, duration_s, billed_minutes, cost``, the monthly report's figures.

        Computed by ``nxframe.report.tables.totals`` (the one kernel); answered
        means ``call_duration > 0`` (NA counts as not answered); sums are exact.

        Example: ``df.cdr.totals().loc[0, "cost"]`` -> ``Decimal('1234.567800')``
        """
        kernel = totals_kernel(self._frame)
        return kernel[["calls", "answered", "duration_seconds", "billed_minutes", "cost"]].rename(columns=_TOTALS)

    def describe(self) -> pd.DataFrame:
        """``DataFrame.describe()`` over the numeric, money and time columns, plus a "sum" row.

        Rows: count, mean, std, min, 25%, 50%, 75%, max, sum. Integer and
        money columns give exact Decimals: mean and std (sample, ddof=1)
        correctly rounded to 6 places half-up; min, quantiles, max and sum are
        values of the column (quantiles by the "lower" rule, see
        :data:`QUANTILE_RULE`), sum unrounded. Time columns give Timestamps
        (mean to the second, half-up) and NA for std and sum. ``id`` is an
        identifier, not a measure, and is left out. Statistics skip NA.

        Example: ``df.cdr.describe().loc["sum", "call_price"]`` -> ``Decimal('1234.567800')``
        """
        out: dict[str, list[Any]] = {}
        for name in self._frame.columns:
            series = self._frame[name]
            if name == "id":
                continue
            if _is_exact(series):
                out[str(name)] = _number_stats(*_unscaled(series, str(name)))
            elif pd.api.types.is_datetime64_any_dtype(series.dtype):
                out[str(name)] = _time_stats(series)
            elif pd.api.types.is_float_dtype(series.dtype):
                out[str(name)] = _float_stats(series)
        return pd.DataFrame(out, index=list(_STATS), dtype=object)

    def cumsum(self, col: str) -> pd.Series:
        """The exact running total of ``col``, ``decimal128(18, 6)[pyarrow]``; NA rows stay NA.

        Raises :class:`InvalidInputError` when the running total passes
        decimal128(18, 6) (12 integer digits), naming the row: never rounded.

        Example: ``df.cdr.cumsum("call_price").iloc[-1] == df["call_price"].sum()`` -> ``True``
        """
        series = self._series(col)
        if not _is_decimal(series):
            raise InvalidInputError(f"cumsum({col!r}): not a decimal column ({series.dtype}); use df[{col!r}].cumsum()")
        values, valid, scale = _unscaled(series, col)
        running = np.cumsum(values)
        # Every |value| < 10**18, so the first step past the limit is still exact in int64: found before any wrap.
        beyond = np.abs(running) > _LIMIT // 10 ** (_PLACES - scale)
        if beyond.any():
            row = int(np.argmax(beyond))
            raise InvalidInputError(
                f"the running total of {col!r} passes decimal128(18, 6) at row {row} (label "
                f"{series.index[row]!r}); cumsum does not round: sum in Python Decimal or split the frame"
            )
        return pd.Series(_decimal_array(running * 10 ** (_PLACES - scale), valid), index=series.index, name=col)

    def nlargest(self, n: int, col: str | Sequence[str], keep: Keep = "first") -> pd.DataFrame:
        """The ``n`` rows with the largest ``col``, in descending order, like ``DataFrame.nlargest``.

        Ties are kept as ``keep`` says (``"first"``: earlier rows win); rows
        where ``col`` is NA are never chosen. Compared as exact integers.

        Example: ``df.cdr.nlargest(5, "call_price")[["id", "call_price"]]``
        """
        names = [col] if isinstance(col, str) else list(col)
        keys: dict[str, pd.Series] = {}
        for name in names:
            series = self._series(name)
            if _is_exact(series):  # as unscaled integers (a float would round them), NA masked
                values, valid, _ = _unscaled(series, name)
                keys[name] = pd.Series(pd.arrays.IntegerArray(values, ~valid))
            else:
                keys[name] = series.reset_index(drop=True)
        ranked = pd.DataFrame(keys).dropna()
        ranked = ranked.astype({name: "int64" for name in names if _is_exact(self._frame[name])})
        positions = ranked.nlargest(n, names, keep=keep).index
        return self._frame.iloc[positions]

    def ratio(self, num: str, den: str) -> pd.Series:
        """``num / den`` exactly, rounded to 6 places half-up, ``decimal128(18, 6)[pyarrow]``.

        NA where ``den`` is 0 or NA (an unanswered call bills 0 minutes) or
        ``num`` is NA. Both columns must be decimal or integer; a quotient past
        12 integer digits raises :class:`InvalidInputError`.

        Example: ``df.cdr.ratio("call_price", "fee_duration_minute")`` -> price per billed minute
        """
        top, top_valid, top_scale = _unscaled(self._series(num), num)
        bottom, bottom_valid, bottom_scale = _unscaled(self._series(den), den)
        valid = top_valid & bottom_valid & (bottom != 0)
        shift = _PLACES + bottom_scale - top_scale
        up, down = 10 ** max(shift, 0), 10 ** max(-shift, 0)
        quotients = [
            _rounded(a * up if b > 0 else -a * up, abs(b) * down) if ok else 0
            for a, b, ok in zip(top.tolist(), bottom.tolist(), valid.tolist(), strict=True)
        ]
        if any(abs(q) > _LIMIT for q in quotients):
            raise InvalidInputError(f"{num!r} / {den!r} passes decimal128(18, 6) (12 integer digits) on some rows")
        result = np.array(quotients, dtype=np.int64)
        return pd.Series(_decimal_array(result, valid), index=self._frame.index, name=f"{num}/{den}")

    def floats(self) -> pd.DataFrame:
        """A copy with every decimal column as float64 (NA -> NaN): for charts and statistics only.

        A float is wrong in the last digits; keep the decimals for anything
        summed or billed.

        Example: ``df.cdr.floats().plot(x="start_time", y="call_price")``
        """
        copy = self._frame.copy()
        for name in copy.columns:
            if _is_decimal(copy[name]):
                copy[name] = copy[name].astype("float64")
        return copy

    def _series(self, col: str) -> pd.Series:
        if col not in self._frame.columns:
            raise InvalidInputError(
                f"col {col!r} is not a column of the frame (columns: {', '.join(map(str, self._frame.columns))})"
            )
        series: pd.Series = self._frame[col]
        return series


def _is_decimal(series: pd.Series) -> bool:
    return isinstance(series.dtype, pd.ArrowDtype) and pa.types.is_decimal(series.dtype.pyarrow_dtype)


def _is_exact(series: pd.Series) -> bool:
    """Decimal or integer (Arrow or numpy), not bool: the columns the exact statistics apply to."""
    if _is_decimal(series):
        return True
    return pd.api.types.is_integer_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)


def _unscaled(series: pd.Series, name: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], int]:
    """(unscaled int64 values with 0 at NA, valid mask, scale) of a decimal or integer column.

    A decimal128 of precision <= 18 is a 128-bit two's complement integer
    whose low 64 bits are the value: read straight from the buffer.
    """
    if not _is_exact(series):
        raise InvalidInputError(
            f"column {name!r} is {series.dtype}, not decimal or integer; the exact methods read the "
            "decimal money columns (use pandas' own method on floats)"
        )
    array = pa.array(series, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if not pa.types.is_decimal(array.type):
        values = np.asarray(array.fill_null(0).cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
        return values, valid, 0
    scale = array.type.scale
    if pa.types.is_decimal128(array.type) and array.type.precision <= 18:
        words = np.frombuffer(array.buffers()[1], dtype=np.int64)
        values = words[2 * array.offset : 2 * (array.offset + len(array)) : 2].copy()
    else:
        values = np.array([0 if d is None else int(d.scaleb(scale)) for d in array.to_pylist()], dtype=np.int64)
    values[~valid] = 0
    return values, valid, scale


def _decimal_array(values: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_]) -> pd.arrays.ArrowExtensionArray:
    """decimal128(18, 6) from unscaled int64 values (low word, sign-extended high word) and a mask."""
    words = np.empty(2 * len(values), dtype=np.int64)
    words[0::2] = values
    words[1::2] = values >> 63
    mask = pa.array(valid).buffers()[1] if not valid.all() else None
    array = pa.Array.from_buffers(DECIMAL, len(values), [mask, pa.py_buffer(words.tobytes())])
    return pd.arrays.ArrowExtensionArray(array)


def _rounded(numerator: int, denominator: int) -> int:
    """numerator / denominator to an integer, ties away from zero (ROUND_HALF_UP)."""
    q, r = divmod(abs(numerator), denominator)
    q += 2 * r >= denominator
    return q if numerator >= 0 else -q


def _as_decimal(unscaled: int, scale: int) -> Decimal:
    return Decimal(unscaled).scaleb(-scale).quantize(Decimal(1).scaleb(-scale))


def _number_stats(values: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_], scale: int) -> list[Any]:
    present = np.sort(values[valid])
    n = len(present)
    if n == 0:
        return [0, *([pd.NA] * 7), _as_decimal(0, scale)]
    items = present.tolist()
    total = sum(items)
    lift = 10 ** (_PLACES - scale)  # statistics in millionths
    mean = _as_decimal(_rounded(total * lift, n), _PLACES)
    std: Any = pd.NA
    if n > 1:
        # sample variance in (1/10**scale)**2 units = (n*S2 - S1**2) / (n*(n-1)); std rounded half-up, exactly
        num = (n * sum(v * v for v in items) - total * total) * lift * lift
        den = n * (n - 1)
        root = math.isqrt(num // den)
        root += 4 * num >= (4 * root * root + 4 * root + 1) * den
        std = _as_decimal(root, _PLACES)
    picks = [items[int(q * (n - 1))] for q in (0.25, 0.5, 0.75)]
    return [n, mean, std, *(_as_decimal(v, scale) for v in (items[0], *picks, items[-1])), _as_decimal(total, scale)]


def _time_stats(series: pd.Series) -> list[Any]:
    present = series.dropna().sort_values()
    n = len(present)
    if n == 0:
        return [0, *([pd.NA] * 8)]
    zone = present.dt.tz
    ticks = ((present - pd.Timestamp(0, tz="UTC" if zone else None)) // pd.Timedelta(seconds=1)).tolist()
    mean = pd.Timestamp(_rounded(sum(ticks), n), unit="s", tz="UTC" if zone else None)
    if zone is not None:
        mean = mean.tz_convert(zone)
    picks = [present.iloc[int(q * (n - 1))] for q in (0.25, 0.5, 0.75)]
    return [n, mean, pd.NA, present.iloc[0], *picks, present.iloc[-1], pd.NA]


def _float_stats(series: pd.Series) -> list[Any]:
    present = series.dropna().astype("float64")
    if present.empty:
        return [0, *([pd.NA] * 8)]
    quantiles = present.quantile([0.25, 0.5, 0.75]).tolist()
    return [len(present), present.mean(), present.std(), present.min(), *quantiles, present.max(), present.sum()]
