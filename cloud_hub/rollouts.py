"""Rollouts in rings: a model version goes canary -> early -> all, each ring behind a
health gate; a failing gate rolls that ring back and stops the rollout.

A rollout is a state machine persisted in the hub database (``rollouts``,
``rollout_stores``), so it survives a hub restart:

- ``cloud-hub rollout MODEL VERSION`` (:func:`start`) publishes the version (and each
  store's current version, so every ring can be rolled back) and writes the rollout,
  state ``running`` at ring ``canary``;
- ``cloud-hub serve`` calls :func:`advance` on every tick: a ring not yet offered is
  offered (:func:`cloud_hub.distribution.offer`, each store's current version kept as
  its rollback target); an offered ring's gate (:func:`evaluate_gate`) passes (next
  ring, or ``completed``), fails (the ring's stores are pointed back at their previous
  version, ``rolled_back``, no other ring touched) or waits; a store of a ring reached
  that was skipped for want of a heartbeat is offered once it sends one (:func:`_offer_late`);
- ``pause`` / ``resume`` / ``rollback`` (:func:`set_state`) by an operator.

Rings: ``canary`` and ``early`` are the registry's rings of those names; ``all`` is every
other active store (the registry's default ring ``main``, any other ring, and stores
known only by their heartbeats). Every transition is written to the hub audit log with
the actor and the numbers behind it, in the transaction of the change.

Where artifacts come from is a seam (:class:`ArtifactSource`): today a set of folders
signed by ``cloud-hub models sign`` (:class:`SignedFolders`); the hub model registry
plugs in by implementing the same three methods.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from nats.js.errors import NotFoundError

from cloud_hub import distribution, hub_audit, hubdb
from cloud_hub.config import HubSettings
from cloud_hub.errors import HubError, RolloutError
from models import SERVED_MODELS
from storeedge import subjects
from storeedge.v1 import decision_pb2, heartbeat_pb2, outcome_pb2

__all__ = [
    "RINGS",
    "Accuracy",
    "ArtifactSource",
    "Gate",
    "SignedFolders",
    "advance",
    "error_rates",
    "evaluate_gate",
    "live_accuracy",
    "pass_gate_by_operator",
    "ring_stores",
    "rollout_status",
    "set_state",
    "start",
]

RINGS = ("canary", "early", "all")
#: Decision states that count as errors in the gate's decision error rate.
ERROR_STATES = (decision_pb2.DECISION_STATE_FAILED, decision_pb2.DECISION_STATE_BLOCKED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rollouts (
  id INTEGER PRIMARY KEY,
  model TEXT NOT NULL,
  version TEXT NOT NULL,
  state TEXT NOT NULL,                -- running, paused, completed, rolled_back, failed
  ring TEXT NOT NULL,                 -- the ring being offered / gated (last one when done)
  ring_offered_at TEXT,               -- NULL: the ring is not offered yet
  forced INTEGER NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',    -- why it stopped, when it stopped
  started_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
-- One active rollout per model, even with two `cloud-hub rollout` at once.
CREATE UNIQUE INDEX IF NOT EXISTS rollouts_one_active ON rollouts(model)
  WHERE state IN ('running', 'paused');
CREATE TABLE IF NOT EXISTS rollout_stores (
  rollout_id INTEGER NOT NULL,
  store_id TEXT NOT NULL,
  ring TEXT NOT NULL,
  status TEXT NOT NULL,               -- offered, skipped, rolled_back
  previous_version TEXT NOT NULL,     -- what it served before: its rollback target
  detail TEXT NOT NULL DEFAULT '',
  at TEXT NOT NULL,
  PRIMARY KEY (rollout_id, store_id)
);
"""


# -- the artifact seam ------------------------------------------------------------------------
class ArtifactSource(Protocol):
    """Where a rollout gets a version's bytes and whether it may go out unforced."""

    def artifact(self, name: str, version: str) -> tuple[bytes, bytes] | None:
        """(ONNX bytes, signed manifest bytes) of ``name`` at ``version``; None if unknown."""

    def champion(self, name: str) -> str | None:
        """The promoted version serving ``name`` (the accuracy baseline); None if unknown."""

    def promoted(self, name: str, version: str) -> bool:
        """Whether ``version`` passed promotion (else a rollout needs ``--force``)."""

    def where(self, name: str) -> str:
        """Where it looked for ``name`` and what it holds of it (for an error message)."""


class SignedFolders:
    """Folders signed by ``cloud-hub models sign`` (each ``<name>.onnx`` +
    ``<name>.signed.binpb``). Nothing in a folder was promoted (there is no promotion
    without the registry): rolling one out needs ``--force``."""

    def __init__(self, folders: Sequence[Path], trusted: Mapping[str, Any] | None = None) -> None:
        self._found: dict[tuple[str, str], tuple[bytes, bytes]] = {}
        self.folders = list(folders)
        for folder in folders:
            for blob, signed, manifest in distribution.read_signed_folder(folder, trusted):
                self._found[(manifest.name, manifest.version)] = (blob, signed)

    def artifact(self, name: str, version: str) -> tuple[bytes, bytes] | None:
        return self._found.get((name, version))

    def champion(self, name: str) -> str | None:
        return None

    def promoted(self, name: str, version: str) -> bool:
        return False

    def where(self, name: str) -> str:
        if not self.folders:
            return "no --from folder given"
        versions = sorted(v for n, v in self._found if n == name)
        return (f"--from {', '.join(map(str, self.folders))} (versions of {name}: "
                f"{', '.join(versions) or 'none'})")  # fmt: skip


