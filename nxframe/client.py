"""The public entry points: :class:`Client`, :func:`fetch_cdr` and :func:`fetch_arrow`."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any, Unpack

import pandas as pd
import pyarrow as pa

from .config import ClientSettings
from .errors import InvalidInputError
from .frames import to_frame, to_table
from .lake import Lake
from .network import hide_proxy
from .progress import ProgressOption, progress_reporter
from .query import CdrQuery, QueryArgs, query_doc
from .redaction import MASK, Secret, hide
from .signing import Algorithm
from .stream import stream_dates
from .transport import Transport

__all__ = ["Client", "fetch_arrow", "fetch_cdr"]


class Client:
    """A connection to the NXCloud DID call record API; safe to share between threads.

    Args:
        access_key: default: env ``NXCLOUD_ACCESS_KEY``.
        access_secret: default: env ``NXCLOUD_ACCESS_SECRET``. Never shown in
            a repr, a log, an error or a file.
        base_url: default: env ``NXCLOUD_BASE_URL``, else ``https://api2.nxcloud.com``.
            Must be ``https://`` unless the host is loopback (the simulator).
        algorithm: ``"md5"`` (NXCloud's default) or ``"sha256"``.
        timeout: seconds for a whole HTTP request: connecting, sending and
            reading the entire body (a server that drips bytes is cut off).
        max_retries: retries of a transient failure (connection, timeout,
            truncated body, HTTP 429/5xx, code -1) before giving up.
        concurrency: requests in flight at once, across pages and dates.
        max_rps: optional cap on requests per second (NXCloud documents no
            limit for this endpoint; its other CDR endpoints allow about 1/s).
        retry_backoff: first retry wait in seconds; doubles each retry, with jitter.
        retry_max_wait: most seconds spent waiting between retries of one request.
        max_response_bytes: a bigger response body (counted after
            decompression) is a :class:`~nxframe.errors.ResponseError`.
        max_rows_per_date: a bigger ``totalRow`` for one date is a
            :class:`~nxframe.errors.ResponseError` after one request, not a
            billion page requests.
        proxy: ``None``: the environment, as requests reads it (``HTTPS_PROXY``,
            ``ALL_PROXY``, ``NO_PROXY``...; a loopback host is never proxied);
            a URL such as ``"http://user:pass@proxy.example:3128"``; ``False``:
            never. https goes through it as a CONNECT tunnel: the proxy sees
            the host name and port only. Its credentials are never shown.
        verify: ``True``: the system trust store, or the bundle named by
            ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` (``SSL_CERT_FILE`` is
            honoured by the system store); a path to a CA bundle (e.g. the CA
            of a proxy that inspects TLS); ``False`` only for a loopback host.

    Raises:
        InvalidInputError: credentials missing, ``base_url`` not https, a
            setting out of range, a proxy or CA bundle that cannot be used.
            Nothing is sent; the message and ``parameter`` name the argument.
    """

    def __init__(
        self,
        access_key: str | None = None,
        access_secret: str | Secret | None = None,
        *,
        base_url: str | None = None,
        algorithm: Algorithm = "md5",
        timeout: float = 30.0,
        max_retries: int = 5,
        concurrency: int = 4,
        max_rps: float | None = None,
        retry_backoff: float = 0.25,
        retry_max_wait: float = 60.0,
        max_response_bytes: int = 32 * 2**20,
        max_rows_per_date: int = 10_000_000,
        proxy: str | bool | None = None,
        verify: bool | str | os.PathLike[str] = True,
    ) -> None:
        # Hidden on the first line: a refused argument leaves no plain secret in this frame's locals.
        hidden, access_secret, proxy = hide(access_secret), None, hide_proxy(proxy)
        self.settings = ClientSettings.resolve(
            access_key,
            hidden,
            base_url=base_url,
            algorithm=algorithm,
            timeout=timeout,
            max_retries=max_retries,
            concurrency=concurrency,
            max_rps=max_rps,
            retry_backoff=retry_backoff,
            retry_max_wait=retry_max_wait,
            max_response_bytes=max_response_bytes,
            max_rows_per_date=max_rows_per_date,
            proxy=proxy,
            verify=verify,
        )
        self.transport = Transport(self.settings)

    def __repr__(self) -> str:
        s = getattr(self, "settings", None)
        if s is None:  # refused in __init__: an error reporter may still show it
            return "Client(<not configured>)"
        key = s.access_key[:4] + "…" if len(s.access_key) > 4 else s.access_key
        network = "" if s.proxy is None else f", proxy={s.proxy.url!r}"  # no credentials in .url
        network += "" if s.trust.verify else ", verify=False"
        return (
            f"Client(access_key={key!r}, access_secret={MASK!r}, base_url={s.base_url!r}, "
            f"algorithm={s.algorithm!r}, concurrency={s.concurrency}{network})"
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled HTTP connections."""
        self.transport.close()

    @property
    def retries(self) -> Counter[str]:
        """Retries made so far, per reason (``"HTTP 503"``, ``"code -1"``, ``"timeout"``...)."""
        return self.transport.retries

    @query_doc
    def fetch_cdr(
        self,
        start: str | dt.date,
        end: str | dt.date | None = None,
        *,
        lake: Any = None,
        progress: ProgressOption = None,
        storage_options: dict[str, Any] | None = None,
        **query: Unpack[QueryArgs],
    ) -> pd.DataFrame:
        """The call records of a day or a date range; see :func:`nxframe.fetch_cdr`."""
        built = CdrQuery.build(start, end, **query)
        return self.fetch_query(built, lake=lake, progress=progress, storage_options=storage_options)

    @query_doc
    def fetch_arrow(
        self,
        start: str | dt.date,
        end: str | dt.date | None = None,
        *,
        lake: Any = None,
        progress: ProgressOption = None,
        storage_options: dict[str, Any] | None = None,
        **query: Unpack[QueryArgs],
    ) -> pa.Table:
        """The call records as one Arrow table; see :func:`nxframe.fetch_arrow`."""
        built = CdrQuery.build(start, end, **query)
        tables = self._fetch_tables(built, lake=lake, progress=progress, storage_options=storage_options)
        return to_table(tables, built.tz)

    @query_doc
    def iter_dates(
        self, start: str | dt.date, end: str | dt.date | None = None, **query: Unpack[QueryArgs]
    ) -> Iterator[tuple[dt.date, pa.Table]]:
        """``(date, table)`` per date in date order, each as soon as it is whole (schema: :func:`fetch_arrow`).

        The next ``concurrency`` dates are fetched while you hold one, no
        more: memory is bounded by the concurrency, not by the range. The
        arguments are checked here, before any request. A failed date raises
        when the loop reaches it; leaving the loop early (``break``,
        ``close()``) cancels the requests not yet sent.

        Args:
            start, end: the first and last date (inclusive; ``end=None``: just ``start``).
            {query}
        """
        return self._iter_query(CdrQuery.build(start, end, **query))

    def _iter_query(self, query: CdrQuery) -> Iterator[tuple[dt.date, pa.Table]]:
        with contextlib.closing(stream_dates(self.transport, query)) as results:
            for result in results:
                yield result.date, result.table_or_raise()

    def fetch_query(
        self,
        query: CdrQuery,
        *,
        lake: Any = None,
        progress: ProgressOption = None,
        storage_options: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Fetch a validated :class:`~nxframe.query.CdrQuery`: the one place every fetch goes through.

        ``fetch_cdr``, the explorer widget and the CLI build the query with
        :meth:`CdrQuery.build` and call this. The first failed date raises;
        the dates before it are already in ``lake``, each one whole.
        """
        tables = self._fetch_tables(query, lake=lake, progress=progress, storage_options=storage_options)
        return to_frame(tables, query.tz)

    def _fetch_tables(
        self, query: CdrQuery, *, lake: Any, progress: ProgressOption, storage_options: dict[str, Any] | None = None
    ) -> list[pa.Table]:
        """Every date's table, in date order; each date is written to ``lake`` as it arrives."""
        if not isinstance(query, CdrQuery):
            raise InvalidInputError(
                f"query must be a CdrQuery (build it with CdrQuery.build(...)), not {query!r}", parameter="query"
            )
        store = None
        writing: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        if lake is not None:
            store = Lake(lake, storage_options=storage_options)
            store.check_query(query)  # before any request: a lake holding other filters is refused
            writing = store.writer()  # one writer at a time, for the whole fetch (sync_lake waits for it)
        tables = []
        with (
            writing,
            progress_reporter(progress) as reporter,
            contextlib.closing(stream_dates(self.transport, query, progress=reporter.callback)) as results,
        ):
            for result in results:
                table = result.table_or_raise()
                if store is not None:
                    store.write_date(result.date, table, query, total_row=result.total_row)
                tables.append(table)
        return tables


@query_doc
def fetch_cdr(
    start: str | dt.date,
    end: str | dt.date | None = None,
    *,
    lake: Any = None,
    client: Client | None = None,
    progress: ProgressOption = None,
    storage_options: dict[str, Any] | None = None,
    **query: Unpack[QueryArgs],
) -> pd.DataFrame:
    """The NXCloud DID call records of a day or a date range, as a typed DataFrame.

    Every argument is checked before any request is sent. Each date's pages
    are fetched concurrently and must add up to the API's ``totalRow`` with
    unique ids (a day that changed while paged is scanned again), so no row
    is lost or repeated without an error.

    Args:
        start: first date, ``"YYYY-MM-DD"`` or ``datetime.date``.
        end: last date, inclusive; ``None`` fetches just ``start``.
        lake: a folder or fsspec URL; each fetched date is also written there
            as ``date=YYYY-MM-DD/part-0.parquet``, atomically.
        client: the :class:`Client` to use; default ``Client()`` from the
            environment (``NXCLOUD_ACCESS_KEY``, ``NXCLOUD_ACCESS_SECRET``).
        progress: ``None`` shows a bar in notebooks and terminals only;
            ``True``/``False`` force it; a callable receives
            :class:`~nxframe.pages.FetchProgress` after every page.
        storage_options: for ``lake``, passed to fsspec as given (S3:
            ``endpoint_url``, ``key``, ``secret``...); default: the environment.
        {query}

    Returns:
        One row per call, columns and dtypes as ``nxframe.schema.COLUMNS``
        (money as exact ``decimal128(18, 6)``), dates in order, each date's
        rows in the API's order. An empty result still has every column.

    Raises:
        InvalidInputError: a bad argument or missing credentials (nothing sent).
        AuthError, ParameterError, ServerError, RateLimitError, ResponseError:
            the API or the network failed (after retries where transient).
        IncompleteDataError: a date's rows never added up to ``totalRow``.
        SchemaError: a value does not fit its column (never rounded).
        LakeError: ``lake`` holds another query's data (checked again under the
            lake's lock, before anything is written), another writer holds it, or
            its storage failed.
    """
    _check_client(client)
    built = CdrQuery.build(start, end, **query)
    with _client(client) as active:
        return active.fetch_query(built, lake=lake, progress=progress, storage_options=storage_options)


@query_doc
def fetch_arrow(
    start: str | dt.date,
    end: str | dt.date | None = None,
    *,
    lake: Any = None,
    client: Client | None = None,
    progress: ProgressOption = None,
    storage_options: dict[str, Any] | None = None,
    **query: Unpack[QueryArgs],
) -> pa.Table:
    """The call records as one ``pyarrow.Table``: :func:`fetch_cdr`'s fetch, arguments and errors, no pandas.

    The lake's schema: ``date`` ``date32``, times ``timestamp[s]`` (zoned with ``tz``), money
    ``decimal128(18, 6)``, codes dictionary-encoded; ``polars.from_arrow(...)`` keeps money exact.

    Args:
        start, end, lake, client, progress, storage_options: as :func:`fetch_cdr`.
        {query}
    """
    _check_client(client)
    built = CdrQuery.build(start, end, **query)
    with _client(client) as active:
        tables = active._fetch_tables(built, lake=lake, progress=progress, storage_options=storage_options)
        return to_table(tables, built.tz)


def _check_client(client: object) -> None:
    if client is not None and not isinstance(client, Client):
        raise InvalidInputError(
            f"client must be an nxframe.Client (or None for one from the environment), not {client!r}",
            parameter="client",
        )


@contextlib.contextmanager
def _client(client: Client | None) -> Iterator[Client]:
    """The caller's client, or one from the environment, closed afterwards."""
    if client is not None:
        yield client
        return
    with Client() as own:
        yield own
