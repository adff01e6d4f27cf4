import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from storeedge.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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

class PolicyOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POLICY_OUTCOME_UNSPECIFIED: _ClassVar[PolicyOutcome]
    POLICY_OUTCOME_AUTO: _ClassVar[PolicyOutcome]
    POLICY_OUTCOME_PENDING: _ClassVar[PolicyOutcome]
    POLICY_OUTCOME_BLOCKED: _ClassVar[PolicyOutcome]

class ApprovalAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPROVAL_ACTION_UNSPECIFIED: _ClassVar[ApprovalAction]
    APPROVAL_ACTION_APPROVE: _ClassVar[ApprovalAction]
    APPROVAL_ACTION_REJECT: _ClassVar[ApprovalAction]
    APPROVAL_ACTION_OVERRIDE: _ClassVar[ApprovalAction]
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
POLICY_OUTCOME_UNSPECIFIED: PolicyOutcome
POLICY_OUTCOME_AUTO: PolicyOutcome
POLICY_OUTCOME_PENDING: PolicyOutcome
POLICY_OUTCOME_BLOCKED: PolicyOutcome
APPROVAL_ACTION_UNSPECIFIED: ApprovalAction
APPROVAL_ACTION_APPROVE: ApprovalAction
APPROVAL_ACTION_REJECT: ApprovalAction
APPROVAL_ACTION_OVERRIDE: ApprovalAction

class Decision(_message.Message):
    __slots__ = ("id", "business_date", "recorded_at", "kind", "state", "sku", "category", "quantity", "value", "confidence", "model_name", "model_version", "rule", "policy_hash", "policy_outcome", "feature_digest", "expires_at", "supersedes_id", "actor", "reason", "order", "staffing", "shelf_check")
    ID_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DATE_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    POLICY_HASH_FIELD_NUMBER: _ClassVar[int]
    POLICY_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    FEATURE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    SUPERSEDES_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    STAFFING_FIELD_NUMBER: _ClassVar[int]
    SHELF_CHECK_FIELD_NUMBER: _ClassVar[int]
    id: _common_pb2.RecordId
    business_date: str
    recorded_at: _timestamp_pb2.Timestamp
    kind: DecisionKind
    state: DecisionState
    sku: str
    category: str
    quantity: float
    value: float
    confidence: float
    model_name: str
    model_version: str
    rule: str
    policy_hash: bytes
    policy_outcome: PolicyOutcome
    feature_digest: str
    expires_at: _timestamp_pb2.Timestamp
    supersedes_id: str
    actor: str
    reason: str
    order: OrderDetail
    staffing: StaffingDetail
    shelf_check: ShelfCheckDetail
    def __init__(self, id: _Optional[_Union[_common_pb2.RecordId, _Mapping]] = ..., business_date: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[DecisionKind, str]] = ..., state: _Optional[_Union[DecisionState, str]] = ..., sku: _Optional[str] = ..., category: _Optional[str] = ..., quantity: _Optional[float] = ..., value: _Optional[float] = ..., confidence: _Optional[float] = ..., model_name: _Optional[str] = ..., model_version: _Optional[str] = ..., rule: _Optional[str] = ..., policy_hash: _Optional[bytes] = ..., policy_outcome: _Optional[_Union[PolicyOutcome, str]] = ..., feature_digest: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., supersedes_id: _Optional[str] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., order: _Optional[_Union[OrderDetail, _Mapping]] = ..., staffing: _Optional[_Union[StaffingDetail, _Mapping]] = ..., shelf_check: _Optional[_Union[ShelfCheckDetail, _Mapping]] = ...) -> None: ...

