"""Daily outcomes: what each finished business day was, queued for the hub.

The hub retrains on these (``models.panels.day_from_outcome`` rebuilds the very
panels the edge serves from) and joins them to decisions for ROI. A day is
emitted once it is over and its data is in; the last ``recheck_days`` are
looked at again on every pass, and a day whose facts changed (a late or
corrected export) is sent again with ``revision`` + 1 under a new record id, so
the hub keeps the newest revision and never mistakes a correction for a
duplicate. A large store-day is split into parts under the NATS payload limit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, timedelta

from edge_agent import outbox, sync
from edge_agent.mirror.db import Mirror
from edge_agent.mirror.panels import store_days
from models.panels import outcome_from_day
from storeedge.ids import record_id_text
from storeedge.v1 import common_pb2, outcome_pb2

__all__ = ["EmitReport", "emit_due"]

#: SKUs per message part: ~40 bytes each keeps a part far below NATS's 1 MiB default.
SKUS_PER_PART = 5_000
_WATERMARK = "outcome.watermark"


@dataclass
class EmitReport:
    days: int = 0
    revisions: int = 0
    messages: int = 0


def _last_complete_day(mirror: Mirror) -> date | None:
    """Yesterday in the store, or the last day with sales if the data is older."""
    last_sales = mirror.conn.execute("SELECT MAX(date) FROM daily_sales").fetchone()[0]
    if last_sales is None:
        return None
    return min(mirror.today() - timedelta(days=1), date.fromisoformat(last_sales))


def emit_due(
    mirror: Mirror,
    *,
    backfill_days: int = 365,
    recheck_days: int = 7,
    max_days: int = 31,
) -> EmitReport:
    """Queue the outcomes of finished days not yet sent or changed since (one transaction).

    At most ``max_days`` days per call, oldest first, so a first backfill never
    holds the mirror for long; call again until it reports 0 days.
    """
    report = EmitReport()
    through = _last_complete_day(mirror)
    if through is None:
        return report
    # Nothing ingested and no new day since the last pass: nothing can have changed.
    files = mirror.conn.execute("SELECT MAX(file_id) FROM ingest_files").fetchone()[0]
    watermark = f"{through.isoformat()}|{files}"
    if sync.read_state(mirror, _WATERMARK) == watermark:
        return report
    first_sales = mirror.conn.execute("SELECT MIN(date) FROM daily_sales").fetchone()[0]
    earliest = max(date.fromisoformat(first_sales), through - timedelta(days=backfill_days - 1))
    last_sent = mirror.conn.execute("SELECT MAX(date) FROM outcome_days").fetchone()[0]
    start = earliest
    if last_sent is not None:
        start = max(earliest, date.fromisoformat(last_sent) - timedelta(days=recheck_days - 1))
    end = min(through, start + timedelta(days=max_days - 1))
    sent = {
        day: (revision, digest)
        for day, revision, digest in mirror.conn.execute(
            "SELECT date, revision, digest FROM outcome_days WHERE date BETWEEN ? AND ?",
            (start.isoformat(), end.isoformat()),
        )
    }
    store = mirror.require_store()
    with mirror.transaction():
        for facts in store_days(mirror, start, end):
            message = outcome_from_day(store.store_id, facts)
            digest = hashlib.sha256(message.SerializeToString(deterministic=True)).hexdigest()
            day = facts.day.isoformat()
            revision, previous = sent.get(day, (0, None))
            if previous == digest:
                continue
            revision += 1
            report.days += 1
            report.revisions += revision > 1
            report.messages += _queue(mirror, message, revision)
            mirror.conn.execute(
                "INSERT INTO outcome_days(date, revision, digest, sent_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(date) DO UPDATE SET revision = excluded.revision, "
                "digest = excluded.digest, sent_at = excluded.sent_at",
                (day, revision, digest, mirror.clock.now().isoformat()),
            )
        if end == through:  # caught up: the next pass can skip until something changes
            sync.write_state(mirror, _WATERMARK, watermark)
    return report


def _queue(mirror: Mirror, whole: outcome_pb2.DailyOutcome, revision: int) -> int:
    skus = list(whole.skus)
    parts = max(1, -(-len(skus) // SKUS_PER_PART))
    now = mirror.clock.now().astimezone(UTC)
    for part in range(parts):
        message = outcome_pb2.DailyOutcome()
        message.CopyFrom(whole)
        del message.skus[:]
        message.skus.extend(skus[part * SKUS_PER_PART : (part + 1) * SKUS_PER_PART])
        if part:
            del message.hours[:]  # hours travel once, with part 1
        message.revision = revision
        message.part, message.part_count = part + 1, parts
        message.id.CopyFrom(
            common_pb2.RecordId(
                store_id=whole.id.store_id,
                record_type=common_pb2.RECORD_TYPE_OUTCOME,
                sequence=mirror.next_sequence("outcome"),
            )
        )
        message.recorded_at.FromDatetime(now)
        outbox.append(
            mirror,
            record_id_text(message.id),
            "outcome",
            message.SerializeToString(deterministic=True),
        )
    return parts
