"""The edge agent's one config pipeline.

Precedence, highest first: command-line flags, environment variables with the
``STOREEDGE_EDGE_`` prefix, the TOML file given with ``--config``, defaults.
Settings are validated once at start; nothing else reads ``os.environ``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from edge_agent.errors import ConfigError

__all__ = ["EdgeSettings", "load_settings"]

ENV_PREFIX = "STOREEDGE_EDGE_"


class EdgeSettings(BaseSettings):
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
    failpoint: str | None = Field(
        default=None,
        pattern=r"^[a-z_.]+(:[0-9]+)?$",
        description="Fault tests only: crash at the N-th pass of a named point (name:N).",
    )
    models_dir: Path | None = Field(
        default=None, description="Folder of serving models; default the shipped bootstrap."
    )

    # Set by load_settings; not a setting a user writes.
    toml_file: Path | None = Field(default=None, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = init_settings.init_kwargs.get("toml_file")  # type: ignore[attr-defined]
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


def load_settings(config_file: Path | None = None, **overrides: Any) -> EdgeSettings:
    """Build validated settings; flags given as ``overrides`` win (None means unset)."""
    if config_file is not None and not config_file.is_file():
        raise ConfigError(
            f"config file {config_file} does not exist",
            hint="pass an existing TOML file with --config, or leave it out for defaults",
        )
    kwargs = {key: value for key, value in overrides.items() if value is not None}
    try:
        return EdgeSettings(toml_file=config_file, **kwargs)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(file)'}: {err['msg']}"
            for err in exc.errors()
        )
        source = f" in {config_file}" if config_file else ""
        raise ConfigError(
            f"invalid settings{source}: {problems}",
            hint=f"fix the field in the TOML file or the {ENV_PREFIX}<FIELD> environment variable",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {config_file}: {exc}") from None
