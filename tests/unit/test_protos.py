"""The storeedge.v1 wire contract: generated code, lock compatibility, conventions, ids."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run from anywhere, installed or not
    sys.path.insert(0, str(ROOT))

from google.protobuf import descriptor_pb2  # noqa: E402
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor  # noqa: E402
from google.protobuf.message import Message  # noqa: E402
from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402

from storeedge.compat import breaking_changes, load_descriptor_set  # noqa: E402
from storeedge.ids import RECORD_TYPE_SHORT_NAMES, parse_record_id, record_id_text  # noqa: E402
from storeedge.v1 import (  # noqa: E402
    audit_pb2,
    common_pb2,
    decision_pb2,
    heartbeat_pb2,
    model_pb2,
    outcome_pb2,
    shelf_check_pb2,
)

MODULES = [
    common_pb2,
    decision_pb2,
    audit_pb2,
    outcome_pb2,
    shelf_check_pb2,
    heartbeat_pb2,
    model_pb2,
]
PACKAGE = "storeedge.v1"
RECORD_MESSAGES = [
    decision_pb2.Decision,
    audit_pb2.AuditRecord,
    outcome_pb2.DailyOutcome,
    shelf_check_pb2.ShelfCheckResult,
    heartbeat_pb2.Heartbeat,
]
NO_GRPC_TOOLS = "grpcio-tools is not installed (pip install grpcio-tools): cannot run protoc"


def _require_protoc() -> None:
    pytest.importorskip("grpc_tools.protoc", reason=NO_GRPC_TOOLS)


@pytest.fixture(scope="module")
def protos_script() -> ModuleType:
    """scripts/protos.py loaded as a module (it is a script, not a package)."""
    _require_protoc()
    spec = importlib.util.spec_from_file_location(
        "storeedge_protos_script", ROOT / "scripts" / "protos.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _compile(include_dir: Path, files: list[str], out: Path) -> descriptor_pb2.FileDescriptorSet:
    """Compile ``files`` (relative to include_dir) into a FileDescriptorSet with grpc_tools."""
    _require_protoc()
    cmd = [sys.executable, "-m", "grpc_tools.protoc", "-I", str(include_dir)]
    cmd += ["--include_imports", f"--descriptor_set_out={out}", *files]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return load_descriptor_set(out)


# -- (1) generated code and (2) lock --------------------------------------------------------


def test_generated_code_matches_protos(protos_script: ModuleType) -> None:
    differences = protos_script.generated_differences()
    assert differences == [], "run `python scripts/protos.py generate`:\n" + "\n".join(differences)


def test_lock_is_compatible_with_current_protos(protos_script: ModuleType) -> None:
    assert protos_script.LOCK_FILE.exists(), "run `python scripts/protos.py lock`"
    current = protos_script.build_descriptor_set()
    lock = load_descriptor_set(protos_script.LOCK_FILE)
    assert breaking_changes(lock, current) == []
    locked_files = {f.name for f in lock.file}
    assert {
        f"storeedge/v1/{m.__name__.rsplit('.', 1)[1][:-4]}.proto" for m in MODULES
    } <= locked_files


# -- (3) breaking_changes on small variants ----------------------------------------------------

BASE_PROTO = """\
syntax = "proto3";
package compat.v1;

message Item {
  string sku = 1;
  double quantity = 7;
  repeated string tags = 3;
  State state = 4;
  Inner inner = 5;
  map<string, string> attrs = 6;
  oneof detail {
    string note = 10;
    uint32 code = 11;
  }
  message Inner {
    string label = 1;
  }
}

message Other {
  string name = 1;
  reserved 2, 9 to 11;
  reserved "legacy";
}

enum State {
  STATE_UNSPECIFIED = 0;
  STATE_A = 1;
  STATE_X = 3;
}

