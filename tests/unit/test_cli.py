"""The command line: documented commands, one JSON document with --json, clear errors."""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
from pathlib import Path

import pytest

from edge_agent import cli
from tests.conftest import PRODUCTS_CSV, write

DOCS = Path(__file__).resolve().parents[2] / "docs" / "CLI.md"


def _commands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> dict[str, argparse.ArgumentParser]:
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{prefix} {name}".strip()
                nested = _commands(sub, full)
                found.update(nested or {full: sub})
    return found


def test_every_command_has_help_with_an_example_and_is_documented():
    docs = DOCS.read_text()
    commands = _commands(cli.build_parser())
    assert {
        "init",
        "ingest",
        "formats",
        "quarantine",
        "simulate",
        "audit verify",
        "audit show",
        "status",
        "version",
    } <= set(commands)
    for name, parser in commands.items():
        help_text = parser.format_help()
        assert "example:" in help_text, f"`edge-agent {name}` has no example in its help"
        assert f"edge-agent {name}" in help_text
        assert f"`edge-agent {name}" in docs, f"`edge-agent {name}` is not in docs/CLI.md"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_output_is_exactly_one_document(tmp_path: Path, capsys):
    db = str(tmp_path / "m.db")
    products = write(tmp_path, "products.csv", PRODUCTS_CSV)
    for argv in (
        ["init", "--db", db, "--store", "S001", "--tz", "Europe/Berlin"],
        ["ingest", "--db", db, str(products)],
        ["status", "--db", db],
        ["audit", "verify", "--db", db],
        ["audit", "show", "--db", db],
        ["quarantine", "--db", db],
        ["formats"],
        ["version"],
    ):
        code, out, _ = run(capsys, *argv, "--json")
        assert code == 0, argv
        json.loads(out)  # raises if there is anything but one document


def test_ingest_report_and_status_counts(tmp_path: Path, capsys):
    db = str(tmp_path / "m.db")
    run(capsys, "init", "--db", db, "--store", "S001", "--tz", "Europe/Berlin")
    products = write(tmp_path, "products.csv", PRODUCTS_CSV)
    sales = write(
        tmp_path,
        "sales.csv",
        "line_id,timestamp,sku,qty\n"
        "L1,2026-03-02T09:00:00+01:00,SKU1,1\nL2,2026-03-02T09:00:00+01:00,ZZZ,1\n"
        "L3,2026-03-02T09:00:00+01:00,SKU1,x\n",
    )
    code, out, _ = run(capsys, "ingest", "--db", db, str(sales), str(products), "--json")
    files = json.loads(out)["files"]
    assert [f["kind"] for f in files] == ["products", "sales_lines"]  # products first
    assert files[1]["quarantined_by_reason"] == {"bad_quantity": 1, "unknown_sku": 1}
    code, out, _ = run(capsys, "status", "--db", db, "--json")
    status = json.loads(out)
    assert status["store"] == "S001"
    assert status["quarantine"]["open_by_reason"] == {"bad_quantity": 1, "unknown_sku": 1}
    assert status["coverage"]["sales_lines"] == {
        "rows": 1,
        "first": "2026-03-02",
        "last": "2026-03-02",
    }
    assert status["chain_length"] == 3
    assert re.fullmatch(r"[0-9a-f]{64}", status["chain_head"])
    code, out, _ = run(capsys, "quarantine", "--db", db)
    assert code == 0
    assert "sales.csv:3" in out and "unknown_sku" in out


def test_audit_verify_exit_codes_name_the_record(tmp_path: Path, capsys):
    db = str(tmp_path / "m.db")
    run(capsys, "init", "--db", db, "--store", "S001", "--tz", "UTC")
    run(capsys, "ingest", "--db", db, str(write(tmp_path, "p.csv", PRODUCTS_CSV)))
    code, out, _ = run(capsys, "audit", "verify", "--db", db)
    assert code == 0 and "OK: 2 records" in out
    conn = sqlite3.connect(db)
    conn.execute("UPDATE audit_log SET payload = payload || x'00' WHERE seq = 2")
    conn.commit()
    conn.close()
    code, out, err = run(capsys, "audit", "verify", "--db", db)
    assert code == 1
    assert "S001:audit:2" in out and "S001:audit:2" in err


