"""The store registry: which stores exist, their ring, region and time zone, and
the NATS identity each may use.

One registry, in the hub database, for everything that needs to know the fleet:
the NATS server's authorization (:mod:`cloud_hub.identity`), rollout rings,
approver scopes and Ansible inventories. ``cloud-hub stores add|list|revoke|
replace`` are thin commands over it.

A store's **chain epoch** starts at 1. Replacing a store's hardware
(``stores replace``) issues a new identity and opens the next epoch: the new box
starts a fresh audit chain, and the hub links that chain to the old one instead
of raising a tamper alarm. A fresh chain in an epoch the registry did not open
is still a fork.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cloud_hub import hub_audit, hubdb
from cloud_hub.config import HubSettings
from cloud_hub.errors import RegistryError
from cloud_hub.identity import (
    NatsUser,
    new_user_key,
    public_key_of,
    reload_server,
    render_authorization,
    write_authorization,
    write_seed,
)

__all__ = ["DEFAULT_RING", "Registry", "StoreEntry", "apply_authorization", "ensure_hub_key"]

DEFAULT_RING = "main"
_RING = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
#: A store id is a subject token, a consumer-name part and a record-id prefix.
_STORE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS store_registry (
  store_id TEXT PRIMARY KEY,
  ring TEXT NOT NULL,
  region TEXT NOT NULL DEFAULT '',
  tz TEXT NOT NULL,
  status TEXT NOT NULL,                 -- active, revoked
  chain_epoch INTEGER NOT NULL DEFAULT 1,
  -- Where the current epoch's chain continues: the last entry the hub had verified.
  epoch_anchor_seq INTEGER NOT NULL DEFAULT 0,
  epoch_anchor_hash TEXT NOT NULL DEFAULT '',
  registered_at TEXT NOT NULL,
  changed_at TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT ''         -- why it was last revoked or replaced
);
CREATE TABLE IF NOT EXISTS nats_identities (
  public_key TEXT PRIMARY KEY,
  name TEXT NOT NULL,                   -- 'hub' or a store id
  role TEXT NOT NULL,                   -- hub, store
  chain_epoch INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS one_live_store_identity
  ON nats_identities(name) WHERE revoked_at IS NULL AND role = 'store';
"""