enum Color {
  COLOR_UNSPECIFIED = 0;
}
"""

ITEM = "compat.v1.Item"
VARIANTS = {
    "removed field": (
        [("  double quantity = 7;\n", "")],
        [f"{ITEM} field 7 'quantity': removed"],
    ),
    "removed field, number and name reserved": (
        [("  double quantity = 7;\n", '  reserved 7;\n  reserved "quantity";\n')],
        [],
    ),
    "removed field, only number reserved": (
        [("  double quantity = 7;\n", "  reserved 7;\n")],
        [f"{ITEM} field 7 'quantity': removed without reserving its name"],
    ),
    "renumbered field": (
        [("double quantity = 7;", "double quantity = 8;")],
        [f"{ITEM} field 7 'quantity': renumbered to 8"],
    ),
    "renamed field": (
        [("double quantity = 7;", "double qty = 7;")],
        [f"{ITEM} field 7 'quantity': renamed to 'qty'"],
    ),
    "changed scalar type": (
        [("double quantity = 7;", "string quantity = 7;")],
        [f"{ITEM} field 7 'quantity': type changed from double to string"],
    ),
    "changed message type": (
        [("Inner inner = 5;", "Other inner = 5;")],
        [f"{ITEM} field 5 'inner': type changed from compat.v1.Item.Inner to compat.v1.Other"],
    ),
    "changed map value type": (
        [("map<string, string> attrs", "map<string, uint64> attrs")],
        [f"{ITEM} field 6 'attrs': type changed from map<string, string> to map<string, uint64>"],
    ),
    "changed label": (
        [("double quantity = 7;", "repeated double quantity = 7;")],
        [f"{ITEM} field 7 'quantity': label changed from optional to repeated"],
    ),
    "moved out of oneof": (
        [
            ("    uint32 code = 11;\n", ""),
            ("  string sku = 1;\n", "  string sku = 1;\n  uint32 code = 11;\n"),
        ],
        [f"{ITEM} field 11 'code': oneof changed from 'detail' to none"],
    ),
    "removed enum value": (
        [("  STATE_X = 3;\n", "")],
        ["enum compat.v1.State value 3 'STATE_X' removed or renamed"],
    ),
    "removed enum value, number and name reserved": (
        [("  STATE_X = 3;\n", '  reserved 3;\n  reserved "STATE_X";\n')],
        [],
    ),
    "renumbered enum value": (
        [("STATE_X = 3;", "STATE_X = 4;")],
        ["enum compat.v1.State value 3 'STATE_X' renumbered to 4"],
    ),
    "renamed enum value": (
        [("STATE_X = 3;", "STATE_Y = 3;")],
        ["enum compat.v1.State value 3 'STATE_X' renamed to 'STATE_Y'"],
    ),
    "removed message": (
        [(BASE_PROTO[BASE_PROTO.index("message Other") : BASE_PROTO.index("enum State")], "")],
        ["message compat.v1.Other removed"],
    ),
    "removed nested message": (
        [("  Inner inner = 5;\n", ""), ("  message Inner {\n    string label = 1;\n  }\n", "")],
        [f"{ITEM} field 5 'inner': removed", "message compat.v1.Item.Inner removed"],
    ),
    "removed enum": (
        [("enum Color {\n  COLOR_UNSPECIFIED = 0;\n}\n", "")],
        ["enum compat.v1.Color removed"],
    ),
    "un-reserved numbers and name": (
        [("reserved 2, 9 to 11;", "reserved 2, 10;"), ('  reserved "legacy";\n', "")],
        [
            "compat.v1.Other: reserved number 9 no longer reserved",
            "compat.v1.Other: reserved number 11 no longer reserved",
            "compat.v1.Other: reserved name 'legacy' no longer reserved",
        ],
    ),
    "added field, message, enum and value": (
        [
            ("  string sku = 1;\n", "  string sku = 1;\n  string supplier = 12;\n"),
            ("  STATE_X = 3;\n", "  STATE_X = 3;\n  STATE_Z = 4;\n"),
            (
                "enum Color",
                "message Added {\n  bool flag = 1;\n}\n\n"
                "enum Size {\n  SIZE_UNSPECIFIED = 0;\n}\n\nenum Color",
            ),
        ],
        [],
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_breaking_changes_on_variants(variant: str, tmp_path: Path) -> None:
    edits, expected = VARIANTS[variant]
    text = BASE_PROTO
    for old, new in edits:
        assert old in text, f"test edit {old!r} does not apply"
        text = text.replace(old, new)
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "item.proto").write_text(BASE_PROTO)
    (tmp_path / "new" / "item.proto").write_text(text)
    old = _compile(tmp_path / "old", ["item.proto"], tmp_path / "old.binpb")
    new = _compile(tmp_path / "new", ["item.proto"], tmp_path / "new.binpb")
    assert breaking_changes(old, new) == expected
    assert breaking_changes(old, old) == []


def test_breaking_change_in_real_protos_against_lock(
    protos_script: ModuleType, tmp_path: Path
) -> None:
    """Deleting Decision.quantity from a copy of the real protos is caught against the lock."""
    shutil.copytree(ROOT / "protos" / "storeedge", tmp_path / "storeedge")
    decision = tmp_path / "storeedge" / "v1" / "decision.proto"
    text = decision.read_text()
    assert "  double quantity = 8;\n" in text
    decision.write_text(text.replace("  double quantity = 8;\n", ""))
    files = sorted(p.relative_to(tmp_path).as_posix() for p in decision.parent.glob("*.proto"))
    new = _compile(tmp_path, files, tmp_path / "new.binpb")
    lock = load_descriptor_set(protos_script.LOCK_FILE)
    assert breaking_changes(lock, new) == ["storeedge.v1.Decision field 8 'quantity': removed"]


def test_script_lock_and_check_on_a_copy(
    protos_script: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lock` refuses a breaking change (unless --force); `check` names stale and breaking files."""
    shutil.copytree(ROOT / "protos", tmp_path / "protos")
    shutil.copytree(ROOT / "storeedge" / "v1", tmp_path / "storeedge" / "v1")
    shutil.copytree(ROOT / "storeedge" / "hub" / "v1", tmp_path / "storeedge" / "hub" / "v1")
    monkeypatch.setattr(protos_script, "ROOT", tmp_path)
    monkeypatch.setattr(protos_script, "PROTO_DIR", tmp_path / "protos" / "storeedge" / "v1")
    monkeypatch.setattr(protos_script, "GENERATED_DIR", tmp_path / "storeedge" / "v1")
    monkeypatch.setattr(protos_script, "LOCK_FILE", tmp_path / "protos" / "storeedge_v1.lock.binpb")
    lock_bytes = protos_script.LOCK_FILE.read_bytes()

    assert protos_script.main(["check"]) == 0

    heartbeat = protos_script.PROTO_DIR / "heartbeat.proto"
    heartbeat.write_text(
        heartbeat.read_text().replace("uint32 schema_version = 8;", "string schema_version = 8;")
    )
    assert protos_script.main(["lock"]) == 1
    assert protos_script.LOCK_FILE.read_bytes() == lock_bytes
    assert protos_script.generated_differences() == [
        "storeedge/v1/heartbeat_pb2.py: differs from regenerated code",
        "storeedge/v1/heartbeat_pb2.pyi: differs from regenerated code",
    ]
    assert protos_script.lock_violations()[0] == [
        "storeedge.v1.Heartbeat field 8 'schema_version': type changed from uint32 to string"
    ]
    assert protos_script.main(["check"]) == 1

    assert protos_script.main(["generate"]) == 0
    assert protos_script.generated_differences() == []
    assert protos_script.main(["lock", "--force"]) == 0
    assert protos_script.LOCK_FILE.read_bytes() != lock_bytes
    assert protos_script.main(["check"]) == 0


