"""Models from the hub: watch this store's desired versions, download, check, shadow, swap.

The hub writes the version each store should serve into the KV bucket
``storeedge-desired`` (key ``<store>.<model>``, a ``ModelOffer``) and the artifacts into
the object store ``storeedge-models`` (:mod:`cloud_hub.distribution`). The agent reads
its own keys through its own consumer (the server lets it read no other store's), and
for each offer of a version it does not serve:

1. downloads ``model.onnx`` and ``manifest.signed.binpb`` with ``obs.get(writeinto=)``
   into a staging folder;
2. runs the checks every served model passes (:func:`edge_agent.cycle.verify_model`:
   signature by a trusted key, name, feature spec, sha256, loads, finite probe);
3. runs it in shadow beside the serving model on recent local data: finite outputs,
   within sane bounds, within the latency budget, agreeing with the serving model
   within a tolerance (thresholds in :class:`edge_agent.config.EdgeSettings`);
4. swaps atomically on disk (files fsynced, the staging folder renamed to
   ``<name>/<version>/``, the ``<name>/current`` link replaced by rename; the previous
   version stays for rollback) and replaces the serving session only between cycles;
5. audits ``MODEL_CHANGED`` (activated, or refused with the reason) and reports a
   ``ModelSwapReport`` on ``storeedge.<store>.status.model``.

A refused model changes nothing: the store keeps serving what it served. The KV keeps the
last value, so a store offline at publish time gets its offer when it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import api
from nats.js.errors import NotFoundError

from edge_agent import audit, cycle, sync
from edge_agent.config import EdgeSettings
from edge_agent.cycle import SERVED_MODELS, ModelSet, verify_model
from edge_agent.errors import EdgeAgentError, ModelRefused
from edge_agent.mirror.db import Mirror
from models.runtime import OnnxModel
from storeedge import signing, subjects
from storeedge.retry import Streak, backoff_delay
from storeedge.v1 import audit_pb2, model_pb2

__all__ = [
    "PROBABILITY_MODELS",
    "SERVING_STATE_KEY",
    "ModelShelf",
    "ModelUpdater",
    "ShadowLimits",
    "audit_model_change",
    "serving_versions",
    "shadow_check",
    "shadow_features",
]

log = logging.getLogger("storeedge.models")

#: sync_state key: the versions the daemon serves (JSON), for `edge-agent status`.
SERVING_STATE_KEY = "models.serving"
_ONNX, _SIGNED = "model.onnx", "manifest.signed.binpb"
_DOWNLOAD_TIMEOUT_S = 120.0


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ModelShelf:
    """Received models on disk: ``<root>/<name>/<version>/{model.onnx,
    manifest.signed.binpb}`` and ``<root>/<name>/current`` -> ``<version>``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def current(self, name: str) -> str | None:
        link = self.root / name / "current"
        return os.readlink(link) if link.is_symlink() else None

    def files(self, name: str, version: str) -> tuple[Path, Path]:
        folder = self.root / name / version
        return folder / _ONNX, folder / _SIGNED

    def has(self, name: str, version: str) -> bool:
        return all(p.is_file() for p in self.files(name, version))

    def staging(self, name: str, version: str) -> Path:
        folder = self.root / name / f".staging-{version}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def commit(self, name: str, version: str, staging: Path) -> None:
        """The staged files, fsynced, become ``<name>/<version>/`` (one rename)."""
        for path in staging.iterdir():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(staging)
        target = self.root / name / version
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
        _fsync_dir(target.parent)

    def activate(self, name: str, version: str) -> str | None:
        """Point ``current`` at ``version`` (a new link renamed over the old one); keep
        the version it pointed at for rollback, drop older ones. Returns that previous."""
        previous = self.current(name)
        folder = self.root / name
        temporary = folder / ".current.tmp"
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        os.symlink(version, temporary)
        os.replace(temporary, folder / "current")
        _fsync_dir(folder)
        for old in folder.iterdir():
            keep = old.name in (version, previous) or old.name.startswith(".staging-")
            if old.is_dir() and not old.is_symlink() and not keep:
                shutil.rmtree(old, ignore_errors=True)
        return previous

    def load(self, name: str, version: str, trust: Mapping[str, signing.TrustedKey] | None
             ) -> tuple[OnnxModel, Any]:  # fmt: skip
        onnx_path, signed_path = self.files(name, version)
        try:
            blob, signed = onnx_path.read_bytes(), signed_path.read_bytes()
        except OSError as exc:
            raise ModelRefused(f"model {name}: {version} cannot be read from {onnx_path.parent}: "
                               f"{exc.strerror}", model=name) from None  # fmt: skip
        return verify_model(name, blob, signed, trust)


