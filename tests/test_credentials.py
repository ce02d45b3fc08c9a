"""Credentials and settings are checked at ``Client()``: before any request, never echoing the secret."""

from __future__ import annotations

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


def _refused(sim: Simulator, **arguments: Any) -> nxframe.InvalidInputError:
    options = {"access_key": sim.access_key, "access_secret": sim.access_secret, "base_url": sim.base_url}
    with pytest.raises(nxframe.InvalidInputError) as caught:
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
    error = _refused(sim, access_secret=secret)
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
    error = _refused(sim, access_key=key)
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
    error = _refused(sim, base_url=base_url)
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
    error = _refused(sim, **{setting: value})
    assert setting in str(error)
    assert len(str(error)) < 300, "a huge number is not printed whole"


def test_the_new_caps_have_their_documented_defaults_and_can_be_set(sim: Simulator) -> None:
    defaults = sim.client().settings
    assert (defaults.max_response_bytes, defaults.max_rows_per_date) == (32 * 2**20, 10_000_000)
    chosen = sim.client(max_response_bytes=2**20, max_rows_per_date=500, timeout=3600, max_retries=100).settings
    assert (chosen.max_response_bytes, chosen.max_rows_per_date, chosen.timeout) == (2**20, 500, 3600.0)
