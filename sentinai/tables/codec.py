"""The tables' changelog values: JSON that keeps every integer exact.

faust's own ``json`` codec goes through orjson both ways when it is installed, and orjson refuses
to write an integer beyond 64 bits (``TypeError``) and reads one as a float. A table value can
hold one — a playbook step's argument taken whole from the payload (``"{payload.account}"``), a
tool's answer — and the input limits accept integers of up to 40 digits. Written in the
producer's background buffer, the refusal would stop the changelog (and every commit after it)
for all tenants; read back after a restart, the float would be a different number. This codec
writes with ``sentinai.streams.codec.dumps`` (orjson, the standard library for what orjson
refuses; the same bytes for everything else) and reads with the standard library.
"""

from __future__ import annotations

import json
from typing import Any

import faust
from faust.serializers import codecs

from sentinai.streams.codec import dumps

NAME = "sentinai-json"


class TableJson(codecs.Codec):
    def _dumps(self, value: Any) -> bytes:
        return dumps(value)

    def _loads(self, data: bytes) -> Any:
        return json.loads(data)


codecs.register(NAME, TableJson())


def exact_table(app: faust.App, name: str, *, partitions: int) -> Any:
    """``app.Table(name, default=None, partitions=partitions)`` whose changelog values go through
    this codec both ways: its changelog topic (made here as faust makes it, with this codec for
    reading) and its writes (``send_changelog`` uses the table's ``value_serializer``)."""
    changelog = app.topic(f"{app.conf.id}-{name}-changelog", key_serializer="json", value_serializer=NAME,
                          partitions=partitions, compacting=True, acks=False, internal=True,
                          maxsize=131_072, allow_empty=True)
    table = app.Table(name, default=None, partitions=partitions, changelog_topic=changelog)
    table.value_serializer = NAME
    return table
