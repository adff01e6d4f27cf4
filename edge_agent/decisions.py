"""Decisions and their lifecycle, each step audited in the transaction that makes it.

States::

    pending ──▶ approved / rejected / overridden / expired / superseded
    auto, approved, overridden ──▶ submitted ──▶ confirmed / failed
    blocked (the policy refused; terminal)

A decision, its audit record and its outbox row are written in one SQLite
transaction, or not at all. The database allows at most one live order per SKU
and order date, so a re-run of a cycle, or a restart after a crash, never
orders twice: recording the same order again returns the live one. A newer
proposal for the same SKU and order date supersedes a pending one. A pending
decision expires at its deadline (for an order, the supplier's cutoff); an
expired or superseded decision cannot be approved, and the error says why.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from edge_agent import audit, outbox
from edge_agent.errors import DecisionError, UnknownDecisionError
from edge_agent.mirror.db import Mirror
from edge_agent.policy import Kind, Policy
from storeedge import failpoints
from storeedge.ids import record_id_text
from storeedge.v1 import audit_pb2, common_pb2, decision_pb2

__all__ = [
    "LIVE_STATES",
    "TRANSITIONS",
    "DecisionRow",
    "Proposal",
    "expire_due",
    "get",
    "list_decisions",
    "record",
    "record_many",
    "step",
    "stored_message",
    "transition",
]

LIVE_STATES = ("pending", "approved", "overridden", "auto", "submitted", "confirmed")
#: Allowed steps: from state -> states it may move to.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("approved", "rejected", "overridden", "expired", "superseded"),
    "auto": ("submitted",),
    "approved": ("submitted",),
    "overridden": ("submitted",),
    "submitted": ("confirmed", "failed"),
}
_KINDS = {
    "order": decision_pb2.DECISION_KIND_ORDER,
    "staffing": decision_pb2.DECISION_KIND_STAFFING,
    "shelf_check": decision_pb2.DECISION_KIND_SHELF_CHECK,
}
_OUTCOMES = {
    "auto": decision_pb2.POLICY_OUTCOME_AUTO,
    "pending": decision_pb2.POLICY_OUTCOME_PENDING,
    "blocked": decision_pb2.POLICY_OUTCOME_BLOCKED,
}
_COLUMNS = (
    "decision_id, seq, kind, state, business_date, created_at, updated_at, sku, category, "
    "order_date, hour, quantity, value, confidence, model_name, model_version, rule, "
    "policy_hash, policy_outcome, shadow, expires_at, supersedes_id, actor, reason"
)


_INSERT = f"INSERT INTO decisions({_COLUMNS}, payload) VALUES ({', '.join('?' * 25)})"


def _state_enum(state: str) -> int:
    return decision_pb2.DecisionState.Value(f"DECISION_STATE_{state.upper()}")


@dataclass(frozen=True)
class Proposal:
    """What a cycle proposes; the policy turns it into a decision."""

    kind: Kind
    quantity: float
    value: float
    confidence: float
    business_date: str
    sku: str | None = None
    category: str | None = None
    order_date: str | None = None
    hour: int | None = None
    model_name: str = ""
    model_version: str = ""
    feature_digest: str = ""
    expires_at: datetime | None = None
    detail: Message | None = None  # OrderDetail, StaffingDetail or ShelfCheckDetail
    inputs: dict[str, str] = field(default_factory=dict)  # what recomputing it needs


@dataclass(frozen=True)
class DecisionRow:
    decision_id: str
    seq: int
    kind: str
    state: str
    business_date: str
    created_at: str
    updated_at: str
    sku: str | None
    category: str | None
    order_date: str | None
    hour: int | None
    quantity: float
    value: float
    confidence: float
    model_name: str | None
    model_version: str | None
    rule: str
    policy_hash: str
    policy_outcome: str
    shadow: bool
    expires_at: str | None
    supersedes_id: str | None
    actor: str | None
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _row(values: tuple) -> DecisionRow:
    fields = list(values)
    fields[19] = bool(fields[19])
    return DecisionRow(*fields)


def get(mirror: Mirror, decision_id: str) -> DecisionRow:
    row = mirror.conn.execute(
        f"SELECT {_COLUMNS} FROM decisions WHERE decision_id = ?", (decision_id,)
    ).fetchone()
    if row is None:
        raise UnknownDecisionError(
            f"no decision {decision_id!r} in {mirror.path}",
            hint="list them with `edge-agent decisions --db DB`",
        )
    return _row(row)


def list_decisions(
    mirror: Mirror, *, state: str | None = None, kind: str | None = None, limit: int = 1000
) -> list[DecisionRow]:
    rows = mirror.conn.execute(
        f"SELECT {_COLUMNS} FROM decisions WHERE (? IS NULL OR state = ?) "
        "AND (? IS NULL OR kind = ?) ORDER BY seq DESC LIMIT ?",
        (state, state, kind, kind, limit),
    )
    return [_row(r) for r in rows]


_LIVE = f"state IN ({', '.join(repr(s) for s in LIVE_STATES)})"
# One query per kind and day for a whole batch of proposals (each through an index).
_LIVE_SQL = {
    "order": f"SELECT {_COLUMNS} FROM decisions WHERE kind = 'order' AND sku IN "
    f"(SELECT value FROM json_each(?)) AND order_date = ? AND {_LIVE} ORDER BY seq",
    "staffing": f"SELECT {_COLUMNS} FROM decisions WHERE kind = 'staffing' AND "
    f"business_date = ? AND {_LIVE} ORDER BY seq",
    "shelf_check": f"SELECT {_COLUMNS} FROM decisions WHERE kind = 'shelf_check' AND "
    f"business_date = ? AND {_LIVE} ORDER BY seq",
}


def _subject(kind: str, sku: str | None, day: str | None, hour: int | None) -> tuple:
    """What makes two decisions the same: SKU and order date (orders), date and hour
    (staffing), SKU and business date (shelf checks). ``day`` is the order date for orders."""
    return (kind, day, hour) if kind == "staffing" else (kind, sku, day)


def _proposal_subject(proposal: Proposal) -> tuple:
    day = proposal.order_date if proposal.kind == "order" else proposal.business_date
    return _subject(proposal.kind, proposal.sku, day, proposal.hour)


def _live_decisions(mirror: Mirror, proposals: Sequence[Proposal]) -> dict[tuple, DecisionRow]:
    """The live decision (the newest) of each proposal's subject."""
    asked: dict[tuple[str, str | None], set[str | None]] = {}
    for p in proposals:
        day = p.order_date if p.kind == "order" else p.business_date
        asked.setdefault((p.kind, day), set()).add(p.sku)
    live: dict[tuple, DecisionRow] = {}
    for (kind, day), skus in asked.items():
        params = (json.dumps(sorted(s for s in skus if s)), day) if kind == "order" else (day,)
        for values in mirror.conn.execute(_LIVE_SQL[kind], params):
            row = _row(values)  # ascending seq: the newest of a subject is kept
            if (row.hour if kind == "staffing" else row.sku) is None:
                continue  # a NULL never equals a subject
            key_day = row.order_date if kind == "order" else row.business_date
            live[_subject(kind, row.sku, key_day, row.hour)] = row
    return live


