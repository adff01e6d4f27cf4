import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegistryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REGISTRY_STATUS_UNSPECIFIED: _ClassVar[RegistryStatus]
    REGISTRY_STATUS_ACTIVE: _ClassVar[RegistryStatus]
    REGISTRY_STATUS_REVOKED: _ClassVar[RegistryStatus]
    REGISTRY_STATUS_UNREGISTERED: _ClassVar[RegistryStatus]

class ChainStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHAIN_STATUS_UNSPECIFIED: _ClassVar[ChainStatus]
    CHAIN_STATUS_OK: _ClassVar[ChainStatus]
    CHAIN_STATUS_GAP: _ClassVar[ChainStatus]
    CHAIN_STATUS_BROKEN: _ClassVar[ChainStatus]
    CHAIN_STATUS_EMPTY: _ClassVar[ChainStatus]

class DecisionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_KIND_UNSPECIFIED: _ClassVar[DecisionKind]
    DECISION_KIND_ORDER: _ClassVar[DecisionKind]
    DECISION_KIND_STAFFING: _ClassVar[DecisionKind]
    DECISION_KIND_SHELF_CHECK: _ClassVar[DecisionKind]

class DecisionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_STATE_UNSPECIFIED: _ClassVar[DecisionState]
    DECISION_STATE_PENDING: _ClassVar[DecisionState]
    DECISION_STATE_APPROVED: _ClassVar[DecisionState]
    DECISION_STATE_REJECTED: _ClassVar[DecisionState]
    DECISION_STATE_OVERRIDDEN: _ClassVar[DecisionState]
    DECISION_STATE_EXPIRED: _ClassVar[DecisionState]
    DECISION_STATE_SUPERSEDED: _ClassVar[DecisionState]
    DECISION_STATE_AUTO: _ClassVar[DecisionState]
    DECISION_STATE_SUBMITTED: _ClassVar[DecisionState]
    DECISION_STATE_CONFIRMED: _ClassVar[DecisionState]
    DECISION_STATE_FAILED: _ClassVar[DecisionState]
    DECISION_STATE_BLOCKED: _ClassVar[DecisionState]

class ApprovalAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPROVAL_ACTION_UNSPECIFIED: _ClassVar[ApprovalAction]
    APPROVAL_ACTION_APPROVE: _ClassVar[ApprovalAction]
    APPROVAL_ACTION_REJECT: _ClassVar[ApprovalAction]
    APPROVAL_ACTION_OVERRIDE: _ClassVar[ApprovalAction]

class ApprovalStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPROVAL_STATUS_UNSPECIFIED: _ClassVar[ApprovalStatus]
    APPROVAL_STATUS_SENT: _ClassVar[ApprovalStatus]
    APPROVAL_STATUS_APPLIED: _ClassVar[ApprovalStatus]
    APPROVAL_STATUS_REFUSED: _ClassVar[ApprovalStatus]
REGISTRY_STATUS_UNSPECIFIED: RegistryStatus
REGISTRY_STATUS_ACTIVE: RegistryStatus
REGISTRY_STATUS_REVOKED: RegistryStatus
REGISTRY_STATUS_UNREGISTERED: RegistryStatus
CHAIN_STATUS_UNSPECIFIED: ChainStatus
CHAIN_STATUS_OK: ChainStatus
CHAIN_STATUS_GAP: ChainStatus
CHAIN_STATUS_BROKEN: ChainStatus
CHAIN_STATUS_EMPTY: ChainStatus
DECISION_KIND_UNSPECIFIED: DecisionKind
DECISION_KIND_ORDER: DecisionKind
DECISION_KIND_STAFFING: DecisionKind
DECISION_KIND_SHELF_CHECK: DecisionKind
DECISION_STATE_UNSPECIFIED: DecisionState
DECISION_STATE_PENDING: DecisionState
DECISION_STATE_APPROVED: DecisionState
DECISION_STATE_REJECTED: DecisionState
DECISION_STATE_OVERRIDDEN: DecisionState
DECISION_STATE_EXPIRED: DecisionState
DECISION_STATE_SUPERSEDED: DecisionState
DECISION_STATE_AUTO: DecisionState
DECISION_STATE_SUBMITTED: DecisionState
DECISION_STATE_CONFIRMED: DecisionState
DECISION_STATE_FAILED: DecisionState
DECISION_STATE_BLOCKED: DecisionState
APPROVAL_ACTION_UNSPECIFIED: ApprovalAction
APPROVAL_ACTION_APPROVE: ApprovalAction
APPROVAL_ACTION_REJECT: ApprovalAction
APPROVAL_ACTION_OVERRIDE: ApprovalAction
APPROVAL_STATUS_UNSPECIFIED: ApprovalStatus
APPROVAL_STATUS_SENT: ApprovalStatus
APPROVAL_STATUS_APPLIED: ApprovalStatus
APPROVAL_STATUS_REFUSED: ApprovalStatus

