"""Behind a corporate proxy: a real CONNECT proxy and a simulator speaking TLS, both on 127.0.0.1.

The simulator holds a certificate for ``api.nxcloud.test`` made by trustme,
a name only the proxy resolves (to 127.0.0.1): a fetch that works went
through the proxy. The proxy records every request line it receives and the
first bytes of every tunnel, so a test can show what it saw.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import trustme
from proxy_server import TestProxy

import nxframe
from nxframe.simulator import Simulator

DAY = "2024-03-05"
HOST = "api.nxcloud.test"
DOC_IP = "192.0.2.10"  # TEST-NET-1: routes nowhere, so only the proxy reaches it
SECRET = "proxy-test-secret-5e1f"
PASSWORD = "pr0xy-pa55-d3e8"
NETWORK_VARIABLES = [
    name for base in ("http_proxy", "https_proxy", "all_proxy", "no_proxy") for name in (base, base.upper())
] + ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"]


@pytest.fixture(autouse=True)
def _no_network_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sets the proxy and CA variables it is about; the machine's own are cleared."""
    for name in NETWORK_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "company-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def tls_sim(ca: trustme.CA) -> Iterator[Simulator]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST, DOC_IP, "127.0.0.1").configure_cert(context)
    with Simulator(seed=7, access_secret=SECRET, ssl_context=context) as simulator:
        yield simulator


@pytest.fixture
def proxy() -> Iterator[TestProxy]:
    with TestProxy(hosts={HOST: "127.0.0.1", DOC_IP: "127.0.0.1"}) as running:
        yield running


def _url(sim: Simulator, host: str = HOST) -> str:
    return f"https://{host}:{sim.port}"


def _client(sim: Simulator, host: str = HOST, **options: Any) -> nxframe.Client:
    settings: dict[str, Any] = {"retry_backoff": 0.01, "max_retries": 2, "timeout": 5.0}
    return nxframe.Client(sim.access_key, sim.access_secret, base_url=_url(sim, host), **(settings | options))


def _with_password(proxy: TestProxy, user: str = "alice", password: str = PASSWORD) -> str:
    return f"http://{user}:{password}@127.0.0.1:{proxy.port}"


def _connects(proxy: TestProxy) -> list[str]:
    return [r.line for r in proxy.requests]


# -- through the proxy ------------------------------------------------------------------


def test_a_fetch_through_the_proxy_equals_the_ground_truth_and_the_proxy_sees_only_connect(
    tls_sim: Simulator, proxy: TestProxy, ca_file: str
) -> None:
    tls_sim.set_rows(DAY, 2500)
    with _client(tls_sim, proxy=proxy.url, verify=ca_file) as client:
        df = client.fetch_cdr(DAY, page_size=999, progress=False)
    pd.testing.assert_frame_equal(df, tls_sim.ground_truth(DAY))
    assert len(tls_sim.requests) == 3, "three pages, each through the tunnel"
    lines = _connects(proxy)
    assert lines and all(line == f"CONNECT {HOST}:{tls_sim.port} HTTP/1.0" for line in lines), lines
    seen = b"".join(r.raw for r in proxy.requests) + proxy.tunnelled
    assert len(proxy.tunnelled) > 0
    signs = {r.headers["sign"] for r in tls_sim.requests}
    for text in [SECRET, *signs, "accessKey", "/api/did/cdr", DAY, '"pageSize"']:
        assert text.encode() not in seen, f"the proxy saw {text!r}"


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
def test_the_environment_proxy_is_used_as_requests_uses_it(
    tls_sim: Simulator, proxy: TestProxy, ca_file: str, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, proxy.url)
    with _client(tls_sim, verify=ca_file) as client:
        assert client.settings.proxy is not None and client.settings.proxy.origin == variable
        df = client.fetch_cdr(DAY, progress=False)
    pd.testing.assert_frame_equal(df, tls_sim.ground_truth(DAY))
    assert _connects(proxy) == [f"CONNECT {HOST}:{tls_sim.port} HTTP/1.0"]


