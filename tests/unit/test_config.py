"""One config pipeline: defaults < TOML file < environment < flags, validated at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.config import load_settings
from edge_agent.errors import ConfigError


def test_defaults():
    settings = load_settings()
    assert settings.clock_skew_tolerance_s == 300.0
    assert settings.db is None


def test_precedence_file_env_flag(tmp_path: Path, monkeypatch):
    config = tmp_path / "edge.toml"
    config.write_text('db = "from-file.db"\nclock_skew_tolerance_s = 60\nstore_id = "S001"\n')
    settings = load_settings(config)
    assert (str(settings.db), settings.clock_skew_tolerance_s) == ("from-file.db", 60)
    monkeypatch.setenv("STOREEDGE_EDGE_DB", "from-env.db")
    assert str(load_settings(config).db) == "from-env.db"
    assert str(load_settings(config, db=Path("from-flag.db")).db) == "from-flag.db"
    assert load_settings(config, db=None).store_id == "S001"  # an unset flag does not override


def test_invalid_value_names_the_field_and_file(tmp_path: Path):
    config = tmp_path / "edge.toml"
    config.write_text("clock_skew_tolerance_s = -5\n")
    with pytest.raises(ConfigError, match=r"edge.toml.*clock_skew_tolerance_s"):
        load_settings(config)


def test_unknown_field_is_refused(tmp_path: Path):
    config = tmp_path / "edge.toml"
    config.write_text("clock_skew_tolerence_s = 5\n")
    with pytest.raises(ConfigError, match="clock_skew_tolerence_s"):
        load_settings(config)


def test_bad_env_var_is_named(monkeypatch):
    monkeypatch.setenv("STOREEDGE_EDGE_INGEST_BATCH_ROWS", "lots")
    with pytest.raises(ConfigError, match="ingest_batch_rows"):
        load_settings()


def test_missing_config_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
