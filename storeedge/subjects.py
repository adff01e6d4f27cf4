"""NATS subjects and JetStream streams shared by the edge agent and the hub.

Subjects carry the store id as their second token, so per-store permissions
are one wildcard each (see docs/ARCHITECTURE.md, "NATS subjects and streams")::

    storeedge.<store>.up.<record type>     store -> hub records   (stream STOREEDGE_UP)
    storeedge.<store>.status.heartbeat     store -> hub liveness  (stream STOREEDGE_STATUS)
    storeedge.<store>.down.<message type>  hub -> store           (stream STOREEDGE_DOWN)

Every store->hub record is published with ``Nats-Msg-Id`` = its record id
(``S001:audit:42``), globally unique, so JetStream's dedup never confuses two
stores whose local sequences coincide. The dedup window is only a first line:
the hub is idempotent by record id however late a copy arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DESIRED_BUCKET",
    "DOWN_STREAM",
    "MODELS_BUCKET",
    "OFFLINE_PROMISE_DAYS",
    "RECORD_TYPES",
    "STATUS_KEYS",
    "STATUS_STREAM",
    "UP_STREAM",
    "StreamSpec",
    "desired_consumer",
    "desired_filter",
    "desired_key",
    "down_durable",
    "down_filter",
    "down_subject",
    "heartbeat_subject",
    "model_object",
    "model_status_subject",
    "parse_subject",
    "store_inbox_prefix",
    "store_permissions",
    "stream_specs",
    "up_subject",
]

PREFIX = "storeedge"

#: How long a store may be offline and still lose nothing: its outbox keeps
#: everything locally, and the streams keep what was published longer than this,
#: so a hub that was down as long as a store still finds every record.
OFFLINE_PROMISE_DAYS = 14
#: Stream retention: twice the promise.
RETENTION_DAYS = 2 * OFFLINE_PROMISE_DAYS

#: Outbox record types, in the order status shows them, with their status key.
RECORD_TYPES: dict[str, str] = {
    "decision": "decisions",
    "decision_state": "decision_states",
    "shelf_check": "shelf_checks",
    "audit": "audit",
    "outcome": "outcomes",
    "approval_result": "approval_results",
}
STATUS_KEYS = tuple(RECORD_TYPES.values())

#: Hub -> store message types.
DOWN_TYPES = ("approval", "chain_ack", "command")

#: Model distribution (docs/ARCHITECTURE.md, "Model distribution"): artifacts in a
#: JetStream object store, fleet-wide; the version each store should serve in a KV
#: bucket, one key per store and model, so a store reads only its own.
MODELS_BUCKET = "storeedge-models"
DESIRED_BUCKET = "storeedge-desired"

UP_STREAM = "STOREEDGE_UP"
STATUS_STREAM = "STOREEDGE_STATUS"
DOWN_STREAM = "STOREEDGE_DOWN"


def _check_token(name: str, value: str) -> None:
    if not value or any(ch in value for ch in ".*> \t\r\n"):
        raise ValueError(f"{name} {value!r} cannot be a NATS subject token")


def up_subject(store_id: str, record_type: str) -> str:
    """``storeedge.<store>.up.<record type>``."""
    _check_token("store id", store_id)
    if record_type not in RECORD_TYPES:
        raise ValueError(f"unknown record type {record_type!r}; known: {', '.join(RECORD_TYPES)}")
    return f"{PREFIX}.{store_id}.up.{record_type}"


def heartbeat_subject(store_id: str) -> str:
    _check_token("store id", store_id)
    return f"{PREFIX}.{store_id}.status.heartbeat"


def down_subject(store_id: str, message_type: str) -> str:
    """``storeedge.<store>.down.<message type>``."""
    _check_token("store id", store_id)
    if message_type not in DOWN_TYPES:
        raise ValueError(f"unknown hub->store type {message_type!r}; known: {DOWN_TYPES}")
    return f"{PREFIX}.{store_id}.down.{message_type}"


def model_status_subject(store_id: str) -> str:
    """A store's model swap reports (applied / refused): ``storeedge.<store>.status.model``."""
    _check_token("store id", store_id)
    return f"{PREFIX}.{store_id}.status.model"


def desired_key(store_id: str, model: str) -> str:
    """The KV key (bucket ``DESIRED_BUCKET``) holding the version ``store_id`` should serve."""
    _check_token("store id", store_id)
    _check_token("model name", model)
    return f"{store_id}.{model}"


def desired_filter(store_id: str) -> str:
    """Every desired key of one store, as the KV stream's subject filter."""
    _check_token("store id", store_id)
    return f"$KV.{DESIRED_BUCKET}.{store_id}.>"


def desired_consumer(store_id: str) -> str:
    """The store's own consumer on the desired-versions bucket."""
    _check_token("store id", store_id)
    return f"models-{store_id}"


def model_object(model: str, version: str, part: str) -> str:
    """Object name of a model artifact: ``<name>/<version>/model.onnx`` or
    ``<name>/<version>/manifest.signed.binpb``."""
    _check_token("model name", model)
    if not version or "/" in version or any(ch.isspace() for ch in version):
        raise ValueError(f"model version {version!r} cannot be part of an object name")
    if part not in ("model.onnx", "manifest.signed.binpb"):
        raise ValueError(f"unknown model artifact part {part!r}")
    return f"{model}/{version}/{part}"