def record(mirror: Mirror, proposal: Proposal, policy: Policy) -> DecisionRow:
    """Turn a proposal into a decision (one transaction, unless the caller holds one).

    Idempotent per SKU and order date (orders), date and hour (staffing), SKU and day
    (shelf checks): a live decision that is no longer pending is returned as it is; a
    pending one is superseded by the new proposal.
    """
    if not mirror.conn.in_transaction:
        with mirror.transaction():
            row = record(mirror, proposal, policy)
        failpoints.hit("decision.after_commit")
        return row
    return record_many(mirror, [proposal], policy)[0]


def record_many(mirror: Mirror, proposals: Sequence[Proposal], policy: Policy) -> list[DecisionRow]:
    """:func:`record` for a cycle's proposals, in the caller's transaction: the live
    decisions of all their subjects are read in one query per kind and day."""
    if not mirror.conn.in_transaction:
        raise DecisionError("record_many must run inside the caller's transaction",
                            hint="this is a bug in the caller")  # fmt: skip
    live = _live_decisions(mirror, proposals)
    made = []
    writes = _Writes(mirror)
    for proposal in proposals:
        key = _proposal_subject(proposal)
        row = _record(mirror, proposal, policy, live.get(key), writes)
        if row.state in LIVE_STATES:  # a later proposal for the same subject finds it
            live[key] = row
        else:
            live.pop(key, None)
        made.append(row)
    writes.flush()
    return made