class RegistrySource:
    """The hub's model registry (:mod:`cloud_hub.model_registry`), and signed folders
    (``--from``) for versions it does not hold. A version is promoted when the registry
    made it champion at some point (champion now, or retired by a later one)."""

    def __init__(self, registry: Any, folders: ArtifactSource | None = None) -> None:
        self.registry = registry
        self.folders = folders

    def artifact(self, name: str, version: str) -> tuple[bytes, bytes] | None:
        try:
            return self.registry.get(name, version)
        except HubError:  # not in the registry
            return self.folders.artifact(name, version) if self.folders else None

    def champion(self, name: str) -> str | None:
        found = self.registry.champion(name)
        return found.version if found is not None else None

    def promoted(self, name: str, version: str) -> bool:
        try:
            return self.registry.version(name, version).status in ("champion", "retired")
        except HubError:
            return False

    def where(self, name: str) -> str:
        try:
            versions = [v.version for v in self.registry.list(name)]
        except HubError:
            versions = []
        shown = ", ".join(versions[-5:]) or "none"
        found = f"the model registry (versions of {name}: {shown})"
        return f"{found}; {self.folders.where(name)}" if self.folders else found


# -- the database -----------------------------------------------------------------------------
def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _connect(db: Path) -> sqlite3.Connection:
    conn = hubdb.connect(db)
    conn.executescript(_SCHEMA)
    hub_audit.ensure_table(conn)
    return conn


def _rollout(conn: sqlite3.Connection, where: str, args: tuple) -> dict[str, Any] | None:
    cursor = conn.execute(f"SELECT * FROM rollouts WHERE {where} ORDER BY id DESC LIMIT 1", args)
    row = cursor.fetchone()
    return dict(zip([c[0] for c in cursor.description], row, strict=True)) if row else None


def _heartbeats(conn: sqlite3.Connection) -> dict[str, heartbeat_pb2.Heartbeat]:
    try:
        rows = conn.execute("SELECT store_id, heartbeat FROM stores WHERE heartbeat IS NOT NULL")
        return {s: heartbeat_pb2.Heartbeat.FromString(p) for s, p in rows.fetchall()}
    except sqlite3.OperationalError:  # no store has reported yet
        return {}


def ring_stores(db: Path, ring: str) -> list[str]:
    """The active stores of a rollout ring (``all``: every store in neither canary nor early)."""
    if ring != "all":
        return distribution.target_stores(db, ring=ring)
    earlier = set(distribution.target_stores(db, ring="canary"))
    earlier |= set(distribution.target_stores(db, ring="early"))
    from cloud_hub.registry import Registry

    with Registry(db) as registry:
        revoked = {s.store_id for s in registry.stores() if s.status != "active"}
    return [s for s in distribution.target_stores(db) if s not in earlier | revoked]


def _ring_of(registry_ring: str | None) -> str:
    return registry_ring if registry_ring in ("canary", "early") else "all"


# -- starting and operator actions ------------------------------------------------------------
async def _published(js: Any, name: str, version: str) -> bool:
    obs, _ = await distribution.ensure_buckets(js)
    try:
        await obs.get_info(subjects.model_object(name, version, "manifest.signed.binpb"))
    except NotFoundError:
        return False
    return True


async def _ensure_published(js: Any, source: ArtifactSource, name: str, version: str) -> bool:
    if await _published(js, name, version):
        return True
    found = source.artifact(name, version)
    if found is None:
        return False
    await distribution.publish(js, name, version, *found)
    return True


async def start(js: Any, db: Path, source: ArtifactSource, model: str, version: str, *,
                actor: str, force: bool = False) -> dict[str, Any]:  # fmt: skip
    """Publish ``model`` ``version`` (and what each store serves now, for rollback) and
    write a running rollout at ring canary; ``cloud-hub serve`` takes it from there."""
    if model not in SERVED_MODELS:
        from cloud_hub.model_registry import FAMILIES

        family = FAMILIES.get(model, ())
        hint = (f"{model} is a family: roll out its served artifacts one by one "
                f"({', '.join(n for n in family if n in SERVED_MODELS)})" if family
                else f"roll out one of: {', '.join(SERVED_MODELS)}")  # fmt: skip
        raise RolloutError(f"model {model}: stores do not serve it (they serve "
                           f"{', '.join(SERVED_MODELS)})", hint=hint)  # fmt: skip
    # Before the promotion check: a mistyped version is "no such version", not "not promoted".
    if source.artifact(model, version) is None and not await _published(js, model, version):
        raise RolloutError(
            f"model {model} {version}: no such version: not in the object store "
            f"{subjects.MODELS_BUCKET}, not in {source.where(model)}",
            hint="check the version (`cloud-hub models list`), or pass --from DIR, a folder "
            "signed by `cloud-hub models sign` that holds it",
        )
    promoted = source.promoted(model, version)
    if not promoted and not force:
        raise RolloutError(f"model {model} {version} was not promoted",
                           hint="promote it first, or roll it out anyway with --force "
                           "(audited)")  # fmt: skip
    conn = _connect(db)
    try:
        active = _rollout(conn, "model = ? AND state IN ('running', 'paused')", (model,))
        beats = _heartbeats(conn)
    finally:
        conn.close()
    if active is not None:
        raise HubError(f"model {model}: rollout of {active['version']} is {active['state']}",
                       hint=f"`cloud-hub rollout rollback {model}` (or wait for it) "
                       "first")  # fmt: skip
    if not await _ensure_published(js, source, model, version):  # gone meanwhile
        raise RolloutError(f"model {model} {version}: not published and not in "
                           f"{source.where(model)}", hint="start it again")  # fmt: skip
    missing = {}
    for store_id, beat in beats.items():
        current = beat.model_versions.get(model)
        if (
            current
            and current != version
            and current not in missing
            and (not await _ensure_published(js, source, model, current))
        ):
            missing[current] = store_id
    if missing:
        what = ", ".join(f"{v} (served by {s})" for v, s in sorted(missing.items()))
        raise HubError(f"model {model}: cannot roll stores back to {what}: not published and "
                       "not in the artifact source",
                       hint="pass --from DIR with those versions too (a rollout starts only "
                       "if every ring can be rolled back)")  # fmt: skip
    conn = _connect(db)
    try:
        now = _now()
        with contextlib.suppress(sqlite3.IntegrityError), hubdb.immediate(conn):
            cursor = conn.execute(
                "INSERT INTO rollouts(model, version, state, ring, forced, actor, started_at, "
                "updated_at) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
                (model, version, RINGS[0], int(force and not promoted), actor, now, now),
            )
            hub_audit.append(conn, actor=actor, action="rollout.started",
                             subject=f"{model}@{version}",
                             detail={"rollout": cursor.lastrowid, "promoted": promoted,
                                     "forced": bool(force and not promoted),
                                     "rings": list(RINGS)})  # fmt: skip
            return _rollout(conn, "id = ?", (cursor.lastrowid,)) or {}
        raise HubError(f"model {model}: another rollout started meanwhile",
                       hint="`cloud-hub rollout status` shows it")  # fmt: skip
    finally:
        conn.close()


