"""Signed models: a store serves only models signed by a hub key it trusts, and refuses,
naming the reason, anything unsigned, untrusted, changed, corrupt, built on other
features, unrunnable or producing non-finite outputs. Keys rotate with overlapping trust."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from google.protobuf import json_format
from onnx import TensorProto, helper

from cloud_hub.cli import main as hub
from edge_agent import audit
from edge_agent.config import EdgeSettings
from edge_agent.cycle import load_models
from edge_agent.daemon import Agent
from edge_agent.errors import ModelRefused
from models import BOOTSTRAP_DIR
from storeedge import signing
from storeedge.v1 import model_pb2
from tests.helpers import empty_store


def hub_json(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert hub([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def signed(tmp_path, capsys):
    """A hub with a signing key, the shipped models signed by it, and its trust file."""
    db = tmp_path / "hub" / "hub.db"
    hub_json(capsys, "keys", "generate", "--db", str(db), "--by", "ana")
    trust = tmp_path / "hub-keys.pub"
    hub_json(capsys, "keys", "public", "--db", str(db), "--out", str(trust))
    folder = tmp_path / "models"
    shutil.copytree(BOOTSTRAP_DIR, folder)
    signed_names = hub_json(capsys, "models", "sign", str(folder), "--db", str(db))["signed"]
    assert "labor" in signed_names
    return db, folder, trust


def manifest_of(folder: Path, name: str) -> model_pb2.ModelManifest:
    text = (folder / f"{name}.manifest.json").read_text()
    return json_format.Parse(text, model_pb2.ModelManifest())


def resign(db: Path, folder: Path, name: str, manifest: model_pb2.ModelManifest) -> None:
    """Write ``manifest`` for ``name`` and sign the folder again with the hub's key."""
    (folder / f"{name}.manifest.json").write_text(json_format.MessageToJson(manifest))
    assert hub(["models", "sign", str(folder), "--db", str(db)]) == 0


