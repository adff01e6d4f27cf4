"""Building the bootstrap models shipped under ``models/bootstrap``.

One command rebuilds them reproducibly from public retail data
(``cloud-hub models build-bootstrap --data ../shared/data``, or ``make models``):
replenishment from M5, labor and availability from FreshRetailNet. Training is
deterministic (fixed seeds, fixed threads), and a manifest's version and dates
come from the training window, never from the clock, so a rebuild writes the same
bytes. Each model ships as ``<name>.onnx`` plus ``<name>.manifest.json`` (a
``storeedge.v1.ModelManifest`` in protobuf JSON) with its sha256, feature-spec
hash, training window, row count, backtest metrics and data provenance.

The replenishment models are trained without M5's departments: a store's categories are
its own, and their codes (a hash of the name) would land between M5's seven at random,
each SKU then forecast like whichever department happened to be nearest. So the
shipped models never split on ``category`` and the manifests' backtest is run the same
way; the hub's retraining on a retailer's own outcomes does learn its categories.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf import json_format

from cloud_hub import backtest
from cloud_hub.datasets import (
    FRESHRETAILNET_PROVENANCE,
    M5_PROVENANCE,
    convert_freshretailnet,
    convert_m5,
)
from models import BOOTSTRAP_DIR
from models import features as F
from models.training import ONNX_OPSET, Trained, export_onnx, parity, sha256_hex
from storeedge.v1 import model_pb2

__all__ = ["BOOTSTRAP_DIR", "build_bootstrap", "load_manifest"]

_FEATURES = {
    "daily": F.DAILY_FEATURES,
    "protection": F.PROTECTION_FEATURES,
    "hourly": F.HOURLY_FEATURES,
    "availability": F.AVAILABILITY_FEATURES,
}


def load_manifest(path: Path) -> model_pb2.ModelManifest:
    return json_format.Parse(path.read_text(), model_pb2.ModelManifest())


def _flatten(metrics: dict[str, dict[str, Any]]) -> dict[str, float]:
    return {
        f"{method}.{name}": float(value)
        for method, values in metrics.items()
        for name, value in values.items()
        if isinstance(value, int | float) and np.isfinite(value)
    }


def _write(
    out: Path,
    trained: Trained,
    sample: np.ndarray,
    *,
    window: tuple[date, date],
    metrics: dict[str, float],
    provenance: str,
) -> dict[str, Any]:
    onnx_bytes = export_onnx(trained)
    check = parity(trained, onnx_bytes, sample)
    if not check.ok:
        raise RuntimeError(f"{trained.spec.name}: ONNX and LightGBM disagree ({check})")
    names = _FEATURES[trained.spec.feature_set]
    manifest = model_pb2.ModelManifest(
        name=trained.spec.name,
        version=f"bootstrap-{window[1]:%Y.%m.%d}",
        sha256=sha256_hex(onnx_bytes),
        feature_spec_hash=F.FEATURE_SPEC_HASH,
        training_window_start=window[0].isoformat(),
        training_window_end=window[1].isoformat(),
        training_rows=trained.rows,
        metrics=metrics | {"parity.share_within_tolerance": check.share_within_tolerance},
        opset=ONNX_OPSET,
        min_agent_version="0.1.0",
        inputs=["features"],
        outputs=["probabilities" if trained.spec.objective == "binary" else "variable"],
        provenance=provenance,
        feature_names=list(names),
    )
    manifest.created_at.FromDatetime(datetime.combine(window[1] + timedelta(days=1), time()))
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{trained.spec.name}.onnx").write_bytes(onnx_bytes)
    text = json_format.MessageToJson(manifest, indent=2, sort_keys=True)
    (out / f"{trained.spec.name}.manifest.json").write_text(text + "\n")
    return {"name": trained.spec.name, "sha256": manifest.sha256, "rows": trained.rows,
            "parity": check.share_within_tolerance}  # fmt: skip


def build_bootstrap(data: Path, out: Path = BOOTSTRAP_DIR) -> list[dict[str, Any]]:
    """Train, check and write every bootstrap model; returns one summary per model."""
    written = []
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        daily, calendar = convert_m5(data, work, with_category=False)
        hourly, transactions = convert_freshretailnet(data, work)

        stores, first_day, last_day = backtest.read_daily_sales(daily, calendar)
        panels = [s.panel for s in stores]
        last = panels[0].n_days - 1
        # trained as the backtest whose scores the manifests carry trains (within its row
        # budget: every other horizon per origin on M5)
        training, stride = backtest.training_sample(panels, last, 28)
        models = backtest.train_replenishment(
            training, last, 28, protection_days=None, horizon_stride=stride
        )
        scores = backtest.backtest_replenishment(daily, 28, calendar=calendar)["methods"]
        samples = {  # parity rows per feature set
            "daily": F.daily_features(panels[0], last - 28, range(1, 29)),
            "protection": F.protection_features(
                panels[0], last - 28, np.full(len(panels[0].skus), 7)
            ),
        }
        for model in models:
            written.append(_write(out, model, samples[model.spec.feature_set],
                                  window=(first_day, last_day), metrics=_flatten(scores),
                                  provenance=M5_PROVENANCE))  # fmt: skip

        _, traffic, first = backtest.read_transactions(transactions)
        last = traffic.shape[1] - 1
        labor, panel = backtest.train_labor(traffic, first, last, 7)
        scores = backtest.backtest_labor(transactions, 7)["methods"]
        window = (first, first + timedelta(days=last))
        written.append(_write(out, labor, F.hourly_features(panel, last - 7, range(1, 8)),
                              window=window, metrics=_flatten(scores),
                              provenance=FRESHRETAILNET_PROVENANCE))  # fmt: skip

        sku_panels, labels, n_days = backtest.read_hourly_skus(hourly)
        availability, threshold = backtest.train_availability(sku_panels, labels, n_days * 24)
        scores = backtest.backtest_availability(hourly, 7)["methods"]
        metrics = _flatten(scores) | {"decision_threshold": threshold}
        sample = F.availability_features(sku_panels[0])[:5000]
        window = (sku_panels[0].start, sku_panels[0].start + timedelta(days=n_days - 1))
        written.append(_write(out, availability, sample, window=window, metrics=metrics,
                              provenance=FRESHRETAILNET_PROVENANCE))  # fmt: skip
    return written
