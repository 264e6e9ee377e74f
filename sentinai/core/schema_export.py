"""Generate packs/schema/*.schema.json from the pack models.

    python -m sentinai.core.schema_export [DIR]          # write the files
    python -m sentinai.core.schema_export --check [DIR]  # exit 1 if they are out of date
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sentinai.core.packs import DomainPack, TenantPolicyPack

SCHEMAS: dict[str, type[BaseModel]] = {
    "domain-pack.schema.json": DomainPack,
    "tenant-policy-pack.schema.json": TenantPolicyPack,
}
DEFAULT_DIR = Path("packs") / "schema"


def schema_for(model: type[BaseModel], filename: str) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://sentinai.example.com/schema/{filename}",
        **schema,
    }


def render(model: type[BaseModel], filename: str) -> str:
    return json.dumps(schema_for(model, filename), indent=2, sort_keys=True) + "\n"


def stale_files(directory: Path) -> list[str]:
    """Schema files that are missing or differ from what the models generate."""
    return [
        name
        for name, model in SCHEMAS.items()
        if not (directory / name).is_file()
        or (directory / name).read_text(encoding="utf-8") != render(model, name)
    ]


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMAS.items():
        path = directory / name
        path.write_text(render(model, name), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentinai.core.schema_export")
    parser.add_argument("directory", nargs="?", default=str(DEFAULT_DIR))
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    directory = Path(args.directory)
    if args.check:
        stale = stale_files(directory)
        for name in stale:
            print(f"{directory / name} is out of date; run python -m sentinai.core.schema_export")
        return 1 if stale else 0
    for path in write(directory):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
