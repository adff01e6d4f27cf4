"""The edge agent's one config pipeline.

Precedence, highest first: command-line flags, environment variables with the
``STOREEDGE_EDGE_`` prefix, the TOML file given with ``--config``, defaults.
Settings are validated once at start; nothing else reads ``os.environ``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from edge_agent.errors import ConfigError
from storeedge import settings as kit_settings
from storeedge import signing

__all__ = ["EdgeSettings", "load_settings"]

ENV_PREFIX = "STOREEDGE_EDGE_"


class EdgeSettings(kit_settings.TomlSettings):
    """Settings of the edge agent (all optional for one-shot commands)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    db: Path | None = Field(default=None, description="Path of the store's SQLite mirror.")
    store_id: str | None = Field(default=None, description="The store this agent serves.")
    clock_skew_tolerance_s: float = Field(
        default=300.0,
        ge=0,
        description="POS timestamps further than this into the future are quarantined.",
    )
    ingest_batch_rows: int = Field(
        default=20_000, ge=100, le=1_000_000, description="Rows validated and written per batch."
    )
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    policy_file: Path | None = Field(
        default=None, description="TOML decision policy (docs/POLICY.md); default built in."
    )
    drop_dir: Path | None = Field(
        default=None, description="Folder the file-drop executor writes decisions to."
    )
    executor: Literal["file_drop", "command"] = Field(
        default="file_drop",
        description="Who carries decisions out: JSONL files in drop_dir, or executor_command.",
    )
    executor_command: list[str] | None = Field(
        default=None,
        description="For executor = 'command': argv of a program that reads the decisions as "
        "JSONL on stdin and prints acknowledgements as JSONL on stdout.",
    )
    executor_timeout_s: float = Field(default=120.0, gt=0, description="Executor command limit.")
    failpoint: str | None = Field(
        default=None,
        pattern=r"^[a-z_.]+(:[0-9]+)?$",
        description="Fault tests only: crash at the N-th pass of a named point (name:N).",
    )
    models_dir: Path | None = Field(
        default=None, description="Folder of serving models; default the shipped bootstrap."
    )
    trust: list[Path] | None = Field(
        default=None,
        description="Trust files of hub model-signing keys (`cloud-hub keys public`). With "
        "them, models from models_dir must be signed by one of these keys; the shipped "
        "bootstrap models come with the release and need no signature.",
    )
    model_updates_dir: Path | None = Field(
        default=None,
        description="Where models received from the hub are kept (<name>/<version>/, a "
        "'current' link per model, the previous version kept for rollback); default "
        "<db folder>/<db name>-models.",
    )
    shadow_rows: int = Field(
        default=500, ge=1, le=100_000,
        description="Rows of recent local data a received model is run on in shadow.",
    )  # fmt: skip
    shadow_max_seconds: float = Field(
        default=5.0, gt=0, description="Latency budget of the shadow run (all rows)."
    )
    shadow_min_output: float = Field(
        default=-1.0, description="Shadow outputs below this are out of bounds (counts)."
    )
    shadow_max_output_factor: float = Field(
        default=10.0, gt=1,
        description="Shadow outputs above this many times the serving model's largest "
        "output (at least 1) are out of bounds.",
    )  # fmt: skip
    shadow_max_disagreement: float = Field(
        default=0.5, gt=0,
        description="Refuse a model whose mean absolute difference from the serving model, "
        "relative to the serving model's mean absolute output (at least 1), exceeds this.",
    )  # fmt: skip

    # -- link to the hub (edge-agent run, edge-agent sync) ------------------------------------
    nats_url: str | None = Field(
        default=None,
        description="NATS server or cluster, comma-separated (nats://hub.example:4222).",
    )
    nats_creds: Path | None = Field(default=None, description="The store's NATS credentials file.")
    nats_tls_ca: Path | None = Field(default=None, description="CA bundle for TLS to NATS.")
    nats_tls_cert: Path | None = Field(default=None, description="Client certificate (mTLS).")
    nats_tls_key: Path | None = Field(default=None, description="Client key (mTLS).")
    insecure: bool = Field(
        default=False,
        description="Connect without credentials (development and tests only; logged loudly).",
    )
    sync_batch: int = Field(default=2_000, ge=1, le=4_000, description="Records per publish batch.")
    sync_interval_s: float = Field(
        default=2.0, gt=0, description="Outbox drain tick (it also wakes on new records)."
    )
    ack_timeout_s: float = Field(default=10.0, gt=0, description="Wait for JetStream acks.")
    backoff_max_s: float = Field(
        default=60.0, gt=0, description="Cap of the reconnect and retry backoff (with jitter)."
    )
    heartbeat_interval_s: float = Field(default=30.0, gt=0, description="Heartbeat period.")
    reconnect_jitter_s: float = Field(
        default=10.0,
        ge=0,
        description="After the link comes back, wait a random 0..N s before draining, so a "
        "fleet reconnecting at once after a hub outage does not drain all at once.",
    )
    sync_max_bytes_per_s: float = Field(
        default=0.0,
        ge=0,
        description="Cap on the drain's publish rate in bytes/s (0: no cap); e.g. a share of "
        "the store's uplink, or what the hub can take from each of N stores at once.",
    )
    sales_lines_retention_days: int = Field(
        default=35,
        ge=7,
        description="Days of POS sales lines kept after their roll-up into daily totals.",
    )
    outbox_budget_mb: float = Field(
        default=512.0, gt=0, description="Outbox size that raises an alarm in status and metrics."
    )

    # -- the daemon (edge-agent run) ----------------------------------------------------------
    inbox_dir: Path | None = Field(
        default=None, description="Watched folder for POS exports (done/ and rejected/ inside)."
    )
    inbox_interval_s: float = Field(default=5.0, gt=0, description="Inbox polling period.")
    cycle_times: list[str] = Field(
        default_factory=lambda: ["05:30"],
        description="Store-local times (HH:MM) at which the decision cycle runs each day.",
    )
    http_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port on 127.0.0.1 for /healthz and /metrics (0: any free port).",
    )

    @model_validator(mode="after")
    def _executor_complete(self) -> EdgeSettings:
        if self.executor == "command" and not self.executor_command:
            raise ValueError("executor_command: required when executor = 'command'")
        return self

    def trusted_keys(self) -> dict[str, signing.TrustedKey] | None:
        """The keys of the trust files (None: no trust configured); errors name the file."""
        if not self.trust:
            return None
        try:
            return signing.load_trust(self.trust)
        except signing.SignatureError as exc:
            raise ConfigError(f"trust: {exc.message}", hint=exc.hint) from None

    @field_validator("cycle_times")
    @classmethod
    def _times(cls, value: list[str]) -> list[str]:
        for text in value:
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
                raise ValueError(f"{text!r} is not a store-local time HH:MM")
        return sorted(value)


def load_settings(config_file: Path | None = None, **overrides: Any) -> EdgeSettings:
    """Build validated settings; flags given as ``overrides`` win (None means unset)."""
    return kit_settings.load(EdgeSettings, config_file, overrides, error=ConfigError)