async def set_state(js: Any, db: Path, model: str, action: str, *, actor: str) -> dict[str, Any]:
    """``pause``, ``resume`` or ``rollback`` the active rollout of ``model``."""
    conn = _connect(db)
    try:
        rollout = _rollout(conn, "model = ? AND state IN ('running', 'paused')", (model,))
        if rollout is None:
            raise HubError(f"model {model}: no rollout is running or paused",
                           hint="`cloud-hub rollout status` lists them")  # fmt: skip
        wanted = {"pause": ("running", "paused"), "resume": ("paused", "running")}
        if action in wanted:
            before, after = wanted[action]
            if rollout["state"] != before:
                raise HubError(f"model {model}: the rollout is {rollout['state']}, not {before}",
                               hint="`cloud-hub rollout status` shows it")  # fmt: skip
            with hubdb.immediate(conn):
                conn.execute("UPDATE rollouts SET state = ?, updated_at = ? WHERE id = ?",
                             (after, _now(), rollout["id"]))  # fmt: skip
                hub_audit.append(
                    conn,
                    actor=actor,
                    action=f"rollout.{after}",
                    subject=f"{model}@{rollout['version']}",
                    detail={"rollout": rollout["id"], "ring": rollout["ring"]},
                )
            return _rollout(conn, "id = ?", (rollout["id"],)) or {}
    finally:
        conn.close()
    if action != "rollback":
        raise HubError(f"{action}: not a rollout action", hint="pause, resume or rollback")
    await _roll_back(js, db, rollout, actor=actor, reason="rolled back by an operator",
                     numbers={}, every_ring=True)  # fmt: skip
    conn = _connect(db)
    try:
        return _rollout(conn, "id = ?", (rollout["id"],)) or {}
    finally:
        conn.close()


async def _roll_back(js: Any, db: Path, rollout: Mapping[str, Any], *, actor: str, reason: str,
                     numbers: Mapping[str, Any], every_ring: bool = False) -> None:  # fmt: skip
    """Point the offered stores (of the current ring, or of every ring) back at their
    previous version, and mark the rollout rolled_back with why."""
    conn = _connect(db)
    try:
        rows = conn.execute("SELECT store_id, ring, previous_version FROM rollout_stores WHERE "
                            "rollout_id = ? AND status = 'offered'",
                            (rollout["id"],)).fetchall()  # fmt: skip
    finally:
        conn.close()
    back: dict[str, list[str]] = defaultdict(list)
    for store_id, ring, previous in rows:
        if every_ring or ring == rollout["ring"]:
            back[previous].append(store_id)
    results = {}
    for previous, stores in sorted(back.items()):
        done = await distribution.rollback(js, db, stores, rollout["model"], previous, actor=actor)
        results[previous] = done.as_dict()
    conn = _connect(db)
    try:
        now = _now()
        with hubdb.immediate(conn):
            for stores in back.values():
                conn.executemany("UPDATE rollout_stores SET status = 'rolled_back', at = ? "
                                 "WHERE rollout_id = ? AND store_id = ?",
                                 [(now, rollout["id"], s) for s in stores])  # fmt: skip
            cursor = conn.execute("UPDATE rollouts SET state = 'rolled_back', reason = ?, "
                                  "updated_at = ? WHERE id = ? AND state IN ('running', "
                                  "'paused')", (reason, now, rollout["id"]))  # fmt: skip
            if cursor.rowcount == 0:  # rolled back meanwhile (the offers above are idempotent)
                return
            hub_audit.append(conn, actor=actor, action="rollout.rolled_back",
                             subject=f"{rollout['model']}@{rollout['version']}",
                             detail={"rollout": rollout["id"], "ring": rollout["ring"],
                                     "reason": reason, "gate": dict(numbers),
                                     "rolled_back": {v: r["offered"] for v, r in results.items()},
                                     "not_reached": {v: r["skipped"] for v, r in results.items()
                                                     if r["skipped"]}})  # fmt: skip
    finally:
        conn.close()


def pass_gate_by_operator(db: Path, model: str, settings: HubSettings, *, actor: str,
                          reason: str) -> dict[str, Any]:  # fmt: skip
    """Operator override: pass the current ring's gate of ``model``'s running rollout now
    (next ring, or completed), audited with ``reason`` and the gate's numbers at the time."""
    if not reason.strip():
        raise HubError("a gate passed by hand needs a reason", hint="say why (it is audited)")
    conn = _connect(db)
    try:
        rollout = _rollout(conn, "model = ? AND state IN ('running', 'paused')", (model,))
    finally:
        conn.close()
    if rollout is None:
        raise HubError(f"model {model}: no rollout is running",
                       hint="`cloud-hub rollout status` lists them")  # fmt: skip
    if rollout["state"] != "running":
        raise HubError(f"model {model}: the rollout is {rollout['state']}, not running",
                       hint="resume it first")  # fmt: skip
    if rollout["ring_offered_at"] is None:
        raise HubError(f"model {model}: ring {rollout['ring']} is not offered yet, so it has "
                       "no gate to pass", hint="wait for the next rollout tick")  # fmt: skip
    measured = evaluate_gate(db, rollout, settings)
    gate = Gate("pass", f"passed by {actor}: {reason}",
                {**measured.numbers, "operator": {"actor": actor, "reason": reason,
                                                  "verdict_then": measured.verdict,
                                                  "reason_then": measured.reason}})  # fmt: skip
    change = _pass_ring(db, rollout, gate, actor=actor)
    if change.get("state") == "changed meanwhile":
        raise HubError(f"model {model}: the rollout changed while its gate was passed",
                       hint="`cloud-hub rollout status` shows where it is now")  # fmt: skip
    return change


