"""Model distribution over NATS: artifacts in an object store, desired versions per store.

- **Artifacts** (fleet-wide, not secret): JetStream object store ``storeedge-models``,
  objects ``<name>/<version>/model.onnx`` and ``<name>/<version>/manifest.signed.binpb``
  (the ``SignedManifest`` that ``cloud-hub models sign`` writes). Stores may read them,
  never write them (``storeedge.subjects.store_permissions``).
- **Desired versions**: KV bucket ``storeedge-desired``, one key ``<store>.<model>`` per
  store and model holding a ``ModelOffer``. Per-store keys, so each store reads only its
  own, and so the hub offers each store only a version it can run: its latest heartbeat
  must report an agent version >= the manifest's ``min_agent_version`` and the manifest's
  feature-spec hash. An incompatible store (or one never heard from) is skipped and
  reported, never sent a model it cannot run. KV keeps the last value, so a store that
  was offline gets its offer when it comes back.
- **Reports**: each store answers on ``storeedge.<store>.status.model`` with a
  ``ModelSwapReport`` (applied or refused, why, swap latency); ``cloud-hub serve`` keeps
  the latest per store and model in ``model_swaps``.

The later rollout code calls :func:`publish`, :func:`offer` and :func:`rollback`.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError
from nats.js.errors import NotFoundError

from cloud_hub import hubdb
from cloud_hub.errors import HubConfigError, HubError
from storeedge import signing, subjects
from storeedge.v1 import heartbeat_pb2, model_pb2

__all__ = [
    "NO_HEARTBEAT",
    "OfferResult",
    "compatibility_problem",
    "ensure_buckets",
    "offer",
    "publish",
    "read_signed_folder",
    "record_swap_report",
    "rollback",
    "swap_reports",
    "target_stores",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS model_swaps (
  store_id TEXT NOT NULL,
  model TEXT NOT NULL,
  version TEXT NOT NULL,
  outcome TEXT NOT NULL,              -- applied, refused
  reason TEXT NOT NULL,
  previous_version TEXT NOT NULL,
  swap_seconds REAL NOT NULL,
  shadow_rows INTEGER NOT NULL,
  reported_at TEXT NOT NULL,
  PRIMARY KEY (store_id, model)
);
"""


@dataclass
class OfferResult:
    model: str
    version: str
    offered: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # store -> why

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "offered": self.offered,
                "skipped": self.skipped}  # fmt: skip


async def ensure_buckets(js: Any, *, replicas: int = 1) -> tuple[Any, Any]:
    """(object store, KV) for distribution, made on first use (the hub's identity only)."""
    obs = await js.create_object_store(subjects.MODELS_BUCKET, replicas=replicas,
                                       description="signed model artifacts")  # fmt: skip
    kv = await js.create_key_value(bucket=subjects.DESIRED_BUCKET, history=5, replicas=replicas,
                                   description="model version each store should serve")  # fmt: skip
    return obs, kv


def _manifest(signed: bytes, what: str) -> model_pb2.ModelManifest:
    """The manifest inside signed bytes (the stores verify the signature; the hub only
    reads what it publishes)."""
    try:
        envelope = model_pb2.SignedManifest.FromString(signed)
        return model_pb2.ModelManifest.FromString(envelope.manifest)
    except DecodeError:
        hint = "sign the folder with `cloud-hub models sign`"
        raise HubConfigError(f"{what}: not a signed manifest", hint=hint) from None


