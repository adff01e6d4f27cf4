import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from storeedge.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Heartbeat(_message.Message):
    __slots__ = ("id", "business_date", "recorded_at", "agent_version", "feature_spec_hashes", "model_versions", "backlog", "schema_version", "chain_head", "chain_length")
    class FeatureSpecHashesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ModelVersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class BacklogEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DATE_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    FEATURE_SPEC_HASHES_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    CHAIN_HEAD_FIELD_NUMBER: _ClassVar[int]
    CHAIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    id: _common_pb2.RecordId
    business_date: str
    recorded_at: _timestamp_pb2.Timestamp
    agent_version: str
    feature_spec_hashes: _containers.ScalarMap[str, str]
    model_versions: _containers.ScalarMap[str, str]
    backlog: _containers.ScalarMap[str, int]
    schema_version: int
    chain_head: bytes
    chain_length: int
    def __init__(self, id: _Optional[_Union[_common_pb2.RecordId, _Mapping]] = ..., business_date: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., agent_version: _Optional[str] = ..., feature_spec_hashes: _Optional[_Mapping[str, str]] = ..., model_versions: _Optional[_Mapping[str, str]] = ..., backlog: _Optional[_Mapping[str, int]] = ..., schema_version: _Optional[int] = ..., chain_head: _Optional[bytes] = ..., chain_length: _Optional[int] = ...) -> None: ...
