"""What the hub's API reads from the hub database, as plain dicts (no gRPC here).

Reads the ingest tables (``stores``, ``records``, ``audit_entries``, ``quarantine``,
``approval_requests``), the store registry and the decision index
(:mod:`cloud_hub.decision_index`) over one SQLite connection per thread; WAL lets
them run beside ingest's writes. Writes stay with ingest, downlink and
:mod:`cloud_hub.apiauth`.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import DecodeError

from storeedge import subjects
from storeedge.v1 import audit_pb2, decision_pb2, heartbeat_pb2

__all__ = [
    "approvals_for",
    "audit_trail",
    "chain_state",
    "decision",
    "decisions",
    "max_ix",
    "pending_after",
    "stores",
]

_STORE_COLUMNS = (
    "ids.store_id, r.ring, r.region, r.tz, r.status, r.chain_epoch, s.chain_length, "
    "s.chain_head, s.chain_state, s.chain_problem, s.chain_problem_seq, s.last_heartbeat_at, "
    "s.agent_version, s.heartbeat, s.last_seen_at"
)
# What a page of stores needs beside its rows, per store in the same statement (one
# query per page, not three per store): counts kept by triggers at ingest
# (cloud_hub/storage.py), quarantined rows (indexed by store), chain entries waiting
# behind a gap (the audit_entries key is (store_id, seq)).
_STORE_FACTS = (
    "(SELECT json_group_object(c.record_type, c.n) FROM record_counts c "
    " WHERE c.store_id = ids.store_id), "
    "(SELECT COUNT(*) FROM quarantine q WHERE q.store_id = ids.store_id), "
    "(SELECT json_array(MIN(a.seq), COUNT(*), MIN(a.received_at)) FROM audit_entries a "
    " WHERE a.store_id = ids.store_id AND a.seq > COALESCE(s.chain_length, 0))"
)


def stores(
    conn: sqlite3.Connection,
    *,
    after: str = "",
    limit: int = 100,
    ring: str = "",
    region: str = "",
    store_id: str | None = None,
    gap_timeout_s: float = 900.0,
) -> list[dict[str, Any]]:
    """Stores (registered or seen by ingest) ordered by id, after ``after``, with status,
    in one query (a read transaction of its own: one state of the file)."""
    # The page's ids first, each side of the union cut to the page (not a union of
    # every store sorted per call); ring and region are the registry's.
    if store_id is not None:
        page = "SELECT store_id FROM store_registry WHERE store_id = ? " \
               "UNION SELECT store_id FROM stores WHERE store_id = ?"  # fmt: skip
        params: list[Any] = [store_id, store_id]
    elif ring or region:
        where, params = ["store_id > ?"], [after]
        for column, value in (("ring", ring), ("region", region)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        page = f"SELECT store_id FROM store_registry WHERE {' AND '.join(where)} " \
               f"ORDER BY store_id LIMIT ?"  # fmt: skip
        params.append(limit)
    else:
        page = (
            "SELECT store_id FROM (SELECT store_id FROM store_registry WHERE store_id > ? "
            "ORDER BY store_id LIMIT ?) UNION SELECT store_id FROM (SELECT store_id FROM "
            "stores WHERE store_id > ? ORDER BY store_id LIMIT ?) ORDER BY store_id LIMIT ?"
        )
        params = [after, limit, after, limit, limit]
    rows = conn.execute(
        f"WITH ids AS ({page}) SELECT {_STORE_COLUMNS}, {_STORE_FACTS} FROM ids "
        f"LEFT JOIN store_registry r USING (store_id) LEFT JOIN stores s USING (store_id) "
        f"ORDER BY ids.store_id",
        params,
    ).fetchall()
    stale_before = (datetime.now(UTC) - timedelta(seconds=gap_timeout_s)).isoformat()
    return [_store(row, stale_before) for row in rows]


def _store(row: tuple, stale_before: str) -> dict[str, Any]:
    (store_id, ring, region, tz, status, epoch, length, head, state, problem, problem_seq,
     heartbeat_at, agent_version, heartbeat, last_seen, counts, quarantined,
     waiting) = row  # fmt: skip
    received = {key: 0 for key in subjects.STATUS_KEYS}
    for record_type, count in json.loads(counts or "{}").items():
        received[subjects.RECORD_TYPES.get(record_type, record_type)] = count
    backlog: dict[str, int] = {}
    models: dict[str, str] = {}
    if heartbeat:
        try:
            beat = heartbeat_pb2.Heartbeat.FromString(bytes(heartbeat))
            backlog, models = dict(beat.backlog), dict(beat.model_versions)
        except DecodeError:
            pass
    doc = {
        "store_id": store_id,
        "ring": ring or "",
        "region": region or "",
        "time_zone": tz or "",
        "registry_status": status or "unregistered",
        "chain_epoch": epoch or 1,
        "last_heartbeat": heartbeat_at,
        "agent_version": agent_version or "",
        "last_seen": last_seen,
        "received": received,
        "backlog": backlog,
        "model_versions": models,
        "quarantined": quarantined,
    }
    first, count, since = json.loads(waiting)
    doc.update(_chain(store_id, length, head, state, problem, problem_seq,
                      (first, int(count), since), stale_before))  # fmt: skip
    return doc


def _chain(
    store_id: str,
    length: int | None,
    head: bytes | None,
    state: str | None,
    problem: str | None,
    problem_seq: int | None,
    waiting_entries: tuple[int | None, int, str | None],
    stale_before: str,
) -> dict[str, Any]:
    length = int(length or 0)
    first, waiting, since = waiting_entries
    doc: dict[str, Any] = {
        "chain_length": length,
        "chain_head": bytes(head).hex() if head else bytes(32).hex(),
        "entries_waiting": int(waiting),
        "gap_missing_seq": 0,
        "bad_record": None,
    }
    if state == "broken":
        doc["chain_status"] = "broken"
        doc["bad_record"] = {"seq": problem_seq, "record_id": f"{store_id}:audit:{problem_seq}",
                             "reason": problem}  # fmt: skip
    elif waiting:
        doc["gap_missing_seq"] = length + 1
        if since < stale_before:
            doc["chain_status"] = "broken"
            doc["bad_record"] = {
                "seq": length + 1,
                "record_id": f"{store_id}:audit:{length + 1}",
                "reason": f"gap: seq {length + 1} missing since {since} ({waiting} entries "
                f"wait behind it, the first is seq {first})",
            }
        else:
            doc["chain_status"] = "gap"
    elif length == 0:
        doc["chain_status"] = "empty"
    else:
        doc["chain_status"] = "ok"
    return doc


def chain_state(
    conn: sqlite3.Connection, store_id: str, gap_timeout_s: float
) -> dict[str, Any] | None:
    found = stores(conn, store_id=store_id, limit=1, gap_timeout_s=gap_timeout_s)
    return found[0] if found else None


# -- decisions ---------------------------------------------------------------------------------

_DECISION_COLUMNS = (
    "d.ix, d.decision_id, d.store_id, d.state, d.state_actor, d.state_changed_at, r.payload"
)


def decisions(
    conn: sqlite3.Connection,
    *,
    before_ix: int | None = None,
    limit: int = 100,
    store_id: str = "",
    kind: int = 0,
    state: int = 0,
    date_from: str = "",
    date_to: str = "",
    min_value: float | None = None,
) -> list[dict[str, Any]]:
    """Indexed decisions, newest first (by arrival ``ix``), filtered."""
    where, params = _filters(store_id, kind, state, date_from, date_to, min_value)
    if before_ix is not None:
        where.append("d.ix < ?")
        params.append(before_ix)
    rows = conn.execute(
        f"SELECT {_DECISION_COLUMNS} FROM api_decisions d JOIN records r "
        f"ON r.record_id = d.decision_id WHERE {' AND '.join(where) or '1'} "
        f"ORDER BY d.ix DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [_decision(row) for row in rows]


def pending_after(
    conn: sqlite3.Connection, after_ix: int, *, store_id: str = "", kind: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    """Decisions pending now that reached the hub after ``after_ix``, oldest first."""
    where, params = _filters(store_id, kind, decision_pb2.DECISION_STATE_PENDING, "", "", None)
    rows = conn.execute(
        f"SELECT {_DECISION_COLUMNS} FROM api_decisions d JOIN records r "
        f"ON r.record_id = d.decision_id WHERE d.ix > ? AND {' AND '.join(where)} "
        f"ORDER BY d.ix LIMIT ?",
        (after_ix, *params, limit),
    ).fetchall()
    return [_decision(row) for row in rows]


def max_ix(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(ix), 0) FROM api_decisions").fetchone()[0])


def decision(conn: sqlite3.Connection, decision_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        f"SELECT {_DECISION_COLUMNS} FROM api_decisions d JOIN records r "
        f"ON r.record_id = d.decision_id WHERE d.decision_id = ?",
        (decision_id,),
    ).fetchone()
    return _decision(row) if row else None


def _filters(
    store_id: str, kind: int, state: int, date_from: str, date_to: str, min_value: float | None
) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for clause, value, given in (
        ("d.store_id = ?", store_id, bool(store_id)),
        ("d.kind = ?", kind, bool(kind)),
        ("d.state = ?", state, bool(state)),
        ("d.business_date >= ?", date_from, bool(date_from)),
        ("d.business_date <= ?", date_to, bool(date_to)),
        ("d.value >= ?", min_value, min_value is not None),
    ):
        if given:
            where.append(clause)
            params.append(value)
    return where, params


def _decision(row: tuple) -> dict[str, Any]:
    ix, decision_id, store_id, state, actor, changed_at, payload = row
    return {
        "ix": ix,
        "decision_id": decision_id,
        "store_id": store_id,
        "state": state,
        "state_actor": actor,
        "state_changed_at": changed_at,
        "message": decision_pb2.Decision.FromString(bytes(payload)),
    }


def region_of(conn: sqlite3.Connection, store_id: str) -> str | None:
    """The store's region in the registry; None when it is not registered."""
    row = conn.execute(
        "SELECT region FROM store_registry WHERE store_id = ?", (store_id,)
    ).fetchone()
    return None if row is None else str(row[0])