@dataclass(frozen=True)
class ShadowLimits:
    rows: int = 500
    max_seconds: float = 5.0
    min_output: float = -1.0
    max_output_factor: float = 10.0
    max_disagreement: float = 0.5

    @classmethod
    def from_settings(cls, settings: EdgeSettings) -> ShadowLimits:
        return cls(settings.shadow_rows, settings.shadow_max_seconds, settings.shadow_min_output,
                   settings.shadow_max_output_factor, settings.shadow_max_disagreement)  # fmt: skip


def shadow_features(mirror: Mirror, name: str, limit: int) -> np.ndarray | None:
    """Feature rows of ``name`` from the store's recent data, as the cycle computes them
    (the latest origin, up to ``limit`` SKUs); None when the mirror has no sales yet."""
    from edge_agent.mirror.panels import daily_panel, hourly_panel
    from models import features as F

    last = mirror.conn.execute("SELECT MAX(date) FROM daily_sales").fetchone()[0]
    if last is None:
        return None
    as_of = date.fromisoformat(last) + timedelta(days=1)
    start = as_of - timedelta(days=cycle._HISTORY_DAYS)
    if name == "availability":
        return _availability_features(mirror, date.fromisoformat(last), limit)
    if name == "labor":
        hourly = hourly_panel(mirror, start, as_of)
        origin = hourly.traffic.shape[1] - 2
        hourly.traffic[:, origin + 1 :, :] = np.nan
        return F.hourly_features(hourly, origin, [1])[:limit]
    protection = name in ("replenishment_protection_p90", "replenishment_protection_mean")
    if not protection:
        # The daily features' naive scale reads SCALE_DAYS back: more than the cycle's panel.
        start = min(start, as_of - timedelta(days=F.SCALE_DAYS))
    end = as_of + timedelta(days=cycle._LOOKAHEAD_DAYS)
    panel = daily_panel(mirror, start, end, sku_limit=limit)
    origin = panel.index(as_of) - 1
    panel.sales[:, origin + 1 :] = np.nan
    if not panel.skus:
        return None
    if protection:
        every = np.arange(len(panel.skus))
        return cycle._protection_features(panel, every, origin, np.full(len(every), 7))
    return F.daily_features(panel, origin, [1])


def _availability_features(mirror: Mirror, last: date, limit: int) -> np.ndarray | None:
    """The availability rows the next cycle would score (the last sales day's last trading
    hour, from the hourly blocks), for up to ``limit`` SKUs; None without sales lines for
    that day (the cycle's rule would decide, not the model)."""
    from edge_agent.mirror import hours as hour_windows
    from edge_agent.mirror.panels import daily_panel

    if not hour_windows.has_lines(mirror, last):
        return None
    # The usual price reads _PRICE_DAYS back from the scored day: nothing older is needed.
    panel = daily_panel(mirror, last - timedelta(days=cycle._PRICE_DAYS + 1),
                        last + timedelta(days=1))  # fmt: skip
    if not panel.skus:
        return None
    scored = panel.index(last)
    panel.sales[:, scored + 1 :] = np.nan
    shelf = cycle._ShelfInputs.of(panel, scored, scored, False)
    rows = list(range(min(limit, len(panel.skus))))
    return cycle._availability_rows(mirror, shelf, rows)[0]


#: Models whose output is a probability: outside [0, 1] is insane, whatever the serving
#: model says.
PROBABILITY_MODELS = ("availability",)