class OrderDetail(_message.Message):
    __slots__ = ("order_date", "supplier", "order_up_to", "on_hand", "open_orders", "pending_own_orders", "case_pack", "forecast_mean", "protection_quantile", "protection_days", "cutoff", "expected_delivery_date", "forecast_mean_version")
    ORDER_DATE_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_FIELD_NUMBER: _ClassVar[int]
    ORDER_UP_TO_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_FIELD_NUMBER: _ClassVar[int]
    OPEN_ORDERS_FIELD_NUMBER: _ClassVar[int]
    PENDING_OWN_ORDERS_FIELD_NUMBER: _ClassVar[int]
    CASE_PACK_FIELD_NUMBER: _ClassVar[int]
    FORECAST_MEAN_FIELD_NUMBER: _ClassVar[int]
    PROTECTION_QUANTILE_FIELD_NUMBER: _ClassVar[int]
    PROTECTION_DAYS_FIELD_NUMBER: _ClassVar[int]
    CUTOFF_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_DELIVERY_DATE_FIELD_NUMBER: _ClassVar[int]
    FORECAST_MEAN_VERSION_FIELD_NUMBER: _ClassVar[int]
    order_date: str
    supplier: str
    order_up_to: float
    on_hand: float
    open_orders: float
    pending_own_orders: float
    case_pack: float
    forecast_mean: float
    protection_quantile: float
    protection_days: int
    cutoff: str
    expected_delivery_date: str
    forecast_mean_version: str
    def __init__(self, order_date: _Optional[str] = ..., supplier: _Optional[str] = ..., order_up_to: _Optional[float] = ..., on_hand: _Optional[float] = ..., open_orders: _Optional[float] = ..., pending_own_orders: _Optional[float] = ..., case_pack: _Optional[float] = ..., forecast_mean: _Optional[float] = ..., protection_quantile: _Optional[float] = ..., protection_days: _Optional[int] = ..., cutoff: _Optional[str] = ..., expected_delivery_date: _Optional[str] = ..., forecast_mean_version: _Optional[str] = ...) -> None: ...

class StaffingDetail(_message.Message):
    __slots__ = ("hour", "forecast_transactions", "recommended_staff", "scheduled_staff")
    HOUR_FIELD_NUMBER: _ClassVar[int]
    FORECAST_TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_STAFF_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_STAFF_FIELD_NUMBER: _ClassVar[int]
    hour: int
    forecast_transactions: float
    recommended_staff: float
    scheduled_staff: float
    def __init__(self, hour: _Optional[int] = ..., forecast_transactions: _Optional[float] = ..., recommended_staff: _Optional[float] = ..., scheduled_staff: _Optional[float] = ...) -> None: ...

class ShelfCheckDetail(_message.Message):
    __slots__ = ("system_on_hand", "expected_units", "off_shelf_probability", "random_sample", "rank", "availability_features", "scored_hour")
    SYSTEM_ON_HAND_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_UNITS_FIELD_NUMBER: _ClassVar[int]
    OFF_SHELF_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    RANDOM_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FEATURES_FIELD_NUMBER: _ClassVar[int]
    SCORED_HOUR_FIELD_NUMBER: _ClassVar[int]
    system_on_hand: float
    expected_units: float
    off_shelf_probability: float
    random_sample: bool
    rank: int
    availability_features: _containers.RepeatedScalarFieldContainer[float]
    scored_hour: int
    def __init__(self, system_on_hand: _Optional[float] = ..., expected_units: _Optional[float] = ..., off_shelf_probability: _Optional[float] = ..., random_sample: _Optional[bool] = ..., rank: _Optional[int] = ..., availability_features: _Optional[_Iterable[float]] = ..., scored_hour: _Optional[int] = ...) -> None: ...

class DecisionStateChange(_message.Message):
    __slots__ = ("decision_id", "from_state", "to_state", "actor", "reason", "changed_at")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_STATE_FIELD_NUMBER: _ClassVar[int]
    TO_STATE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    decision_id: _common_pb2.RecordId
    from_state: DecisionState
    to_state: DecisionState
    actor: str
    reason: str
    changed_at: _timestamp_pb2.Timestamp
    def __init__(self, decision_id: _Optional[_Union[_common_pb2.RecordId, _Mapping]] = ..., from_state: _Optional[_Union[DecisionState, str]] = ..., to_state: _Optional[_Union[DecisionState, str]] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ApprovalRequest(_message.Message):
    __slots__ = ("request_id", "decision_id", "action", "quantity", "actor", "reason", "requested_at")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    decision_id: str
    action: ApprovalAction
    quantity: float
    actor: str
    reason: str
    requested_at: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., decision_id: _Optional[str] = ..., action: _Optional[_Union[ApprovalAction, str]] = ..., quantity: _Optional[float] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ApprovalResult(_message.Message):
    __slots__ = ("id", "request_id", "decision_id", "applied", "state", "reason", "recorded_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    id: _common_pb2.RecordId
    request_id: str
    decision_id: str
    applied: bool
    state: str
    reason: str
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[_Union[_common_pb2.RecordId, _Mapping]] = ..., request_id: _Optional[str] = ..., decision_id: _Optional[str] = ..., applied: _Optional[bool] = ..., state: _Optional[str] = ..., reason: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