class _Writes:
    """New decisions' rows (decisions, audit, outbox) held and written by :meth:`flush` in
    one statement per table, in the same transaction and order as one at a time (a
    cycle's 11,000 orders spent a third of its time in single-row writes). Flushed before
    anything that writes on its own (superseding a pending decision)."""

    def __init__(self, mirror: Mirror) -> None:
        self.mirror = mirror
        self.audit = audit.Batch(mirror)
        self.decisions: list[tuple] = []
        self.outbox: list[tuple] = []
        self._last_seq: int | None = None
        # The decisions of one call are recorded at one instant, as they commit together:
        # its timestamp and text are worked out once, not per decision.
        self.now = mirror.clock.now()
        self.now_text = self.now.isoformat()
        self._stamps: dict[datetime, Timestamp] = {}

    def stamp(self, moment: datetime) -> Timestamp:
        """``moment`` as a protobuf Timestamp (a cycle's orders share a few expiry times)."""
        if moment not in self._stamps:
            self._stamps[moment] = Timestamp()
            self._stamps[moment].FromDatetime(moment.astimezone(UTC))
        return self._stamps[moment]

    def next_seq(self) -> int:
        if self._last_seq is None:
            self._last_seq = self.mirror.last_sequence("decision")
        self._last_seq += 1
        return self._last_seq

    def flush(self) -> None:
        conn = self.mirror.conn
        if self.decisions:
            try:
                conn.executemany(_INSERT, self.decisions)
            except sqlite3.IntegrityError as exc:  # the one-live-order rule, by the database
                raise DecisionError(
                    f"a decision of this cycle already has a live one for its subject: {exc}",
                    hint="this is a bug in the caller: record() returns the live decision instead",
                ) from None
            assert self._last_seq is not None
            self.mirror.set_sequence("decision", self._last_seq)
        self.audit.flush()
        if self.outbox:
            outbox.append_many(self.mirror, self.outbox)
        self.decisions, self.outbox, self._last_seq = [], [], None


