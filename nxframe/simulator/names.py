"""Country and hang-up reason names as an NXCloud account set to another language gets them.

NXCloud's customers are largely in China and South-East Asia; an account set
to Chinese receives ``countryName`` and ``endReasonName`` in Chinese
(泰国, 新加坡, 主叫挂机, ...). ``Simulator(language="zh")`` serves them so the
outputs can be tried and tested in that script; Japanese, Thai and
Vietnamese are here too, for the same reason. The data is otherwise the same
for a seed: only the names differ.
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "NAMES", "check_language", "localized"]

#: The languages the simulator speaks; ``"en"`` is the API's default.
LANGUAGES = ("en", "zh", "ja", "th", "vi")

#: English name -> (Chinese, Japanese, Thai, Vietnamese), in the order of LANGUAGES[1:].
NAMES: dict[str, tuple[str, str, str, str]] = {
    # countries
    "Thailand": ("泰国", "タイ", "ประเทศไทย", "Thái Lan"),
    "Singapore": ("新加坡", "シンガポール", "สิงคโปร์", "Singapore"),
    "Hong Kong": ("中国香港", "香港", "ฮ่องกง", "Hồng Kông"),
    "Philippines": ("菲律宾", "フィリピン", "ฟิลิปปินส์", "Philippines"),
    "Indonesia": ("印度尼西亚", "インドネシア", "อินโดนีเซีย", "Indonesia"),
    "Malaysia": ("马来西亚", "マレーシア", "มาเลเซีย", "Malaysia"),
    "Vietnam": ("越南", "ベトナム", "เวียดนาม", "Việt Nam"),
    "Japan": ("日本", "日本", "ญี่ปุ่น", "Nhật Bản"),
    "United States": ("美国", "アメリカ合衆国", "สหรัฐอเมริกา", "Hoa Kỳ"),
    "United Kingdom": ("英国", "イギリス", "สหราชอาณาจักร", "Vương quốc Anh"),
    "Brazil": ("巴西", "ブラジル", "บราซิล", "Brazil"),
    "India": ("印度", "インド", "อินเดีย", "Ấn Độ"),
    "Kazakhstan": ("哈萨克斯坦", "カザフスタン", "คาซัคสถาน", "Kazakhstan"),
    # hang-up reasons
    "No Answer": ("无人接听", "応答なし", "ไม่มีผู้รับสาย", "Không trả lời"),
    "Busy": ("忙线", "話し中", "สายไม่ว่าง", "Máy bận"),
    "Call Rejected": ("拒接", "着信拒否", "ปฏิเสธสาย", "Từ chối cuộc gọi"),
    "Caller Hang-up": ("主叫挂机", "発信者切断", "ผู้โทรวางสาย", "Người gọi gác máy"),
    "Callee Hang-up": ("被叫挂机", "着信者切断", "ผู้รับวางสาย", "Người nghe gác máy"),
    "System Release": ("系统释放", "システム解放", "ระบบยุติการโทร", "Hệ thống ngắt"),
}


def localized(name: str, language: str) -> str:
    """``name`` (English, as the generator makes it) in ``language``; a name not in the table stays as it is."""
    if language == "en":
        return name
    names = NAMES.get(name)
    return name if names is None else names[LANGUAGES.index(language) - 1]


def check_language(language: object) -> str:
    """``language`` if the simulator speaks it.

    Raises:
        ValueError: another value (the simulator is a test tool: a plain error names the choices).
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    return str(language)
