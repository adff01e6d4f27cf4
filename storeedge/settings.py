"""The one config pipeline shared by the edge agent and the hub (pydantic-settings).

Precedence, highest first: command-line flags, environment variables with the
program's prefix, the TOML file given with ``--config``, defaults. Settings
are validated once at start; errors name the field and where to fix it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    TomlConfigSettingsSource,
)

from storeedge.errors import KitError

__all__ = ["TomlSettings", "load", "load_toml", "validation_problems"]

S = TypeVar("S", bound="TomlSettings")
M = TypeVar("M", bound=BaseModel)


def validation_problems(exc: ValidationError) -> str:
    """``key.path: message; ...``: each bad key named as the file spells it."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
    )


def load_toml(path: Path, model: type[M], *, what: str, error: type[KitError], hint: str) -> M:
    """A TOML file (a policy, a lift scenario, a costs file) validated into ``model``;
    ``error`` names the file and the bad key, with ``hint``."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise error(f"cannot read the {what} {path}: {exc.strerror}", hint=hint) from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {path} is not valid TOML: {exc}", hint=hint) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"invalid {what} {path}: {validation_problems(exc)}", hint=hint) from None


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
