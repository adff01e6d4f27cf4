"""NATS identities: one nkey per store, the server's authorization, reloads.

Why nkeys in the server's config rather than JWT accounts (operator mode):

- the server holds only public keys; a store's seed is written once, for that
  store's box, and the hub's database never needs it again;
- the permissions of every store derive from one function
  (:func:`storeedge.subjects.store_permissions`), rendered into one file the
  server includes, so what the registry says is exactly what the server enforces;
- revoking a store is: drop its key from the file, then reload the server
  (SIGHUP). The server closes that store's connection and refuses it from then
  on; every other connection stays up. Operator mode would add an account
  server or resolver, nsc, and a second source of truth to keep in step, for
  features (multi-tenant accounts, decentralized signing) one retailer's fleet
  does not need. Its ``.creds`` files still work on the store side
  (:mod:`storeedge.link`), for a retailer whose NATS already runs that way.

The authorization file is replaced atomically (temp file, fsync, rename), so a
server reloading at the wrong moment reads either the old file or the new one.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nkeys

from cloud_hub.errors import HubConfigError
from storeedge import subjects

__all__ = [
    "NatsUser",
    "new_user_key",
    "public_key_of",
    "reload_server",
    "render_authorization",
    "write_atomically",
    "write_authorization",
    "write_seed",
]


@dataclass(frozen=True)
class NatsUser:
    """One identity the server accepts: the hub, or one store."""

    name: str  # "hub" or the store id
    role: str  # "hub" or "store"
    public_key: str  # U...


def new_user_key() -> tuple[str, str]:
    """A fresh user nkey: (seed ``SU...``, public key ``U...``)."""
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    return seed.decode(), public_key_of(seed.decode())


def public_key_of(seed: str) -> str:
    pair = nkeys.from_seed(bytearray(seed.strip().encode()))
    try:
        return pair.public_key.decode()
    finally:
        pair.wipe()


def _permissions(user: NatsUser) -> dict[str, dict[str, list[str]]] | None:
    if user.role == "hub":
        return None  # the hub reads every stream and writes every store's down subjects
    allowed = subjects.store_permissions(user.name)
    return {direction: {"allow": allowed[direction]} for direction in ("publish", "subscribe")}


def render_authorization(users: Sequence[NatsUser], *, source: str) -> str:
    """The server's ``authorization`` block (NATS config syntax) for these identities."""
    lines = [
        f"# Written by cloud-hub from its store registry ({source}); edits here are lost.",
        "# Revoked stores are absent: the server refuses them from its next reload on.",
        "authorization {",
        "  users = [",
    ]
    for user in users:
        entry: dict[str, object] = {"nkey": user.public_key}
        permissions = _permissions(user)
        if permissions is not None:
            entry["permissions"] = permissions
        lines.append(f"    # store {user.name}" if user.role == "store" else "    # the hub")
        lines.append(f"    {json.dumps(entry)}")
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


def write_atomically(path: Path, text: str, mode: int) -> None:
    """Replace ``path`` with ``text``: temp file, fsync, rename, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, mode)
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_authorization(path: Path, text: str) -> None:
    """Replace the server's authorization include (readable by the server's user only)."""
    write_atomically(path, text, 0o640)


def write_seed(path: Path, seed: str) -> None:
    """A store's or the hub's seed: one line, mode 0600 (it is the identity)."""
    write_atomically(path, seed + "\n", 0o600)


def reload_server(pid_file: Path) -> int | None:
    """Ask the nats-server whose pid is in ``pid_file`` to reload its config (SIGHUP);
    None when no such process runs (it reads the file when it starts)."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError) as exc:
        raise HubConfigError(
            f"nats_pid_file: cannot read a pid from {pid_file}: {exc}",
            hint="is the nats-server running with `pid_file` set to this path?",
        ) from exc
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        return None
    return pid
