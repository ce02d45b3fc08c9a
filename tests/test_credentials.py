"""Credentials and settings are checked at ``Client()``: before any request, never echoing the secret."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

import nxframe
from nxframe.redaction import Secret
from nxframe.simulator import Simulator

SECRET_TAIL = "sekrit-tail-4b2e"


def _chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    item: BaseException | None = error
    while item is not None and item not in found:
        found.append(item)
        item = item.__cause__ or item.__context__
    return found


def _refused(sim: Simulator, words: str, **arguments: Any) -> nxframe.InvalidInputError:
    """``Client(**arguments)`` refused with a message holding ``words`` (literally)."""
    options = {"access_key": sim.access_key, "access_secret": sim.access_secret, "base_url": sim.base_url}
    with pytest.raises(nxframe.InvalidInputError, match=re.escape(words)) as caught:
        nxframe.Client(**(options | arguments))
    assert sim.requests == [], "refused before any request"
    return caught.value


@pytest.mark.parametrize(
    ("secret", "words"),
    [
        (b"bytes-" + SECRET_TAIL.encode(), "must be a str, not bytes"),
        (1234567, "must be a str, not int"),
        ("\udcff" + SECRET_TAIL, "not printable ASCII"),
        ("ключ-" + SECRET_TAIL, "not printable ASCII"),
        ("tab\t" + SECRET_TAIL, "not printable ASCII"),
        (SECRET_TAIL + " ", "leading or trailing spaces"),
        (Secret(b"x" + SECRET_TAIL.encode()), "must be a str, not bytes"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_secret_is_refused_without_being_echoed(sim: Simulator, secret: Any, words: str) -> None:
    error = _refused(sim, words, access_secret=secret)
    assert words in str(error) and "access_secret" in str(error) and "NXCLOUD_ACCESS_SECRET" in str(error)
    for item in _chain(error):
        assert SECRET_TAIL not in repr(item) and SECRET_TAIL not in repr(vars(item))
        assert not isinstance(item, UnicodeError)


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("ключ", "not printable ASCII"),
        (b"key", "must be a str, not bytes"),
        (42, "must be a str, not int"),
        ("key\n", "not printable ASCII"),
        (" key", "leading or trailing spaces"),
    ],
)
def test_a_bad_access_key_is_refused(sim: Simulator, key: Any, words: str) -> None:
    error = _refused(sim, words, access_key=key)
    assert words in str(error) and "access_key" in str(error)


def test_a_surrogate_secret_from_the_environment_never_reaches_the_signer(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``os.environ`` gives for a byte that is not UTF-8: refused at ``Client()``, not a UnicodeEncodeError."""
    monkeypatch.setenv("NXCLOUD_ACCESS_KEY", sim.access_key)
    monkeypatch.setenv("NXCLOUD_ACCESS_SECRET", SECRET_TAIL + "\udcff")
    monkeypatch.setenv("NXCLOUD_BASE_URL", sim.base_url)
    with pytest.raises(nxframe.InvalidInputError, match="NXCLOUD_ACCESS_SECRET") as caught:
        nxframe.fetch_cdr("2024-03-05", progress=False)
    assert all(not isinstance(item, UnicodeError) for item in _chain(caught.value))
    assert SECRET_TAIL not in str(caught.value)
    assert sim.requests == []


def test_a_secret_object_and_printable_punctuation_are_accepted(sim: Simulator) -> None:
    with nxframe.Client(sim.access_key, Secret(sim.access_secret), base_url=sim.base_url) as c:
        assert len(c.fetch_cdr("2024-03-05", progress=False)) > 0
    punctuated = "A-z0_9!#$%&'()*+,./:;<=>?@[]^`{|}~ inner space"
    assert nxframe.Client("key", punctuated, base_url=sim.base_url).settings.access_key == "key"


@pytest.mark.parametrize(
    ("base_url", "words"),
    [
        ("https://api2.nxcloud.com:99999", "base_url"),
        ("https://api2.nxcloud.com:0", "port must be 1..65535"),
        ("https://api2.nxcloud.com:", "port must be 1..65535"),
        ("https://api2.nxcloud.com:http", "base_url"),
        ("https://[::1", "base_url"),
        ("https://", "must look like"),
        ("https://api2.nxcloud.com/a b", "printable ASCII without spaces"),
        ("https://ápi.example", "printable ASCII"),
        ("https://user:pw@api2.nxcloud.com", "user name or password"),
        ("ftp://127.0.0.1", "must look like"),
    ],
)
def test_a_base_url_that_does_not_parse_is_refused(sim: Simulator, base_url: str, words: str) -> None:
    error = _refused(sim, words, base_url=base_url)
    assert words in str(error)
    assert "pw" not in str(error)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("timeout", 10**400),
        ("timeout", 3601),
        ("timeout", float("inf")),
        ("timeout", float("nan")),
        ("max_retries", 101),
        ("max_retries", 10**400),
        ("retry_backoff", 1e9),
        ("retry_max_wait", 10**7),
        ("max_rps", 1e9),
        ("concurrency", True),
        ("max_response_bytes", 0),
        ("max_response_bytes", 2**40),
        ("max_rows_per_date", 0),
        ("max_rows_per_date", 10**10),
        ("max_rows_per_date", 1.5),
    ],
)
def test_a_setting_out_of_its_bounds_is_an_input_error_not_an_overflow(
    sim: Simulator, setting: str, value: Any
) -> None:
    error = _refused(sim, f"{setting} must be a", **{setting: value})
    assert setting in str(error)
    assert len(str(error)) < 300, "a huge number is not printed whole"