def test_hub_api_contract_is_generated_locked_and_follows_the_conventions(
    protos_script: ModuleType,
) -> None:
    """storeedge.hub.v1: its own lock, gRPC stubs, buf-style requests and enums."""
    from storeedge.hub.v1 import hub_pb2, hub_pb2_grpc

    hub = protos_script.packages()[1]
    assert hub.name == "storeedge.hub.v1" and hub.lock_file.exists()
    assert breaking_changes(load_descriptor_set(hub.lock_file),
                            protos_script.build_descriptor_set(hub)) == []  # fmt: skip
    assert hasattr(hub_pb2_grpc, "HubServiceStub")
    assert hub_pb2.DESCRIPTOR.package == "storeedge.hub.v1"
    assert [d.name for d in hub_pb2.DESCRIPTOR.dependencies] == ["google/protobuf/timestamp.proto"]
    service = hub_pb2.DESCRIPTOR.services_by_name["HubService"]
    for method in service.methods:
        assert method.input_type.name == f"{method.name}Request"
        assert method.output_type.name == f"{method.name}Response"
    for enum in hub_pb2.DESCRIPTOR.enum_types_by_name.values():
        prefix = _upper_snake(enum.name) + "_"
        assert enum.values_by_number[0].name == prefix + "UNSPECIFIED"
        assert all(v.name.startswith(prefix) for v in enum.values)
    for message in hub_pb2.DESCRIPTOR.message_types_by_name.values():
        if message.name.startswith("List"):
            assert {"page_size", "page_token"} <= set(message.fields_by_name) or (
                "next_page_token" in message.fields_by_name
            ), message.name


