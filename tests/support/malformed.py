"""Malformed input of every kind we have seen or can imagine, for chaos tests of the intake.

Each message must end in the DLQ: none of them is a valid exception for a tenant with a pack.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass

#: Share of each kind in a batch (they add up to 1).
KINDS = {
    "random_bytes": 0.18,
    "not_utf8": 0.05,
    "truncated_json": 0.10,
    "json_not_object": 0.10,
    "wrong_field_types": 0.20,
    "unknown_tenant": 0.25,
    "huge_payload": 0.02,
    "deep_nesting": 0.06,
    "empty_value": 0.01,
    "null_value": 0.01,
    "nul_bytes_key": 0.02,
}
NESTING = 10_000


@dataclass(frozen=True)
class Malformed:
    kind: str
    key: bytes | None
    value: bytes | None


def _valid_shape(tenant: str, i: int, **fields: object) -> dict[str, object]:
    return {"tenant_id": tenant, "exception_id": f"BAD-{i}", "source_system": "chaos",
            "exception_type": "SETTLEMENT_FAIL", "payload": {"n": i}, **fields}


def _wrong_field_types(rng: random.Random, tenant: str, i: int) -> dict[str, object]:
    variants: list[dict[str, object]] = [
        {"tenant_id": 42}, {"tenant_id": ["a"]}, {"tenant_id": ""}, {"tenant_id": None},
        {"payload": [1, 2]}, {"payload": "text"}, {"payload": 7}, {"payload": None},
        {"context": [1]}, {"context": "ctx"}, {"exception_id": {"id": 1}}, {"exception_id": "x" * 300},
        {"occurred_at": "yesterday"}, {"occurred_at": [2026]}, {"occurred_at": 1e300},
        {"source_system": 5}, {"exception_type": {"t": 1}},
    ]
    return _valid_shape(tenant, i, **rng.choice(variants))


def make_malformed(count: int, *, known_tenants: list[str], max_bytes: int, seed: int = 11) -> list[Malformed]:
    """``count`` malformed messages, their kinds in the proportions of :data:`KINDS`, shuffled."""
    rng = random.Random(seed)
    kinds = [kind for kind, share in KINDS.items() for _ in range(round(share * count))]
    kinds = (kinds + ["random_bytes"] * count)[:count]
    rng.shuffle(kinds)
    out = []
    for i, kind in enumerate(kinds):
        tenant = rng.choice(known_tenants)
        key: bytes | None = tenant.encode()
        value: bytes | None
        if kind == "random_bytes":
            key = rng.choice([None, rng.randbytes(8), key])
            value = rng.randbytes(rng.randint(1, 400))
        elif kind == "not_utf8":
            value = b'{"tenant_id": "' + tenant.encode() + b'", "payload": {"x": "\xff\xfe\xfa"}}'
        elif kind == "truncated_json":
            text = json.dumps(_valid_shape(tenant, i)).encode()
            value = text[: rng.randint(1, len(text) - 1)]
        elif kind == "json_not_object":
            value = json.dumps(rng.choice([[tenant], 17, "text", None, True, 3.5, []])).encode()
        elif kind == "wrong_field_types":
            value = json.dumps(_wrong_field_types(rng, tenant, i)).encode()
        elif kind == "unknown_tenant":
            key = f"nosuch-{i % 50}".encode()
            value = json.dumps(_valid_shape(f"nosuch-{i % 50}", i)).encode()
        elif kind == "huge_payload":
            value = json.dumps(_valid_shape(tenant, i, payload={"blob": "x" * (max_bytes + rng.randint(1, 8_000))})).encode()
        elif kind == "deep_nesting":
            deep = ("[" * NESTING + "]" * NESTING) if i % 2 else ('{"a":' * NESTING + "1" + "}" * NESTING)
            value = json.dumps(_valid_shape(tenant, i, payload={"deep": 0})).encode().replace(b"0}", deep.encode() + b"}", 1)
        elif kind == "empty_value":
            value = b""
        elif kind == "null_value":
            value = None
        else:  # nul_bytes_key: a key PostgreSQL text cannot hold, on an input that is bad too
            key = b"ten\x00ant-" + str(i).encode()
            value = b"\x00\x01not json"
        out.append(Malformed(kind, key, value))
    return out


def kind_counts(messages: list[Malformed]) -> Counter[str]:
    return Counter(m.kind for m in messages)
