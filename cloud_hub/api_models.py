"""The models, rollouts and training calls of ``storeedge.hub.v1.HubService``.

:class:`ModelsHubApi` is :class:`cloud_hub.api.HubApi` with these calls added; the API
server serves it. Each call is a thin layer over the library the CLI uses:

- models: :mod:`cloud_hub.model_registry` (list, show, promote, rollback);
- rollouts: :mod:`cloud_hub.rollouts` (start, status, pause, resume, rollback, and
  :func:`~cloud_hub.rollouts.pass_gate_by_operator` for AdvanceRollout); ``cloud-hub
  serve`` offers and gates the rings as it does for ``cloud-hub rollout``;
- training: :mod:`cloud_hub.training_runs` (a queued run that ``serve`` runs).

Reads need any token; every change needs an admin token and is recorded like an
approval: ``api_calls`` and the hub's hash-chained audit log with the caller's token name
(refused calls included), and the library's own audit record (``model.promoted``,
``rollout.started``, ...) with the same name as actor.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc

from cloud_hub import apiauth, distribution, hub_audit, rollouts, training_runs
from cloud_hub.api import (
    ApiError,
    HubApi,
    _page_size,
    _PageToken,
    _set_ts,
    _unary,
    invalid,
)
from cloud_hub.errors import HubError
from cloud_hub.model_registry import FAMILIES, ModelRegistry, ModelVersion
from storeedge.hub.v1 import hub_pb2

__all__ = ["ModelsHubApi"]

T = TypeVar("T")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ARTIFACTS = tuple(n for names in FAMILIES.values() for n in names)
_MODEL_STATUS = {
    "candidate": hub_pb2.MODEL_VERSION_STATUS_CANDIDATE,
    "champion": hub_pb2.MODEL_VERSION_STATUS_CHAMPION,
    "retired": hub_pb2.MODEL_VERSION_STATUS_RETIRED,
    "rolled_back": hub_pb2.MODEL_VERSION_STATUS_ROLLED_BACK,
}
_ROLLOUT_STATE = {
    "running": hub_pb2.ROLLOUT_STATE_RUNNING,
    "paused": hub_pb2.ROLLOUT_STATE_PAUSED,
    "completed": hub_pb2.ROLLOUT_STATE_COMPLETED,
    "rolled_back": hub_pb2.ROLLOUT_STATE_ROLLED_BACK,
    "failed": hub_pb2.ROLLOUT_STATE_FAILED,
}
_STORE_STATUS = {
    "offered": hub_pb2.ROLLOUT_STORE_STATUS_OFFERED,
    "skipped": hub_pb2.ROLLOUT_STORE_STATUS_SKIPPED,
    "rolled_back": hub_pb2.ROLLOUT_STORE_STATUS_ROLLED_BACK,
}
_RUN_STATE = {
    "queued": hub_pb2.TRAINING_RUN_STATE_QUEUED,
    "running": hub_pb2.TRAINING_RUN_STATE_RUNNING,
    "succeeded": hub_pb2.TRAINING_RUN_STATE_SUCCEEDED,
    "failed": hub_pb2.TRAINING_RUN_STATE_FAILED,
}


# -- validation --------------------------------------------------------------------------------


def _model(field: str, value: str, *, allowed: tuple[str, ...], what: str) -> str:
    """A known model or artifact name: INVALID_ARGUMENT when missing or malformed,
    NOT_FOUND when well-formed but unknown."""
    if not value:
        raise invalid(field, f"is required: one of {', '.join(allowed)}")
    if not _NAME.match(value):
        raise invalid(field, f"{value!r} is not a {what} name (lowercase letters, digits, _)")
    if value not in allowed:
        raise ApiError(grpc.StatusCode.NOT_FOUND,
                       f"{what} {value!r} is unknown to this hub: one of "
                       f"{', '.join(allowed)}")  # fmt: skip
    return value


def _version(value: str) -> str:
    if not value:
        raise invalid("version", "is required, e.g. 2026.07.01-1 (ListModelVersions)")
    if not _VERSION.match(value):
        raise invalid("version", f"{value!r} is not a version (letters, digits, . _ -)")
    return value


def _optional_reason(value: str) -> str:
    if len(value) > 500:
        raise invalid("reason", f"is {len(value)} characters; keep it under 500")
    return value.strip()


def _precondition(exc: HubError) -> ApiError:
    hint = f" ({exc.hint})" if exc.hint else ""
    return ApiError(grpc.StatusCode.FAILED_PRECONDITION, exc.message + hint)


def require_admin(caller: apiauth.Caller, what: str) -> None:
    if caller.role != "admin":
        raise apiauth.AuthError(
            "PERMISSION_DENIED",
            f"token {caller.name!r} has role {caller.role}: {what} needs an admin token "
            "(`cloud-hub api tokens create --role admin`)",
        )


# -- conversions -------------------------------------------------------------------------------


def _family(name: str) -> str:
    return next((m for m, names in FAMILIES.items() if name in names), name)


def _version_message(v: ModelVersion) -> hub_pb2.ModelVersion:
    m = v.manifest
    out = hub_pb2.ModelVersion(
        name=v.name, model=_family(v.name), version=v.version,
        status=_MODEL_STATUS.get(v.status, 0), parent_version=v.parent_version,
        training_window_start=m.get("trainingWindowStart", ""),
        training_window_end=m.get("trainingWindowEnd", ""),
        training_rows=int(m.get("trainingRows", 0)),
        metrics={k: float(x) for k, x in m.get("metrics", {}).items()},
        sha256=v.sha256, feature_spec_hash=m.get("featureSpecHash", ""), key_id=v.key_id,
        provenance=m.get("provenance", ""),
    )  # fmt: skip
    _set_ts(out, "create_time", v.created_at)
    _set_ts(out, "status_time", v.status_at)
    return out


def _rollout_message(r: dict[str, Any]) -> hub_pb2.Rollout:
    out = hub_pb2.Rollout(
        rollout_id=r["id"], model=r["model"], version=r["version"],
        state=_ROLLOUT_STATE.get(r["state"], 0), ring=r["ring"], forced=bool(r["forced"]),
        actor=r["actor"], reason=r["reason"] or "",
    )  # fmt: skip
    _set_ts(out, "ring_offer_time", r["ring_offered_at"])
    _set_ts(out, "start_time", r["started_at"])
    _set_ts(out, "update_time", r["updated_at"])
    return out


def _run_message(run: dict[str, Any]) -> hub_pb2.TrainingRun:
    result = run["result"]
    numbers = result.get("metrics", {})
    out = hub_pb2.TrainingRun(
        run_id=run["id"], model=run["model"], state=_RUN_STATE.get(run["state"], 0),
        progress=run["progress"], actor=run["actor"], version=run["version"],
        promoted=run["promoted"], reasons=result.get("reasons", []),
        metrics_json=json.dumps(numbers, sort_keys=True) if numbers else "",
        error=run["error"],
    )  # fmt: skip
    challenger, champion = numbers.get("challenger") or {}, numbers.get("champion") or {}
    if isinstance(challenger.get("error"), int | float):
        out.challenger_error = challenger["error"]
    if isinstance(champion.get("error"), int | float):
        out.champion_error = champion["error"]
    _set_ts(out, "create_time", run["created_at"])
    _set_ts(out, "start_time", run["started_at"])
    _set_ts(out, "end_time", run["finished_at"])
    return out


# -- reads of the rollout tables ---------------------------------------------------------------

_ROLLOUT_COLUMNS = ("id", "model", "version", "state", "ring", "ring_offered_at", "forced",
                    "actor", "reason", "started_at", "updated_at")  # fmt: skip


def _rollouts(conn: sqlite3.Connection, where: str, args: tuple, limit: int) -> list[dict]:
    try:
        rows = conn.execute(f"SELECT {', '.join(_ROLLOUT_COLUMNS)} FROM rollouts WHERE {where} "
                            "ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()  # fmt: skip
    except sqlite3.OperationalError:  # no rollout was ever started: no table yet
        return []
    return [dict(zip(_ROLLOUT_COLUMNS, row, strict=True)) for row in rows]


def _rollout_stores(conn: sqlite3.Connection, rollout_id: int) -> list[tuple]:
    return conn.execute(
        "SELECT store_id, ring, status, previous_version, detail FROM rollout_stores "
        "WHERE rollout_id = ? ORDER BY store_id", (rollout_id,)).fetchall()  # fmt: skip


def _passed_gates(conn: sqlite3.Connection, rollout: dict[str, Any]) -> dict[str, dict]:
    """ring -> the audited gate of each ring this rollout passed (by the gate or by hand)."""
    subject = f"{rollout['model']}@{rollout['version']}"
    found: dict[str, dict] = {}
    for record in hub_audit.records(conn, subject=subject, limit=1000):
        detail = record["detail"]
        if (record["action"] in ("rollout.ring_passed", "rollout.completed")
                and detail.get("rollout") == rollout["id"]):  # fmt: skip
            found.setdefault(
                detail.get("ring", ""),
                {"actor": record["actor"], "numbers": detail.get("gate", {})},
            )
    return found


# -- the servicer ------------------------------------------------------------------------------


class ModelsHubApi(HubApi):
    """HubService with the models, rollouts and training calls."""

    def prepare(self) -> int:
        """Also: the shipped models registered as first champions (as `cloud-hub train`
        does on first use), so the registry the API shows is never empty."""
        added = super().prepare()
        with self._registry() as registry:
            registry.ensure_bootstrap(actor="cloud-hub")
        training_runs.ensure_schema(self._conn())
        return added

    def _registry(self) -> ModelRegistry:
        assert self.settings.db is not None
        return ModelRegistry(self.settings.db, self.settings.signing_folder())

    async def _registry_work(self, work: Callable[[ModelRegistry], T]) -> T:
        def run() -> T:
            with self._registry() as registry:
                return work(registry)

        return await asyncio.to_thread(run)

    async def _change(
        self,
        context: grpc.aio.ServicerContext,
        method: str,
        target: str,
        reason: str,
        work: Callable[[apiauth.Caller], Awaitable[tuple[T, str]]],
    ) -> T:
        """An admin's change: checked, done, and recorded with the caller's name (refused
        ones too), as approvals are. ``work`` returns (the result, what to record)."""
        caller = await self._caller(context)
        try:
            require_admin(caller, method)
            try:
                result, detail = await work(caller)
            except HubError as exc:  # a library refusal not checked above: said as it is
                raise _precondition(exc) from None
        except (ApiError, apiauth.AuthError) as exc:
            code = exc.code if isinstance(exc.code, str) else exc.code.name
            message = exc.message
            await self._db(lambda conn: apiauth.TokenStore(conn=conn).record_call(
                caller.name, method, target, code, message))  # fmt: skip
            raise
        note = f"{detail}; reason: {reason}" if reason else detail
        await self._db(lambda conn: apiauth.TokenStore(conn=conn).record_call(
            caller.name, method, target, "OK", note))  # fmt: skip
        return result

    def _js(self, what: str) -> Any:
        nc = self.nats()
        if nc is None or not getattr(nc, "is_connected", False):
            raise ApiError(
                grpc.StatusCode.UNAVAILABLE,
                f"the hub is not connected to NATS right now, so it cannot {what}: "
                "retry shortly (`cloud-hub status` and the hub's log say why)",
            )
        return nc.jetstream()

    # -- models -------------------------------------------------------------------------------
    @_unary
    async def ListModelVersions(self, request, context):
        await self._caller(context)
        size = _page_size(request.page_size)
        model = ""
        if request.model:
            model = _model("model", request.model, allowed=(*FAMILIES, *_ARTIFACTS),
                           what="model")  # fmt: skip
        status = request.status
        if status not in hub_pb2.ModelVersionStatus.values():
            raise invalid("status", f"{status} is not a ModelVersionStatus value")
        filters = ("models", model, status)
        after = _PageToken.read_tuple(request.page_token, filters, 3)
        versions = await self._registry_work(lambda r: r.list(model or None))
        if status:
            versions = [v for v in versions if _MODEL_STATUS.get(v.status) == status]
        keys = [(v.name, v.created_at, v.version) for v in versions]
        if after is not None:  # the registry lists by name, created_at, version
            versions = [v for v, k in zip(versions, keys, strict=True) if k > after]
        response = hub_pb2.ListModelVersionsResponse(
            model_versions=[_version_message(v) for v in versions[:size]]
        )
        if len(versions) > size:
            last = versions[size - 1]
            response.next_page_token = _PageToken.make_tuple(
                [last.name, last.created_at, last.version], filters
            )
        return response

    @_unary
    async def GetModelVersion(self, request, context):
        await self._caller(context)
        model = _model("model", request.model, allowed=(*FAMILIES, *_ARTIFACTS), what="model")
        version = _version(request.version)
        names = FAMILIES.get(model, (model,))
        found = await self._registry_work(
            lambda r: [v for v in r.list(model) if v.version == version]
        )
        if not found:
            raise ApiError(grpc.StatusCode.NOT_FOUND,
                           f"model {model} has no version {version!r}: ListModelVersions with "
                           f"model {model} shows its versions")  # fmt: skip
        order = {n: i for i, n in enumerate(names)}
        found.sort(key=lambda v: order.get(v.name, 0))
        return hub_pb2.GetModelVersionResponse(artifacts=[_version_message(v) for v in found])

    @_unary
    async def PromoteModelVersion(self, request, context):
        from models.features import FEATURE_SPEC_HASH  # what the stores' agents compute

        async def work(caller: apiauth.Caller) -> tuple[list, str]:
            model = _model("model", request.model, allowed=tuple(FAMILIES), what="model")
            version = _version(request.version)
            reason = _optional_reason(request.reason)

            def promote(registry: ModelRegistry) -> list[ModelVersion]:
                current = [v for v in registry.list(model) if v.version == version]
                if len(current) < len(FAMILIES[model]):
                    raise ApiError(grpc.StatusCode.NOT_FOUND,
                                   f"model {model} has no version {version!r} (of every "
                                   f"artifact {', '.join(FAMILIES[model])}): ListModelVersions "
                                   "shows its versions")  # fmt: skip
                stale = [v for v in current
                         if v.manifest.get("featureSpecHash") != FEATURE_SPEC_HASH]  # fmt: skip
                if stale:
                    v = stale[0]
                    raise ApiError(grpc.StatusCode.FAILED_PRECONDITION,
                                   f"model {model} {version}: {v.name} expects feature spec "
                                   f"{v.manifest.get('featureSpecHash') or '(none)'} but this "
                                   f"release computes {FEATURE_SPEC_HASH}: stores would refuse "
                                   "it; train a new version")  # fmt: skip
                if all(v.status == "champion" for v in current):
                    raise ApiError(
                        grpc.StatusCode.FAILED_PRECONDITION,
                        f"model {model} {version} is the champion already",
                    )
                return registry.promote(model, version, actor=caller.name, reason=reason,
                                        detail={"via": "api"})  # fmt: skip

            try:
                champions = await self._registry_work(promote)
            except HubError as exc:
                raise _precondition(exc) from None
            return champions, f"{model} champion {version}"

        target = f"{request.model or '-'}@{request.version or '-'}"
        champions = await self._change(context, "PromoteModelVersion", target, request.reason,
                                       work)  # fmt: skip
        return hub_pb2.PromoteModelVersionResponse(
            champions=[_version_message(v) for v in champions]
        )

    @_unary
    async def RollbackModel(self, request, context):
        async def work(caller: apiauth.Caller) -> tuple[list, str]:
            model = _model("model", request.model, allowed=tuple(FAMILIES), what="model")
            reason = _optional_reason(request.reason)
            try:
                champions = await self._registry_work(
                    lambda r: r.rollback(model, actor=caller.name, reason=reason)
                )
            except HubError as exc:  # no champion, nothing to roll back to
                raise _precondition(exc) from None
            return champions, f"{model} champion {champions[0].version}"

        champions = await self._change(context, "RollbackModel", request.model or "-",
                                       request.reason, work)  # fmt: skip
        return hub_pb2.RollbackModelResponse(champions=[_version_message(v) for v in champions])

    # -- rollouts -----------------------------------------------------------------------------
    @_unary
    async def StartRollout(self, request, context):
        async def work(caller: apiauth.Caller) -> tuple[dict, str]:
            model = _model("model", request.model, allowed=_ARTIFACTS, what="model artifact")
            version = _version(request.version)
            _optional_reason(request.reason)

            def known(registry: ModelRegistry) -> bool:
                return any(v.version == version for v in registry.list(model))

            if not await self._registry_work(known):
                raise ApiError(grpc.StatusCode.NOT_FOUND,
                               f"model {model} has no version {version!r} in the hub's "
                               "registry: ListModelVersions shows its versions")  # fmt: skip
            js = self._js("publish the version")
            assert self.settings.db is not None
            with self._registry() as registry:
                try:
                    rollout = await rollouts.start(js, self.settings.db,
                                                   rollouts.RegistrySource(registry), model,
                                                   version, actor=caller.name,
                                                   force=request.force)  # fmt: skip
                except HubError as exc:  # not promoted, another rollout active, ...
                    raise _precondition(exc) from None
            forced = " forced" if rollout["forced"] else ""
            return rollout, f"rollout {rollout['id']}{forced}"

        target = f"{request.model or '-'}@{request.version or '-'}"
        rollout = await self._change(context, "StartRollout", target, request.reason, work)
        return hub_pb2.StartRolloutResponse(rollout=_rollout_message(rollout))

    async def _set_state(self, context, method: str, action: str, model_field: str,
                         reason: str) -> dict[str, Any]:  # fmt: skip
        async def work(caller: apiauth.Caller) -> tuple[dict, str]:
            model = _model("model", model_field, allowed=_ARTIFACTS, what="model artifact")
            _optional_reason(reason)
            js = self._js("roll stores back") if action == "rollback" else None
            assert self.settings.db is not None
            try:
                rollout = await rollouts.set_state(js, self.settings.db, model, action,
                                                   actor=caller.name)  # fmt: skip
            except HubError as exc:  # none active, or not in the state the action needs
                raise _precondition(exc) from None
            return rollout, f"rollout {rollout['id']} {rollout['state']}"

        return await self._change(context, method, model_field or "-", reason, work)

    @_unary
    async def PauseRollout(self, request, context):
        rollout = await self._set_state(context, "PauseRollout", "pause", request.model,
                                        request.reason)  # fmt: skip
        return hub_pb2.PauseRolloutResponse(rollout=_rollout_message(rollout))

    @_unary
    async def ResumeRollout(self, request, context):
        rollout = await self._set_state(context, "ResumeRollout", "resume", request.model,
                                        request.reason)  # fmt: skip
        return hub_pb2.ResumeRolloutResponse(rollout=_rollout_message(rollout))

    @_unary
    async def RollbackRollout(self, request, context):
        rollout = await self._set_state(context, "RollbackRollout", "rollback", request.model,
                                        request.reason)  # fmt: skip
        return hub_pb2.RollbackRolloutResponse(rollout=_rollout_message(rollout))

    @_unary
    async def AdvanceRollout(self, request, context):
        async def work(caller: apiauth.Caller) -> tuple[dict, str]:
            model = _model("model", request.model, allowed=_ARTIFACTS, what="model artifact")
            reason = _optional_reason(request.reason)
            if not reason:
                raise invalid("reason", "is required: say why the gate is passed by hand "
                              "(it is audited)")  # fmt: skip
            assert self.settings.db is not None
            db = self.settings.db
            try:
                change = await asyncio.to_thread(
                    rollouts.pass_gate_by_operator, db, model, self.settings, actor=caller.name,
                    reason=reason)  # fmt: skip
            except HubError as exc:
                raise _precondition(exc) from None
            rows = await self._db(lambda conn: _rollouts(conn, "id = ?", (change["rollout"],), 1))
            return rows[0], f"rollout {change['rollout']} now {change['state']} at {change['ring']}"

        rollout = await self._change(context, "AdvanceRollout", request.model or "-",
                                     request.reason, work)  # fmt: skip
        return hub_pb2.AdvanceRolloutResponse(rollout=_rollout_message(rollout))

    @_unary
    async def ListRollouts(self, request, context):
        await self._caller(context)
        size = _page_size(request.page_size)
        model = ""
        if request.model:
            model = _model("model", request.model, allowed=_ARTIFACTS, what="model artifact")
        if request.state not in hub_pb2.RolloutState.values():
            raise invalid("state", f"{request.state} is not a RolloutState value")
        state = next((k for k, v in _ROLLOUT_STATE.items() if v == request.state), "")
        filters = ("rollouts", model, state)
        before = _PageToken.read_int(request.page_token, filters)
        rows = await self._db(lambda conn: _rollouts(
            conn, "(? = '' OR model = ?) AND (? = '' OR state = ?) AND (? IS NULL OR id < ?)",
            (model, model, state, state, before, before), size + 1))  # fmt: skip
        response = hub_pb2.ListRolloutsResponse(rollouts=[_rollout_message(r) for r in rows[:size]])
        if len(rows) > size:
            response.next_page_token = _PageToken.make(str(rows[size - 1]["id"]), filters)
        return response

    @_unary
    async def GetRolloutStatus(self, request, context):
        await self._caller(context)
        if request.rollout_id < 0:
            raise invalid("rollout_id", f"{request.rollout_id} is not a rollout id")
        if request.rollout_id:
            rows = await self._db(lambda conn: _rollouts(conn, "id = ?", (request.rollout_id,), 1))
            what = f"rollout {request.rollout_id}"
        elif request.model:
            model = _model("model", request.model, allowed=_ARTIFACTS, what="model artifact")
            rows = await self._db(lambda conn: _rollouts(conn, "model = ?", (model,), 1))
            what = f"a rollout of {model}"
        else:
            raise invalid("rollout_id", "give rollout_id or model")
        if not rows:
            raise ApiError(grpc.StatusCode.NOT_FOUND,
                           f"the hub has no {what}: ListRollouts lists them")  # fmt: skip
        rollout = rows[0]
        assert self.settings.db is not None
        db: Path = self.settings.db

        def read(conn: sqlite3.Connection) -> tuple[list, dict]:
            return _rollout_stores(conn, rollout["id"]), _passed_gates(conn, rollout)

        stores, passed = await self._db(read)
        reports = {
            r["store_id"]: r
            for r in await asyncio.to_thread(distribution.swap_reports, db)
            if r["model"] == rollout["model"] and r["version"] == rollout["version"]
        }
        gate = None
        if rollout["state"] == "running" and rollout["ring_offered_at"] is not None:
            gate = await asyncio.to_thread(rollouts.evaluate_gate, db, rollout, self.settings)
        return _status_message(rollout, stores, reports, passed, gate)

    # -- training -----------------------------------------------------------------------------
    @_unary
    async def StartTraining(self, request, context):
        async def work(caller: apiauth.Caller) -> tuple[dict, str]:
            model = _model("model", request.model, allowed=tuple(FAMILIES), what="model")

            def queue(conn: sqlite3.Connection) -> tuple[dict, bool]:
                training_runs.ensure_schema(conn)
                return training_runs.queue(conn, model, actor=caller.name)

            run, created = await self._db(queue)
            if not created:
                raise ApiError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"model {model} has a training run {run['state']} already: run "
                               f"{run['id']} (GetTrainingRun); start another when it has "
                               "ended")  # fmt: skip
            return run, f"training run {run['id']}"

        run = await self._change(context, "StartTraining", request.model or "-", "", work)
        return hub_pb2.StartTrainingResponse(run=_run_message(run))

    @_unary
    async def GetTrainingRun(self, request, context):
        await self._caller(context)
        if request.run_id <= 0:
            raise invalid("run_id", "is required: the id StartTraining returned")

        def read(conn: sqlite3.Connection) -> dict | None:
            training_runs.ensure_schema(conn)
            return training_runs.get(conn, request.run_id)

        run = await self._db(read)
        if run is None:
            raise ApiError(grpc.StatusCode.NOT_FOUND,
                           f"the hub has no training run {request.run_id}: ListTrainingRuns "
                           "lists them")  # fmt: skip
        return hub_pb2.GetTrainingRunResponse(run=_run_message(run))

    @_unary
    async def ListTrainingRuns(self, request, context):
        await self._caller(context)
        size = _page_size(request.page_size)
        model = ""
        if request.model:
            model = _model("model", request.model, allowed=tuple(FAMILIES), what="model")
        filters = ("training", model)
        before = _PageToken.read_int(request.page_token, filters)

        def read(conn: sqlite3.Connection) -> list[dict]:
            training_runs.ensure_schema(conn)
            return training_runs.list_runs(conn, model=model, before_id=before, limit=size + 1)

        runs = await self._db(read)
        response = hub_pb2.ListTrainingRunsResponse(runs=[_run_message(r) for r in runs[:size]])
        if len(runs) > size:
            response.next_page_token = _PageToken.make(str(runs[size - 1]["id"]), filters)
        return response


def _status_message(
    rollout: dict[str, Any],
    stores: list[tuple],
    reports: dict[str, dict],
    passed: dict[str, dict],
    gate: Any,
) -> hub_pb2.GetRolloutStatusResponse:
    response = hub_pb2.GetRolloutStatusResponse(rollout=_rollout_message(rollout))
    counts = {ring: hub_pb2.RolloutRing(ring=ring) for ring in rollouts.RINGS}
    for store_id, ring, status, previous, detail in stores:
        report = reports.get(store_id, {}) if status != "skipped" else {}
        outcome = report.get("outcome")
        swap = {"applied": hub_pb2.SWAP_OUTCOME_APPLIED,
                "refused": hub_pb2.SWAP_OUTCOME_REFUSED}.get(outcome or "", 0)  # fmt: skip
        why = (report.get("reason") or "") if outcome == "refused" else ""
        response.stores.append(hub_pb2.RolloutStore(
            store_id=store_id, ring=ring, status=_STORE_STATUS.get(status, 0), swap=swap,
            previous_version=previous, detail=detail or why))  # fmt: skip
        counts.setdefault(ring, hub_pb2.RolloutRing(ring=ring))
        row = counts[ring]
        if status == "skipped":
            row.skipped += 1
            continue
        row.offered += 1
        row.applied += outcome == "applied"
        row.refused += outcome == "refused"
        row.rolled_back += status == "rolled_back"
    for ring, row in counts.items():
        if ring in passed:
            row.gate_verdict = "passed"
            row.gate_reason = f"passed ({passed[ring]['actor']})"
            row.gate_numbers_json = json.dumps(passed[ring]["numbers"], sort_keys=True,
                                               default=str)  # fmt: skip
        elif ring == rollout["ring"] and gate is not None:
            row.gate_verdict, row.gate_reason = gate.verdict, gate.reason
            row.gate_numbers_json = json.dumps(gate.numbers, sort_keys=True, default=str)
        elif ring == rollout["ring"] and rollout["state"] in ("rolled_back", "failed"):
            row.gate_verdict, row.gate_reason = "fail", rollout["reason"] or rollout["state"]
    response.rings.extend(counts.values())
    return response
