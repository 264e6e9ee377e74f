import subprocess
import sys
from pathlib import Path

import pytest

from sentinai.settings import (
    SettingsError,
    asyncpg_dsn,
    bootstrap_servers,
    load_settings,
    sqlalchemy_url,
)


def test_broker_accepts_faust_style_bare_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINAI_KAFKA_BROKER", "kafka://a:9092, b:9093")
    settings = load_settings()
    assert settings.kafka_broker == "kafka://a:9092;kafka://b:9093"
    assert bootstrap_servers(settings.kafka_broker) == "a:9092,b:9093"


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("SENTINAI_KAFKA_BROKER", "not a broker", "SENTINAI_KAFKA_BROKER"),
    ("SENTINAI_DATABASE_URL", "mysql://x", "SENTINAI_DATABASE_URL"),
    ("SENTINAI_TOPIC_PARTITIONS", "0", "SENTINAI_TOPIC_PARTITIONS"),
    ("SENTINAI_WEB_PORT", "70000", "SENTINAI_WEB_PORT"),
    ("SENTINAI_LOG_LEVEL", "LOUD", "SENTINAI_LOG_LEVEL"),
    ("SENTINAI_PRODUCER_REQUEST_TIMEOUT_SECONDS", "0", "SENTINAI_PRODUCER_REQUEST_TIMEOUT_SECONDS"),
    ("SENTINAI_PRODUCER_REQUEST_TIMEOUT_SECONDS", "soon", "SENTINAI_PRODUCER_REQUEST_TIMEOUT_SECONDS"),
    ("SENTINAI_TOOLS_ALLOWED_ORIGINS", "api.example.com", "SENTINAI_TOOLS_ALLOWED_ORIGINS"),
    ("SENTINAI_TENANT_SECRETS", "not json", "SENTINAI_TENANT_SECRETS"),
    ("SENTINAI_TENANT_SECRETS", '{"acme": {"../etc/passwd": "X"}}', "SENTINAI_TENANT_SECRETS"),
    ("SENTINAI_TOOLS_ALLOW_PRIVATE", "perhaps", "SENTINAI_TOOLS_ALLOW_PRIVATE"),
    ("SENTINAI_METRICS_TOKEN", "", "SENTINAI_METRICS_TOKEN"),  # every scrape was a 401
    ("SENTINAI_STALL_SECONDS", "inf", "SENTINAI_STALL_SECONDS"),
    ("SENTINAI_WHATIF_WINDOW_DAYS", "inf", "SENTINAI_WHATIF_WINDOW_DAYS"),  # whatif: OverflowError
    ("SENTINAI_WHATIF_WINDOW_DAYS", "1e12", "SENTINAI_WHATIF_WINDOW_DAYS"),
    ("SENTINAI_METRICS_TOKEN", "  ", "SENTINAI_METRICS_TOKEN"),
])
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value).startswith(expected + ":")
    assert "\n" not in str(info.value)


def test_a_refused_url_is_shown_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINAI_DATABASE_URL", "mysql://sentinai:s3cr3t@db.internal:3306/prod")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "s3cr3t" not in str(info.value)
    assert "(got 'mysql://sentinai:***@db.internal:3306/prod')" in str(info.value)


def test_database_url_forms() -> None:
    assert asyncpg_dsn("postgresql+asyncpg://u@h/db") == "postgresql://u@h/db"
    assert sqlalchemy_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert load_settings(database_url="postgresql+asyncpg://u@h/db").database_url == "postgresql+asyncpg://u@h/db"


def test_cli_stops_with_one_line_on_a_bad_setting() -> None:
    result = subprocess.run([sys.executable, "-m", "sentinai", "worker"], capture_output=True, text=True,
                            env={"SENTINAI_TOPIC_PARTITIONS": "many", "PATH": "/usr/bin:/bin"}, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "sentinai: SENTINAI_TOPIC_PARTITIONS: Input should be a valid integer, unable to parse string as an "
        "integer (got 'many')"]


def test_settings_round_trip_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(kafka_broker="h:1", topic_partitions=3, web_port=9000)
    for name, value in settings.as_environment().items():
        monkeypatch.setenv(name, value)
    assert load_settings() == settings


def test_deployment_grants_and_network_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTINAI_TENANT_SECRETS", '{"acme": {"OMS_TOKEN": "ACME_OMS"}}')
    monkeypatch.setenv("SENTINAI_TOOLS_ALLOWED_ORIGINS", "https://api.example.com, https://*.corp.example:8443")
    settings = load_settings()
    assert settings.tenant_secrets == {"acme": {"OMS_TOKEN": "ACME_OMS"}}
    assert settings.tools_allowed_origins == ("https://api.example.com", "https://*.corp.example:8443")
    assert (settings.tools_allow_private, settings.tools_allow_http, settings.metrics_token) == (False, False, None)
    for name, value in settings.as_environment().items():  # what a child process is given
        monkeypatch.setenv(name, value)
    assert load_settings() == settings


PACKS = Path(__file__).resolve().parents[2] / "packs"


def test_a_variable_that_names_no_setting_is_warned_about() -> None:
    """A typo used to be ignored without a word: SENTINAI_METRICS_TOKN left /metrics open."""
    result = subprocess.run([sys.executable, "-m", "sentinai", "packs", "validate", str(PACKS)], capture_output=True,
                            text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "SENTINAI_METRICS_TOKN": "x",
                                                        "SENTINAI_TENANT_SECRETS": '{"acme": {"OMS": "SENTINAI_OMS"}}',
                                                        "SENTINAI_OMS": "granted, not a setting"})
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and warnings[0].endswith(
        "SENTINAI_METRICS_TOKN is not a setting: ignored (a typo?)"), result.stderr


def test_unknown_variables_are_found_in_any_case_as_settings_are_read() -> None:
    settings = load_settings(tenant_secrets={"acme": {"OMS": "SENTINAI_OMS"}})
    assert settings.unknown_variables({"SENTINAI_Log_Level": "INFO", "sentinai_metrics_tokn": "x",
                                       "SENTINAI_OMS": "granted", "HOME": "/root"}) == ["sentinai_metrics_tokn"]
