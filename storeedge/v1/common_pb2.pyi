from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecordType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_TYPE_UNSPECIFIED: _ClassVar[RecordType]
    RECORD_TYPE_DECISION: _ClassVar[RecordType]
    RECORD_TYPE_AUDIT: _ClassVar[RecordType]
    RECORD_TYPE_OUTCOME: _ClassVar[RecordType]
    RECORD_TYPE_SHELF_CHECK: _ClassVar[RecordType]
    RECORD_TYPE_HEARTBEAT: _ClassVar[RecordType]
    RECORD_TYPE_MODEL_STATUS: _ClassVar[RecordType]
    RECORD_TYPE_APPROVAL_RESULT: _ClassVar[RecordType]
RECORD_TYPE_UNSPECIFIED: RecordType
RECORD_TYPE_DECISION: RecordType
RECORD_TYPE_AUDIT: RecordType
RECORD_TYPE_OUTCOME: RecordType
RECORD_TYPE_SHELF_CHECK: RecordType
RECORD_TYPE_HEARTBEAT: RecordType
RECORD_TYPE_MODEL_STATUS: RecordType
RECORD_TYPE_APPROVAL_RESULT: RecordType

class RecordId(_message.Message):
    __slots__ = ("store_id", "record_type", "sequence")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_TYPE_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    record_type: RecordType
    sequence: int
    def __init__(self, store_id: _Optional[str] = ..., record_type: _Optional[_Union[RecordType, str]] = ..., sequence: _Optional[int] = ...) -> None: ...
