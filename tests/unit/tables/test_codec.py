"""The tables' changelog codec: exact for integers beyond 64 bits, the same bytes as faust's for the rest."""

from __future__ import annotations

import faust
from faust.serializers import codecs
from faust.types import Message

from sentinai.tables import codec


def test_an_integer_beyond_64_bits_is_written_and_read_back_exactly() -> None:
    """faust's json codec refuses to write it (orjson) and would read it back as a float; a step's
    argument taken whole from the payload, or a tool's answer, can hold one."""
    table = codecs.get_codec(codec.NAME)
    state = {"run": {"steps": [{"args": {"account": 10**39 + 7}}]}, "n": -(2**63) - 1}
    assert table.loads(table.dumps(state)) == state


def test_other_values_are_written_as_faust_wrote_them() -> None:
    """Changelogs written before (by faust's codec) and after read the same."""
    state = {"status": "TRIAGED", "first_seen": 1795512600.25, "source": ["in", 3, 42], "run": None,
             "sla": {"deadline": "2026-11-24T10:00:00+00:00", "done": False}, "names": ["é", "\u2603"]}
    faust_json = codecs.get_codec("json")
    assert codecs.get_codec(codec.NAME).dumps(state) == faust_json.dumps(state)
    assert codecs.get_codec(codec.NAME).loads(faust_json.dumps(state)) == state


def test_a_table_made_by_exact_table_writes_and_reads_its_changelog_with_the_codec() -> None:
    """faust makes a table's changelog topic when the table is made, with the table's serializer;
    exact_table hands it one with ours, where faust would have put it (fails if faust moves)."""
    app = faust.App("codec-test", broker="kafka://127.0.0.1:1", store="memory://")
    table = codec.exact_table(app, "exception-state", partitions=4)
    faust_made = app.Table("plain", default=None, partitions=4)
    assert table.changelog_topic.get_topic_name() == "codec-test-exception-state-changelog"
    assert faust_made.changelog_topic.get_topic_name() == "codec-test-plain-changelog"  # the same naming
    assert table.value_serializer == codec.NAME and table.changelog_topic.partitions == 4
    state = {"run": {"args": {"account": 10**39 + 7}}}
    written, _ = table.changelog_topic.prepare_value(state, table.value_serializer)
    message = Message("codec-test-exception-state-changelog", 0, 0, 0.0, 0, None, b'"k"', written, None)
    assert table.changelog_topic.schema.loads_value(app, message) == state
