import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from storeedge.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SkuDayOutcome(_message.Message):
    __slots__ = ("sku", "units_sold", "returns", "on_hand", "receipts", "waste", "adjustments", "price", "promo", "stockout_hours", "revision", "category", "listed")
    SKU_FIELD_NUMBER: _ClassVar[int]
    UNITS_SOLD_FIELD_NUMBER: _ClassVar[int]
    RETURNS_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    WASTE_FIELD_NUMBER: _ClassVar[int]
    ADJUSTMENTS_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    PROMO_FIELD_NUMBER: _ClassVar[int]
    STOCKOUT_HOURS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    LISTED_FIELD_NUMBER: _ClassVar[int]
    sku: str
    units_sold: float
    returns: float
    on_hand: float
    receipts: float
    waste: float
    adjustments: float
    price: float
    promo: bool
    stockout_hours: float
    revision: int
    category: str
    listed: bool
    def __init__(self, sku: _Optional[str] = ..., units_sold: _Optional[float] = ..., returns: _Optional[float] = ..., on_hand: _Optional[float] = ..., receipts: _Optional[float] = ..., waste: _Optional[float] = ..., adjustments: _Optional[float] = ..., price: _Optional[float] = ..., promo: _Optional[bool] = ..., stockout_hours: _Optional[float] = ..., revision: _Optional[int] = ..., category: _Optional[str] = ..., listed: _Optional[bool] = ...) -> None: ...

class StoreHourOutcome(_message.Message):
    __slots__ = ("hour", "transactions", "revision")
    HOUR_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    hour: int
    transactions: int
    revision: int
    def __init__(self, hour: _Optional[int] = ..., transactions: _Optional[int] = ..., revision: _Optional[int] = ...) -> None: ...

class DailyOutcome(_message.Message):
    __slots__ = ("id", "business_date", "recorded_at", "revision", "skus", "hours", "part", "part_count", "store_closed", "holiday", "event")
    ID_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DATE_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SKUS_FIELD_NUMBER: _ClassVar[int]
    HOURS_FIELD_NUMBER: _ClassVar[int]
    PART_FIELD_NUMBER: _ClassVar[int]
    PART_COUNT_FIELD_NUMBER: _ClassVar[int]
    STORE_CLOSED_FIELD_NUMBER: _ClassVar[int]
    HOLIDAY_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    id: _common_pb2.RecordId
    business_date: str
    recorded_at: _timestamp_pb2.Timestamp
    revision: int
    skus: _containers.RepeatedCompositeFieldContainer[SkuDayOutcome]
    hours: _containers.RepeatedCompositeFieldContainer[StoreHourOutcome]
    part: int
    part_count: int
    store_closed: bool
    holiday: str
    event: str
    def __init__(self, id: _Optional[_Union[_common_pb2.RecordId, _Mapping]] = ..., business_date: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., skus: _Optional[_Iterable[_Union[SkuDayOutcome, _Mapping]]] = ..., hours: _Optional[_Iterable[_Union[StoreHourOutcome, _Mapping]]] = ..., part: _Optional[int] = ..., part_count: _Optional[int] = ..., store_closed: _Optional[bool] = ..., holiday: _Optional[str] = ..., event: _Optional[str] = ...) -> None: ...