# -- the loop ---------------------------------------------------------------------------------
async def advance(js: Any, db: Path, settings: HubSettings, *,
                  actor: str = "cloud-hub serve") -> list[dict[str, Any]]:  # fmt: skip
    """One pass over the running rollouts: offer a ring not yet offered, or gate an offered
    one (pass: next ring or completed; fail: roll the ring back); and offer a completed
    rollout (its model's latest) to its stores heard from only since. Returns what
    changed."""
    conn = _connect(db)
    try:
        running = [_rollout(conn, "id = ?", (r[0],)) for r in conn.execute(
            "SELECT id FROM rollouts WHERE state = 'running' ORDER BY id").fetchall()]  # fmt: skip
        completed = [_rollout(conn, "id = ?", (r[0],)) for r in conn.execute(
            "SELECT id FROM rollouts r WHERE state = 'completed' AND id = (SELECT MAX(id) FROM "
            "rollouts WHERE model = r.model) ORDER BY id").fetchall()]  # fmt: skip
    finally:
        conn.close()
    changes = []
    for rollout in completed:  # what the fleet should serve: a store heard from late gets it
        assert rollout is not None
        with contextlib.suppress(HubError):  # its artifacts gone: nothing to offer
            if (late := await _offer_late(js, db, rollout, actor=actor)) is not None:
                changes.append(late)
    for rollout in running:
        assert rollout is not None
        if rollout["ring_offered_at"] is None:
            try:
                changes.append(await _offer_ring(js, db, rollout, actor=actor))
            except HubError as exc:  # e.g. its artifacts are gone from the object store
                changes.append(_fail(db, rollout, exc.message, actor=actor))
            continue
        try:
            late = await _offer_late(js, db, rollout, actor=actor)
        except HubError as exc:
            changes.append(_fail(db, rollout, exc.message, actor=actor))
            continue
        if late is not None:
            changes.append(late)
            if late["state"] != "running":
                continue
        gate = evaluate_gate(db, rollout, settings)
        if gate.verdict == "fail":
            await _roll_back(js, db, rollout, actor=actor, reason=gate.reason,
                             numbers=gate.numbers)  # fmt: skip
            changes.append({"rollout": rollout["id"], "state": "rolled_back",
                            "ring": rollout["ring"], "reason": gate.reason})  # fmt: skip
        elif gate.verdict == "pass":
            changes.append(_pass_ring(db, rollout, gate, actor=actor))
    return changes


async def _offer_ring(js: Any, db: Path, rollout: Mapping[str, Any], *,
                      actor: str) -> dict[str, Any]:  # fmt: skip
    model, version, ring = rollout["model"], rollout["version"], rollout["ring"]
    stores = ring_stores(db, ring)
    conn = _connect(db)
    try:
        beats = _heartbeats(conn)
    finally:
        conn.close()
    result, previous = await _offer_stores(js, db, rollout, stores, beats, actor=actor)
    unheard = [s for s, why in result.skipped.items() if why == distribution.NO_HEARTBEAT]
    # A ring never passes unseen (the canary guards all): none offered fails it, unless
    # some of its stores are yet to be heard from (offered then; the gate waits for them).
    if stores and not result.offered and not unheard:
        raise HubError(f"no store of ring {ring} could be offered {model} {version}: " + "; ".join(
            f"{s}: {why}" for s, why in sorted(result.skipped.items())),
            hint="see `cloud-hub rollout status`; start it again once they can")  # fmt: skip
    conn = _connect(db)
    try:
        now = _now()
        with hubdb.immediate(conn):
            conn.executemany(
                "INSERT OR REPLACE INTO rollout_stores VALUES (?, ?, ?, 'offered', ?, '', ?)",
                [(rollout["id"], s, ring, previous[s], now) for s in result.offered],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO rollout_stores VALUES (?, ?, ?, 'skipped', '', ?, ?)",
                [(rollout["id"], s, ring, why, now) for s, why in result.skipped.items()],
            )
            state = conn.execute("SELECT state FROM rollouts WHERE id = ?",
                                 (rollout["id"],)).fetchone()[0]  # fmt: skip
            if state == "running":  # not paused or rolled back while the offers went out
                conn.execute("UPDATE rollouts SET ring_offered_at = ?, updated_at = ? WHERE "
                             "id = ?", (now, now, rollout["id"]))  # fmt: skip
            hub_audit.append(conn, actor=actor, action="rollout.ring_offered",
                             subject=f"{model}@{version}",
                             detail={"rollout": rollout["id"], "ring": ring,
                                     "offered": result.offered,
                                     "skipped": result.skipped})  # fmt: skip
    finally:
        conn.close()
    if state == "rolled_back":  # an operator's rollback read the stores before these
        await _roll_back(js, db, {**rollout, "state": state}, actor=actor, reason="",
                         numbers={}, every_ring=True)  # fmt: skip
    return {"rollout": rollout["id"], "state": state, "ring": ring,
            "offered": result.offered, "skipped": result.skipped}  # fmt: skip


