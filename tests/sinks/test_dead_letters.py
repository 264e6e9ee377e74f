"""Dead letters: idempotent on their source position, paged newest first, marked when replayed."""

from __future__ import annotations

import asyncpg

from sentinai.sinks.dead_letters import (
    claim_replay,
    get_dead_letter,
    list_dead_letters,
    record_dead_letter,
    undo_replay,
)

HEADERS = {"__connect.errors.topic": "sentinai.exceptions", "__connect.errors.partition": "3",
           "__connect.errors.offset": "17", "__connect.errors.exception.class.name": "ValidationError",
           "__connect.errors.exception.message": "payload must be an object", "sentinai.stage": "intake"}


async def _record(pool: asyncpg.Pool, offset: int, *, message: str = "payload must be an object") -> None:
    await record_dead_letter(pool, tenant_id="acme", source_topic="sentinai.exceptions",
                             source_partition=3, source_offset=offset, stage="intake",
                             error_class="ValidationError", error_message=message, headers=HEADERS,
                             key=b"acme", value=b'{"payload": 1}')


async def test_recording_the_same_message_twice_keeps_one(pool: asyncpg.Pool) -> None:
    await _record(pool, 17)
    await _record(pool, 17, message="seen again after a restart")
    letters = await list_dead_letters(pool, "acme")
    assert len(letters) == 1
    letter = letters[0]
    assert (letter["error_message"], letter["headers"], letter["status"], letter["value_size"]) == (
        "payload must be an object", HEADERS, "new", 14)
    assert "value" not in letter


async def test_get_returns_the_bytes(pool: asyncpg.Pool) -> None:
    await _record(pool, 17)
    letter_id = (await list_dead_letters(pool, "acme"))[0]["id"]
    letter = await get_dead_letter(pool, "acme", letter_id)
    assert letter is not None and (letter["key"], letter["value"]) == (b"acme", b'{"payload": 1}')
    assert await get_dead_letter(pool, "acme", letter_id + 1000) is None


async def test_pages_newest_first(pool: asyncpg.Pool) -> None:
    for offset in range(7):
        await _record(pool, offset)
    first = await list_dead_letters(pool, "acme", limit=3)
    second = await list_dead_letters(pool, "acme", limit=3, before_id=first[-1]["id"])
    rest = await list_dead_letters(pool, "acme", limit=3, before_id=second[-1]["id"])
    assert [d["source_offset"] for d in first + second + rest] == [6, 5, 4, 3, 2, 1, 0]


async def test_a_replay_is_claimed_once_unless_forced_and_can_be_given_back(pool: asyncpg.Pool) -> None:
    await _record(pool, 17)
    letter_id = (await list_dead_letters(pool, "acme"))[0]["id"]
    before = await claim_replay(pool, "acme", letter_id)
    assert before == {"status": "new", "replayed_at": None}
    letter = await get_dead_letter(pool, "acme", letter_id)
    assert letter is not None and letter["status"] == "replayed" and letter["replayed_at"] is not None
    assert await claim_replay(pool, "acme", letter_id) is None  # replayed already
    forced = await claim_replay(pool, "acme", letter_id, force=True)
    assert forced is not None and forced["status"] == "replayed"
    assert await claim_replay(pool, "acme", letter_id + 1000, force=True) is None  # no such letter
    assert await claim_replay(pool, "globex", letter_id, force=True) is None  # another tenant's
    await undo_replay(pool, "acme", letter_id, before)
    letter = await get_dead_letter(pool, "acme", letter_id)
    assert letter is not None and letter["status"] == "new" and letter["replayed_at"] is None
