"""The one config pipeline shared by the edge agent and the hub (pydantic-settings).

Precedence, highest first: command-line flags, environment variables with the
program's prefix, the TOML file given with ``--config``, defaults. Settings
are validated once at start; errors name the field and where to fix it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    TomlConfigSettingsSource,
)

__all__ = ["TomlSettings", "load"]

S = TypeVar("S", bound="TomlSettings")


class TomlSettings(BaseSettings):
    """Base: init kwargs (flags) > env vars > the TOML file named by ``toml_file``."""

    # Set by load(); not a setting a user writes.
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


def load(
    settings_cls: type[S],
    config_file: Path | None,
    overrides: dict[str, Any],
    *,
    error: type[Exception],
) -> S:
    """Build validated settings; ``overrides`` (flags) win, None means unset.

    ``error`` is the caller's ConfigError class (message + hint).
    """
    prefix = settings_cls.model_config.get("env_prefix", "")
    if config_file is not None and not config_file.is_file():
        raise error(
            f"config file {config_file} does not exist",
            hint="pass an existing TOML file with --config, or leave it out for defaults",
        )
    kwargs = {key: value for key, value in overrides.items() if value is not None}
    try:
        return settings_cls(toml_file=config_file, **kwargs)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(file)'}: {err['msg']}"
            for err in exc.errors()
        )
        source = f" in {config_file}" if config_file else ""
        raise error(
            f"invalid settings{source}: {problems}",
            hint=f"fix the field in the TOML file or the {prefix}<FIELD> environment variable",
        ) from None
    except (OSError, ValueError) as exc:
        raise error(f"cannot read config file {config_file}: {exc}") from None
