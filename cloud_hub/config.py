"""The hub's one config pipeline (same rules as the edge agent's).

Precedence, highest first: command-line flags, environment variables with the
``STOREEDGE_HUB_`` prefix, the TOML file given with ``--config``, defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from cloud_hub.errors import HubConfigError
from storeedge import settings as kit_settings

__all__ = ["HubSettings", "load_settings"]

ENV_PREFIX = "STOREEDGE_HUB_"


class HubSettings(kit_settings.TomlSettings):
    """Settings of `cloud-hub serve` and the commands that read the hub database."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    db: Path | None = Field(default=None, description="Path of the hub's SQLite database.")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    nats_url: str | None = Field(
        default=None, description="NATS server or cluster, comma-separated."
    )
    nats_creds: Path | None = Field(default=None, description="The hub's NATS credentials file.")
    nats_tls_ca: Path | None = Field(default=None, description="CA bundle for TLS to NATS.")
    nats_tls_cert: Path | None = Field(default=None, description="Client certificate (mTLS).")
    nats_tls_key: Path | None = Field(default=None, description="Client key (mTLS).")
    insecure: bool = Field(
        default=False, description="Connect without credentials (development and tests only)."
    )
    embedded_nats_dir: Path | None = Field(
        default=None,
        description="Start an embedded nats-server with JetStream in this folder (demo, trials).",
    )
    stream_replicas: int = Field(
        default=1, ge=1, le=5, description="Replicas of the kit's streams (3 on a cluster)."
    )
    ingest_batch: int = Field(default=1_000, ge=1, le=10_000, description="Messages per fetch.")
    failpoint: str | None = Field(
        default=None,
        pattern=r"^[a-z_.]+(:[0-9]+)?$",
        description="Fault tests only: crash at the N-th pass of a named point (name:N).",
    )
    chain_gap_timeout_s: float = Field(
        default=900.0,
        gt=0,
        description="An audit-chain gap still open after this long flags the store.",
    )


def load_settings(config_file: Path | None = None, **overrides: Any) -> HubSettings:
    """Build validated settings; flags given as ``overrides`` win (None means unset)."""
    return kit_settings.load(HubSettings, config_file, overrides, error=HubConfigError)