def down_filter(store_id: str) -> str:
    """Every hub -> store subject of one store: ``storeedge.<store>.down.*``."""
    _check_token("store id", store_id)
    return f"{PREFIX}.{store_id}.down.*"


def down_durable(store_id: str) -> str:
    """The store's durable consumer on the down stream."""
    _check_token("store id", store_id)
    return f"store-{store_id}"


def store_inbox_prefix(store_id: str) -> str:
    """Replies to a store (publish acks, fetched messages) arrive under ``_INBOX.<store>``,
    so a store may subscribe to its own inboxes and to no one else's."""
    _check_token("store id", store_id)
    return f"_INBOX.{store_id}"


def store_permissions(store_id: str) -> dict[str, list[str]]:
    """What one store's NATS identity may publish and subscribe to, and nothing more.

    A store publishes its own records and heartbeats, and reads its own hub->store
    messages through its own durable consumer: it may create that consumer only with
    its own filter (the server checks the filter in the create subject against the
    request), ask for its next messages and acknowledge them. The same holds for its
    desired model versions (its own keys of ``DESIRED_BUCKET``). It may read (never
    write) the fleet-wide model artifacts in ``MODELS_BUCKET``. It cannot create other
    consumers, read other streams, keys or objects, or use anyone else's subjects.
    """
    durable = down_durable(store_id)
    desired = f"KV_{DESIRED_BUCKET}"
    watcher = desired_consumer(store_id)
    models = f"OBJ_{MODELS_BUCKET}"
    return {
        "publish": [
            f"{PREFIX}.{store_id}.up.*",
            f"{PREFIX}.{store_id}.status.*",
            f"$JS.API.CONSUMER.CREATE.{DOWN_STREAM}.{durable}.{down_filter(store_id)}",
            f"$JS.API.CONSUMER.INFO.{DOWN_STREAM}.{durable}",
            f"$JS.API.CONSUMER.MSG.NEXT.{DOWN_STREAM}.{durable}",
            f"$JS.ACK.{DOWN_STREAM}.{durable}.>",
            # Its own desired-version keys only, through its own consumer whose filter the
            # server checks against the create subject (as on the down stream).
            f"$JS.API.CONSUMER.CREATE.{desired}.{watcher}.{desired_filter(store_id)}",
            f"$JS.API.CONSUMER.DELETE.{desired}.{watcher}",
            f"$JS.API.CONSUMER.INFO.{desired}.{watcher}",
            f"$JS.API.CONSUMER.MSG.NEXT.{desired}.{watcher}",
            # Model artifacts are fleet-wide (not secret): read the object store's stream,
            # through ephemeral ordered consumers (obs.get); writing it is not allowed.
            # obs.get finds the chunks' stream by subject: stream names only, no data.
            "$JS.API.STREAM.NAMES",
            f"$JS.API.STREAM.INFO.{models}",
            f"$JS.API.STREAM.MSG.GET.{models}",
            f"$JS.API.DIRECT.GET.{models}.>",
            f"$JS.API.CONSUMER.CREATE.{models}",
            f"$JS.API.CONSUMER.CREATE.{models}.>",
            f"$JS.API.CONSUMER.INFO.{models}.*",
            f"$JS.API.CONSUMER.DELETE.{models}.*",
            f"$JS.FC.{models}.>",
        ],
        "subscribe": [f"{store_inbox_prefix(store_id)}.>"],
    }


def parse_subject(subject: str) -> tuple[str, str, str]:
    """(store id, direction, type) of a storeedge subject; ValueError names what is wrong."""
    parts = subject.split(".")
    if len(parts) != 4 or parts[0] != PREFIX or parts[2] not in ("up", "down", "status"):
        raise ValueError(f"{subject!r} is not a storeedge subject (storeedge.<store>.up.<type>)")
    return parts[1], parts[2], parts[3]


@dataclass(frozen=True)
class StreamSpec:
    """What the hub creates (or updates) at start; stores never create streams."""

    name: str
    subjects: tuple[str, ...]
    max_age_s: float
    description: str
    max_msgs_per_subject: int = -1
    duplicate_window_s: float = 120.0


def stream_specs() -> tuple[StreamSpec, ...]:
    day = 86_400.0
    return (
        # Limits-based, never work-queue: a record stays even after the hub consumed it,
        # so a hub restored from a backup can replay the retention period.
        StreamSpec(
            UP_STREAM,
            (f"{PREFIX}.*.up.*",),
            RETENTION_DAYS * day,
            "store->hub records (decisions, audit, outcomes, shelf checks)",
        ),
        StreamSpec(
            STATUS_STREAM,
            (f"{PREFIX}.*.status.*",),
            1 * day,
            "store heartbeats: only the latest few per store matter",
            max_msgs_per_subject=10,
        ),
        StreamSpec(
            DOWN_STREAM,
            (f"{PREFIX}.*.down.*",),
            RETENTION_DAYS * day,
            "hub->store approvals, chain-head acknowledgements and commands",
        ),
    )
