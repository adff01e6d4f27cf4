"""Who may call the hub's API: tokens, roles and scopes, and the record of mutating calls.

A token is a random secret shown once (``cloud-hub api tokens create``); the hub
database keeps only its SHA-256, its name, role, scope and expiry. Roles:

- ``viewer``: reads (stores, decisions, audit chains);
- ``approver``: reads, and approves / rejects / overrides decisions of stores in its
  regions (the store registry's ``region``; ``*`` for every region) and, when given,
  only of its categories (a decision without a category, e.g. staffing, is then
  outside the scope);
- ``admin``: everything.

Tables (in the hub database, beside the registry):

- ``api_tokens``: one row per token; revoked tokens stay, marked;
- ``api_calls``: every mutating call with the caller's token name, what it asked and
  how it ended (``OK`` or the status code), refused ones included;
- ``api_approval_claims``: at most one approval from the API per decision: the first
  call to claim a decision wins, every later one gets FAILED_PRECONDITION.

Nothing here imports generated gRPC code: the CLI uses it without grpc.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cloud_hub import hub_audit, hubdb
from cloud_hub.errors import HubConfigError, HubStorageError

__all__ = [
    "ROLES",
    "AuthError",
    "Caller",
    "TokenStore",
    "ensure_schema",
    "hash_token",
    "parse_duration",
]

ROLES = ("viewer", "approver", "admin")
ALL_REGIONS = "*"
TOKEN_PREFIX = "seh_"
MAX_LIFETIME = timedelta(days=366)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_DURATION = re.compile(r"^([1-9][0-9]{0,5})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS api_tokens (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  token_hash BLOB NOT NULL UNIQUE,      -- sha256 of the token; the token is never stored
  role TEXT NOT NULL,                   -- viewer, approver, admin
  regions TEXT NOT NULL,                -- JSON list; ["*"]: every region
  categories TEXT NOT NULL,             -- JSON list; []: every category
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  revoked_at TEXT,
  last_used_at TEXT
)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS api_tokens_live_name ON api_tokens(name) "
    "WHERE revoked_at IS NULL",
    """CREATE TABLE IF NOT EXISTS api_calls (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  caller TEXT NOT NULL,                 -- the token's name
  method TEXT NOT NULL,                 -- e.g. ApproveDecision
  target TEXT NOT NULL,                 -- e.g. the decision id
  outcome TEXT NOT NULL,                -- OK or the status code, e.g. PERMISSION_DENIED
  detail TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS api_approval_claims (
  decision_id TEXT PRIMARY KEY,
  caller TEXT NOT NULL,
  action TEXT NOT NULL,
  claimed_at TEXT NOT NULL,
  request_id TEXT                       -- set once the request was sent
)""",
)


def ensure_schema(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA:
        conn.execute(statement)
    hub_audit.ensure_table(conn)


class AuthError(Exception):
    """A call that may not proceed: ``code`` is ``UNAUTHENTICATED`` or ``PERMISSION_DENIED``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Caller:
    """Who is calling: a token's name, role and scope."""

    name: str
    role: str
    regions: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    def require_approver(self) -> None:
        if self.role not in ("approver", "admin"):
            raise AuthError(
                "PERMISSION_DENIED",
                f"token {self.name!r} has role {self.role}: approving, rejecting and "
                "overriding need an approver or admin token (`cloud-hub api tokens create "
                "--role approver --region R`)",
            )

    def check_scope(self, store_id: str, region: str | None, category: str) -> None:
        """Raise PERMISSION_DENIED unless this caller may decide for that store and category."""
        self.require_approver()
        if self.role == "admin":
            return
        if ALL_REGIONS not in self.regions:
            if region is None:
                raise AuthError(
                    "PERMISSION_DENIED",
                    f"store {store_id} is not in the store registry, so it has no region and "
                    f"token {self.name!r} (regions {', '.join(self.regions)}) may not decide "
                    "for it: register it with `cloud-hub stores add --region`",
                )
            if region not in self.regions:
                raise AuthError(
                    "PERMISSION_DENIED",
                    f"store {store_id} is in region {region or '(none)'!r}; token "
                    f"{self.name!r} may approve only in {', '.join(self.regions)}",
                )
        if self.categories and category not in self.categories:
            raise AuthError(
                "PERMISSION_DENIED",
                f"the decision's category is {category or '(none)'!r}; token {self.name!r} "
                f"may approve only {', '.join(self.categories)}",
            )


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w`` -> timedelta (at most 366 days)."""
    match = _DURATION.match(text.strip())
    if not match:
        raise HubConfigError(
            f"--expires: {text!r} is not a duration",
            hint="a number and a unit: 90m, 12h, 30d or 2w",
        )
    lifetime = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if lifetime > MAX_LIFETIME:
        raise HubConfigError(
            f"--expires: {text} is longer than {MAX_LIFETIME.days} days",
            hint="tokens must expire; create a new one before the old one does",
        )
    return lifetime


def _now() -> datetime:
    return datetime.now(UTC)


class TokenStore:
    """The API's tables on one connection of the hub database."""

    def __init__(self, db: Path | None = None, *, conn: sqlite3.Connection | None = None) -> None:
        if conn is None:
            if db is None:
                raise HubConfigError("db: no hub database given", hint="pass --db HUBDB")
            try:
                conn = hubdb.connect(db)
            except sqlite3.DatabaseError as exc:
                raise HubStorageError(
                    f"cannot open hub database {db}: {exc}",
                    hint="is it a storeedge hub database, and is the disk writable?",
                ) from exc
        self.conn = conn
        ensure_schema(conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> TokenStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return hubdb.immediate(self.conn)

    # -- tokens ---------------------------------------------------------------------------
    def create(
        self,
        name: str,
        role: str,
        expires: timedelta,
        *,
        regions: Sequence[str] = (),
        categories: Sequence[str] = (),
    ) -> tuple[str, dict[str, Any]]:
        """A new token: (the secret, shown once; its row as a dict)."""
        if not _NAME.match(name):
            raise HubConfigError(
                f"--name: {name!r} is not a token name",
                hint="letters, digits and . _ @ - (up to 64), e.g. ana or erp-sync",
            )
        if role not in ROLES:
            raise HubConfigError(f"--role: {role!r} is not a role", hint="viewer, approver, admin")
        regions = sorted({r.strip() for r in regions if r.strip()})
        categories = sorted({c.strip() for c in categories if c.strip()})
        if role == "approver" and not regions:
            raise HubConfigError(
                "--region: an approver token needs its regions",
                hint="--region north (repeatable), or --region '*' for every region",
            )
        if role != "approver":
            regions, categories = [ALL_REGIONS], []
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = _now()
        try:
            with self._transaction() as conn:
                conn.execute(
                    "INSERT INTO api_tokens(name, token_hash, role, regions, categories, "
                    "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (name, hash_token(token), role, json.dumps(regions), json.dumps(categories),
                     now.isoformat(), (now + expires).isoformat()),
                )  # fmt: skip
        except sqlite3.IntegrityError as exc:
            raise HubConfigError(
                f"--name: a live token named {name!r} exists already",
                hint=f"pick another name, or `cloud-hub api tokens revoke {name}` first",
            ) from exc
        return token, self._row(name)

    def list(self, *, include_revoked: bool = False) -> list[dict[str, Any]]:
        query = "SELECT id FROM api_tokens"
        if not include_revoked:
            query += " WHERE revoked_at IS NULL"
        ids = [row[0] for row in self.conn.execute(query + " ORDER BY id")]
        return [self._row_by_id(i) for i in ids]

    def revoke(self, name: str) -> dict[str, Any]:
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT id FROM api_tokens WHERE name = ? AND revoked_at IS NULL", (name,)
            ).fetchone()
            if row is None:
                raise HubConfigError(
                    f"no live token named {name!r}",
                    hint="`cloud-hub api tokens list` shows the names",
                )
            conn.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ?", (_now().isoformat(), row[0])
            )
        return self._row_by_id(row[0])

    def _row(self, name: str) -> dict[str, Any]:
        row = self.conn.execute(
            "SELECT id FROM api_tokens WHERE name = ? AND revoked_at IS NULL", (name,)
        ).fetchone()
        return self._row_by_id(row[0])

    def _row_by_id(self, token_id: int) -> dict[str, Any]:
        columns = ("name", "role", "regions", "categories", "created_at", "expires_at",
                   "revoked_at", "last_used_at")  # fmt: skip
        row = self.conn.execute(
            f"SELECT {', '.join(columns)} FROM api_tokens WHERE id = ?", (token_id,)
        ).fetchone()
        doc = dict(zip(columns, row, strict=True))
        doc["regions"] = json.loads(doc["regions"])
        doc["categories"] = json.loads(doc["categories"])
        doc["expired"] = doc["expires_at"] <= _now().isoformat()
        return doc

    # -- the server's side ----------------------------------------------------------------
    def authenticate(self, token: str | None) -> Caller:
        """The caller of a token, or AuthError(UNAUTHENTICATED) saying what to do; marks
        the token used (a write, at most once a minute)."""
        caller, due = self.check(token)
        if due is not None:
            self.mark_used(due)
        return caller

    def check(self, token: str | None) -> tuple[Caller, int | None]:
        """Read only: the caller, and the token's id if its last-used mark is due (more
        than a minute old), else None. AuthError(UNAUTHENTICATED) saying what to do."""
        if not token:
            raise AuthError(
                "UNAUTHENTICATED",
                "no API token: send metadata 'authorization: Bearer <token>' (create one "
                "with `cloud-hub api tokens create`)",
            )
        row = self.conn.execute(
            "SELECT id, name, role, regions, categories, expires_at, revoked_at, last_used_at "
            "FROM api_tokens WHERE token_hash = ?",
            (hash_token(token),),
        ).fetchone()
        if row is None:
            raise AuthError(
                "UNAUTHENTICATED",
                "unknown API token: check it was copied whole, or ask an admin for one "
                "(`cloud-hub api tokens create`)",
            )
        token_id, name, role, regions, categories, expires_at, revoked_at, last_used = row
        now = _now()
        if revoked_at is not None:
            raise AuthError(
                "UNAUTHENTICATED",
                f"API token {name!r} was revoked at {revoked_at}: ask an admin for a new one",
            )
        if expires_at <= now.isoformat():
            raise AuthError(
                "UNAUTHENTICATED",
                f"API token {name!r} expired at {expires_at}: ask an admin for a new one "
                f"(`cloud-hub api tokens create --name {name} ...` after revoking the old)",
            )
        # At most one write a minute per token: the list shows roughly when it was used.
        due = last_used is None or last_used < (now - timedelta(minutes=1)).isoformat()
        caller = Caller(name, role, tuple(json.loads(regions)), tuple(json.loads(categories)))
        return caller, token_id if due else None

    def mark_used(self, token_id: int) -> None:
        self.conn.execute(
            "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (_now().isoformat(), token_id)
        )

    def record_call(
        self, caller: str, method: str, target: str, outcome: str, detail: str = ""
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO api_calls(at, caller, method, target, outcome, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (_now().isoformat(), caller, method, target, outcome, detail),
            )
            # The hub's hash-chained log too: who did what through the API cannot be edited.
            hub_audit.append(conn, actor=caller, action=f"api.{method}", subject=target,
                             detail={"outcome": outcome, "detail": detail})  # fmt: skip

    def calls(self, limit: int = 100) -> list[dict[str, Any]]:
        columns = ("at", "caller", "method", "target", "outcome", "detail")
        rows = self.conn.execute(
            f"SELECT {', '.join(columns)} FROM api_calls ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [dict(zip(columns, row, strict=True)) for row in rows]

    # -- one approval per decision --------------------------------------------------------
    def claim(self, decision_id: str, caller: str, action: str) -> dict[str, Any] | None:
        """Claim a decision for one approval; None when claimed, else the existing claim."""
        try:
            with self._transaction() as conn:
                conn.execute(
                    "INSERT INTO api_approval_claims(decision_id, caller, action, claimed_at) "
                    "VALUES (?, ?, ?, ?)",
                    (decision_id, caller, action, _now().isoformat()),
                )
            return None
        except sqlite3.IntegrityError:
            row = self.conn.execute(
                "SELECT caller, action, claimed_at, request_id FROM api_approval_claims "
                "WHERE decision_id = ?",
                (decision_id,),
            ).fetchone()
            if row is None:  # released in between: the caller may try again
                return {"caller": "?", "action": "?", "claimed_at": "?", "request_id": None}
            return dict(zip(("caller", "action", "claimed_at", "request_id"), row, strict=True))

    def claim_sent(self, decision_id: str, request_id: str) -> None:
        self.conn.execute(
            "UPDATE api_approval_claims SET request_id = ? WHERE decision_id = ?",
            (request_id, decision_id),
        )

    def release(self, decision_id: str) -> None:
        self.conn.execute("DELETE FROM api_approval_claims WHERE decision_id = ?", (decision_id,))