def _record(
    mirror: Mirror,
    proposal: Proposal,
    policy: Policy,
    existing: DecisionRow | None,
    writes: _Writes,
) -> DecisionRow:
    if existing is not None and (
        existing.state != "pending"
        or (existing.quantity, existing.value) == (proposal.quantity, proposal.value)
    ):
        return existing  # already decided, or the same proposal again (a re-run)
    verdict = policy.evaluate(
        proposal.kind,
        quantity=proposal.quantity,
        value=proposal.value,
        confidence=proposal.confidence,
        category=proposal.category,
    )
    supersedes = None
    if existing is not None:
        writes.flush()  # the step writes its own rows, after those held
        step(mirror, existing, "superseded", actor="system", reason="a newer cycle proposed anew")
        supersedes = existing.decision_id
    store = mirror.require_store()
    now, now_text = writes.now, writes.now_text
    seq = writes.next_seq()
    state = verdict.outcome  # a new decision's state is the policy's outcome
    message = decision_pb2.Decision(
        id=common_pb2.RecordId(
            store_id=store.store_id, record_type=common_pb2.RECORD_TYPE_DECISION, sequence=seq
        ),
        business_date=proposal.business_date,
        kind=_KINDS[proposal.kind],
        state=_state_enum(state),
        sku=proposal.sku or "",
        category=proposal.category or "",
        quantity=proposal.quantity,
        value=proposal.value,
        confidence=proposal.confidence,
        model_name=proposal.model_name,
        model_version=proposal.model_version,
        rule=verdict.rule,
        policy_hash=bytes.fromhex(verdict.policy_hash),
        policy_outcome=_OUTCOMES[verdict.outcome],
        feature_digest=proposal.feature_digest,
        supersedes_id=supersedes or "",
        actor="system",
    )
    message.recorded_at.CopyFrom(writes.stamp(now))
    if proposal.expires_at is not None:
        message.expires_at.CopyFrom(writes.stamp(proposal.expires_at))
    if proposal.detail is not None:
        getattr(message, proposal.kind).CopyFrom(proposal.detail)  # the oneof case is the kind
    payload = message.SerializeToString(deterministic=True)
    decision_id = record_id_text(message.id)
    failpoints.hit("decision.before_insert")
    # The row as the table stores it (REAL columns as floats): returned without reading
    # it back.
    values = (
        decision_id, seq, proposal.kind, state, proposal.business_date, now_text,
        now_text, proposal.sku, proposal.category, proposal.order_date, proposal.hour,
        float(proposal.quantity), float(proposal.value), float(proposal.confidence),
        proposal.model_name, proposal.model_version, verdict.rule, verdict.policy_hash,
        verdict.outcome, int(policy.mode == "shadow"),
        proposal.expires_at.astimezone(UTC).isoformat() if proposal.expires_at else None,
        supersedes, "system", None,
    )  # fmt: skip
    writes.decisions.append((*values, payload))
    writes.audit.append(
        audit_pb2.AUDIT_EVENT_TYPE_DECISION_CREATED,
        subject_id=decision_id,
        summary=f"{proposal.kind} {proposal.sku or proposal.hour or ''} qty "
        f"{proposal.quantity:g} value {proposal.value:.2f}: {verdict.outcome} ({verdict.rule})",
        attributes={"mode": policy.mode, **proposal.inputs},
        business_date=proposal.business_date,
        now=now,
        decision=message,
    )
    failpoints.hit("decision.before_outbox")
    writes.outbox.append((decision_id, "decision", payload, now_text))
    failpoints.hit("decision.before_commit")
    return _row(values)


def step(
    mirror: Mirror,
    row: DecisionRow,
    to_state: str,
    *,
    actor: str,
    reason: str,
    quantity: float | None = None,
) -> DecisionRow:
    """Move one decision (inside the caller's transaction), audited and outboxed."""
    if to_state not in TRANSITIONS.get(row.state, ()):
        raise DecisionError(
            f"decision {row.decision_id} is {row.state}; it cannot become {to_state}",
            hint=f"from {row.state} it may become: "
            f"{', '.join(TRANSITIONS.get(row.state, ())) or 'nothing (final)'}",
        )
    now = mirror.clock.now()
    mirror.conn.execute(
        "UPDATE decisions SET state = ?, updated_at = ?, actor = ?, reason = ?, "
        "quantity = COALESCE(?, quantity) WHERE decision_id = ?",
        (to_state, now.isoformat(), actor, reason, quantity, row.decision_id),
    )
    change = decision_pb2.DecisionStateChange(
        from_state=_state_enum(row.state), to_state=_state_enum(to_state), actor=actor,
        reason=reason,
    )  # fmt: skip
    change.decision_id.CopyFrom(stored_message(mirror, row.decision_id).id)
    change.changed_at.FromDatetime(now.astimezone(UTC))
    event = {
        "approved": audit_pb2.AUDIT_EVENT_TYPE_APPROVAL,
        "rejected": audit_pb2.AUDIT_EVENT_TYPE_APPROVAL,
        "overridden": audit_pb2.AUDIT_EVENT_TYPE_OVERRIDE,
        "confirmed": audit_pb2.AUDIT_EVENT_TYPE_EXECUTION_RESULT,
        "failed": audit_pb2.AUDIT_EVENT_TYPE_EXECUTION_RESULT,
    }.get(to_state, audit_pb2.AUDIT_EVENT_TYPE_DECISION_STATE_CHANGED)
    extra = {} if quantity is None else {"quantity": f"{quantity:g}"}
    appended = audit.append(
        mirror,
        event,
        actor=actor,
        subject_id=row.decision_id,
        summary=f"{row.decision_id}: {row.state} -> {to_state} by {actor}: {reason}",
        attributes=extra,
        state_change=change,
    )
    outbox.append(mirror, f"{row.decision_id}@{appended.seq}", "decision_state",
            change.SerializeToString(deterministic=True))  # fmt: skip
    return get(mirror, row.decision_id)


