"""Process settings, read from the environment (prefix ``SENTINAI_``).

Every value is validated at start; :func:`load_settings` turns a validation failure into one
line that names the variable and what is wrong, so a bad deployment stops before it does
anything (no traceback).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sentinai.origins import parse_origin

if TYPE_CHECKING:
    from sentinai.core.packs.limits import PackLimits

_HOST_PORT = re.compile(r"[A-Za-z0-9_.\-\[\]:]+:\d{1,5}")


class SettingsError(Exception):
    """A setting has a bad value; the message is one line naming the variable."""


def normalize_broker_url(value: str) -> str:
    """Accept ``kafka://h:p``, bare ``h:p`` and comma lists; return faust's ``kafka://`` form."""
    hosts = []
    for part in value.split(","):
        part = part.strip()
        if part.startswith("kafka://"):
            part = part[len("kafka://") :]
        if not _HOST_PORT.fullmatch(part):
            raise ValueError(f"expected host:port or kafka://host:port, got {part!r}")
        hosts.append(part)
    if not hosts:
        raise ValueError("empty broker list")
    return ";".join(f"kafka://{h}" for h in hosts)


def bootstrap_servers(broker_url: str) -> str:
    """The ``host:port,host:port`` form that plain Kafka clients take."""
    return ",".join(u[len("kafka://") :] for u in broker_url.split(";"))


def asyncpg_dsn(database_url: str) -> str:
    """``postgresql+asyncpg://`` → ``postgresql://`` (asyncpg wants the plain scheme)."""
    return re.sub(r"^postgresql\+asyncpg://", "postgresql://", database_url)


def sqlalchemy_url(database_url: str) -> str:
    """``postgresql://`` → ``postgresql+asyncpg://`` (SQLAlchemy's async dialect)."""
    return re.sub(r"^postgres(ql)?://", "postgresql+asyncpg://", database_url)


def _environment_value(value: object) -> str:
    """A setting as the environment spells it: JSON for mappings, comma lists for sequences."""
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, tuple | list):
        return ",".join(map(str, value))
    return str(value)


