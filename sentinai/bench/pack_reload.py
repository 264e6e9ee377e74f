"""Benchmark: the worker's pack reload after one tenant's upload, with and without the memo.

    python -m sentinai.bench.pack_reload [--tenants N] [--pack-bytes B]

Every worker reloads the active packs when a version changes (`sentinai.caches.packs`). It used
to validate and compile every tenant's pack again; with `loader.ModelMemo` it validates the changed
one. Builds N tenants with packs of about B bytes of JSON (the upload benchmark's large pack), then
times, in the same run, a full build (the baseline) and a reload after one tenant's pack changed.
"""

from __future__ import annotations

import argparse
import time

from sentinai.bench.packs import PACKS_DIR, large_pack
from sentinai.core.packs.limits import PackLimits
from sentinai.core.packs.loader import ModelMemo, build_valid_packs
from sentinai.core.packs.yaml_loader import load_yaml

LIMITS = PackLimits(max_document_bytes=4_000_000, max_conditions=100_000)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--pack-bytes", type=int, default=200_000)
    args = parser.parse_args(argv)
    domain = load_yaml((PACKS_DIR / "domains" / "capital-markets-trading.yaml").read_text())
    tenants = []
    for i in range(args.tenants):
        pack = large_pack(i, target_bytes=args.pack_bytes)
        pack.pop("testSuites", None)
        tenants.append({**pack, "tenantId": f"bench-{i:03d}"})

    started = time.perf_counter()
    packs, issues = build_valid_packs([domain], tenants, limits=LIMITS)
    full = time.perf_counter() - started
    assert not issues and len(packs.tenants) == args.tenants, issues

    memo = ModelMemo()
    build_valid_packs([domain], tenants, limits=LIMITS, memo=memo)
    tenants[0] = {**tenants[0], "displayName": "changed"}
    started = time.perf_counter()
    packs, issues = build_valid_packs([domain], tenants, limits=LIMITS, memo=memo)
    reload = time.perf_counter() - started
    assert not issues and packs.tenants["bench-000"].display_name == "changed"

    print(f"{args.tenants} tenant packs of about {args.pack_bytes:,} bytes")
    print(f"full_build_seconds: {full:.3f}")
    print(f"reload_after_one_upload_seconds: {reload:.3f}")
    print(f"reload_vs_full_ratio: {reload / full:.3f}")


if __name__ == "__main__":
    main()