async def _offer_stores(js: Any, db: Path, rollout: Mapping[str, Any], stores: Sequence[str],
                        beats: Mapping[str, heartbeat_pb2.Heartbeat], *,
                        actor: str) -> tuple[distribution.OfferResult, dict[str, str]]:  # fmt: skip
    """Offer the rollout's version to ``stores`` (each compatible one whose current version,
    by its heartbeat, can be rolled back to); (the result, each offered store's previous
    version)."""
    model, version = rollout["model"], rollout["version"]
    obs, _ = await distribution.ensure_buckets(js)
    try:
        signed = (await obs.get(subjects.model_object(model, version,
                                                      "manifest.signed.binpb"))).data  # fmt: skip
    except NotFoundError:
        raise HubError(f"model {model} {version} is no longer in the object store",
                       hint="start the rollout again with --from DIR") from None  # fmt: skip
    manifest = distribution._manifest(signed, f"model {model} {version}")
    previous: dict[str, str] = {}
    unreturnable: dict[str, str] = {}
    for store_id in stores:
        beat = beats.get(store_id)
        current = beat.model_versions.get(model, "") if beat is not None else ""
        if current == version:
            previous[store_id] = version
        elif current and await _published(js, model, current):
            previous[store_id] = current
        elif beat is not None:  # no heartbeat: offer() skips it anyway, saying why
            unreturnable[store_id] = (f"its version {current or '?'} is not published: it "
                                      "could not be rolled back")  # fmt: skip
    offerable = [s for s in stores if s not in unreturnable]
    result = await distribution.offer(js, db, offerable, manifest, actor=actor, reason="rollout")
    result.skipped.update(unreturnable)
    return result, previous


def _reached(rollout: Mapping[str, Any]) -> tuple[str, ...]:
    """The rings the rollout has offered so far (the current one once it is offered)."""
    index = RINGS.index(rollout["ring"])
    return RINGS[: index + 1] if rollout["ring_offered_at"] is not None else RINGS[:index]


async def _offer_late(js: Any, db: Path, rollout: Mapping[str, Any], *,
                      actor: str) -> dict[str, Any] | None:  # fmt: skip
    """Offer the version to the stores of the rings reached that were skipped for want of a
    heartbeat and have sent one since (compatibility checked as for the others). A late
    store of the current ring is gated with it; of a ring already passed, it is offered
    without holding anything up. None when there is no such store."""
    rings = _reached(rollout)
    conn = _connect(db)
    try:
        waiting = dict(conn.execute(
            f"SELECT store_id, ring FROM rollout_stores WHERE rollout_id = ? AND status = "
            f"'skipped' AND detail = ? AND ring IN ({','.join('?' * len(rings))})",
            (rollout["id"], distribution.NO_HEARTBEAT, *rings)).fetchall())  # fmt: skip
        beats = _heartbeats(conn) if waiting else {}
    finally:
        conn.close()
    revoked = _revoked(db) if waiting else set()
    late = sorted(s for s in waiting if s in beats and s not in revoked)
    if not late:
        return None
    result, previous = await _offer_stores(js, db, rollout, late, beats, actor=actor)
    conn = _connect(db)
    try:
        now = _now()
        with hubdb.immediate(conn):
            conn.executemany(
                "UPDATE rollout_stores SET status = 'offered', previous_version = ?, detail = '', "
                "at = ? WHERE rollout_id = ? AND store_id = ?",
                [(previous[s], now, rollout["id"], s) for s in result.offered],
            )
            conn.executemany(
                "UPDATE rollout_stores SET detail = ?, at = ? WHERE rollout_id = ? AND "
                "store_id = ?", [(why, now, rollout["id"], s) for s, why in result.skipped.items()],
            )  # fmt: skip
            state = conn.execute("SELECT state FROM rollouts WHERE id = ?",
                                 (rollout["id"],)).fetchone()[0]  # fmt: skip
            hub_audit.append(conn, actor=actor, action="rollout.late_offered",
                             subject=f"{rollout['model']}@{rollout['version']}",
                             detail={"rollout": rollout["id"], "ring": rollout["ring"],
                                     "offered": {s: waiting[s] for s in result.offered},
                                     "skipped": result.skipped})  # fmt: skip
    finally:
        conn.close()
    if state == "rolled_back":  # an operator's rollback read the stores before these
        await _roll_back(js, db, {**rollout, "state": state}, actor=actor, reason="",
                         numbers={}, every_ring=True)  # fmt: skip
    return {"rollout": rollout["id"], "state": state, "ring": rollout["ring"],
            "late_offered": result.offered, "skipped": result.skipped}  # fmt: skip


def _revoked(db: Path) -> set[str]:
    """Stores the registry revoked: never offered, gated or shown as waiting."""
    from cloud_hub.registry import Registry

    with Registry(db) as registry:
        return {s.store_id for s in registry.stores() if s.status != "active"}


def _fail(db: Path, rollout: Mapping[str, Any], reason: str, *, actor: str) -> dict[str, Any]:
    """Stop a rollout that cannot go on (nothing offered in its current ring)."""
    conn = _connect(db)
    try:
        with hubdb.immediate(conn):
            conn.execute("UPDATE rollouts SET state = 'failed', reason = ?, updated_at = ? "
                         "WHERE id = ?", (reason, _now(), rollout["id"]))  # fmt: skip
            hub_audit.append(conn, actor=actor, action="rollout.failed",
                             subject=f"{rollout['model']}@{rollout['version']}",
                             detail={"rollout": rollout["id"], "ring": rollout["ring"],
                                     "reason": reason})  # fmt: skip
    finally:
        conn.close()
    return {"rollout": rollout["id"], "state": "failed", "ring": rollout["ring"], "reason": reason}


def _pass_ring(db: Path, rollout: Mapping[str, Any], gate: Gate, *,
               actor: str) -> dict[str, Any]:  # fmt: skip
    index = RINGS.index(rollout["ring"])
    done = index == len(RINGS) - 1
    conn = _connect(db)
    try:
        now = _now()
        with hubdb.immediate(conn):
            # Only if nobody paused or rolled it back while the gate was evaluated.
            if done:
                cursor = conn.execute("UPDATE rollouts SET state = 'completed', updated_at = ? "
                                      "WHERE id = ? AND state = 'running' AND ring = ?",
                                      (now, rollout["id"], rollout["ring"]))  # fmt: skip
            else:
                cursor = conn.execute("UPDATE rollouts SET ring = ?, ring_offered_at = NULL, "
                                      "updated_at = ? WHERE id = ? AND state = 'running' AND "
                                      "ring = ?", (RINGS[index + 1], now, rollout["id"],
                                                   rollout["ring"]))  # fmt: skip
            if cursor.rowcount == 0:
                return {"rollout": rollout["id"], "state": "changed meanwhile"}
            hub_audit.append(conn, actor=actor,
                             action="rollout.completed" if done else "rollout.ring_passed",
                             subject=f"{rollout['model']}@{rollout['version']}",
                             detail={"rollout": rollout["id"], "ring": rollout["ring"],
                                     "gate": gate.numbers})  # fmt: skip
    finally:
        conn.close()
    return {
        "rollout": rollout["id"],
        "state": "completed" if done else "running",
        "ring": rollout["ring"] if done else RINGS[index + 1],
        "gate": gate.numbers,
    }


