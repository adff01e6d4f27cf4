"""`edge-agent run`: the store daemon.

It keeps deciding whether or not the hub is reachable. Loops (asyncio tasks,
each with its own mirror connection; SQLite work runs in worker threads so the
event loop stays responsive):

- **link**: connect to NATS when it can, with capped exponential backoff and
  jitter; nats-py reconnects a dropped link on its own afterwards;
- **cycles**: the decision cycle at the configured store-local times (a time
  missed while the agent was down runs once at start);
- **inbox**: POS exports dropped into ``inbox_dir`` are ingested and moved to
  ``done/`` or ``rejected/`` (with a ``.reason.txt``);
- **drain**: the outbox and the audit chain to JetStream, on a tick or as soon
  as a cycle or an ingest committed something;
- **heartbeat**: agent version, feature-spec hash, model versions, backlog;
- **models**: the versions the hub offers this store, downloaded, checked, run in
  shadow and swapped between cycles (:mod:`edge_agent.model_updates`);
- **http**: ``/healthz`` and ``/metrics`` (Prometheus text) on 127.0.0.1.

Every loop logs a failure streak once and "recovered" once when it ends.
SIGTERM (or SIGINT) lets in-flight work finish, then the agent exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import random
import shutil
import signal
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError

from edge_agent import __version__, approvals, audit, commands, model_updates, outcomes, sync
from edge_agent.clock import Clock, SystemClock
from edge_agent.config import EdgeSettings
from edge_agent.errors import ConfigError, EdgeAgentError, ModelRefused
from edge_agent.mirror import Ingestor, Mirror, open_mirror, retention
from models import features as F
from storeedge import link, subjects
from storeedge.errors import KitError
from storeedge.retry import Streak, backoff_delay
from storeedge.v1 import audit_pb2, command_pb2, common_pb2, decision_pb2, heartbeat_pb2

__all__ = ["Agent", "due_cycle_slot", "run_agent"]

log = logging.getLogger("storeedge.agent")

CYCLE_SLOT_KEY = "cycle.last_slot"
_INBOX_SKIP_SUFFIXES = (".tmp", ".part", ".partial", ".reason.txt")


def due_cycle_slot(
    now_local: datetime, cycle_times: list[str], last_slot: datetime | None
) -> datetime | None:
    """The latest scheduled instant at or before ``now_local`` that has not run yet.

    Slots are store-local wall times on each day; only the latest missed slot
    runs (a store down all night makes one cycle at start, not one per slot).
    """
    tz = now_local.tzinfo
    candidates = []
    for day in (now_local.date() - timedelta(days=1), now_local.date()):
        for text in cycle_times:
            hour, minute = (int(p) for p in text.split(":"))
            candidates.append(datetime.combine(day, dtime(hour, minute), tzinfo=tz))
    past = [slot for slot in candidates if slot <= now_local]
    if not past:
        return None
    latest = max(past)
    if last_slot is not None and latest <= last_slot:
        return None
    return latest


@dataclass
class Metrics:
    counters: dict[str, float] = field(default_factory=dict)
    gauges: dict[str, float] = field(default_factory=dict)

    def inc(self, name: str, by: float = 1.0) -> None:
        self.counters[name] = self.counters.get(name, 0.0) + by

    def set(self, name: str, value: float) -> None:
        self.gauges[name] = value

    def render(self) -> str:
        """Prometheus text format: one TYPE line per family, then its samples."""
        lines = []
        for kind, values in (("counter", self.counters), ("gauge", self.gauges)):
            family = None
            for name in sorted(values):
                base = name.split("{", 1)[0]
                if base != family:
                    lines.append(f"# TYPE {base} {kind}")
                    family = base
                lines.append(f"{name} {float(values[name])!r}")
        return "\n".join(lines) + "\n"


class Agent:
    """The store daemon; :meth:`run` until ``stop`` is set."""

    def __init__(self, settings: EdgeSettings, *, clock: Clock | None = None) -> None:
        if settings.db is None:
            raise ConfigError("db: no mirror given", hint="pass --db PATH or set db in the config")
        self.settings = settings
        self.clock = clock or SystemClock()
        # One connection per loop: a long cycle transaction never blocks the drain's reads.
        self.mirror = self._open()
        store = self.mirror.require_store()
        if settings.store_id and settings.store_id != store.store_id:
            raise ConfigError(
                f"store_id: the config says {settings.store_id} but {settings.db} belongs "
                f"to {store.store_id}",
                hint="point --db at this store's mirror, or fix --store",
            )
        self.store_id = store.store_id
        self.link_options = link.LinkOptions.from_settings(
            settings, f"edge-agent {self.store_id}", error=ConfigError,
            hint="see `edge-agent run --help`",
            inbox_prefix=subjects.store_inbox_prefix(self.store_id),
        )  # fmt: skip
        self.trust = settings.trusted_keys()  # a bad trust file stops the start, named
        self.sync_mirror = self._open()
        self.inbox_mirror = self._open() if settings.inbox_dir is not None else None
        self.down_mirror = self._open()
        self.models_mirror = self._open()
        # Held by a cycle from start to end: a model swap waits for it (between cycles).
        self.models_lock = threading.Lock()
        received = settings.model_updates_dir or settings.db.with_name(f"{settings.db.stem}-models")
        self.shelf = model_updates.ModelShelf(received)
        self.updater = model_updates.ModelUpdater(
            store_id=self.store_id, settings=settings, trust=self.trust,
            mirror=self.models_mirror, shelf=self.shelf, serving=self._ensure_models,
            swap=self._serve_model,
        )  # fmt: skip
        # The drain, the heartbeat and the backlog metrics share sync_mirror, one at a time.
        self.sync_lock = asyncio.Lock()
        self.metrics = Metrics()
        self.nc: Any = None
        self.js: Any = None
        self.wake_drain = asyncio.Event()
        self.connected = asyncio.Event()
        self.stop = asyncio.Event()
        self.alarms: dict[str, str] = {}
        self.loop_errors: dict[str, str] = {}
        self.http_port: int | None = None
        self.model_versions: dict[str, str] = {}
        self._models: Any = None
        self._policy: Any = None
        self.last_cycle: dict[str, Any] | None = None
        self.drain_not_before = 0.0  # monotonic; set after a reconnect (jitter)
        rate = settings.sync_max_bytes_per_s
        self.cap = sync.BandwidthCap(rate) if rate > 0 else None

    def _open(self) -> Mirror:
        assert self.settings.db is not None
        return open_mirror(self.settings.db, create=False, clock=self.clock)

    # -- lifecycle ------------------------------------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            # Only the main thread may install handlers; tests run agents in threads too.
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self._on_signal, signum)
        tasks = [
            asyncio.create_task(self._guard("cycles", self._cycle_loop)),
            asyncio.create_task(self._guard("drain", self._drain_loop)),
            asyncio.create_task(self._guard("heartbeat", self._heartbeat_loop)),
            asyncio.create_task(self._guard("link", self._link_loop)),
            asyncio.create_task(self._guard("models", self._models_loop)),
        ]
        if self.settings.inbox_dir is not None:
            tasks.append(asyncio.create_task(self._guard("inbox", self._inbox_loop)))
        server = None
        if self.settings.http_port is not None:
            server = await asyncio.start_server(
                self._serve_http, "127.0.0.1", self.settings.http_port
            )
            self.http_port = server.sockets[0].getsockname()[1]
            log.info("health and metrics on http://127.0.0.1:%d/healthz", self.http_port)
        log.info("edge agent %s started for store %s", __version__, self.store_id)
        await self.stop.wait()
        log.info("stopping: finishing in-flight work")
        await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            server.close()
            await server.wait_closed()
        if self.nc is not None:
            # close, not drain: every loop has finished its work, and draining a pull
            # subscription waits out nats-py's 30 s drain timeout.
            try:
                await self.nc.close()
            except Exception as exc:  # closing anyway
                log.debug("closing NATS: %s", exc)
        self.close()
        log.info("stopped")

    def close(self) -> None:
        """Close the mirror connections (``run`` does at its end)."""
        for mirror in (self.mirror, self.sync_mirror, self.inbox_mirror, self.down_mirror,
                       self.models_mirror):  # fmt: skip
            if mirror is not None:
                mirror.close()

    def _on_signal(self, signum: int) -> None:
        log.info("received %s", signal.Signals(signum).name)
        self.stop.set()
        self.wake_drain.set()

    async def _guard(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        """A loop that dies is reported in /healthz and metrics, not silently lost."""
        try:
            await body()
        except Exception as exc:
            log.exception("loop %s stopped", name)
            self.loop_errors[name] = f"{type(exc).__name__}: {exc}"
            self.metrics.set(f'storeedge_loop_up{{loop="{name}"}}', 0)

    async def _until(self, event: asyncio.Event) -> None:
        """Wait for ``event`` or stop, whichever comes first."""
        waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(self.stop.wait())]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)

    # -- link -----------------------------------------------------------------------------
    async def _link_loop(self) -> None:
        streak = Streak("link to NATS", log)
        while not self.stop.is_set():
            try:
                self.nc = await link.connect(self.link_options, on_event=self._link_event)
            except KitError as exc:
                streak.failed(exc)
                self.metrics.set("storeedge_link_up", 0)
                await self._sleep(backoff_delay(streak.failures, self.settings.backoff_max_s))
                continue
            streak.succeeded()
            self.js = self.nc.jetstream()
            self.metrics.set("storeedge_link_up", 1)
            log.info("connected to NATS %s", self.nc.connected_url.netloc)
            self.connected.set()
            self.wake_drain.set()
            await self._down_loop()
            return

    async def _down_loop(self) -> None:
        """Hub -> store messages: approvals, commands, chain-head acknowledgements."""
        streak = Streak("hub -> store messages", log)
        sub = None
        while not self.stop.is_set():
            try:
                if sub is None:
                    sub = await self.js.pull_subscribe(
                        subjects.down_filter(self.store_id),
                        durable=subjects.down_durable(self.store_id),
                        stream=subjects.DOWN_STREAM,
                    )
                msgs = await sub.fetch(100, timeout=1.0)
            except (NatsTimeoutError, TimeoutError):
                continue
            except NatsError as exc:
                streak.failed(exc)
                sub = None
                await self._sleep(backoff_delay(streak.failures, self.settings.backoff_max_s))
                continue
            streak.succeeded()
            for msg in msgs:
                # Under the sync lock: a command may move the drain's audit cursor.
                async with self.sync_lock:
                    queued = await asyncio.to_thread(self._apply_down, msg.subject, msg.data)
                if queued:
                    self.wake_drain.set()
                await msg.ack()

    def _apply_down(self, subject: str, data: bytes) -> bool:
        """Apply one hub -> store message (worker thread); True when it queued a record."""
        _, _, message_type = subjects.parse_subject(subject)
        if message_type == "approval":
            request = decision_pb2.ApprovalRequest.FromString(data)
            result = approvals.apply_request(self.down_mirror, request)
            if result is not None:
                log.info("hub %s of %s by %s: %s", decision_pb2.ApprovalAction.Name(request.action),
                         request.decision_id, request.actor,
                         "applied" if result.applied else f"refused ({result.reason})")  # fmt: skip
            return result is not None
        if message_type == "command":
            command = command_pb2.StoreCommand.FromString(data)
            executed = commands.apply_command(self.down_mirror, command)
            if executed:
                log.info("hub command %s (%s) by %s", command.command_id,
                         command_pb2.CommandKind.Name(command.kind), command.actor)  # fmt: skip
            return executed
        if message_type == "chain_ack":
            ack = audit_pb2.ChainAck.FromString(data)
            current = sync.hub_chain_ack(self.down_mirror)
            if current is None or ack.chain_length > current["seq"]:
                with self.down_mirror.transaction():
                    sync.record_chain_ack(self.down_mirror, ack)
            return False
        log.warning("hub -> store message %s not handled by this agent release", subject)
        return False

    def _link_event(self, kind: str, detail: str) -> None:
        if self.stop.is_set():
            return
        if kind == "disconnected":
            self.metrics.set("storeedge_link_up", 0)
            log.warning("NATS link down; deciding on, records stay in the outbox")
        elif kind == "reconnected":
            self.metrics.set("storeedge_link_up", 1)
            # Every store of the fleet reconnects within a second of the hub's return:
            # each waits its own random share of the jitter window before draining.
            wait_s = random.uniform(0, self.settings.reconnect_jitter_s)
            self.drain_not_before = time.monotonic() + wait_s
            log.info("NATS link recovered; draining in %.1f s", wait_s)
            self.wake_drain.set()
        elif link.refusal(detail):
            # Not transient: a revoked identity, or a publish outside this store's subjects.
            error = link.refused_error(detail)
            if self.alarms.get("nats_refused") != str(error):
                log.error("%s", error)
            self.alarms["nats_refused"] = str(error)
        else:
            log.debug("NATS: %s", detail)

    # -- drain ----------------------------------------------------------------------------
    async def _drain_loop(self) -> None:
        streak = Streak("sync to the hub", log)
        busy = False
        while not self.stop.is_set():
            delay = self.settings.sync_interval_s
            sent = False
            async with self.sync_lock:
                # Finished days become outcomes even offline; they wait in the outbox.
                emitted = await asyncio.to_thread(outcomes.emit_due, self.sync_mirror)
            if emitted.days:
                self.metrics.inc("storeedge_outcome_days_total", emitted.days)
                delay = 0.05  # more backfill to come, or a drain to start
            hold_s = self.drain_not_before - time.monotonic()
            if hold_s > 0:
                delay = hold_s
            elif self.js is not None and self.nc.is_connected:
                try:
                    async with self.sync_lock:
                        report = await sync.drain(
                            self.sync_mirror,
                            self.js,
                            batch_size=self.settings.sync_batch,
                            ack_timeout_s=self.settings.ack_timeout_s,
                            cap=self.cap,
                        )
                except EdgeAgentError as exc:
                    streak.failed(exc)
                    delay = backoff_delay(streak.failures, self.settings.backoff_max_s)
                else:
                    streak.succeeded()
                    sent = report.acked > 0
                    if sent:
                        self.alarms.pop("nats_refused", None)
                    self.metrics.inc("storeedge_sync_acked_total", report.acked)
                    self.metrics.inc("storeedge_sync_duplicates_total", report.duplicates)
            async with self.sync_lock:
                await asyncio.to_thread(self._update_backlog_metrics)
                if busy and not emitted.days:  # a backfill or a backlog just finished
                    await asyncio.to_thread(_release_memory, self.sync_mirror)
            busy = bool(emitted.days) or sent
            self.wake_drain.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake_drain.wait(), timeout=delay)

    def _update_backlog_metrics(self) -> None:
        status = sync.sync_status(self.sync_mirror)
        for key, counts in status.items():
            self.metrics.set(f'storeedge_outbox_pending{{type="{key}"}}', counts["pending"])
        size = sync.outbox_bytes(self.sync_mirror)
        self.metrics.set("storeedge_outbox_bytes", size)
        alarm = sync.budget_alarm(size, self.settings.outbox_budget_mb)
        if alarm:
            if "outbox_budget" not in self.alarms:
                log.error("ALARM: %s", alarm)
            self.alarms["outbox_budget"] = alarm
        else:
            self.alarms.pop("outbox_budget", None)
        self.metrics.set("storeedge_outbox_over_budget", int("outbox_budget" in self.alarms))

    # -- cycles ---------------------------------------------------------------------------
    async def _cycle_loop(self) -> None:
        streak = Streak("decision cycle", log)
        while not self.stop.is_set():
            store = self.mirror.require_store()
            now_local = self.clock.now().astimezone(store.tz)
            last = sync.read_state(self.mirror, CYCLE_SLOT_KEY)
            slot = due_cycle_slot(
                now_local,
                self.settings.cycle_times,
                datetime.fromisoformat(last) if last else None,
            )
            requested = sync.read_state(self.mirror, commands.CYCLE_REQUEST_KEY)
            on_request = slot is None and bool(requested)
            if on_request:
                # A hub command: this day's cycle now (the slot itself stays as it was).
                day = now_local.date() if requested == "today" else date.fromisoformat(requested)
                slot = datetime.combine(day, dtime(now_local.hour, now_local.minute),
                                        tzinfo=now_local.tzinfo)  # fmt: skip
            if slot is not None and "disk_full" not in self.alarms:
                try:
                    await asyncio.to_thread(self._run_cycle, slot, on_request)
                except (EdgeAgentError, sqlite3.Error) as exc:
                    self._note_disk_full(exc)
                    streak.failed(exc)
                    self.metrics.inc("storeedge_cycle_failures_total")
                    await self._sleep(backoff_delay(streak.failures, self.settings.backoff_max_s))
                    continue
                streak.succeeded()
                self.wake_drain.set()
            elif "disk_full" in self.alarms:
                await asyncio.to_thread(self._probe_disk)
            await self._sleep(1.0)

    def _run_cycle(self, slot: datetime, on_request: bool = False) -> None:
        from edge_agent.cycle import run_cycle
        from edge_agent.policy import load_policy

        if self._policy is None:
            self._policy = load_policy(self.settings.policy_file)
        try:
            with self.models_lock:  # no model swap during the cycle
                result = run_cycle(self.mirror, self._ensure_models(locked=True), self._policy,
                                   slot.date())  # fmt: skip
            with self.mirror.transaction():
                if on_request:
                    sync.clear_state(self.mirror, commands.CYCLE_REQUEST_KEY)
                else:
                    sync.write_state(self.mirror, CYCLE_SLOT_KEY, slot.isoformat())
            self._submit()
            # Once a cycle is done, old POS detail goes (its totals stay).
            pruned = retention.prune_sales_lines(
                self.mirror, keep_days=self.settings.sales_lines_retention_days
            )
            if pruned.rows:
                log.info("pruned %d sales lines before %s", pruned.rows, pruned.before)
        finally:
            if self._models is not None:
                self._models.release()  # ~20 MiB of sessions, opened again next cycle
            _release_memory(self.mirror)
        self.last_cycle = {
            "slot": slot.isoformat(),
            "as_of": result.as_of.isoformat(),
            "decisions": len(result.decisions),
            "closed": result.closed,
            "seconds": round(result.seconds, 3),
        }
        self.metrics.inc("storeedge_cycles_total")
        self.metrics.set("storeedge_cycle_seconds", result.seconds)
        self.metrics.set("storeedge_cycle_last_success_timestamp", time.time())
        log.info(
            "cycle %s (slot %s): %d decisions in %.1f s",
            result.as_of,
            slot.strftime("%H:%M"),
            len(result.decisions),
            result.seconds,
        )

    # -- models -----------------------------------------------------------------------------
    def _ensure_models(self, *, locked: bool = False) -> Any:
        """The serving ModelSet, loaded on first use: the configured (or shipped) models,
        then each model received from the hub that is still safe to serve."""
        if self._models is not None:
            return self._models  # loaded: no need to wait for a cycle in flight
        if not locked:
            with self.models_lock:
                return self._ensure_models(locked=True)
        if self._models is not None:
            return self._models
        from edge_agent.cycle import SERVED_MODELS, load_models, with_model
        from models import BOOTSTRAP_DIR

        models = self._load_models(load_models, BOOTSTRAP_DIR)
        for name in SERVED_MODELS:
            version = self.shelf.current(name)
            if version is None:
                continue
            try:
                model, manifest = self.shelf.load(name, version, self.trust)
            except ModelRefused as exc:
                log.error("ALARM: %s; serving %s", exc, models.versions.get(name, "none"))
                self.alarms["model_refused"] = str(exc)
                change = audit_pb2.ModelChange(model_name=name, to_version=version,
                                               outcome="refused", reason=exc.message)  # fmt: skip
                model_updates.audit_model_change(self.models_mirror, change)
                continue
            models = with_model(models, name, model, manifest)
        self._models = models
        self.model_versions = dict(models.versions)
        with self.models_mirror.transaction():
            sync.write_state(self.models_mirror, model_updates.SERVING_STATE_KEY,
                             json.dumps(self.model_versions, sort_keys=True))  # fmt: skip
        return models

    def _serve_model(self, name: str, model: Any, manifest: Any) -> dict[str, str]:
        """Serve ``model`` as ``name`` from the next cycle on (waits for one in flight), with
        what its manifest carries (version; availability's decision threshold)."""
        from edge_agent.cycle import with_model

        with self.models_lock:
            self._models = with_model(self._ensure_models(locked=True), name, model, manifest)
            self.model_versions = dict(self._models.versions)
            self.metrics.inc("storeedge_model_swaps_total")
            return dict(self.model_versions)

    async def _models_loop(self) -> None:
        await asyncio.to_thread(self._ensure_models)
        await self._until(self.connected)
        if not self.stop.is_set():
            await self.updater.run(self.js, self.stop)

    def _load_models(self, load_models: Callable[..., Any], bootstrap: Path) -> Any:
        """The configured models; if they are refused (unsigned, untrusted, corrupt, other
        features, unrunnable), the refusal is audited and alarmed and the store decides
        with the models shipped in its release instead."""
        directory = self.settings.models_dir
        if directory is None:
            return load_models(bootstrap)
        try:
            return load_models(directory, self.trust)
        except ModelRefused as exc:
            log.error("ALARM: %s; deciding with the shipped models", exc)
            self.alarms["model_refused"] = str(exc)
            change = audit_pb2.ModelChange(model_name=exc.model, outcome="refused",
                                           reason=exc.message)  # fmt: skip
            with self.models_mirror.transaction():
                audit.append(self.models_mirror, audit_pb2.AUDIT_EVENT_TYPE_MODEL_CHANGED,
                             subject_id=exc.model, summary=f"refused: {exc.message}",
                             model_change=change)  # fmt: skip
            return load_models(bootstrap)

    def _submit(self) -> None:
        """Hand what may be executed to the configured executor (none configured: skip)."""
        from edge_agent import executor

        settings = self.settings
        if settings.executor == "file_drop" and settings.drop_dir is None:
            return
        try:
            result = executor.submit(self.mirror, settings)
        except EdgeAgentError as exc:  # the decisions stay executable: next cycle tries again
            log.warning("executor: %s", exc)
            self.metrics.inc("storeedge_executor_failures_total")
            return
        if result.submitted:
            self.metrics.inc("storeedge_decisions_submitted_total", len(result.submitted))
            log.info("executor %s took %d decisions", settings.executor, len(result.submitted))

    def _note_disk_full(self, exc: BaseException) -> None:
        cause = exc.__cause__ or exc
        if isinstance(cause, sqlite3.OperationalError) and "full" in str(cause).lower():
            self.alarms["disk_full"] = (
                f"the disk holding {self.settings.db} is full ({cause}); no new decisions "
                "until space is freed, nothing written so far is lost"
            )
            self.metrics.set("storeedge_disk_full", 1)
            log.error("ALARM: %s", self.alarms["disk_full"])

    def _probe_disk(self) -> None:
        try:
            with self.mirror.transaction():
                sync.write_state(self.mirror, "disk.probe", self.clock.now().isoformat())
        except sqlite3.OperationalError:
            return
        self.alarms.pop("disk_full", None)
        self.metrics.set("storeedge_disk_full", 0)
        log.info("disk space recovered: decisions resume")

    # -- inbox ----------------------------------------------------------------------------
    async def _inbox_loop(self) -> None:
        inbox = self.settings.inbox_dir
        assert inbox is not None
        for sub in ("done", "rejected"):
            (inbox / sub).mkdir(parents=True, exist_ok=True)
        sizes: dict[Path, int] = {}
        while not self.stop.is_set():
            ready = []
            for path in sorted(p for p in inbox.iterdir() if p.is_file()):
                if path.name.startswith(".") or path.name.endswith(_INBOX_SKIP_SUFFIXES):
                    continue
                size = path.stat().st_size
                # A file still being written changes size between two polls.
                if sizes.get(path) == size:
                    ready.append(path)
                sizes[path] = size
            for path in ready:
                sizes.pop(path, None)
                await asyncio.to_thread(self._ingest_inbox_file, path)
                self.wake_drain.set()
            await self._sleep(self.settings.inbox_interval_s)

    def _ingest_inbox_file(self, path: Path) -> None:
        inbox = path.parent
        assert self.inbox_mirror is not None
        ingestor = Ingestor(
            self.inbox_mirror,
            skew_tolerance_s=self.settings.clock_skew_tolerance_s,
            batch_rows=self.settings.ingest_batch_rows,
        )
        try:
            report = ingestor.ingest_file(path)
        except EdgeAgentError as exc:
            _release_memory(self.inbox_mirror)
            self._note_disk_full(exc)
            target = _unique(inbox / "rejected" / path.name)
            shutil.move(path, target)
            target.with_name(target.name + ".reason.txt").write_text(str(exc) + "\n")
            self.metrics.inc('storeedge_inbox_files_total{result="rejected"}')
            log.warning("inbox: %s rejected: %s", path.name, exc)
            return
        _release_memory(self.inbox_mirror)
        shutil.move(path, _unique(inbox / "done" / path.name))
        self.metrics.inc('storeedge_inbox_files_total{result="done"}')
        self.metrics.inc("storeedge_inbox_rows_quarantined_total", report.rows_quarantined)
        log.info(
            "inbox: %s: %d rows loaded, %d quarantined",
            path.name,
            report.rows_loaded,
            report.rows_quarantined,
        )

    # -- heartbeat ------------------------------------------------------------------------
    async def _heartbeat_loop(self) -> None:
        await self._until(self.connected)
        # A heartbeat reports the models served: the hub's rollouts take a store's rollback
        # target from it, so the first one waits until they are loaded.
        await asyncio.to_thread(self._ensure_models)
        while not self.stop.is_set():
            if self.js is not None and self.nc.is_connected:
                async with self.sync_lock:
                    beat = await asyncio.to_thread(self.heartbeat)
                try:
                    await self.js.publish(
                        subjects.heartbeat_subject(self.store_id),
                        beat.SerializeToString(deterministic=True),
                        timeout=self.settings.ack_timeout_s,
                    )
                    self.metrics.inc("storeedge_heartbeats_total")
                except Exception as exc:  # the next beat tries again
                    log.debug("heartbeat not sent: %s", exc)
            await self._sleep(self.settings.heartbeat_interval_s)

    def heartbeat(self) -> heartbeat_pb2.Heartbeat:
        with self.sync_mirror.transaction():
            seq = self.sync_mirror.next_sequence("heartbeat")
        store = self.sync_mirror.require_store()
        now = self.clock.now()
        length, head = audit.chain_head(self.sync_mirror)
        beat = heartbeat_pb2.Heartbeat(
            id=common_pb2.RecordId(
                store_id=self.store_id, record_type=common_pb2.RECORD_TYPE_HEARTBEAT, sequence=seq
            ),
            business_date=now.astimezone(store.tz).date().isoformat(),
            agent_version=__version__,
            feature_spec_hashes={"features": F.FEATURE_SPEC_HASH},
            model_versions=self.model_versions,
            backlog={k: v["pending"] for k, v in sync.sync_status(self.sync_mirror).items()},
            schema_version=self.sync_mirror.schema_version(),
            chain_head=head,
            chain_length=length,
        )
        beat.recorded_at.FromDatetime(now.astimezone(UTC))
        return beat

    # -- http -----------------------------------------------------------------------------
    def health(self) -> tuple[bool, dict[str, Any]]:
        healthy = not self.loop_errors and "disk_full" not in self.alarms
        return healthy, {
            "status": "ok" if healthy else "failing",
            "store": self.store_id,
            "agent_version": __version__,
            "connected": bool(self.nc is not None and self.nc.is_connected),
            "last_cycle": self.last_cycle,
            "alarms": self.alarms,
            "loop_errors": self.loop_errors,
        }

    async def _serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)).strip():
                pass  # headers: nothing here needs them
            parts = request.decode("latin-1").split()
            path = parts[1].split("?", 1)[0] if len(parts) > 1 else "/"
            if path == "/healthz":
                healthy, doc = self.health()
                status, body, ctype = (200 if healthy else 503), json.dumps(doc), "application/json"
            elif path == "/metrics":
                status, body, ctype = 200, self.metrics.render(), "text/plain; version=0.0.4"
            else:
                status, body, ctype = 404, "not found: try /healthz or /metrics\n", "text/plain"
            data = body.encode()
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()


def _release_memory(mirror: Mirror) -> None:
    """Give back what a cycle or an ingest held: SQLite's page cache and freed heap.

    The agent idles for most of the day; its resident size then should not carry the
    peak of its last cycle.
    """
    mirror.conn.execute("PRAGMA shrink_memory")
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # glibc only; elsewhere a no-op


def _unique(path: Path) -> Path:
    """``path``, or ``name.1``, ``name.2``... if a file of that name was handled before."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate


def run_agent(settings: EdgeSettings, *, clock: Clock | None = None) -> int:
    """Run the daemon in this process until SIGTERM; returns the exit code."""

    async def main() -> None:
        agent = Agent(settings, clock=clock)
        await agent.run()

    asyncio.run(main())
    return 0
