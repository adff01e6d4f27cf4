"""LightGBM models exported to ONNX serve the same predictions through onnxruntime."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.runtime import OnnxModel
from models.training import (
    MODEL_SPECS,
    RMSSE_SMOOTHING,
    _rmsse_objective,
    export_onnx,
    parity,
    train,
)


def _data(spec, seed: int = 0):
    """Rows as wide as the spec needs (12, or up to its scale and unused columns), with a
    positive scale column for a scaled model and a target that grows with it."""
    rng = np.random.default_rng(seed)
    width = max(12, (spec.scale_column or 0) + 1, max(spec.unused, default=0) + 1)
    x = rng.normal(size=(4000, width)).astype(np.float32)
    signal = np.exp(0.5 * x[:, 0] - 0.3 * x[:, 1])
    if spec.scale_column is not None:
        x[:, spec.scale_column] = np.exp(x[:, spec.scale_column]) * 5
        signal = signal * x[:, spec.scale_column]
    if spec.feature_set == "availability":
        y = (rng.random(4000) < 1 / (1 + np.exp(-(2 * x[:, 0] - x[:, 2])))).astype(float)
    else:
        y = rng.poisson(signal * 3).astype(float)
    return x, y


@pytest.mark.parametrize("name", sorted(MODEL_SPECS))
def test_onnx_matches_lightgbm_within_tolerance(name: str):
    spec = dataclasses.replace(MODEL_SPECS[name], rounds=60)
    x, y = _data(spec)
    groups = np.arange(len(y)) // 28 if spec.objective == "rmsse" else None
    trained = train(spec, x, y, groups=groups, threads=1)
    onnx_bytes = export_onnx(trained)
    check = parity(trained, onnx_bytes, x)
    assert check.rows == 4000
    assert check.ok, check
    served = OnnxModel(onnx_bytes)
    assert served.n_features == x.shape[1]
    if spec.objective == "binary":
        probabilities = served.predict(x)
        assert ((probabilities >= 0) & (probabilities <= 1)).all()


def test_the_daily_mean_model_never_reads_its_unused_columns():
    spec = dataclasses.replace(MODEL_SPECS["replenishment_daily"], rounds=40)
    x, y = _data(spec)
    unused = list(spec.unused)
    y = y + 3 * (x[:, unused[0]] > 0)  # a signal in an unused column, which it must ignore
    groups = np.arange(len(y)) // 28
    trained = train(spec, x, y, groups=groups, threads=1)
    assert (trained.booster.feature_importance("split")[unused] == 0).all()
    assert trained.booster.feature_importance("split").sum() > 0
    served = OnnxModel(export_onnx(trained))
    moved = x.copy()
    moved[:, unused] = np.random.default_rng(1).normal(size=(len(x), len(unused))) * 100
    np.testing.assert_array_equal(trained.predict(moved), trained.predict(x))
    np.testing.assert_array_equal(served.predict(moved), served.predict(x))
    assert served.n_features == x.shape[1]  # the full row, as the P90 model reads it


def test_the_rmsse_loss_needs_a_group_per_row():
    spec = dataclasses.replace(MODEL_SPECS["replenishment_daily"], rounds=5)
    x, y = _data(spec)
    with pytest.raises(ValueError, match="one group id per row"):
        train(spec, x, y, threads=1)
    with pytest.raises(ValueError, match="one group id per row"):
        train(spec, x, y, groups=np.zeros(10), threads=1)


def test_the_rmsse_gradient_is_the_groups_root_mean_squared_error_s():
    rng = np.random.default_rng(3)
    target = rng.poisson(2.0, size=60).astype(float)
    groups = np.repeat([7, 3, 9], 20)  # any ids, in any order
    objective = _rmsse_objective(target, groups)
    predicted = rng.random(60) * 3

    def loss(p: np.ndarray) -> float:  # sum over groups of rows x sqrt(mse + smoothing)
        total = 0.0
        for g in np.unique(groups):
            e = (p - target)[groups == g]
            total += len(e) * np.sqrt(np.mean(e * e) + RMSSE_SMOOTHING)
        return total

    gradient, hessian = objective(predicted, None)
    step = 1e-6
    numeric = [
        (loss(predicted + step * np.eye(60)[i]) - loss(predicted - step * np.eye(60)[i]))
        / (2 * step)
        for i in range(60)
    ]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-4, atol=1e-6)
    assert (hessian > 0).all()
    # A group that already fits closely weighs its rows more: a level error costs linearly.
    assert hessian[groups == 7].mean() != pytest.approx(hessian[groups == 3].mean())


def test_a_scaled_model_learns_the_ratio_and_serves_the_units():
    spec = dataclasses.replace(MODEL_SPECS["labor"], rounds=60)
    assert spec.scale_column is not None
    x, y = _data(spec)
    trained = train(spec, x, y, threads=1)
    ratio = trained.booster.predict(x)
    assert 0.5 < np.median(ratio) < 10  # the booster itself predicts target / scale
    served = OnnxModel(export_onnx(trained)).predict(x)
    np.testing.assert_allclose(served, ratio * x[:, spec.scale_column], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(trained.predict(x), served, rtol=1e-3, atol=1e-3)
    # Rows without a positive scale cannot be trained on.
    x[:500, spec.scale_column] = 0.0
    assert train(dataclasses.replace(spec, rounds=5), x, y, threads=1).rows == 3500


def test_rows_without_an_observed_target_are_not_trained_on():
    spec = MODEL_SPECS["replenishment_daily"]
    x, y = _data(spec)
    y[:1000] = np.nan
    groups = np.arange(4000) // 28
    trained = train(dataclasses.replace(spec, rounds=10), x, y, groups=groups, threads=1)
    assert trained.rows == 3000
    with pytest.raises(ValueError, match="no rows with an observed target"):
        train(spec, x, np.full(4000, np.nan), groups=groups)


def test_served_model_refuses_features_of_the_wrong_width():
    spec = MODEL_SPECS["replenishment_daily_p90"]
    x, y = _data(spec)
    trained = train(dataclasses.replace(spec, rounds=5), x, y, threads=1)
    served = OnnxModel(export_onnx(trained))
    with pytest.raises(ValueError, match=r"shaped \(rows, 12\)"):
        served.predict(x[:, :11])


def test_training_and_export_are_reproducible_across_processes(tmp_path):
    """Same data, same bytes, whatever the interpreter's hash seed (a rebuild of the
    bootstrap models must not change them)."""
    import subprocess
    import sys

    script = (
        "import dataclasses, sys, numpy as np\n"
        "from models.training import MODEL_SPECS, export_onnx, train\n"
        "rng = np.random.default_rng(3)\n"
        "x = rng.normal(size=(3000, 16)).astype(np.float32)\n"
        "y = rng.poisson(np.exp(0.4 * x[:, 0]) * 2).astype(float)\n"
        "spec = dataclasses.replace(MODEL_SPECS['labor'], rounds=30)\n"
        "x[:, spec.scale_column] = np.exp(x[:, spec.scale_column])\n"
        "sys.stdout.buffer.write(export_onnx(train(spec, x, y, threads=2)))\n"
    )
    outputs = [
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout
        for seed in ("1", "2", "3")
    ]
    assert outputs[0] and outputs[0] == outputs[1] == outputs[2]
