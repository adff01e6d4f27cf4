"""Hub ingest: durable pull consumers from JetStream into the hub database.

A batch is fetched, written in one database transaction (idempotent by record
id, chains verified on arrival) and only then acknowledged, message by message
(explicit acks: several hub processes may share the durable consumer, and an
"ack all" from one would acknowledge messages another has not committed). A
crash between commit and ack redelivers the batch, which then changes nothing.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import api
from nats.js.errors import NotFoundError

from cloud_hub.errors import IngestLinkError
from cloud_hub.puller import BatchPuller
from cloud_hub.storage import HubStorage, Incoming, IngestResult
from storeedge import failpoints, subjects
from storeedge.retry import Streak

__all__ = ["IngestStats", "consume", "ensure_streams", "to_incoming"]

log = logging.getLogger("storeedge.hub.ingest")

DURABLE = "storeedge-hub-ingest"
_MSG_ID = "Nats-Msg-Id"


async def ensure_streams(js: Any, *, replicas: int = 1) -> None:
    """Create the kit's streams, or bring their limits up to date (idempotent)."""
    for spec in subjects.stream_specs():
        config = api.StreamConfig(
            name=spec.name,
            subjects=list(spec.subjects),
            description=spec.description,
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            max_age=spec.max_age_s,
            max_msgs_per_subject=spec.max_msgs_per_subject,
            duplicate_window=spec.duplicate_window_s,
            num_replicas=replicas,
        )
        try:
            await js.stream_info(spec.name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)


def to_incoming(subject: str, headers: dict[str, str] | None, data: bytes) -> Incoming:
    """What a message on the up stream says it is; ValueError names what is wrong."""
    store_id, direction, record_type = subjects.parse_subject(subject)
    if direction != "up" or record_type not in subjects.RECORD_TYPES:
        raise ValueError(f"{subject}: not a store->hub record subject")
    record_id = (headers or {}).get(_MSG_ID, "")
    if record_type == "audit":  # a later chain epoch's entries carry "~<epoch>" (sync.py)
        record_id = record_id.split("~", 1)[0]
    if not record_id.startswith(f"{store_id}:"):
        raise ValueError(f"{subject}: message id {record_id!r} does not belong to {store_id}")
    return Incoming(store_id, record_type, record_id, data)


@dataclass
class IngestStats:
    batches: int = 0
    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    chains_advanced: dict[str, int] = field(default_factory=dict)

    def add(self, result: IngestResult, messages: int) -> None:
        self.batches += 1
        self.messages += messages
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.quarantined += result.quarantined
        for store, n in result.chains_advanced.items():
            self.chains_advanced[store] = self.chains_advanced.get(store, 0) + n


async def consume(
    nc: Any,
    storage: HubStorage,
    *,
    stop: asyncio.Event,
    durable: str = DURABLE,
    batch_size: int = 1_000,
    idle_wait_s: float = 1.0,
    rebind_after_s: float = 30.0,
    on_batch: Callable[[IngestResult], Any] | None = None,
) -> IngestStats:
    """Ingest until ``stop`` is set; returns what was done. ``nc`` is a connected nats-py
    client.

    Messages whose subject or id is unusable are stored in quarantine through
    the storage (never silently dropped) and acknowledged.
    """
    stats = IngestStats()
    js = nc.jetstream()
    try:
        try:
            await js.consumer_info(subjects.UP_STREAM, durable)
        except NotFoundError:
            await js.add_consumer(
                subjects.UP_STREAM,
                api.ConsumerConfig(
                    durable_name=durable,
                    filter_subject=f"{subjects.PREFIX}.*.up.*",
                    ack_policy=api.AckPolicy.EXPLICIT,
                    ack_wait=60.0,
                    max_ack_pending=50_000,
                    deliver_policy=api.DeliverPolicy.ALL,
                ),
            )
        sub = await BatchPuller(nc, subjects.UP_STREAM, durable).start()
    except NatsError as exc:
        raise IngestLinkError(
            f"cannot bind the ingest consumer {durable} on {subjects.UP_STREAM}: {exc}",
            hint="is the hub connected to the right NATS server, and do the streams exist?",
        ) from exc
    streak = Streak(f"fetching from {subjects.UP_STREAM}", log)
    while not stop.is_set():
        try:
            msgs = await sub.fetch(batch_size, timeout=idle_wait_s)
        except (TimeoutError, NatsTimeoutError):
            continue
        except NatsError as exc:
            # nats-py reconnects on its own and the subscription survives it: ride out a
            # short outage; only a lasting failure goes up, to re-bind the consumer.
            streak.failed(exc)
            if streak.failing_for() > rebind_after_s:
                raise IngestLinkError(
                    f"fetching from {subjects.UP_STREAM} failed for {rebind_after_s:g} s: {exc}",
                    hint="unacknowledged messages are redelivered once the link is back",
                ) from exc
            await asyncio.sleep(min(1.0, idle_wait_s))
            continue
        streak.succeeded()
        batch = []
        for msg in msgs:
            try:
                batch.append(to_incoming(msg.subject, msg.headers, msg.data))
            except ValueError as exc:
                batch.append(_unusable(msg.subject, msg.data, str(exc)))
        result = await asyncio.to_thread(storage.ingest, batch)
        stats.add(result, len(msgs))
        failpoints.hit("ingest.before_ack")
        for msg in msgs:
            await msg.ack()
        if on_batch is not None:
            outcome = on_batch(result)
            if inspect.isawaitable(outcome):
                await outcome
    await sub.stop()
    return stats


def _unusable(subject: str, data: bytes, reason: str) -> Incoming:
    """A message ingest cannot place: the storage keeps it in quarantine with the reason."""
    parts = subject.split(".")
    store_id = parts[1] if len(parts) > 1 else "?"
    return Incoming(store_id, parts[-1], "", data, problem=reason)