def read_signed_folder(
    folder: Path, trusted: Mapping[str, signing.TrustedKey] | None = None
) -> list[tuple[bytes, bytes, model_pb2.ModelManifest]]:
    """(ONNX bytes, signed manifest bytes, manifest) of each ``<name>.signed.binpb`` in a
    folder signed by ``cloud-hub models sign``; with ``trusted`` (the keys the hub
    publishes to stores), each signature is checked too, so the hub never sends out what
    every store would refuse."""
    import hashlib

    found = []
    for signed_path in sorted(folder.glob("*.signed.binpb")):
        name = signed_path.name.removesuffix(".signed.binpb")
        onnx_path = folder / f"{name}.onnx"
        try:
            blob, signed = onnx_path.read_bytes(), signed_path.read_bytes()
        except OSError as exc:
            hint = "each <name>.signed.binpb needs its <name>.onnx"
            raise HubConfigError(f"{folder}: cannot read model {name}: {exc.strerror}",
                                 hint=hint) from None  # fmt: skip
        manifest = _manifest(signed, str(signed_path))
        if trusted is not None:
            try:
                signing.verify_manifest(signed, trusted, what=str(signed_path))
            except signing.SignatureError as exc:
                raise HubConfigError(exc.message, hint="sign the folder with the hub's "
                                     "active key: `cloud-hub models sign`") from None  # fmt: skip
        if manifest.name != name or hashlib.sha256(blob).hexdigest() != manifest.sha256:
            raise HubConfigError(f"{signed_path}: the manifest does not match {onnx_path.name} "
                                 "(name or sha256)", hint="sign the folder again")  # fmt: skip
        found.append((blob, signed, manifest))
    if not found:
        raise HubConfigError(f"no *.signed.binpb in {folder}",
                             hint=f"`cloud-hub models sign {folder} --db HUBDB` first")  # fmt: skip
    return found


async def publish(js: Any, name: str, version: str, onnx_bytes: bytes,
                  signed_manifest: bytes) -> model_pb2.ModelManifest:  # fmt: skip
    """Put one version's artifacts in the object store; returns its manifest."""
    import hashlib

    manifest = _manifest(signed_manifest, f"model {name} {version}")
    if manifest.name != name or manifest.version != version:
        raise HubConfigError(f"model {name} {version}: its manifest says {manifest.name} "
                             f"{manifest.version}", hint="publish what was signed")  # fmt: skip
    if hashlib.sha256(onnx_bytes).hexdigest() != manifest.sha256:
        raise HubConfigError(f"model {name} {version}: the ONNX bytes do not match the "
                             "manifest's sha256", hint="sign the folder again")  # fmt: skip
    obs, _ = await ensure_buckets(js)
    await obs.put(subjects.model_object(name, version, "model.onnx"), onnx_bytes)
    await obs.put(subjects.model_object(name, version, "manifest.signed.binpb"), signed_manifest)
    return manifest


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)) or (0,)


#: Why a store was not offered a version because the hub has not heard from it yet (a
#: rollout offers it later, when its first heartbeat arrives).
NO_HEARTBEAT = "no heartbeat yet: its agent version and features are unknown"


def compatibility_problem(manifest: model_pb2.ModelManifest,
                          beat: heartbeat_pb2.Heartbeat | None) -> str | None:  # fmt: skip
    """Why a store cannot run ``manifest`` by its latest heartbeat; None if it can."""
    if beat is None:
        return NO_HEARTBEAT
    if manifest.min_agent_version and (
        _version_tuple(beat.agent_version) < _version_tuple(manifest.min_agent_version)
    ):
        return (f"agent {beat.agent_version or '?'} is older than the model's minimum "
                f"{manifest.min_agent_version}")  # fmt: skip
    spec = beat.feature_spec_hashes.get("features", "")
    if spec != manifest.feature_spec_hash:
        return f"it computes features {spec or '?'}, the model needs {manifest.feature_spec_hash}"
    return None


def _heartbeats(conn: sqlite3.Connection, store_ids: Iterable[str]) -> dict[str, Any]:
    try:
        rows = dict(conn.execute("SELECT store_id, heartbeat FROM stores WHERE heartbeat IS NOT "
                                 "NULL").fetchall())  # fmt: skip
    except sqlite3.OperationalError:  # no store has reported yet: no table
        rows = {}
    beats: dict[str, Any] = {}
    for store_id in store_ids:
        payload = rows.get(store_id)
        beats[store_id] = heartbeat_pb2.Heartbeat.FromString(payload) if payload else None
    return beats