# -- (4) round trip ----------------------------------------------------------------------------


def _ts(text: str) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.fromisoformat(text).astimezone(UTC))
    return ts


def _rid(record_type: int, sequence: int) -> common_pb2.RecordId:
    return common_pb2.RecordId(store_id="S001", record_type=record_type, sequence=sequence)


def _order_detail() -> decision_pb2.OrderDetail:
    return decision_pb2.OrderDetail(
        order_date="2026-11-26",
        supplier="SUP-017",
        order_up_to=48.0,
        on_hand=11.0,
        open_orders=12.0,
        pending_own_orders=6.0,
        case_pack=6.0,
        forecast_mean=31.4,
        protection_quantile=41.2,
        protection_days=3,
        cutoff="14:00",
        expected_delivery_date="2026-11-28",
        forecast_mean_version="2026.11.28-1",
    )


def _staffing_detail() -> decision_pb2.StaffingDetail:
    return decision_pb2.StaffingDetail(
        hour=17, forecast_transactions=212.5, recommended_staff=5.0, scheduled_staff=4.0
    )


def _shelf_check_detail() -> decision_pb2.ShelfCheckDetail:
    return decision_pb2.ShelfCheckDetail(
        system_on_hand=14.0,
        expected_units=9.0,
        off_shelf_probability=0.83,
        random_sample=True,
        rank=2,
        availability_features=[21.0, 5.0, 6.0, 0.4, 2.5],
        scored_hour=21,
    )


def _decision(**detail: Message) -> decision_pb2.Decision:
    return decision_pb2.Decision(
        id=_rid(common_pb2.RECORD_TYPE_DECISION, 1042),
        business_date="2026-11-26",
        recorded_at=_ts("2026-11-26T06:15:02.125+01:00"),
        kind=decision_pb2.DECISION_KIND_ORDER,
        state=decision_pb2.DECISION_STATE_PENDING,
        sku="4006381333931",
        category="dairy",
        quantity=24.0,
        value=31.92,
        confidence=0.87,
        model_name="demand_daily",
        model_version="2026.11.20-1",
        rule="order_up_to_p90",
        policy_hash=bytes(range(32)),
        policy_outcome=decision_pb2.POLICY_OUTCOME_PENDING,
        feature_digest="9f2c" * 16,
        expires_at=_ts("2026-11-26T14:00:00+01:00"),
        supersedes_id="S001:decision:1017",
        actor="system",
        reason="value above auto-approval limit",
        **detail,
    )


