"""The hub's gRPC API (``storeedge.hub.v1.HubService``), served by ``cloud-hub serve``
beside ingest when ``grpc_address`` (``--grpc HOST:PORT``) is set.

- **Conventions**: the standard health service (``grpc.health.v1.Health``, overall and
  per service) and server reflection, so grpcurl and any language's client work
  without our files; status codes NOT_FOUND, INVALID_ARGUMENT (the message names the
  field), FAILED_PRECONDITION, PERMISSION_DENIED, UNAUTHENTICATED, UNAVAILABLE,
  DEADLINE_EXCEEDED, each with a message that says what to do; deadlines are checked
  before any approval is sent; SIGTERM: health goes NOT_SERVING, watches end, calls in
  flight get ``api_shutdown_grace_s``.
- **Security on by default**: every HubService call needs a token (metadata
  ``authorization: Bearer <token>``, :mod:`cloud_hub.apiauth`); ``api_auth = false``
  (``--no-api-auth``) is for development and logged as a warning at start. TLS is
  required on any address but loopback (plaintext on loopback is logged).
- **Approvals** go to the store exactly like ``cloud-hub decisions approve``:
  :func:`cloud_hub.downlink.send_approval` records the request (actor: the token's
  name) and publishes it; the store applies or refuses it and answers. At most one
  approval per decision is taken through the API: the first call claims it, a
  concurrent or later one gets FAILED_PRECONDITION. Every mutating call, refused ones
  included, is recorded in ``api_calls`` and the hub's hash-chained audit log
  (:mod:`cloud_hub.hub_audit`) with the caller's token name.
- **Data**: reads go through :mod:`cloud_hub.api_queries` on a connection per worker
  thread (SQLite work never runs on the event loop that also runs ingest).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import hashlib
import ipaddress
import json
import logging
import math
import re
import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from cloud_hub import api_queries, apiauth, decision_index, hubdb, outcomes
from cloud_hub.config import HubSettings
from cloud_hub.downlink import send_approval
from cloud_hub.errors import HubConfigError
from cloud_hub.registry import Registry
from cloud_hub.storage import SqliteHubStorage, open_storage
from storeedge.hub.v1 import hub_pb2, hub_pb2_grpc
from storeedge.ids import parse_record_id
from storeedge.v1 import audit_pb2, common_pb2, decision_pb2

__all__ = ["ApiServer", "check_settings", "parse_address"]

log = logging.getLogger("storeedge.hub.api")

SERVICE = hub_pb2.DESCRIPTOR.services_by_name["HubService"].full_name
MAX_PAGE = 500
DEFAULT_PAGE = 100
WATCH_POLL_S = 0.5
SEND_TIMEOUT_S = 10.0
_STORE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_REGISTRY_STATUS = {
    "active": hub_pb2.REGISTRY_STATUS_ACTIVE,
    "revoked": hub_pb2.REGISTRY_STATUS_REVOKED,
    "unregistered": hub_pb2.REGISTRY_STATUS_UNREGISTERED,
}
_CHAIN_STATUS = {
    "ok": hub_pb2.CHAIN_STATUS_OK,
    "gap": hub_pb2.CHAIN_STATUS_GAP,
    "broken": hub_pb2.CHAIN_STATUS_BROKEN,
    "empty": hub_pb2.CHAIN_STATUS_EMPTY,
}
_APPROVAL_STATUS = {
    "sent": hub_pb2.APPROVAL_STATUS_SENT,
    "applied": hub_pb2.APPROVAL_STATUS_APPLIED,
    "refused": hub_pb2.APPROVAL_STATUS_REFUSED,
}
_ACTIONS = {
    "approve": hub_pb2.APPROVAL_ACTION_APPROVE,
    "reject": hub_pb2.APPROVAL_ACTION_REJECT,
    "override": hub_pb2.APPROVAL_ACTION_OVERRIDE,
}
_CODES = {
    "UNAUTHENTICATED": grpc.StatusCode.UNAUTHENTICATED,
    "PERMISSION_DENIED": grpc.StatusCode.PERMISSION_DENIED,
}
T = TypeVar("T")


class ApiError(Exception):
    """A call ends with this status code and message."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(field: str, message: str) -> ApiError:
    return ApiError(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: {message}")


# -- settings ----------------------------------------------------------------------------------


def parse_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` -> (host, port)."""
    host, _, port = address.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not port.isdigit() or int(port) > 65535:
        raise HubConfigError(
            f"grpc_address: {address!r} is not HOST:PORT", hint="e.g. --grpc 127.0.0.1:50051"
        )
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_settings(settings: HubSettings) -> None:
    """Refuse an API configuration that is unsafe or cannot work, naming the field."""
    if settings.grpc_address is None:
        return
    host, _port = parse_address(settings.grpc_address)
    cert, key = settings.api_tls_cert, settings.api_tls_key
    if (cert is None) != (key is None):
        raise HubConfigError(
            "api_tls_cert, api_tls_key: give both or neither",
            hint="`cloud-hub tls generate --out tls --host HOST` writes server.pem and server.key",
        )
    if cert is None and not is_loopback(host):
        raise HubConfigError(
            f"grpc_address: {settings.grpc_address} is not a loopback address, so the API "
            "needs TLS: api_tls_cert and api_tls_key are not set",
            hint="`cloud-hub tls generate --out tls --host HOST`, then --api-tls-cert "
            "tls/server.pem --api-tls-key tls/server.key (plaintext is for 127.0.0.1 only)",
        )
    if settings.api_tls_client_ca is not None and cert is None:
        raise HubConfigError(
            "api_tls_client_ca: mutual TLS needs api_tls_cert and api_tls_key too",
            hint="give the server's certificate and key as well",
        )
    for name in ("api_tls_cert", "api_tls_key", "api_tls_client_ca"):
        path = getattr(settings, name)
        if path is not None and not Path(path).is_file():
            raise HubConfigError(f"{name}: no file at {path}", hint="check the path")


# -- conversions -------------------------------------------------------------------------------


def _ts(text: str | None) -> Timestamp | None:
    if not text:
        return None
    ts = Timestamp()
    ts.FromDatetime(datetime.fromisoformat(text.replace("Z", "+00:00")))
    return ts


def _set_ts(message: Message, field: str, text: str | None) -> None:
    ts = _ts(text)
    if ts is not None:
        getattr(message, field).CopyFrom(ts)


def _store_message(doc: dict[str, Any]) -> hub_pb2.Store:
    store = hub_pb2.Store(
        store_id=doc["store_id"],
        ring=doc["ring"],
        region=doc["region"],
        time_zone=doc["time_zone"],
        registry_status=_REGISTRY_STATUS.get(doc["registry_status"], 0),
        agent_version=doc["agent_version"],
        chain_status=_CHAIN_STATUS[doc["chain_status"]],
        chain_length=doc["chain_length"],
        chain_head=doc["chain_head"],
        records_received=doc["received"],
        outbox_backlog=doc["backlog"],
        model_versions=doc["model_versions"],
        chain_epoch=doc["chain_epoch"],
        quarantined=doc["quarantined"],
    )
    _set_ts(store, "last_heartbeat_time", doc["last_heartbeat"])
    _set_ts(store, "last_seen_time", doc["last_seen"])
    return store


def _decision_message(doc: dict[str, Any]) -> hub_pb2.Decision:
    d: decision_pb2.Decision = doc["message"]
    out = hub_pb2.Decision(
        decision_id=doc["decision_id"],
        store_id=doc["store_id"],
        kind=int(d.kind),
        state=int(doc["state"]),
        business_date=d.business_date,
        sku=d.sku,
        category=d.category,
        quantity=d.quantity,
        value=d.value,
        confidence=d.confidence,
        model_name=d.model_name,
        model_version=d.model_version,
        rule=d.rule,
        supersedes_id=d.supersedes_id,
        reason=d.reason,
        hour=d.staffing.hour if d.HasField("staffing") else 0,
        supplier=d.order.supplier if d.HasField("order") else "",
        state_actor=doc["state_actor"] or "",
    )
    if d.HasField("recorded_at"):
        out.create_time.CopyFrom(d.recorded_at)
    if d.HasField("expires_at"):
        out.expire_time.CopyFrom(d.expires_at)
    _set_ts(out, "state_change_time", doc["state_changed_at"])
    return out


def _approval_message(doc: dict[str, Any]) -> hub_pb2.Approval:
    out = hub_pb2.Approval(
        request_id=doc["request_id"],
        action=_ACTIONS.get(doc["action"], 0),
        quantity=doc["quantity"] or 0.0,
        actor=doc["actor"],
        reason=doc["reason"],
        status=_APPROVAL_STATUS.get(doc["status"], 0),
        result_state=doc["state"] or "",
        result_reason=doc["result_reason"] or "",
    )
    _set_ts(out, "request_time", doc["requested_at"])
    _set_ts(out, "answer_time", doc["answered_at"])
    return out


def _event_name(event_type: int) -> str:
    name = audit_pb2.AuditEventType.Name(event_type)
    return name.removeprefix("AUDIT_EVENT_TYPE_")


# -- validation --------------------------------------------------------------------------------


def _page_size(value: int) -> int:
    if value < 0 or value > MAX_PAGE:
        raise invalid(
            "page_size", f"{value} is outside 0..{MAX_PAGE} (0 means {DEFAULT_PAGE}); ask for "
            f"at most {MAX_PAGE} and follow next_page_token"
        )  # fmt: skip
    return value or DEFAULT_PAGE


def _store_id(field: str, value: str, *, required: bool) -> str:
    if not value:
        if required:
            raise invalid(field, "is required, e.g. S001")
        return ""
    if not _STORE_ID.match(value):
        raise invalid(field, f"{value!r} is not a store id (letters, digits, _ and -)")
    return value


def _date(field: str, value: str) -> str:
    if not value:
        return ""
    try:
        date.fromisoformat(value)
    except ValueError:
        raise invalid(field, f"{value!r} is not a date YYYY-MM-DD") from None
    if len(value) != 10:
        raise invalid(field, f"{value!r} is not a date YYYY-MM-DD")
    return value


def _enum(field: str, value: int, enum: Any) -> int:
    if value not in enum.values():
        raise invalid(field, f"{value} is not a {enum.DESCRIPTOR.name} value")
    return value


def _decision_id(value: str) -> str:
    if not value:
        raise invalid("decision_id", "is required, e.g. S001:decision:17")
    try:
        rid = parse_record_id(value)
    except ValueError as exc:
        raise invalid("decision_id", str(exc)) from None
    if rid.record_type != common_pb2.RECORD_TYPE_DECISION:
        raise invalid("decision_id", f"{value!r} is not a decision id (S001:decision:17)")
    return value


def _reason(value: str) -> str:
    if not value.strip():
        raise invalid("reason", "is required: say why (it is audited at the store and the hub)")
    if len(value) > 500:
        raise invalid("reason", f"is {len(value)} characters; keep it under 500")
    return value.strip()


class _PageToken:
    """Opaque page tokens: the last key, tied to the filters it was made with."""

    @staticmethod
    def _digest(filters: tuple) -> str:
        return hashlib.sha256(repr(filters).encode()).hexdigest()[:12]

    @classmethod
    def make(cls, key: str, filters: tuple) -> str:
        return base64.urlsafe_b64encode(json.dumps([key, cls._digest(filters)]).encode()).decode()

    @classmethod
    def read(cls, token: str, filters: tuple) -> str | None:
        if not token:
            return None
        try:
            key, digest = json.loads(base64.urlsafe_b64decode(token.encode()))
        except (ValueError, binascii.Error, TypeError):
            raise invalid(
                "page_token",
                "is not a token this server made: pass next_page_token from the previous "
                "page unchanged",
            ) from None
        if digest != cls._digest(filters):
            raise invalid(
                "page_token",
                "was made for other filters: keep the filters the same while paging, or "
                "start again without a token",
            )
        return str(key)

    @classmethod
    def read_int(cls, token: str, filters: tuple) -> int | None:
        """A token whose key is a number (an ix, a seq, a row id)."""
        key = cls.read(token, filters)
        if key is not None and not key.isdigit():
            raise invalid("page_token", "is not a token this server made")
        return None if key is None else int(key)

    @classmethod
    def make_tuple(cls, parts: Sequence[Any], filters: tuple) -> str:
        return cls.make(json.dumps([str(p) for p in parts]), filters)

    @classmethod
    def read_tuple(cls, token: str, filters: tuple, length: int) -> tuple[str, ...] | None:
        """A token whose key is ``length`` strings (a composite sort key)."""
        key = cls.read(token, filters)
        if key is None:
            return None
        try:
            parts = tuple(str(k) for k in json.loads(key))
        except (ValueError, TypeError):
            parts = ()
        if len(parts) != length:
            raise invalid("page_token", "is not a token this server made")
        return parts


# -- the servicer ------------------------------------------------------------------------------


def _unary(method: Callable[..., Any]) -> Callable[..., Any]:
    """Map ApiError (and anything unexpected) to a status; check the deadline first."""

    @functools.wraps(method)
    async def handler(self: HubApi, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            _check_deadline(context)
            return await method(self, request, context)
        except ApiError as exc:
            await context.abort(exc.code, exc.message)
        except apiauth.AuthError as exc:
            await context.abort(_CODES[exc.code], exc.message)
        except (asyncio.CancelledError, grpc.aio.AbortError):
            raise
        except Exception:
            log.exception("%s failed", method.__name__)
            await context.abort(grpc.StatusCode.INTERNAL, "internal error: see the hub's log")

    return handler


def _check_deadline(context: grpc.aio.ServicerContext) -> None:
    remaining = context.time_remaining()
    if remaining is not None and remaining <= 0:
        raise ApiError(grpc.StatusCode.DEADLINE_EXCEEDED, "the call's deadline passed")


class HubApi(hub_pb2_grpc.HubServiceServicer):
    def __init__(self, settings: HubSettings, *, nats: Callable[[], Any]) -> None:
        assert settings.db is not None
        self.settings = settings
        self.db = settings.db
        self.nats = nats
        self.auth = settings.api_auth
        self.stopping = asyncio.Event()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._lock = threading.Lock()
        # send_approval records requests through a storage of the API's own (own connection).
        self.storage: SqliteHubStorage = open_storage(self.db)

    # -- database ---------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = hubdb.connect(self.db, check_same_thread=False)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    async def _db(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(lambda: work(self._conn()))

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self.storage.close()

    def prepare(self) -> int:
        """Tables the API needs, and the decision index brought up to date."""
        with Registry(self.db):
            pass  # creates the registry tables when the hub never registered a store
        conn = self._conn()
        apiauth.ensure_schema(conn)
        with hubdb.immediate(conn):
            return decision_index.backfill(conn)

    # -- who is calling ---------------------------------------------------------------------
    async def _caller(self, context: grpc.aio.ServicerContext) -> apiauth.Caller:
        if not self.auth:
            return apiauth.Caller("no-api-auth", "admin", (apiauth.ALL_REGIONS,))
        token = None
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                scheme, _, rest = str(value).partition(" ")
                token = rest.strip() if scheme.lower() == "bearer" else None
        # The token is read on the event loop thread's own connection (one indexed row; WAL
        # readers never wait), not through a worker thread: one thread hop less per call.
        # Its last-used mark, a write that may wait for ingest's lock, goes to a worker.
        caller, due = apiauth.TokenStore(conn=self._conn()).check(token)
        if due is not None:
            marking = asyncio.create_task(
                self._db(lambda conn: apiauth.TokenStore(conn=conn).mark_used(due))
            )
            self._background.add(marking)
            marking.add_done_callback(self._background.discard)
        return caller

    # -- fleet ------------------------------------------------------------------------------
    @_unary
    async def ListStores(self, request, context):
        await self._caller(context)
        size = _page_size(request.page_size)
        filters = ("stores", request.ring, request.region)
        after = _PageToken.read(request.page_token, filters) or ""
        docs = await self._db(lambda conn: api_queries.stores(
            conn, after=after, limit=size + 1, ring=request.ring, region=request.region,
            gap_timeout_s=self.settings.chain_gap_timeout_s))  # fmt: skip
        response = hub_pb2.ListStoresResponse(stores=[_store_message(d) for d in docs[:size]])
        if len(docs) > size:
            response.next_page_token = _PageToken.make(docs[size - 1]["store_id"], filters)
        return response

    @_unary
    async def GetStore(self, request, context):
        await self._caller(context)
        doc = await self._store_state(request.store_id)
        return hub_pb2.GetStoreResponse(store=_store_message(doc))

    async def _store_state(self, raw_store_id: str) -> dict[str, Any]:
        """A store's status and verified chain; NOT_FOUND naming it if the hub has none."""
        store_id = _store_id("store_id", raw_store_id, required=True)
        doc = await self._db(lambda conn: api_queries.chain_state(
            conn, store_id, self.settings.chain_gap_timeout_s))  # fmt: skip
        if doc is None:
            raise _no_store(store_id)
        return doc

    # -- decisions --------------------------------------------------------------------------
    @_unary
    async def ListDecisions(self, request, context):
        await self._caller(context)
        size = _page_size(request.page_size)
        store_id = _store_id("store_id", request.store_id, required=False)
        kind = _enum("kind", request.kind, hub_pb2.DecisionKind)
        state = _enum("state", request.state, hub_pb2.DecisionState)
        date_from = _date("business_date_from", request.business_date_from)
        date_to = _date("business_date_to", request.business_date_to)
        if date_from and date_to and date_from > date_to:
            raise invalid("business_date_from", f"{date_from} is after business_date_to "
                          f"{date_to}")  # fmt: skip
        min_value = request.min_value if request.HasField("min_value") else None
        if min_value is not None and not math.isfinite(min_value):
            raise invalid("min_value", "must be a finite number")
        filters = ("decisions", store_id, kind, state, date_from, date_to, min_value)
        before = _PageToken.read_int(request.page_token, filters)
        docs = await self._db(lambda conn: api_queries.decisions(
            conn, before_ix=before, limit=size + 1, store_id=store_id, kind=kind, state=state,
            date_from=date_from, date_to=date_to, min_value=min_value))  # fmt: skip
        response = hub_pb2.ListDecisionsResponse(
            decisions=[_decision_message(d) for d in docs[:size]]
        )
        if len(docs) > size:
            response.next_page_token = _PageToken.make(str(docs[size - 1]["ix"]), filters)
        return response

    @_unary
    async def GetDecision(self, request, context):
        await self._caller(context)
        decision_id = _decision_id(request.decision_id)

        def read(conn: sqlite3.Connection) -> tuple[Any, list, list]:
            doc = api_queries.decision(conn, decision_id)
            if doc is None:
                return None, [], []
            trail = api_queries.audit_trail(conn, doc["store_id"], decision_id)
            return doc, trail, api_queries.approvals_for(conn, decision_id)

        doc, trail, approvals = await self._db(read)
        if doc is None:
            raise _no_decision(decision_id)
        response = hub_pb2.GetDecisionResponse(
            decision=_decision_message(doc),
            approvals=[_approval_message(a) for a in approvals],
        )
        response.audit_trail.extend(_audit_event(doc["store_id"], entry) for entry in trail)
        return response

    @_unary
    async def ApproveDecision(self, request, context):
        approval = await self._decide(context, "ApproveDecision", "approve", request.decision_id,
                                      request.reason, None)  # fmt: skip
        return hub_pb2.ApproveDecisionResponse(approval=approval)

    @_unary
    async def RejectDecision(self, request, context):
        approval = await self._decide(context, "RejectDecision", "reject", request.decision_id,
                                      request.reason, None)  # fmt: skip
        return hub_pb2.RejectDecisionResponse(approval=approval)

    @_unary
    async def OverrideDecision(self, request, context):
        approval = await self._decide(
            context, "OverrideDecision", "override", request.decision_id, request.reason,
            request.quantity,
        )  # fmt: skip
        return hub_pb2.OverrideDecisionResponse(approval=approval)

    async def _decide(
        self,
        context: grpc.aio.ServicerContext,
        method: str,
        action: str,
        raw_id: str,
        raw_reason: str,
        quantity: float | None,
    ) -> hub_pb2.Approval:
        caller = await self._caller(context)
        target = raw_id or "-"
        try:
            approval = await self._send_decision(context, caller, action, raw_id, raw_reason,
                                                 quantity)  # fmt: skip
        except (ApiError, apiauth.AuthError) as exc:
            code = exc.code if isinstance(exc.code, str) else exc.code.name
            message = exc.message
            await self._db(lambda conn: apiauth.TokenStore(conn=conn).record_call(
                caller.name, method, target, code, message))  # fmt: skip
            log.info("%s %s by %s: %s", method, target, caller.name, code)
            raise
        await self._db(lambda conn: apiauth.TokenStore(conn=conn).record_call(
            caller.name, method, target, "OK", approval.request_id))  # fmt: skip
        log.info("%s %s by %s: sent as %s", method, target, caller.name, approval.request_id)
        return approval

    async def _send_decision(
        self,
        context: grpc.aio.ServicerContext,
        caller: apiauth.Caller,
        action: str,
        raw_id: str,
        raw_reason: str,
        quantity: float | None,
    ) -> hub_pb2.Approval:
        caller.require_approver()
        decision_id = _decision_id(raw_id)
        reason = _reason(raw_reason)
        if quantity is not None and (not math.isfinite(quantity) or quantity <= 0):
            raise invalid("quantity", f"{quantity} is not a quantity above 0")

        def read(conn: sqlite3.Connection) -> tuple[Any, str | None]:
            doc = api_queries.decision(conn, decision_id)
            region = api_queries.region_of(conn, doc["store_id"]) if doc else None
            return doc, region

        doc, region = await self._db(read)
        if doc is None:
            raise _no_decision(decision_id)
        caller.check_scope(doc["store_id"], region, doc["message"].category)
        if doc["state"] != decision_pb2.DECISION_STATE_PENDING:
            state = decision_pb2.DecisionState.Name(doc["state"]).removeprefix("DECISION_STATE_")
            by = f" by {doc['state_actor']}" if doc["state_actor"] else ""
            raise ApiError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"decision {decision_id} is {state.lower()}{by} at its store: only pending "
                "decisions can be approved, rejected or overridden",
            )
        nc = self.nats()
        if nc is None or not getattr(nc, "is_connected", False):
            raise ApiError(
                grpc.StatusCode.UNAVAILABLE,
                "the hub is not connected to NATS right now, so nothing was sent: retry "
                "shortly (`cloud-hub status` and the hub's log say why)",
            )
        claim = await self._db(lambda conn: apiauth.TokenStore(conn=conn).claim(
            decision_id, caller.name, action))  # fmt: skip
        if claim is not None:
            sent = f" as {claim['request_id']}" if claim["request_id"] else ""
            raise ApiError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"decision {decision_id} already has a decision from the hub: {claim['action']} "
                f"by {claim['caller']} at {claim['claimed_at']}{sent}; GetDecision shows the "
                "store's answer",
            )
        try:
            remaining = context.time_remaining()
            if remaining is not None and remaining <= 0.05:
                raise ApiError(grpc.StatusCode.DEADLINE_EXCEEDED,
                               "the call's deadline passed before the approval was sent; "
                               "nothing was sent")  # fmt: skip
            timeout = SEND_TIMEOUT_S if remaining is None else min(SEND_TIMEOUT_S, remaining)
            request_id = await asyncio.wait_for(
                send_approval(nc, self.storage, decision_id, action, actor=caller.name,
                              reason=reason, quantity=quantity),
                timeout=timeout,
            )  # fmt: skip
        except BaseException as exc:
            # Not sent (or not confirmed): release the claim so the call can be retried. A
            # request that reached JetStream anyway is answered once by the store, which
            # refuses the second one as already decided.
            await asyncio.shield(self._db(lambda conn: apiauth.TokenStore(conn=conn).release(
                decision_id)))  # fmt: skip
            if isinstance(exc, ApiError | asyncio.CancelledError):
                raise
            if isinstance(exc, TimeoutError):
                raise ApiError(grpc.StatusCode.DEADLINE_EXCEEDED if remaining is not None
                               and remaining < SEND_TIMEOUT_S else grpc.StatusCode.UNAVAILABLE,
                               "JetStream did not confirm the approval in time; GetDecision "
                               "shows whether it was recorded, then retry") from None  # fmt: skip
            if isinstance(exc, Exception):
                log.warning("approval of %s not sent: %s", decision_id, exc)
                raise ApiError(grpc.StatusCode.UNAVAILABLE,
                               f"the approval could not be sent to the store: {exc}; "
                               "retry shortly") from None  # fmt: skip
            raise
        await self._db(lambda conn: apiauth.TokenStore(conn=conn).claim_sent(
            decision_id, request_id))  # fmt: skip
        rows = await self._db(lambda conn: api_queries.approvals_for(conn, decision_id))
        row = next(r for r in rows if r["request_id"] == request_id)
        return _approval_message(row)

    async def WatchPendingDecisions(self, request, context):
        try:
            _check_deadline(context)
            await self._caller(context)
            store_id = _store_id("store_id", request.store_id, required=False)
            kind = _enum("kind", request.kind, hub_pb2.DecisionKind)
            last = 0 if request.include_existing else await self._db(api_queries.max_ix)
        except ApiError as exc:
            await context.abort(exc.code, exc.message)
        except apiauth.AuthError as exc:
            await context.abort(_CODES[exc.code], exc.message)
        # Until the client goes (the task is cancelled), the deadline passes or the server stops.
        while not self.stopping.is_set():
            docs = await self._db(functools.partial(
                _pending, after=last, store_id=store_id, kind=kind))  # fmt: skip
            for doc in docs:
                yield hub_pb2.WatchPendingDecisionsResponse(decision=_decision_message(doc))
                last = doc["ix"]
            if not docs:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), timeout=WATCH_POLL_S)

    # -- audit ------------------------------------------------------------------------------
    @_unary
    async def VerifyChain(self, request, context):
        await self._caller(context)
        doc = await self._store_state(request.store_id)
        response = hub_pb2.VerifyChainResponse(
            store_id=doc["store_id"],
            status=_CHAIN_STATUS[doc["chain_status"]],
            chain_length=doc["chain_length"],
            chain_head=doc["chain_head"],
            entries_waiting=doc["entries_waiting"],
            gap_missing_seq=doc["gap_missing_seq"],
            chain_epoch=doc["chain_epoch"],
        )
        bad = doc["bad_record"]
        if bad is not None:
            response.first_bad_record.CopyFrom(
                hub_pb2.BadRecord(
                    record_id=bad["record_id"], seq=bad["seq"] or 0, reason=bad["reason"] or ""
                )
            )
        return response

    @_unary
    async def ListAuditRecords(self, request, context):
        await self._caller(context)
        store_id = _store_id("store_id", request.store_id, required=True)
        size = _page_size(request.page_size)
        to_seq = request.to_seq or None
        if to_seq is not None and request.from_seq > to_seq:
            raise invalid("from_seq", f"{request.from_seq} is after to_seq {to_seq}")
        event_type = None
        if request.event_type:
            name = request.event_type.upper().removeprefix("AUDIT_EVENT_TYPE_")
            try:
                event_type = audit_pb2.AuditEventType.Value("AUDIT_EVENT_TYPE_" + name)
            except ValueError:
                known = ", ".join(_event_name(v) for v in audit_pb2.AuditEventType.values()[1:])
                raise invalid(
                    "event_type", f"{request.event_type!r} is not one of {known}"
                ) from None
        subject_id = request.subject_id.strip()
        filters = ("audit", store_id, request.from_seq, to_seq, event_type, subject_id)
        from_seq = _PageToken.read_int(request.page_token, filters)
        if from_seq is None:
            from_seq = request.from_seq
        await self._store_state(store_id)  # NOT_FOUND for a store the hub does not know
        found, next_seq = await self._db(lambda conn: api_queries.audit_records(
            conn, store_id, from_seq=from_seq, to_seq=to_seq, event_type=event_type,
            subject_id=subject_id, limit=size))  # fmt: skip
        response = hub_pb2.ListAuditRecordsResponse(
            records=[_audit_event(store_id, entry) for entry in found]
        )
        if next_seq is not None:
            response.next_page_token = _PageToken.make(str(next_seq), filters)
        return response

    # -- outcomes (cloud_hub/outcomes.py) ---------------------------------------------------
    @_unary
    async def GetDecisionOutcome(self, request, context):
        await self._caller(context)
        decision_id = _decision_id(request.decision_id)

        def read(conn: sqlite3.Connection) -> tuple[dict | None, bool]:
            doc = outcomes.decision_outcome(conn, decision_id)
            return doc, doc is not None or api_queries.decision(conn, decision_id) is not None

        doc, known = await self._db(read)
        if not known:
            raise _no_decision(decision_id)
        if doc is None:
            raise ApiError(
                grpc.StatusCode.UNAVAILABLE,
                f"decision {decision_id} has reached the hub but is not joined to its outcomes "
                f"yet: the hub joins new records every {self.settings.outcome_join_interval_s:g} "
                "s; retry shortly",
            )
        return hub_pb2.GetDecisionOutcomeResponse(outcome=_outcome_message(doc))

    @_unary
    async def ListOutcomeMetrics(self, request, context):
        await self._caller(context)
        size = _page_size(request.page_size)
        store_id = _store_id("store_id", request.store_id, required=False)
        category = request.category if request.HasField("category") else None
        weeks = [_week(name, getattr(request, name)) for name in ("week_from", "week_to")]
        filters = ("metrics", store_id, category, request.model_version, *weeks)
        after = _PageToken.read_tuple(request.page_token, filters, 4)
        rows = await self._db(lambda conn: outcomes.metrics(
            conn, store_id=store_id, category=category, model_version=request.model_version,
            week_from=weeks[0], week_to=weeks[1], after=after, limit=size + 1))  # fmt: skip
        response = hub_pb2.ListOutcomeMetricsResponse(
            metrics=[_metrics_message(r) for r in rows[:size]]
        )
        if len(rows) > size:
            last = rows[size - 1]
            response.next_page_token = _PageToken.make_tuple(
                [last["week"], last["store_id"], last["category"], last["model_version"]], filters
            )
        return response


def _audit_event(store_id: str, entry: dict[str, Any]) -> hub_pb2.AuditEvent:
    record = entry["record"]
    event = hub_pb2.AuditEvent(
        record_id=f"{store_id}:audit:{entry['seq']}",
        seq=entry["seq"],
        event_type=_event_name(record.event_type),
        actor=record.actor,
        summary=record.summary,
        hash=entry["hash"],
        verified=entry["verified"],
        subject_id=record.subject_id,
    )
    if record.HasField("recorded_at"):
        event.record_time.CopyFrom(record.recorded_at)
    return event


def _week(field: str, value: str) -> str:
    if value and not outcomes.is_week(value):
        raise invalid(field, f"{value!r} is not an ISO week like 2026-W27")
    return value


_REVIEW = {
    "auto": hub_pb2.REVIEW_PATH_AUTO,
    "approved": hub_pb2.REVIEW_PATH_APPROVED,
    "rejected": hub_pb2.REVIEW_PATH_REJECTED,
    "overridden": hub_pb2.REVIEW_PATH_OVERRIDDEN,
    "other": hub_pb2.REVIEW_PATH_OTHER,
}
_SHELF = {
    "found": hub_pb2.SHELF_CHECK_STATUS_FOUND,
    "missing": hub_pb2.SHELF_CHECK_STATUS_MISSING,
    "not_checked": hub_pb2.SHELF_CHECK_STATUS_NOT_CHECKED,
}


def _fields(message_type: Any, doc: dict[str, Any]) -> dict[str, Any]:
    """The doc's values that the message has, leaving None (unknown) unset."""
    names = set(message_type.DESCRIPTOR.fields_by_name)
    return {k: v for k, v in doc.items() if k in names and v is not None}


def _outcome_message(doc: dict[str, Any]) -> hub_pb2.DecisionOutcome:
    out = hub_pb2.DecisionOutcome(
        decision_id=doc["decision_id"], store_id=doc["store_id"],
        kind=hub_pb2.DecisionKind.Value(f"DECISION_KIND_{doc['kind'].upper()}"),
        status=hub_pb2.JOIN_STATUS_COMPLETE if doc["status"] == "complete"
        else hub_pb2.JOIN_STATUS_PARTIAL,
        window_start=doc["window_start"], window_end=doc["window_end"],
        days_synced=doc["days_synced"], days_expected=doc["days_expected"],
        review=_REVIEW[doc["review"]], model_version=doc["model_version"],
    )  # fmt: skip
    if doc["review_seconds"] is not None:
        out.review_seconds = doc["review_seconds"]
    _set_ts(out, "update_time", doc["updated_at"])
    if "order" in doc:
        out.order.CopyFrom(hub_pb2.OrderOutcome(**_fields(hub_pb2.OrderOutcome, doc["order"])))
    elif "staffing" in doc:
        out.staffing.CopyFrom(
            hub_pb2.StaffingOutcome(**_fields(hub_pb2.StaffingOutcome, doc["staffing"]))
        )
    elif "shelf_check" in doc:
        shelf = doc["shelf_check"]
        out.shelf_check.CopyFrom(hub_pb2.ShelfCheckOutcome(
            status=_SHELF.get(shelf["status"] or "", 0), checked_by=shelf["checked_by"],
            random_sample=shelf["random_sample"], rank=shelf["rank"]))  # fmt: skip
    return out


def _metrics_message(row: dict[str, Any]) -> hub_pb2.OutcomeMetrics:
    values = _fields(hub_pb2.OutcomeMetrics, row)
    for name, value in values.items():
        if hub_pb2.OutcomeMetrics.DESCRIPTOR.fields_by_name[name].type == 4:  # uint64
            values[name] = int(value)
    return hub_pb2.OutcomeMetrics(**values)


def _pending(conn: sqlite3.Connection, *, after: int, store_id: str, kind: int) -> list:
    return api_queries.pending_after(conn, after, store_id=store_id, kind=kind)


def _no_store(store_id: str) -> ApiError:
    return ApiError(
        grpc.StatusCode.NOT_FOUND,
        f"store {store_id} is neither registered nor has it synced anything to this hub: "
        "ListStores shows the stores it knows",
    )


def _no_decision(decision_id: str) -> ApiError:
    return ApiError(
        grpc.StatusCode.NOT_FOUND,
        f"decision {decision_id} has not reached the hub: check the id (ListDecisions); a "
        "store that is offline has not synced it yet",
    )


# -- the server --------------------------------------------------------------------------------


class ApiServer:
    """The grpc.aio server with HubService, health and reflection."""

    def __init__(self, settings: HubSettings, *, nats: Callable[[], Any]) -> None:
        check_settings(settings)
        assert settings.grpc_address is not None
        self.settings = settings
        # The models, rollouts and training calls live in their own module (api_models).
        from cloud_hub.api_models import ModelsHubApi

        self.servicer: HubApi = ModelsHubApi(settings, nats=nats)
        self.health = health.aio.HealthServicer()
        self.server: grpc.aio.Server | None = None
        self.port = 0

    async def start(self) -> int:
        settings = self.settings
        added = await asyncio.to_thread(self.servicer.prepare)
        if added:
            log.info("decision index: %d rows added from records", added)
        server = grpc.aio.server(
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 1 << 20)]
        )
        hub_pb2_grpc.add_HubServiceServicer_to_server(self.servicer, server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(
            (SERVICE, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME), server)  # fmt: skip
        address = settings.grpc_address
        assert address is not None
        host, _ = parse_address(address)
        if settings.api_tls_cert is not None and settings.api_tls_key is not None:
            client_ca = (Path(settings.api_tls_client_ca).read_bytes()
                         if settings.api_tls_client_ca else None)  # fmt: skip
            credentials = grpc.ssl_server_credentials(
                [(Path(settings.api_tls_key).read_bytes(),
                  Path(settings.api_tls_cert).read_bytes())],
                root_certificates=client_ca,
                require_client_auth=client_ca is not None,
            )  # fmt: skip
            transport = "TLS" + (" with client certificates" if client_ca else "")
        else:
            credentials, transport = None, "plaintext (loopback only)"
        try:
            self.port = (server.add_secure_port(address, credentials) if credentials
                         else server.add_insecure_port(address))  # fmt: skip
        except RuntimeError:  # grpcio >= 1.56 raises where older ones returned 0
            self.port = 0
        if not self.port:
            raise HubConfigError(f"grpc_address: cannot listen on {address}",
                                 hint="is the port in use?")  # fmt: skip
        await server.start()
        self.server = server
        for name in ("", SERVICE):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("gRPC API listening on %s:%d, %s", host, self.port, transport)
        if not settings.api_auth:
            log.warning(
                "API AUTHENTICATION IS OFF (--no-api-auth): anyone who reaches %s:%d may read "
                "everything and approve decisions. Development only.", host, self.port)  # fmt: skip
        return self.port

    async def stop(self) -> None:
        if self.server is None:
            return
        await self.health.enter_graceful_shutdown()
        self.servicer.stopping.set()
        await self.server.stop(self.settings.api_shutdown_grace_s)
        self.server = None
        self.servicer.close()
        log.info("gRPC API stopped")
