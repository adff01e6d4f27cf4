"""The hub's model-signing keys: generation, rotation with overlapping trust, signing.

Private keys are files in the signing folder (``signing/`` beside the hub
database unless ``signing_dir`` says otherwise; mode 0600). Their state is in the
hub database (``signing_keys``), and every change goes into the hub's audit log:

- ``active``: signs new models; published in the trust file;
- ``previous``: a key rotated out; still published, so stores keep accepting
  models it signed while the new key reaches every trust file;
- ``retired``: no longer published or used.

Rotation, step by step (docs/ARCHITECTURE.md): ``keys rotate`` (new key active,
old one previous) -> distribute ``keys public`` to every store (both keys) ->
re-sign the serving models -> ``keys retire OLDID`` -> distribute again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from google.protobuf import json_format
from nacl.signing import SigningKey

from cloud_hub import hub_audit, hubdb
from cloud_hub.errors import HubConfigError
from cloud_hub.identity import write_atomically
from storeedge import signing
from storeedge.v1 import model_pb2

__all__ = ["SigningKeys"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signing_keys (
  key_id TEXT PRIMARY KEY,
  public_line TEXT NOT NULL,
  state TEXT NOT NULL,          -- active, previous, retired
  created_at TEXT NOT NULL,
  changed_at TEXT NOT NULL
);
"""


class SigningKeys:
    """The signing keys of one hub database and its signing folder."""

    def __init__(self, db: Path, directory: Path) -> None:
        self.directory = directory
        self.conn = hubdb.connect(db)
        self.conn.executescript(_SCHEMA)
        hub_audit.ensure_table(self.conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SigningKeys:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def states(self) -> list[dict[str, str]]:
        rows = self.conn.execute(
            "SELECT key_id, state, created_at, changed_at FROM signing_keys ORDER BY created_at"
        )
        return [dict(zip(("key_id", "state", "created_at", "changed_at"), r, strict=True))
                for r in rows]  # fmt: skip

    def active_id(self) -> str | None:
        row = self.conn.execute("SELECT key_id FROM signing_keys WHERE state = 'active'").fetchone()
        return row[0] if row else None

    def ensure_active(self, *, actor: str = "cloud-hub") -> str:
        """The active key's id; a first key is generated when there is none (once, even
        when several hub processes start on a new database together)."""
        return self.active_id() or self._new_key(
            actor=actor, action="signing_key.generated", only_if_none=True
        )

    def rotate(self, *, actor: str) -> tuple[str, str | None]:
        """A new active key; the old one stays published as ``previous``. (new, old)."""
        old = self.active_id()
        new = self._new_key(actor=actor, action="signing_key.rotated", previous=old)
        return new, old

    def retire(self, key_id: str, *, actor: str) -> None:
        state = self.conn.execute(
            "SELECT state FROM signing_keys WHERE key_id = ?", (key_id,)
        ).fetchone()
        if state is None or state[0] != "previous":
            raise HubConfigError(
                f"key {key_id}: only a rotated-out (previous) key can be retired, "
                f"this one is {state[0] if state else 'unknown'}",
                hint="see `cloud-hub keys public --db HUBDB`; rotate before retiring",
            )
        with hubdb.immediate(self.conn) as conn:
            conn.execute(
                "UPDATE signing_keys SET state = 'retired', changed_at = ? WHERE key_id = ?",
                (_now(), key_id),
            )
            hub_audit.append(conn, actor=actor, action="signing_key.retired",
                             subject=key_id, detail={})  # fmt: skip

    def trust_text(self) -> str:
        """The trust file stores should hold: the active and previous keys."""
        rows = self.conn.execute(
            "SELECT public_line FROM signing_keys WHERE state IN ('active', 'previous') "
            "ORDER BY created_at"
        )
        return "".join(f"{line}\n" for (line,) in rows)

    def sign_folder(self, folder: Path) -> list[str]:
        """Sign every ``<name>.manifest.json`` in ``folder`` with the active key, writing
        ``<name>.signed.binpb`` beside it (atomically). Returns the model names."""
        key_id = self.active_id()
        if key_id is None:
            raise HubConfigError("no active signing key", hint="`cloud-hub keys generate`")
        key = signing.load_signing_key(self.directory / f"{key_id}.key")
        names = []
        for manifest_path in sorted(folder.glob("*.manifest.json")):
            name = manifest_path.name.removesuffix(".manifest.json")
            manifest = json_format.Parse(manifest_path.read_text(), model_pb2.ModelManifest())
            signed = signing.sign_manifest(manifest, key)
            target = folder / f"{name}.signed.binpb"
            temporary = target.with_name(f".{target.name}.tmp")
            temporary.write_bytes(signed.SerializeToString(deterministic=True))
            temporary.replace(target)
            names.append(name)
        if not names:
            raise HubConfigError(f"no *.manifest.json in {folder}", hint="point at a model folder")
        return names

    def _new_key(
        self, *, actor: str, action: str, previous: str | None = None, only_if_none: bool = False
    ) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        staging = self.directory / f".new-{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}.key"
        key: SigningKey = signing.generate_key(staging)
        line = signing.trust_line(key, f"storeedge hub key, {_now()[:10]}")
        key_id = line.split()[1]
        staging.replace(self.directory / f"{key_id}.key")
        now = _now()
        with hubdb.immediate(self.conn) as conn:
            if only_if_none and (active := self.active_id()) is not None:
                (self.directory / f"{key_id}.key").unlink()  # another process was first
                return active
            conn.execute(
                "UPDATE signing_keys SET state = 'previous', changed_at = ? WHERE state = 'active'",
                (now,),
            )
            conn.execute(
                "INSERT INTO signing_keys(key_id, public_line, state, created_at, changed_at) "
                "VALUES (?, ?, 'active', ?, ?)",
                (key_id, line, now, now),
            )
            hub_audit.append(conn, actor=actor, action=action, subject=key_id,
                             detail={"previous": previous} if previous else {})  # fmt: skip
        return key_id

    def write_trust(self, path: Path) -> None:
        write_atomically(path, self.trust_text(), 0o644)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
