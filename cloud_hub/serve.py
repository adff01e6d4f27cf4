"""`cloud-hub serve`: ingest from JetStream into the hub database, and talk back.

Loops (asyncio tasks):

- **ingest**: the durable pull consumer on the up stream (:mod:`cloud_hub.ingest`);
  after each batch, every store whose verified chain grew gets a ``ChainAck``
  on its down subject;
- **heartbeats**: the status stream, latest facts per store;
- **model reports**: each store's answer to a model offer (applied / refused, why, swap
  latency), the latest per store and model (:mod:`cloud_hub.distribution`);
- **rollouts**: every ``rollout_tick_s``, offer the next ring of each running rollout or
  evaluate its health gate (advance, or roll the ring back) (:mod:`cloud_hub.rollouts`);
- the link: connect with capped backoff and jitter, ensure the streams, and
  re-bind the consumers after a failure; "recovered" is logged once.

With ``embedded_nats_dir`` the hub first starts its own nats-server with
JetStream on 127.0.0.1 (``make demo``, trials), with the authorization of the
store registry (the hub's own key and each registered store's); production
points ``nats_url`` at a server or cluster. SIGTERM finishes the batch in hand and exits 0.

With ``train_interval_hours`` > 0 the hub retrains every model on that schedule
(:mod:`cloud_hub.training`): each run is a ``cloud-hub train`` child process, so
LightGBM and decoding never hold ingest's event loop or GIL; a run that fails (too
little data yet) is logged and tried again at the next interval. Runs asked for through
the API (``StartTraining``, :mod:`cloud_hub.training_runs`) run the same child, one at a
time with the schedule's, and record their state, progress and result.

With ``grpc_address`` the hub's gRPC API (:mod:`cloud_hub.api`) runs in a child process
of its own (:mod:`cloud_hub.api_process`: ingest and the API never wait for each other's
GIL); it starts beside the link to NATS (reads need only the database) and stops
gracefully before the link closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import api

from cloud_hub import distribution, hubdb, identity, outcomes
from cloud_hub.api_process import ApiProcess
from cloud_hub.config import HubSettings
from cloud_hub.errors import HubConfigError, HubError
from cloud_hub.ingest import consume, ensure_streams
from cloud_hub.keys import SigningKeys
from cloud_hub.registry import Registry, apply_authorization
from cloud_hub.storage import IngestResult, SqliteHubStorage, open_storage
from storeedge import link, subjects
from storeedge.errors import KitError
from storeedge.natsserver import NatsServer
from storeedge.retry import Streak, backoff_delay
from storeedge.v1 import audit_pb2, heartbeat_pb2, model_pb2

__all__ = ["Hub", "run_hub", "start_embedded_nats"]

log = logging.getLogger("storeedge.hub")

HEARTBEAT_DURABLE = "storeedge-hub-heartbeats"
MODEL_REPORTS_DURABLE = "storeedge-hub-model-reports"
#: How often serve looks for a queued training run (StartTraining); a run takes minutes.
TRAINING_POLL_S = 1.0


class Hub:
    def __init__(self, settings: HubSettings) -> None:
        if settings.db is None:
            raise HubConfigError("db: no hub database given", hint="pass --db PATH")
        self.settings = settings
        self.embedded: NatsServer | None = None
        self.storage: SqliteHubStorage = open_storage(settings.db)
        self.stop = asyncio.Event()
        self.nc: Any = None
        self.js: Any = None
        self.api: ApiProcess | None = None  # when grpc_address is set
        self._training = asyncio.Lock()  # one train child at a time

    def _ensure_signing_key(self) -> None:
        """A hub signs models from its first start on (issue: no unsigned rollout)."""
        assert self.settings.db is not None
        with SigningKeys(self.settings.db, self.settings.signing_folder()) as keys:
            known = keys.active_id()
            key_id = keys.ensure_active()
        if known is None:
            log.info("created the model-signing key %s in %s (`cloud-hub keys public` prints "
                     "what stores must trust)", key_id, self.settings.signing_folder())  # fmt: skip

    def _link_options(self) -> link.LinkOptions:
        settings = self.settings
        if settings.embedded_nats_dir is not None:
            self.embedded = start_embedded_nats(settings)
            log.info("embedded nats-server with JetStream at %s", self.embedded.url)
            settings = settings.model_copy(
                update={"nats_url": self.embedded.url, "nats_creds": settings.hub_seed_file()}
            )
        return link.LinkOptions.from_settings(
            settings, "cloud-hub", error=HubConfigError, hint="see `cloud-hub serve --help`"
        )

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self.stop.set)
        self._ensure_signing_key()
        options = self._link_options()
        # Training needs only the database: it runs whether NATS is reachable or not.
        training = [asyncio.create_task(self._training_runs())]
        if self.settings.train_interval_hours > 0:
            training.append(asyncio.create_task(self._retrain_on_schedule()))
        # The API process starts beside the link: ingest need not wait for it.
        api_started = asyncio.create_task(self._start_api(options))
        try:
            await self._serve(options)
            await api_started  # a start error of the API stops serve with its message
        finally:
            for task in (api_started, *training):
                task.cancel()
            await asyncio.gather(api_started, *training, return_exceptions=True)
            await self._stop_api()
            if self.nc is not None and not self.nc.is_closed:
                await self.nc.close()
            self.storage.close()
            if self.embedded is not None:
                self.embedded.stop()
            log.info("stopped")

    # -- retraining on a schedule (cloud_hub/training.py) ------------------------------------
    async def _retrain_on_schedule(self) -> None:
        interval_s = self.settings.train_interval_hours * 3600
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=interval_s)
                return
            for model in ("replenishment", "labor", "availability"):
                if self.stop.is_set():
                    return
                await self._train_child(model)

    async def _train_child(
        self,
        model: str,
        *,
        actor: str = "cloud-hub-schedule",
        on_progress: Callable[[str], Awaitable[None]] | None = None,
    ) -> tuple[dict[str, Any] | None, str]:
        """One ``cloud-hub train`` child, one at a time (schedule and API runs share it):
        (its ``--json`` document, "") or (None, the error's last lines)."""
        async with self._training:
            return await self._train_child_unlocked(model, actor, on_progress)

    async def _train_child_unlocked(
        self, model: str, actor: str, on_progress: Callable[[str], Awaitable[None]] | None
    ) -> tuple[dict[str, Any] | None, str]:
        settings = self.settings
        command = [sys.executable, "-m", "cloud_hub.cli", "train", model, "--db", str(settings.db),
                   "--margin", str(settings.train_margin),
                   "--tolerance", str(settings.train_ring_tolerance),
                   "--holdout-days", str(settings.train_holdout_days),
                   "--sample-skus", str(settings.train_sample_skus),
                   "--origins", str(settings.train_origins),
                   "--horizon-stride", str(settings.train_horizon_stride),
                   "--season-weeks", str(settings.train_season_weeks),
                   "--train-rows", str(settings.train_rows),
                   "--threads", str(settings.train_threads),
                   "--by", actor, "--json"]  # fmt: skip
        if on_progress is None:
            command.append("--quiet")
        env = {**os.environ, "STOREEDGE_HUB_SIGNING_DIR": str(settings.signing_folder())}
        child = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
        )
        assert child.stdout is not None and child.stderr is not None
        errors: list[str] = []

        async def read_errors(stream: asyncio.StreamReader) -> None:
            async for raw in stream:  # progress lines "train MODEL: ...", then any error
                line = raw.decode(errors="replace").rstrip()
                errors.append(line)
                del errors[:-20]
                if on_progress is not None and line.startswith(f"train {model}: "):
                    await on_progress(line.removeprefix(f"train {model}: "))

        try:
            out, _ = await asyncio.gather(child.stdout.read(), read_errors(child.stderr))
            await child.wait()
        except asyncio.CancelledError:
            child.kill()
            await child.wait()
            raise
        if child.returncode == 0:
            document = json.loads(out)
            log.info("retrained %s: version %s %s", model, document["version"],
                     "promoted" if document["promoted"] else "not promoted")  # fmt: skip
            return document, ""
        last = [e for e in errors if not e.startswith(f"train {model}: ")][-2:]
        log.warning("retraining of %s failed: %s", model, " ".join(last))
        return None, "\n".join(last) or f"cloud-hub train exited with {child.returncode}"

    # -- training runs asked for through the API (cloud_hub/training_runs.py) ----------------
    async def _training_runs(self) -> None:
        """Run the queued training runs, oldest first, each as a train child."""
        from cloud_hub import training_runs

        assert self.settings.db is not None
        conn = hubdb.connect(self.settings.db, check_same_thread=False)
        try:
            training_runs.ensure_schema(conn)
            if interrupted := training_runs.fail_interrupted(conn):
                log.warning("%d training runs were cut short by the last stop", interrupted)
            while not self.stop.is_set():
                run = await asyncio.to_thread(training_runs.claim_next, conn)
                if run is None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stop.wait(), timeout=TRAINING_POLL_S)
                    continue
                log.info("training run %d: %s for %s", run["id"], run["model"], run["actor"])

                async def progress(line: str, run_id: int = run["id"]) -> None:
                    await asyncio.to_thread(training_runs.set_progress, conn, run_id, line)

                try:
                    document, error = await self._train_child(run["model"], actor=run["actor"],
                                                              on_progress=progress)  # fmt: skip
                except asyncio.CancelledError:
                    await asyncio.shield(asyncio.to_thread(training_runs.finish, conn, run["id"],
                        error="the hub stopped while it ran: start it again"))  # fmt: skip
                    raise
                await asyncio.to_thread(training_runs.finish, conn, run["id"], result=document,
                                        error=error)  # fmt: skip
        finally:
            conn.close()

    # -- the gRPC API beside ingest (cloud_hub/api.py) --------------------------------------
    async def _start_api(self, options: link.LinkOptions) -> None:
        if self.settings.grpc_address is None:
            return
        self.api = ApiProcess(self.settings, options)
        try:
            await self.api.start()
        except HubConfigError:
            self.stop.set()
            raise

    async def _stop_api(self) -> None:
        if self.api is not None:
            await self.api.stop()
            self.api = None

    async def _serve(self, options: link.LinkOptions) -> None:
        streak = Streak("hub link to NATS", log)
        while not self.stop.is_set():
            try:
                if self.nc is None or self.nc.is_closed:
                    self.nc = await link.connect(options)
                    self.js = self.nc.jetstream()
                await ensure_streams(self.js, replicas=self.settings.stream_replicas)
                await distribution.ensure_buckets(self.js, replicas=self.settings.stream_replicas)
                streak.succeeded()
                log.info("hub ingesting from %s", ",".join(options.servers))
                await self._loops()
                return
            except (KitError, HubError, NatsError, OSError, TimeoutError) as exc:
                streak.failed(exc)
                delay = backoff_delay(streak.failures, cap_s=30.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), timeout=delay)

    async def _loops(self) -> None:
        """Ingest and heartbeats together; when one fails the other is cancelled, so the
        retry in ``_serve`` never leaves a second ingest loop running beside a new one."""
        tasks = [asyncio.create_task(self._ingest()), asyncio.create_task(self._heartbeats()),
                 asyncio.create_task(self._model_reports()),
                 asyncio.create_task(self._join_outcomes()),
                 asyncio.create_task(self._rollouts())]  # fmt: skip
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _ingest(self) -> None:
        async def acknowledge(result: IngestResult) -> None:
            if result.chains_advanced:
                await self._send_chain_acks(sorted(result.chains_advanced))

        stats = await consume(
            self.nc,
            self.storage,
            stop=self.stop,
            batch_size=self.settings.ingest_batch,
            on_batch=acknowledge,
        )
        log.info(
            "ingest stopped: %d messages, %d stored, %d duplicates, %d quarantined",
            stats.messages,
            stats.stored,
            stats.duplicates,
            stats.quarantined,
        )

    async def _join_outcomes(self) -> None:
        """Join what ingest stored to the decisions (cloud_hub/outcomes.py), in batches on a
        connection of its own in a worker thread: ingest's transactions stay short."""
        assert self.settings.db is not None
        conn = hubdb.connect(self.settings.db, check_same_thread=False)
        try:
            with hubdb.immediate(conn):
                queued = outcomes.backfill(conn)
            if queued:
                log.info("outcome join: %d records from before the join queued", queued)
            while not self.stop.is_set():
                try:
                    report = await asyncio.to_thread(outcomes.update, conn)
                except sqlite3.Error as exc:  # ingest goes on; the join catches up later
                    log.warning("outcome join: %s; retrying", exc)
                    report = outcomes.UpdateReport()
                if report.joined:
                    log.debug("outcome join: %d records, %d decisions joined",
                              report.records, report.joined)  # fmt: skip
                # More to do: let ingest take the write lock first; else wait for new records.
                pause = 0.05 if report.more else self.settings.outcome_join_interval_s
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), timeout=pause)
        finally:
            conn.close()

    async def _send_chain_acks(self, store_ids: list[str]) -> None:
        heads = self.storage.chain_heads(store_ids)
        for store_id, (length, head) in heads.items():
            ack = audit_pb2.ChainAck(store_id=store_id, chain_length=length, chain_head=head)
            ack.verified_at.FromDatetime(datetime.now(UTC))
            try:
                await self.js.publish(
                    subjects.down_subject(store_id, "chain_ack"),
                    ack.SerializeToString(deterministic=True),
                    headers={"Nats-Msg-Id": f"{store_id}:chain_ack:{length}"},
                )
            except NatsError as exc:  # the next batch acknowledges a longer chain
                log.debug("chain ack to %s not sent: %s", store_id, exc)

    async def _pull_status(
        self, kind: str, durable: str, handle: Callable[[Any], Awaitable[None]]
    ) -> None:
        """Pull ``storeedge.*.status.<kind>`` from the status stream and ``handle`` each
        message (a bad one is logged by ``handle``, never fatal), acking as it goes. On a
        cluster the consumer is replicated: right after it is made, or while a node is down,
        it may have no leader for seconds (503). That is ridden out, as ingest does; only a
        failure lasting 30 s goes up, to re-bind."""
        streak = Streak(f"fetching {kind} reports from {subjects.STATUS_STREAM}", log)
        sub = None
        while not self.stop.is_set():
            try:
                if sub is None:
                    sub = await self.js.pull_subscribe(
                        f"{subjects.PREFIX}.*.status.{kind}", durable=durable,
                        stream=subjects.STATUS_STREAM,
                        config=api.ConsumerConfig(ack_policy=api.AckPolicy.EXPLICIT),
                    )  # fmt: skip
                msgs = await sub.fetch(100, timeout=1.0)
            except (NatsTimeoutError, TimeoutError):
                continue
            except NatsError as exc:
                streak.failed(exc)
                if streak.failing_for() > 30.0:
                    raise
                await asyncio.sleep(1.0)
                continue
            streak.succeeded()
            for msg in msgs:
                await handle(msg)
                await msg.ack()

    async def _heartbeats(self) -> None:
        async def record(msg: Any) -> None:
            try:
                store_id, _, _ = subjects.parse_subject(msg.subject)
                beat = heartbeat_pb2.Heartbeat.FromString(msg.data)
            except Exception as exc:  # a bad beat is logged, never fatal
                log.warning("unreadable heartbeat on %s: %s", msg.subject, exc)
                return
            await asyncio.to_thread(
                self.storage.record_heartbeat, store_id, beat.agent_version, msg.data
            )

        await self._pull_status("heartbeat", HEARTBEAT_DURABLE, record)

    async def _model_reports(self) -> None:
        assert self.settings.db is not None
        db = self.settings.db

        async def record(msg: Any) -> None:
            try:
                report = model_pb2.ModelSwapReport.FromString(msg.data)
                # The subject names the store (the server holds it to its own).
                report.store_id = subjects.parse_subject(msg.subject)[0]
            except Exception as exc:  # a bad report is logged, never fatal
                log.warning("unreadable model report on %s: %s", msg.subject, exc)
                return
            await asyncio.to_thread(distribution.record_swap_report, db, report)
            log.info("store %s: model %s %s %s%s", report.store_id, report.model_name,
                     report.version, model_pb2.ModelSwapOutcome.Name(report.outcome),
                     f" ({report.reason})" if report.reason else "")  # fmt: skip

        await self._pull_status("model", MODEL_REPORTS_DURABLE, record)

    async def _rollouts(self) -> None:
        from cloud_hub import rollouts

        assert self.settings.db is not None
        while not self.stop.is_set():
            try:
                for change in await rollouts.advance(self.js, self.settings.db, self.settings):
                    log.info("rollout %s", change)
            except (HubError, KitError) as exc:  # a bad rollout is logged, ingest goes on
                log.warning("rollout pass failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=self.settings.rollout_tick_s)


def start_embedded_nats(settings: HubSettings) -> NatsServer:
    """The embedded nats-server (JetStream, 127.0.0.1, a free port) in
    ``settings.embedded_nats_dir``. It enforces the store registry like a production
    server: the hub's key and each registered store's, each store held to its own
    subjects (``cloud-hub stores add --embedded-nats DIR`` rewrites it and reloads)."""
    assert settings.embedded_nats_dir is not None and settings.db is not None
    with Registry(settings.db) as registry:
        written = apply_authorization(settings, registry)["written"]
    config = settings.embedded_nats_dir / "nats.conf"
    identity.write_authorization(
        config, f'# Written by cloud-hub serve.\ninclude "{Path(str(written)).name}"\n'
    )
    return NatsServer(settings.embedded_nats_dir, config_file=config).start()


def run_hub(settings: HubSettings) -> int:
    async def main() -> None:
        await Hub(settings).run()

    asyncio.run(main())
    return 0
