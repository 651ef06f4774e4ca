"""Every setting of dsnlink, in one place.

Settings come from environment variables prefixed ``DSNLINK_`` (``DSNLINK_DATA_DIR``...),
then defaults. Secrets are ``SecretStr`` so that they never print. Each setting is documented
in ``docs/settings.md`` (a test checks it).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("dsnlink", appauthor=False))


class Settings(BaseSettings):
    """Process-wide settings (installation-wide ones live in the database)."""

    model_config = SettingsConfigDict(env_prefix="DSNLINK_", extra="ignore")

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Data folder: SQLite database, key file, return files, logs.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database; default: SQLite file in the data folder.",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="Master key (base64 of 32 bytes); else the key file, else the OS keyring.",
    )
    master_key_file: Path | None = Field(
        default=None,
        description="Path of the master key file; default: master.key in the data folder.",
    )
    keyring: bool = Field(
        default=True,
        description="Use the OS keyring for the master key when one is available.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="WARNING", description="Level of the log lines written to stderr."
    )
    log_json: bool = Field(default=False, description="Write log lines as JSON.")
    password_hash_profile: Literal["owasp", "fast-insecure-tests"] = Field(
        default="owasp",
        description="argon2id parameters for local accounts; the second is for tests only.",
    )

    # --- portal (API-DSN client) ---
    portal_profile: Literal["production", "test", "msa", "msa-test", "simulator", "custom"] = Field(
        default="simulator",
        description="Net-entreprises environment: production (régime général), editors' test, "
        "MSA, MSA test, the local simulator, or custom base URLs.",
    )
    portal_simulator_url: str = Field(
        default="http://127.0.0.1:8765",
        description="Base URL of the local simulator (profile simulator).",
    )
    portal_auth_url: str | None = Field(
        default=None, description="Base URL of the authentication host (overrides the profile)."
    )
    portal_deposit_url: str | None = Field(
        default=None, description="Base URL of the deposit host (overrides the profile)."
    )
    portal_consultation_url: str | None = Field(
        default=None, description="Base URL of the listings host (overrides the profile)."
    )
    portal_download_hosts: str | None = Field(
        default=None,
        description="Comma-separated extra hosts that download URLs may point to.",
    )
    portal_service_code: str | None = Field(
        default=None, description="Service code sent at authentication (overrides the profile)."
    )
    portal_api_version: Literal["1.0", "2.0"] = Field(
        default="1.0", description="API version of deposit and listings: 1.0 XML, 2.0 JSON."
    )
    portal_connection_mode: Literal["normal", "etendu", "securise"] = Field(
        default="normal", description="Connection mode: timeouts, retries and TLS strictness."
    )
    portal_proxy_url: SecretStr | None = Field(
        default=None,
        description="HTTP(S) proxy URL, optionally with credentials (http://user:pw@host:port).",
    )
    portal_trust_env: bool = Field(
        default=False, description="Use the system proxy settings (HTTPS_PROXY, NO_PROXY...)."
    )
    portal_ca_bundle: Path | None = Field(
        default=None,
        description="PEM file of extra trusted CAs (a TLS-inspecting proxy, the simulator's CA).",
    )
    portal_token_reuse_seconds: int = Field(
        default=1800, ge=60, description="How long a portal token is reused before a new login."
    )
    portal_window_minutes: int = Field(
        default=60, ge=1, description="Width of listing windows until the portal announces one."
    )
    portal_timezone: str = Field(
        default="Europe/Paris", description="Time zone of the timestamps in listing paths."
    )

    # --- pipeline: deposits, returns, deadlines, alerts -------------------------------------
    pipeline_concurrency: int = Field(
        default=16, ge=1, description="Pipeline steps run at once (deposits, polls), overall."
    )
    pipeline_identity_concurrency: int = Field(
        default=4, ge=1, description="Pipeline steps run at once for one Net-entreprises identity."
    )
    pipeline_poll_schedule: str = Field(
        default="5m,30m,2h,6h,1d",
        description="Delays between two polls of a deposit's returns; the last one repeats.",
    )
    pipeline_max_polls: int = Field(
        default=15, ge=1, description="Polls of a deposit's returns before asking a person."
    )
    worker_concurrency: int = Field(
        default=8,
        ge=1,
        le=10,
        description="Réseau: pipeline steps one worker process runs at once (at most 10: more "
        "would wait for the process's database connections; start another worker instead).",
    )
    worker_dispatch_seconds: int = Field(
        default=5,
        ge=1,
        le=60,
        description="Réseau: how often due deposits and polls are put in the job queue.",
    )
    worker_backup_seconds: int = Field(
        default=60,
        ge=1,
        le=60,
        description="Réseau: how often the workers look whether a scheduled backup is due.",
    )
    worker_heartbeat_seconds: float = Field(
        default=10, gt=0, description="Réseau: how often a worker tells the database it is alive."
    )
    worker_stalled_seconds: float = Field(
        default=60,
        gt=0,
        description="Réseau: silence after which a worker is dead and its jobs are run again.",
    )
    worker_sync_minutes: int = Field(
        default=15,
        ge=1,
        le=59,
        description="Réseau: how often the declarant-wide returns listing is walked.",
    )
    pipeline_kill_points: str = Field(
        default="", description="Tests only: kill the process at these points (crash tests)."
    )
    deadline_day: int = Field(
        default=15, ge=1, le=28, description="Default due day of a monthly DSN (5 or 15)."
    )
    watch_dir: Path | None = Field(
        default=None, description="Folder watched for DSN files by « dsnlink serve »."
    )
    watch_user: str | None = Field(
        default=None,
        description="Account on whose behalf « dsnlink serve » deposits the watched folder's "
        "files; default: the Administrateur.",
    )
    alert_smtp_host: str | None = Field(default=None, description="SMTP server for alerts.")
    alert_smtp_port: int = Field(default=25, description="Port of the SMTP server for alerts.")
    alert_smtp_from: str = Field(
        default="dsnlink@localhost", description="Sender address of alert e-mails."
    )
    alert_email_to: str = Field(
        default="", description="Comma-separated addresses that receive every alert."
    )
    alert_webhook_url: str | None = Field(
        default=None, description="URL that receives every alert as a JSON POST."
    )

    # --- web (dsnlink serve) -------------------------------------------------------------
    web_session_minutes: int = Field(
        default=120, ge=1, description="A web session ends after this many idle minutes."
    )
    web_confirm_minutes: int = Field(
        default=10,
        ge=1,
        description="After confirming one's own password, credentials may be edited this long.",
    )
    web_upload_max_bytes: int = Field(
        default=50_000_000, ge=1024, description="Largest file accepted by a web upload."
    )

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "dsnlink.sqlite3"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def effective_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once. Tests call ``get_settings.cache_clear()``."""
    return Settings()