def stored_message(mirror: Mirror, decision_id: str) -> decision_pb2.Decision:
    """The Decision message as it was created (and audited)."""
    row = mirror.conn.execute(
        "SELECT payload FROM decisions WHERE decision_id = ?", (decision_id,)
    ).fetchone()
    if row is None:
        raise UnknownDecisionError(f"no decision {decision_id!r} in {mirror.path}")
    return decision_pb2.Decision.FromString(row[0])


def transition(
    mirror: Mirror,
    decision_id: str,
    to_state: str,
    *,
    actor: str,
    reason: str,
    quantity: float | None = None,
) -> DecisionRow:
    """A person's or an executor's step (approve, reject, override, submit, confirm, fail).

    Approving after the deadline expires the decision instead, and fails saying so.
    """
    if not actor.strip() or not reason.strip():
        raise DecisionError("a lifecycle step needs who (--by) and why (--reason)")
    if to_state == "overridden" and (quantity is None or quantity < 0):
        raise DecisionError("an override needs the quantity to use instead (>= 0)")
    expired: DecisionRow | None = None
    with mirror.transaction():
        row = get(mirror, decision_id)
        deadline = row.expires_at
        if (
            row.state == "pending"
            and to_state in ("approved", "overridden")
            and deadline is not None
            and mirror.clock.now() >= datetime.fromisoformat(deadline)
        ):
            why = f"deadline {deadline} passed before {actor} decided"
            expired = step(mirror, row, "expired", actor="system", reason=why)
        else:
            if row.state in ("expired", "superseded") and to_state in ("approved", "overridden"):
                raise DecisionError(
                    f"decision {decision_id} was {row.state} ({row.reason}); it cannot be "
                    f"{to_state}",
                    hint="approve the newest decision for this SKU instead"
                    if row.state == "superseded"
                    else "the supplier cutoff has passed: the next cycle proposes again",
                )
            return step(mirror, row, to_state, actor=actor, reason=reason, quantity=quantity)
    raise DecisionError(
        f"decision {decision_id} expired at {expired.expires_at}, before it was {to_state}",
        hint="the supplier cutoff has passed: the next cycle proposes again",
    )


def expire_due(mirror: Mirror) -> list[DecisionRow]:
    """Expire every pending decision whose deadline has passed (one transaction)."""
    now = mirror.clock.now().astimezone(UTC).isoformat()
    with mirror.transaction():
        due = [
            _row(r)
            for r in mirror.conn.execute(
                f"SELECT {_COLUMNS} FROM decisions WHERE state = 'pending' "
                "AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY seq",
                (now,),
            ).fetchall()
        ]
        return [
            step(mirror, row, "expired", actor="system", reason=f"deadline {row.expires_at}")
            for row in due
        ]
