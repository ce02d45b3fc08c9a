"""What every benchmark shares: cached page bodies, timing, checks, the simulator in its own process, the table.

Figures are wall-clock medians of interleaved runs (nxframe, baseline,
nxframe, baseline, ...), so a neighbour's load on a shared machine slows
both sides alike instead of skewing one of them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import resource
import statistics
import struct
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from nxframe.decode import Reply
from nxframe.frames import to_frame
from nxframe.schema import COLUMNS

ROOT = Path(__file__).resolve().parents[1]
#: Generated data is cached here (git-ignored); delete it to regenerate. ``NXFRAME_BENCH_CACHE`` moves it.
CACHE = Path(os.environ.get("NXFRAME_BENCH_CACHE", ROOT / "benchmarks" / "results" / "cache"))
SEED = 1
PAGE_SIZE = 999
#: A clean weekday for the documented shape; with seed 1, 2024-03-07 is one of the awkward days.
DOCUMENTED_DATE = dt.date(2024, 3, 5)
AWKWARD_DATE = dt.date(2024, 3, 7)
MONEY = tuple(c for c in COLUMNS if c.kind == "decimal")


# -- the table --------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """One line of the table: nxframe's figure and the baseline's, measured in the same run.

    ``ratio`` reads the way its target does: for speed, baseline time /
    nxframe time (bigger is better); for memory and ``read_lake`` against
    bare pyarrow, nxframe / baseline (smaller is better).
    """

    question: str
    label: str
    nxframe: str
    baseline: str
    ratio: float | None
    target: str = ""
    met: bool | None = None

    def cells(self) -> list[str]:
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}x"
        verdict = {True: "met", False: "MISSED", None: ""}[self.met]
        target = f"{self.target} {verdict}".strip()
        return [self.question, self.label, self.nxframe, self.baseline, ratio, target]


HEADER = ["question", "measure", "nxframe", "baseline (same run)", "ratio", "target"]


def render(measures: Sequence[Measure]) -> str:
    """A Markdown table, readable in a terminal and pasteable into the README."""
    rows = [HEADER, *(m.cells() for m in measures)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def rate(rows: float, seconds: float) -> str:
    per_second = rows / seconds
    if per_second >= 1e6:
        return f"{per_second / 1e6:.2f}M rows/s"
    return f"{per_second / 1e3:.0f}k rows/s"


def mib(size: float) -> str:
    return f"{size / 2**20:.0f} MiB"


# -- timing -----------------------------------------------------------------------------


def interleaved(runs: Mapping[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall-clock seconds of each callable, run in turns ``repeats`` times."""
    return {name: statistics.median(values) for name, values in interleaved_times(runs, repeats).items()}


