"""An untidy day written by the benchmark itself: pages as a real, careless server sends them.

The values come from the simulator's documented-shape generator
(``CallGenerator(seed, quirks=False)``); how they are written is this
module's own. Unlike ``benchmarks/mixed.py`` (one deviation per record
position), every record here is untidy in several ways at once, the way a
server built on a hash map and a few hands-written serialisers is:

- every record's keys in its own order (a fresh shuffle per record);
- country and hang-up reason names in Chinese, Japanese, Thai or
  Vietnamese (English now and then), written as ``\\uXXXX`` escapes in most
  records and as raw UTF-8 in the others, and a Chinese ``remark`` in some:
  about a third of all string values hold an escape (:func:`escaped_share`);
- money as raw number text with 2 to 6 decimal places (``0.11``,
  ``0.0550``, ``0.110000``), and in about a third of the records as JSON
  strings; ``callDuration`` as a string now and then;
- phone numbers (the other party's, sometimes the DID) as JSON numbers;
- undocumented fields in about a fifth of the records (``taskId``, a
  ``remark``, a ``recordUrl`` with ``\\/`` escapes);
- the end time of an unanswered call empty, ``null`` or missing.

The naive client and nxframe must build the same DataFrame from it
(the benchmarks check that before printing a figure).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from common import CACHE, PAGE_SIZE, SEED, read_pages, source_key, write_pages

__all__ = ["UNTIDY_DATE", "escaped_share", "untidy_pages", "untidy_pages_path"]

UNTIDY_DATE = dt.date(2024, 3, 8)

#: English name -> the same country in Chinese, Japanese, Thai, Vietnamese.
COUNTRY_NAMES = {
    "Thailand": ("泰国", "タイ", "ประเทศไทย", "Thái Lan"),
    "Singapore": ("新加坡", "シンガポール", "สิงคโปร์", "Singapore"),
    "Hong Kong": ("香港", "香港", "ฮ่องกง", "Hồng Kông"),
    "Philippines": ("菲律宾", "フィリピン", "ฟิลิปปินส์", "Philippines"),
    "Indonesia": ("印度尼西亚", "インドネシア", "อินโดนีเซีย", "Indonesia"),
    "Malaysia": ("马来西亚", "マレーシア", "มาเลเซีย", "Malaysia"),
    "Vietnam": ("越南", "ベトナム", "เวียดนาม", "Việt Nam"),
    "Japan": ("日本", "日本", "ญี่ปุ่น", "Nhật Bản"),
    "United States": ("美国", "アメリカ合衆国", "สหรัฐอเมริกา", "Hoa Kỳ"),
    "United Kingdom": ("英国", "イギリス", "สหราชอาณาจักร", "Vương quốc Anh"),
    "Brazil": ("巴西", "ブラジル", "บราซิล", "Brasil"),
    "India": ("印度", "インド", "อินเดีย", "Ấn Độ"),
}
REASON_NAMES = {
    "No Answer": ("无人接听", "応答なし", "ไม่มีผู้รับสาย", "Không trả lời"),
    "Busy": ("忙线", "話し中", "สายไม่ว่าง", "Máy bận"),
    "Call Rejected": ("拒接", "着信拒否", "ปฏิเสธสาย", "Cuộc gọi bị từ chối"),
    "Caller Hang-up": ("主叫挂机", "発信者切断", "ผู้โทรวางสาย", "Người gọi gác máy"),
    "Callee Hang-up": ("被叫挂机", "着信者切断", "ผู้รับวางสาย", "Người nghe gác máy"),
    "System Release": ("系统释放", "システム解放", "ระบบตัดสาย", "Hệ thống ngắt"),
}
REMARKS = ("客户回拨", "转人工坐席", "ลูกค้าขอโทรกลับ", "要折返し", "Khách hàng gọi lại")
MONEY_FIELDS = ("feeDurationMinute", "callPriceUnit", "callPrice")


def _places(value: Decimal, rng: random.Random) -> str:
    """The value's digits with 2 to 6 decimal places (never fewer than it needs)."""
    needed = max(0, -int(value.normalize().as_tuple().exponent))
    if needed > 6:  # pragma: no cover - the generator's money has 6 places at most
        raise ValueError(f"{value} has more than 6 places")
    return format(value.quantize(Decimal(1).scaleb(-max(needed, rng.randint(2, 6)))), "f")