class Store(_message.Message):
    __slots__ = ("store_id", "ring", "region", "time_zone", "registry_status", "last_heartbeat_time", "agent_version", "chain_status", "chain_length", "chain_head", "records_received", "outbox_backlog", "model_versions", "chain_epoch", "last_seen_time", "quarantined")
    class RecordsReceivedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class OutboxBacklogEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class ModelVersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    RING_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_TIME_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHAIN_STATUS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    CHAIN_HEAD_FIELD_NUMBER: _ClassVar[int]
    RECORDS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_BACKLOG_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_EPOCH_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    QUARANTINED_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    ring: str
    region: str
    time_zone: str
    registry_status: RegistryStatus
    last_heartbeat_time: _timestamp_pb2.Timestamp
    agent_version: str
    chain_status: ChainStatus
    chain_length: int
    chain_head: str
    records_received: _containers.ScalarMap[str, int]
    outbox_backlog: _containers.ScalarMap[str, int]
    model_versions: _containers.ScalarMap[str, str]
    chain_epoch: int
    last_seen_time: _timestamp_pb2.Timestamp
    quarantined: int
    def __init__(self, store_id: _Optional[str] = ..., ring: _Optional[str] = ..., region: _Optional[str] = ..., time_zone: _Optional[str] = ..., registry_status: _Optional[_Union[RegistryStatus, str]] = ..., last_heartbeat_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., agent_version: _Optional[str] = ..., chain_status: _Optional[_Union[ChainStatus, str]] = ..., chain_length: _Optional[int] = ..., chain_head: _Optional[str] = ..., records_received: _Optional[_Mapping[str, int]] = ..., outbox_backlog: _Optional[_Mapping[str, int]] = ..., model_versions: _Optional[_Mapping[str, str]] = ..., chain_epoch: _Optional[int] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., quarantined: _Optional[int] = ...) -> None: ...

