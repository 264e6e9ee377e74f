"""What an operator sees when a command cannot start: one line on stderr naming what is wrong, a
non-zero exit code, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from sentinai.embedded.process import free_port
from tests.support.db import fetch, fetchval
from tests.support.pipeline import PACKS

pytestmark = pytest.mark.integration


def sentinai(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sentinai", *command], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1", **env}, timeout=120)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_web_on_a_database_not_migrated_says_to_migrate(empty_database: str, broker_url: str,
                                                         tmp_path: Path) -> None:
    result = sentinai(["web"], SENTINAI_DATABASE_URL=empty_database, SENTINAI_KAFKA_BROKER=broker_url,
                      SENTINAI_WEB_PORT=str(free_port()), SENTINAI_DATA_DIR=str(tmp_path))
    assert result.returncode == 1
    assert one_line(result).startswith("sentinai web: SENTINAI_DATABASE_URL: UndefinedTableError: ")
    assert one_line(result).endswith("(run `sentinai migrate` first)")


@pytest.mark.parametrize("command", [["web"], ["migrate"], ["whatif", "--tenant", "acme-capital",
                                                             "--candidate", str(PACKS)]])
def test_an_unreachable_database_is_one_line(command: list[str], broker_url: str, tmp_path: Path) -> None:
    url = f"postgresql://sentinai:s3cr3t@127.0.0.1:{free_port()}/sentinai"  # nothing listens there
    result = sentinai(command, SENTINAI_DATABASE_URL=url, SENTINAI_KAFKA_BROKER=broker_url,
                      SENTINAI_WEB_PORT=str(free_port()), SENTINAI_DATA_DIR=str(tmp_path),
                      SENTINAI_PACKS_DIR=str(PACKS))
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith(f"sentinai {command[0]}: ") and "Connect call failed" in line
    assert "s3cr3t" not in line


def test_migrate_with_an_invalid_pack_lists_its_errors(database_url: str, tmp_path: Path) -> None:
    packs = tmp_path / "packs"
    (packs / "tenants").mkdir(parents=True)
    (packs / "domains").mkdir()
    for path in (PACKS / "domains").glob("*.yaml"):
        (packs / "domains" / path.name).write_text(path.read_text())
    acme = (PACKS / "tenants" / "acme-capital.yaml").read_text()
    (packs / "tenants" / "acme-capital.yaml").write_text(acme.replace("tenantId: acme-capital\n",
                                                                      "tenantId: acme-capital\nbogusField: 1\n"))
    result = sentinai(["migrate"], SENTINAI_DATABASE_URL=database_url, SENTINAI_PACKS_DIR=str(packs))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"{packs / 'tenants' / 'acme-capital.yaml'}: bogusField: unknown field (got 1)",
        f"sentinai migrate: nothing imported from {packs} (SENTINAI_PACKS_DIR)"]
    assert result.stdout == ""


def test_migrate_on_a_database_that_does_not_exist_is_one_line(server_url: str) -> None:
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/absent_{uuid.uuid4().hex[:8]}"))
    result = sentinai(["migrate"], SENTINAI_DATABASE_URL=url, SENTINAI_PACKS_DIR=str(PACKS))
    assert result.returncode == 1
    assert one_line(result).startswith("sentinai migrate: SENTINAI_DATABASE_URL: InvalidCatalogNameError: ")


def test_migrate_of_an_older_release_on_a_newer_database_is_one_line(database_url: str) -> None:
    """A release rolled back: its `migrate` finds a revision it does not know."""
    fetch(database_url, "UPDATE alembic_version SET version_num = '0099_future'")
    result = sentinai(["migrate"], SENTINAI_DATABASE_URL=database_url, SENTINAI_PACKS_DIR=str(PACKS))
    assert result.returncode == 1
    assert one_line(result) == ("sentinai migrate: Can't locate revision identified by '0099_future' "
                                "(migrated by a newer release?)")


def test_a_worker_whose_metrics_port_is_taken_names_the_setting(database_url: str, broker_url: str,
                                                                tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        prefix = f"t{uuid.uuid4().hex[:8]}"  # topics of its own on the shared broker
        topics = {f"SENTINAI_TOPIC_{name.upper()}": f"{prefix}.{name}"
                  for name in ("exceptions", "events", "decisions", "dlq")}
        result = sentinai(["worker"], SENTINAI_DATABASE_URL=database_url, SENTINAI_KAFKA_BROKER=broker_url,
                          SENTINAI_WORKER_METRICS_PORT=str(port), SENTINAI_DATA_DIR=str(tmp_path),
                          SENTINAI_TOPIC_PREFIX=prefix, SENTINAI_APP_ID=prefix, **topics)
    assert result.returncode == 2
    assert one_line(result) == (f"sentinai: SENTINAI_WORKER_METRICS_PORT: cannot listen on 127.0.0.1:{port} "
                                "(Address already in use)")


def test_a_worker_whose_broker_does_not_answer_names_the_setting(database_url: str, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    # it tries for SENTINAI_BROKER_WAIT_SECONDS (30 by default) before it gives up; 2 here
    result = sentinai(["worker"], SENTINAI_DATABASE_URL=database_url, SENTINAI_KAFKA_BROKER=f"127.0.0.1:{port}",
                      SENTINAI_DATA_DIR=str(tmp_path), SENTINAI_BROKER_WAIT_SECONDS="2")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"sentinai: SENTINAI_KAFKA_BROKER: no broker answered at 127.0.0.1:{port} (KafkaConnectionError")


def test_keys_create_refuses_a_tenant_the_platform_does_not_know(database_url: str) -> None:
    """A key for a tenant with no activated pack (no `tenants` row, a typo say) was created and
    printed, and every request with it was a 404. It is refused with one line naming the tenant."""
    fetch(database_url, "INSERT INTO tenants (tenant_id, domain_name) VALUES ('acme-capital', 'CapitalMarketsTrading')")
    result = sentinai(["keys", "create", "--tenant", "acme-capitol", "--role", "operator"],
                      SENTINAI_DATABASE_URL=database_url)
    assert result.returncode == 2 and result.stdout == ""
    line = one_line(result)
    assert line.startswith("sentinai keys create: unknown tenant 'acme-capitol'") and "acme-capital" in line
    assert fetchval(database_url, "SELECT count(*) FROM api_keys") == 0
    made = sentinai(["keys", "create", "--tenant", "acme-capital", "--role", "operator"],
                    SENTINAI_DATABASE_URL=database_url)
    assert made.returncode == 0 and made.stdout.strip().startswith("snt_"), made.stderr
    assert [r["tenant_id"] for r in fetch(database_url, "SELECT tenant_id FROM api_keys")] == ["acme-capital"]
    everyone = sentinai(["keys", "create", "--tenant", "*", "--role", "admin"], SENTINAI_DATABASE_URL=database_url)
    assert everyone.returncode == 0, everyone.stderr  # `*` names every tenant, not one
