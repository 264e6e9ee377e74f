"""The tenant a message's key names, and the tenant its dead letter belongs to."""

import pytest

from sentinai.streams.key_tenant import KeyNotText, key_tenant, letter_tenant


def test_a_utf8_key_names_its_tenant_and_no_key_names_none() -> None:
    assert key_tenant(b"acme-capital") == "acme-capital"
    assert letter_tenant(b"acme-capital") == "acme-capital"
    assert key_tenant(None) is None and letter_tenant(None) is None


def test_a_key_that_is_not_utf8_names_no_tenant_rather_than_a_garbled_one() -> None:
    reason = r"^the message key is not UTF-8 \(invalid start byte at byte 0\), so it names no tenant$"
    with pytest.raises(KeyNotText, match=reason):
        key_tenant(b"\xff\xfeacme-capital")
    assert letter_tenant(b"\xff\xfeacme-capital") is None
    assert letter_tenant(b"acme-\xe9") is None  # Latin-1
