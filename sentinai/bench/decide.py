"""Full decisions per second on the sample packs: JSON decode + normalize + decide.

    python -m sentinai.bench.decide [--count N] [--packs DIR] [--seed S]

Prints a table, then `name: value` lines (the last is `decisions_per_second`).
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime
from pathlib import Path

from sentinai.bench.stages import print_stages, rate
from sentinai.core.engine import decide
from sentinai.core.input_limits import check_value
from sentinai.core.normalize import normalize
from sentinai.core.packs import PackSet, load_pack_dir
from sentinai.samples import sample_exception

DEFAULT_PACKS = Path(__file__).resolve().parents[2] / "packs"


def _messages(pack_set: PackSet, count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [json.dumps(sample_exception(rng, pack_set)).encode() for _ in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentinai.bench.decide")
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--packs", default=str(DEFAULT_PACKS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    pack_set = load_pack_dir(args.packs)
    messages = _messages(pack_set, args.count, args.seed)
    now = datetime.now(UTC)
    known = pack_set.tenants
    decoded = [json.loads(m) for m in messages]
    normalized = [normalize(raw, now=now, known_tenants=known) for raw in decoded]
    compiled = {tenant: pack_set.for_tenant(tenant) for tenant in known}

    def full() -> None:
        for message in messages:
            exception = normalize(
                json.loads(message), now=now, known_tenants=known, raw_size=len(message)
            )
            packs = pack_set.for_tenant(exception.tenant_id)
            assert packs is not None
            decide(exception, packs, now=now)

    def normalize_only() -> None:
        for raw in decoded:
            normalize(raw, now=now, known_tenants=known)

    def limits_only() -> None:
        for raw in decoded:
            check_value(raw)

    def decide_only() -> None:
        for exception in normalized:
            packs = compiled[exception.tenant_id]
            assert packs is not None
            decide(exception, packs, now=now)

    rows = [
        ("decode+normalize+decide", rate(full, args.count, args.repeats)),
        ("normalize (dict input)", rate(normalize_only, args.count, args.repeats)),
        ("input limits (in normalize)", rate(limits_only, args.count, args.repeats)),
        ("decide (normalized input)", rate(decide_only, args.count, args.repeats)),
    ]
    print_stages(rows, width=28)
    average = sum(len(m) for m in messages) / len(messages)
    print(f"messages: {args.count}")
    print(f"avg_message_bytes: {average:.0f}")
    print(f"tenants: {len(known)}")
    print(f"input_limits_share_of_normalize: {rows[1][1] / rows[2][1]:.2f}")
    print(f"decisions_per_second: {rows[0][1]:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