def _state_change() -> decision_pb2.DecisionStateChange:
    return decision_pb2.DecisionStateChange(
        decision_id=_rid(common_pb2.RECORD_TYPE_DECISION, 1042),
        from_state=decision_pb2.DECISION_STATE_PENDING,
        to_state=decision_pb2.DECISION_STATE_OVERRIDDEN,
        actor="m.keller",
        reason="promotion next week, order more",
        changed_at=_ts("2026-11-26T09:41:13+01:00"),
    )


def _ingest() -> audit_pb2.IngestSummary:
    return audit_pb2.IngestSummary(
        file_name="sales_2026-11-25.csv",
        sha256="ab" * 32,
        kind="sales",
        rows_read=18_430,
        rows_loaded=18_391,
        rows_quarantined=12,
        rows_already_present=27,
        quarantined_by_reason={"negative_quantity": 9, "unknown_sku": 3},
        rows_released=4,
    )


def _model_change() -> audit_pb2.ModelChange:
    return audit_pb2.ModelChange(
        model_name="demand_daily",
        from_version="2026.11.13-1",
        to_version="2026.11.20-1",
        outcome="activated",
        reason="scheduled weekly retrain",
        sha256="cd" * 32,
    )


def _config_change() -> audit_pb2.ConfigChange:
    return audit_pb2.ConfigChange(
        key="policy.order.max_auto_value",
        old_value="250",
        new_value="400",
        config_hash=b"\x01" * 32,
    )


def _shelf_check_result() -> shelf_check_pb2.ShelfCheckResult:
    return shelf_check_pb2.ShelfCheckResult(
        id=_rid(common_pb2.RECORD_TYPE_SHELF_CHECK, 88),
        business_date="2026-11-26",
        recorded_at=_ts("2026-11-26T10:02:40+01:00"),
        decision_id="S001:decision:1051",
        sku="4006381333931",
        status=shelf_check_pb2.SHELF_CHECK_STATUS_FOUND,
        counted_units=7.0,
        random_sample=True,
        checked_by="a.novak",
    )


def _audit(**detail: Message) -> audit_pb2.AuditRecord:
    return audit_pb2.AuditRecord(
        id=_rid(common_pb2.RECORD_TYPE_AUDIT, 42),
        business_date="2026-11-26",
        recorded_at=_ts("2026-11-26T06:15:02.5+01:00"),
        event_type=audit_pb2.AUDIT_EVENT_TYPE_INGEST,
        actor="system",
        subject_id="S001:decision:1042",
        summary="ingested sales_2026-11-25.csv",
        attributes={"source": "pos", "agent_version": "0.1.0"},
        **detail,
    )


def _sku_day() -> outcome_pb2.SkuDayOutcome:
    return outcome_pb2.SkuDayOutcome(
        sku="4006381333931",
        units_sold=23.0,
        returns=1.0,
        on_hand=9.0,
        receipts=24.0,
        waste=2.0,
        adjustments=-1.0,
        price=1.33,
        promo=True,
        stockout_hours=1.5,
        revision=1,
        category="dairy",
        listed=True,
    )


def _store_hour() -> outcome_pb2.StoreHourOutcome:
    return outcome_pb2.StoreHourOutcome(hour=17, transactions=208, revision=1)


def _model_manifest() -> model_pb2.ModelManifest:
    return model_pb2.ModelManifest(
        name="demand_daily",
        version="2026.11.20-1",
        sha256="ef" * 32,
        feature_spec_hash="fs-3a9e01",
        training_window_start="2025-11-20",
        training_window_end="2026-11-19",
        training_rows=5_284_113,
        metrics={"wape": 0.284, "pinball_p90": 0.91},
        parent_version="2026.11.13-1",
        created_at=_ts("2026-11-20T02:11:09+00:00"),
        opset=15,
        min_agent_version="0.1.0",
        inputs=["features"],
        outputs=["mean", "p90"],
        provenance="M5 (MIT), 28 items x 10 stores",
        feature_names=["horizon", "dow"],
    )


