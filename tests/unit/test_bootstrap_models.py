"""The bootstrap models shipped in models/bootstrap: intact, current, servable."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from models import BOOTSTRAP_DIR
from models import features as F
from models.runtime import OnnxModel
from models.training import MODEL_SPECS

FEATURES = {
    "daily": F.DAILY_FEATURES,
    "protection": F.PROTECTION_FEATURES,
    "hourly": F.HOURLY_FEATURES,
    "availability": F.AVAILABILITY_FEATURES,
}


@pytest.mark.parametrize("name", sorted(MODEL_SPECS))
def test_shipped_model_matches_its_manifest_and_the_current_features(name: str):
    from cloud_hub.bootstrap import load_manifest

    onnx_path = BOOTSTRAP_DIR / f"{name}.onnx"
    manifest = load_manifest(BOOTSTRAP_DIR / f"{name}.manifest.json")
    blob = onnx_path.read_bytes()
    assert manifest.name == name
    assert manifest.sha256 == hashlib.sha256(blob).hexdigest()
    assert manifest.feature_spec_hash == F.FEATURE_SPEC_HASH, (
        "features changed since the bootstrap models were built: run `make models`"
    )
    names = FEATURES[MODEL_SPECS[name].feature_set]
    assert tuple(manifest.feature_names) == names
    assert manifest.training_window_start < manifest.training_window_end
    assert manifest.training_rows > 1000
    assert manifest.provenance
    assert manifest.metrics["parity.share_within_tolerance"] >= 0.995
    served = OnnxModel(blob)
    assert served.n_features == len(names)
    rows = np.abs(np.random.default_rng(0).normal(size=(64, len(names)))).astype(np.float32)
    predictions = served.predict(rows)
    assert np.isfinite(predictions).all()
    if MODEL_SPECS[name].objective == "binary":
        assert ((predictions >= 0) & (predictions <= 1)).all()


def test_a_model_on_demand_predicts_the_same_and_holds_no_session_between_runs():
    from edge_agent.cycle import load_models

    blob = (BOOTSTRAP_DIR / "replenishment_daily.onnx").read_bytes()
    rows = np.abs(np.random.default_rng(1).normal(size=(32, len(F.DAILY_FEATURES))))
    held = OnnxModel(blob)
    on_demand = held.on_demand()
    assert on_demand._session is None
    assert held._session is not None, "on_demand changed the model it was made from"
    np.testing.assert_array_equal(on_demand.predict(rows), held.predict(rows))
    assert on_demand._session is None, "the session outlived its prediction"
    # The edge's daily model is run only to compare a new version with: it waits unopened.
    assert load_models(BOOTSTRAP_DIR).daily._session is None
    with pytest.raises(ValueError, match="bytes, not a path"):
        OnnxModel(BOOTSTRAP_DIR / "labor.onnx").on_demand()


def test_released_models_hold_no_session_until_they_predict_the_same_again():
    from edge_agent.cycle import load_models

    models = load_models(BOOTSTRAP_DIR)
    rows = np.abs(np.random.default_rng(2).normal(size=(32, len(F.PROTECTION_FEATURES))))
    before = models.protection.predict(rows)
    served = [models.protection, models.protection_mean, models.labor, models.availability]
    assert all(model._session is not None for model in served)
    models.release()  # what the agent does once a cycle is done
    assert all(model._session is None for model in served)
    np.testing.assert_array_equal(models.protection.predict(rows), before)
    assert models.protection._session is not None, "a released model opens again and keeps it"
    # A model made from a path keeps its session: the file could change under it.
    from_path = OnnxModel(BOOTSTRAP_DIR / "labor.onnx")
    from_path.release()
    assert from_path._session is not None


@pytest.mark.parametrize(
    "name", sorted(n for n, s in MODEL_SPECS.items() if "category" in FEATURES[s.feature_set])
)
def test_shipped_models_forecast_a_sku_the_same_whatever_its_category(name: str):
    # A retailer's categories are not M5's departments: their codes must not pick a
    # department's level for a SKU (the bootstrap is trained without categories).
    from models.panels import category_code

    names = FEATURES[MODEL_SPECS[name].feature_set]
    rows = np.abs(np.random.default_rng(2).normal(size=(256, len(names)))) * 3
    rows = rows.astype(np.float32)
    served = OnnxModel((BOOTSTRAP_DIR / f"{name}.onnx").read_bytes())
    column = names.index("category")
    codes = [0, 1, 500, 996] + [category_code(f"FOODS_{k}") for k in (1, 2, 3)]
    codes += [category_code(c) for c in ("HOBBIES_1", "HOUSEHOLD_2", "dairy", "bakery")]
    forecasts = []
    for code in codes:
        rows[:, column] = code
        forecasts.append(served.predict(rows))
    for code, forecast in zip(codes[1:], forecasts[1:], strict=True):
        np.testing.assert_array_equal(forecast, forecasts[0], err_msg=f"category code {code}")