def target_stores(db: Path, *, ring: str | None = None,
                  store_ids: Sequence[str] = ()) -> list[str]:  # fmt: skip
    """The stores an offer goes to: the ids given, the active stores of a ring, or (with
    neither) every active store in the registry and every store that sent heartbeats."""
    if store_ids:
        return sorted(set(store_ids))
    from cloud_hub.registry import Registry

    with Registry(db) as registry:
        stores = [s.store_id for s in registry.stores(ring=ring) if s.status == "active"]
    if ring is None:
        conn = hubdb.connect(db)
        try:
            stores += [r[0] for r in conn.execute(
                "SELECT store_id FROM stores WHERE heartbeat IS NOT NULL")]  # fmt: skip
        except sqlite3.OperationalError:
            pass
        finally:
            conn.close()
    return sorted(set(stores))


async def offer(js: Any, db: Path, store_ids: Sequence[str], manifest: model_pb2.ModelManifest,
                *, actor: str, reason: str = "publish") -> OfferResult:  # fmt: skip
    """Write the desired key of each compatible store; skip (and say why) the others."""
    conn = hubdb.connect(db)
    try:
        beats = _heartbeats(conn, store_ids)
    finally:
        conn.close()
    _, kv = await ensure_buckets(js)
    result = OfferResult(manifest.name, manifest.version)
    value = model_pb2.ModelOffer(model_name=manifest.name, version=manifest.version,
                                 sha256=manifest.sha256, actor=actor, reason=reason)  # fmt: skip
    value.offered_at.FromDatetime(datetime.now(UTC))
    payload = value.SerializeToString(deterministic=True)
    for store_id in store_ids:
        problem = compatibility_problem(manifest, beats[store_id])
        if problem is not None:
            result.skipped[store_id] = problem
            continue
        await kv.put(subjects.desired_key(store_id, manifest.name), payload)
        result.offered.append(store_id)
    return result


async def rollback(js: Any, db: Path, store_ids: Sequence[str], name: str, version: str,
                   *, actor: str) -> OfferResult:  # fmt: skip
    """Point stores back at an already published version (withdrawing a newer one)."""
    obs, _ = await ensure_buckets(js)
    try:
        signed = (await obs.get(subjects.model_object(name, version, "manifest.signed.binpb"))).data
    except NotFoundError:
        raise HubError(f"model {name} {version} was never published",
                       hint="`cloud-hub models publish DIR` first") from None  # fmt: skip
    return await offer(js, db, store_ids, _manifest(signed, f"model {name} {version}"),
                       actor=actor, reason="rollback")  # fmt: skip


def _connect(db: Path) -> sqlite3.Connection:
    conn = hubdb.connect(db, check_same_thread=False)
    conn.executescript(_SCHEMA)
    return conn


def record_swap_report(db: Path | sqlite3.Connection, report: model_pb2.ModelSwapReport) -> None:
    """Keep a store's latest report per model (``cloud-hub serve``)."""
    conn = _connect(db) if isinstance(db, Path) else db
    conn.executescript(_SCHEMA)
    outcomes = {model_pb2.MODEL_SWAP_OUTCOME_APPLIED: "applied",
                model_pb2.MODEL_SWAP_OUTCOME_REFUSED: "refused"}  # fmt: skip
    outcome = outcomes.get(report.outcome, "unknown")
    try:
        with hubdb.immediate(conn):
            conn.execute(
                "INSERT OR REPLACE INTO model_swaps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (report.store_id, report.model_name, report.version, outcome, report.reason,
                 report.previous_version, report.swap_seconds, report.shadow_rows,
                 report.reported_at.ToDatetime(UTC).isoformat()),
            )  # fmt: skip
    finally:
        if isinstance(db, Path):
            conn.close()


def swap_reports(db: Path) -> list[dict[str, Any]]:
    """Every store's latest report per model, by store and model."""
    conn = hubdb.connect(db)
    try:
        cursor = conn.execute("SELECT * FROM model_swaps ORDER BY store_id, model")
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except sqlite3.OperationalError:  # no report yet: no table
        return []
    finally:
        conn.close()
