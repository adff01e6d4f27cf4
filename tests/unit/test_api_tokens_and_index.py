"""The API's pieces without a server: tokens, roles and scopes; the decision index."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from cloud_hub import decision_index
from cloud_hub.apiauth import AuthError, Caller, TokenStore, parse_duration
from cloud_hub.errors import HubConfigError
from cloud_hub.storage import Incoming, open_storage
from storeedge.v1 import common_pb2, decision_pb2


def test_tokens_are_stored_as_hashes_and_expire_and_revoke(tmp_path: Path) -> None:
    with TokenStore(tmp_path / "hub.db") as store:
        token, row = store.create("ana", "approver", timedelta(days=1), regions=["north"])
        assert row["regions"] == ["north"] and row["categories"] == []
        dump = "\n".join(str(r) for r in store.conn.execute("SELECT * FROM api_tokens"))
        assert token not in dump
        assert store.authenticate(token) == Caller("ana", "approver", ("north",), ())
        with pytest.raises(HubConfigError, match="live token named 'ana'"):
            store.create("ana", "viewer", timedelta(days=1))
        store.revoke("ana")
        with pytest.raises(AuthError, match="revoked") as info:
            store.authenticate(token)
        assert info.value.code == "UNAUTHENTICATED"
        old, _ = store.create("old", "viewer", timedelta(minutes=1))
        store.conn.execute("UPDATE api_tokens SET expires_at = '2000-01-01' WHERE name = 'old'")
        with pytest.raises(AuthError, match="expired"):
            store.authenticate(old)
        for bad in (None, "", "seh_nope"):
            with pytest.raises(AuthError):
                store.authenticate(bad)
        with pytest.raises(HubConfigError, match="--region"):
            store.create("bob", "approver", timedelta(days=1))


def test_a_check_only_reads_and_the_last_used_mark_is_due_once_a_minute(tmp_path: Path) -> None:
    with TokenStore(tmp_path / "hub.db") as store:
        token, _ = store.create("vera", "viewer", timedelta(days=1))

        def last_used() -> str | None:
            return store.conn.execute(
                "SELECT last_used_at FROM api_tokens WHERE name = 'vera'"
            ).fetchone()[0]

        caller, due = store.check(token)
        assert caller.name == "vera" and due is not None and last_used() is None
        store.mark_used(due)
        marked = last_used()
        assert marked is not None
        assert store.check(token)[1] is None  # marked under a minute ago: no write due
        assert store.authenticate(token).name == "vera" and last_used() == marked


def test_durations() -> None:
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("2w") == timedelta(weeks=2)
    for bad in ("30", "0d", "-1d", "1y", "400d", "d"):
        with pytest.raises(HubConfigError, match="--expires"):
            parse_duration(bad)


def test_scopes() -> None:
    north = Caller("ana", "approver", ("north",), ())
    north.check_scope("S001", "north", "dairy")
    for region, category in (("south", "dairy"), (None, "dairy")):
        with pytest.raises(AuthError) as info:
            north.check_scope("S001", region, category)
        assert info.value.code == "PERMISSION_DENIED"
    dairy = Caller("dora", "approver", ("*",), ("dairy",))
    dairy.check_scope("S009", None, "dairy")
    with pytest.raises(AuthError, match="category"):
        dairy.check_scope("S009", "south", "")
    with pytest.raises(AuthError, match="role viewer"):
        Caller("vera", "viewer", ("*",)).check_scope("S001", "north", "dairy")
    Caller("root", "admin", ("*",)).check_scope("S001", None, "")


def _decision(seq: int, state: int) -> Incoming:
    d = decision_pb2.Decision(
        id=common_pb2.RecordId(store_id="S001", record_type=common_pb2.RECORD_TYPE_DECISION,
                               sequence=seq),
        business_date="2026-07-01", kind=decision_pb2.DECISION_KIND_ORDER, state=state,
        value=5.0, category="dairy")  # fmt: skip
    return Incoming("S001", "decision", f"S001:decision:{seq}", d.SerializeToString())


def _change(seq: int, audit_seq: int, to_state: int) -> Incoming:
    c = decision_pb2.DecisionStateChange(
        decision_id=common_pb2.RecordId(store_id="S001",
                                        record_type=common_pb2.RECORD_TYPE_DECISION,
                                        sequence=seq), to_state=to_state, actor="x")  # fmt: skip
    return Incoming("S001", "decision_state", f"S001:decision:{seq}@{audit_seq}",
                    c.SerializeToString())  # fmt: skip


def test_the_index_keeps_the_newest_state_whatever_arrives_first(tmp_path: Path) -> None:
    storage = open_storage(tmp_path / "hub.db")
    pending, approved, submitted = (decision_pb2.DECISION_STATE_PENDING,
                                    decision_pb2.DECISION_STATE_APPROVED,
                                    decision_pb2.DECISION_STATE_SUBMITTED)  # fmt: skip
    # A later change arrives first, then the decision, then the earlier change, then a replay.
    storage.ingest([_change(1, 20, submitted)])
    storage.ingest([_decision(1, pending), _decision(2, pending)])
    storage.ingest([_change(1, 10, approved)])
    storage.ingest([_decision(1, pending), _change(1, 10, approved)])
    query = "SELECT decision_id, state, state_seq FROM api_decisions ORDER BY ix"
    rows = storage.conn.execute(query).fetchall()
    assert rows == [("S001:decision:1", submitted, 20), ("S001:decision:2", pending, 0)]
    storage.close()

    # A database whose records predate the index is brought up to date by backfill.
    conn = sqlite3.connect(tmp_path / "hub.db", isolation_level=None)
    conn.execute("DELETE FROM api_decisions")
    conn.execute("DELETE FROM api_decision_states")
    assert decision_index.backfill(conn) > 0
    assert conn.execute(
        "SELECT decision_id, state FROM api_decisions ORDER BY decision_id").fetchall() == [
        ("S001:decision:1", submitted), ("S001:decision:2", pending)]  # fmt: skip
    assert decision_index.backfill(conn) == 0
    conn.close()