class Settings(BaseSettings):
    """All settings of a SentinAI process. Unset broker/database mean the embedded ones."""

    # no inf or nan for a float (a timer every `inf` seconds, a what-if window of `inf` days)
    model_config = SettingsConfigDict(env_prefix="SENTINAI_", extra="ignore", frozen=True, allow_inf_nan=False)

    kafka_broker: str | None = None
    database_url: str | None = None
    topic_partitions: int = Field(default=8, ge=1, le=1024)
    topic_exceptions: str = "sentinai.exceptions"
    topic_events: str = "sentinai.events"
    topic_decisions: str = "sentinai.decisions"
    topic_dlq: str = "sentinai.dlq"
    topic_prefix: str = "sentinai"
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    broker_port: int = Field(default=9092, ge=1, le=65535)
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)  # 0: the worker serves no /metrics
    packs_dir: Path = Path("packs")
    data_dir: Path = Path(".sentinai")
    log_level: str = "INFO"
    app_id: str = "sentinai"
    max_message_bytes: int = Field(default=256_000, ge=1024)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    dedup_window_seconds: int = Field(default=86_400, ge=1)
    # a tenant's exceptions waiting for its quota at most; beyond, intake dead-letters (stage quota)
    deferred_tenant_limit: int = Field(default=1000, ge=1, le=10_000)
    # over-quota exceptions one worker holds waiting at most (all tenants); when full it reads no
    # further deferred input until one is handled, and says so (log, sentinai_deferred_full)
    deferred_capacity: int = Field(default=10_000, ge=1, le=1_000_000)
    # tool and notification requests one worker holds in its tenants' lanes at most (all tenants);
    # when full it reads no further tool requests until one is handled (log, sentinai_tools_full)
    tools_capacity: int = Field(default=10_000, ge=1, le=1_000_000)
    # of which one tenant's at most (the one being called included); beyond, a request is dead-lettered
    # with the reason (stage "tools"), to be replayed, and the other tenants' requests go on
    tools_tenant_capacity: int = Field(default=1_000, ge=1, le=1_000_000)
    pack_changes_per_hour: int = Field(default=60, ge=1)  # a tenant's pack changes through the API
    sink_batch_size: int = Field(default=1000, ge=1)
    sink_batch_ms: int = Field(default=50, ge=1)
    sink_in_flight: int = Field(default=4, ge=1, le=8)  # sink batches written at once (acked in order)
    fetch_max_wait_ms: int = Field(default=50, ge=1, le=10_000)  # the worker consumer's fetch long-poll
    # how long the worker's producer tries to deliver a message before the batch fails (faust's default: 20 min)
    producer_request_timeout_seconds: float = Field(default=120.0, gt=0, le=1200)
    pack_refresh_seconds: float = Field(default=2.0, gt=0)
    # how long a starting worker tries to reach its broker before it stops, naming SENTINAI_KAFKA_BROKER
    broker_wait_seconds: float = Field(default=30.0, gt=0, le=3600)
    # input waiting on the worker's partitions and no work done for this long: the stall ERROR
    stall_seconds: float = Field(default=30.0, ge=1)
    retention_interval_seconds: float = Field(default=3600.0, gt=0)  # how often workers apply dataTTL
    whatif_window_days: float = Field(default=7.0, gt=0, le=36_500)  # the what-if report of a pack proposal
    search_index_interval_seconds: float = Field(default=2.0, gt=0)  # queued search documents built
    search_stats_interval_seconds: float = Field(default=600.0, gt=0)  # similar-case term counts
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str = "gpt-4o-mini"
    # other models a tenant pack may name in llm.model (comma list); LLM_MODEL always may
    llm_models: Annotated[tuple[str, ...], NoDecode] = ()
    llm_timeout_seconds: float = Field(default=10.0, gt=0)
    # The deployment's grants and limits for tenant packs (docs/security.md)
    secrets_dir: Path | None = None  # <dir>/<tenant>/<secret name>: a file per granted secret
    tenant_secrets: Annotated[dict[str, dict[str, str]], NoDecode] = Field(default_factory=dict)  # tenant -> {secret name: env var}
    tools_allow_private: bool = False  # tool calls and webhooks may reach loopback/private addresses
    tools_allow_http: bool = False  # ... and plain http:// endpoints
    tools_allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()  # scheme://host[:port] (host may be *.suffix); empty: any
    max_pack_bytes: int = Field(default=1_048_576, ge=1024)  # one pack document, as canonical JSON
    max_pack_conditions: int = Field(default=2_000, ge=1)  # conditions in one domain + tenant pair
    metrics_token: str | None = None  # when set, GET /metrics needs `Authorization: Bearer <token>`

    @field_validator("kafka_broker")
    @classmethod
    def _broker(cls, value: str | None) -> str | None:
        return None if value in (None, "") else normalize_broker_url(value)

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not re.match(r"^postgres(ql)?(\+asyncpg)?://", value):
            raise ValueError("expected a postgresql:// or postgresql+asyncpg:// URL")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():  # a template that left it empty: no scrape could pass
            raise ValueError("empty: set a token, or unset the variable to leave /metrics open")
        return value

    @field_validator("llm_models", mode="before")
    @classmethod
    def _models(cls, value: object) -> object:
        """A comma list in the environment."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("tools_allowed_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        """A comma list in the environment; each entry must parse as an origin."""
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        for entry in value if isinstance(value, tuple | list) else ():
            parse_origin(str(entry))
        return value

    @field_validator("tenant_secrets", mode="before")
    @classmethod
    def _tenant_secrets_json(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value) if value.strip() else {}
        except ValueError:
            raise ValueError('expected JSON like {"<tenant>": {"<secret name>": "<ENV_VAR>"}}') from None

    @field_validator("tenant_secrets")
    @classmethod
    def _tenant_secrets(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        from sentinai.core.packs.common import SECRET_NAME

        for tenant, grants in value.items():
            for name in grants:
                if not SECRET_NAME.fullmatch(name):
                    raise ValueError(f"secret name {name!r} of tenant {tenant!r} is not a valid name")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    def as_environment(self) -> dict[str, str]:
        """These settings as ``SENTINAI_*`` variables, for a child process.

        Only what was set: a child left to a default must see it as a default (the worker derives
        the partition count from the input topic unless ``SENTINAI_TOPIC_PARTITIONS`` was set)."""
        return {f"SENTINAI_{name.upper()}": _environment_value(value)
                for name, value in self.model_dump(exclude_unset=True).items() if value is not None}

    def pack_limits(self) -> PackLimits:
        from sentinai.core.packs.limits import PackLimits

        return PackLimits(max_document_bytes=self.max_pack_bytes, max_conditions=self.max_pack_conditions)

    def unknown_variables(self, environ: Mapping[str, str]) -> list[str]:
        """``SENTINAI_*`` variables that name no setting (a typo such as ``SENTINAI_METRICS_TOKN``
        would otherwise be ignored without a word); those granted to tenants as secrets are not."""
        known = {f"SENTINAI_{name.upper()}" for name in type(self).model_fields}
        granted = {variable for grants in self.tenant_secrets.values() for variable in grants.values()}
        return sorted(name for name in environ  # pydantic-settings reads the names in any case
                      if name.upper().startswith("SENTINAI_") and name.upper() not in known and name not in granted)

    def require_broker(self) -> str:
        if not self.kafka_broker:
            raise SettingsError("SENTINAI_KAFKA_BROKER: not set (only `sentinai dev` starts an embedded broker)")
        return self.kafka_broker

    def require_database(self) -> str:
        if not self.database_url:
            raise SettingsError("SENTINAI_DATABASE_URL: not set (only `sentinai dev` starts an embedded PostgreSQL)")
        return self.database_url


def load_settings(**overrides: object) -> Settings:
    """Read the settings; raise :class:`SettingsError` with one line per the first bad value."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        first = err.errors()[0]
        name = "SENTINAI_" + str(first["loc"][0]).upper() if first["loc"] else "SENTINAI_*"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message} (got {_without_password(first.get('input'))!r})") from None


def _without_password(value: object) -> object:
    """A URL's ``user:password@`` as ``user:***@``: a refused setting is printed, never a secret."""
    return re.sub(r"(://[^/@:]*:)[^/]*@", r"\1***@", value) if isinstance(value, str) else value
