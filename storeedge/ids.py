"""Canonical text form of ``storeedge.v1.RecordId``: ``<store_id>:<type short name>:<sequence>``.

Example: ``S001:audit:42``. The text form is a bijection with the triple
(store_id, record_type, sequence): store ids cannot contain ``:`` or whitespace,
and sequences are written in decimal without sign or leading zeros.
"""

from __future__ import annotations

from storeedge.v1 import common_pb2

__all__ = ["RECORD_TYPE_SHORT_NAMES", "parse_record_id", "record_id_text"]

_UINT64_MAX = 2**64 - 1

#: RecordType value -> short name used in the text form.
RECORD_TYPE_SHORT_NAMES: dict[int, str] = {
    common_pb2.RECORD_TYPE_DECISION: "decision",
    common_pb2.RECORD_TYPE_AUDIT: "audit",
    common_pb2.RECORD_TYPE_OUTCOME: "outcome",
    common_pb2.RECORD_TYPE_SHELF_CHECK: "shelf_check",
    common_pb2.RECORD_TYPE_HEARTBEAT: "heartbeat",
    common_pb2.RECORD_TYPE_MODEL_STATUS: "model_status",
    common_pb2.RECORD_TYPE_APPROVAL_RESULT: "approval_result",
}
_SHORT_NAME_TYPES: dict[str, int] = {v: k for k, v in RECORD_TYPE_SHORT_NAMES.items()}


def _store_id_problem(store_id: str) -> str | None:
    if not store_id:
        return "store_id is empty"
    if ":" in store_id:
        return f"store_id {store_id!r} contains ':'"
    if any(ch.isspace() for ch in store_id):
        return f"store_id {store_id!r} contains whitespace"
    return None


def record_id_text(rid: common_pb2.RecordId) -> str:
    """Return the canonical text form of ``rid``, e.g. ``"S001:audit:42"``.

    Raises ValueError if the id cannot be written unambiguously (empty store_id,
    store_id containing ':' or whitespace, unspecified or unknown record_type).
    """
    problem = _store_id_problem(rid.store_id)
    if problem:
        raise ValueError(f"invalid RecordId: {problem}")
    short = RECORD_TYPE_SHORT_NAMES.get(rid.record_type)
    if short is None:
        raise ValueError(
            f"invalid RecordId: record_type {rid.record_type} "
            f"({_record_type_name(rid.record_type)}) has no short name"
        )
    return f"{rid.store_id}:{short}:{rid.sequence}"


def parse_record_id(text: str) -> common_pb2.RecordId:
    """Parse the canonical text form ``<store_id>:<type short name>:<sequence>``.

    Raises ValueError naming the bad part (store_id, record type or sequence).
    """
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(
            f"record id {text!r}: expected 3 ':'-separated parts "
            f"<store_id>:<type>:<sequence>, got {len(parts)}"
        )
    store_id, short, seq_text = parts
    problem = _store_id_problem(store_id)
    if problem:
        raise ValueError(f"record id {text!r}: {problem}")
    record_type = _SHORT_NAME_TYPES.get(short)
    if record_type is None:
        expected = ", ".join(sorted(_SHORT_NAME_TYPES))
        raise ValueError(f"record id {text!r}: unknown record type {short!r} (expected {expected})")
    if not (seq_text.isascii() and seq_text.isdigit()):
        raise ValueError(
            f"record id {text!r}: sequence {seq_text!r} is not a non-negative decimal integer"
        )
    if len(seq_text) > 1 and seq_text.startswith("0"):
        raise ValueError(f"record id {text!r}: sequence {seq_text!r} has leading zeros")
    sequence = int(seq_text)
    if sequence > _UINT64_MAX:
        raise ValueError(f"record id {text!r}: sequence {seq_text!r} exceeds uint64")
    return common_pb2.RecordId(store_id=store_id, record_type=record_type, sequence=sequence)


def _record_type_name(value: int) -> str:
    try:
        return common_pb2.RecordType.Name(value)
    except ValueError:
        return "unknown"
