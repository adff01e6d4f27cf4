"""Training (LightGBM), ONNX export and the parity check between the two.

Hub-side only: importing this module needs the ``hub`` extra (lightgbm,
onnxmltools, onnx). Stores run the exported ONNX graphs with onnxruntime
(:mod:`models.runtime`) and never import LightGBM.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np

from models import features as F
from models.runtime import OnnxModel

__all__ = [
    "MODEL_SPECS",
    "ModelSpec",
    "Trained",
    "export_onnx",
    "parity",
    "train",
]

ONNX_OPSET = 15  # onnxmltools supports LightGBM up to opset 15


@dataclass(frozen=True)
class ModelSpec:
    """A model of the kit: its LightGBM objective and parameters."""

    name: str
    feature_set: str  # "daily", "protection", "hourly" or "availability"
    objective: str
    rounds: int
    params: dict[str, Any] = field(default_factory=dict)
    # A feature column holding the row's scale: the model learns target / scale (weighted
    # by scale, so an L1 loss is the WAPE of the scaled-back forecast) and serves
    # prediction x scale; the exported ONNX graph does the multiplication itself.
    scale_column: int | None = None


_BASE = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 200,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "verbose": -1,
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
}

MODEL_SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        # Daily demand, the mean: a Tweedie loss (a log link, for counts that are mostly
        # small and often zero); objective, leaves and rounds chosen on two 28-day windows
        # before M5's holdout (BENCHMARKS.md).
        ModelSpec(
            "replenishment_daily",
            "daily",
            "tweedie",
            600,
            {"num_leaves": 63, "tweedie_variance_power": 1.5},
        ),
        # Daily demand, the 90th percentile.
        ModelSpec("replenishment_daily_p90", "daily", "quantile", 300, {"alpha": 0.9}),
        # Total demand over the protection interval (lead time + review), its 90th percentile.
        ModelSpec("replenishment_protection_p90", "protection", "quantile", 400, {"alpha": 0.9}),
        # Transactions per store-hour as a ratio to the hour's expected profile (a
        # smoothed weekday-hour mean, features.py): small trees, rounds chosen on the
        # last training week (cloud_hub.backtest.train_labor).
        ModelSpec(
            "labor",
            "hourly",
            "regression_l1",
            300,
            {"num_leaves": 3, "min_data_in_leaf": 200, "learning_rate": 0.03},
            scale_column=F.HOURLY_FEATURES.index("profile"),
        ),
        ModelSpec("availability", "availability", "binary", 300, {"min_data_in_leaf": 50}),
    )
}


@dataclass
class Trained:
    spec: ModelSpec
    booster: lgb.Booster
    n_features: int
    rows: int

    def predict(self, features: np.ndarray, rounds: int | None = None) -> np.ndarray:
        """Predictions in the target's units (scaled back for a scaled model); ``rounds``
        uses only the first boosting rounds."""
        out = np.asarray(self.booster.predict(features, num_iteration=rounds), dtype=np.float64)
        if self.spec.scale_column is not None:
            out = out * np.asarray(features[:, self.spec.scale_column], dtype=np.float32)
        return out


def train(
    spec: ModelSpec,
    features: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    threads: int = 2,
    rounds: int | None = None,
) -> Trained:
    """Fit one model (``rounds`` overrides the spec's); rows with a NaN target are dropped,
    and for a scaled model rows without a positive scale."""
    keep = ~np.isnan(target)
    if weight is not None:
        keep &= np.isfinite(weight)
    if spec.scale_column is not None:
        scale = np.asarray(features[:, spec.scale_column], dtype=np.float64)
        keep &= scale > 0
        scale = np.where(keep, scale, 1.0)
        target = target / scale
        weight = scale if weight is None else weight * scale
    if not keep.any():
        raise ValueError(f"{spec.name}: no rows with an observed target to train on")
    params = {**_BASE, **spec.params, "objective": spec.objective, "num_threads": threads}
    data = lgb.Dataset(
        features[keep],
        target[keep],
        weight=None if weight is None else weight[keep],
        free_raw_data=True,
    )
    booster = lgb.train(params, data, num_boost_round=rounds or spec.rounds)
    return Trained(spec, booster, features.shape[1], int(keep.sum()))


def export_onnx(trained: Trained) -> bytes:
    """The ONNX graph of a trained model: input "features" float32 [N, n_features]."""
    from onnxmltools.convert import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    booster = trained.booster
    dumped = _float32_safe(booster.dump_model())
    # onnxmltools reads trees with its own fast JSON parser unless the booster says it is
    # a mock; then it calls dump_model(): hand it the adjusted, full-precision copy.
    booster.dump_model = lambda *args, **kwargs: dumped  # type: ignore[method-assign]
    booster.is_mock = True  # type: ignore[attr-defined]
    try:
        model = convert_lightgbm(
            booster,
            name=trained.spec.name,
            initial_types=[("features", FloatTensorType([None, trained.n_features]))],
            target_opset=ONNX_OPSET,
            zipmap=False,
        )
    finally:
        del booster.dump_model
        del booster.is_mock
    if trained.spec.scale_column is not None:
        _scale_output(model, trained.spec.scale_column)
    # The converter lists opset imports in set order, which changes with the hash seed of
    # the process: sort them so a rebuild writes the same bytes.
    imports = sorted(model.opset_import, key=lambda entry: entry.domain)
    del model.opset_import[:]
    model.opset_import.extend(imports)
    return model.SerializeToString()


def _scale_output(model: Any, column: int) -> None:
    """Multiply the graph's output by the input column ``column``: the served model then
    answers in the target's units, as :meth:`Trained.predict` does."""
    from onnx import helper, numpy_helper

    graph = model.graph
    name = graph.output[0].name
    for node in graph.node:
        node.output[:] = [f"{name}_ratio" if out == name else out for out in node.output]
    graph.initializer.append(numpy_helper.from_array(np.array([column], np.int64), "scale_at"))
    graph.node.append(
        helper.make_node("Gather", [graph.input[0].name, "scale_at"], ["scale"], axis=1)
    )
    graph.node.append(helper.make_node("Mul", [f"{name}_ratio", "scale"], [name]))


def _float32_safe(dump: dict[str, Any]) -> dict[str, Any]:
    """Thresholds an ONNX float32 tree compares exactly as LightGBM compares doubles.

    LightGBM splits at midpoints between feature values, in double precision; ONNX
    stores float32 thresholds, and rounding a midpoint to the nearest float32 can land
    on a value the data holds (counts, means of counts), sending it the other way. For
    ``x <= t`` with float32 ``x``, the largest float32 not above ``t`` decides the same.
    """

    def walk(node: dict[str, Any]) -> None:
        if "split_index" not in node:
            return
        threshold = node.get("threshold")
        if node.get("decision_type") == "<=" and isinstance(threshold, int | float):
            value = np.float32(threshold)
            if float(value) > threshold:
                value = np.nextafter(value, np.float32(-np.inf))
            node["threshold"] = float(value)
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in dump["tree_info"]:
        walk(tree["tree_structure"])
    return dump


@dataclass(frozen=True)
class Parity:
    rows: int
    max_abs_diff: float
    share_within_tolerance: float

    @property
    def ok(self) -> bool:
        # ONNX compares float32 split thresholds where LightGBM uses float64: a few rows
        # near a threshold may take the other branch (../shared/STACK.md).
        return self.share_within_tolerance >= 0.995


def parity(trained: Trained, onnx_bytes: bytes, features: np.ndarray, tol: float = 1e-3) -> Parity:
    """Compare ONNX (onnxruntime) and LightGBM predictions on the same rows."""
    reference = trained.predict(features)
    served = OnnxModel(onnx_bytes).predict(features.astype(np.float32))
    diff = np.abs(served - reference)
    scale = np.maximum(np.abs(reference), 1.0)
    within = diff <= tol * scale
    return Parity(len(reference), float(diff.max(initial=0.0)), float(within.mean()))


def sha256_hex(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()