def audit_trail(conn: sqlite3.Connection, store_id: str, decision_id: str) -> list[dict[str, Any]]:
    """The store's audit records whose subject is the decision, in chain order: found
    through the subject index ingest keeps, then decoded to be sure."""
    trail, _ = audit_records(conn, store_id, from_seq=0, to_seq=None, event_type=None,
                             subject_id=decision_id, limit=AUDIT_SCAN)  # fmt: skip
    return trail


#: Chain entries read per ListAuditRecords call at most, so that a filter matching
#: little never makes one call scan a whole chain.
AUDIT_SCAN = 20_000


def audit_records(
    conn: sqlite3.Connection, store_id: str, *, from_seq: int, to_seq: int | None,
    event_type: int | None, subject_id: str, limit: int,
) -> tuple[list[dict[str, Any]], int | None]:  # fmt: skip
    """Up to ``limit`` of the store's audit records from ``from_seq`` on, filtered, and the
    seq to go on from (None: the chain's end, or ``to_seq``, was reached)."""
    length = conn.execute(
        "SELECT chain_length FROM stores WHERE store_id = ?", (store_id,)
    ).fetchone()
    verified_to = int(length[0]) if length else 0
    if subject_id:  # the subject index kept at ingest (cloud_hub/storage.py)
        sql = ("SELECT e.seq, e.hash, e.payload FROM audit_subjects x JOIN audit_entries e "
               "ON e.store_id = x.store_id AND e.seq = x.seq WHERE x.store_id = ? "
               "AND x.subject_id = ? AND x.seq >= ?")  # fmt: skip
        params: list[Any] = [store_id, subject_id, from_seq]
        column = "x.seq"
    else:
        sql = "SELECT seq, hash, payload FROM audit_entries WHERE store_id = ? AND seq >= ?"
        params = [store_id, from_seq]
        column = "seq"
    if to_seq is not None:
        sql += f" AND {column} <= ?"
        params.append(to_seq)
    sql += f" ORDER BY {column} LIMIT ?"
    params.append(AUDIT_SCAN)
    found: list[dict[str, Any]] = []
    last = None
    scanned = 0
    for seq, digest, payload in conn.execute(sql, params):
        scanned += 1
        last = int(seq)
        try:
            record = audit_pb2.AuditRecord.FromString(bytes(payload))
        except DecodeError:
            continue
        if subject_id and record.subject_id != subject_id:
            continue
        if event_type is not None and record.event_type != event_type:
            continue
        found.append({"seq": last, "record": record, "hash": bytes(digest).hex(),
                      "verified": last <= verified_to})  # fmt: skip
        if len(found) > limit:
            return found[:limit], found[limit]["seq"]
    if scanned == AUDIT_SCAN and last is not None and (to_seq is None or last < to_seq):
        return found, last + 1
    return found, None


def approvals_for(conn: sqlite3.Connection, decision_id: str) -> list[dict[str, Any]]:
    columns = ("request_id", "action", "quantity", "actor", "reason", "requested_at", "status",
               "state", "result_reason", "answered_at")  # fmt: skip
    rows = conn.execute(
        f"SELECT {', '.join(columns)} FROM approval_requests WHERE decision_id = ? ORDER BY seq",
        (decision_id,),
    )
    return [dict(zip(columns, row, strict=True)) for row in rows]
