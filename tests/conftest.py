"""Every test talks to a real simulator over HTTP on 127.0.0.1; nothing is mocked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from s3server import aws_env, s3, s3_lake  # noqa: F401 - fixtures: a real S3 server (SeaweedFS) for lake tests

import nxframe
from nxframe.simulator import Simulator


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's real NXCloud credentials."""
    for name in ("NXCLOUD_ACCESS_KEY", "NXCLOUD_ACCESS_SECRET", "NXCLOUD_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A fresh simulator per test (seed 7, with the 16-digit canary price), so a test's faults and data stay its own."""
    with Simulator(seed=7, canary=True) as simulator:
        yield simulator


@pytest.fixture
def client(sim: Simulator) -> Iterator[nxframe.Client]:
    """A client for ``sim`` with short retry waits, so fault tests run fast."""
    with sim.client(retry_backoff=0.01, retry_max_wait=5.0, timeout=5.0) as c:
        yield c