def _string(text: str, escape: bool) -> str:
    return json.dumps(text, ensure_ascii=escape)


def _record_text(record: dict[str, Any], rng: random.Random) -> str:
    """One record as an untidy server writes it."""
    locale = rng.randrange(5)  # 4: English
    escape = rng.random() < 0.85
    parts: dict[str, str] = {}
    for key, value in record.items():
        if key in MONEY_FIELDS:
            parts[key] = _places(value, rng)
        elif key in ("countryName", "endReasonName"):
            names = COUNTRY_NAMES if key == "countryName" else REASON_NAMES
            parts[key] = _string(value if locale == 4 else names[value][locale], escape)
        elif isinstance(value, str):
            parts[key] = _string(value, False)
        else:
            parts[key] = json.dumps(value)
    if rng.random() < 0.33:
        for key in MONEY_FIELDS:
            parts[key] = json.dumps(parts[key])
    if rng.random() < 0.1:
        parts["callDuration"] = json.dumps(str(record["callDuration"]))
    for key, chance in (("callNumber", 0.3), ("number", 0.1)):
        digits = record[key]
        if rng.random() < chance and digits.isdigit() and not digits.startswith("0"):
            parts[key] = digits
    if record["endTime"] == record["startTime"] and record["callDuration"] == 0:  # unanswered
        shape = rng.randrange(4)
        if shape == 0:
            parts["endTime"] = '""'
        elif shape == 1:
            parts["endTime"] = "null"
        elif shape == 2:
            del parts["endTime"]
    if rng.random() < 0.2:
        parts["taskId"] = str(rng.randrange(10**12, 10**13))
        parts["remark"] = _string(rng.choice(REMARKS), escape)
        if rng.random() < 0.5:
            parts["recordUrl"] = f'"https:\\/\\/rec.example.com\\/{record["id"]}.mp3"'  # slashes escaped, as PHP does
    items = list(parts.items())
    rng.shuffle(items)
    return "{" + ",".join(f'"{key}":{text}' for key, text in items) + "}"


def _generate(rows: int, date: dt.date, seed: int) -> list[bytes]:
    from nxframe.simulator.data import CallGenerator

    records = CallGenerator(seed, rows_per_day=rows, quirks=False).day(date)
    rng = random.Random(f"untidy-{seed}-{date}")
    pages = -(-len(records) // PAGE_SIZE)
    bodies = []
    for index in range(pages):
        chunk = records[index * PAGE_SIZE : (index + 1) * PAGE_SIZE]
        listing = ",".join(_record_text(record, rng) for record in chunk)
        head = f'"totalRow":{len(records)},"pageNumber":{index + 1},"totalPage":{pages},"pageSize":{PAGE_SIZE}'
        envelope = ['"code":0', '"message":"Request successful"', f'"data":{{{head},"list":[{listing}]}}']
        rng.shuffle(envelope)
        bodies.append(("{" + ",".join(envelope) + "}").encode())
    return bodies


def untidy_pages_path(rows: int, date: dt.date = UNTIDY_DATE, seed: int = SEED) -> Path:
    """The cached pages of an untidy day (made on first use)."""
    key = source_key("simulator/data.py") + "-" + hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:8]
    path = CACHE / f"pages-s{seed}-untidy-{date}-{rows}-{key}.zst"
    if not path.exists():
        write_pages(path, _generate(rows, date, seed))
    return path


def untidy_pages(rows: int, date: dt.date = UNTIDY_DATE, seed: int = SEED) -> list[bytes]:
    """A ``rows``-row untidy day as page bodies of 999 rows."""
    return list(read_pages(untidy_pages_path(rows, date, seed)))


def escaped_share(bodies: list[bytes]) -> float:
    """The share of the records' string values whose JSON text holds a ``\\u`` escape."""
    import msgspec

    data = msgspec.defstruct("Data", [("list", list[dict[str, msgspec.Raw]])])
    decoder = msgspec.json.Decoder(msgspec.defstruct("Body", [("data", data)]))
    strings = escaped = 0
    for body in bodies:
        for record in decoder.decode(body).data.list:
            texts = [bytes(raw) for raw in record.values() if bytes(raw).startswith(b'"')]
            strings += len(texts)
            escaped += sum(b"\\u" in text for text in texts)
    return escaped / strings if strings else 0.0