SAMPLES: dict[str, list[Message]] = {
    "RecordId": [_rid(common_pb2.RECORD_TYPE_AUDIT, 42)],
    "Decision": [
        _decision(order=_order_detail()),
        _decision(staffing=_staffing_detail()),
        _decision(shelf_check=_shelf_check_detail()),
    ],
    "OrderDetail": [_order_detail()],
    "StaffingDetail": [_staffing_detail()],
    "ShelfCheckDetail": [_shelf_check_detail()],
    "DecisionStateChange": [_state_change()],
    "ApprovalRequest": [
        decision_pb2.ApprovalRequest(
            request_id="hub:approval:7",
            decision_id="S001:decision:17",
            action=decision_pb2.APPROVAL_ACTION_OVERRIDE,
            quantity=12.0,
            actor="ana",
            reason="small shelf",
            requested_at=_ts("2026-11-26T08:00:00+00:00"),
        )
    ],
    "ApprovalResult": [
        decision_pb2.ApprovalResult(
            id=_rid(common_pb2.RECORD_TYPE_APPROVAL_RESULT, 3),
            request_id="hub:approval:7",
            decision_id="S001:decision:17",
            applied=True,
            state="overridden",
            reason="expired at the supplier cutoff",
            recorded_at=_ts("2026-11-26T08:00:02+00:00"),
        )
    ],
    "AuditRecord": [
        _audit(ingest=_ingest()),
        _audit(decision=_decision(order=_order_detail())),
        _audit(state_change=_state_change()),
        _audit(model_change=_model_change()),
        _audit(config_change=_config_change()),
        _audit(shelf_check=_shelf_check_result()),
    ],
    "IngestSummary": [_ingest()],
    "ModelChange": [_model_change()],
    "ConfigChange": [_config_change()],
    "AuditEntry": [
        audit_pb2.AuditEntry(
            seq=42,
            prev_hash=b"\x07" * 32,
            hash=b"\x09" * 32,
            payload=_audit(ingest=_ingest()).SerializeToString(),
            epoch=2,
        )
    ],
    "ChainAck": [
        audit_pb2.ChainAck(
            store_id="S001",
            chain_length=42,
            chain_head=b"\x09" * 32,
            verified_at=_ts("2026-11-26T05:31:00+00:00"),
        )
    ],
    "SkuDayOutcome": [_sku_day()],
    "StoreHourOutcome": [_store_hour()],
    "DailyOutcome": [
        outcome_pb2.DailyOutcome(
            id=_rid(common_pb2.RECORD_TYPE_OUTCOME, 311),
            business_date="2026-11-25",
            recorded_at=_ts("2026-11-26T05:30:00+01:00"),
            revision=1,
            skus=[_sku_day(), outcome_pb2.SkuDayOutcome(sku="5000112637922", units_sold=4.0)],
            hours=[_store_hour(), outcome_pb2.StoreHourOutcome(hour=18, transactions=190)],
            part=2,
            part_count=3,
            store_closed=True,
            holiday="Thanksgiving Eve",
            event="SNAP",
        )
    ],
    "ShelfCheckResult": [_shelf_check_result()],
    "Heartbeat": [
        heartbeat_pb2.Heartbeat(
            id=_rid(common_pb2.RECORD_TYPE_HEARTBEAT, 9120),
            business_date="2026-11-26",
            recorded_at=_ts("2026-11-26T10:05:00+01:00"),
            agent_version="0.1.0",
            feature_spec_hashes={"demand_daily": "fs-3a9e01"},
            model_versions={"demand_daily": "2026.11.20-1", "traffic_hourly": "2026.11.18-2"},
            backlog={"audit": 3, "decision": 0, "outcome": 1},
            schema_version=4,
            chain_head=b"\x09" * 32,
            chain_length=42,
        )
    ],
    "ModelManifest": [_model_manifest()],
    "SignedManifest": [
        model_pb2.SignedManifest(
            manifest=_model_manifest().SerializeToString(),
            signature=b"\x5a" * 64,
            key_id="hub-2026-01",
        )
    ],
    "ModelOffer": [
        model_pb2.ModelOffer(
            model_name="labor",
            version="2026.11.27-1",
            sha256="ab" * 32,
            actor="ana",
            reason="publish",
            offered_at=_ts("2026-11-27T01:00:00+00:00"),
        )
    ],
    "ModelSwapReport": [
        model_pb2.ModelSwapReport(
            store_id="S001",
            model_name="labor",
            version="2026.11.27-1",
            outcome=model_pb2.MODEL_SWAP_OUTCOME_REFUSED,
            reason="failed its shadow run",
            previous_version="2026.11.20-1",
            swap_seconds=1.25,
            shadow_rows=500,
            reported_at=_ts("2026-11-27T01:00:03+00:00"),
        )
    ],
}