def test_http_proxy_alone_is_not_used_for_https_as_in_requests(
    tls_sim: Simulator, proxy: TestProxy, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    with _client(tls_sim, verify=ca_file, max_retries=0) as client, pytest.raises(nxframe.ServerError, match="failed"):
        client.fetch_cdr(DAY, progress=False)  # directly: api.nxcloud.test resolves nowhere but at the proxy
    assert client.settings.proxy is None
    assert proxy.requests == []


def test_lower_case_wins_over_upper_case(
    tls_sim: Simulator, proxy: TestProxy, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestProxy(refuse=403) as refusing:
        monkeypatch.setenv("HTTPS_PROXY", refusing.url)
        monkeypatch.setenv("https_proxy", proxy.url)
        with _client(tls_sim, verify=ca_file) as client:
            assert len(client.fetch_cdr(DAY, progress=False)) > 0
        assert refusing.requests == []
    assert len(proxy.requests) == 1


@pytest.mark.parametrize(
    ("no_proxy", "host"),
    [
        ("nxcloud.test", HOST),  # a domain suffix
        (".nxcloud.test", HOST),
        (f"example.com, {HOST}", HOST),  # an exact host in a list
        ("*", HOST),
        ("192.0.2.0/24", DOC_IP),  # a CIDR range
        (DOC_IP, DOC_IP),  # an IP
    ],
)
def test_no_proxy_bypasses_the_proxy(
    tls_sim: Simulator,
    proxy: TestProxy,
    ca_file: str,
    monkeypatch: pytest.MonkeyPatch,
    no_proxy: str,
    host: str,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    with _client(tls_sim, host, verify=ca_file) as through:
        assert len(through.fetch_cdr(DAY, progress=False)) > 0, "without NO_PROXY the proxy carries it"
    assert len(proxy.requests) == 1
    monkeypatch.setenv("NO_PROXY", no_proxy)
    with (
        _client(tls_sim, host, verify=ca_file, max_retries=0, timeout=1.0) as direct,
        pytest.raises(nxframe.ServerError, match=r"timed out|connection to NXCloud failed"),
    ):
        direct.fetch_cdr(DAY, progress=False)  # straight to a name or address that leads nowhere
    assert direct.settings.proxy is None
    assert len(proxy.requests) == 1, "the bypassed request did not reach the proxy"


def test_no_proxy_that_does_not_match_keeps_the_proxy(
    tls_sim: Simulator, proxy: TestProxy, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("no_proxy", "example.com,10.0.0.0/8,other.test")
    with _client(tls_sim, verify=ca_file) as client:
        assert len(client.fetch_cdr(DAY, progress=False)) > 0
    assert len(proxy.requests) == 1


def test_proxy_false_ignores_the_environment(
    tls_sim: Simulator, proxy: TestProxy, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    with (
        _client(tls_sim, proxy=False, verify=ca_file, max_retries=0) as client,
        pytest.raises(nxframe.ServerError, match="connection to NXCloud failed"),
    ):
        client.fetch_cdr(DAY, progress=False)
    assert client.settings.proxy is None and proxy.requests == []


def test_a_loopback_host_is_never_proxied_from_the_environment(
    proxy: TestProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    with Simulator(seed=7) as sim, sim.client() as client:
        df = client.fetch_cdr(DAY, progress=False)
        pd.testing.assert_frame_equal(df, sim.ground_truth(DAY))
        assert client.settings.proxy is None
    assert proxy.requests == []


def test_an_explicit_proxy_carries_even_a_loopback_host(tls_sim: Simulator, proxy: TestProxy, ca_file: str) -> None:
    with _client(tls_sim, "127.0.0.1", proxy=proxy.url, verify=ca_file) as client:
        assert len(client.fetch_cdr(DAY, progress=False)) > 0
    assert _connects(proxy) == [f"CONNECT 127.0.0.1:{tls_sim.port} HTTP/1.0"]


def test_plain_http_is_never_sent_through_a_proxy(proxy: TestProxy) -> None:
    with Simulator(seed=7) as sim, pytest.raises(nxframe.InvalidInputError, match="signed request") as caught:
        sim.client(proxy=proxy.url)
    assert caught.value.parameter == "proxy" and "Client(proxy=...)" in str(caught.value)
    assert proxy.requests == []


def test_an_https_proxy_carries_tls_inside_tls_with_every_deadline(
    ca: trustme.CA, tls_sim: Simulator, ca_file: str
) -> None:
    """``https://`` proxies (requests supports them): the tunnel is TLS too, and the deadline still holds."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with TestProxy(hosts={HOST: "127.0.0.1"}, tls=context) as proxy:
        assert proxy.url.startswith("https://")
        with _client(tls_sim, proxy=proxy.url, verify=ca_file) as client:
            pd.testing.assert_frame_equal(client.fetch_cdr(DAY, progress=False), tls_sim.ground_truth(DAY))
        tls_sim.faults.add("drip_headers", times=None, interval=0.05)
        with (
            _client(tls_sim, proxy=proxy.url, verify=ca_file, timeout=0.5, max_retries=1) as client,
            pytest.raises(nxframe.ServerError, match="timed out"),
        ):
            client.fetch_cdr(DAY, progress=False)
        assert client.retries == {"timeout": 1}
    assert _connects(proxy) == [f"CONNECT {HOST}:{tls_sim.port} HTTP/1.0"] * 3


# -- credentials --------------------------------------------------------------------------


def test_proxy_credentials_reach_the_proxy_and_nothing_else(
    tls_sim: Simulator, ca_file: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "p@ss:" + PASSWORD  # percent-encoded in the URL, as requests users write it
    url = f"http://alice:p%40ss%3A{PASSWORD}@127.0.0.1:{{port}}"
    with TestProxy(hosts={HOST: "127.0.0.1"}, credentials=f"alice:{password}") as proxy:
        with _client(tls_sim, proxy=url.format(port=proxy.port), verify=ca_file) as client:
            df = client.fetch_cdr(DAY, progress=False)
            shown = [repr(client), str(client), repr(client.settings), repr(vars(client.settings))]
        assert len(df) == len(tls_sim.ground_truth(DAY))
        sent = proxy.requests[0].headers["proxy-authorization"]
        port = proxy.port
    assert sent == "Basic " + base64.b64encode(f"alice:{password}".encode()).decode()
    token = sent.split()[1]
    assert caplog.records, "DEBUG logging produced lines"
    for text in [*shown, caplog.text]:
        assert PASSWORD not in text and token not in text
    assert f"proxy='http://127.0.0.1:{port}'" in shown[0]


@pytest.mark.parametrize("status", [407, 403])
def test_a_refused_tunnel_is_a_proxy_error_after_one_attempt(tls_sim: Simulator, ca_file: str, status: int) -> None:
    options: dict[str, Any] = {"credentials": "alice:right"} if status == 407 else {"refuse": status}
    with TestProxy(hosts={HOST: "127.0.0.1"}, **options) as proxy:
        url = _with_password(proxy, password=PASSWORD) if status == 407 else proxy.url
        with (
            _client(tls_sim, proxy=url, verify=ca_file, max_retries=5) as client,
            pytest.raises(nxframe.ProxyError, match=f"HTTP {status}") as caught,
        ):
            client.fetch_cdr(DAY, progress=False)
        assert len(proxy.requests) == 1, "a refusal is not retried"
    error = caught.value
    assert error.http_status == status and client.retries == {}
    assert f"127.0.0.1:{proxy.port}" in str(error) and "Client(proxy=...)" in str(error)
    assert tls_sim.requests == []
    text = " ".join([str(error), repr(error), repr(vars(error))])
    assert PASSWORD not in text and "alice" not in text
    assert error.__cause__ is None and error.__context__ is None
    if status == 407:
        assert "refused the credentials" in str(error)


def test_a_407_without_credentials_says_where_to_put_them(
    tls_sim: Simulator, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestProxy(hosts={HOST: "127.0.0.1"}, credentials="alice:right") as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        asks = r"refused the tunnel .* \(HTTP 407 Proxy Authentication Required\): it asks for credentials"
        with _client(tls_sim, verify=ca_file) as client, pytest.raises(nxframe.ProxyError, match=asks) as caught:
            client.fetch_cdr(DAY, progress=False)
        assert len(proxy.requests) == 1
    assert "(from HTTPS_PROXY)" in str(caught.value) and "USER:PASSWORD@" in str(caught.value)


def test_an_unreachable_proxy_is_a_transient_server_error(tls_sim: Simulator, ca_file: str) -> None:
    with TestProxy() as gone:
        url = gone.url  # closed again: nothing listens there
    with (
        _client(tls_sim, proxy=url, verify=ca_file, max_retries=2) as client,
        pytest.raises(nxframe.ServerError, match="could not be reached") as caught,
    ):
        client.fetch_cdr(DAY, progress=False)
    assert client.retries == {"proxy unreachable": 2}
    assert url.removeprefix("http://") in str(caught.value)


def test_a_proxy_that_cannot_reach_nxcloud_is_retried(ca_file: str, tls_sim: Simulator) -> None:
    with TestProxy(hosts={}) as proxy:  # api.nxcloud.test resolves nowhere: the proxy answers 502
        with (
            _client(tls_sim, proxy=proxy.url, verify=ca_file, max_retries=1) as client,
            pytest.raises(nxframe.ServerError, match="HTTP 502"),
        ):
            client.fetch_cdr(DAY, progress=False)
        assert len(proxy.requests) == 2 and client.retries == {"proxy HTTP 502": 1}


# -- every refusal of a hostile server holds through the proxy ----------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "error", "words", "attempts"),
    [
        ("redirect_307", {"location": "https://evil.example/x"}, nxframe.ResponseError, "never follows", 1),
        ("drip", {"interval": 0.05, "bytes": 1}, nxframe.ServerError, "timed out", 2),
        ("drip_headers", {"interval": 0.05}, nxframe.ServerError, "timed out", 2),
        ("endless", {}, nxframe.ResponseError, "max_response_bytes", 1),
        ("gzip_bomb", {"size": 8 * 2**20}, nxframe.ResponseError, "max_response_bytes", 1),
        ("duplicate_key", {}, nxframe.ResponseError, "duplicate", 1),
        ("nan", {"value": "NaN"}, nxframe.ResponseError, "NaN", 1),
    ],
)
def test_a_hostile_answer_is_refused_through_the_proxy(
    tls_sim: Simulator,
    proxy: TestProxy,
    ca_file: str,
    kind: str,
    options: dict[str, Any],
    error: type[Exception],
    words: str,
    attempts: int,
) -> None:
    tls_sim.set_rows(DAY, 5)
    tls_sim.faults.add(kind, times=None, **options)
    settings = {"timeout": 0.5, "max_retries": 1, "max_response_bytes": 2**20}
    with _client(tls_sim, proxy=proxy.url, verify=ca_file, **settings) as client, pytest.raises(error, match=words):
        client.fetch_cdr(DAY, progress=False)
    assert len(tls_sim.requests) == attempts
    assert all(line.startswith(f"CONNECT {HOST}:") for line in _connects(proxy))


def test_a_proxy_dripping_its_answer_is_cut_off_at_the_deadline(tls_sim: Simulator, ca_file: str) -> None:
    """The CONNECT and the TLS handshake are part of the request's deadline too."""
    with TestProxy(hosts={HOST: "127.0.0.1"}, drip=0.2) as proxy:  # 39 bytes: about 8 s
        with (
            _client(tls_sim, proxy=proxy.url, verify=ca_file, timeout=0.5, max_retries=1) as client,
            pytest.raises(nxframe.ServerError, match="timed out"),
        ):
            client.fetch_cdr(DAY, progress=False)
        assert len(proxy.requests) == 2 and client.retries == {"timeout": 1}
    assert tls_sim.requests == []


# -- refused settings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxy", "words"),
    [
        (3128, "not int"),
        ("", "not an empty value"),
        ("ftp://gateway.example:21", "not 'ftp'"),
        ("socks5://gateway.example:1080", "not 'socks5'"),
        (f"http://alice:{PASSWORD}@gateway.example:99999", "does not parse"),
        (f"http://alice:{PASSWORD}@gateway.example:0", "1..65535"),
        (f"http://alice:{PASSWORD}@gateway.example:3128/path", "host and port only"),
        (f"http://alice:{PASSWORD}@gate way.example:3128", "without spaces"),
    ],
)
def test_a_bad_proxy_is_refused_naming_the_parameter_never_the_password(proxy: Any, words: str) -> None:
    with pytest.raises(nxframe.InvalidInputError, match=words) as caught:
        nxframe.Client("key", SECRET, proxy=proxy)
    assert caught.value.parameter == "proxy"
    assert "proxy" in str(caught.value) and PASSWORD not in str(caught.value)


def test_a_bad_proxy_variable_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", f"http://alice:{PASSWORD}@gateway.example:http")
    with pytest.raises(nxframe.InvalidInputError, match="https_proxy must be a URL") as caught:
        nxframe.Client("key", SECRET)
    assert caught.value.parameter == "proxy" and PASSWORD not in str(caught.value)


# -- the command line ---------------------------------------------------------------------------


def _cli(sim: Simulator, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in NETWORK_VARIABLES and not k.startswith("NXCLOUD_")}
    base |= sim.env() | {"NXCLOUD_BASE_URL": _url(sim)} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "nxframe", *args], capture_output=True, text=True, env=base, timeout=120
    )


def test_the_cli_fetches_and_syncs_through_proxy_and_ca_bundle(
    tls_sim: Simulator, proxy: TestProxy, ca_file: str, tmp_path: Path
) -> None:
    network = ["--proxy", proxy.url, "--ca-bundle", ca_file]
    fetched = _cli(tls_sim, "fetch", DAY, *network)
    assert fetched.returncode == 0, fetched.stderr
    assert DAY in fetched.stdout
    lake = str(tmp_path / "lake")
    synced = _cli(tls_sim, "sync", "--lake", lake, "--start", "2024-03-01", "--end", "2024-03-02", *network)
    assert synced.returncode == 0, synced.stderr
    checked = _cli(tls_sim, "check", "--lake", lake, "--start", "2024-03-01", "--end", "2024-03-02", *network)
    assert checked.returncode == 0, checked.stderr
    assert len(proxy.requests) >= 3
    assert all(line.startswith(f"CONNECT {HOST}:") for line in _connects(proxy))


def test_the_cli_reads_the_proxy_and_ca_from_the_environment(
    tls_sim: Simulator, proxy: TestProxy, ca_file: str
) -> None:
    result = _cli(tls_sim, "fetch", DAY, env={"HTTPS_PROXY": proxy.url, "REQUESTS_CA_BUNDLE": ca_file})
    assert result.returncode == 0, result.stderr
    assert len(proxy.requests) == 1


def test_the_cli_names_its_flags_and_hides_the_password(tls_sim: Simulator, ca_file: str) -> None:
    with TestProxy(hosts={HOST: "127.0.0.1"}, refuse=403) as proxy:
        result = _cli(tls_sim, "--debug", "fetch", DAY, "--proxy", _with_password(proxy), "--ca-bundle", ca_file)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("nxframe: error: ProxyError:") and "(from --proxy)" in last, last
    assert PASSWORD not in result.stdout + result.stderr
    missing = _cli(tls_sim, "fetch", DAY, "--ca-bundle", "/no/such/ca.pem")
    assert missing.returncode == 2
    assert "--ca-bundle (/no/such/ca.pem): no such CA bundle file" in missing.stderr
    bad = _cli(tls_sim, "fetch", DAY, "--proxy", f"ftp://alice:{PASSWORD}@gateway.example:21")
    assert bad.returncode == 2 and "--proxy must be a URL" in bad.stderr and PASSWORD not in bad.stderr


# -- the README's "Behind a proxy" examples, run against this proxy and CA -------------------------------


def _readme_blocks() -> list[str]:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Behind a proxy\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```[a-z]*\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_proxy_examples_run(
    tls_sim: Simulator, ca_file: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported, in_code, on_cli = _readme_blocks()
    with TestProxy(hosts={HOST: "127.0.0.1"}, credentials="user:password") as proxy:

        def local(text: str) -> str:
            """The README's proxy and CA, as this test runs them."""
            text = text.replace("proxy.example.com:3128", f"127.0.0.1:{proxy.port}")
            return text.replace("/etc/ssl/company-ca.pem", ca_file)

        env: dict[str, str] = {}
        for line in exported.splitlines():
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").split("#")[0].strip().partition("=")
                env[name] = local(value)
        command = next(line for line in exported.splitlines() if line.startswith("nxframe "))
        args = command.replace("data/lake", str(tmp_path / "lake")).split()[1:]
        synced = _cli(tls_sim, *args, env=env)
        assert synced.returncode == 0, synced.stderr
        assert "7 fetched" in synced.stdout

        for name, value in tls_sim.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("NXCLOUD_BASE_URL", _url(tls_sim))
        namespace: dict[str, Any] = {"nxframe": nxframe}
        exec(local(in_code), namespace)
        with namespace["client"] as client:
            pd.testing.assert_frame_equal(client.fetch_cdr(DAY, progress=False), tls_sim.ground_truth(DAY))

        with_credentials = local(on_cli).replace("http://", "http://user:password@")  # this proxy asks for them
        fetched = _cli(tls_sim, *with_credentials.split()[1:])
        assert fetched.returncode == 0, fetched.stderr
    assert {r.line for r in proxy.requests} == {f"CONNECT {HOST}:{tls_sim.port} HTTP/1.0"}
    assert all(r.headers.get("proxy-authorization") for r in proxy.requests)
