"""Every test talks to a real simulator over HTTP on 127.0.0.1; nothing is mocked."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


ROOT = Path(__file__).resolve().parents[1]
#: What `make` needs to run a recipe without installing first: the venv's own command.
VENV_NXFRAME = ROOT / ".venv" / "bin" / "nxframe"


def make_command(*arguments: str) -> list[str] | None:
    """``make ARGUMENTS`` in the repository, never reinstalling; ``None`` where there is no make or no .venv.

    ``-o .venv/.installed-dev`` takes the install stamp as up to date: the
    recipe itself runs, and a test never starts a 30 s ``pip install``
    (CI's ``make test`` has just installed; a developer's venv is theirs).
    """
    if shutil.which("make") is None or not VENV_NXFRAME.is_file():
        return None
    return ["make", "--no-print-directory", "-C", str(ROOT), "-o", ".venv/.installed-dev", *arguments]


def shell_env() -> dict[str, str]:
    """This environment less NXCloud credentials and an outer make's job-server flags."""
    dropped = ("NXCLOUD_", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    return {k: v for k, v in os.environ.items() if not k.startswith(dropped)}


@dataclass(frozen=True)
class Demo:
    """One offline demo, run once per session: its command, what it printed, where its data went."""

    command: list[str]
    result: subprocess.CompletedProcess[str]
    data: Path


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """``make demo DATA=...`` as the README says (``python -m nxframe demo --offline`` without make or .venv).

    Read-only: a test that changes the data copies ``data`` first.
    """
    data = tmp_path_factory.mktemp("demo") / "data"
    command = make_command("demo", f"DATA={data}")
    if command is None:
        command = [sys.executable, "-m", "nxframe", "demo", "--offline", "--data", str(data)]
    result = subprocess.run(command, capture_output=True, text=True, env=shell_env(), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return Demo(command, result, data)