def shadow_check(name: str, version: str, candidate: OnnxModel, serving: OnnxModel,
                 features: np.ndarray | None, limits: ShadowLimits) -> int:  # fmt: skip
    """Run ``candidate`` beside ``serving`` on ``features``; the rows scored, or
    :class:`ModelRefused` naming the check that failed. A forecast must lie within
    ``min_output .. max_output_factor x`` the serving model's largest output, a probability
    within [0, 1]; agreement is the mean absolute difference over the serving model's mean
    output (at least 1: for probabilities, the mean difference in probability)."""

    def refuse(reason: str) -> ModelRefused:
        return ModelRefused(f"model {name}: {version} failed its shadow run: {reason}",
                            hint="the store keeps serving its previous version",
                            model=name)  # fmt: skip

    if features is None or len(features) == 0:
        features = np.zeros((1, serving.n_features), dtype=np.float32)
        rows = 0
    else:
        rows = len(features)
    if candidate.n_features != features.shape[1]:
        raise refuse(f"it reads {candidate.n_features} features, the store computes "
                     f"{features.shape[1]}")  # fmt: skip
    started = time.perf_counter()
    try:
        new = candidate.predict(features)
    except Exception as exc:  # onnxruntime's own errors: refuse, naming it
        raise refuse(f"onnxruntime failed on local data: {exc}") from None
    seconds = time.perf_counter() - started
    old = serving.predict(features)
    bad = int(np.count_nonzero(~np.isfinite(new)))
    if bad:
        raise refuse(f"{bad} of {len(new)} outputs on local data are NaN or infinite")
    if seconds > limits.max_seconds:
        raise refuse(f"{seconds:.2f} s for {len(new)} rows, over the budget of "
                     f"{limits.max_seconds} s")  # fmt: skip
    if name in PROBABILITY_MODELS:
        lower, upper = 0.0, 1.0
    else:
        lower, upper = limits.min_output, limits.max_output_factor * max(
            1.0, float(np.max(np.abs(old))))  # fmt: skip
    if float(new.min()) < lower or float(new.max()) > upper:
        raise refuse(f"outputs {new.min():.3g}..{new.max():.3g} are outside the sane bounds "
                     f"{lower:g}..{upper:.3g}")  # fmt: skip
    scale = max(float(np.mean(np.abs(old))), 1.0)  # counts: below one unit is noise
    disagreement = float(np.mean(np.abs(new - old))) / scale
    if disagreement > limits.max_disagreement:
        raise refuse(f"it differs from the serving model by {disagreement:.0%} of its mean "
                     f"output (tolerance {limits.max_disagreement:.0%})")  # fmt: skip
    return rows


def audit_model_change(mirror: Mirror, change: audit_pb2.ModelChange,
                       serving: Mapping[str, str] | None = None) -> None:  # fmt: skip
    """One MODEL_CHANGED record (and, when given, the versions now served) in one
    transaction."""
    name = change.model_name
    if change.outcome == "activated":
        summary = f"{name} {change.from_version or '-'} -> {change.to_version}"
    else:
        summary = f"refused {name} {change.to_version}: {change.reason}"
    with mirror.transaction():
        audit.append(mirror, audit_pb2.AUDIT_EVENT_TYPE_MODEL_CHANGED, subject_id=name,
                     summary=summary, model_change=change)  # fmt: skip
        if serving is not None:
            sync.write_state(mirror, SERVING_STATE_KEY, json.dumps(dict(serving), sort_keys=True))


def serving_versions(mirror: Mirror, settings: EdgeSettings) -> dict[str, str]:
    """What the store serves, by model: as the daemon last recorded it, or before any
    daemon ran, the configured (or shipped) models' manifests."""
    recorded = sync.read_state(mirror, SERVING_STATE_KEY)
    if recorded:
        return dict(json.loads(recorded))
    from google.protobuf import json_format

    from models import BOOTSTRAP_DIR

    folder = settings.models_dir or BOOTSTRAP_DIR
    versions = {}
    for name in SERVED_MODELS:
        with contextlib.suppress(OSError, json_format.ParseError):
            text = (folder / f"{name}.manifest.json").read_text()
            versions[name] = json_format.Parse(text, model_pb2.ModelManifest()).version
    return versions


