"""How ``base_url`` is reached: through which proxy, trusting which certificate authorities.

Companies reach the internet through a proxy and often inspect TLS with their
own certificate authority, and every ``requests`` user already has that
configured in the environment. nxframe reads it with requests' own functions
(``requests.utils.get_environ_proxies``, ``should_bypass_proxies`` through
it, and ``select_proxy``), so ``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``
and ``NO_PROXY`` (host names, domain suffixes, IPs, CIDR ranges, ``*``; lower
case first) mean exactly what they mean to requests. That is why ``requests``
is a runtime dependency although urllib3 sends the requests: this module
imports it when a client is made. Two rules are nxframe's own: a loopback
host (the simulator) is never proxied unless ``Client(proxy=...)`` says so,
and an ``http://`` base URL is never sent through a proxy, which would see the
signed request (https goes through a CONNECT tunnel: the proxy sees only the
host name and port).

Certificates follow requests too: ``REQUESTS_CA_BUNDLE``, then
``CURL_CA_BUNDLE``, else the system trust store (which honours
``SSL_CERT_FILE``/``SSL_CERT_DIR``).

Proxy credentials are held as a :class:`~nxframe.redaction.Secret` from the
moment they are read; refusals name the proxy's host and port, never its user
or password, and the functions that look at the text return a verdict rather
than raising, so no frame of a refusal's traceback holds the credentials.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests.utils

from .errors import InvalidInputError
from .redaction import Secret

__all__ = [
    "CA_BUNDLE_VARIABLES",
    "EXPLICIT_PROXY",
    "EXPLICIT_VERIFY",
    "Proxy",
    "Trust",
    "choose_proxy",
    "choose_trust",
    "hide_proxy",
    "is_loopback",
]

#: Where an explicit setting came from, as messages say it (the CLI rewrites these to its flags).
EXPLICIT_PROXY = "Client(proxy=...)"
EXPLICIT_VERIFY = "Client(verify=...)"
#: requests' CA bundle variables, in its order of precedence.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
#: How a proxy URL looks, in messages (the CLI rewrites a lone parameter name to its flag: none here).
_PROXY_EXAMPLE = "'http://HOST:PORT' or 'http://USER:PASSWORD@HOST:PORT'"


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP literal: this machine, where plain http and ``verify=False`` are allowed."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Proxy:
    """The proxy requests go through: where it is, where that was configured, its credentials hidden.

    Attributes:
        url: ``scheme://host:port`` without credentials (what urllib3 connects to).
        host, port: the proxy's address, as messages name it.
        origin: ``"HTTPS_PROXY"`` (the variable actually set, in its case) or ``"Client(proxy=...)"``.
        credentials: ``"user:password"`` (percent-decoded) for basic auth, or ``None``.
    """

    url: str
    host: str
    port: int
    origin: str
    credentials: Secret | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        """``the proxy proxy.example:3128 (from HTTPS_PROXY)``."""
        return f"the proxy {self.host}:{self.port} (from {self.origin})"


@dataclass(frozen=True)
class Trust:
    """Which certificate authorities verify the server, and where that was configured.

    ``ca_file``/``ca_dir`` ``None`` with ``verify`` true: the system trust store.
    """

    verify: bool = True
    ca_file: str | None = None
    ca_dir: str | None = None
    origin: str = "the system trust store"


def hide_proxy(proxy: Any) -> Any:
    """A proxy URL wrapped as a :class:`Secret` (it may hold a password); other values unchanged."""
    return Secret(proxy) if isinstance(proxy, str) else proxy


def choose_proxy(base_url: str, proxy: Any) -> Proxy | None:
    """The proxy for ``base_url``: ``proxy`` itself, or the environment's as requests picks it, or none.

    Args:
        base_url: the checked base URL.
        proxy: ``None`` (the environment), ``False`` (no proxy), or a URL (a ``str`` or a
            ``Secret`` holding one).

    Raises:
        InvalidInputError: ``proxy`` (or the variable it came from) is not a proxy URL, or a
            proxy is asked for an ``http://`` base URL; ``parameter="proxy"``.
    """
    proxy = hide_proxy(proxy)  # first thing: no frame below holds a password in plain text
    if proxy is False:
        return None
    parts = urlsplit(base_url)
    scheme = parts.scheme
    if proxy is None:
        if is_loopback(parts.hostname or ""):
            return None  # the simulator on this machine: a corporate proxy cannot reach it anyway
        found = _environment_proxy(base_url, scheme)
        if found is None:
            return None
        wrapped, origin = found
    elif isinstance(proxy, Secret):
        origin, wrapped = EXPLICIT_PROXY, hide_proxy(proxy)
    else:
        raise InvalidInputError(
            f"proxy must be None (the environment), False (no proxy) or a URL like {_PROXY_EXAMPLE}, "
            f"not {type(proxy).__name__}",
            parameter="proxy",
        )
    verdict = _parse_proxy(wrapped, origin)
    if isinstance(verdict, str):
        raise InvalidInputError(verdict, parameter="proxy")
    if scheme == "http":
        raise InvalidInputError(
            f"{origin} ({verdict.host}:{verdict.port}) cannot carry the http:// base_url {base_url}: plain http "
            "would show it the signed request (https goes through as a CONNECT tunnel); use https://, "
            f"or leave {origin} out",
            parameter="proxy",
        )
    return verdict


def _environment_proxy(base_url: str, scheme: str) -> tuple[Secret, str] | None:
    """The environment's proxy for ``base_url`` as requests picks it, and the variable that set it."""
    found = requests.utils.select_proxy(base_url, requests.utils.get_environ_proxies(base_url))
    if not found:
        return None
    origin = f"{scheme.upper()}_PROXY"
    for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY", "all_proxy", "ALL_PROXY"):
        if os.environ.get(name) == found:  # lower case wins over upper case, as in urllib
            origin = name
            break
    return Secret(found), origin