def test_errors_are_clear_and_exit_2(tmp_path: Path, capsys):
    code, _, err = run(capsys, "status", "--db", str(tmp_path / "missing.db"))
    assert code == 2 and "does not exist" in err and "hint:" in err
    db = str(tmp_path / "m.db")
    run(capsys, "init", "--db", db, "--store", "S001", "--tz", "UTC")
    code, _, err = run(capsys, "ingest", "--db", db, str(write(tmp_path, "x.csv", "a,b\n1,2\n")))
    assert code == 2 and "matches no known export kind" in err
    code, _, err = run(capsys, "init", "--db", db, "--store", "S002", "--tz", "UTC")
    assert code == 2 and "belongs to store S001" in err
    with pytest.raises(SystemExit):
        cli.main(["init", "--db", db])  # argparse: missing --store


def test_formats_doc_lists_every_kind_column_and_reason():
    from edge_agent.mirror.kinds import KINDS, QUARANTINE_REASONS

    formats = (DOCS.parent / "FORMATS.md").read_text()
    for name, kind in KINDS.items():
        row = next(
            (line for line in formats.splitlines() if line.startswith(f"| `{name}` |")), None
        )
        assert row is not None, f"kind {name} missing from docs/FORMATS.md"
        for column in kind.columns:
            assert column in row, f"{name}.{column} missing from docs/FORMATS.md"
    for reason in QUARANTINE_REASONS:
        assert f"| `{reason}` |" in formats


def test_cloud_hub_commands_are_documented(capsys):
    from cloud_hub import cli as hub_cli

    docs = DOCS.read_text()
    for name, parser in _commands(hub_cli.build_parser()).items():
        assert "example:" in parser.format_help()
        assert f"`cloud-hub {name}" in docs
    assert hub_cli.main(["version", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["version"]


def test_decisions_can_be_listed_and_approved_offline(tmp_path: Path, capsys):
    from datetime import UTC, datetime

    from edge_agent import decisions
    from edge_agent.clock import FixedClock
    from edge_agent.mirror import open_mirror
    from edge_agent.policy import Policy

    db = str(tmp_path / "m.db")
    run(capsys, "init", "--db", db, "--store", "S001", "--tz", "UTC")
    mirror = open_mirror(db, clock=FixedClock(datetime.now(UTC)))
    for sku, value in (("A", 50.0), ("B", 900.0)):
        decisions.record(mirror, decisions.Proposal(
            kind="order", quantity=12, value=value, confidence=0.9, business_date="2026-03-10",
            sku=sku, order_date="2026-03-10"), Policy())  # fmt: skip
    mirror.close()
    code, out, _ = run(capsys, "decisions", "--db", db, "--state", "pending", "--json")
    pending = json.loads(out)["decisions"]
    assert code == 0 and [d["sku"] for d in pending] == ["B"]
    code, out, _ = run(
        capsys,
        "decisions",
        "approve",
        pending[0]["decision_id"],
        "--by",
        "ana",
        "--reason",
        "promo",
        "--db",
        db,
        "--json",
    )
    assert code == 0 and json.loads(out)["state"] == "approved"
    code, _, err = run(
        capsys,
        "decisions",
        "approve",
        pending[0]["decision_id"],
        "--by",
        "ana",
        "--reason",
        "again",
        "--db",
        db,
    )
    assert code == 2 and "is approved; it cannot become approved" in err
    code, out, _ = run(capsys, "status", "--db", db, "--json")
    assert json.loads(out)["decisions"] == {"order": {"approved": 1, "auto": 1}}
    code, out, _ = run(capsys, "audit", "verify", "--db", db)
    assert code == 0


def test_datasets_names_the_missing_data_set(tmp_path: Path, capsys):
    from cloud_hub import cli as hub_cli

    code = hub_cli.main(["datasets", "--data", str(tmp_path / "nowhere"), "--out",
                         str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert f"data set {tmp_path / 'nowhere' / 'm5_tiny'} not found" in err
    assert "hint: point --data at the shared data folder" in err
