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

class JoinStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOIN_STATUS_UNSPECIFIED: _ClassVar[JoinStatus]
    JOIN_STATUS_PARTIAL: _ClassVar[JoinStatus]
    JOIN_STATUS_COMPLETE: _ClassVar[JoinStatus]

class ReviewPath(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVIEW_PATH_UNSPECIFIED: _ClassVar[ReviewPath]
    REVIEW_PATH_AUTO: _ClassVar[ReviewPath]
    REVIEW_PATH_APPROVED: _ClassVar[ReviewPath]
    REVIEW_PATH_REJECTED: _ClassVar[ReviewPath]
    REVIEW_PATH_OVERRIDDEN: _ClassVar[ReviewPath]
    REVIEW_PATH_OTHER: _ClassVar[ReviewPath]

class ShelfCheckStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SHELF_CHECK_STATUS_UNSPECIFIED: _ClassVar[ShelfCheckStatus]
    SHELF_CHECK_STATUS_FOUND: _ClassVar[ShelfCheckStatus]
    SHELF_CHECK_STATUS_MISSING: _ClassVar[ShelfCheckStatus]
    SHELF_CHECK_STATUS_NOT_CHECKED: _ClassVar[ShelfCheckStatus]

class ModelVersionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_VERSION_STATUS_UNSPECIFIED: _ClassVar[ModelVersionStatus]
    MODEL_VERSION_STATUS_CANDIDATE: _ClassVar[ModelVersionStatus]
    MODEL_VERSION_STATUS_CHAMPION: _ClassVar[ModelVersionStatus]
    MODEL_VERSION_STATUS_RETIRED: _ClassVar[ModelVersionStatus]
    MODEL_VERSION_STATUS_ROLLED_BACK: _ClassVar[ModelVersionStatus]

class RolloutState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLLOUT_STATE_UNSPECIFIED: _ClassVar[RolloutState]
    ROLLOUT_STATE_RUNNING: _ClassVar[RolloutState]
    ROLLOUT_STATE_PAUSED: _ClassVar[RolloutState]
    ROLLOUT_STATE_COMPLETED: _ClassVar[RolloutState]
    ROLLOUT_STATE_ROLLED_BACK: _ClassVar[RolloutState]
    ROLLOUT_STATE_FAILED: _ClassVar[RolloutState]

class RolloutStoreStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLLOUT_STORE_STATUS_UNSPECIFIED: _ClassVar[RolloutStoreStatus]
    ROLLOUT_STORE_STATUS_OFFERED: _ClassVar[RolloutStoreStatus]
    ROLLOUT_STORE_STATUS_SKIPPED: _ClassVar[RolloutStoreStatus]
    ROLLOUT_STORE_STATUS_ROLLED_BACK: _ClassVar[RolloutStoreStatus]

class SwapOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SWAP_OUTCOME_UNSPECIFIED: _ClassVar[SwapOutcome]
    SWAP_OUTCOME_APPLIED: _ClassVar[SwapOutcome]
    SWAP_OUTCOME_REFUSED: _ClassVar[SwapOutcome]

class TrainingRunState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRAINING_RUN_STATE_UNSPECIFIED: _ClassVar[TrainingRunState]
    TRAINING_RUN_STATE_QUEUED: _ClassVar[TrainingRunState]
    TRAINING_RUN_STATE_RUNNING: _ClassVar[TrainingRunState]
    TRAINING_RUN_STATE_SUCCEEDED: _ClassVar[TrainingRunState]
    TRAINING_RUN_STATE_FAILED: _ClassVar[TrainingRunState]
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
JOIN_STATUS_UNSPECIFIED: JoinStatus
JOIN_STATUS_PARTIAL: JoinStatus
JOIN_STATUS_COMPLETE: JoinStatus
REVIEW_PATH_UNSPECIFIED: ReviewPath
REVIEW_PATH_AUTO: ReviewPath
REVIEW_PATH_APPROVED: ReviewPath
REVIEW_PATH_REJECTED: ReviewPath
REVIEW_PATH_OVERRIDDEN: ReviewPath
REVIEW_PATH_OTHER: ReviewPath
SHELF_CHECK_STATUS_UNSPECIFIED: ShelfCheckStatus
SHELF_CHECK_STATUS_FOUND: ShelfCheckStatus
SHELF_CHECK_STATUS_MISSING: ShelfCheckStatus
SHELF_CHECK_STATUS_NOT_CHECKED: ShelfCheckStatus
MODEL_VERSION_STATUS_UNSPECIFIED: ModelVersionStatus
MODEL_VERSION_STATUS_CANDIDATE: ModelVersionStatus
MODEL_VERSION_STATUS_CHAMPION: ModelVersionStatus
MODEL_VERSION_STATUS_RETIRED: ModelVersionStatus
MODEL_VERSION_STATUS_ROLLED_BACK: ModelVersionStatus
ROLLOUT_STATE_UNSPECIFIED: RolloutState
ROLLOUT_STATE_RUNNING: RolloutState
ROLLOUT_STATE_PAUSED: RolloutState
ROLLOUT_STATE_COMPLETED: RolloutState
ROLLOUT_STATE_ROLLED_BACK: RolloutState
ROLLOUT_STATE_FAILED: RolloutState
ROLLOUT_STORE_STATUS_UNSPECIFIED: RolloutStoreStatus
ROLLOUT_STORE_STATUS_OFFERED: RolloutStoreStatus
ROLLOUT_STORE_STATUS_SKIPPED: RolloutStoreStatus
ROLLOUT_STORE_STATUS_ROLLED_BACK: RolloutStoreStatus
SWAP_OUTCOME_UNSPECIFIED: SwapOutcome
SWAP_OUTCOME_APPLIED: SwapOutcome
SWAP_OUTCOME_REFUSED: SwapOutcome
TRAINING_RUN_STATE_UNSPECIFIED: TrainingRunState
TRAINING_RUN_STATE_QUEUED: TrainingRunState
TRAINING_RUN_STATE_RUNNING: TrainingRunState
TRAINING_RUN_STATE_SUCCEEDED: TrainingRunState
TRAINING_RUN_STATE_FAILED: TrainingRunState

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
    __slots__ = ("record_id", "seq", "event_type", "record_time", "actor", "summary", "hash", "verified", "subject_id")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    RECORD_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    seq: int
    event_type: str
    record_time: _timestamp_pb2.Timestamp
    actor: str
    summary: str
    hash: str
    verified: bool
    subject_id: str
    def __init__(self, record_id: _Optional[str] = ..., seq: _Optional[int] = ..., event_type: _Optional[str] = ..., record_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., summary: _Optional[str] = ..., hash: _Optional[str] = ..., verified: _Optional[bool] = ..., subject_id: _Optional[str] = ...) -> None: ...

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

class ListAuditRecordsRequest(_message.Message):
    __slots__ = ("store_id", "from_seq", "to_seq", "event_type", "subject_id", "page_size", "page_token")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    TO_SEQ_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    from_seq: int
    to_seq: int
    event_type: str
    subject_id: str
    page_size: int
    page_token: str
    def __init__(self, store_id: _Optional[str] = ..., from_seq: _Optional[int] = ..., to_seq: _Optional[int] = ..., event_type: _Optional[str] = ..., subject_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAuditRecordsResponse(_message.Message):
    __slots__ = ("records", "next_page_token")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    next_page_token: str
    def __init__(self, records: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

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

class OrderOutcome(_message.Message):
    __slots__ = ("coverage_start", "coverage_end", "forecast_p90", "protection_sales", "p90_covered", "forecast_mean", "coverage_days", "sales_units", "onhand_unit_days", "end_on_hand", "stockout_days", "lost_units", "lost_value", "received_units", "excess_units", "aged_units", "expected_delivery_date", "waste_units")
    COVERAGE_START_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_END_FIELD_NUMBER: _ClassVar[int]
    FORECAST_P90_FIELD_NUMBER: _ClassVar[int]
    PROTECTION_SALES_FIELD_NUMBER: _ClassVar[int]
    P90_COVERED_FIELD_NUMBER: _ClassVar[int]
    FORECAST_MEAN_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_DAYS_FIELD_NUMBER: _ClassVar[int]
    SALES_UNITS_FIELD_NUMBER: _ClassVar[int]
    ONHAND_UNIT_DAYS_FIELD_NUMBER: _ClassVar[int]
    END_ON_HAND_FIELD_NUMBER: _ClassVar[int]
    STOCKOUT_DAYS_FIELD_NUMBER: _ClassVar[int]
    LOST_UNITS_FIELD_NUMBER: _ClassVar[int]
    LOST_VALUE_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_UNITS_FIELD_NUMBER: _ClassVar[int]
    EXCESS_UNITS_FIELD_NUMBER: _ClassVar[int]
    AGED_UNITS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_DELIVERY_DATE_FIELD_NUMBER: _ClassVar[int]
    WASTE_UNITS_FIELD_NUMBER: _ClassVar[int]
    coverage_start: str
    coverage_end: str
    forecast_p90: float
    protection_sales: float
    p90_covered: bool
    forecast_mean: float
    coverage_days: int
    sales_units: float
    onhand_unit_days: float
    end_on_hand: float
    stockout_days: int
    lost_units: float
    lost_value: float
    received_units: float
    excess_units: float
    aged_units: float
    expected_delivery_date: str
    waste_units: float
    def __init__(self, coverage_start: _Optional[str] = ..., coverage_end: _Optional[str] = ..., forecast_p90: _Optional[float] = ..., protection_sales: _Optional[float] = ..., p90_covered: _Optional[bool] = ..., forecast_mean: _Optional[float] = ..., coverage_days: _Optional[int] = ..., sales_units: _Optional[float] = ..., onhand_unit_days: _Optional[float] = ..., end_on_hand: _Optional[float] = ..., stockout_days: _Optional[int] = ..., lost_units: _Optional[float] = ..., lost_value: _Optional[float] = ..., received_units: _Optional[float] = ..., excess_units: _Optional[float] = ..., aged_units: _Optional[float] = ..., expected_delivery_date: _Optional[str] = ..., waste_units: _Optional[float] = ...) -> None: ...

class StaffingOutcome(_message.Message):
    __slots__ = ("hour", "forecast_transactions", "transactions", "staffed", "needed", "transactions_per_staff_hour", "over_hours", "under_hours")
    HOUR_FIELD_NUMBER: _ClassVar[int]
    FORECAST_TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    STAFFED_FIELD_NUMBER: _ClassVar[int]
    NEEDED_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONS_PER_STAFF_HOUR_FIELD_NUMBER: _ClassVar[int]
    OVER_HOURS_FIELD_NUMBER: _ClassVar[int]
    UNDER_HOURS_FIELD_NUMBER: _ClassVar[int]
    hour: int
    forecast_transactions: float
    transactions: float
    staffed: float
    needed: float
    transactions_per_staff_hour: float
    over_hours: float
    under_hours: float
    def __init__(self, hour: _Optional[int] = ..., forecast_transactions: _Optional[float] = ..., transactions: _Optional[float] = ..., staffed: _Optional[float] = ..., needed: _Optional[float] = ..., transactions_per_staff_hour: _Optional[float] = ..., over_hours: _Optional[float] = ..., under_hours: _Optional[float] = ...) -> None: ...

class ShelfCheckOutcome(_message.Message):
    __slots__ = ("status", "checked_by", "random_sample", "rank")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CHECKED_BY_FIELD_NUMBER: _ClassVar[int]
    RANDOM_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    status: ShelfCheckStatus
    checked_by: str
    random_sample: bool
    rank: int
    def __init__(self, status: _Optional[_Union[ShelfCheckStatus, str]] = ..., checked_by: _Optional[str] = ..., random_sample: _Optional[bool] = ..., rank: _Optional[int] = ...) -> None: ...

class DecisionOutcome(_message.Message):
    __slots__ = ("decision_id", "store_id", "kind", "status", "window_start", "window_end", "days_synced", "days_expected", "review", "review_seconds", "model_version", "update_time", "order", "staffing", "shelf_check")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    DAYS_SYNCED_FIELD_NUMBER: _ClassVar[int]
    DAYS_EXPECTED_FIELD_NUMBER: _ClassVar[int]
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    REVIEW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    STAFFING_FIELD_NUMBER: _ClassVar[int]
    SHELF_CHECK_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    store_id: str
    kind: DecisionKind
    status: JoinStatus
    window_start: str
    window_end: str
    days_synced: int
    days_expected: int
    review: ReviewPath
    review_seconds: float
    model_version: str
    update_time: _timestamp_pb2.Timestamp
    order: OrderOutcome
    staffing: StaffingOutcome
    shelf_check: ShelfCheckOutcome
    def __init__(self, decision_id: _Optional[str] = ..., store_id: _Optional[str] = ..., kind: _Optional[_Union[DecisionKind, str]] = ..., status: _Optional[_Union[JoinStatus, str]] = ..., window_start: _Optional[str] = ..., window_end: _Optional[str] = ..., days_synced: _Optional[int] = ..., days_expected: _Optional[int] = ..., review: _Optional[_Union[ReviewPath, str]] = ..., review_seconds: _Optional[float] = ..., model_version: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., order: _Optional[_Union[OrderOutcome, _Mapping]] = ..., staffing: _Optional[_Union[StaffingOutcome, _Mapping]] = ..., shelf_check: _Optional[_Union[ShelfCheckOutcome, _Mapping]] = ...) -> None: ...

class GetDecisionOutcomeRequest(_message.Message):
    __slots__ = ("decision_id",)
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    def __init__(self, decision_id: _Optional[str] = ...) -> None: ...

class GetDecisionOutcomeResponse(_message.Message):
    __slots__ = ("outcome",)
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    outcome: DecisionOutcome
    def __init__(self, outcome: _Optional[_Union[DecisionOutcome, _Mapping]] = ...) -> None: ...

class OutcomeMetrics(_message.Message):
    __slots__ = ("week", "store_id", "category", "model_version", "decisions", "joins_complete", "joins_partial", "forecasts", "wape", "bias", "p90_forecasts", "p90_coverage", "order_windows", "sku_days", "stockout_days", "stockout_rate", "lost_units", "lost_value", "sales_units", "onhand_unit_days", "inventory_turns", "days_of_supply", "excess_units", "aged_units", "staffing_hours", "over_hours", "under_hours", "checks_ranked", "missing_ranked", "hit_rate_ranked", "checks_random", "missing_random", "hit_rate_random", "not_checked", "auto", "approved", "rejected", "overridden", "other", "share_auto", "share_approved", "share_rejected", "share_overridden", "reviewed", "review_seconds_mean", "review_seconds_max", "waste_units")
    WEEK_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    JOINS_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    JOINS_PARTIAL_FIELD_NUMBER: _ClassVar[int]
    FORECASTS_FIELD_NUMBER: _ClassVar[int]
    WAPE_FIELD_NUMBER: _ClassVar[int]
    BIAS_FIELD_NUMBER: _ClassVar[int]
    P90_FORECASTS_FIELD_NUMBER: _ClassVar[int]
    P90_COVERAGE_FIELD_NUMBER: _ClassVar[int]
    ORDER_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    SKU_DAYS_FIELD_NUMBER: _ClassVar[int]
    STOCKOUT_DAYS_FIELD_NUMBER: _ClassVar[int]
    STOCKOUT_RATE_FIELD_NUMBER: _ClassVar[int]
    LOST_UNITS_FIELD_NUMBER: _ClassVar[int]
    LOST_VALUE_FIELD_NUMBER: _ClassVar[int]
    SALES_UNITS_FIELD_NUMBER: _ClassVar[int]
    ONHAND_UNIT_DAYS_FIELD_NUMBER: _ClassVar[int]
    INVENTORY_TURNS_FIELD_NUMBER: _ClassVar[int]
    DAYS_OF_SUPPLY_FIELD_NUMBER: _ClassVar[int]
    EXCESS_UNITS_FIELD_NUMBER: _ClassVar[int]
    AGED_UNITS_FIELD_NUMBER: _ClassVar[int]
    STAFFING_HOURS_FIELD_NUMBER: _ClassVar[int]
    OVER_HOURS_FIELD_NUMBER: _ClassVar[int]
    UNDER_HOURS_FIELD_NUMBER: _ClassVar[int]
    CHECKS_RANKED_FIELD_NUMBER: _ClassVar[int]
    MISSING_RANKED_FIELD_NUMBER: _ClassVar[int]
    HIT_RATE_RANKED_FIELD_NUMBER: _ClassVar[int]
    CHECKS_RANDOM_FIELD_NUMBER: _ClassVar[int]
    MISSING_RANDOM_FIELD_NUMBER: _ClassVar[int]
    HIT_RATE_RANDOM_FIELD_NUMBER: _ClassVar[int]
    NOT_CHECKED_FIELD_NUMBER: _ClassVar[int]
    AUTO_FIELD_NUMBER: _ClassVar[int]
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    SHARE_AUTO_FIELD_NUMBER: _ClassVar[int]
    SHARE_APPROVED_FIELD_NUMBER: _ClassVar[int]
    SHARE_REJECTED_FIELD_NUMBER: _ClassVar[int]
    SHARE_OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_FIELD_NUMBER: _ClassVar[int]
    REVIEW_SECONDS_MEAN_FIELD_NUMBER: _ClassVar[int]
    REVIEW_SECONDS_MAX_FIELD_NUMBER: _ClassVar[int]
    WASTE_UNITS_FIELD_NUMBER: _ClassVar[int]
    week: str
    store_id: str
    category: str
    model_version: str
    decisions: int
    joins_complete: int
    joins_partial: int
    forecasts: int
    wape: float
    bias: float
    p90_forecasts: int
    p90_coverage: float
    order_windows: int
    sku_days: int
    stockout_days: int
    stockout_rate: float
    lost_units: float
    lost_value: float
    sales_units: float
    onhand_unit_days: float
    inventory_turns: float
    days_of_supply: float
    excess_units: float
    aged_units: float
    staffing_hours: int
    over_hours: float
    under_hours: float
    checks_ranked: int
    missing_ranked: int
    hit_rate_ranked: float
    checks_random: int
    missing_random: int
    hit_rate_random: float
    not_checked: int
    auto: int
    approved: int
    rejected: int
    overridden: int
    other: int
    share_auto: float
    share_approved: float
    share_rejected: float
    share_overridden: float
    reviewed: int
    review_seconds_mean: float
    review_seconds_max: float
    waste_units: float
    def __init__(self, week: _Optional[str] = ..., store_id: _Optional[str] = ..., category: _Optional[str] = ..., model_version: _Optional[str] = ..., decisions: _Optional[int] = ..., joins_complete: _Optional[int] = ..., joins_partial: _Optional[int] = ..., forecasts: _Optional[int] = ..., wape: _Optional[float] = ..., bias: _Optional[float] = ..., p90_forecasts: _Optional[int] = ..., p90_coverage: _Optional[float] = ..., order_windows: _Optional[int] = ..., sku_days: _Optional[int] = ..., stockout_days: _Optional[int] = ..., stockout_rate: _Optional[float] = ..., lost_units: _Optional[float] = ..., lost_value: _Optional[float] = ..., sales_units: _Optional[float] = ..., onhand_unit_days: _Optional[float] = ..., inventory_turns: _Optional[float] = ..., days_of_supply: _Optional[float] = ..., excess_units: _Optional[float] = ..., aged_units: _Optional[float] = ..., staffing_hours: _Optional[int] = ..., over_hours: _Optional[float] = ..., under_hours: _Optional[float] = ..., checks_ranked: _Optional[int] = ..., missing_ranked: _Optional[int] = ..., hit_rate_ranked: _Optional[float] = ..., checks_random: _Optional[int] = ..., missing_random: _Optional[int] = ..., hit_rate_random: _Optional[float] = ..., not_checked: _Optional[int] = ..., auto: _Optional[int] = ..., approved: _Optional[int] = ..., rejected: _Optional[int] = ..., overridden: _Optional[int] = ..., other: _Optional[int] = ..., share_auto: _Optional[float] = ..., share_approved: _Optional[float] = ..., share_rejected: _Optional[float] = ..., share_overridden: _Optional[float] = ..., reviewed: _Optional[int] = ..., review_seconds_mean: _Optional[float] = ..., review_seconds_max: _Optional[float] = ..., waste_units: _Optional[float] = ...) -> None: ...

class ListOutcomeMetricsRequest(_message.Message):
    __slots__ = ("store_id", "category", "model_version", "week_from", "week_to", "page_size", "page_token")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    WEEK_FROM_FIELD_NUMBER: _ClassVar[int]
    WEEK_TO_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    category: str
    model_version: str
    week_from: str
    week_to: str
    page_size: int
    page_token: str
    def __init__(self, store_id: _Optional[str] = ..., category: _Optional[str] = ..., model_version: _Optional[str] = ..., week_from: _Optional[str] = ..., week_to: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListOutcomeMetricsResponse(_message.Message):
    __slots__ = ("metrics", "next_page_token")
    METRICS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    metrics: _containers.RepeatedCompositeFieldContainer[OutcomeMetrics]
    next_page_token: str
    def __init__(self, metrics: _Optional[_Iterable[_Union[OutcomeMetrics, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ModelVersion(_message.Message):
    __slots__ = ("name", "model", "version", "status", "parent_version", "training_window_start", "training_window_end", "training_rows", "metrics", "sha256", "feature_spec_hash", "create_time", "status_time", "key_id", "provenance")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PARENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    TRAINING_WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    TRAINING_WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    TRAINING_ROWS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    FEATURE_SPEC_HASH_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_TIME_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    model: str
    version: str
    status: ModelVersionStatus
    parent_version: str
    training_window_start: str
    training_window_end: str
    training_rows: int
    metrics: _containers.ScalarMap[str, float]
    sha256: str
    feature_spec_hash: str
    create_time: _timestamp_pb2.Timestamp
    status_time: _timestamp_pb2.Timestamp
    key_id: str
    provenance: str
    def __init__(self, name: _Optional[str] = ..., model: _Optional[str] = ..., version: _Optional[str] = ..., status: _Optional[_Union[ModelVersionStatus, str]] = ..., parent_version: _Optional[str] = ..., training_window_start: _Optional[str] = ..., training_window_end: _Optional[str] = ..., training_rows: _Optional[int] = ..., metrics: _Optional[_Mapping[str, float]] = ..., sha256: _Optional[str] = ..., feature_spec_hash: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., key_id: _Optional[str] = ..., provenance: _Optional[str] = ...) -> None: ...

class ListModelVersionsRequest(_message.Message):
    __slots__ = ("model", "status", "page_size", "page_token")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    model: str
    status: ModelVersionStatus
    page_size: int
    page_token: str
    def __init__(self, model: _Optional[str] = ..., status: _Optional[_Union[ModelVersionStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListModelVersionsResponse(_message.Message):
    __slots__ = ("model_versions", "next_page_token")
    MODEL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    model_versions: _containers.RepeatedCompositeFieldContainer[ModelVersion]
    next_page_token: str
    def __init__(self, model_versions: _Optional[_Iterable[_Union[ModelVersion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetModelVersionRequest(_message.Message):
    __slots__ = ("model", "version")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    model: str
    version: str
    def __init__(self, model: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class GetModelVersionResponse(_message.Message):
    __slots__ = ("artifacts",)
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    artifacts: _containers.RepeatedCompositeFieldContainer[ModelVersion]
    def __init__(self, artifacts: _Optional[_Iterable[_Union[ModelVersion, _Mapping]]] = ...) -> None: ...

class PromoteModelVersionRequest(_message.Message):
    __slots__ = ("model", "version", "reason")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    model: str
    version: str
    reason: str
    def __init__(self, model: _Optional[str] = ..., version: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PromoteModelVersionResponse(_message.Message):
    __slots__ = ("champions",)
    CHAMPIONS_FIELD_NUMBER: _ClassVar[int]
    champions: _containers.RepeatedCompositeFieldContainer[ModelVersion]
    def __init__(self, champions: _Optional[_Iterable[_Union[ModelVersion, _Mapping]]] = ...) -> None: ...

class RollbackModelRequest(_message.Message):
    __slots__ = ("model", "reason")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    model: str
    reason: str
    def __init__(self, model: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RollbackModelResponse(_message.Message):
    __slots__ = ("champions",)
    CHAMPIONS_FIELD_NUMBER: _ClassVar[int]
    champions: _containers.RepeatedCompositeFieldContainer[ModelVersion]
    def __init__(self, champions: _Optional[_Iterable[_Union[ModelVersion, _Mapping]]] = ...) -> None: ...

class Rollout(_message.Message):
    __slots__ = ("rollout_id", "model", "version", "state", "ring", "ring_offer_time", "forced", "actor", "reason", "start_time", "update_time")
    ROLLOUT_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RING_FIELD_NUMBER: _ClassVar[int]
    RING_OFFER_TIME_FIELD_NUMBER: _ClassVar[int]
    FORCED_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    rollout_id: int
    model: str
    version: str
    state: RolloutState
    ring: str
    ring_offer_time: _timestamp_pb2.Timestamp
    forced: bool
    actor: str
    reason: str
    start_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, rollout_id: _Optional[int] = ..., model: _Optional[str] = ..., version: _Optional[str] = ..., state: _Optional[_Union[RolloutState, str]] = ..., ring: _Optional[str] = ..., ring_offer_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., forced: _Optional[bool] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RolloutStore(_message.Message):
    __slots__ = ("store_id", "ring", "status", "swap", "previous_version", "detail")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    RING_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SWAP_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    ring: str
    status: RolloutStoreStatus
    swap: SwapOutcome
    previous_version: str
    detail: str
    def __init__(self, store_id: _Optional[str] = ..., ring: _Optional[str] = ..., status: _Optional[_Union[RolloutStoreStatus, str]] = ..., swap: _Optional[_Union[SwapOutcome, str]] = ..., previous_version: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class RolloutRing(_message.Message):
    __slots__ = ("ring", "offered", "applied", "refused", "skipped", "rolled_back", "gate_verdict", "gate_reason", "gate_numbers_json")
    RING_FIELD_NUMBER: _ClassVar[int]
    OFFERED_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    ROLLED_BACK_FIELD_NUMBER: _ClassVar[int]
    GATE_VERDICT_FIELD_NUMBER: _ClassVar[int]
    GATE_REASON_FIELD_NUMBER: _ClassVar[int]
    GATE_NUMBERS_JSON_FIELD_NUMBER: _ClassVar[int]
    ring: str
    offered: int
    applied: int
    refused: int
    skipped: int
    rolled_back: int
    gate_verdict: str
    gate_reason: str
    gate_numbers_json: str
    def __init__(self, ring: _Optional[str] = ..., offered: _Optional[int] = ..., applied: _Optional[int] = ..., refused: _Optional[int] = ..., skipped: _Optional[int] = ..., rolled_back: _Optional[int] = ..., gate_verdict: _Optional[str] = ..., gate_reason: _Optional[str] = ..., gate_numbers_json: _Optional[str] = ...) -> None: ...

class StartRolloutRequest(_message.Message):
    __slots__ = ("model", "version", "force", "reason")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    model: str
    version: str
    force: bool
    reason: str
    def __init__(self, model: _Optional[str] = ..., version: _Optional[str] = ..., force: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class StartRolloutResponse(_message.Message):
    __slots__ = ("rollout",)
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    rollout: Rollout
    def __init__(self, rollout: _Optional[_Union[Rollout, _Mapping]] = ...) -> None: ...

class GetRolloutStatusRequest(_message.Message):
    __slots__ = ("rollout_id", "model")
    ROLLOUT_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    rollout_id: int
    model: str
    def __init__(self, rollout_id: _Optional[int] = ..., model: _Optional[str] = ...) -> None: ...

class GetRolloutStatusResponse(_message.Message):
    __slots__ = ("rollout", "rings", "stores")
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    RINGS_FIELD_NUMBER: _ClassVar[int]
    STORES_FIELD_NUMBER: _ClassVar[int]
    rollout: Rollout
    rings: _containers.RepeatedCompositeFieldContainer[RolloutRing]
    stores: _containers.RepeatedCompositeFieldContainer[RolloutStore]
    def __init__(self, rollout: _Optional[_Union[Rollout, _Mapping]] = ..., rings: _Optional[_Iterable[_Union[RolloutRing, _Mapping]]] = ..., stores: _Optional[_Iterable[_Union[RolloutStore, _Mapping]]] = ...) -> None: ...

class ListRolloutsRequest(_message.Message):
    __slots__ = ("model", "state", "page_size", "page_token")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    model: str
    state: RolloutState
    page_size: int
    page_token: str
    def __init__(self, model: _Optional[str] = ..., state: _Optional[_Union[RolloutState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRolloutsResponse(_message.Message):
    __slots__ = ("rollouts", "next_page_token")
    ROLLOUTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    rollouts: _containers.RepeatedCompositeFieldContainer[Rollout]
    next_page_token: str
    def __init__(self, rollouts: _Optional[_Iterable[_Union[Rollout, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class PauseRolloutRequest(_message.Message):
    __slots__ = ("model", "reason")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    model: str
    reason: str
    def __init__(self, model: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PauseRolloutResponse(_message.Message):
    __slots__ = ("rollout",)
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    rollout: Rollout
    def __init__(self, rollout: _Optional[_Union[Rollout, _Mapping]] = ...) -> None: ...

class ResumeRolloutRequest(_message.Message):
    __slots__ = ("model", "reason")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    model: str
    reason: str
    def __init__(self, model: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ResumeRolloutResponse(_message.Message):
    __slots__ = ("rollout",)
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    rollout: Rollout
    def __init__(self, rollout: _Optional[_Union[Rollout, _Mapping]] = ...) -> None: ...

class RollbackRolloutRequest(_message.Message):
    __slots__ = ("model", "reason")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    model: str
    reason: str
    def __init__(self, model: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RollbackRolloutResponse(_message.Message):
    __slots__ = ("rollout",)
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    rollout: Rollout
    def __init__(self, rollout: _Optional[_Union[Rollout, _Mapping]] = ...) -> None: ...

class AdvanceRolloutRequest(_message.Message):
    __slots__ = ("model", "reason")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    model: str
    reason: str
    def __init__(self, model: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AdvanceRolloutResponse(_message.Message):
    __slots__ = ("rollout",)
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    rollout: Rollout
    def __init__(self, rollout: _Optional[_Union[Rollout, _Mapping]] = ...) -> None: ...

class TrainingRun(_message.Message):
    __slots__ = ("run_id", "model", "state", "progress", "actor", "create_time", "start_time", "end_time", "version", "promoted", "reasons", "challenger_error", "champion_error", "metrics_json", "error")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PROMOTED_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    CHALLENGER_ERROR_FIELD_NUMBER: _ClassVar[int]
    CHAMPION_ERROR_FIELD_NUMBER: _ClassVar[int]
    METRICS_JSON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    run_id: int
    model: str
    state: TrainingRunState
    progress: str
    actor: str
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    version: str
    promoted: bool
    reasons: _containers.RepeatedScalarFieldContainer[str]
    challenger_error: float
    champion_error: float
    metrics_json: str
    error: str
    def __init__(self, run_id: _Optional[int] = ..., model: _Optional[str] = ..., state: _Optional[_Union[TrainingRunState, str]] = ..., progress: _Optional[str] = ..., actor: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[str] = ..., promoted: _Optional[bool] = ..., reasons: _Optional[_Iterable[str]] = ..., challenger_error: _Optional[float] = ..., champion_error: _Optional[float] = ..., metrics_json: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class StartTrainingRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: str
    def __init__(self, model: _Optional[str] = ...) -> None: ...

class StartTrainingResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: TrainingRun
    def __init__(self, run: _Optional[_Union[TrainingRun, _Mapping]] = ...) -> None: ...

class GetTrainingRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: int
    def __init__(self, run_id: _Optional[int] = ...) -> None: ...

class GetTrainingRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: TrainingRun
    def __init__(self, run: _Optional[_Union[TrainingRun, _Mapping]] = ...) -> None: ...

class ListTrainingRunsRequest(_message.Message):
    __slots__ = ("model", "page_size", "page_token")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    model: str
    page_size: int
    page_token: str
    def __init__(self, model: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTrainingRunsResponse(_message.Message):
    __slots__ = ("runs", "next_page_token")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[TrainingRun]
    next_page_token: str
    def __init__(self, runs: _Optional[_Iterable[_Union[TrainingRun, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
