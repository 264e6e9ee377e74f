"""Pack files a hostile author could drop in the packs folder (issue 16): a YAML alias bomb and
an oversized file fail validation at once, before anything expands or compiles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sentinai.core.packs import PackValidationError, load_pack_dir
from sentinai.core.packs.limits import PackLimits, condition_count

PACKS_DIR = Path(__file__).resolve().parents[4] / "packs"

ALIAS_BOMB = "\n".join(
    ["tenantId: bomb-co", "domainName: CapitalMarketsTrading", "version: '1'",
     "displayName: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"x{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
) + "\n"
"""Nine levels of nine aliases: 9^10 (3.5 billion) strings once anything walks it."""


def _folder(tmp_path: Path, tenant_file: str, text: str) -> Path:
    (tmp_path / "domains").mkdir()
    (tmp_path / "tenants").mkdir()
    domain = PACKS_DIR / "domains" / "capital-markets-trading.yaml"
    (tmp_path / "domains" / domain.name).write_text(domain.read_text())
    (tmp_path / "tenants" / tenant_file).write_text(text)
    return tmp_path


def test_an_alias_bomb_is_refused_by_the_loader(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "bomb.yaml", ALIAS_BOMB)
    with pytest.raises(PackValidationError) as error:
        load_pack_dir(folder)
    [issue] = error.value.issues
    assert issue.file.endswith("bomb.yaml")
    assert "aliases (*name) are not allowed in packs" in issue.message
    assert "line 5" in issue.message


def test_sentinai_packs_validate_fails_fast_on_an_alias_bomb(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "bomb.yaml", ALIAS_BOMB)
    done = subprocess.run([sys.executable, "-m", "sentinai", "packs", "validate", str(folder)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "aliases (*name) are not allowed in packs" in done.stderr


def test_anchors_without_aliases_still_load(tmp_path: Path) -> None:
    text = (PACKS_DIR / "tenants" / "acme-capital.yaml").read_text()
    folder = _folder(tmp_path, "acme.yaml", text.replace("displayName:", "displayName: &name", 1))
    assert "acme-capital" in load_pack_dir(folder).tenants


def test_a_file_over_the_size_limit_is_not_parsed(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "big.yaml", "tenantId: big-co\n" + "# padding\n" * 3000)
    with pytest.raises(PackValidationError) as error:
        load_pack_dir(folder, limits=PackLimits(max_document_bytes=20_000))
    assert [i.message for i in error.value.issues] == [
        f"the file is {(folder / 'tenants' / 'big.yaml').stat().st_size} bytes; the limit is 20000"]


def test_condition_count_covers_every_place_a_condition_can_be() -> None:
    document = {
        "exceptionTypes": {"A": {"detectionRules": ["a", "b"]}, "B": {}},
        "severityRules": [{"condition": "c"}],
        "playbooks": [{"conditions": "d"}, {"conditions": {"condition": "e"}},
                      {"conditions": {"exceptionTypes": ["A"]}}],
        "customPlaybooks": [{"conditions": "f"}],
    }
    assert condition_count(document) == 6
