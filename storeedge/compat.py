"""Backward-compatibility check between two protobuf descriptor sets.

``breaking_changes(old, new)`` compares a committed lock (``old``) with the
descriptors built from the current ``.proto`` sources (``new``) and returns one
human-readable line per violation. Rules (wire and generated-code safety):

- messages and enums (top-level and nested) are never removed;
- a field number never disappears unless the message reserves both its number
  and its name;
- a field's number, name, type (including ``type_name`` and map key/value
  types), label and oneof membership never change;
- enum values are never removed, renamed or renumbered, unless the enum reserves
  both the number and the name of a removed value;
- reserved numbers and names are never un-reserved.

Adding fields, messages, enums and enum values is fine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from google.protobuf import descriptor_pb2

__all__ = ["breaking_changes", "load_descriptor_set"]

FieldProto = descriptor_pb2.FieldDescriptorProto
MessageProto = descriptor_pb2.DescriptorProto
EnumProto = descriptor_pb2.EnumDescriptorProto

_SCALAR_NAMES = {
    FieldProto.TYPE_DOUBLE: "double",
    FieldProto.TYPE_FLOAT: "float",
    FieldProto.TYPE_INT64: "int64",
    FieldProto.TYPE_UINT64: "uint64",
    FieldProto.TYPE_INT32: "int32",
    FieldProto.TYPE_FIXED64: "fixed64",
    FieldProto.TYPE_FIXED32: "fixed32",
    FieldProto.TYPE_BOOL: "bool",
    FieldProto.TYPE_STRING: "string",
    FieldProto.TYPE_BYTES: "bytes",
    FieldProto.TYPE_UINT32: "uint32",
    FieldProto.TYPE_SFIXED32: "sfixed32",
    FieldProto.TYPE_SFIXED64: "sfixed64",
    FieldProto.TYPE_SINT32: "sint32",
    FieldProto.TYPE_SINT64: "sint64",
}

_LABEL_NAMES = {
    FieldProto.LABEL_OPTIONAL: "optional",
    FieldProto.LABEL_REQUIRED: "required",
    FieldProto.LABEL_REPEATED: "repeated",
}


def load_descriptor_set(path: str | Path) -> descriptor_pb2.FileDescriptorSet:
    """Read a serialized ``FileDescriptorSet`` (e.g. the committed lock file)."""
    fds = descriptor_pb2.FileDescriptorSet()
    fds.ParseFromString(Path(path).read_bytes())
    return fds


def breaking_changes(
    old: descriptor_pb2.FileDescriptorSet, new: descriptor_pb2.FileDescriptorSet
) -> list[str]:
    """Return the backward-incompatible changes from ``old`` to ``new`` (empty if none)."""
    old_msgs, old_enums = _index(old)
    new_msgs, new_enums = _index(new)
    problems: list[str] = []
    removed: list[str] = []  # removed messages; their nested types are not reported again

    def inside_removed(name: str) -> bool:
        return any(name.startswith(parent + ".") for parent in removed)

    for name, msg in old_msgs.items():
        if msg.options.map_entry or inside_removed(name):
            continue  # map entries are checked through their map field
        new_msg = new_msgs.get(name)
        if new_msg is None:
            problems.append(f"message {name} removed")
            removed.append(name)
            continue
        problems.extend(_message_changes(name, msg, new_msg, old_msgs, new_msgs))

    for name, enum in old_enums.items():
        if inside_removed(name):
            continue
        new_enum = new_enums.get(name)
        if new_enum is None:
            problems.append(f"enum {name} removed")
            continue
        problems.extend(_enum_changes(name, enum, new_enum))
    return problems


# -- indexing ---------------------------------------------------------------------------------


def _index(
    fds: descriptor_pb2.FileDescriptorSet,
) -> tuple[dict[str, MessageProto], dict[str, EnumProto]]:
    """Map full names (without leading dot) to message and enum descriptors, parents first."""
    messages: dict[str, MessageProto] = {}
    enums: dict[str, EnumProto] = {}

    def walk(prefix: str, msgs: Iterable[MessageProto], enum_protos: Iterable[EnumProto]) -> None:
        for enum in enum_protos:
            enums[_join(prefix, enum.name)] = enum
        for msg in msgs:
            full = _join(prefix, msg.name)
            messages[full] = msg
            walk(full, msg.nested_type, msg.enum_type)

    for file in fds.file:
        walk(file.package, file.message_type, file.enum_type)
    return messages, enums


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# -- messages ---------------------------------------------------------------------------------


def _message_changes(
    name: str,
    old: MessageProto,
    new: MessageProto,
    old_msgs: dict[str, MessageProto],
    new_msgs: dict[str, MessageProto],
) -> Iterator[str]:
    new_by_number = {f.number: f for f in new.field}
    new_by_name = {f.name: f for f in new.field}
    reserved_names = set(new.reserved_name)
    reserved_ranges = [(r.start, r.end) for r in new.reserved_range]  # end exclusive

    for field in old.field:
        where = f"{name} field {field.number} '{field.name}'"
        current = new_by_number.get(field.number)
        if current is None:
            moved = new_by_name.get(field.name)
            number_reserved = _in_ranges(field.number, reserved_ranges)
            name_reserved = field.name in reserved_names
            if moved is not None:
                yield f"{where}: renumbered to {moved.number}"
            elif number_reserved and name_reserved:
                continue  # properly deleted
            elif number_reserved:
                yield f"{where}: removed without reserving its name"
            elif name_reserved:
                yield f"{where}: removed without reserving its number"
            else:
                yield f"{where}: removed"
            continue
        if current.name != field.name:
            yield f"{where}: renamed to '{current.name}'"
        old_type = _type_desc(field, old_msgs)
        new_type = _type_desc(current, new_msgs)
        if old_type != new_type:
            yield f"{where}: type changed from {old_type} to {new_type}"
        if field.label != current.label:
            yield (
                f"{where}: label changed from {_LABEL_NAMES.get(field.label, field.label)}"
                f" to {_LABEL_NAMES.get(current.label, current.label)}"
            )
        old_oneof = _oneof_name(old, field)
        new_oneof = _oneof_name(new, current)
        if old_oneof != new_oneof:
            yield f"{where}: oneof changed from {_describe_oneof(old_oneof)} to " + _describe_oneof(
                new_oneof
            )

    for start, end in _uncovered(
        [(r.start, r.end - 1) for r in old.reserved_range],
        [(r.start, r.end - 1) for r in new.reserved_range],
    ):
        yield f"{name}: {_numbers_text(start, end)} no longer reserved"
    for reserved in old.reserved_name:
        if reserved not in reserved_names:
            yield f"{name}: reserved name '{reserved}' no longer reserved"


def _type_desc(field: FieldProto, messages: dict[str, MessageProto]) -> str:
    if field.type in (FieldProto.TYPE_MESSAGE, FieldProto.TYPE_GROUP, FieldProto.TYPE_ENUM):
        type_name = field.type_name.lstrip(".")
        entry = messages.get(type_name)
        if entry is not None and entry.options.map_entry:
            parts = {f.number: _type_desc(f, messages) for f in entry.field}
            return f"map<{parts.get(1, '?')}, {parts.get(2, '?')}>"
        if field.type == FieldProto.TYPE_GROUP:
            return f"group {type_name}"
        return type_name
    return _SCALAR_NAMES.get(field.type, f"type {field.type}")


def _oneof_name(msg: MessageProto, field: FieldProto) -> str | None:
    """Name of the real (non-synthetic) oneof containing ``field``, if any."""
    if not field.HasField("oneof_index") or field.proto3_optional:
        return None
    return msg.oneof_decl[field.oneof_index].name


def _describe_oneof(name: str | None) -> str:
    return f"'{name}'" if name is not None else "none"


# -- enums ------------------------------------------------------------------------------------


def _enum_changes(name: str, old: EnumProto, new: EnumProto) -> Iterator[str]:
    new_by_name = {v.name: v.number for v in new.value}
    new_by_number: dict[int, list[str]] = {}
    for value in new.value:
        new_by_number.setdefault(value.number, []).append(value.name)
    old_names = {v.name for v in old.value}
    reserved_names = set(new.reserved_name)
    reserved_ranges = [(r.start, r.end + 1) for r in new.reserved_range]  # end inclusive

    for value in old.value:
        where = f"enum {name} value {value.number} '{value.name}'"
        if value.name in new_by_name:
            if new_by_name[value.name] != value.number:
                yield f"{where} renumbered to {new_by_name[value.name]}"
            continue
        replacements = [n for n in new_by_number.get(value.number, []) if n not in old_names]
        if replacements:
            yield f"{where} renamed to " + ", ".join(f"'{n}'" for n in replacements)
        elif value.number in new_by_number:
            # The number survives under another pre-existing alias; the name is gone.
            yield f"{where} removed or renamed"
        elif _in_ranges(value.number, reserved_ranges) and value.name in reserved_names:
            continue  # properly deleted
        else:
            yield f"{where} removed or renamed"

    for start, end in _uncovered(
        [(r.start, r.end) for r in old.reserved_range],
        [(r.start, r.end) for r in new.reserved_range],
    ):
        yield f"enum {name}: {_numbers_text(start, end)} no longer reserved"
    for reserved in old.reserved_name:
        if reserved not in reserved_names:
            yield f"enum {name}: reserved name '{reserved}' no longer reserved"


# -- number ranges ----------------------------------------------------------------------------


def _in_ranges(number: int, ranges: Iterable[tuple[int, int]]) -> bool:
    """``ranges`` are half-open ``[start, end)``."""
    return any(start <= number < end for start, end in ranges)


def _uncovered(old: list[tuple[int, int]], new: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Parts of the closed ranges in ``old`` not covered by the closed ranges in ``new``."""
    merged: list[list[int]] = []
    for start, end in sorted(new):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in sorted(old):
        cursor = start
        for m_start, m_end in merged:
            if m_end < cursor:
                continue
            if m_start > end:
                break
            if m_start > cursor:
                yield cursor, m_start - 1
            cursor = m_end + 1
            if cursor > end:
                break
        if cursor <= end:
            yield cursor, end


def _numbers_text(start: int, end: int) -> str:
    return f"reserved number {start}" if start == end else f"reserved numbers {start} to {end}"