class ModelUpdater:
    """The daemon's model loop (see the module docstring).

    ``serving()`` returns the ModelSet the cycles use (loading it if needed);
    ``swap(name, model, manifest)`` replaces one model between cycles (it waits for a
    cycle in flight; the manifest carries the version and, for availability, the decision
    threshold) and returns the versions now served.
    """

    def __init__(
        self,
        *,
        store_id: str,
        settings: EdgeSettings,
        trust: Mapping[str, signing.TrustedKey] | None,
        mirror: Mirror,
        shelf: ModelShelf,
        serving: Callable[[], ModelSet],
        swap: Callable[[str, OnnxModel, model_pb2.ModelManifest], dict[str, str]],
    ) -> None:
        self.store_id = store_id
        self.settings = settings
        self.trust = trust
        self.mirror = mirror
        self.shelf = shelf
        self.serving = serving
        self.swap = swap
        self.limits = ShadowLimits.from_settings(settings)
        self.refused: dict[str, str] = {}  # model -> version refused (not retried)
        self.unsent: list[model_pb2.ModelSwapReport] = []
        self.reports: list[model_pb2.ModelSwapReport] = []  # this run's, newest last

    async def run(self, js: Any, stop: asyncio.Event) -> None:
        streak = Streak("model updates from the hub", log)
        sub = None
        while not stop.is_set():
            try:
                if sub is None:
                    sub = await self._subscribe(js)
                msgs = await sub.fetch(16, timeout=1.0)
            except (NatsTimeoutError, TimeoutError):
                await self._send_reports(js)
                continue
            except NatsError as exc:  # no bucket yet, link down, refused: try again later
                streak.failed(exc)
                sub = None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff_delay(
                        streak.failures, self.settings.backoff_max_s))  # fmt: skip
                continue
            streak.succeeded()
            for msg in msgs:
                if (msg.headers or {}).get("KV-Operation") in ("DEL", "PURGE"):
                    continue
                try:
                    offer = model_pb2.ModelOffer.FromString(msg.data)
                except Exception as exc:  # a bad value is logged, never fatal
                    log.warning("unreadable model offer on %s: %s", msg.subject, exc)
                    continue
                try:
                    report = await self.handle(js, offer, time.monotonic())
                except (NatsError, TimeoutError, OSError) as exc:
                    # Transient (link, disk): a fresh consumer brings the offer again.
                    streak.failed(exc)
                    sub = None
                    break
                if report is not None:
                    self.unsent.append(report)
            await self._send_reports(js)
            if sub is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff_delay(
                        streak.failures, self.settings.backoff_max_s))  # fmt: skip

    async def _subscribe(self, js: Any) -> Any:
        """This store's consumer on its desired keys, made fresh so every key's last value
        comes again (the store compares them with what it serves)."""
        stream, name = f"KV_{subjects.DESIRED_BUCKET}", subjects.desired_consumer(self.store_id)
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(stream, name)
        config = api.ConsumerConfig(
            name=name, filter_subject=subjects.desired_filter(self.store_id),
            deliver_policy=api.DeliverPolicy.LAST_PER_SUBJECT, ack_policy=api.AckPolicy.NONE,
            inactive_threshold=3600.0, mem_storage=True, num_replicas=1,
        )  # fmt: skip
        await js.add_consumer(stream, config)
        return await js.pull_subscribe_bind(consumer=name, stream=stream)

    async def _send_reports(self, js: Any) -> None:
        while self.unsent:
            report = self.unsent[0]
            try:
                await js.publish(subjects.model_status_subject(self.store_id),
                                 report.SerializeToString(deterministic=True),
                                 timeout=self.settings.ack_timeout_s)  # fmt: skip
            except (NatsError, TimeoutError) as exc:  # offline: the next pass sends it
                log.debug("model report not sent: %s", exc)
                return
            self.unsent.pop(0)

    async def handle(self, js: Any, offer: model_pb2.ModelOffer,
                     seen_at: float) -> model_pb2.ModelSwapReport | None:  # fmt: skip
        """Apply or refuse one offer; None when there is nothing to do."""
        name, version = offer.model_name, offer.version
        serving = await asyncio.to_thread(self.serving)
        previous = serving.versions.get(name, "")
        if version == previous or self.refused.get(name) == version:
            return None
        report = model_pb2.ModelSwapReport(store_id=self.store_id, model_name=name,
                                           version=version, previous_version=previous)  # fmt: skip
        staging: Path | None = None
        try:
            if name not in SERVED_MODELS:
                raise ModelRefused(f"model {name}: this agent does not serve it", model=name)
            if self.trust is None:
                raise ModelRefused(f"model {name}: this store trusts no hub key, so it cannot "
                                   "check a received model", model=name,
                                   hint="give the agent a --trust file")  # fmt: skip
            if not self.shelf.has(name, version):
                staging = await self._download(js, name, version)
            model, manifest, rows = await asyncio.to_thread(self._check, name, version, staging,
                                                            serving)  # fmt: skip
            await asyncio.to_thread(self._install, name, version, staging)
            staging = None
            now_serving = await asyncio.to_thread(self.swap, name, model, manifest)
        except ModelRefused as exc:
            self.refused[name] = version
            report.outcome = model_pb2.MODEL_SWAP_OUTCOME_REFUSED
            report.reason = exc.message
            change = audit_pb2.ModelChange(model_name=name, from_version=previous,
                                           to_version=version, outcome="refused",
                                           reason=exc.message, sha256=offer.sha256)  # fmt: skip
            await asyncio.to_thread(audit_model_change, self.mirror, change)
            log.error("refused %s: %s (serving %s still)", version, exc.message, previous)
        else:
            report.outcome = model_pb2.MODEL_SWAP_OUTCOME_APPLIED
            report.shadow_rows = rows
            change = audit_pb2.ModelChange(model_name=name, from_version=previous,
                                           to_version=version, outcome="activated",
                                           sha256=offer.sha256)  # fmt: skip
            await asyncio.to_thread(audit_model_change, self.mirror, change, now_serving)
            log.info("model %s: now serving %s (was %s)", name, version, previous)
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
        report.swap_seconds = time.monotonic() - seen_at
        report.reported_at.FromDatetime(self.mirror.clock.now().astimezone(UTC))
        self.reports.append(report)
        return report

    async def _download(self, js: Any, name: str, version: str) -> Path:
        from nats.js.errors import BadObjectMetaError, DigestMismatchError

        staging = await asyncio.to_thread(self.shelf.staging, name, version)
        obs = await js.object_store(subjects.MODELS_BUCKET)
        for part in (_ONNX, _SIGNED):
            target = staging / part
            try:
                with target.open("wb") as handle:
                    await asyncio.wait_for(
                        obs.get(subjects.model_object(name, version, part), writeinto=handle),
                        _DOWNLOAD_TIMEOUT_S)  # fmt: skip
            except (DigestMismatchError, BadObjectMetaError):
                reason = f"the download of {part} is corrupted or truncated (object digest)"
                raise ModelRefused(f"model {name}: {version}: {reason}", model=name) from None
            except NotFoundError:
                reason = f"{version} has no {part} in the hub's object store"
                raise ModelRefused(f"model {name}: {reason}", model=name,
                                   hint="publish it again") from None  # fmt: skip
        return staging

    def _check(self, name: str, version: str, staging: Path | None,
               serving: ModelSet) -> tuple[OnnxModel, Any, int]:  # fmt: skip
        """verify_model's checks, then the shadow run (worker thread): (session, manifest,
        rows shadow-scored)."""
        if staging is None:
            model, manifest = self.shelf.load(name, version, self.trust)
        else:
            blob, signed = (staging / _ONNX).read_bytes(), (staging / _SIGNED).read_bytes()
            model, manifest = verify_model(name, blob, signed, self.trust)
        if manifest.version != version:
            raise ModelRefused(f"model {name}: offered as {version}, but its signed manifest "
                               f"says {manifest.version}", model=name)  # fmt: skip
        try:
            features = shadow_features(self.mirror, name, self.limits.rows)
        except (sqlite3.Error, ValueError, EdgeAgentError) as exc:
            raise ModelRefused(f"model {name}: {version}: no shadow run, the store's data "
                               f"could not be read: {exc}", model=name) from None  # fmt: skip
        current = cycle.serving(serving, name)
        rows = shadow_check(name, version, model, current or model, features, self.limits)
        return model, manifest, rows

    def _install(self, name: str, version: str, staging: Path | None) -> None:
        if staging is not None:
            self.shelf.commit(name, version, staging)
        self.shelf.activate(name, version)