def _parse_proxy(wrapped: Secret, origin: str) -> Proxy | str:
    """A :class:`Proxy`, or what is wrong with the URL (never quoting its credentials)."""
    text = wrapped.reveal()
    told = f"{origin} must be a URL like {_PROXY_EXAMPLE}"
    if not isinstance(text, str) or not text.strip():
        return f"{told}, not an empty value"
    text = text.strip()
    if not text.isascii() or not text.isprintable() or " " in text:
        return f"{told} (printable ASCII without spaces)"
    try:
        # "proxy:3128" means http, as for requests
        text = requests.utils.prepend_scheme_if_needed(text, "http")  # type: ignore[no-untyped-call]
        parts = urlsplit(text)
        port = parts.port
        host = parts.hostname
    except ValueError:
        return f"{told}; its host or port does not parse"
    if parts.scheme not in ("http", "https"):
        return f"{told}: nxframe speaks to http:// and https:// proxies, not {parts.scheme[:10]!r}"
    if not host:
        return f"{told}; it has no host"
    port = port if port is not None else (443 if parts.scheme == "https" else 80)
    if not 1 <= port <= 65535 or parts.netloc.endswith(":"):
        return f"{told}; the port of {host}:{port} must be 1..65535"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"{told}: scheme, optional user:password@, host and port only ({host}:{port})"
    user, password = requests.utils.get_auth_from_url(text)
    shown_host = f"[{host}]" if ":" in host else host
    return Proxy(
        url=f"{parts.scheme}://{shown_host}:{port}",
        host=host,
        port=port,
        origin=origin,
        credentials=Secret(f"{user}:{password}") if user else None,
    )


def choose_trust(base_url: str, verify: Any) -> Trust:
    """The certificate authorities that verify ``base_url``'s server.

    ``True``: ``REQUESTS_CA_BUNDLE``, then ``CURL_CA_BUNDLE`` (a file or a
    folder, as requests takes them), else the system store; a path: that
    bundle; ``False``: no verification, for a loopback host only.

    Raises:
        InvalidInputError: ``verify`` is not one of those, names a missing or
            unreadable bundle, or is ``False`` for a host that is not loopback; ``parameter="verify"``.
    """
    parts = urlsplit(base_url)
    if verify is False:
        if not is_loopback(parts.hostname or ""):
            raise InvalidInputError(
                f"verify=False is refused for {parts.hostname}: it would trust anyone between you and NXCloud "
                "with your signed requests; if a proxy inspects TLS with your company's CA, pass verify the path "
                "of that CA's bundle (or set REQUESTS_CA_BUNDLE); verify=False is for loopback hosts only",
                parameter="verify",
            )
        return Trust(verify=False, origin="no verification (a loopback host)")
    if verify is True:
        if parts.scheme != "https":
            return Trust()
        for name in CA_BUNDLE_VARIABLES:
            value = os.environ.get(name)
            if value:  # requests: an empty variable counts as unset
                return _bundle(value, name)
        cert_file = os.environ.get("SSL_CERT_FILE")
        return Trust(
            origin=f"the system trust store (SSL_CERT_FILE={cert_file})" if cert_file else "the system trust store"
        )
    if isinstance(verify, (str, os.PathLike)) and os.fspath(verify):
        return _bundle(os.fspath(verify), EXPLICIT_VERIFY)
    raise InvalidInputError(
        "verify must be True (the trust store, REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE), the path of a CA bundle, "
        f"or False for a loopback host, not {type(verify).__name__}",
        parameter="verify",
    )


def _bundle(path: Any, origin: str) -> Trust:
    """A CA bundle file or folder that exists and, for a file, holds certificates."""
    if not isinstance(path, str):
        raise InvalidInputError(
            f"{origin} must be the path of a CA bundle, not {type(path).__name__}", parameter="verify"
        )
    shown = f"{origin}={path}" if origin != EXPLICIT_VERIFY else f"{origin} ({path})"
    if os.path.isdir(path):
        return Trust(ca_dir=path, origin=shown)
    if not os.path.isfile(path):
        raise InvalidInputError(
            f"{shown}: no such CA bundle file; name the PEM file of the certificate authority to trust",
            parameter="verify",
        )
    if _unloadable(path):
        raise InvalidInputError(
            f"{shown}: the file holds no certificate that can be loaded; a CA bundle is PEM text "
            "('-----BEGIN CERTIFICATE-----')",
            parameter="verify",
        )
    return Trust(ca_file=path, origin=shown)


def _unloadable(path: str) -> bool:
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError, ValueError):
        return True
    return False
