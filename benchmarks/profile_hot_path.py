"""Where does the time go? pyinstrument profiles of the hot paths, written to ``benchmarks/results/profiles``.

    python benchmarks/profile_hot_path.py
    PYTHONPATH=/path/to/old/checkout python benchmarks/profile_hot_path.py --tag before

Profiles (each repeated to get enough samples):
- ``decode-single``: 100 pages of 999 rows, ``decode_page`` each then ``to_frame`` (the fetch workers' path);
- ``decode-mixed``: the mixed-shape day of ``benchmarks/mixed.py``, page by page;
- ``decode-untidy``: the untidy day of ``benchmarks/untidy.py``, page by page, ``decode_page`` alone;
- ``fetch-untidy``: what one fetch worker does for the untidy day, in the
  main thread: POST each page to the bare server of ``benchmarks/mixed.py``,
  then ``decode_page``;
- ``generate``: the simulator making and serialising a 30 000-row day.

Each decode keeps one ``ShapeMemory`` across its pages, as a client does
(an nxframe older than ``ShapeMemory`` is profiled without).

The fetch path runs in worker threads, which pyinstrument does not follow;
profile it with py-spy (``pip install py-spy``)::

    py-spy record -r 250 -f raw -o fetch.txt -- python benchmarks/bench_fetch.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import requests
from common import DOCUMENTED_DATE, PAGE_SIZE, ROOT, SEED, day_pages, nxframe_frame
from mixed import MIXED_DATE, mixed_pages, serve
from pyinstrument import Profiler
from untidy import UNTIDY_DATE, untidy_pages, untidy_pages_path

import nxframe.decode
from nxframe.simulator.data import CallGenerator, record_json

OUT = ROOT / "benchmarks" / "results" / "profiles"


def profile(name: str, work: Callable[[], object], repeats: int, tag: str) -> Path:
    work()  # warm: imports, caches
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(repeats):
        work()
    profiler.stop()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}-{tag}.txt"
    path.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    return path


def memory() -> dict[str, object]:
    """``decode_page``'s keywords for one client's pages: a ``ShapeMemory`` when this nxframe has one."""
    shapes = getattr(nxframe.decode, "ShapeMemory", None)
    return {} if shapes is None else {"memory": shapes()}


def fetch_serially(base_url: str, pages: int) -> None:
    session = requests.Session()
    decode_page = nxframe.decode.decode_page
    keywords = memory()
    for page in range(1, pages + 1):
        body = json.dumps({"date": UNTIDY_DATE.isoformat(), "page": page, "pageSize": PAGE_SIZE})
        response = session.post(f"{base_url}/api/did/cdr", data=body, headers={"Content-Type": "application/json"})
        decode_page(response.content, page_number=page, **keywords)
    session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="after", help="suffix of the output files (before/after)")
    tag = parser.parse_args().tag
    clean = day_pages(1_000_000, quirks=False, date=DOCUMENTED_DATE)[:100]
    mixed = mixed_pages(100 * PAGE_SIZE)
    untidy = untidy_pages(100 * PAGE_SIZE)
    decode_page = nxframe.decode.decode_page
    clean_keywords, mixed_keywords, untidy_keywords = memory(), memory(), memory()
    work: dict[str, tuple[Callable[[], object], int]] = {
        "decode-single": (
            lambda: nxframe_frame(
                DOCUMENTED_DATE, [decode_page(b, page_number=n, **clean_keywords) for n, b in enumerate(clean, 1)]
            ),
            5,
        ),
        "decode-mixed": (
            lambda: nxframe_frame(
                MIXED_DATE, [decode_page(b, page_number=n, **mixed_keywords) for n, b in enumerate(mixed, 1)]
            ),
            3,
        ),
        "decode-untidy": (
            lambda: [decode_page(b, page_number=n, **untidy_keywords) for n, b in enumerate(untidy, 1)],
            3,
        ),
        "generate": (lambda: [record_json(r) for r in CallGenerator(SEED, 30_000).day(dt.date(2024, 3, 4))], 2),
    }
    for name, (run, repeats) in work.items():
        print(profile(name, run, repeats, tag))
    with serve(untidy_pages_path(100 * PAGE_SIZE)) as base_url:
        print(profile("fetch-untidy", lambda: fetch_serially(base_url, len(untidy)), 3, tag))


if __name__ == "__main__":
    main()