@dataclass(frozen=True)
class StoreEntry:
    store_id: str
    ring: str
    region: str
    tz: str
    status: str
    chain_epoch: int
    epoch_anchor_seq: int
    epoch_anchor_hash: str
    registered_at: str
    changed_at: str
    note: str
    public_key: str | None

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class Registry:
    """The registry tables of one hub database (its own connection; WAL)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        try:
            self.conn = hubdb.connect(db)
            self.conn.executescript(_SCHEMA)
            hub_audit.ensure_table(self.conn)
        except sqlite3.DatabaseError as exc:
            raise RegistryError(
                f"cannot open the store registry in {db}: {exc}",
                hint="is it a storeedge hub database, and is the disk writable?",
            ) from exc

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return hubdb.immediate(self.conn)

    # -- reading --------------------------------------------------------------------------
    def stores(self, *, ring: str | None = None) -> list[StoreEntry]:
        query = (
            "SELECT r.store_id, ring, region, tz, status, r.chain_epoch, epoch_anchor_seq, "
            "epoch_anchor_hash, registered_at, changed_at, note, i.public_key "
            "FROM store_registry r LEFT JOIN nats_identities i "
            "ON i.name = r.store_id AND i.role = 'store' AND i.revoked_at IS NULL"
        )
        rows = self.conn.execute(
            query + (" WHERE ring = ?" if ring else "") + " ORDER BY r.store_id",
            (ring,) if ring else (),
        )
        return [StoreEntry(*row) for row in rows]

    def get(self, store_id: str) -> StoreEntry:
        for entry in self.stores():
            if entry.store_id == store_id:
                return entry
        raise RegistryError(
            f"store {store_id!r} is not in the registry",
            hint="see `cloud-hub stores list`; add it with `cloud-hub stores add ID`",
        )

    def users(self) -> list[NatsUser]:
        """Every identity the NATS server should accept now: hub keys, then live stores."""
        rows = self.conn.execute(
            "SELECT i.name, i.role, i.public_key FROM nats_identities i "
            "LEFT JOIN store_registry r ON r.store_id = i.name "
            "WHERE i.revoked_at IS NULL AND (i.role = 'hub' OR r.status = 'active') "
            "ORDER BY i.role = 'store', i.name, i.created_at"
        )
        return [NatsUser(*row) for row in rows]

    # -- changes --------------------------------------------------------------------------
    def add_store(
        self,
        store_id: str,
        *,
        ring: str = DEFAULT_RING,
        region: str = "",
        tz: str = "UTC",
        actor: str = "cloud-hub",
    ) -> tuple[StoreEntry, str]:
        """Register a store and issue its identity; returns the entry and the seed."""
        _check_store(store_id, ring, tz)
        now = _now()
        seed, public = new_user_key()
        with self._transaction() as conn:
            existing = conn.execute(
                "SELECT status FROM store_registry WHERE store_id = ?", (store_id,)
            ).fetchone()
            if existing is not None:
                raise RegistryError(
                    f"store {store_id!r} is already registered ({existing[0]})",
                    hint="new hardware for a known store: `cloud-hub stores replace "
                    f"{store_id}`; a changed ring or zone needs no new identity",
                )
            conn.execute(
                "INSERT INTO store_registry(store_id, ring, region, tz, status, registered_at, "
                "changed_at) VALUES (?, ?, ?, ?, 'active', ?, ?)",
                (store_id, ring, region, tz, now, now),
            )
            self._issue(conn, store_id, public, 1, now)
            hub_audit.append(conn, actor=actor, action="store.added", subject=store_id,
                             detail={"ring": ring, "region": region, "tz": tz,
                                     "public_key": public})  # fmt: skip
        return self.get(store_id), seed

    def revoke_store(self, store_id: str, *, reason: str, actor: str = "cloud-hub") -> StoreEntry:
        """Take a store's identity away (a stolen or retired box). Its records stay."""
        entry = self.get(store_id)
        if entry.status == "revoked":
            raise RegistryError(
                f"store {store_id!r} is already revoked ({entry.note})",
                hint=f"to bring it back on new hardware: `cloud-hub stores replace {store_id}`",
            )
        now = _now()
        with self._transaction() as conn:
            conn.execute(
                "UPDATE nats_identities SET revoked_at = ? WHERE name = ? AND role = 'store' "
                "AND revoked_at IS NULL",
                (now, store_id),
            )
            conn.execute(
                "UPDATE store_registry SET status = 'revoked', changed_at = ?, note = ? "
                "WHERE store_id = ?",
                (now, f"revoked: {reason}", store_id),
            )
            hub_audit.append(conn, actor=actor, action="store.revoked", subject=store_id,
                             detail={"reason": reason, "public_key": entry.public_key})  # fmt: skip
        return self.get(store_id)

    def replace_store(
        self, store_id: str, *, reason: str, actor: str = "cloud-hub"
    ) -> tuple[StoreEntry, str]:
        """New hardware for a known store: the old identity is revoked, a new one issued,
        and the next chain epoch opened, anchored at the last audit entry the hub verified
        (the new box's chain continues from there). Entries of the old box the hub holds
        beyond that point (waiting behind a gap) can no longer be verified: they move to
        quarantine. Returns the entry and the new seed."""
        entry = self.get(store_id)
        now = _now()
        seed, public = new_user_key()
        epoch = entry.chain_epoch + 1
        with self._transaction() as conn:
            anchor_seq, anchor_hash = _verified_head(conn, store_id)
            _retire_unverified(conn, store_id, anchor_seq, entry.chain_epoch, now)
            conn.execute(
                "UPDATE nats_identities SET revoked_at = ? WHERE name = ? AND role = 'store' "
                "AND revoked_at IS NULL",
                (now, store_id),
            )
            conn.execute(
                "UPDATE store_registry SET status = 'active', chain_epoch = ?, "
                "epoch_anchor_seq = ?, epoch_anchor_hash = ?, changed_at = ?, note = ? "
                "WHERE store_id = ?",
                (epoch, anchor_seq, anchor_hash.hex(), now,
                 f"replaced (epoch {epoch} from seq {anchor_seq}): {reason}", store_id),
            )  # fmt: skip
            self._issue(conn, store_id, public, epoch, now)
            hub_audit.append(conn, actor=actor, action="store.replaced", subject=store_id,
                             detail={"reason": reason, "epoch": epoch, "anchor_seq": anchor_seq,
                                     "anchor_hash": anchor_hash.hex(), "public_key": public,
                                     "revoked_key": entry.public_key})  # fmt: skip
        return self.get(store_id), seed

    def add_hub_key(self, public_key: str) -> bool:
        """Accept a hub identity (idempotent); True when it was new."""
        with self._transaction() as conn:
            before = conn.total_changes
            conn.execute(
                "INSERT OR IGNORE INTO nats_identities(public_key, name, role, created_at) "
                "VALUES (?, 'hub', 'hub', ?)",
                (public_key, _now()),
            )
            added = conn.total_changes > before
            if added:
                hub_audit.append(conn, actor="cloud-hub", action="hub_key.added",
                                 subject="hub", detail={"public_key": public_key})  # fmt: skip
            return added

    def _issue(
        self, conn: sqlite3.Connection, store_id: str, public: str, epoch: int, now: str
    ) -> None:
        conn.execute(
            "INSERT INTO nats_identities(public_key, name, role, chain_epoch, created_at) "
            "VALUES (?, ?, 'store', ?, ?)",
            (public, store_id, epoch, now),
        )


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def _verified_head(conn: sqlite3.Connection, store_id: str) -> tuple[int, bytes]:
    """The hub's verified (length, head) of a store's chain; (0, genesis) if none yet."""
    if _has_table(conn, "stores"):
        row = conn.execute(
            "SELECT chain_length, chain_head FROM stores WHERE store_id = ?", (store_id,)
        ).fetchone()
        if row is not None:
            return int(row[0]), bytes(row[1])
    return 0, bytes(32)