def test_the_new_caps_have_their_documented_defaults_and_can_be_set(sim: Simulator) -> None:
    defaults = sim.client().settings
    assert (defaults.max_response_bytes, defaults.max_rows_per_date) == (32 * 2**20, 10_000_000)
    chosen = sim.client(max_response_bytes=2**20, max_rows_per_date=500, timeout=3600, max_retries=100).settings
    assert (chosen.max_response_bytes, chosen.max_rows_per_date, chosen.timeout) == (2**20, 500, 3600.0)


@pytest.mark.parametrize(
    ("arguments", "parameter", "words"),
    [
        ({"access_key": 42}, "access_key", "access_key must be a str, not int: check NXCLOUD_ACCESS_KEY"),
        ({"access_key": ""}, "access_key", "no NXCloud credentials: set NXCLOUD_ACCESS_KEY in the environment"),
        ({"access_secret": ""}, "access_secret", "set NXCLOUD_ACCESS_SECRET in the environment, or pass"),
        ({"access_secret": "x\n"}, "access_secret", "not printable ASCII (a control character"),
        ({"algorithm": "sha1"}, "algorithm", "algorithm must be 'md5' or 'sha256', not 'sha1'"),
        ({"algorithm": None}, "algorithm", "algorithm must be 'md5' or 'sha256', not None"),
        ({"base_url": "ftp://127.0.0.1"}, "base_url", "base_url must look like 'https://api2.nxcloud.com'"),
        ({"base_url": "http://evil.example"}, "base_url", "is plain http: NXCloud requests carry your access key"),
        ({"base_url": 8080}, "base_url", "base_url must be a string like 'https://api2.nxcloud.com', not int"),
        ({"timeout": 0}, "timeout", "timeout must be a number above 0 and at most 3600, not 0"),
        ({"max_retries": -1}, "max_retries", "max_retries must be an integer from 0 to 100, not -1"),
        ({"concurrency": 0}, "concurrency", "concurrency must be an integer from 1 to 64, not 0"),
        ({"max_rps": 0}, "max_rps", "max_rps must be a number above 0 and at most 10000, not 0"),
        ({"retry_backoff": -1}, "retry_backoff", "retry_backoff must be a number at least 0 and at most 600"),
        ({"retry_max_wait": "60"}, "retry_max_wait", "retry_max_wait must be a number at least 0"),
        ({"max_response_bytes": 0}, "max_response_bytes", "max_response_bytes must be an integer from 1024"),
        ({"max_rows_per_date": 0}, "max_rows_per_date", "max_rows_per_date must be an integer from 1 to"),
        ({"proxy": 3128}, "proxy", "proxy must be None (the environment), False (no proxy) or a URL like"),
        ({"proxy": "ftp://gateway.example"}, "proxy", "nxframe speaks to http:// and https:// proxies, not 'ftp'"),
        ({"verify": 1}, "verify", "verify must be True (the trust store"),
        ({"verify": "/no/such/bundle.pem"}, "verify", "no such CA bundle file; name the PEM file"),
    ],
)
def test_every_refused_client_argument_names_its_parameter(
    sim: Simulator, arguments: dict[str, Any], parameter: str, words: str
) -> None:
    error = _refused(sim, words, **arguments)
    assert error.parameter == parameter
    assert parameter in str(error)


@pytest.mark.parametrize("text", ["２０２４-０３-０１", "٢٠٢٤-٠٣-٠١", "2024-０3-01", "२०२४-०३-०१"])
def test_dates_are_ascii_digits_only(sim: Simulator, text: str) -> None:
    """``\\d`` takes any Unicode digit; a date is written with 0-9 only, anything else is refused before a request."""
    with sim.client() as c, pytest.raises(nxframe.InvalidInputError, match="YYYY-MM-DD") as caught:
        c.fetch_cdr(text, progress=False)
    assert caught.value.parameter == "start"
    with pytest.raises(nxframe.InvalidInputError, match="YYYY-MM-DD") as late:
        nxframe.fetch_cdr("2024-03-01", text, client=sim.client(), progress=False)
    assert late.value.parameter == "end"
    assert sim.requests == []


@pytest.mark.parametrize("month", ["２０２４-０２", "٢٠٢٤-٠٢", "2024-０2"])
def test_months_are_ascii_digits_only(month: str) -> None:
    from nxframe.report import month_range

    with pytest.raises(nxframe.InvalidInputError, match="YYYY-MM") as caught:
        month_range(month)
    assert caught.value.parameter == "month"
    assert month_range("2024-02") == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
