"""Client settings: credentials from the environment, checked before anything is sent.

Every refusal is an :class:`InvalidInputError` naming the parameter (its
``parameter`` attribute too, so the CLI can name its flag instead). The secret
is wrapped in a :class:`Secret` on the first line that receives it, and a
value is judged by helpers that return a verdict, so when an argument is
refused no frame of the traceback holds the plain secret (error reporters such
as Sentry record frames' locals).
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .errors import InvalidInputError
from .network import Proxy, Trust, choose_proxy, choose_trust, hide_proxy, is_loopback
from .redaction import Secret, credential_defect, hide
from .signing import ALGORITHMS, Algorithm

__all__ = ["DEFAULT_BASE_URL", "ENV_ACCESS_KEY", "ENV_ACCESS_SECRET", "ENV_BASE_URL", "ClientSettings"]

ENV_ACCESS_KEY = "NXCLOUD_ACCESS_KEY"
ENV_ACCESS_SECRET = "NXCLOUD_ACCESS_SECRET"
ENV_BASE_URL = "NXCLOUD_BASE_URL"
DEFAULT_BASE_URL = "https://api2.nxcloud.com"


@dataclass(frozen=True)
class ClientSettings:
    """Everything a :class:`~nxframe.Client` needs, validated.

    ``retry_backoff`` is the first retry's wait in seconds (doubling after,
    with jitter); ``retry_max_wait`` bounds the total time spent waiting
    between retries of one request, so a failing API ends in an error
    rather than a hang. ``max_response_bytes`` caps one answer's body after
    decompression; ``max_rows_per_date`` caps the ``totalRow`` a server may
    announce for one date. ``proxy`` is the proxy requests go through
    (``None``: direct) and ``trust`` the certificate authorities that verify
    the server (see :mod:`nxframe.network`).
    """

    access_key: str
    access_secret: Secret = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    algorithm: Algorithm = "md5"
    timeout: float = 30.0
    max_retries: int = 5
    concurrency: int = 4
    max_rps: float | None = None
    retry_backoff: float = 0.25
    retry_max_wait: float = 60.0
    max_response_bytes: int = 32 * 2**20
    max_rows_per_date: int = 10_000_000
    proxy: Proxy | None = None
    trust: Trust = field(default_factory=Trust)

    @property
    def endpoint(self) -> str:
        """The full URL of the DID call record query."""
        return self.base_url + "/api/did/cdr"

    @classmethod
    def resolve(
        cls,
        access_key: str | None,
        access_secret: str | Secret | None,
        *,
        base_url: str | None,
        algorithm: str,
        timeout: float,
        max_retries: int,
        concurrency: int,
        max_rps: float | None,
        retry_backoff: float,
        retry_max_wait: float,
        max_response_bytes: int = 32 * 2**20,
        max_rows_per_date: int = 10_000_000,
        proxy: Any = None,
        verify: Any = True,
    ) -> ClientSettings:
        """Fill the gaps from the environment and check every value.

        Raises:
            InvalidInputError: a credential is missing or a setting is out of range.
        """
        # First: the secret and a proxy URL (which may hold a password) are hidden before anything can raise.
        given, access_secret = hide(access_secret), None
        secret = Secret(os.environ.get(ENV_ACCESS_SECRET, "")) if given is None else given
        proxy = hide_proxy(proxy)
        key = access_key if access_key is not None else os.environ.get(ENV_ACCESS_KEY, "")
        missing = [name for name, value in ((ENV_ACCESS_KEY, key), (ENV_ACCESS_SECRET, secret)) if _empty(value)]
        if missing:
            raise InvalidInputError(
                f"no NXCloud credentials: set {' and '.join(missing)} in the environment, or pass "
                "access_key= and access_secret= to nxframe.Client (to try nxframe offline, use "
                "nxframe.simulator.Simulator or `nxframe demo`)",
                parameter="access_key" if ENV_ACCESS_KEY in missing else "access_secret",
            )
        key_defect = credential_defect(key)
        if key_defect is not None:
            raise InvalidInputError(
                f"access_key {key_defect}: check {ENV_ACCESS_KEY} (a non-empty printable ASCII str)",
                parameter="access_key",
            )
        secret_defect = secret.defect()
        if secret_defect is not None:  # the message names what is wrong, never the value
            raise InvalidInputError(
                f"access_secret {secret_defect}: check {ENV_ACCESS_SECRET} (a non-empty printable ASCII str)",
                parameter="access_secret",
            )
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise InvalidInputError(
                f"algorithm must be 'md5' or 'sha256', not {_shown(algorithm)}", parameter="algorithm"
            )
        url = _check_base_url(base_url if base_url is not None else os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL)
        _check_number("timeout", timeout, low=0, high=3600, low_open=True)
        _check_int("max_retries", max_retries, low=0, high=100)
        _check_int("concurrency", concurrency, low=1, high=64)
        if max_rps is not None:
            _check_number("max_rps", max_rps, low=0, high=10_000, low_open=True)
        _check_number("retry_backoff", retry_backoff, low=0, high=600)
        _check_number("retry_max_wait", retry_max_wait, low=0, high=24 * 3600)
        _check_int("max_response_bytes", max_response_bytes, low=1024, high=2**32)
        _check_int("max_rows_per_date", max_rows_per_date, low=1, high=10**9)
        chosen_proxy = choose_proxy(url, proxy)
        trust = choose_trust(url, verify)
        return cls(
            access_key=key,
            access_secret=secret,
            base_url=url,
            algorithm=algorithm,  # type: ignore[arg-type]
            timeout=float(timeout),
            max_retries=int(max_retries),
            concurrency=int(concurrency),
            max_rps=None if max_rps is None else float(max_rps),
            retry_backoff=float(retry_backoff),
            retry_max_wait=float(retry_max_wait),
            max_response_bytes=int(max_response_bytes),
            max_rows_per_date=int(max_rows_per_date),
            proxy=chosen_proxy,
            trust=trust,
        )


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, (str, bytes, Secret)) and not value)


def _check_base_url(url: object) -> str:
    """``https://`` always; plain ``http://`` only to this machine (the simulator)."""
    defect = _base_url_defect(url)
    if defect is not None:
        raise InvalidInputError(defect, parameter="base_url")
    assert isinstance(url, str)
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def _base_url_defect(url: object) -> str | None:
    """What is wrong with ``url`` as NXCloud's base URL, or ``None``."""
    if not isinstance(url, str):
        return f"base_url must be a string like {DEFAULT_BASE_URL!r}, not {type(url).__name__}"
    text = url.strip()
    if "@" in text:
        return "base_url must not carry a user name or password; NXCloud signs requests instead"
    if not text.isascii() or not text.isprintable() or " " in text:
        return f"base_url must be printable ASCII without spaces, like {DEFAULT_BASE_URL!r}"
    try:
        parts = urlsplit(text)
        port = parts.port  # raises for a port that is not a number or out of 0..65535
        host = parts.hostname
    except ValueError:
        return f"base_url must look like {DEFAULT_BASE_URL!r}, not {_shown(url)}"
    if parts.scheme not in ("http", "https") or not host:
        return f"base_url must look like {DEFAULT_BASE_URL!r}, not {_shown(url)}"
    if (port is not None and not 1 <= port <= 65535) or parts.netloc.endswith(":"):
        return f"base_url's port must be 1..65535: {_shown(url)}"
    if parts.scheme == "http" and not is_loopback(host):
        return (
            f"base_url {_shown(url)} is plain http: NXCloud requests carry your access key and must use https:// "
            "(http:// is allowed only for 127.0.0.1/localhost, e.g. the simulator)"
        )
    if parts.query or parts.fragment:
        return f"base_url must not have a query or fragment: {_shown(url)}"
    return None


def _check_int(name: str, value: object, *, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= int(value) <= high:
        raise InvalidInputError(f"{name} must be an integer from {low} to {high}, not {_shown(value)}", parameter=name)


def _check_number(name: str, value: object, *, low: float, high: float, low_open: bool = False) -> None:
    """Bounds are compared before any conversion, so ``10**400`` is refused rather than overflowing a float."""
    ok = isinstance(value, (numbers.Integral, float)) and not isinstance(value, bool)
    if ok and isinstance(value, float):
        ok = math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and value <= high  # type: ignore[operator]
    if not ok:
        span = f"{'above' if low_open else 'at least'} {low:g} and at most {high:g}"
        raise InvalidInputError(f"{name} must be a number {span}, not {_shown(value)}", parameter=name)


def _shown(value: object) -> str:
    """A bad setting as the message shows it: short, so ``10**400`` does not fill the screen."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
