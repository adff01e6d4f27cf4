import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelSwapOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_SWAP_OUTCOME_UNSPECIFIED: _ClassVar[ModelSwapOutcome]
    MODEL_SWAP_OUTCOME_APPLIED: _ClassVar[ModelSwapOutcome]
    MODEL_SWAP_OUTCOME_REFUSED: _ClassVar[ModelSwapOutcome]
MODEL_SWAP_OUTCOME_UNSPECIFIED: ModelSwapOutcome
MODEL_SWAP_OUTCOME_APPLIED: ModelSwapOutcome
MODEL_SWAP_OUTCOME_REFUSED: ModelSwapOutcome

class ModelManifest(_message.Message):
    __slots__ = ("name", "version", "sha256", "feature_spec_hash", "training_window_start", "training_window_end", "training_rows", "metrics", "parent_version", "created_at", "opset", "min_agent_version", "inputs", "outputs", "provenance", "feature_names")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    FEATURE_SPEC_HASH_FIELD_NUMBER: _ClassVar[int]
    TRAINING_WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    TRAINING_WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    TRAINING_ROWS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    PARENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    OPSET_FIELD_NUMBER: _ClassVar[int]
    MIN_AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    FEATURE_NAMES_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    sha256: str
    feature_spec_hash: str
    training_window_start: str
    training_window_end: str
    training_rows: int
    metrics: _containers.ScalarMap[str, float]
    parent_version: str
    created_at: _timestamp_pb2.Timestamp
    opset: int
    min_agent_version: str
    inputs: _containers.RepeatedScalarFieldContainer[str]
    outputs: _containers.RepeatedScalarFieldContainer[str]
    provenance: str
    feature_names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., sha256: _Optional[str] = ..., feature_spec_hash: _Optional[str] = ..., training_window_start: _Optional[str] = ..., training_window_end: _Optional[str] = ..., training_rows: _Optional[int] = ..., metrics: _Optional[_Mapping[str, float]] = ..., parent_version: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., opset: _Optional[int] = ..., min_agent_version: _Optional[str] = ..., inputs: _Optional[_Iterable[str]] = ..., outputs: _Optional[_Iterable[str]] = ..., provenance: _Optional[str] = ..., feature_names: _Optional[_Iterable[str]] = ...) -> None: ...

class SignedManifest(_message.Message):
    __slots__ = ("manifest", "signature", "key_id")
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    manifest: bytes
    signature: bytes
    key_id: str
    def __init__(self, manifest: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., key_id: _Optional[str] = ...) -> None: ...

class ModelOffer(_message.Message):
    __slots__ = ("model_name", "version", "sha256", "actor", "reason", "offered_at")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OFFERED_AT_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    version: str
    sha256: str
    actor: str
    reason: str
    offered_at: _timestamp_pb2.Timestamp
    def __init__(self, model_name: _Optional[str] = ..., version: _Optional[str] = ..., sha256: _Optional[str] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., offered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ModelSwapReport(_message.Message):
    __slots__ = ("store_id", "model_name", "version", "outcome", "reason", "previous_version", "swap_seconds", "shadow_rows", "reported_at")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    SWAP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SHADOW_ROWS_FIELD_NUMBER: _ClassVar[int]
    REPORTED_AT_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    model_name: str
    version: str
    outcome: ModelSwapOutcome
    reason: str
    previous_version: str
    swap_seconds: float
    shadow_rows: int
    reported_at: _timestamp_pb2.Timestamp
    def __init__(self, store_id: _Optional[str] = ..., model_name: _Optional[str] = ..., version: _Optional[str] = ..., outcome: _Optional[_Union[ModelSwapOutcome, str]] = ..., reason: _Optional[str] = ..., previous_version: _Optional[str] = ..., swap_seconds: _Optional[float] = ..., shadow_rows: _Optional[int] = ..., reported_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
