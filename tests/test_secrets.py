"""The access secret and the request signatures never appear in anything a run produces."""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

import nxframe
from nxframe.simulator import Simulator

SECRET = "s3cr3t-do-not-leak-7f2a"


@pytest.fixture
def secret_sim() -> Iterator[Simulator]:
    with Simulator(seed=3, access_secret=SECRET) as sim:
        yield sim


def _signs(sim: Simulator) -> set[str]:
    return {r.headers["sign"] for r in sim.requests if r.headers.get("sign")}


def _assert_clean(text: str | bytes, sim: Simulator, where: str) -> None:
    data = text.encode() if isinstance(text, str) else text
    assert SECRET.encode() not in data, f"the secret leaked into {where}"
    for sign in _signs(sim):
        assert sign.encode() not in data, f"a request signature leaked into {where}"


def test_repr_str_and_pickle_of_a_client_hide_the_secret(secret_sim: Simulator) -> None:
    client = secret_sim.client()
    for text in (repr(client), str(client), repr(client.settings), str(vars(client.settings))):
        assert SECRET not in text
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(client.settings)


def test_debug_logs_and_errors_of_a_failing_run_hide_the_secret(
    secret_sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_sim.faults.add("http_503", times=2)
    texts: list[str] = []
    with secret_sim.client(retry_backoff=0.01) as client:
        client.fetch_cdr("2024-05-02", lake=tmp_path / "lake", progress=False)
        secret_sim.faults.add("code_1002", times=None, date="2024-05-03")
        secret_sim.faults.add("code_1004", times=None, date="2024-05-04")
        refusals = {
            "2024-05-03": r"rejected the query parameters .* \(code 1002",
            "2024-05-04": "the request timestamp expired",
        }
        for date, words in refusals.items():
            with pytest.raises(nxframe.ApiError, match=words) as caught:
                client.fetch_cdr(date, progress=False)
            error = caught.value
            texts += [str(error), repr(error), repr(vars(error)), "".join(traceback.format_exception(error))]
    with nxframe.Client(secret_sim.access_key, "wrong-" + SECRET, base_url=secret_sim.base_url) as wrong:
        with pytest.raises(nxframe.AuthError, match=r"rejected the signature .* check NXCLOUD_ACCESS_SECRET") as caught:
            wrong.fetch_cdr("2024-05-02", progress=False)
        texts += [str(caught.value), repr(vars(caught.value))]
    assert caplog.records, "DEBUG logging produced lines"
    _assert_clean(caplog.text, secret_sim, "DEBUG logs")
    for text in texts:
        _assert_clean(text, secret_sim, "an exception")
    for path in (tmp_path / "lake").rglob("*"):
        if path.is_file():
            _assert_clean(path.read_bytes(), secret_sim, f"lake file {path.name}")


def test_cli_output_at_debug_hides_the_secret(secret_sim: Simulator, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXCLOUD_")} | secret_sim.env()
    lake = tmp_path / "lake"
    secret_sim.faults.add("http_500", times=1)
    runs = [
        ["--debug", "fetch", "2024-05-02", "--out", str(tmp_path / "calls.csv")],
        ["--debug", "sync", "--lake", str(lake), "--start", "2024-05-01", "--end", "2024-05-03"],
        ["--debug", "check", "--lake", str(lake), "--start", "2024-05-01", "--end", "2024-05-03"],
    ]
    outputs = []
    for args in runs:
        result = subprocess.run(
            [sys.executable, "-m", "nxframe", *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    wrong = env | {"NXCLOUD_ACCESS_SECRET": "x" + SECRET}
    failed = subprocess.run(
        [sys.executable, "-m", "nxframe", "--debug", "fetch", "2024-05-02"],
        env=wrong,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 1
    outputs.append(failed.stdout + failed.stderr)
    assert any("DEBUG" in text for text in outputs)
    for text in outputs:
        _assert_clean(text, secret_sim, "CLI output")
    for path in [tmp_path / "calls.csv", *lake.rglob("*")]:
        if path.is_file():
            _assert_clean(path.read_bytes(), secret_sim, str(path))


def test_report_files_hide_the_secret(secret_sim: Simulator, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    with secret_sim.client() as client:
        nxframe.sync_lake(lake, "2024-05-01", "2024-05-31", client=client, progress=False)
    report = nxframe.monthly_report(lake, "2024-05")
    written = [
        report.to_html(tmp_path / "r.html"),
        report.to_excel(tmp_path / "r.xlsx"),
        report.to_csv(tmp_path / "csv"),
    ]
    files = [p for p in written if p.is_file()] + list((tmp_path / "csv").iterdir())
    assert len(files) >= 4
    for path in files:
        _assert_clean(path.read_bytes(), secret_sim, f"report file {path.name}")
    _assert_clean(report.summary_text() + report._repr_html_(), secret_sim, "the report's text")


# -- a refused argument leaves no plain secret in the traceback's frames ----------------------------

PROXY_PASSWORD = "proxy-pw-never-in-frames-31c9"


def _holds(value: object, needle: str, seen: set[int], depth: int = 0) -> bool:
    """Whether ``value`` shows ``needle`` to an error reporter: as text, in a container, in its repr or attributes."""
    if id(value) in seen or depth > 6:
        return False
    seen.add(id(value))
    if isinstance(value, (str, bytes)):
        return needle in (value if isinstance(value, str) else value.decode("latin-1"))
    if isinstance(value, dict):
        return any(_holds(k, needle, seen, depth + 1) or _holds(v, needle, seen, depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds(item, needle, seen, depth + 1) for item in value)
    try:
        shown = repr(value)
    except Exception:  # reporters fall back to a placeholder, as Sentry's safe_repr does
        shown = ""
    if needle in shown:
        return True
    attributes = getattr(value, "__dict__", None)
    return isinstance(attributes, dict) and not isinstance(value, type) and _holds(attributes, needle, seen, depth + 1)


def _frames_holding(error: BaseException, needle: str) -> list[str]:
    """Frames (below the test's own, which set the stage) whose locals show ``needle``."""
    found = []
    tb = error.__traceback__.tb_next if error.__traceback__ is not None else None
    while tb is not None:
        frame = tb.tb_frame
        found += [f"{frame.f_code.co_name}: {name}" for name, v in frame.f_locals.items() if _holds(v, needle, set())]
        tb = tb.tb_next
    return found


@pytest.mark.parametrize(
    "refused",
    [
        lambda: nxframe.Client("key", SECRET, base_url="http://evil.example"),
        lambda: nxframe.Client("key", SECRET, timeout=0),
        lambda: nxframe.Client("key", SECRET, algorithm="sha1"),  # type: ignore[arg-type]
        lambda: nxframe.Client("ключ", SECRET),
        lambda: nxframe.Client("key", SECRET + "\t"),
        lambda: nxframe.Client("key", SECRET, proxy="ftp://gateway.example:21"),
        lambda: nxframe.Client("key", SECRET, verify=False),
        lambda: nxframe.Client("key", SECRET, verify="/no/such/ca.pem"),
        lambda: nxframe.Client(None, SECRET),
    ],
)
def test_a_refused_client_leaves_no_plain_secret_in_any_frame(refused: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Error reporters (Sentry) record every frame's locals: the secret is hidden on the first line that gets it."""
    with pytest.raises(nxframe.InvalidInputError, match=r"\w") as caught:
        refused()  # type: ignore[operator]
    assert _frames_holding(caught.value, SECRET) == []
    frames = []
    tb = caught.value.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert "__init__" in frames, "the refusal came from inside Client(), where the secret was"


def test_a_secret_from_the_environment_is_hidden_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NXCLOUD_ACCESS_KEY", "key")
    monkeypatch.setenv("NXCLOUD_ACCESS_SECRET", SECRET)
    monkeypatch.setenv("NXCLOUD_BASE_URL", "http://evil.example")
    with pytest.raises(nxframe.InvalidInputError, match="plain http") as caught:
        nxframe.fetch_cdr("2024-05-02", progress=False)
    assert _frames_holding(caught.value, SECRET) == []


@pytest.mark.parametrize(
    "refused",
    [
        lambda: nxframe.Client("key", SECRET, proxy=f"http://alice:{PROXY_PASSWORD}@gateway.example:0"),
        lambda: nxframe.Client("key", SECRET, proxy=f"http://alice:{PROXY_PASSWORD}@gateway.example:3128", timeout=0),
        lambda: nxframe.Client("key", SECRET, proxy=f"http://alice:{PROXY_PASSWORD}@gate way:1"),
    ],
)
def test_a_refused_client_leaves_no_proxy_password_in_any_frame(refused: object) -> None:
    with pytest.raises(nxframe.InvalidInputError, match=r"\w") as caught:
        refused()  # type: ignore[operator]
    assert _frames_holding(caught.value, PROXY_PASSWORD) == []
    assert PROXY_PASSWORD not in str(caught.value)


def test_the_frame_walk_finds_a_plain_secret() -> None:
    """The detector itself: a frame that does hold the secret is reported."""

    def careless(secret: str) -> None:
        raise nxframe.InvalidInputError("refused", parameter="timeout")

    with pytest.raises(nxframe.InvalidInputError, match="refused") as caught:
        careless(SECRET)
    assert _frames_holding(caught.value, SECRET) == ["careless: secret"]
