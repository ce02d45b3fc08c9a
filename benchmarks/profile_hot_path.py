"""Where does the time go? pyinstrument profiles of the hot paths, written to ``benchmarks/results/profiles``.

    python benchmarks/profile_hot_path.py
    PYTHONPATH=/path/to/old/checkout python benchmarks/profile_hot_path.py --tag before

Profiles (each repeated to get enough samples):
- ``decode-single``: 100 pages of 999 rows, ``decode_page`` each then ``to_frame`` (the fetch workers' path);
- ``decode-batched``: the same pages through ``decode_pages`` (when this nxframe has it);
- ``decode-mixed``: the mixed-shape day of ``benchmarks/mixed.py``, page by page;
- ``fetch-mixed``: what one fetch worker does for the mixed-shape day, in the
  main thread: POST each page to the bare server of ``benchmarks/mixed.py``,
  then ``decode_page``;
- ``generate``: the simulator making and serialising a 30 000-row day.

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
from mixed import MIXED_DATE, mixed_pages, mixed_pages_path, serve
from pyinstrument import Profiler

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


def fetch_serially(base_url: str, pages: int) -> None:
    session = requests.Session()
    decode_page = nxframe.decode.decode_page
    for page in range(1, pages + 1):
        body = json.dumps({"date": MIXED_DATE.isoformat(), "page": page, "pageSize": PAGE_SIZE})
        response = session.post(f"{base_url}/api/did/cdr", data=body, headers={"Content-Type": "application/json"})
        decode_page(response.content, page_number=page)
    session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="after", help="suffix of the output files (before/after)")
    tag = parser.parse_args().tag
    clean = day_pages(1_000_000, quirks=False, date=DOCUMENTED_DATE)[:100]
    mixed = mixed_pages(100 * PAGE_SIZE)
    decode_page = nxframe.decode.decode_page
    work: dict[str, tuple[Callable[[], object], int]] = {
        "decode-single": (
            lambda: nxframe_frame(DOCUMENTED_DATE, [decode_page(b, page_number=n) for n, b in enumerate(clean, 1)]),
            5,
        ),
        "decode-mixed": (
            lambda: nxframe_frame(MIXED_DATE, [decode_page(b, page_number=n) for n, b in enumerate(mixed, 1)]),
            3,
        ),
        "generate": (lambda: [record_json(r) for r in CallGenerator(SEED, 30_000).day(dt.date(2024, 3, 4))], 2),
    }
    decode_pages = getattr(nxframe.decode, "decode_pages", None)
    if decode_pages is not None:
        work["decode-batched"] = (lambda: nxframe_frame(DOCUMENTED_DATE, decode_pages(clean)), 10)
    for name, (run, repeats) in work.items():
        print(profile(name, run, repeats, tag))
    with serve(mixed_pages_path(100 * PAGE_SIZE)) as base_url:
        print(profile("fetch-mixed", lambda: fetch_serially(base_url, len(mixed)), 3, tag))


if __name__ == "__main__":
    main()
