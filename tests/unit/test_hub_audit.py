"""The hub's own audit log: registry changes recorded with who made them, chained so an
edit, an insertion or a removal is found and named."""

from __future__ import annotations

import json
import sqlite3

import pytest

from cloud_hub import hub_audit
from cloud_hub.cli import main
from cloud_hub.registry import Registry


@pytest.fixture
def hub_db(tmp_path):
    return tmp_path / "hub.db"


def test_registry_changes_are_recorded_with_their_actor(hub_db):
    with Registry(hub_db) as registry:
        registry.add_store("S001", ring="canary", tz="Europe/Berlin", actor="ana")
        registry.revoke_store("S001", reason="box stolen", actor="ben")
        registry.replace_store("S001", reason="new box", actor="ana")
        rows = hub_audit.records(registry.conn, subject="S001")
        assert hub_audit.verify(registry.conn) == hub_audit.Verification(3, None)
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("store.replaced", "ana"), ("store.revoked", "ben"), ("store.added", "ana")]  # fmt: skip
    assert rows[1]["detail"]["reason"] == "box stolen"
    assert rows[0]["detail"]["epoch"] == 2


def test_a_refused_change_records_nothing(hub_db):
    with Registry(hub_db) as registry:
        registry.add_store("S001", actor="ana")
        with pytest.raises(Exception, match="already registered"):
            registry.add_store("S001", actor="ana")
        assert hub_audit.verify(registry.conn).length == 1


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        ("UPDATE hub_audit_log SET actor = 'mallory' WHERE seq = 2", "hub audit record 2: hash"),
        ('UPDATE hub_audit_log SET detail = \'{"reason": "x"}\' WHERE seq = 2', "record 2"),
        ("DELETE FROM hub_audit_log WHERE seq = 2", "hub audit record 2 is missing"),
        ("UPDATE hub_audit_log SET prev_hash = zeroblob(32) WHERE seq = 3", "record 3: prev"),
    ],
)
def test_verify_names_the_first_edited_record(hub_db, tamper, named, capsys):
    for store in ("S001", "S002", "S003"):
        assert main(["stores", "add", store, "--by", "ana", "--db", str(hub_db)]) == 0
    assert main(["hub-audit", "verify", "--db", str(hub_db)]) == 0
    assert "3 records, verified" in capsys.readouterr().out
    conn = sqlite3.connect(hub_db)
    conn.execute(tamper)
    conn.commit()
    conn.close()
    assert main(["hub-audit", "verify", "--db", str(hub_db), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False and named in result["problem"]


def test_hub_audit_show_lists_newest_first(hub_db, capsys):
    main(["stores", "add", "S001", "--by", "ana", "--db", str(hub_db)])
    main(["stores", "revoke", "S001", "--reason", "retired", "--by", "ben", "--db", str(hub_db)])
    capsys.readouterr()
    assert main(["hub-audit", "show", "--db", str(hub_db), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["records"]
    assert [(r["action"], r["actor"], r["subject"]) for r in rows][:2] == [
        ("store.revoked", "ben", "S001"), ("store.added", "ana", "S001")]  # fmt: skip
