"""The hub's model registry: every model version, its signed manifest and its status.

One row per artifact name and version in the hub database (``model_versions``):
the manifest (name, version, sha256, feature-spec hash, training window, data
volume, backtest metrics, parent version), the ONNX bytes, the ``SignedManifest``
bytes (ed25519 by the hub's active key, :mod:`cloud_hub.keys`) and the status:

- ``candidate``: trained, not serving (a challenger that lost, or one waiting);
- ``champion``: the version stores should serve (one per name);
- ``retired``: a former champion replaced by a promotion;
- ``rolled_back``: a champion taken back by a rollback.

A *model* (``replenishment``, ``labor``, ``availability``) is a family of artifacts
trained and promoted together under one version (replenishment: three).
The shipped bootstrap models become the first champions, signed by the hub key, on
first use. Every change is appended to the hub audit log with its actor, in the
same transaction.

Example::

    with ModelRegistry(db, signing_dir) as registry:
        registry.ensure_bootstrap()
        onnx, signed = registry.get("labor", registry.champion("labor").version)
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from cloud_hub import hub_audit, hubdb
from cloud_hub.errors import ModelRegistryError
from cloud_hub.keys import SigningKeys
from models import BOOTSTRAP_DIR
from storeedge import signing
from storeedge.v1 import model_pb2

__all__ = ["FAMILIES", "ModelRegistry", "ModelVersion", "artifacts_of"]

#: Each model and the artifacts it is made of (trained and promoted together).
FAMILIES: dict[str, tuple[str, ...]] = {
    "replenishment": (
        "replenishment_daily",
        "replenishment_daily_p90",
        "replenishment_protection_p90",
        "replenishment_protection_mean",
    ),
    "labor": ("labor",),
    "availability": ("availability",),
}
STATUSES = ("candidate", "champion", "retired", "rolled_back")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS model_versions (
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  status TEXT NOT NULL,          -- candidate, champion, retired, rolled_back
  status_at TEXT NOT NULL,
  created_at TEXT NOT NULL,
  parent_version TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  key_id TEXT NOT NULL,
  manifest TEXT NOT NULL,        -- the ModelManifest as protobuf JSON (for people)
  signed BLOB NOT NULL,          -- the SignedManifest bytes (what stores verify)
  onnx BLOB NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS one_champion ON model_versions(name)
  WHERE status = 'champion';
"""


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    status: str
    status_at: str
    created_at: str
    parent_version: str
    sha256: str
    key_id: str
    manifest: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "status_at": self.status_at,
            "created_at": self.created_at,
            "parent_version": self.parent_version,
            "sha256": self.sha256,
            "key_id": self.key_id,
            "manifest": self.manifest,
        }


def artifacts_of(model: str) -> tuple[str, ...]:
    """The artifacts of a model family, or the one artifact named."""
    if model in FAMILIES:
        return FAMILIES[model]
    if any(model in names for names in FAMILIES.values()):
        return (model,)
    known = ", ".join([*FAMILIES, *(n for names in FAMILIES.values() for n in names)])
    raise ModelRegistryError(f"unknown model {model!r}", hint=f"one of: {known}")


_COLUMNS = "name, version, status, status_at, created_at, parent_version, sha256, key_id, manifest"


def _row(row: tuple[Any, ...]) -> ModelVersion:
    return ModelVersion(*row[:8], manifest=json.loads(row[8]))


