"""Retraining at the hub on what simulated stores really synced (cycles, outcomes, drain
over a real nats-server, hub ingest), the signed registry, and the promotion rule."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import nats
import numpy as np
import pytest

from cloud_hub.cli import main as hub
from cloud_hub.ingest import consume, ensure_streams
from cloud_hub.model_registry import FAMILIES, ModelRegistry
from cloud_hub.storage import Incoming, open_storage
from cloud_hub.training import TrainOptions, retrain
from edge_agent import outcomes, sync
from models import features as F
from models.runtime import OnnxModel
from storeedge import signing
from storeedge.natsserver import NatsServer
from storeedge.v1 import decision_pb2, model_pb2, shelf_check_pb2
from tests.helpers import simulated_store


def hub_json(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert hub([*args, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


async def _sync(mirrors, hub_db: Path, url: str) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_streams(js)
    storage = open_storage(hub_db)
    try:
        expected = 0
        for mirror in mirrors:
            while outcomes.emit_due(mirror).days:
                pass
            await sync.drain(mirror, js, batch_size=500)
            expected += sum(v["committed"] for v in sync.sync_status(mirror).values())
        stop = asyncio.Event()
        task = asyncio.create_task(consume(nc, storage, stop=stop, idle_wait_s=0.2))
        for _ in range(300):
            received = sum(sum(s["received"].values()) for s in storage.store_status().values())
            if received >= expected:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await task
    finally:
        storage.close()
        await nc.close()


@pytest.fixture(scope="module")
def synced_hub(tmp_path_factory) -> Path:
    """A hub database holding what three simulated stores synced (S001 in ring canary)."""
    root = tmp_path_factory.mktemp("synced")
    mirrors = [simulated_store(root / f"s{i}.db", f"S00{i}", seed=10 + i, skus=60, days=90)
               for i in (1, 2, 3)]  # fmt: skip
    (root / "hub").mkdir()
    server = NatsServer(root / "nats").start()
    try:
        asyncio.run(_sync(mirrors, root / "hub" / "hub.db", server.url))
    finally:
        server.stop()
        for mirror in mirrors:
            mirror.close()
    return root / "hub" / "hub.db"


@pytest.fixture
def hub_db(synced_hub, tmp_path) -> Path:
    """A private copy of the synced hub (each test changes its registry)."""
    target = tmp_path / "hub" / "hub.db"
    target.parent.mkdir()
    conn = sqlite3.connect(synced_hub)
    conn.execute("VACUUM INTO ?", (str(target),))
    conn.close()
    assert hub(["stores", "add", "S001", "--ring", "canary", "--db", str(target)]) == 0
    return target


def test_train_replenishment_registers_a_signed_version_and_follows_the_rule(hub_db, capsys):
    result = hub_json(capsys, "train", "replenishment", "--db", str(hub_db),
                      "--holdout-days", "7", "--by", "ana")  # fmt: skip
    version, numbers = result["version"], result["metrics"]
    assert numbers["data"]["stores"] == 3 and numbers["data"]["series"] == 180
    challenger, champion = numbers["challenger"], numbers["champion"]
    assert set(challenger["rings"]) == {"canary", "main"}  # the registry's rings
    # The rule, recomputed from the reported numbers.
    better = challenger["error"] <= champion["error"] * (1 - 0.02)
    rings_ok = all(challenger["rings"][r] <= champion["rings"][r] * 1.05 for r in champion["rings"])
    p90_ok = challenger["pinball_p90"] <= champion["pinball_p90"] * 1.05
    # Orders' expected demand (the protection mean model) is guarded the same way.
    expected_ok = challenger["protection_wape"] <= champion["protection_wape"] * 1.05
    assert result["promoted"] == (better and rings_ok and p90_ok and expected_ok)
    expected = version if result["promoted"] else "bootstrap-2016.03.27"
    assert result["champion"]["version"] == expected
    # Registered: four artifacts under one version, parent = the champion then, signed by
    # the hub key; what `get` returns verifies against `keys public` and runs.
    trust = hub_db.parent / "hub.pub"
    hub_json(capsys, "keys", "public", "--db", str(hub_db), "--out", str(trust))
    trusted = signing.load_trust([trust])
    with ModelRegistry(hub_db, hub_db.parent / "signing") as registry:
        for name in FAMILIES["replenishment"]:
            onnx, signed = registry.get(name, version)
            manifest = signing.verify_manifest(signed, trusted, what=name)
            assert manifest.version == version and manifest.parent_version == "bootstrap-2016.03.27"
            assert manifest.sha256 == hashlib.sha256(onnx).hexdigest()
            assert manifest.feature_spec_hash == F.FEATURE_SPEC_HASH
            assert manifest.metrics["backtest.challenger.error"] == pytest.approx(
                challenger["error"]
            )
            assert manifest.training_rows > 1000 and manifest.training_window_end
            width = len(F.PROTECTION_FEATURES if "protection" in name else F.DAILY_FEATURES)
            assert np.isfinite(OnnxModel(onnx).predict(np.zeros((3, width), np.float32))).all()
    # Exported in the signed-folder layout that `models publish` reads (and verifies).
    out = hub_db.parent / "export"
    exported = hub_json(capsys, "models", "export", "replenishment", version, "--out", str(out),
                        "--db", str(hub_db))  # fmt: skip
    assert len(exported["exported"]) == len(FAMILIES["replenishment"])
    from cloud_hub.distribution import read_signed_folder

    found = read_signed_folder(out, trusted)
    assert {(m.name, m.version) for _, _, m in found} == {
        (n, version) for n in exported["exported"]
    }
    listed = hub_json(capsys, "models", "list", "replenishment", "--db", str(hub_db))
    assert {(v["name"], v["version"]) for v in listed["versions"]} >= {
        ("replenishment_daily", version),
        ("replenishment_daily", "bootstrap-2016.03.27"),
    }
    audit = hub_json(capsys, "hub-audit", "show", "--db", str(hub_db))["records"]
    decision = next(r for r in audit if r["subject"] == f"replenishment@{version}")
    assert decision["actor"] == "ana"
    assert decision["detail"]["promoted"] is result["promoted"]
    assert decision["detail"]["challenger"]["error"] == challenger["error"]


def test_replenishment_training_stays_within_its_row_budget(hub_db, capsys):
    # 180 series x 7 weekly origins x (every 4th of 7 horizons) = 2,340 daily rows; a
    # budget of 1,000 trains a stratified share of each store's SKUs, scores them all.
    result = hub_json(capsys, "train", "replenishment", "--db", str(hub_db),
                      "--holdout-days", "7", "--train-rows", "1000")  # fmt: skip
    data = result["metrics"]["data"]
    assert data["series"] == 180 and 3 <= data["train_series"] < 180
    trust = hub_db.parent / "hub.pub"
    hub_json(capsys, "keys", "public", "--db", str(hub_db), "--out", str(trust))
    with ModelRegistry(hub_db, hub_db.parent / "signing") as registry:
        _, signed = registry.get("replenishment_daily", result["version"])
    manifest = signing.verify_manifest(signed, signing.load_trust([trust]), what="daily")
    # Within the budget but for the sample's one SKU of each category per store (13 rows
    # a SKU here): a store whose small categories round up may add a SKU or two.
    assert 500 < manifest.training_rows <= 1000 + 3 * 2 * 13
    assert np.isfinite(result["metrics"]["challenger"]["error"])


def test_a_worse_challenger_is_not_promoted_and_the_numbers_are_audited(hub_db, capsys):
    options = TrainOptions(holdout_days=7, actor="ana", shuffle_targets=True)
    result = retrain(hub_db, hub_db.parent / "signing", "replenishment", options)
    assert result["promoted"] is False
    numbers = result["metrics"]
    assert numbers["challenger"]["error"] > numbers["champion"]["error"]
    assert result["champion"]["version"] == "bootstrap-2016.03.27"
    listed = hub_json(capsys, "models", "list", "replenishment_daily", "--db", str(hub_db))
    status = {v["version"]: v["status"] for v in listed["versions"]}
    assert status == {"bootstrap-2016.03.27": "champion", result["version"]: "candidate"}
    audit = hub_json(capsys, "hub-audit", "show", "--db", str(hub_db))["records"]
    refused = next(r for r in audit if r["action"] == "model.promotion_refused")
    assert refused["subject"] == f"replenishment@{result['version']}"
    assert refused["detail"]["challenger"]["error"] == numbers["challenger"]["error"]
    assert refused["detail"]["champion"]["error"] == numbers["champion"]["error"]
    assert "not better" in refused["detail"]["reasons"][0]


def test_promote_and_rollback_by_hand_are_audited_and_go_back_to_the_parent(hub_db, capsys):
    options = TrainOptions(holdout_days=7, margin=0.99, actor="ana")  # never wins by 99 %
    version = retrain(hub_db, hub_db.parent / "signing", "replenishment", options)["version"]
    promoted = hub_json(capsys, "models", "promote", "replenishment", version, "--db",
                        str(hub_db), "--by", "ana", "--reason", "reviewed")  # fmt: skip
    assert {v["status"] for v in promoted["champions"]} == {"champion"}
    back = hub_json(capsys, "models", "rollback", "replenishment", "--db", str(hub_db),
                    "--by", "bo", "--reason", "bad week")  # fmt: skip
    assert {v["version"] for v in back["champions"]} == {"bootstrap-2016.03.27"}
    shown = hub_json(capsys, "models", "show", "replenishment_daily", version, "--db", str(hub_db))
    assert shown["status"] == "rolled_back"
    audit = hub_json(capsys, "hub-audit", "show", "--db", str(hub_db))["records"]
    artifacts = len(FAMILIES["replenishment"])  # one audit record per artifact
    actions = [(r["action"], r["actor"]) for r in audit[: 2 * artifacts]]
    assert actions[:artifacts] == [("model.rolled_back", "bo")] * artifacts
    assert actions[artifacts:] == [("model.promoted", "ana")] * artifacts
    assert hub_json(capsys, "hub-audit", "verify", "--db", str(hub_db))["ok"] is True
    # Nothing left to roll back to beyond the shipped model: a clear error.
    capsys.readouterr()
    assert hub(["models", "rollback", "replenishment", "--db", str(hub_db)]) == 2
    assert "nothing to roll back to" in capsys.readouterr().err


def test_versions_signed_before_a_key_rotation_still_verify_with_both_keys(hub_db, capsys):
    with ModelRegistry(hub_db, hub_db.parent / "signing") as registry:
        registry.ensure_bootstrap()
        _, old_signed = registry.get("labor", "bootstrap-2024.05.28")
    hub_json(capsys, "keys", "rotate", "--db", str(hub_db), "--by", "ana")
    trust = hub_db.parent / "both.pub"
    hub_json(capsys, "keys", "public", "--db", str(hub_db), "--out", str(trust))
    options = TrainOptions(holdout_days=7, margin=0.99, actor="ana")
    version = retrain(hub_db, hub_db.parent / "signing", "replenishment", options)["version"]
    with ModelRegistry(hub_db, hub_db.parent / "signing") as registry:
        _, new_signed = registry.get("replenishment_daily", version)
    trusted = signing.load_trust([trust])
    assert len(trusted) == 2
    old = model_pb2.SignedManifest.FromString(old_signed)
    new = model_pb2.SignedManifest.FromString(new_signed)
    assert old.key_id != new.key_id
    signing.verify_manifest(old_signed, trusted, what="old")
    signing.verify_manifest(new_signed, trusted, what="new")


def test_too_little_data_names_the_model_what_is_missing_and_a_hint(tmp_path, hub_db, capsys):
    empty = tmp_path / "empty" / "hub.db"
    empty.parent.mkdir()
    open_storage(empty).close()
    capsys.readouterr()
    assert hub(["train", "replenishment", "--db", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "train replenishment: the hub holds no daily outcomes" in err and "hint:" in err
    assert hub(["train", "replenishment", "--db", str(hub_db), "--holdout-days", "60"]) == 2
    err = capsys.readouterr().err
    assert "too little history" in err and "lower --holdout-days" in err
    assert hub(["train", "availability", "--db", str(hub_db)]) == 2
    assert "train availability:" in capsys.readouterr().err


def _shelf_checks(hub_db: Path, count: int, seed: int = 3) -> None:
    """Shelf-check decisions with logged feature rows and staff results, through ingest:
    the chance of MISSING grows with the hours since the last sale (feature 0)."""
    rng = np.random.default_rng(seed)
    storage = open_storage(hub_db)
    batch = []
    width = len(F.AVAILABILITY_FEATURES)
    for n in range(1, count + 1):
        store = f"S00{1 + n % 3}"
        features = rng.random(width).astype(np.float32) * 10
        missing = rng.random() < 1 / (1 + np.exp(-(features[0] - 6)))
        decision = decision_pb2.Decision(business_date=f"2026-06-{1 + n % 28:02d}", sku=f"K{n}")
        decision.id.store_id, decision.id.sequence = store, n
        decision.shelf_check.availability_features.extend(features.tolist())
        decision.shelf_check.random_sample = n % 5 == 0
        status = (shelf_check_pb2.SHELF_CHECK_STATUS_MISSING if missing
                  else shelf_check_pb2.SHELF_CHECK_STATUS_FOUND)  # fmt: skip
        if n % 17 == 0:
            status = shelf_check_pb2.SHELF_CHECK_STATUS_NOT_CHECKED
        result = shelf_check_pb2.ShelfCheckResult(decision_id=f"{store}:decision:{n + 10**6}",
                                                  status=status, sku=f"K{n}")  # fmt: skip
        batch += [
            Incoming(store, "decision", f"{store}:decision:{n + 10**6}",
                     decision.SerializeToString()),
            Incoming(store, "shelf_check", f"{store}:shelf_check:{n + 10**6}",
                     result.SerializeToString()),
        ]  # fmt: skip
    storage.ingest(batch)
    storage.close()


def test_availability_trains_on_logged_features_labelled_by_check_results(hub_db, capsys):
    _shelf_checks(hub_db, 900)
    result = hub_json(capsys, "train", "availability", "--db", str(hub_db),
                      "--holdout-days", "7", "--quiet")  # fmt: skip
    numbers = result["metrics"]
    # NOT_CHECKED results are no labels: 900 checks minus every 17th.
    assert numbers["data"]["series"] == 900 - 900 // 17
    # The random share is trained on like the ranked checks (every 5th, less NOT_CHECKED).
    assert numbers["data"]["random_checks"] == len(
        [n for n in range(1, 901) if n % 5 == 0 and n % 17 != 0]
    )
    assert numbers["challenger"]["error"] < numbers["champion"]["error"]  # it learnt feature 0
    assert result["promoted"] is True
    with ModelRegistry(hub_db, hub_db.parent / "signing") as registry:
        champion = registry.champion("availability")
        assert champion is not None and champion.version == result["version"]
        assert champion.manifest["metrics"]["decision_threshold"] > 0


def test_serve_retrains_on_its_schedule(hub_db, tmp_path):
    from cloud_hub.config import load_settings
    from cloud_hub.serve import Hub

    shutil.rmtree(tmp_path / "nats", ignore_errors=True)
    settings = load_settings(None, db=hub_db, embedded_nats_dir=tmp_path / "nats",
                             train_interval_hours=1 / 3600, train_holdout_days=7)  # fmt: skip

    async def run() -> list[str]:
        hub_task = Hub(settings)
        task = asyncio.create_task(hub_task.run())
        versions: list[str] = []
        for _ in range(900):
            await asyncio.sleep(0.1)
            conn = sqlite3.connect(hub_db)
            try:
                versions = [v for (v,) in conn.execute(
                    "SELECT version FROM model_versions WHERE name = 'replenishment_daily' "
                    "AND version NOT LIKE 'bootstrap-%'")]  # fmt: skip
            except sqlite3.OperationalError:
                versions = []
            conn.close()
            if versions:
                break
        hub_task.stop.set()
        await asyncio.wait_for(task, 30)
        return versions

    assert asyncio.run(run()), "no scheduled retraining registered a version"
    conn = sqlite3.connect(hub_db)
    actors = {a for (a,) in conn.execute("SELECT actor FROM hub_audit_log WHERE action LIKE "
                                         "'model.promotion_%'")}  # fmt: skip
    conn.close()
    assert actors == {"cloud-hub-schedule"}


def test_a_champion_built_on_other_features_is_not_replaced_automatically(hub_db, capsys):
    from google.protobuf import json_format

    from models import BOOTSTRAP_DIR

    entries = []
    for name in FAMILIES["replenishment"]:
        manifest = json_format.Parse((BOOTSTRAP_DIR / f"{name}.manifest.json").read_text(),
                                     model_pb2.ModelManifest())  # fmt: skip
        manifest.version, manifest.feature_spec_hash = "old-features", "0123456789abcdef"
        entries.append((manifest, (BOOTSTRAP_DIR / f"{name}.onnx").read_bytes()))
    with ModelRegistry(hub_db, hub_db.parent / "signing") as registry:
        registry.ensure_bootstrap()
        registry.register(entries, actor="ana", status="champion")
    result = hub_json(capsys, "train", "replenishment", "--db", str(hub_db),
                      "--holdout-days", "7", "--quiet")  # fmt: skip
    assert result["promoted"] is False and result["metrics"]["champion"] is None
    assert "promote by hand" in result["reasons"][0]
    assert result["champion"]["version"] == "old-features"
    assert result["parent_version"] == "old-features"


def test_train_labor_on_synced_hourly_transactions(hub_db, capsys):
    result = hub_json(capsys, "train", "labor", "--db", str(hub_db), "--holdout-days", "7",
                      "--quiet")  # fmt: skip
    numbers = result["metrics"]
    assert numbers["data"]["stores"] == 3 and numbers["data"]["days"] >= 90
    assert set(numbers["challenger"]["rings"]) == {"canary", "main"}
    assert 0 < numbers["challenger"]["error"] < 1 and 0 < numbers["champion"]["error"] < 1
    with ModelRegistry(hub_db, hub_db.parent / "signing") as registry:
        version = registry.version("labor", result["version"])
        assert version.parent_version == "bootstrap-2024.05.28"
        assert version.status == ("champion" if result["promoted"] else "candidate")
        onnx, _ = registry.get("labor", result["version"])
    rows = np.ones((4, len(F.HOURLY_FEATURES)), np.float32)
    assert np.isfinite(OnnxModel(onnx).predict(rows)).all()