def nan_model(n_features: int) -> bytes:
    """A regressor-shaped graph whose output is NaN for any input."""
    graph = helper.make_graph(
        [helper.make_node("Mul", ["input", "nan"], ["scaled"]),
         helper.make_node("ReduceSum", ["scaled", "axes"], ["variable"], keepdims=1)],
        "nan", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, n_features])],
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])],
        [helper.make_tensor("nan", TensorProto.FLOAT, [1], [float("nan")]),
         helper.make_tensor("axes", TensorProto.INT64, [1], [1])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def test_signed_models_from_a_trusted_key_are_served(signed):
    _db, folder, trust = signed
    models = load_models(folder, signing.load_trust([trust]))
    assert models.versions["labor"] == manifest_of(folder, "labor").version


def _unsigned(db, folder):
    (folder / "labor.signed.binpb").unlink()


def _other_hubs_key(db, folder):
    other = db.parent.parent / "other" / "hub.db"
    copy = other.parent / "models"
    shutil.copytree(folder, copy)
    assert hub(["keys", "generate", "--db", str(other)]) == 0
    assert hub(["models", "sign", str(copy), "--db", str(other)]) == 0
    shutil.copy(copy / "labor.signed.binpb", folder / "labor.signed.binpb")


def _manifest_changed_after_signing(db, folder):
    path = folder / "labor.signed.binpb"
    envelope = model_pb2.SignedManifest.FromString(path.read_bytes())
    manifest = model_pb2.ModelManifest.FromString(envelope.manifest)
    manifest.min_agent_version = "0.0.1"  # any edit, however harmless it looks
    envelope.manifest = manifest.SerializeToString()
    path.write_bytes(envelope.SerializeToString())


def _corrupted_bytes(db, folder):
    blob = bytearray((folder / "labor.onnx").read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (folder / "labor.onnx").write_bytes(bytes(blob))


def _truncated_download(db, folder):
    blob = (folder / "labor.onnx").read_bytes()
    (folder / "labor.onnx").write_bytes(blob[: len(blob) // 3])


def _other_feature_spec(db, folder):
    manifest = manifest_of(folder, "labor")
    manifest.feature_spec_hash = "0" * 16
    resign(db, folder, "labor", manifest)


def _graph_fails_to_load(db, folder):
    garbage = b"not an onnx graph at all" * 100
    (folder / "labor.onnx").write_bytes(garbage)
    manifest = manifest_of(folder, "labor")
    manifest.sha256 = hashlib.sha256(garbage).hexdigest()
    resign(db, folder, "labor", manifest)


def _nan_outputs(db, folder):
    current = onnx.load_from_string((folder / "labor.onnx").read_bytes())
    n_features = current.graph.input[0].type.tensor_type.shape.dim[1].dim_value
    blob = nan_model(n_features)
    (folder / "labor.onnx").write_bytes(blob)
    manifest = manifest_of(folder, "labor")
    manifest.sha256 = hashlib.sha256(blob).hexdigest()
    resign(db, folder, "labor", manifest)


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (_unsigned, "unsigned"),
        (_other_hubs_key, "which this store does not trust"),
        (_manifest_changed_after_signing, "changed after signing"),
        (_corrupted_bytes, "corrupted or truncated"),
        (_truncated_download, "corrupted or truncated"),
        (_other_feature_spec, "was built on features 0000000000000000"),
        (_graph_fails_to_load, "onnxruntime cannot run it"),
        (_nan_outputs, "outputs are not finite"),
    ],
)
def test_an_unsafe_model_is_refused_with_its_reason(signed, break_it, reason):
    db, folder, trust = signed
    break_it(db, folder)
    with pytest.raises(ModelRefused, match=reason) as refused:
        load_models(folder, signing.load_trust([trust]))
    assert refused.value.model == "labor"


def test_rotation_keeps_old_signatures_valid_until_the_old_key_is_retired(signed, capsys):
    db, folder, trust = signed
    old_id = hub_json(capsys, "keys", "public", "--db", str(db))["keys"][0]["key_id"]
    rotated = hub_json(capsys, "keys", "rotate", "--db", str(db), "--by", "ana")
    assert rotated["key_id"] != old_id
    both = db.parent / "both.pub"
    hub_json(capsys, "keys", "public", "--db", str(db), "--out", str(both))
    assert len(signing.load_trust([both])) == 2
    # During the change a store trusting both keys runs old and new signatures alike.
    load_models(folder, signing.load_trust([both]))  # still signed by the old key
    new_folder = folder.parent / "models-new"
    shutil.copytree(folder, new_folder)
    assert hub(["models", "sign", str(new_folder), "--db", str(db)]) == 0
    load_models(new_folder, signing.load_trust([both]))
    load_models(new_folder, signing.load_trust([trust, both]))
    # Retired: the published trust holds the new key only, and the old signatures fail.
    hub_json(capsys, "keys", "retire", old_id, "--db", str(db), "--by", "ana")
    only_new = db.parent / "new.pub"
    hub_json(capsys, "keys", "public", "--db", str(db), "--out", str(only_new))
    assert list(signing.load_trust([only_new])) == [rotated["key_id"]]
    load_models(new_folder, signing.load_trust([only_new]))
    with pytest.raises(ModelRefused, match="does not trust"):
        load_models(folder, signing.load_trust([only_new]))
    actions = [r["action"] for r in hub_json(capsys, "hub-audit", "show", "--db",
                                             str(db))["records"]]  # fmt: skip
    assert actions[:3] == ["signing_key.retired", "signing_key.rotated", "signing_key.generated"]


def test_a_store_refuses_unsafe_models_audits_it_and_decides_with_the_shipped_ones(
    signed, tmp_path
):
    _db, folder, trust = signed
    _corrupted_bytes(_db, folder)
    db = empty_store(tmp_path / "s1.db")
    settings = EdgeSettings(db=db, nats_url="nats://127.0.0.1:1", insecure=True,
                            models_dir=folder, trust=[trust])  # fmt: skip
    agent = Agent(settings)
    from edge_agent.cycle import load_models as loader

    models = agent._load_models(loader, BOOTSTRAP_DIR)
    shipped = load_models(BOOTSTRAP_DIR)
    assert models.versions == shipped.versions
    assert "corrupted or truncated" in agent.alarms["model_refused"]
    records = [r for _, r in audit.iter_records(agent.mirror)]
    refused = [r for r in records if audit.event_name(r.event_type) == "MODEL_CHANGED"]
    assert refused and refused[-1].model_change.outcome == "refused"
    assert refused[-1].model_change.model_name == "labor"
    assert audit.verify(agent.mirror).ok
    probe = np.zeros((1, models.labor.n_features), dtype=np.float32)
    assert np.isfinite(models.labor.predict(probe)).all()
    agent.close()


def test_a_malformed_trust_file_names_file_and_line(tmp_path):
    bad = tmp_path / "keys.pub"
    bad.write_text("# hub keys\ned25519 deadbeefdeadbeef AAAA\n")
    settings = EdgeSettings(trust=[bad])
    with pytest.raises(Exception, match=r"keys.pub, line 2: .*does not match the key"):
        settings.trusted_keys()
