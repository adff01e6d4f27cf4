"""Data minimization: nothing that leaves a store identifies a customer, a payment or a
basket. A week of POS exports full of such identifiers goes through the real ingest,
cycles, approvals, shelf checks, outcomes, heartbeat and drain to a real nats-server;
every payload published is captured and searched."""

from __future__ import annotations

import csv
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.json_format import MessageToJson

from cloud_hub.ingest import ensure_streams
from edge_agent import decisions, executor, outcomes, sync
from edge_agent.config import EdgeSettings
from edge_agent.cycle import load_models, run_cycle
from edge_agent.daemon import Agent
from edge_agent.mirror import Ingestor
from edge_agent.policy import Policy
from models import BOOTSTRAP_DIR
from storeedge import subjects
from storeedge.v1 import (
    audit_pb2,
    decision_pb2,
    heartbeat_pb2,
    outcome_pb2,
    shelf_check_pb2,
)
from tests.helpers import SIM_END, simulated_store, wait_until

#: What a POS export carries besides the sales facts, by column.
PERSONAL_COLUMNS = ("customer_id", "loyalty_card", "card_pan", "payment_token", "cashier_note")

#: Message types a store sends, by subject type; none may even have a field for these.
UP_TYPES = {
    "decision": decision_pb2.Decision,
    "decision_state": decision_pb2.DecisionStateChange,
    "shelf_check": shelf_check_pb2.ShelfCheckResult,
    "audit": audit_pb2.AuditEntry,
    "outcome": outcome_pb2.DailyOutcome,
    "approval_result": decision_pb2.ApprovalResult,
    "heartbeat": heartbeat_pb2.Heartbeat,
}
FORBIDDEN_FIELD_WORDS = (
    "customer",
    "payment",
    "basket",
    "card",
    "loyalty",
    "cashier",
    "transaction_id",
)


def week_of_exports(folder: Path, skus: list[str], rng: random.Random) -> tuple[list, set]:
    """Seven days of sales-line exports; returns the files and every identifier in them."""
    identifiers: set[str] = set()
    files = []
    for offset in range(1, 8):
        day = SIM_END + timedelta(days=offset)
        path = folder / f"sales_{day}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line_id", "timestamp", "sku", "qty", "unit_price", "basket_id",
                             "line_type", *PERSONAL_COLUMNS])  # fmt: skip
            for basket_no in range(40):
                basket = f"BSK-{uuid.uuid4().hex[:12]}"
                person = {
                    "customer_id": f"CUST-{uuid.uuid4().hex[:10]}",
                    "loyalty_card": f"LOY{rng.randrange(10**11, 10**12)}",
                    "card_pan": f"4{rng.randrange(10**14, 10**15)}",
                    "payment_token": f"tok_{uuid.uuid4().hex}",
                    "cashier_note": f"paid by {uuid.uuid4().hex[:8]}",
                }
                identifiers |= {basket, *person.values()}
                stamp = f"{day}T{9 + basket_no % 10:02d}:{rng.randrange(60):02d}:00"
                for line_no in range(rng.randint(1, 4)):
                    line_type = "return" if basket_no == 7 and line_no == 0 else "sale"
                    writer.writerow([f"{basket}-{line_no}", stamp, rng.choice(skus),
                                     rng.randint(1, 3), "2.49", basket, line_type,
                                     *person.values()])  # fmt: skip
            # One line the mirror cannot place (unknown SKU): it goes to quarantine.
            writer.writerow([f"{basket}-x", stamp, "NO-SUCH-SKU", 1, "1.00", basket, "sale",
                             *person.values()])  # fmt: skip
        files.append((day, path))
    return files, identifiers


def forbidden_fields(descriptor: Descriptor, seen: set[str] | None = None) -> list[str]:
    seen = seen if seen is not None else set()
    if descriptor.full_name in seen:
        return []
    seen.add(descriptor.full_name)
    found = []
    for field in descriptor.fields:
        if any(word in field.name.lower() for word in FORBIDDEN_FIELD_WORDS):
            found.append(f"{descriptor.full_name}.{field.name}")
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            found += forbidden_fields(field.message_type, seen)
    return found


def test_the_wire_contract_has_no_field_for_personal_data():
    for name, message in UP_TYPES.items():
        assert forbidden_fields(message.DESCRIPTOR) == [], name


async def test_a_week_of_store_traffic_carries_no_customer_payment_or_basket_id(
    nats_server, tmp_path
):
    db = tmp_path / "s1.db"
    mirror = simulated_store(db, "S001", seed=21, skus=40, days=60, cycles=0)
    skus = [row[0] for row in mirror.conn.execute("SELECT DISTINCT sku FROM products")]
    files, identifiers = week_of_exports(tmp_path, skus, random.Random(5))
    hub = await nats.connect(nats_server.url)
    await ensure_streams(hub.jetstream())
    captured: list[tuple[str, bytes]] = []

    async def capture(message) -> None:
        captured.append((message.subject, message.data))

    await hub.subscribe(f"{subjects.PREFIX}.*.up.*", cb=capture)
    await hub.subscribe(f"{subjects.PREFIX}.*.status.*", cb=capture)
    store = await nats.connect(nats_server.url)
    models = load_models(BOOTSTRAP_DIR)
    try:
        for day, path in files:
            nxt = day + timedelta(days=1)
            # The day's export arrives overnight; the cycle runs after it.
            mirror.clock.instant = datetime(nxt.year, nxt.month, nxt.day, 6, tzinfo=UTC)
            report = Ingestor(mirror).ingest_file(path)
            assert report.rows_loaded > 0 and report.rows_quarantined == 1, report.quarantined
            run_cycle(mirror, models, Policy(), nxt)
            pending = decisions.list_decisions(mirror, state="pending", limit=1)
            if pending:
                decisions.transition(mirror, pending[0].decision_id, "approved",
                                     actor="manager", reason="looks right")  # fmt: skip
            for check in decisions.list_decisions(mirror, kind="shelf_check", state="auto")[:2]:
                executor.complete_shelf_check(mirror, check.decision_id, found=False, by="ana")
            while outcomes.emit_due(mirror).days:
                pass
            await sync.drain(mirror, store.jetstream())
        settings = EdgeSettings(db=db, nats_url=nats_server.url, insecure=True)
        beat = Agent(settings, clock=mirror.clock).heartbeat()
        await store.publish(subjects.heartbeat_subject("S001"), beat.SerializeToString())
        await store.flush()
        status = sync.sync_status(mirror)
        total = sum(counts["acked"] for counts in status.values())
        await wait_until(lambda: len(captured) >= total + 1, "every payload captured", 30)
    finally:
        mirror.close()
        await store.close()
        await hub.close()

    kinds = {subjects.parse_subject(subject)[2] for subject, _ in captured}
    assert kinds >= {"decision", "decision_state", "shelf_check", "audit", "outcome",
                     "heartbeat"}, kinds  # fmt: skip
    # The identifiers really were in the files (baskets are even kept in the mirror, to
    # count transactions per hour): what must not leave was there to leak.
    assert len(identifiers) == 7 * 40 * 6
    leaks = []
    for subject, data in captured:
        message = UP_TYPES[subjects.parse_subject(subject)[2]].FromString(data)
        texts = [data, MessageToJson(message).encode()]
        if isinstance(message, audit_pb2.AuditEntry):
            record = audit_pb2.AuditRecord.FromString(message.payload)
            texts.append(MessageToJson(record).encode())
        for text in texts:
            leaks += [(subject, i) for i in identifiers if i.encode() in text]
    assert leaks == []
