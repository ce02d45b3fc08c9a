"""nxframe: NXCloud DID call records as typed, exact pandas DataFrames.

>>> import nxframe
>>> df = nxframe.fetch_cdr("2024-03-01", "2024-03-31")       # doctest: +SKIP
>>> df["call_price"].sum()                                    # doctest: +SKIP
Decimal('1234.567800')

See ``nxframe.fetch_cdr`` for the arguments, ``nxframe.schema.COLUMNS`` for
the columns and ``nxframe.simulator.Simulator`` to try it offline.
"""

import logging

from . import accessor as accessor  # registers the ``df.cdr`` DataFrame accessor
from ._version import __version__
from .client import Client, fetch_arrow, fetch_cdr
from .errors import (
    ApiError,
    AuthError,
    IncompleteDataError,
    InvalidInputError,
    LakeError,
    NxframeError,
    ParameterError,
    ProxyError,
    RateLimitError,
    ResponseError,
    SchemaError,
    ServerError,
    SignoffError,
    TLSError,
)
from .lake import read_lake, unlock_lake
from .report import Report, audit_billing, monthly_report, restatements, verify_signoff
from .schema import COLUMNS
from .sync import check_lake, sync_lake

# A library logs, the application decides where it goes (``logging.basicConfig(level="INFO")`` shows retries).
logging.getLogger("nxframe").addHandler(logging.NullHandler())

__all__ = [
    "COLUMNS",
    "ApiError",
    "AuthError",
    "Client",
    "IncompleteDataError",
    "InvalidInputError",
    "LakeError",
    "NxframeError",
    "ParameterError",
    "ProxyError",
    "RateLimitError",
    "Report",
    "ResponseError",
    "SchemaError",
    "ServerError",
    "SignoffError",
    "TLSError",
    "__version__",
    "audit_billing",
    "check_lake",
    "fetch_arrow",
    "fetch_cdr",
    "monthly_report",
    "read_lake",
    "restatements",
    "sync_lake",
    "unlock_lake",
    "verify_signoff",
]
