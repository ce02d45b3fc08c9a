"""A mixed-shape day written by the benchmark itself, and a bare HTTP server that sends it.

The values come from the simulator's documented-shape generator
(``CallGenerator(seed, quirks=False)``); the shapes are this module's own,
not the simulator's quirks, so the benchmark does not only measure what
the simulator happens to send. Every page carries every deviation a real
server may send (record position modulo 10):

0. documented, with ``null`` for an empty end time;
1. the three money fields as JSON strings (``"0.055"``);
2. the other party's number as a JSON number;
3. the DID number as a JSON number;
4. ``callDuration`` and ``feeDurationMinute`` as JSON strings (``"64"``);
5. undocumented fields: a big integer, a URL, a nested object with a list;
6. keys in reverse order;
7. the code fields as strings of digits (``"1"``);
8. keys shuffled, ``endReason`` as a JSON number (``-7``);
9. a 16-significant-digit price per minute, more than a float holds.

Every tenth page is pretty-printed (newlines and indentation).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from common import CACHE, PAGE_SIZE, SEED, in_process, read_pages, source_key, write_pages

__all__ = ["MIXED_DATE", "mixed_pages", "mixed_pages_path", "serve"]

MIXED_DATE = dt.date(2024, 3, 6)
LONG_PRICE = Decimal("1234567890.123457")  # 16 significant digits: float(...) changes it


def _shaped(record: dict[str, Any], position: int, rng: random.Random) -> dict[str, Any]:
    kind = position % 10
    out = dict(record)
    if kind == 0 and out["endTime"] == "":
        out["endTime"] = None
    elif kind == 1:
        for name in ("feeDurationMinute", "callPriceUnit", "callPrice"):
            out[name] = format(out[name], "f")
    elif kind in (2, 3):
        name = "callNumber" if kind == 2 else "number"
        if out[name].isdigit() and not out[name].startswith("0"):
            out[name] = int(out[name])
    elif kind == 4:
        out["callDuration"] = str(out["callDuration"])
        out["feeDurationMinute"] = format(out["feeDurationMinute"], "f")
    elif kind == 5:
        out["taskId"] = rng.randrange(10**12, 10**13)
        out["recordUrl"] = f"https://rec.example.com/{out['id']}.mp3"
        out["meta"] = {"attempt": rng.randint(1, 3), "tags": ["ivr", "queue"]}
    elif kind == 6:
        out = dict(reversed(list(out.items())))
    elif kind == 7:
        for name in ("callType", "feeType", "endDirection"):
            out[name] = str(out[name])
    elif kind == 8:
        items = list(out.items())
        rng.shuffle(items)
        out = dict(items)
        with contextlib.suppress(ValueError):
            out["endReason"] = int(out["endReason"])
    elif kind == 9:
        out["callPriceUnit"] = LONG_PRICE
    return out


def _json(value: Any, indent: str | None) -> str:
    """JSON text, decimals as their digits (never a float); ``indent`` pretty-prints."""
    if isinstance(value, dict):
        if indent is None:
            return "{" + ",".join(f"{json.dumps(k)}:{_json(v, None)}" for k, v in value.items()) + "}"
        inner = indent + "  "
        items = [f"{inner}{json.dumps(k)}: {_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list):
        return "[" + ("," if indent is None else ", ").join(_json(v, indent) for v in value) + "]"
    if isinstance(value, Decimal):
        return format(value, "f")
    return json.dumps(value, ensure_ascii=False)


def _generate(rows: int, date: dt.date, seed: int) -> list[bytes]:
    from nxframe.simulator.data import CallGenerator

    records = CallGenerator(seed, rows_per_day=rows, quirks=False).day(date)
    rng = random.Random(f"mixed-{seed}-{date}")
    pages = -(-len(records) // PAGE_SIZE)
    bodies = []
    for index in range(pages):
        chunk = records[index * PAGE_SIZE : (index + 1) * PAGE_SIZE]
        shaped = [_shaped(record, position, rng) for position, record in enumerate(chunk)]
        envelope = {
            "code": 0,
            "message": "Request successful",
            "data": {
                "totalRow": len(records),
                "pageNumber": index + 1,
                "totalPage": pages,
                "pageSize": PAGE_SIZE,
                "list": shaped,
            },
        }
        pretty = index % 10 == 9
        if pretty:
            bodies.append(_json(envelope, "").encode())
        else:
            head = _json({k: v for k, v in envelope.items() if k != "data"}, None)[:-1]
            data = {k: v for k, v in envelope["data"].items() if k != "list"}  # type: ignore[attr-defined]
            listing = ",".join(_json(record, None) for record in shaped)
            bodies.append(f'{head},"data":{_json(data, None)[:-1]},"list":[{listing}]}}}}'.encode())
    return bodies


def mixed_pages_path(rows: int, date: dt.date = MIXED_DATE, seed: int = SEED) -> Path:
    """The cached pages of a mixed-shape day (made on first use)."""
    key = source_key("simulator/data.py") + "-" + _own_key()
    path = CACHE / f"pages-s{seed}-mixed-{date}-{rows}-{key}.zst"
    if not path.exists():
        write_pages(path, _generate(rows, date, seed))
    return path


def mixed_pages(rows: int, date: dt.date = MIXED_DATE, seed: int = SEED) -> list[bytes]:
    """A ``rows``-row mixed-shape day as page bodies of 999 rows."""
    return list(read_pages(mixed_pages_path(rows, date, seed)))


def _own_key() -> str:
    import hashlib

    return hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:8]


# -- a bare server for the end-to-end benchmark -------------------------------------------


def _serve(path: str, latency: float, port_out: Any, stop: Any) -> None:  # pragma: no cover - child process
    bodies = list(read_pages(Path(path)))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if latency:
                time.sleep(latency)
            page = int(request["page"])
            body = bodies[page - 1] if 1 <= page <= len(bodies) else b'{"code":1002,"message":"Parameter error"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    port_out.send(server.server_address[1])
    stop.wait()
    server.shutdown()


@contextlib.contextmanager
def serve(path: Path, latency: float = 0.0) -> Iterator[str]:
    """Serve the cached pages at ``path`` from another process (page N of any date is body N); yields the base URL.

    It does not check signatures: it stands for a server whose only cost
    is sending the bytes, so the figure is the client's.
    """
    with in_process(_serve, str(path), latency, what="the mixed-shape server") as base_url:
        yield base_url
