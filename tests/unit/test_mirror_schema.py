"""The mirror file: WAL, incremental auto-vacuum, versioned expand-then-contract migrations."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.errors import MirrorError, SchemaTooNewError
from edge_agent.mirror import open_mirror
from edge_agent.mirror.schema import MIGRATIONS, SCHEMA_VERSION, Migration


def test_new_mirror_is_wal_with_incremental_autovacuum(tmp_path: Path):
    m = open_mirror(tmp_path / "m.db")
    assert m.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert m.conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # INCREMENTAL
    assert m.schema_version() == SCHEMA_VERSION
    tables = {r[0] for r in m.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for expected in (
        "store",
        "store_hours",
        "store_calendar",
        "products",
        "sales_lines",
        "daily_sales",
        "inventory_snapshots",
        "stock_adjustments",
        "deliveries",
        "open_orders",
        "labor_schedule",
        "promotions",
        "quarantine",
        "audit_log",
        "schema_migrations",
        "sim_truth_daily",
    ):
        assert expected in tables
    m.close()


def _expand(db) -> None:
    db["daily_sales"].add_column("weather_note", str)


EXPANDED = (
    *MIGRATIONS,
    Migration(
        SCHEMA_VERSION + 1, "add weather note", min_reader_version=SCHEMA_VERSION, apply=_expand
    ),
)
CONTRACTED = (
    *MIGRATIONS,
    Migration(
        SCHEMA_VERSION + 1, "drop a column", min_reader_version=SCHEMA_VERSION + 1, apply=_expand
    ),
)


def test_migration_applies_once_and_records_itself(tmp_path: Path):
    open_mirror(tmp_path / "m.db").close()
    m = open_mirror(tmp_path / "m.db", migrations=EXPANDED)
    assert m.schema_version() == SCHEMA_VERSION + 1
    columns = {c.name for c in m.db["daily_sales"].columns}
    assert "weather_note" in columns
    m.close()
    m = open_mirror(tmp_path / "m.db", migrations=EXPANDED)  # idempotent
    assert m.conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == len(EXPANDED)
    m.close()


def test_previous_release_still_opens_an_expanded_file(tmp_path: Path):
    open_mirror(tmp_path / "m.db", migrations=EXPANDED).close()
    m = open_mirror(tmp_path / "m.db")  # this release, older than the file
    assert m.schema_version() == SCHEMA_VERSION + 1
    m.conn.execute(
        "INSERT INTO daily_sales(sku, date, units, source) VALUES ('A', '2026-01-01', 1, 'export')"
    )
    m.close()


def test_previous_release_refuses_a_contracted_file_with_a_clear_message(tmp_path: Path):
    open_mirror(tmp_path / "m.db", migrations=CONTRACTED).close()
    with pytest.raises(SchemaTooNewError) as caught:
        open_mirror(tmp_path / "m.db")
    message = str(caught.value)
    assert f"schema v{SCHEMA_VERSION + 1}" in message
    assert f"reads up to v{SCHEMA_VERSION}" in message
    assert "upgrade edge-agent" in message


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(MirrorError, match="cannot open mirror"):
        open_mirror(path)


def test_missing_mirror_is_not_created_when_asked_not_to(tmp_path: Path):
    with pytest.raises(MirrorError, match="does not exist"):
        open_mirror(tmp_path / "nope.db", create=False)
    assert not (tmp_path / "nope.db").exists()