def _top_level_messages() -> dict[str, Descriptor]:
    found: dict[str, Descriptor] = {}
    for module in MODULES:
        found.update(module.DESCRIPTOR.message_types_by_name)
    return found


def test_every_top_level_message_has_a_sample() -> None:
    assert set(SAMPLES) == set(_top_level_messages())


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_round_trip(name: str) -> None:
    for sample in SAMPLES[name]:
        assert sample.DESCRIPTOR.name == name
        data = sample.SerializeToString()
        parsed = type(sample).FromString(data)
        assert parsed == sample
        assert parsed.SerializeToString(deterministic=True) == sample.SerializeToString(
            deterministic=True
        )


def test_samples_set_every_field() -> None:
    """Every field of every storeedge.v1 message is exercised by some round-trip sample."""
    seen: set[str] = set()

    def walk(msg: Message) -> None:
        for field, value in msg.ListFields():
            seen.add(field.full_name)
            if field.type != FieldDescriptor.TYPE_MESSAGE:
                continue
            if field.message_type.GetOptions().map_entry:
                value_field = field.message_type.fields_by_name["value"]
                if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                    for item in value.values():
                        walk(item)
            elif field.is_repeated:
                for item in value:
                    walk(item)
            else:
                walk(value)

    for samples in SAMPLES.values():
        for sample in samples:
            walk(sample)
    expected = {
        field.full_name
        for message in _all_messages()
        if not message.GetOptions().map_entry
        for field in message.fields
    }
    assert expected - seen == set()


def test_audit_entry_carries_record_bytes_untouched() -> None:
    record = _audit(ingest=_ingest())
    payload = record.SerializeToString()
    entry = audit_pb2.AuditEntry.FromString(
        audit_pb2.AuditEntry(seq=1, prev_hash=b"\x00" * 32, payload=payload).SerializeToString()
    )
    assert entry.payload == payload
    assert audit_pb2.AuditRecord.FromString(entry.payload) == record


# -- (5) enum conventions and (6) record messages ----------------------------------------------


def _all_messages() -> list[Descriptor]:
    out: list[Descriptor] = []

    def walk(descriptor: Descriptor) -> None:
        out.append(descriptor)
        for nested in descriptor.nested_types:
            walk(nested)

    for message in _top_level_messages().values():
        walk(message)
    return out


def _all_enums() -> list[EnumDescriptor]:
    enums: list[EnumDescriptor] = []
    for module in MODULES:
        enums.extend(module.DESCRIPTOR.enum_types_by_name.values())
    for message in _all_messages():
        enums.extend(message.enum_types)
    return enums


def _upper_snake(name: str) -> str:
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(name)).upper()


@pytest.mark.parametrize("enum", _all_enums(), ids=lambda e: e.full_name)
def test_enum_zero_value_is_unspecified_and_values_are_prefixed(enum: EnumDescriptor) -> None:
    prefix = _upper_snake(enum.name) + "_"
    zero = enum.values_by_number[0]
    assert zero.name.endswith("_UNSPECIFIED")
    assert zero.name == prefix + "UNSPECIFIED"
    for value in enum.values:
        assert value.name.startswith(prefix), f"{value.name} lacks prefix {prefix}"