# -- the health gate --------------------------------------------------------------------------
@dataclass
class Gate:
    verdict: str  # pass, fail, wait
    reason: str
    numbers: dict[str, Any] = field(default_factory=dict)


def _seconds_since(text: str) -> float:
    return (datetime.now(UTC) - datetime.fromisoformat(text)).total_seconds()


def evaluate_gate(db: Path, rollout: Mapping[str, Any], settings: HubSettings) -> Gate:
    """The health gate of the rollout's current (offered) ring; see docs/ARCHITECTURE.md
    "Rollouts in rings" for each check and its setting."""
    model, version, ring = rollout["model"], rollout["version"], rollout["ring"]
    waited = _seconds_since(rollout["ring_offered_at"])
    revoked = _revoked(db)  # they cannot report any more: not gated
    conn = _connect(db)
    try:
        offered_at = {s: at for s, at in conn.execute(
            "SELECT store_id, at FROM rollout_stores WHERE rollout_id = ? AND ring = ? AND "
            "status = 'offered' ORDER BY store_id", (rollout["id"], ring))
            if s not in revoked}  # fmt: skip
        offered = list(offered_at)
        unheard = [r[0] for r in conn.execute(
            "SELECT store_id FROM rollout_stores WHERE rollout_id = ? AND ring = ? AND status = "
            "'skipped' AND detail = ? ORDER BY store_id",
            (rollout["id"], ring, distribution.NO_HEARTBEAT)) if r[0] not in revoked]  # fmt: skip
        touched = {r[0] for r in conn.execute(
            "SELECT store_id FROM rollout_stores WHERE rollout_id = ? AND status = 'offered'",
            (rollout["id"],))}  # fmt: skip
        baseline = {r[0] for r in conn.execute(
            "SELECT previous_version FROM rollout_stores WHERE rollout_id = ? AND status = "
            "'offered' AND previous_version != ?", (rollout["id"], version))}  # fmt: skip
    finally:
        conn.close()
    numbers: dict[str, Any] = {"ring": ring, "stores": len(offered), "waited_s": round(waited, 1)}
    # 1. Every offered store applied it; a refusal (shadow check, signature...) fails at once.
    reports = {r["store_id"]: r for r in distribution.swap_reports(db)
               if r["model"] == model and r["version"] == version}  # fmt: skip
    refused = {s: reports[s]["reason"] for s in offered if reports.get(s, {}).get("outcome")
               == "refused"}  # fmt: skip
    applied = [s for s in offered if reports.get(s, {}).get("outcome") == "applied"]
    numbers.update(applied=len(applied), refused=refused)
    if refused:
        return Gate(
            "fail",
            f"{len(refused)} of {len(offered)} stores refused it: "
            + "; ".join(f"{s}: {why}" for s, why in sorted(refused.items())),
            numbers,
        )
    deadline = settings.rollout_swap_deadline_s
    if len(applied) < len(offered):
        # Each store's deadline runs from its own offer (a late store's from its late one).
        missing = sorted(set(offered) - set(applied))
        if any(_seconds_since(offered_at[s]) > deadline for s in missing):
            return Gate("fail", f"{len(missing)} of {len(offered)} stores did not report the swap "
                        f"within {deadline:g} s: {', '.join(missing)}", numbers)  # fmt: skip
        return Gate("wait", "waiting for the stores to report the swap", numbers)
    # Stores of the ring not heard from yet are offered when they are: the gate waits for
    # them up to the swap deadline, then goes on without them (a ring none of whose stores
    # was offered fails: it never passes unseen).
    if unheard:
        numbers["not_heard_from"] = unheard
        if waited <= deadline:
            return Gate("wait", f"waiting for {len(unheard)} stores to send a heartbeat: "
                        f"{', '.join(unheard)}", numbers)  # fmt: skip
        if not offered:
            return Gate("fail", f"no store of ring {ring} was heard from within {deadline:g} s: "
                        f"{', '.join(unheard)}", numbers)  # fmt: skip
    # 2. The decision error rate of the ring's stores, after the offer vs before it.
    after, before = error_rates(db, offered, rollout["ring_offered_at"])
    numbers["error_rate"] = {"after": after, "before": before,
                             "tolerance": settings.rollout_error_rate_tolerance}  # fmt: skip
    worse = after["rate"] - before["rate"]
    if after["decisions"] and worse > settings.rollout_error_rate_tolerance:
        return Gate("fail", f"decision error rate {after['rate']:.1%} after the swap vs "
                    f"{before['rate']:.1%} before (tolerance "
                    f"{settings.rollout_error_rate_tolerance:.1%})", numbers)  # fmt: skip
    # 3. Live accuracy on outcomes synced after the swap vs the champion's.
    window = settings.rollout_accuracy_window_days
    if window == 0 or model not in SCORED_MODELS or not offered:
        numbers["accuracy"] = "not checked" + (
            "" if window else " (rollout_accuracy_window_days = 0)"
        )
        return Gate("pass", "healthy", numbers)
    candidate = live_accuracy(db, model, [version], offered)
    if len(candidate.days) < window:
        numbers["accuracy"] = {"candidate": candidate.as_dict(), "window_days": window}
        if waited > settings.rollout_gate_timeout_s:
            return Gate(
                "fail",
                f"only {len(candidate.days)} of {window} days of outcomes after "
                f"the swap within {settings.rollout_gate_timeout_s:g} s",
                numbers,
            )
        return Gate("wait", "waiting for outcomes after the swap", numbers)
    days = candidate.days
    champions = sorted(baseline | ({c} if (c := _champion(settings, model)) else set()))
    # The control group: stores this rollout has not reached, same days, the champion.
    control = [s for s in _all_stores(db) if s not in touched]
    champion, compared = Accuracy(), "nothing"
    if control:
        champion = live_accuracy(db, model, champions, control, days=days)
        compared = "control stores, same days"
        if not champion.decisions and waited <= settings.rollout_gate_timeout_s:
            numbers["accuracy"] = {"candidate": candidate.as_dict(), "window_days": window}
            return Gate("wait", "waiting for the control stores' outcomes of those days", numbers)
    if not champion.decisions:  # last ring (or no control data): the same stores before
        champion = live_accuracy(db, model, None, offered, exclude=version, before=min(days),
                                 last_days=window)  # fmt: skip
        compared = "same stores, before the swap"
    tolerance = settings.rollout_accuracy_tolerance
    numbers["accuracy"] = {"candidate": candidate.as_dict(), "champion": champion.as_dict(),
                           "champion_versions": champions, "compared_with": compared,
                           "tolerance": tolerance,
                           "window_days": window}  # fmt: skip
    if not champion.decisions:
        return Gate("pass", "healthy (no decisions before it to compare with)", numbers)
    if candidate.error > champion.error * (1 + tolerance):
        return Gate("fail", f"live error {candidate.error:.3f} on {len(days)} day(s) of outcomes "
                    f"after the swap vs the champion's {champion.error:.3f} (tolerance "
                    f"{tolerance:.0%})", numbers)  # fmt: skip
    return Gate("pass", "healthy", numbers)