def interleaved_times(runs: Mapping[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Every run's wall-clock seconds, the callables run in turns ``repeats`` times."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return times


def ratio_spread(baseline: Sequence[float], measured: Sequence[float]) -> tuple[float, float, float]:
    """The median ratio baseline/measured of the runs made in the same turn, and its lowest and highest."""
    ratios = [b / m for b, m in zip(baseline, measured, strict=True)]
    return statistics.median(ratios), min(ratios), max(ratios)


def peak_rss() -> int:
    """This process's peak resident set size, in bytes.

    ``VmHWM`` rather than ``getrusage``: Linux carries ``ru_maxrss`` over
    ``exec``, so a child started by a big parent would report the parent's size.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss() -> int:
    """This process's resident set size now, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# -- data -------------------------------------------------------------------------------


def source_key(*modules: str) -> str:
    """A short hash of nxframe source files: a cache made by other code is not reused."""
    digest = hashlib.sha1()
    for module in modules:
        path = ROOT / "nxframe" / module
        for part in sorted(path.rglob("*.py")) if path.is_dir() else [path]:  # a package: all its modules
            digest.update(part.read_bytes())
    return digest.hexdigest()[:10]


def day_pages(rows: int, *, quirks: bool, date: dt.date, seed: int = SEED) -> list[bytes]:
    """A ``rows``-row day from the simulator's generator, as the page bodies the simulator serves.

    Cached as length-prefixed bodies in a zstd file; generating a million
    rows takes the generator about 20 s.
    """
    path = (
        CACHE
        / f"pages-s{seed}-{'awkward' if quirks else 'documented'}-{date}-{rows}-{source_key('simulator/data.py')}.zst"
    )
    if path.exists():
        return list(read_pages(path))
    from nxframe.simulator.data import CallGenerator, page_body, record_json

    generator = CallGenerator(seed, rows_per_day=rows, quirks=quirks)
    records = generator.day(date)
    bodies = []
    for first in range(0, len(records), PAGE_SIZE):
        texts = (record_json(record) for record in records[first : first + PAGE_SIZE])
        bodies.append(page_body(texts, total_row=len(records), page=first // PAGE_SIZE + 1, page_size=PAGE_SIZE))
    del records
    write_pages(path, bodies)
    return bodies


def write_pages(path: Path, bodies: list[bytes]) -> None:
    """Cache page bodies at ``path`` (zstd, each length-prefixed); a run killed midway leaves no cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    with pa.CompressedOutputStream(str(partial), "zstd") as sink:
        for body in bodies:
            sink.write(struct.pack("<Q", len(body)))
            sink.write(body)
    partial.replace(path)


def read_pages(path: Path) -> Iterator[bytes]:
    """The bodies of a page cache, one at a time (memory benchmarks stream them)."""
    with pa.CompressedInputStream(pa.OSFile(str(path)), "zstd") as source:
        while True:
            head = source.read(8)
            if not head:
                return
            (size,) = struct.unpack("<Q", head)
            yield source.read(size)


def page_cache_path(rows: int, *, quirks: bool, date: dt.date, seed: int = SEED) -> Path:
    day_pages(rows, quirks=quirks, date=date, seed=seed)  # make sure it exists
    return next(CACHE.glob(f"pages-s{seed}-{'awkward' if quirks else 'documented'}-{date}-{rows}-*.zst"))


def nxframe_frame(date: dt.date, replies: Sequence[Reply]) -> pd.DataFrame:
    """What ``fetch_cdr`` builds from a date's decoded pages: ``date`` added, one ``to_frame``."""
    tables = []
    for reply in replies:
        assert reply.page is not None
        table = reply.page.table
        tables.append(table.add_column(0, "date", pa.repeat(pa.scalar(date, pa.date32()), table.num_rows)))
    return to_frame(tables)


# -- checks before any figure is printed ------------------------------------------------


def check_same(nxframe_df: pd.DataFrame, baseline_df: pd.DataFrame, what: str) -> None:
    """nxframe and the naive client built the same DataFrame: values, dtypes, categories, order."""
    try:
        pd.testing.assert_frame_equal(nxframe_df, baseline_df)
    except AssertionError as exc:
        raise SystemExit(f"{what}: nxframe and the naive baseline disagree; no figures printed.\n{exc}") from None


def check_exact(frame: pd.DataFrame, bodies: Sequence[bytes], what: str) -> int:
    """Every money cell equals the decimal text in the JSON, digit for digit.

    Returns how many of those values have more than 15 significant digits,
    more than a binary float carries.

    The oracle is independent of both clients: ``json.loads`` keeping every
    number as its text.
    """
    sent: list[dict[str, Any]] = []
    for body in bodies:
        sent.extend(json.loads(body, parse_float=str, parse_int=str)["data"]["list"])
    if len(sent) != len(frame):
        raise SystemExit(f"{what}: {len(frame)} rows in the frame but {len(sent)} in the bodies")
    long_values = 0
    for c in MONEY:
        values = frame[c.name].tolist()
        for record, got in zip(sent, values, strict=True):
            text = record.get(c.api_field or c.name)
            expected = None if text in (None, "") else Decimal(text)
            got = None if got is None or got is pd.NA else got
            if got != expected:
                raise SystemExit(f"{what}: {c.name} of id {record['id']} is {got!r}, the JSON says {text!r}")
            if expected is not None and len(expected.normalize().as_tuple().digits) > 15:
                long_values += 1
    return long_values


# -- the simulator, in a process of its own ---------------------------------------------


def _serve(options: dict[str, Any], port_out: Any, stop: Any) -> None:  # pragma: no cover - child process
    from nxframe.simulator import Simulator

    with Simulator(**options) as sim:
        port_out.send(sim.port)
        stop.wait()


@contextlib.contextmanager
def in_process(target: Callable[..., None], *args: Any, what: str = "the server") -> Iterator[str]:
    """Run ``target(*args, port_out, stop)`` in a spawned process; yields its base URL.

    A real API is in another process too: its CPU time must not share this
    process's GIL with the client being measured.
    """
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    stop = context.Event()
    process = context.Process(target=target, args=(*args, send, stop), daemon=True)
    process.start()
    try:
        if not receive.poll(60):
            raise RuntimeError(f"{what} did not start")
        yield f"http://127.0.0.1:{receive.recv()}"
    finally:
        stop.set()
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join()


@contextlib.contextmanager
def simulator(**options: Any) -> Iterator[str]:
    """A :class:`~nxframe.simulator.Simulator` in another process; yields its base URL."""
    with in_process(_serve, options, what="the simulator process") as base_url:
        yield base_url
