import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from storeedge.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ShelfCheckStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SHELF_CHECK_STATUS_UNSPECIFIED: _ClassVar[ShelfCheckStatus]
    SHELF_CHECK_STATUS_FOUND: _ClassVar[ShelfCheckStatus]
    SHELF_CHECK_STATUS_MISSING: _ClassVar[ShelfCheckStatus]
    SHELF_CHECK_STATUS_NOT_CHECKED: _ClassVar[ShelfCheckStatus]
SHELF_CHECK_STATUS_UNSPECIFIED: ShelfCheckStatus
SHELF_CHECK_STATUS_FOUND: ShelfCheckStatus
SHELF_CHECK_STATUS_MISSING: ShelfCheckStatus
SHELF_CHECK_STATUS_NOT_CHECKED: ShelfCheckStatus

class ShelfCheckResult(_message.Message):
    __slots__ = ("id", "business_date", "recorded_at", "decision_id", "sku", "status", "counted_units", "random_sample", "checked_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DATE_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COUNTED_UNITS_FIELD_NUMBER: _ClassVar[int]
    RANDOM_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    CHECKED_BY_FIELD_NUMBER: _ClassVar[int]
    id: _common_pb2.RecordId
    business_date: str
    recorded_at: _timestamp_pb2.Timestamp
    decision_id: str
    sku: str
    status: ShelfCheckStatus
    counted_units: float
    random_sample: bool
    checked_by: str
    def __init__(self, id: _Optional[_Union[_common_pb2.RecordId, _Mapping]] = ..., business_date: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decision_id: _Optional[str] = ..., sku: _Optional[str] = ..., status: _Optional[_Union[ShelfCheckStatus, str]] = ..., counted_units: _Optional[float] = ..., random_sample: _Optional[bool] = ..., checked_by: _Optional[str] = ...) -> None: ...
