"""Reading a message's value: UTF-8 JSON only, and a reason that says so."""

import codecs

import pytest

from sentinai.streams.codec import UndecodableMessage, loads


@pytest.mark.parametrize("value", [
    b"\xff\xfe{}",  # starts like UTF-16 (little-endian byte order mark)
    b"\xff\xfe\x00",  # json's guess (UTF-16) cannot decode it either
    b'{"tenant_id": "acme", "payload": {"note": "caf\xe9"}}',  # Latin-1
])
def test_a_value_that_is_not_utf8_is_refused_as_such(value: bytes) -> None:
    with pytest.raises(UndecodableMessage) as refused:
        loads(value)
    assert str(refused.value).startswith("not UTF-8 JSON: ")
    assert "UTF-16" not in str(refused.value) and "utf-16" not in str(refused.value)


def test_the_reason_names_the_first_byte_that_is_not_utf8() -> None:
    with pytest.raises(UndecodableMessage, match=r"^not UTF-8 JSON: invalid start byte at byte 0$"):
        loads(b"\xff\xfe{}")
    with pytest.raises(UndecodableMessage, match=r"at byte 8$"):
        loads(codecs.BOM_UTF8 + b'{"a":\xff}')


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_json_in_another_unicode_encoding_is_not_taken_for_utf8(encoding: str) -> None:
    """json's own detection would read these as the document they encode."""
    with pytest.raises(UndecodableMessage, match="^not UTF-8 JSON: "):
        loads('{"tenant_id": "acme"}'.encode(encoding))


def test_utf16_without_a_byte_order_mark_is_utf8_but_not_json() -> None:
    """Its ASCII characters are valid UTF-8 between NUL bytes, which JSON has no place for."""
    with pytest.raises(UndecodableMessage, match="^not a JSON document: "):
        loads('{"tenant_id": "acme"}'.encode("utf-16-le"))


def test_utf8_json_is_read_with_or_without_a_byte_order_mark() -> None:
    document = '{"tenant_id": "acme", "note": "café"}'
    assert loads(document.encode()) == {"tenant_id": "acme", "note": "café"}
    assert loads(codecs.BOM_UTF8 + document.encode()) == {"tenant_id": "acme", "note": "café"}
    assert loads(document) == {"tenant_id": "acme", "note": "café"}


def test_bad_json_and_no_value_keep_their_reasons() -> None:
    with pytest.raises(UndecodableMessage, match="^not a JSON document: "):
        loads(b"{not json")
    with pytest.raises(UndecodableMessage, match="^message has no value$"):
        loads(None)
