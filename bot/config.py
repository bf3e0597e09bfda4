"""Settings from the environment (or a ``.env`` file), validated once at start-up.

Every variable is documented in the README. Invalid configuration must end the process
with one line naming the variable, never a traceback: :func:`load_settings` turns
pydantic's errors into :class:`ConfigError` with exactly that line.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from standardwebhooks.webhooks import Webhook

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_PLAN = "plan.example.yaml"
DEFAULT_DATABASE_URL = "sqlite:///oor-bot.db"
DEFAULT_PAGERDUTY_API_URL = "https://api.pagerduty.com"
DEFAULT_PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com"


class ConfigError(Exception):
    """One line that names the offending variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(DEFAULT_SLACK_API_URL, validation_alias="SLACK_API_URL")
    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias="OOR_DATABASE_URL")
    plan_path: Path = Field(Path(DEFAULT_PLAN), validation_alias="OOR_PLAN")
    webhook_secret: SecretStr | None = Field(None, validation_alias="OOR_WEBHOOK_SECRET")
    webhook_token: SecretStr | None = Field(None, validation_alias="OOR_WEBHOOK_TOKEN")
    api_token: SecretStr | None = Field(None, validation_alias="OOR_API_TOKEN")
    # A second read-API token that also sees private incidents (bot.domain.privacy).
    api_private_token: SecretStr | None = Field(None, validation_alias="OOR_API_PRIVATE_TOKEN")
    host: str = Field("127.0.0.1", validation_alias="OOR_HOST")
    port: int = Field(3000, ge=0, le=65535, validation_alias="OOR_PORT")
    # Server processes sharing the port (``oor-bot serve --workers``); None: one per core
    # on PostgreSQL, one on SQLite (see :func:`server_processes`).
    workers: int | None = Field(None, ge=1, le=64, validation_alias="OOR_WORKERS")
    log_level: str = Field("info", validation_alias="OOR_LOG_LEVEL")
    log_format: str = Field("console", validation_alias=AliasChoices("OOR_LOG_FORMAT"))
    # How many outbox jobs (Slack side effects) run at once in this process.
    worker_threads: int = Field(4, ge=1, le=64, validation_alias="OOR_WORKER_THREADS")
    # Seconds an outbox job stays claimed without a heartbeat (renewed every third of it
    # while the process holds the job): a crashed process's work is retried after it.
    job_lease_seconds: int = Field(15, ge=5, le=3600, validation_alias="OOR_JOB_LEASE_SECONDS")
    # On SIGTERM/SIGINT: how long running jobs and HTTP requests get to finish. Under
    # Kubernetes' default terminationGracePeriodSeconds (30), leaving time to give work back.
    shutdown_grace_seconds: float = Field(
        25.0, ge=0, le=3600, validation_alias="OOR_SHUTDOWN_GRACE_SECONDS"
    )
    slack_timeout_seconds: float = Field(10.0, gt=0, validation_alias="OOR_SLACK_TIMEOUT")
    # Longest wait between two Socket Mode connection attempts (they back off up to it).
    socket_mode_retry_max_seconds: float = Field(
        30.0, gt=0, le=600, validation_alias="OOR_SOCKET_MODE_RETRY_MAX_SECONDS"
    )
    # Operator overrides and additions to the customer-notification templates.
    templates_dir: Path | None = Field(None, validation_alias="OOR_TEMPLATES_DIR")
    # How often the step-deadline scan and the digest check run (seconds).
    reminder_scan_seconds: float = Field(5.0, gt=0, validation_alias="OOR_REMINDER_SCAN_SECONDS")
    digest_tick_seconds: float = Field(60.0, gt=0, validation_alias="OOR_DIGEST_TICK_SECONDS")
    # Paging (README "Paging"): PagerDuty's REST API token (who is on call), its two base
    # URLs (tests point them at the emulator) and the Webhooks v3 subscription's secret
    # (several, comma-separated, while rotating); or a generic signed pager webhook.
    pagerduty_api_token: SecretStr | None = Field(None, validation_alias="OOR_PAGERDUTY_API_TOKEN")
    pagerduty_api_url: str = Field(
        DEFAULT_PAGERDUTY_API_URL, validation_alias="OOR_PAGERDUTY_API_URL"
    )
    pagerduty_events_url: str = Field(
        DEFAULT_PAGERDUTY_EVENTS_URL, validation_alias="OOR_PAGERDUTY_EVENTS_URL"
    )
    pagerduty_webhook_secret: SecretStr | None = Field(
        None, validation_alias="OOR_PAGERDUTY_WEBHOOK_SECRET"
    )
    pager_webhook_url: str | None = Field(None, validation_alias="OOR_PAGER_WEBHOOK_URL")
    pager_webhook_secret: SecretStr | None = Field(
        None, validation_alias="OOR_PAGER_WEBHOOK_SECRET"
    )

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return v

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return v

    @field_validator("pagerduty_api_url", "pagerduty_events_url", "pager_webhook_url")
    @classmethod
    def _http_url_shape(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v

    @field_validator("pagerduty_webhook_secret")
    @classmethod
    def _pagerduty_secret_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not all(s.strip() for s in v.get_secret_value().split(",")):
            raise ValueError("must be the subscription's secret (several: comma-separated)")
        return v

    @property
    def pagerduty_webhook_secrets(self) -> list[str]:
        """The Webhooks v3 secrets we accept (two while a rotation is under way)."""
        if self.pagerduty_webhook_secret is None:
            return []
        return [s.strip() for s in self.pagerduty_webhook_secret.get_secret_value().split(",")]

    @field_validator("webhook_secret", "pager_webhook_secret")
    @classmethod
    def _webhook_secret_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None:
            return v
        if not v.get_secret_value().startswith("whsec_"):
            raise ValueError("must be a Standard Webhooks secret starting with whsec_")
        try:
            # Decoded exactly as the verifying library will, so what passes here works there.
            Webhook(v.get_secret_value())
        except Exception:
            # Never chained or echoed: the library's message could quote the secret.
            raise ValueError("must be whsec_ followed by base64 (the decoding failed)") from None
        return v

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_shape(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v if v.endswith("/") else v + "/"

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, v: str) -> str:
        if v.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would pick psycopg2.
            v = "postgresql+psycopg://" + v.removeprefix("postgresql://")
        if not v.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return v

    @field_validator("log_level")
    @classmethod
    def _log_level_shape(cls, v: str) -> str:
        if v.lower() not in {"debug", "info", "warning", "error"}:
            raise ValueError("must be one of debug, info, warning, error")
        return v.lower()

    @field_validator("log_format")
    @classmethod
    def _log_format_shape(cls, v: str) -> str:
        if v not in {"console", "json"}:
            raise ValueError("must be console or json")
        return v

    @property
    def sandbox(self) -> bool:
        """Without a bot token the bot runs against its built-in Slack emulator."""
        return self.slack_bot_token is None

    def check_complete(self) -> None:
        """Cross-field rules for a real (non-sandbox) deployment."""
        # Socket Mode needs no signing secret: requests come over the app's own WebSocket.
        if not self.sandbox and self.slack_signing_secret is None and self.slack_app_token is None:
            raise ConfigError(
                "SLACK_SIGNING_SECRET: required when SLACK_BOT_TOKEN is set without SLACK_APP_TOKEN"
            )
        if self.webhook_secret is None and self.webhook_token is None:
            raise ConfigError(
                "OOR_WEBHOOK_SECRET / OOR_WEBHOOK_TOKEN: set at least one, "
                "or webhooks could not be authenticated"
            )
        if (self.pager_webhook_url is None) != (self.pager_webhook_secret is None):
            raise ConfigError(
                "OOR_PAGER_WEBHOOK_URL / OOR_PAGER_WEBHOOK_SECRET: set both (the pager webhook "
                "is always signed) or neither"
            )


def available_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def server_processes(settings: Settings, cores: int | None = None) -> int:
    """How many ``oor-bot serve`` processes share the port.

    SQLite lets one writer in at a time, so a second process would only queue behind the
    first's write lock (and time out under load); the sandbox's Slack emulator lives in
    its process's memory, so a second process would see another workspace. Both are
    refused rather than quietly wrong.
    """
    single = (
        "SQLite takes one writer at a time"
        if settings.database_url.startswith("sqlite")
        else ("the sandbox's Slack lives in one process" if settings.sandbox else None)
    )
    if settings.workers is None:
        return 1 if single else (cores or available_cores())
    if single and settings.workers > 1:
        raise ConfigError(
            f"OOR_WORKERS: {settings.workers} processes need PostgreSQL and a bot token "
            f"({single}); use 1"
        )
    return settings.workers


def _field_env_name(field_name: str) -> str:
    field = Settings.model_fields.get(field_name)
    alias = field.validation_alias if field else None
    if isinstance(alias, str):
        return alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return field_name.upper()


def load_settings(**overrides: object) -> Settings:
    """Read settings; raise :class:`ConfigError` with one line naming the variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err["loc"][0] if err["loc"] else "?"
        name = _field_env_name(str(loc))
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{name}: {msg}") from None
    return settings