def test_all_files_are_in_package_and_directory() -> None:
    for module in MODULES:
        assert module.DESCRIPTOR.package == PACKAGE
        assert module.DESCRIPTOR.name.startswith("storeedge/v1/")


@pytest.mark.parametrize("message", RECORD_MESSAGES, ids=lambda m: m.DESCRIPTOR.name)
def test_record_messages_have_id_business_date_recorded_at(message: type[Message]) -> None:
    fields = message.DESCRIPTOR.fields_by_name
    for name in ("id", "business_date", "recorded_at"):
        assert name in fields, f"{message.DESCRIPTOR.full_name} lacks {name}"
        assert not fields[name].is_repeated
    assert fields["id"].message_type.full_name == "storeedge.v1.RecordId"
    assert fields["business_date"].type == FieldDescriptor.TYPE_STRING
    assert fields["recorded_at"].message_type.full_name == "google.protobuf.Timestamp"


# -- storeedge.ids -----------------------------------------------------------------------------


def test_every_record_type_has_a_short_name() -> None:
    values = {v.number for v in common_pb2.RecordType.DESCRIPTOR.values if v.number != 0}
    assert set(RECORD_TYPE_SHORT_NAMES) == values


@pytest.mark.parametrize("record_type", sorted(RECORD_TYPE_SHORT_NAMES))
def test_record_id_text_round_trip(record_type: int) -> None:
    rid = common_pb2.RecordId(store_id="S001", record_type=record_type, sequence=42)
    text = record_id_text(rid)
    assert text == f"S001:{RECORD_TYPE_SHORT_NAMES[record_type]}:42"
    assert parse_record_id(text) == rid


def test_record_id_text_examples() -> None:
    assert record_id_text(_rid(common_pb2.RECORD_TYPE_AUDIT, 42)) == "S001:audit:42"
    assert parse_record_id("S001:shelf_check:0") == _rid(common_pb2.RECORD_TYPE_SHELF_CHECK, 0)
    big = parse_record_id(f"S-9:model_status:{2**64 - 1}")
    assert big.sequence == 2**64 - 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("S001:audit", "expected 3 ':'-separated parts"),
        ("S001:audit:4:2", "expected 3 ':'-separated parts"),
        (":audit:42", "store_id is empty"),
        ("S 001:audit:42", "store_id 'S 001' contains whitespace"),
        ("S001:audits:42", "unknown record type 'audits'"),
        ("S001:AUDIT:42", "unknown record type 'AUDIT'"),
        ("S001:audit:", "sequence '' is not a non-negative decimal integer"),
        ("S001:audit:-1", "sequence '-1' is not a non-negative decimal integer"),
        ("S001:audit:+1", "sequence '+1' is not a non-negative decimal integer"),
        ("S001:audit:4x", "sequence '4x' is not a non-negative decimal integer"),
        ("S001:audit:٤٢", "sequence '٤٢' is not a non-negative decimal integer"),
        ("S001:audit:042", "sequence '042' has leading zeros"),
        (f"S001:audit:{2**64}", f"sequence '{2**64}' exceeds uint64"),
    ],
)
def test_parse_record_id_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="record id .*: " + _escape(message)):
        parse_record_id(text)


@pytest.mark.parametrize(
    ("rid", "message"),
    [
        (
            common_pb2.RecordId(record_type=common_pb2.RECORD_TYPE_AUDIT, sequence=1),
            "store_id is empty",
        ),
        (
            common_pb2.RecordId(store_id="S:1", record_type=common_pb2.RECORD_TYPE_AUDIT),
            "store_id 'S:1' contains ':'",
        ),
        (common_pb2.RecordId(store_id="S001", sequence=1), "RECORD_TYPE_UNSPECIFIED"),
        (common_pb2.RecordId(store_id="S001", record_type=99, sequence=1), "record_type 99"),
    ],
)
def test_record_id_text_rejects(rid: common_pb2.RecordId, message: str) -> None:
    with pytest.raises(ValueError, match=_escape(message)):
        record_id_text(rid)


def _escape(text: str) -> str:
    return re.escape(text)
