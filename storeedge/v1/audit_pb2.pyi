import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from storeedge.v1 import common_pb2 as _common_pb2
from storeedge.v1 import decision_pb2 as _decision_pb2
from storeedge.v1 import shelf_check_pb2 as _shelf_check_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuditEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_EVENT_TYPE_UNSPECIFIED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_INGEST: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_QUARANTINE_RELEASED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_SCHEMA_MIGRATED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_STORE_CONFIGURED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_SIMULATION: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_DECISION_CREATED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_DECISION_STATE_CHANGED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_APPROVAL: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_OVERRIDE: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_EXECUTION_RESULT: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_MODEL_CHANGED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_CONFIG_CHANGED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_POLICY_CHANGED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_SHELF_CHECK_RECORDED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_CHAIN_EPOCH_STARTED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_DATA_PRUNED: _ClassVar[AuditEventType]
    AUDIT_EVENT_TYPE_COMMAND_EXECUTED: _ClassVar[AuditEventType]
AUDIT_EVENT_TYPE_UNSPECIFIED: AuditEventType
AUDIT_EVENT_TYPE_INGEST: AuditEventType
AUDIT_EVENT_TYPE_QUARANTINE_RELEASED: AuditEventType
AUDIT_EVENT_TYPE_SCHEMA_MIGRATED: AuditEventType
AUDIT_EVENT_TYPE_STORE_CONFIGURED: AuditEventType
AUDIT_EVENT_TYPE_SIMULATION: AuditEventType
AUDIT_EVENT_TYPE_DECISION_CREATED: AuditEventType
AUDIT_EVENT_TYPE_DECISION_STATE_CHANGED: AuditEventType
AUDIT_EVENT_TYPE_APPROVAL: AuditEventType
AUDIT_EVENT_TYPE_OVERRIDE: AuditEventType
AUDIT_EVENT_TYPE_EXECUTION_RESULT: AuditEventType
AUDIT_EVENT_TYPE_MODEL_CHANGED: AuditEventType
AUDIT_EVENT_TYPE_CONFIG_CHANGED: AuditEventType
AUDIT_EVENT_TYPE_POLICY_CHANGED: AuditEventType
AUDIT_EVENT_TYPE_SHELF_CHECK_RECORDED: AuditEventType
AUDIT_EVENT_TYPE_CHAIN_EPOCH_STARTED: AuditEventType
AUDIT_EVENT_TYPE_DATA_PRUNED: AuditEventType
AUDIT_EVENT_TYPE_COMMAND_EXECUTED: AuditEventType

class AuditRecord(_message.Message):
    __slots__ = ("id", "business_date", "recorded_at", "event_type", "actor", "subject_id", "summary", "attributes", "ingest", "decision", "state_change", "model_change", "config_change", "shelf_check")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DATE_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    INGEST_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    STATE_CHANGE_FIELD_NUMBER: _ClassVar[int]
    MODEL_CHANGE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_CHANGE_FIELD_NUMBER: _ClassVar[int]
    SHELF_CHECK_FIELD_NUMBER: _ClassVar[int]
    id: _common_pb2.RecordId
    business_date: str
    recorded_at: _timestamp_pb2.Timestamp
    event_type: AuditEventType
    actor: str
    subject_id: str
    summary: str
    attributes: _containers.ScalarMap[str, str]
    ingest: IngestSummary
    decision: _decision_pb2.Decision
    state_change: _decision_pb2.DecisionStateChange
    model_change: ModelChange
    config_change: ConfigChange
    shelf_check: _shelf_check_pb2.ShelfCheckResult
    def __init__(self, id: _Optional[_Union[_common_pb2.RecordId, _Mapping]] = ..., business_date: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_type: _Optional[_Union[AuditEventType, str]] = ..., actor: _Optional[str] = ..., subject_id: _Optional[str] = ..., summary: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ..., ingest: _Optional[_Union[IngestSummary, _Mapping]] = ..., decision: _Optional[_Union[_decision_pb2.Decision, _Mapping]] = ..., state_change: _Optional[_Union[_decision_pb2.DecisionStateChange, _Mapping]] = ..., model_change: _Optional[_Union[ModelChange, _Mapping]] = ..., config_change: _Optional[_Union[ConfigChange, _Mapping]] = ..., shelf_check: _Optional[_Union[_shelf_check_pb2.ShelfCheckResult, _Mapping]] = ...) -> None: ...

class IngestSummary(_message.Message):
    __slots__ = ("file_name", "sha256", "kind", "rows_read", "rows_loaded", "rows_quarantined", "rows_already_present", "quarantined_by_reason", "rows_released")
    class QuarantinedByReasonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ROWS_READ_FIELD_NUMBER: _ClassVar[int]
    ROWS_LOADED_FIELD_NUMBER: _ClassVar[int]
    ROWS_QUARANTINED_FIELD_NUMBER: _ClassVar[int]
    ROWS_ALREADY_PRESENT_FIELD_NUMBER: _ClassVar[int]
    QUARANTINED_BY_REASON_FIELD_NUMBER: _ClassVar[int]
    ROWS_RELEASED_FIELD_NUMBER: _ClassVar[int]
    file_name: str
    sha256: str
    kind: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_already_present: int
    quarantined_by_reason: _containers.ScalarMap[str, int]
    rows_released: int
    def __init__(self, file_name: _Optional[str] = ..., sha256: _Optional[str] = ..., kind: _Optional[str] = ..., rows_read: _Optional[int] = ..., rows_loaded: _Optional[int] = ..., rows_quarantined: _Optional[int] = ..., rows_already_present: _Optional[int] = ..., quarantined_by_reason: _Optional[_Mapping[str, int]] = ..., rows_released: _Optional[int] = ...) -> None: ...

class ModelChange(_message.Message):
    __slots__ = ("model_name", "from_version", "to_version", "outcome", "reason", "sha256")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    from_version: str
    to_version: str
    outcome: str
    reason: str
    sha256: str
    def __init__(self, model_name: _Optional[str] = ..., from_version: _Optional[str] = ..., to_version: _Optional[str] = ..., outcome: _Optional[str] = ..., reason: _Optional[str] = ..., sha256: _Optional[str] = ...) -> None: ...

class ConfigChange(_message.Message):
    __slots__ = ("key", "old_value", "new_value", "config_hash")
    KEY_FIELD_NUMBER: _ClassVar[int]
    OLD_VALUE_FIELD_NUMBER: _ClassVar[int]
    NEW_VALUE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_HASH_FIELD_NUMBER: _ClassVar[int]
    key: str
    old_value: str
    new_value: str
    config_hash: bytes
    def __init__(self, key: _Optional[str] = ..., old_value: _Optional[str] = ..., new_value: _Optional[str] = ..., config_hash: _Optional[bytes] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("seq", "prev_hash", "hash", "payload", "epoch")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    seq: int
    prev_hash: bytes
    hash: bytes
    payload: bytes
    epoch: int
    def __init__(self, seq: _Optional[int] = ..., prev_hash: _Optional[bytes] = ..., hash: _Optional[bytes] = ..., payload: _Optional[bytes] = ..., epoch: _Optional[int] = ...) -> None: ...

class ChainAck(_message.Message):
    __slots__ = ("store_id", "chain_length", "chain_head", "verified_at")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    CHAIN_HEAD_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    chain_length: int
    chain_head: bytes
    verified_at: _timestamp_pb2.Timestamp
    def __init__(self, store_id: _Optional[str] = ..., chain_length: _Optional[int] = ..., chain_head: _Optional[bytes] = ..., verified_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