def _retire_unverified(
    conn: sqlite3.Connection, store_id: str, after_seq: int, epoch: int, now: str
) -> None:
    if not _has_table(conn, "audit_entries"):
        return
    reason = f"from retired epoch {epoch}: never verified before the box was replaced"
    conn.execute(
        "INSERT INTO quarantine(store_id, record_id, record_type, reason, payload, received_at) "
        "SELECT store_id, store_id || ':audit:' || seq, 'audit', ?, payload, ? "
        "FROM audit_entries WHERE store_id = ? AND seq > ?",
        (reason, now, store_id, after_seq),
    )
    conn.execute("DELETE FROM audit_entries WHERE store_id = ? AND seq > ?", (store_id, after_seq))


def ensure_hub_key(registry: Registry, seed_file: Path) -> str:
    """The hub's own identity: read from ``seed_file``, or created there (0600) on first
    use; recorded in the registry so the server's authorization includes it."""
    if seed_file.exists():
        public = public_key_of(seed_file.read_text())
    else:
        seed, public = new_user_key()
        write_seed(seed_file, seed)
    registry.add_hub_key(public)
    return public


def apply_authorization(settings: HubSettings, registry: Registry) -> dict[str, object]:
    """Write the server's authorization from the registry and have the server reload it.

    Without an authorization file configured nothing is written: the returned
    ``note`` says so (the NATS server is then managed elsewhere, e.g. by Ansible
    from ``cloud-hub stores authorization``).
    """
    auth_file = settings.authorization_file()
    if auth_file is None:
        return {"written": None, "reloaded": None,
                "note": "no nats_auth_file configured: update your NATS server's authorization "
                "(`cloud-hub stores authorization --out FILE`) and reload it"}  # fmt: skip
    ensure_hub_key(registry, settings.hub_seed_file())
    users = registry.users()
    write_authorization(auth_file, render_authorization(users, source=str(registry.db)))
    result: dict[str, object] = {"written": str(auth_file), "users": len(users), "reloaded": None}
    pid_file = settings.server_pid_file()
    if pid_file is not None and pid_file.exists():
        result["reloaded"] = reload_server(pid_file)
    if result["reloaded"] is None:
        result["note"] = "no running server to reload: it reads the file when it starts"
    return result


def _check_store(store_id: str, ring: str, tz: str) -> None:
    if not _STORE_ID.match(store_id):
        raise RegistryError(
            f"store id {store_id!r}: not usable in subjects and record ids",
            hint="up to 32 letters, digits, - or _, starting with a letter or digit, e.g. S001",
        )
    if not _RING.match(ring):
        raise RegistryError(
            f"--ring {ring!r}: not a ring name",
            hint="lower-case letters, digits, - or _, e.g. canary, early, main",
        )
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise RegistryError(
            f"--tz {tz!r}: not an IANA time zone", hint="e.g. Europe/Berlin, America/Chicago"
        ) from None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
