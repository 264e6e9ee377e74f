"""The tenant a message's Kafka key names: the key's UTF-8 text, or no tenant.

Producers key their input by tenant id. A key that is not UTF-8 names no tenant: decoded with
replacement characters it would be a name no tenant has, and a dead letter filed under it would
belong to a tenant that does not exist — and that no API key can be bound to (tenant ids are
ASCII), so nobody could see it there either. Such a letter has no tenant, as one without a key.
"""

from __future__ import annotations


class KeyNotText(ValueError):
    """The message's key is not UTF-8 text, so it names no tenant."""


def key_tenant(key: object) -> str | None:
    """The tenant the key names; None without a key. Raises :class:`KeyNotText` for a key that is
    not UTF-8."""
    if not isinstance(key, bytes):
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError as err:
        raise KeyNotText(f"the message key is not UTF-8 ({err.reason} at byte {err.start}), so it names "
                         "no tenant") from None


def letter_tenant(key: object) -> str | None:
    """The tenant a dead letter belongs to, by its key: None without a key or for one not UTF-8."""
    try:
        return key_tenant(key)
    except KeyNotText:
        return None