def _champion(settings: HubSettings, model: str) -> str | None:
    """The registry's champion of ``model``: the live-accuracy baseline."""
    from cloud_hub.model_registry import ModelRegistry  # the registry pulls in signing

    if settings.db is None or not settings.db.exists():
        return None
    with ModelRegistry(settings.db, settings.signing_folder()) as registry:
        return RegistrySource(registry).champion(model)


def _all_stores(db: Path) -> list[str]:
    revoked = _revoked(db)
    return [s for s in distribution.target_stores(db) if s not in revoked]


def error_rates(db: Path, store_ids: Sequence[str],
                since: str) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """Share of the stores' decisions FAILED or BLOCKED (their current state), among those
    that reached the hub after ``since`` and those in the 7 days before it."""
    conn = hubdb.connect(db)
    marks = ",".join("?" * len(store_ids))
    start = (datetime.fromisoformat(since) - timedelta(days=7)).isoformat()
    bad = ",".join(str(s) for s in ERROR_STATES)
    try:

        def count(lo: str, hi: str | None) -> dict[str, Any]:
            total, errors = conn.execute(
                f"SELECT COUNT(*), COALESCE(SUM(d.state IN ({bad})), 0) FROM records r JOIN "
                f"api_decisions d ON d.decision_id = r.record_id WHERE r.record_type = "
                f"'decision' AND r.store_id IN ({marks}) AND r.received_at >= ? "
                f"AND (? IS NULL OR r.received_at < ?)",
                (*store_ids, lo, hi, hi),
            ).fetchone()
            return {"decisions": total, "errors": errors,
                    "rate": round(errors / total, 4) if total else 0.0}  # fmt: skip

        return count(since, None), count(start, since)
    except sqlite3.OperationalError:  # nothing ingested yet
        empty = {"decisions": 0, "errors": 0, "rate": 0.0}
        return dict(empty), dict(empty)
    finally:
        conn.close()


# -- live accuracy ------------------------------------------------------------------------------
#: Models whose decisions carry a forecast the outcomes can score, and the quantile each
#: forecasts (0.5: a point forecast scored by absolute error).
SCORED_MODELS = {
    "labor": 0.5,
    "replenishment_protection_p90": 0.9,
    "replenishment_protection_mean": 0.5,
}


@dataclass
class Accuracy:
    """Weighted quantile loss of a model's forecasts in decisions against what followed:
    ``error = 2 * sum(pinball_q(actual, forecast)) / sum(actual)``; for a point forecast
    (q = 0.5) that is WAPE, sum |forecast - actual| / sum actual. Lower is better."""

    decisions: int = 0
    actual: float = 0.0
    loss: float = 0.0
    days: list[str] = field(default_factory=list)

    @property
    def error(self) -> float:
        return 2 * self.loss / self.actual if self.actual > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"decisions": self.decisions, "days": self.days, "error": round(self.error, 4),
                "actual": round(self.actual, 3)}  # fmt: skip


def _pinball(actual: float, forecast: float, q: float) -> float:
    return q * (actual - forecast) if actual >= forecast else (1 - q) * (forecast - actual)


def _outcomes(conn: sqlite3.Connection, store_ids: Iterable[str]) -> dict[tuple[str, str], Any]:
    """(store, day) -> {"hours": {hour: transactions}, "skus": {sku: units}}, the highest
    revision of each row."""
    ids = list(store_ids)
    marks = ",".join("?" * len(ids))
    days: dict[tuple[str, str], Any] = {}
    rows = conn.execute(f"SELECT store_id, payload FROM records WHERE record_type = 'outcome' "
                        f"AND store_id IN ({marks})", ids)  # fmt: skip
    for store_id, payload in rows:
        message = outcome_pb2.DailyOutcome.FromString(payload)
        if message.store_closed:
            continue
        day = days.setdefault((store_id, message.business_date), {"hours": {}, "skus": {}})
        for h in message.hours:
            if h.revision >= day["hours"].get(h.hour, (-1, 0))[0]:
                day["hours"][h.hour] = (h.revision, h.transactions)
        for s in message.skus:
            if s.revision >= day["skus"].get(s.sku, (-1, 0))[0]:
                day["skus"][s.sku] = (s.revision, s.units_sold)
    return days


