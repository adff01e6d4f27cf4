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
    "BASE_PARAMS",
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
    # by scale, so an L1 loss is the WAPE of the scaled-back forecast; the "rmsse" loss
    # takes no weight: it is already per group) and serves prediction x scale; the
    # exported ONNX graph does the multiplication itself.
    scale_column: int | None = None
    # Feature columns (indices in the feature set) the model is not to split on: held
    # constant while it trains, so its exported graph still takes the feature set's full
    # rows, the rows its sibling models read.
    unused: tuple[int, ...] = ()


# Keeps the RMSSE loss's weights finite where a group's error is ~0 (in scaled units).
RMSSE_SMOOTHING = 1e-3


def _rmsse_objective(target: np.ndarray, groups: np.ndarray) -> Any:
    """LightGBM's gradient and hessian for the sum over groups of rows_g x sqrt(mse_g +
    smoothing): each group's root mean squared error, weighted by its rows (a forecast's
    horizons, fewer only for closed days). With a scaled target that is M5's RMSSE, one
    group per SKU and forecast origin.

    The Gauss-Newton hessian is 1 / sqrt(mse_g + smoothing) per row (the group's cross
    terms dropped), so each boosting round is a squared-error step weighted by how well
    the row's group already fits: a level error costs about linearly, as in the metric.
    """
    _, index = np.unique(groups, return_inverse=True)
    n_groups = int(index.max()) + 1
    count = np.bincount(index, minlength=n_groups)

    def objective(predicted: np.ndarray, _data: lgb.Dataset) -> tuple[np.ndarray, np.ndarray]:
        error = predicted - target
        mse = np.bincount(index, error * error, minlength=n_groups) / count
        weight = 1.0 / np.sqrt(mse[index] + RMSSE_SMOOTHING)
        return error * weight, weight

    return objective


#: LightGBM settings every model starts from (the reference models too).
BASE_PARAMS = {
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

# The daily mean model's unused columns: the demand levels in units (their per-scale twins
# serve it) and the 365-day levels per scale.
_DAILY_MEAN_UNUSED = (*F.PER_SCALE, "mean_365_per_scale", "mean_sold_365_per_scale")

MODEL_SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        # Daily demand, the point forecast: sales / naive_scale under the RMSSE loss
        # itself (each SKU and origin's 28 days one group, see _rmsse_objective);
        # objective, features and leaves chosen on two 28-day windows before M5's holdout
        # (BENCHMARKS.md). It reads the demand levels per scale only, and not the 365-day
        # ones: without them RMSSE fell 0.26 % on four validation windows, three seeds.
        # 600 rounds at most: fewer on a short history (cloud_hub.backtest.rounds_for).
        ModelSpec(
            "replenishment_daily",
            "daily",
            "rmsse",
            600,
            {"num_leaves": 31},
            scale_column=F.DAILY_FEATURES.index("naive_scale"),
            unused=tuple(F.DAILY_FEATURES.index(name) for name in _DAILY_MEAN_UNUSED),
        ),
        # Daily demand, the 90th percentile.
        ModelSpec("replenishment_daily_p90", "daily", "quantile", 300, {"alpha": 0.9}),
        # Total demand over the protection interval (lead time + review), its 90th percentile.
        ModelSpec("replenishment_protection_p90", "protection", "quantile", 400, {"alpha": 0.9}),
        # Total demand over the protection interval, its mean: an order's expected demand
        # (the forecast the hub scores orders by). Tweedie suits sums of counts with many
        # zeros: on four M5 windows its WAPE was 0.257, against 0.281 for squared error and
        # 0.290 for the 4-week same-weekday baseline (BENCHMARKS.md).
        ModelSpec(
            "replenishment_protection_mean",
            "protection",
            "tweedie",
            400,
            {"tweedie_variance_power": 1.5},
        ),
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
    groups: np.ndarray | None = None,
    threads: int = 2,
    rounds: int | None = None,
) -> Trained:
    """Fit one model (``rounds`` overrides the spec's); rows with a NaN target are dropped,
    and for a scaled model rows without a positive scale; the spec's unused columns are
    held at 0. The "rmsse" objective needs ``groups``: one id per row, the rows of one
    series and forecast origin sharing it."""
    keep = ~np.isnan(target)
    if weight is not None:
        keep &= np.isfinite(weight)
    if spec.scale_column is not None:
        scale = np.asarray(features[:, spec.scale_column], dtype=np.float64)
        keep &= scale > 0
        scale = np.where(keep, scale, 1.0)
        target = target / scale
        if spec.objective != "rmsse":
            weight = scale if weight is None else weight * scale
    if not keep.any():
        raise ValueError(f"{spec.name}: no rows with an observed target to train on")
    objective: Any = spec.objective
    if spec.objective == "rmsse":
        if groups is None or len(groups) != len(target):
            raise ValueError(f"{spec.name}: the rmsse objective needs one group id per row")
        objective = _rmsse_objective(np.asarray(target[keep], np.float64), groups[keep])
    params = {**BASE_PARAMS, **spec.params, "objective": objective, "num_threads": threads}
    rows = features[keep]  # a copy: boolean indexing
    if spec.unused:
        rows[:, list(spec.unused)] = 0.0  # one value: LightGBM never splits on the column
    data = lgb.Dataset(
        rows,
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
    params = booster.params
    if trained.spec.objective == "rmsse":
        # A custom loss leaves the booster without a named objective, which onnxmltools
        # refuses; its raw score is the prediction, as a plain regression's is.
        dumped["objective"] = "regression"
        booster.params = {**params, "objective": "regression"}
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
        booster.params = params
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
