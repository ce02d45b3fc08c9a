"""Client settings: credentials from the environment, checked before anything is sent."""

from __future__ import annotations

import ipaddress
import math
import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .errors import InvalidInputError
from .redaction import Secret
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
    rather than a hang.
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
    ) -> ClientSettings:
        """Fill the gaps from the environment and check every value.

        Raises:
            InvalidInputError: a credential is missing or a setting is out of range.
        """
        key = access_key if access_key is not None else os.environ.get(ENV_ACCESS_KEY, "")
        secret = access_secret if access_secret is not None else os.environ.get(ENV_ACCESS_SECRET, "")
        secret = secret if isinstance(secret, Secret) else Secret(str(secret))
        missing = [name for name, value in ((ENV_ACCESS_KEY, key), (ENV_ACCESS_SECRET, secret)) if not value]
        if missing:
            raise InvalidInputError(
                f"no NXCloud credentials: set {' and '.join(missing)} in the environment, or pass "
                "access_key= and access_secret= to nxframe.Client (to try nxframe offline, use "
                "nxframe.simulator.Simulator or `nxframe demo`)"
            )
        if not isinstance(key, str) or not key.isprintable() or key != key.strip():
            raise InvalidInputError("access_key must be a printable string without surrounding spaces")
        if algorithm not in ALGORITHMS:
            raise InvalidInputError(f"algorithm must be 'md5' or 'sha256', not {algorithm!r}")
        url = _check_base_url(base_url if base_url is not None else os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL)
        _check_number("timeout", timeout, low=0, low_open=True)
        _check_int("max_retries", max_retries, low=0)
        _check_int("concurrency", concurrency, low=1, high=64)
        if max_rps is not None:
            _check_number("max_rps", max_rps, low=0, low_open=True)
        _check_number("retry_backoff", retry_backoff, low=0)
        _check_number("retry_max_wait", retry_max_wait, low=0)
        return cls(
            access_key=key,
            access_secret=secret,
            base_url=url,
            algorithm=algorithm,  # type: ignore[arg-type]
            timeout=float(timeout),
            max_retries=max_retries,
            concurrency=concurrency,
            max_rps=None if max_rps is None else float(max_rps),
            retry_backoff=float(retry_backoff),
            retry_max_wait=float(retry_max_wait),
        )


def _check_base_url(url: str) -> str:
    """``https://`` always; plain ``http://`` only to this machine (the simulator)."""
    if not isinstance(url, str):
        raise InvalidInputError(f"base_url must be a string like {DEFAULT_BASE_URL!r}")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(f"base_url must look like {DEFAULT_BASE_URL!r}, not {url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise InvalidInputError(
            f"base_url {url!r} is plain http: NXCloud requests carry your access key and must use https:// "
            "(http:// is allowed only for 127.0.0.1/localhost, e.g. the simulator)"
        )
    if parts.query or parts.fragment:
        raise InvalidInputError(f"base_url must not have a query or fragment: {url!r}")
    if parts.username is not None or parts.password is not None:
        raise InvalidInputError("base_url must not carry a user name or password; NXCloud signs requests instead")
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_int(name: str, value: object, *, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        span = f"{low}..{high}" if high is not None else f">= {low}"
        raise InvalidInputError(f"{name} must be an integer {span}, not {value!r}")


def _check_number(name: str, value: object, *, low: float, low_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = value > low if low_open else value >= low  # type: ignore[operator]
    if not ok:
        raise InvalidInputError(f"{name} must be a number {'>' if low_open else '>='} {low}, not {value!r}")
