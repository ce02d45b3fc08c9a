"""The signature, pinned by every known answer in docs/signing.md."""

from __future__ import annotations

from typing import Any

import pytest

from nxframe.errors import InvalidInputError
from nxframe.redaction import Secret
from nxframe.signing import sign, string_to_sign

NXCLOUD: dict[str, Any] = {"access_key": "fme2na3kdi3ki", "ts": "1655710885431", "biz_type": "1", "action": "send"}
SECRET = "abciiiko2k3"
KEY = Secret(SECRET)
CDR: dict[str, Any] = {"access_key": "fme2na3kdi3ki", "ts": "1655710885431", "biz_type": "4", "action": "cdr"}
CDR_BODY = '{"date":"2022-08-23","page":1,"pageSize":10,"type":0}'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"name":"牛小信","id":10001}', "87c3560d3331ae23f1021e2025722354"),
        ('{"id":10001,"name":"牛小信"}', "7750759da06333f20d0640be09355e34"),
        ('{"id": 10001, "name": "牛小信"}', "d0c24a9886c629330d7f3f2056c65bc2"),
    ],
)
def test_nxcloud_published_md5_examples(body: str, expected: str) -> None:
    assert sign(**NXCLOUD, body=body, access_secret=KEY) == expected


def test_the_signed_string_is_sorted_headers_then_body_then_secret() -> None:
    text = string_to_sign(**NXCLOUD, body='{"id":1}', access_secret=SECRET)
    assert (
        text == 'accessKey=fme2na3kdi3ki&action=send&bizType=1&ts=1655710885431&body={"id":1}&accessSecret=abciiiko2k3'
    )


def test_no_body_leaves_the_body_part_out() -> None:
    assert sign(**NXCLOUD, body=None, access_secret=KEY) == "884afe159e39b6c88a0d6102ca97d704"
    assert "&body=" not in string_to_sign(**NXCLOUD, body=None, access_secret=SECRET)


def test_sha256_of_the_first_example() -> None:
    expected = "e0eec2c99ef80f269a82795e2223f618ebfc0616c8b6c8c7d438021ec38ad0eb"
    assert sign(**NXCLOUD, body='{"name":"牛小信","id":10001}', access_secret=KEY, algorithm="sha256") == expected


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("md5", "c29e3ad47e69664abe2eb60ec203c5f1"),
        ("sha256", "3d15a91e446594acf3ba38fe98d9758834f5bcc54a12d97f0abccce91f772271"),
    ],
)
def test_the_did_cdr_request_example(algorithm: str, expected: str) -> None:
    assert sign(**CDR, body=CDR_BODY, access_secret=KEY, algorithm=algorithm) == expected  # type: ignore[arg-type]


def test_the_body_nxframe_sends_is_the_one_in_the_known_answer() -> None:
    """nxframe serialises bodies compactly with sorted keys, the text the known answer signs."""
    import datetime as dt

    from nxframe.query import CdrQuery
    from nxframe.transport import encode_body

    query = CdrQuery.build("2022-08-23", call_type="incoming", page_size=10)
    assert encode_body(query.body(dt.date(2022, 8, 23), 1)).decode() == CDR_BODY


def test_an_unknown_algorithm_is_refused() -> None:
    with pytest.raises(ValueError, match="md5"):
        sign(**NXCLOUD, body=None, access_secret=KEY, algorithm="sha1")  # type: ignore[arg-type]


def test_a_plain_str_secret_is_refused() -> None:
    with pytest.raises(TypeError, match="Secret"):
        sign(**NXCLOUD, body=None, access_secret=SECRET)  # type: ignore[arg-type]


def test_a_lone_surrogate_is_an_input_error_that_holds_no_string_to_sign() -> None:
    surrogate = r"the request cannot be signed: .* lone surrogate \(not valid Unicode\); check NXCLOUD_ACCESS_KEY"
    with pytest.raises(InvalidInputError, match=surrogate) as caught:
        sign(**NXCLOUD, body='{"a":"\udcff"}', access_secret=KEY)
    error = caught.value
    assert error.__cause__ is None and error.__context__ is None
    assert SECRET not in repr(error.args) and SECRET not in repr(vars(error))
