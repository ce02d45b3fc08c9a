"""``cdr``: the call records as a dlt resource, so they load into any warehouse with the money exact.

::

    import dlt
    from nxframe.dlt import cdr

    pipeline = dlt.pipeline("nxcloud", destination="duckdb", dataset_name="calls")
    pipeline.run(cdr("2024-03-01"))  # up to yesterday; the next run goes on from there

Each date arrives as one Arrow table from :meth:`nxframe.Client.iter_dates`,
checked against the API's ``totalRow``, and dlt passes an Arrow table to the
destination without normalising its values: money stays ``decimal128(18, 6)``
and lands as ``DECIMAL(18, 6)``. (dlt's own REST API source parses the JSON
into Python floats first: the cents would not survive.)

A date is replaced whole: the merge key is ``date`` with dlt's
``delete-insert`` strategy, so a date loaded again (the refresh window, a
re-run after a failure, a day that gained calls, a call billed again) loses
its old rows and gets the new ones. Nothing is duplicated, and a call the API
no longer lists leaves the warehouse too. The primary key is (``date``, ``id``).

Incremental: the last date loaded is kept in dlt's state for the resource,
which dlt saves with the load (a run that fails loads the same dates next
time). A run loads the dates after it, and the last ``refresh_days`` dates
again, because a recent day may still change.

The two times carry an explicit ``timezone`` hint: dlt 1.31 forgets the
``timezone=False`` it infers from a naive Arrow timestamp (dlt issue 4015) and
would load the API's wall clock as a UTC instant.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any, Unpack

import pyarrow as pa

from .client import Client
from .errors import InvalidInputError
from .lake import local_today
from .query import CdrQuery, QueryArgs, query_doc

try:
    import dlt
except ImportError as exc:
    raise ImportError(f"nxframe.dlt needs dlt ({exc}); install it with: pip install 'nxframe[dlt]'") from exc

__all__ = ["cdr"]

#: The resource's keys: a date is replaced whole; (date, id) names one call.
PRIMARY_KEY = ("date", "id")
TIMES = ("start_time", "end_time")


@dlt.resource(
    name="cdr",
    section="nxframe",
    primary_key=PRIMARY_KEY,
    merge_key="date",
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
)
@query_doc
def cdr(
    start: str | dt.date,
    end: str | dt.date | None = None,
    client: Client | None = None,
    refresh_days: int = 2,
    **query: Unpack[QueryArgs],
) -> Iterator[pa.Table]:
    """NXCloud's DID call records, one Arrow table per date, merged into the destination by date.

    Args:
        start: the first date to load when the pipeline has loaded none yet.
        end: the last date, inclusive; ``None``: yesterday (in ``tz`` when
            given). Dates after today have no calls yet and are never loaded.
        client: the :class:`nxframe.Client` to use; default ``Client()`` from
            the environment (``NXCLOUD_ACCESS_KEY``, ``NXCLOUD_ACCESS_SECRET``).
        refresh_days: how many of the last dates loaded are loaded again.
        {query}
            (A pipeline's ``cdr`` keeps the filters it was first loaded with;
            load other filters under another name: ``cdr.with_name("cdr_incoming")(...)``.)

    Raises:
        InvalidInputError: a bad argument, or filters other than those
            already loaded (dlt wraps it in its ``PipelineStepFailed``).
        The errors of :func:`nxframe.fetch_cdr` when a date cannot be fetched:
        dlt then loads nothing of the run and keeps the state it had, so the
        next run loads the same dates again.
    """
    asked = CdrQuery.build(start, end, **{**query, "allow_long": True})  # the range checked is this run's, below
    if isinstance(refresh_days, bool) or not isinstance(refresh_days, int) or refresh_days < 0:
        raise InvalidInputError(f"refresh_days must be an integer >= 0, not {refresh_days!r}", parameter="refresh_days")
    if client is not None and not isinstance(client, Client):
        raise InvalidInputError(f"client must be an nxframe.Client or None, not {client!r}", parameter="client")
    today = local_today(asked.tz)
    last = min(today, asked.end if end is not None else today - dt.timedelta(days=1))
    # Set on the resource being run, before its first table: the times' zone is known only now.
    dlt.current.resource().apply_hints(columns=_time_hints(asked.tz))
    state = dlt.current.resource_state()
    _check_filters(state, asked)
    first = asked.start
    if "last_date" in state:
        first = max(first, dt.date.fromisoformat(state["last_date"]) - dt.timedelta(days=refresh_days - 1))
    if first > last:
        return
    with contextlib.nullcontext(client) if client is not None else Client() as active:
        dates = active.iter_dates(first, last, **query)
        for date, table in dates:
            yield _for_dlt(table)
            state["last_date"] = date.isoformat()


def _check_filters(state: Any, query: CdrQuery) -> None:
    """One resource, one set of filters: a date merged under other filters would mix two queries' rows."""
    filters = query.filters()
    loaded = state.setdefault("filters", filters)
    if loaded != filters:
        changed = ", ".join(f"{name}={loaded.get(name)!r}" for name in filters if loaded.get(name) != filters[name])
        raise InvalidInputError(
            f"this pipeline's resource {dlt.current.resource_name()!r} was loaded with {changed}; load other "
            "filters under another name: cdr.with_name('cdr_other')(...)",
            parameter=next(name for name in filters if loaded.get(name) != filters[name]),
        )


def _for_dlt(table: pa.Table) -> pa.Table:
    """The table as the hints describe it, so dlt has no difference to warn about.

    The key columns never null (the primary key makes them so in the
    destination); the times in microseconds, the precision of a
    timestamp-with-zone in DuckDB, Postgres, BigQuery and Snowflake (exact:
    whole seconds scaled).
    """
    fields = [f.with_nullable(f.name not in PRIMARY_KEY) for f in table.schema]
    fields = [f.with_type(pa.timestamp("us", f.type.tz)) if f.name in TIMES else f for f in fields]
    return table.cast(pa.schema(fields))


def _time_hints(tz: str | None) -> list[dict[str, Any]]:
    """The times' ``timezone`` said outright (see the module docstring); microseconds, every destination's default."""
    return [{"name": name, "data_type": "timestamp", "timezone": tz is not None, "precision": 6} for name in TIMES]
