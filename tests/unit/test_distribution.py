"""Model distribution, piece by piece: which stores the hub may offer a version to, the
object names, the received-models shelf on disk (atomic switch, previous kept), and the
availability model's own checks (probabilities, its decision threshold)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from google.protobuf import json_format

from cloud_hub.distribution import compatibility_problem
from edge_agent.cycle import load_models, verify_model, with_model
from edge_agent.errors import ModelRefused
from edge_agent.model_updates import ModelShelf, ShadowLimits, shadow_check
from models import BOOTSTRAP_DIR
from models import features as F
from storeedge import subjects
from storeedge.v1 import heartbeat_pb2, model_pb2


def beat(agent: str, features: str = F.FEATURE_SPEC_HASH) -> heartbeat_pb2.Heartbeat:
    return heartbeat_pb2.Heartbeat(agent_version=agent, feature_spec_hashes={"features": features})


@pytest.mark.parametrize(
    ("heartbeat", "problem"),
    [
        (beat("0.2.0"), None),
        (beat("0.10.1"), None),  # versions compare as numbers, not text
        (beat("0.1.9"), "agent 0.1.9 is older than the model's minimum 0.2.0"),
        (beat("0.3.0", "0" * 16), "it computes features 0000000000000000, the model needs"),
        (None, "no heartbeat yet"),
    ],
)
def test_a_version_is_offered_only_to_stores_that_can_run_it(heartbeat, problem):
    manifest = model_pb2.ModelManifest(name="labor", version="v2", min_agent_version="0.2.0",
                                       feature_spec_hash=F.FEATURE_SPEC_HASH)  # fmt: skip
    found = compatibility_problem(manifest, heartbeat)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)


def test_object_names_and_desired_keys_refuse_what_would_break_a_subject():
    assert subjects.model_object("labor", "2026.11.27-1", "model.onnx") == (
        "labor/2026.11.27-1/model.onnx")  # fmt: skip
    assert subjects.desired_key("S001", "labor") == "S001.labor"
    with pytest.raises(ValueError, match="model version"):
        subjects.model_object("labor", "../v1", "model.onnx")
    with pytest.raises(ValueError, match="store id"):
        subjects.desired_key("S00*", "labor")


def test_the_shelf_switches_atomically_and_keeps_the_previous_version(tmp_path):
    shelf = ModelShelf(tmp_path / "received")
    for version in ("v1", "v2", "v3"):
        staging = shelf.staging("labor", version)
        (staging / "model.onnx").write_bytes(version.encode())
        (staging / "manifest.signed.binpb").write_bytes(b"signed " + version.encode())
        shelf.commit("labor", version, staging)
        shelf.activate("labor", version)
        assert shelf.current("labor") == version
        assert os.readlink(tmp_path / "received" / "labor" / "current") == version
    assert shelf.has("labor", "v2") and not shelf.has("labor", "v1")  # previous kept, older not
    assert shelf.files("labor", "v3")[0].read_bytes() == b"v3"
    assert not list((tmp_path / "received" / "labor").glob(".staging-*"))


class Constant:
    """Stands in for an OnnxModel in shadow_check: one value for every row."""

    def __init__(self, value: float, n_features: int = 3) -> None:
        self.value, self.n_features = value, n_features

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.full(len(features), self.value)


@pytest.mark.parametrize(
    ("candidate", "refused"),
    [
        (0.35, None),
        (1.2, "outputs 1.2..1.2 are outside the sane bounds 0..1"),
        (-0.1, "outside the sane bounds 0..1"),
        (0.9, "it differs from the serving model by 60%"),  # 0.9 vs 0.3 in probability
    ],
)
def test_an_availability_shadow_run_wants_probabilities_close_to_the_serving_ones(
    candidate, refused
):
    rows = np.ones((20, 3), dtype=np.float32)
    limits = ShadowLimits()
    run = lambda: shadow_check("availability", "v2", Constant(candidate), Constant(0.3),  # noqa: E731
                               rows, limits)  # fmt: skip
    if refused is None:
        assert run() == 20
    else:
        with pytest.raises(ModelRefused, match=refused):
            run()
    # An output of 1.2 is no trouble for a count model (beside one of 1.0).
    assert shadow_check("labor", "v2", Constant(1.2), Constant(1.0), rows, limits) == 20


def _manifest(name: str) -> model_pb2.ModelManifest:
    text = (BOOTSTRAP_DIR / f"{name}.manifest.json").read_text()
    return json_format.Parse(text, model_pb2.ModelManifest())


def test_the_availability_threshold_travels_with_its_session_and_is_required():
    blob = (BOOTSTRAP_DIR / "availability.onnx").read_bytes()
    manifest = _manifest("availability")
    model, _ = verify_model("availability", blob, manifest, None)
    manifest.version, manifest.metrics["decision_threshold"] = "v2", 0.75
    served = with_model(load_models(BOOTSTRAP_DIR), "availability", model, manifest)
    assert (served.versions["availability"], served.availability_threshold) == ("v2", 0.75)
    del manifest.metrics["decision_threshold"]
    with pytest.raises(ModelRefused, match="v2: the manifest has no decision_threshold"):
        verify_model("availability", blob, manifest, None)
