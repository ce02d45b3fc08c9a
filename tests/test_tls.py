"""Certificates: the simulator speaks TLS with a certificate from a CA made by trustme (a company's CA).

On this machine and CI, ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``,
``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` are already set to the system bundle,
so every test sets or clears each of them: the "system store" here is a
bundle of an unrelated CA, so no test depends on what the machine trusts.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import trustme

import nxframe
from nxframe.simulator import Simulator

DAY = "2024-03-05"
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(scope="module")
def system_bundle(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The "system store" of these tests: an unrelated CA, and an empty certificate folder."""
    folder = tmp_path_factory.mktemp("system")
    trustme.CA(organization_name="Unrelated").cert_pem.write_to_path(str(folder / "system.pem"))
    (folder / "certs").mkdir()
    return str(folder / "system.pem")


@pytest.fixture(autouse=True)
def _system_trust_only(monkeypatch: pytest.MonkeyPatch, system_bundle: str) -> None:
    """No CA variable but the system store's own, and no proxy."""
    for name in (*CA_VARIABLES, "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", system_bundle)
    monkeypatch.setenv("SSL_CERT_DIR", str(Path(system_bundle).parent / "certs"))


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="Example Corp inspecting TLS")


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "company-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def _serving(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


@pytest.fixture
def tls_sim(ca: trustme.CA) -> Iterator[Simulator]:
    with Simulator(seed=7, ssl_context=_serving(ca, "127.0.0.1", "localhost")) as simulator:
        yield simulator


def _client(sim: Simulator, **options: Any) -> nxframe.Client:
    return sim.client(**({"retry_backoff": 0.01, "max_retries": 3} | options))


def test_an_untrusted_certificate_is_a_tls_error_after_one_attempt(tls_sim: Simulator) -> None:
    with _client(tls_sim) as client, pytest.raises(nxframe.TLSError, match="did not verify") as caught:
        client.fetch_cdr(DAY, progress=False)
    message = str(caught.value)
    assert "127.0.0.1" in message and "Client(verify=...)" in message and "REQUESTS_CA_BUNDLE" in message
    assert "unable to get local issuer certificate" in message and "system trust store" in message
    assert client.transport.requests_sent == 1 and client.retries == {}
    assert tls_sim.requests == [], "nothing was sent before the certificate was checked"
    assert caught.value.__cause__ is None and caught.value.__context__ is None


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"])
def test_a_company_ca_from_the_environment_is_trusted(
    tls_sim: Simulator, ca_file: str, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, ca_file)
    with _client(tls_sim) as client:
        df = client.fetch_cdr(DAY, progress=False)
    pd.testing.assert_frame_equal(df, tls_sim.ground_truth(DAY))
    assert variable in client.settings.trust.origin


def test_a_ca_bundle_passed_as_verify_is_trusted(tls_sim: Simulator, ca_file: str) -> None:
    with _client(tls_sim, verify=Path(ca_file)) as client:
        df = client.fetch_cdr(DAY, progress=False)
    pd.testing.assert_frame_equal(df, tls_sim.ground_truth(DAY))


def test_requests_ca_bundle_wins_over_curl_ca_bundle_as_in_requests(
    tls_sim: Simulator, ca_file: str, system_bundle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", system_bundle)
    monkeypatch.setenv("CURL_CA_BUNDLE", ca_file)
    with _client(tls_sim) as client, pytest.raises(nxframe.TLSError, match=f"REQUESTS_CA_BUNDLE={system_bundle}"):
        client.fetch_cdr(DAY, progress=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "")  # empty counts as unset, as in requests
    with _client(tls_sim) as client:
        assert len(client.fetch_cdr(DAY, progress=False)) > 0


def test_a_certificate_for_another_host_is_a_tls_error(ca: trustme.CA, ca_file: str) -> None:
    with (
        Simulator(seed=7, ssl_context=_serving(ca, "api.other.test")) as sim,
        _client(sim, verify=ca_file) as client,
        pytest.raises(nxframe.TLSError, match=r"(?i)mismatch|doesn.t match|not valid for"),
    ):
        client.fetch_cdr(DAY, progress=False)
    assert client.transport.requests_sent == 1


def test_verify_false_is_allowed_for_a_loopback_host_only(tls_sim: Simulator) -> None:
    with _client(tls_sim, verify=False) as client:  # filterwarnings=error: no InsecureRequestWarning either
        df = client.fetch_cdr(DAY, progress=False)
        assert "verify=False" in repr(client)
    pd.testing.assert_frame_equal(df, tls_sim.ground_truth(DAY))
    with pytest.raises(nxframe.InvalidInputError, match=r"verify=False is refused for api2\.nxcloud\.com") as caught:
        nxframe.Client("key", "secret", verify=False)
    assert caught.value.parameter == "verify"


@pytest.mark.parametrize(
    ("verify", "words"),
    [
        (42, "not int"),
        ("", "not str"),
        (None, "not NoneType"),
        ("/no/such/ca.pem", "no such CA bundle file"),
    ],
)
def test_a_bad_verify_is_refused_naming_the_parameter(verify: Any, words: str) -> None:
    with pytest.raises(nxframe.InvalidInputError, match=words) as caught:
        nxframe.Client("key", "secret", verify=verify)
    assert caught.value.parameter == "verify" and "verify" in str(caught.value)


def test_a_file_that_is_not_a_ca_bundle_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(nxframe.InvalidInputError, match="no certificate that can be loaded"):
        nxframe.Client("key", "secret", verify=str(junk))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "gone.pem"))
    with pytest.raises(nxframe.InvalidInputError, match=r"REQUESTS_CA_BUNDLE=.*gone\.pem: no such CA bundle") as caught:
        nxframe.Client("key", "secret")
    assert caught.value.parameter == "verify"


def test_the_cli_trusts_ca_bundle_and_names_the_flag_when_untrusted(tls_sim: Simulator, ca_file: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CA_VARIABLES and not k.startswith("NXCLOUD_")}
    env |= tls_sim.env()  # SSL_CERT_FILE and SSL_CERT_DIR: the unrelated "system store" set above
    command = [sys.executable, "-m", "nxframe", "fetch", DAY]
    trusted = subprocess.run([*command, "--ca-bundle", ca_file], capture_output=True, text=True, env=env, timeout=120)
    assert trusted.returncode == 0, trusted.stderr
    untrusted = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert untrusted.returncode == 1
    line = untrusted.stderr.strip()
    assert line.startswith("nxframe: error: TLSError:") and len(line.splitlines()) == 1
    assert "--ca-bundle or REQUESTS_CA_BUNDLE" in line
