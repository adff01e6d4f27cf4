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

__all__ = ["LOG_FORMAT", "HubSettings", "load_settings"]

ENV_PREFIX = "STOREEDGE_HUB_"

#: The hub's log lines (serve and its API process write to the same stderr).
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
    nats_auth_file: Path | None = Field(
        default=None,
        description="Authorization include the hub writes from its store registry, for the "
        "NATS server it manages (embedded: auth.conf in embedded_nats_dir).",
    )
    nats_pid_file: Path | None = Field(
        default=None,
        description="Pid file of that NATS server; it is told to reload after each registry "
        "change (embedded: nats-server.pid in embedded_nats_dir).",
    )
    creds_dir: Path | None = Field(
        default=None,
        description="Where `stores add|replace` write store seeds (default: creds/ beside db).",
    )
    signing_dir: Path | None = Field(
        default=None,
        description="Folder of the model-signing keys (default: signing/ beside db).",
    )
    stream_replicas: int = Field(
        default=1, ge=1, le=5, description="Replicas of the kit's streams (3 on a cluster)."
    )
    ingest_batch: int = Field(default=1_000, ge=1, le=10_000, description="Messages per fetch.")
    outcome_join_interval_s: float = Field(
        default=2.0, gt=0, le=3600,
        description="How often `serve` joins newly ingested records to decisions (outcomes).",
    )  # fmt: skip
    failpoint: str | None = Field(
        default=None,
        pattern=r"^[a-z_.]+(:[0-9]+)?$",
        description="Fault tests only: crash at the N-th pass of a named point (name:N).",
    )
    grpc_address: str | None = Field(
        default=None,
        pattern=r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$",
        description="Serve the gRPC API on HOST:PORT beside ingest (port 0: any free port); "
        "TLS (api_tls_cert, api_tls_key) is required unless HOST is loopback.",
    )
    api_auth: bool = Field(
        default=True,
        description="Require an API token on every call but health and reflection; turned "
        "off only by `serve --no-api-auth` (development), logged loudly.",
    )
    api_tls_cert: Path | None = Field(default=None, description="The API's TLS certificate.")
    api_tls_key: Path | None = Field(default=None, description="The API's TLS private key.")
    api_tls_client_ca: Path | None = Field(
        default=None,
        description="Require client certificates signed by this CA (mutual TLS on the API).",
    )
    api_shutdown_grace_s: float = Field(
        default=5.0, ge=0, le=60, description="Calls in flight get this long at shutdown."
    )
    chain_gap_timeout_s: float = Field(
        default=900.0,
        gt=0,
        description="An audit-chain gap still open after this long flags the store.",
    )

    train_interval_hours: float = Field(
        default=24.0,
        ge=0,
        description="`cloud-hub serve` retrains every model this often (0: never).",
    )
    train_margin: float = Field(
        default=0.02,
        ge=0,
        lt=1,
        description="A challenger is promoted only if its backtest error is at least this "
        "share below the champion's (0.02: 2 % better).",
    )
    train_ring_tolerance: float = Field(
        default=0.05,
        ge=0,
        description="...and if on no ring's stores its error exceeds the champion's by more "
        "than this share.",
    )
    train_holdout_days: int = Field(
        default=28, ge=1, le=90, description="Recent days held out per store for the backtest."
    )
    train_sample_skus: int = Field(
        default=500,
        ge=0,
        description="SKUs per store (stratified by category) replenishment trains and "
        "backtests on; 0: all.",
    )
    train_origins: int = Field(
        default=16, ge=1, le=60, description="Weekly forecast origins per store in training."
    )
    train_season_weeks: int = Field(
        default=10,
        ge=0,
        le=26,
        description="Older weekly origins also trained on when within this many weeks of "
        "the forecast day's time of year, in every earlier year the history holds; 0: off.",
    )
    train_rows: int = Field(
        default=1_500_000,
        ge=1_000,
        description="Daily rows replenishment trains on at most (about 1 KB of memory each "
        "at the peak); beyond it, a stratified share of each store's sampled SKUs.",
    )
    train_horizon_stride: int = Field(
        default=4,
        ge=1,
        le=28,
        description="Each training origin gives rows for every k-th horizon (offset turning "
        "with the origin): k times fewer, less redundant rows.",
    )

    train_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="LightGBM threads for retraining (1 keeps a core for ingest; on a busy "
        "2-core box two threads ran several times slower than one).",
    )

    # Rollouts in rings (cloud_hub/rollouts.py; docs/ARCHITECTURE.md "Rollouts in rings").
    rollout_tick_s: float = Field(
        default=5.0, gt=0, le=3600, description="How often `serve` advances running rollouts."
    )
    rollout_swap_deadline_s: float = Field(
        default=3600.0,
        gt=0,
        description="Every offered store of a ring must report the swap applied within this.",
    )
    rollout_error_rate_tolerance: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="A ring fails if its share of FAILED/BLOCKED decisions after the swap "
        "exceeds the share before by more than this (absolute).",
    )
    rollout_accuracy_window_days: int = Field(
        default=1,
        ge=0,
        le=90,
        description="Days of outcomes after the swap the live-accuracy check waits for "
        "(0: no live-accuracy check).",
    )
    rollout_accuracy_tolerance: float = Field(
        default=0.10,
        ge=0,
        le=10,
        description="A ring fails if its live error exceeds the champion's by more than this "
        "share (0.10: 10% worse).",
    )
    rollout_gate_timeout_s: float = Field(
        default=7 * 86400.0,
        gt=0,
        description="A ring still waiting for outcomes after this long fails its gate.",
    )

    def authorization_file(self) -> Path | None:
        if self.nats_auth_file is not None:
            return self.nats_auth_file
        return self.embedded_nats_dir / "auth.conf" if self.embedded_nats_dir else None

    def server_pid_file(self) -> Path | None:
        if self.nats_pid_file is not None:
            return self.nats_pid_file
        return self.embedded_nats_dir / "nats-server.pid" if self.embedded_nats_dir else None

    def hub_seed_file(self) -> Path:
        """The hub's own nkey seed: nats_creds when that is one, else hub.nk beside db."""
        if self.nats_creds is not None:
            return self.nats_creds
        if self.db is None:
            raise HubConfigError("db: no hub database given", hint="pass --db PATH")
        return self.db.parent / "hub.nk"

    def signing_folder(self) -> Path:
        if self.signing_dir is not None:
            return self.signing_dir
        if self.db is None:
            raise HubConfigError("db: no hub database given", hint="pass --db PATH")
        return self.db.parent / "signing"

    def store_creds_dir(self) -> Path:
        if self.creds_dir is not None:
            return self.creds_dir
        if self.db is None:
            raise HubConfigError("db: no hub database given", hint="pass --db PATH")
        return self.db.parent / "creds"


def load_settings(config_file: Path | None = None, **overrides: Any) -> HubSettings:
    """Build validated settings; flags given as ``overrides`` win (None means unset)."""
    return kit_settings.load(HubSettings, config_file, overrides, error=HubConfigError)