class ModelRegistry:
    """Model versions in one hub database; signing with the hub's keys in ``signing_dir``."""

    def __init__(self, db: Path, signing_dir: Path) -> None:
        self.keys = SigningKeys(db, signing_dir)
        self.conn = hubdb.connect(db)
        self.conn.executescript(_SCHEMA)
        hub_audit.ensure_table(self.conn)

    def close(self) -> None:
        self.conn.close()
        self.keys.close()

    def __enter__(self) -> ModelRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ------------------------------------------------------------------------------
    def list(self, model: str | None = None) -> list[ModelVersion]:
        names = artifacts_of(model) if model else None
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM model_versions ORDER BY name, created_at, version"
        )
        return [v for v in map(_row, rows) if names is None or v.name in names]

    def version(self, name: str, version: str) -> ModelVersion:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM model_versions WHERE name = ? AND version = ?",
            (name, version),
        ).fetchone()
        if row is None:
            raise ModelRegistryError(
                f"model {name} has no version {version!r}",
                hint=f"`cloud-hub models list {name}` shows its versions",
            )
        return _row(row)

    def get(self, name: str, version: str) -> tuple[bytes, bytes]:
        """The artifact's ONNX bytes and its SignedManifest bytes (what a store receives)."""
        self.version(name, version)  # a clear error when unknown
        onnx, signed = self.conn.execute(
            "SELECT onnx, signed FROM model_versions WHERE name = ? AND version = ?",
            (name, version),
        ).fetchone()
        return bytes(onnx), bytes(signed)

    def champion(self, name: str) -> ModelVersion | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM model_versions WHERE name = ? AND status = 'champion'",
            (name,),
        ).fetchone()
        return _row(row) if row else None

    def next_version(self, model: str, day: str) -> str:
        """``<day>-<n>``: n counts this model's versions of that day (dates sort as text)."""
        prefix = day.replace("-", ".")
        names = artifacts_of(model)
        taken = {v.version for v in self.list() if v.name in names}
        n = 1
        while f"{prefix}-{n}" in taken:
            n += 1
        return f"{prefix}-{n}"

    def export(self, model: str, version: str, folder: Path) -> list[str]:
        """Write ``<name>.onnx``, ``<name>.signed.binpb`` and ``<name>.manifest.json`` of
        every artifact of ``model`` at ``version`` into ``folder`` (each file atomically):
        the signed-folder layout `cloud-hub models publish` sends to stores."""
        folder.mkdir(parents=True, exist_ok=True)
        names = artifacts_of(model)
        for name in names:
            onnx, signed = self.get(name, version)
            manifest = self.version(name, version).manifest
            files = {
                f"{name}.onnx": onnx,
                f"{name}.signed.binpb": signed,
                f"{name}.manifest.json": (
                    json.dumps(manifest, indent=2, sort_keys=True) + "\n"
                ).encode(),
            }
            for file_name, blob in files.items():
                temporary = folder / f".{file_name}.tmp"
                temporary.write_bytes(blob)
                temporary.replace(folder / file_name)
        return list(names)

    # -- changes ----------------------------------------------------------------------------
    def ensure_bootstrap(
        self, folder: Path = BOOTSTRAP_DIR, *, actor: str = "cloud-hub"
    ) -> list[str]:
        """Register the shipped models as first champions (signed now by the hub key) for
        every artifact the registry does not know yet. Returns the names registered."""
        known = {name for (name,) in self.conn.execute("SELECT DISTINCT name FROM model_versions")}
        missing = [n for names in FAMILIES.values() for n in names if n not in known]
        if not missing:
            return []
        entries = []
        for name in missing:
            manifest = json_format.Parse(
                (folder / f"{name}.manifest.json").read_text(), model_pb2.ModelManifest()
            )
            entries.append((manifest, (folder / f"{name}.onnx").read_bytes()))
        self.register(entries, actor=actor, status="champion", why="shipped bootstrap model")
        return missing

    def register(
        self,
        entries: Iterable[tuple[model_pb2.ModelManifest, bytes]],
        *,
        actor: str,
        status: str = "candidate",
        why: str = "trained",
        detail: dict[str, Any] | None = None,
    ) -> list[ModelVersion]:
        """Sign and store artifacts (one transaction, one audit record each)."""
        key_id = self.keys.ensure_active(actor=actor)
        key = signing.load_signing_key(self.keys.directory / f"{key_id}.key")
        now = _now()
        written = []
        with hubdb.immediate(self.conn) as conn:
            for manifest, onnx in entries:
                if signing_sha(onnx) != manifest.sha256:
                    raise ModelRegistryError(
                        f"model {manifest.name} {manifest.version}: the ONNX bytes do not "
                        "match the manifest's sha256",
                        hint="export again; never edit an artifact after its manifest",
                    )
                if status == "champion":
                    self._demote(conn, manifest.name, "retired", now)
                signed = signing.sign_manifest(manifest, key).SerializeToString(deterministic=True)
                text = json_format.MessageToJson(manifest, sort_keys=True)
                try:
                    conn.execute(
                        "INSERT INTO model_versions(name, version, status, status_at, "
                        "created_at, parent_version, sha256, key_id, manifest, signed, onnx) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            manifest.name,
                            manifest.version,
                            status,
                            now,
                            now,
                            manifest.parent_version,
                            manifest.sha256,
                            key_id,
                            text,
                            signed,
                            onnx,
                        ),
                    )
                except sqlite3.IntegrityError:
                    raise ModelRegistryError(
                        f"model {manifest.name} already has a version {manifest.version}",
                        hint="a version is registered once; train again for a new one",
                    ) from None
                hub_audit.append(
                    conn,
                    actor=actor,
                    action="model.registered",
                    subject=f"{manifest.name}@{manifest.version}",
                    detail={
                        "status": status,
                        "why": why,
                        "sha256": manifest.sha256,
                        "parent_version": manifest.parent_version,
                        "key_id": key_id,
                        **(detail or {}),
                    },
                )
                written.append((manifest.name, manifest.version))
        return [self.version(n, v) for n, v in written]

    def promote(
        self,
        model: str,
        version: str,
        *,
        actor: str,
        reason: str = "",
        detail: dict[str, Any] | None = None,
    ) -> list[ModelVersion]:
        """Make ``version`` the champion of every artifact of ``model`` (the former champion
        is retired), in one transaction, audited."""
        names = artifacts_of(model)
        for name in names:
            self.version(name, version)
        now = _now()
        with hubdb.immediate(self.conn) as conn:
            for name in names:
                before = self.champion(name)
                if before is not None and before.version == version:
                    continue
                self._crown(conn, name, version, former_as="retired", now=now)
                hub_audit.append(
                    conn,
                    actor=actor,
                    action="model.promoted",
                    subject=f"{name}@{version}",
                    detail={
                        "reason": reason,
                        "replaced": before.version if before else None,
                        **(detail or {}),
                    },
                )
        return [self.version(name, version) for name in names]

    def rollback(self, model: str, *, actor: str, reason: str = "") -> list[ModelVersion]:
        """Take back the champion of every artifact of ``model``: it becomes
        ``rolled_back`` and its parent version (else the newest retired one) serves again."""
        names = artifacts_of(model)
        plans = []
        for name in names:
            current = self.champion(name)
            if current is None:
                raise ModelRegistryError(f"model {name} has no champion to roll back")
            target = self._rollback_target(name, current)
            if target is None:
                raise ModelRegistryError(
                    f"model {name} {current.version}: nothing to roll back to (no parent or "
                    "former champion)",
                    hint=f"`cloud-hub models list {name}`; promote a version by hand",
                )
            plans.append((name, current.version, target))
        now = _now()
        with hubdb.immediate(self.conn) as conn:
            for name, current, target in plans:
                self._crown(conn, name, target, former_as="rolled_back", now=now)
                hub_audit.append(
                    conn,
                    actor=actor,
                    action="model.rolled_back",
                    subject=f"{name}@{current}",
                    detail={"reason": reason, "champion": target},
                )
        return [self.version(name, target) for name, _, target in plans]

    def _rollback_target(self, name: str, current: ModelVersion) -> str | None:
        if current.parent_version:
            row = self.conn.execute(
                "SELECT status FROM model_versions WHERE name = ? AND version = ?",
                (name, current.parent_version),
            ).fetchone()
            if row is not None and row[0] != "rolled_back":
                return current.parent_version
        row = self.conn.execute(
            "SELECT version FROM model_versions WHERE name = ? AND status = 'retired' "
            "ORDER BY status_at DESC, created_at DESC LIMIT 1",
            (name,),
        ).fetchone()
        return row[0] if row else None

    @staticmethod
    def _demote(conn: sqlite3.Connection, name: str, status: str, now: str) -> None:
        conn.execute(
            "UPDATE model_versions SET status = ?, status_at = ? "
            "WHERE name = ? AND status = 'champion'",
            (status, now, name),
        )

    @classmethod
    def _crown(cls, conn: sqlite3.Connection, name: str, version: str, *, former_as: str,
               now: str) -> None:  # fmt: skip
        """``version`` becomes ``name``'s champion; the former one becomes ``former_as``."""
        cls._demote(conn, name, former_as, now)
        conn.execute(
            "UPDATE model_versions SET status = 'champion', status_at = ? "
            "WHERE name = ? AND version = ?",
            (now, name, version),
        )


def signing_sha(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