def live_accuracy(db: Path, model: str, versions: Sequence[str] | None,
                  store_ids: Sequence[str], *, exclude: str | None = None,
                  days: Sequence[str] | None = None, before: str | None = None,
                  last_days: int = 0) -> Accuracy:  # fmt: skip
    """How well ``model`` at ``versions`` (None: any version but ``exclude``) forecast at
    ``store_ids``, scored against the daily outcomes the hub holds (see :class:`Accuracy`
    for the formula).

    A staffing decision's ``forecast_transactions`` is scored against the transactions of
    its hour; an order's model P90 (``protection_quantile``; ``order_up_to`` in decisions
    that lack it), and its expected demand (``forecast_mean``, by the protection mean
    model at ``forecast_mean_version``), against the units sold over its protection days
    (only once every one of those days has synced). ``days`` keeps decisions of those
    business days; ``before`` + ``last_days`` the last ``last_days`` days with scored
    decisions before ``before``. Reads the hub's ``records``: the outcome join
    (cloud_hub/outcomes.py) can replace the two readers here without changing the formula.
    """
    quantile = SCORED_MODELS.get(model)
    result = Accuracy()
    if quantile is None or not store_ids or (versions is not None and not versions):
        return result
    conn = hubdb.connect(db)
    try:
        outcomes = _outcomes(conn, store_ids)
        marks = ",".join("?" * len(store_ids))
        payloads = [r[0] for r in conn.execute(
            f"SELECT payload FROM records WHERE record_type = 'decision' AND store_id IN "
            f"({marks})", list(store_ids))]  # fmt: skip
    except sqlite3.OperationalError:
        return result
    finally:
        conn.close()
    scored: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for payload in payloads:
        decision = decision_pb2.Decision.FromString(payload)
        version = _version_of(decision, model)
        if version is None or version == exclude:
            continue
        if versions is not None and version not in versions:
            continue
        day = decision.business_date
        if (days is not None and day not in days) or (before is not None and day >= before):
            continue
        pair = _forecast_and_actual(decision, outcomes, model)
        if pair is not None:
            scored[day].append(pair)
    keep = sorted(scored)
    if before is not None and last_days:
        keep = keep[-last_days:]
    for day in keep:
        for forecast, actual in scored[day]:
            result.decisions += 1
            result.actual += actual
            result.loss += _pinball(actual, forecast, quantile)
    result.days = keep
    return result


def _version_of(decision: decision_pb2.Decision, model: str) -> str | None:
    """The version of ``model`` that gave the decision's scored forecast; None when it
    gave none. An order's expected demand comes from the protection mean model, though
    the decision is the P90 model's."""
    if model == "replenishment_protection_mean":
        if decision.WhichOneof("detail") != "order":
            return None
        return decision.order.forecast_mean_version or None
    return decision.model_version if decision.model_name == model else None


def _forecast_and_actual(
    decision: decision_pb2.Decision, outcomes: Mapping[tuple[str, str], Any], model: str
) -> tuple[float, float] | None:
    store_id = decision.id.store_id
    which = decision.WhichOneof("detail")
    if which == "staffing":
        day = outcomes.get((store_id, decision.business_date))
        if day is None:
            return None
        _, actual = day["hours"].get(decision.staffing.hour, (0, 0.0))
        return decision.staffing.forecast_transactions, float(actual)
    if which == "order" and decision.order.protection_days:
        start = date.fromisoformat(decision.order.order_date or decision.business_date)
        total = 0.0
        for offset in range(decision.order.protection_days):
            day = outcomes.get((store_id, (start + timedelta(days=offset)).isoformat()))
            if day is None:
                return None
            total += float(day["skus"].get(decision.sku, (0, 0.0))[1])
        if model == "replenishment_protection_mean":
            return decision.order.forecast_mean, total
        # The model's P90 (the order rule may have moved the order-up-to level off it);
        # decisions from before the rule carry only order_up_to, which was the P90.
        forecast = decision.order.protection_quantile or decision.order.order_up_to
        return forecast, total
    return None


# -- status -----------------------------------------------------------------------------------
def rollout_status(db: Path) -> dict[str, Any]:
    """``{"rollouts": [...], "stores": {ID: {"ring", "models": {MODEL: VERSION}}},
    "revoked": [ID, ...]}``: every rollout (newest first) and what each store serves: its
    latest heartbeat, updated by the swaps it reported since. A store the registry revoked
    is in no ring and waits for nothing: listed under ``revoked`` only."""
    conn = _connect(db)
    try:
        cursor = conn.execute("SELECT * FROM rollouts ORDER BY id DESC")
        names = [c[0] for c in cursor.description]
        rollouts = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        beats = _heartbeats(conn)
        per_store = defaultdict(dict)
        for rollout_id, store_id, status, detail in conn.execute(
                "SELECT rollout_id, store_id, status, detail FROM rollout_stores"):  # fmt: skip
            per_store[rollout_id][store_id] = {"status": status, "detail": detail}
    finally:
        conn.close()
    from cloud_hub.registry import Registry

    with Registry(db) as registry:
        entries = registry.stores()
    rings = {s.store_id: s.ring for s in entries if s.status == "active"}
    revoked = sorted(s.store_id for s in entries if s.status != "active")
    applied = defaultdict(list)
    for report in distribution.swap_reports(db):
        if report["outcome"] == "applied":
            applied[report["store_id"]].append(report)
    stores = {}
    for store_id in sorted((set(rings) | set(beats)) - set(revoked)):
        beat = beats.get(store_id)
        models = dict(beat.model_versions) if beat else {}
        beat_at = beat.recorded_at.ToDatetime(tzinfo=UTC) if beat else None
        # A swap the store reported after its latest heartbeat is what it serves now.
        for report in applied.get(store_id, ()):
            if beat_at is None or datetime.fromisoformat(report["reported_at"]) > beat_at:
                models[report["model"]] = report["version"]
        stores[store_id] = {
            "ring": _ring_of(rings.get(store_id)),
            "models": dict(sorted(models.items())),
        }
    for rollout in rollouts:
        rollout["stores"] = {s: row for s, row in per_store.get(rollout["id"], {}).items()
                             if s not in revoked}  # fmt: skip
        rollout["forced"] = bool(rollout["forced"])
    return {"rollouts": rollouts, "stores": stores, "revoked": revoked}