class ListStoresRequest(_message.Message):
    __slots__ = ("ring", "region", "page_size", "page_token")
    RING_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ring: str
    region: str
    page_size: int
    page_token: str
    def __init__(self, ring: _Optional[str] = ..., region: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStoresResponse(_message.Message):
    __slots__ = ("stores", "next_page_token")
    STORES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    stores: _containers.RepeatedCompositeFieldContainer[Store]
    next_page_token: str
    def __init__(self, stores: _Optional[_Iterable[_Union[Store, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetStoreRequest(_message.Message):
    __slots__ = ("store_id",)
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    def __init__(self, store_id: _Optional[str] = ...) -> None: ...

class GetStoreResponse(_message.Message):
    __slots__ = ("store",)
    STORE_FIELD_NUMBER: _ClassVar[int]
    store: Store
    def __init__(self, store: _Optional[_Union[Store, _Mapping]] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("decision_id", "store_id", "kind", "state", "business_date", "create_time", "sku", "category", "quantity", "value", "confidence", "model_name", "model_version", "rule", "expire_time", "supersedes_id", "reason", "hour", "supplier", "state_actor", "state_change_time")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    SUPERSEDES_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    HOUR_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_FIELD_NUMBER: _ClassVar[int]
    STATE_ACTOR_FIELD_NUMBER: _ClassVar[int]
    STATE_CHANGE_TIME_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    store_id: str
    kind: DecisionKind
    state: DecisionState
    business_date: str
    create_time: _timestamp_pb2.Timestamp
    sku: str
    category: str
    quantity: float
    value: float
    confidence: float
    model_name: str
    model_version: str
    rule: str
    expire_time: _timestamp_pb2.Timestamp
    supersedes_id: str
    reason: str
    hour: int
    supplier: str
    state_actor: str
    state_change_time: _timestamp_pb2.Timestamp
    def __init__(self, decision_id: _Optional[str] = ..., store_id: _Optional[str] = ..., kind: _Optional[_Union[DecisionKind, str]] = ..., state: _Optional[_Union[DecisionState, str]] = ..., business_date: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sku: _Optional[str] = ..., category: _Optional[str] = ..., quantity: _Optional[float] = ..., value: _Optional[float] = ..., confidence: _Optional[float] = ..., model_name: _Optional[str] = ..., model_version: _Optional[str] = ..., rule: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., supersedes_id: _Optional[str] = ..., reason: _Optional[str] = ..., hour: _Optional[int] = ..., supplier: _Optional[str] = ..., state_actor: _Optional[str] = ..., state_change_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListDecisionsRequest(_message.Message):
    __slots__ = ("store_id", "kind", "state", "business_date_from", "business_date_to", "min_value", "page_size", "page_token")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DATE_FROM_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DATE_TO_FIELD_NUMBER: _ClassVar[int]
    MIN_VALUE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    kind: DecisionKind
    state: DecisionState
    business_date_from: str
    business_date_to: str
    min_value: float
    page_size: int
    page_token: str
    def __init__(self, store_id: _Optional[str] = ..., kind: _Optional[_Union[DecisionKind, str]] = ..., state: _Optional[_Union[DecisionState, str]] = ..., business_date_from: _Optional[str] = ..., business_date_to: _Optional[str] = ..., min_value: _Optional[float] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDecisionsResponse(_message.Message):
    __slots__ = ("decisions", "next_page_token")
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    decisions: _containers.RepeatedCompositeFieldContainer[Decision]
    next_page_token: str
    def __init__(self, decisions: _Optional[_Iterable[_Union[Decision, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AuditEvent(_message.Message):
    __slots__ = ("record_id", "seq", "event_type", "record_time", "actor", "summary", "hash", "verified")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    RECORD_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    seq: int
    event_type: str
    record_time: _timestamp_pb2.Timestamp
    actor: str
    summary: str
    hash: str
    verified: bool
    def __init__(self, record_id: _Optional[str] = ..., seq: _Optional[int] = ..., event_type: _Optional[str] = ..., record_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., summary: _Optional[str] = ..., hash: _Optional[str] = ..., verified: _Optional[bool] = ...) -> None: ...

class Approval(_message.Message):
    __slots__ = ("request_id", "action", "quantity", "actor", "reason", "request_time", "status", "result_state", "result_reason", "answer_time")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESULT_STATE_FIELD_NUMBER: _ClassVar[int]
    RESULT_REASON_FIELD_NUMBER: _ClassVar[int]
    ANSWER_TIME_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    action: ApprovalAction
    quantity: float
    actor: str
    reason: str
    request_time: _timestamp_pb2.Timestamp
    status: ApprovalStatus
    result_state: str
    result_reason: str
    answer_time: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., action: _Optional[_Union[ApprovalAction, str]] = ..., quantity: _Optional[float] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., request_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[ApprovalStatus, str]] = ..., result_state: _Optional[str] = ..., result_reason: _Optional[str] = ..., answer_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetDecisionRequest(_message.Message):
    __slots__ = ("decision_id",)
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    def __init__(self, decision_id: _Optional[str] = ...) -> None: ...

class GetDecisionResponse(_message.Message):
    __slots__ = ("decision", "audit_trail", "approvals")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    AUDIT_TRAIL_FIELD_NUMBER: _ClassVar[int]
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    decision: Decision
    audit_trail: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    approvals: _containers.RepeatedCompositeFieldContainer[Approval]
    def __init__(self, decision: _Optional[_Union[Decision, _Mapping]] = ..., audit_trail: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., approvals: _Optional[_Iterable[_Union[Approval, _Mapping]]] = ...) -> None: ...

class ApproveDecisionRequest(_message.Message):
    __slots__ = ("decision_id", "reason")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    reason: str
    def __init__(self, decision_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApproveDecisionResponse(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: Approval
    def __init__(self, approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class RejectDecisionRequest(_message.Message):
    __slots__ = ("decision_id", "reason")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    reason: str
    def __init__(self, decision_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectDecisionResponse(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: Approval
    def __init__(self, approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class OverrideDecisionRequest(_message.Message):
    __slots__ = ("decision_id", "quantity", "reason")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    quantity: float
    reason: str
    def __init__(self, decision_id: _Optional[str] = ..., quantity: _Optional[float] = ..., reason: _Optional[str] = ...) -> None: ...

class OverrideDecisionResponse(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: Approval
    def __init__(self, approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class WatchPendingDecisionsRequest(_message.Message):
    __slots__ = ("store_id", "kind", "include_existing")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_EXISTING_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    kind: DecisionKind
    include_existing: bool
    def __init__(self, store_id: _Optional[str] = ..., kind: _Optional[_Union[DecisionKind, str]] = ..., include_existing: _Optional[bool] = ...) -> None: ...

class WatchPendingDecisionsResponse(_message.Message):
    __slots__ = ("decision",)
    DECISION_FIELD_NUMBER: _ClassVar[int]
    decision: Decision
    def __init__(self, decision: _Optional[_Union[Decision, _Mapping]] = ...) -> None: ...

class BadRecord(_message.Message):
    __slots__ = ("record_id", "seq", "reason")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    seq: int
    reason: str
    def __init__(self, record_id: _Optional[str] = ..., seq: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class VerifyChainRequest(_message.Message):
    __slots__ = ("store_id",)
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    def __init__(self, store_id: _Optional[str] = ...) -> None: ...

class VerifyChainResponse(_message.Message):
    __slots__ = ("store_id", "status", "chain_length", "chain_head", "first_bad_record", "entries_waiting", "gap_missing_seq", "chain_epoch")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    CHAIN_HEAD_FIELD_NUMBER: _ClassVar[int]
    FIRST_BAD_RECORD_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_WAITING_FIELD_NUMBER: _ClassVar[int]
    GAP_MISSING_SEQ_FIELD_NUMBER: _ClassVar[int]
    CHAIN_EPOCH_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    status: ChainStatus
    chain_length: int
    chain_head: str
    first_bad_record: BadRecord
    entries_waiting: int
    gap_missing_seq: int
    chain_epoch: int
    def __init__(self, store_id: _Optional[str] = ..., status: _Optional[_Union[ChainStatus, str]] = ..., chain_length: _Optional[int] = ..., chain_head: _Optional[str] = ..., first_bad_record: _Optional[_Union[BadRecord, _Mapping]] = ..., entries_waiting: _Optional[int] = ..., gap_missing_seq: _Optional[int] = ..., chain_epoch: _Optional[int] = ...) -> None: ...
