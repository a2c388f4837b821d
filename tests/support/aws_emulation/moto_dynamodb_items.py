"""moto's DynamoDB responses write each item's attribute values as they are, instead of walking the
``AttributeValue`` shape member by member.

moto 5 serializes every response with one generic serializer. For each member of each structure it asks a
chain of alias providers where the value might be (``S``, ``s``, a Meta alias, a class-name prefix...), so
an attribute value costs ten member lookups of five or six candidate names each. The drain Lambda reads and
writes one item of about 35 attributes per step: a ``GetItem`` spent 2.7 ms of its 3.7 ms of CPU there, and
DynamoDB was the largest share of the AWS emulation's CPU in a test run.

moto keeps an item as the DynamoDB JSON it was given (``DynamoType.to_json``): ``{"S": "text"}``,
``{"N": "12"}``, ``{"BOOL": true}``, ``{"M": {...}}``... For such a value the generic serializer writes
each present member unchanged, drops members whose value is None, recurses into ``M`` (dropping None
values) and ``L`` (keeping None items as they are). :func:`wire_attribute_value` does exactly that for the
members whose values already have their wire type: strings for ``S``/``N``, lists of strings for
``SS``/``NS``, booleans for ``BOOL``/``NULL``, and ``M``/``L`` of such values. Anything else (binary
values, which the serializer base64-encodes; a key that is no member name, which an alias might match; a
response transformer) goes through the generic serializer as before. ``tests/test_aws_emulation_speedups.py``
compares both on generated values, byte for byte.
"""

from __future__ import annotations

from typing import Any

from moto.core.serialize import BaseJSONSerializer

_PLAIN: dict[str, type] = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
"""Members whose value is written unchanged, with the Python type it must have."""
_STRING_SETS = frozenset({"SS", "NS"})
"""Members holding a list of strings, written unchanged."""
_KNOWN = frozenset({*_PLAIN, *_STRING_SETS, "M", "L"})
"""Every member written here; any other (``B``, ``BS``, a name an alias might match) takes the generic path."""
SERVICE = "dynamodb"
SHAPE = "AttributeValue"

generic_structure = BaseJSONSerializer._serialize_type_structure
"""moto's own structure serializer (what the comparison test writes with)."""


class _NotPlain(Exception):
    """The value needs the generic serializer."""


def wire_attribute_value(value: Any, members: tuple[str, ...]) -> dict[str, Any]:
    """``value`` (moto's JSON of one attribute value) as the generic serializer writes it, its members in
    the shape's order ``members``; raises :class:`_NotPlain` for a value it must write itself."""
    if type(value) is not dict:
        raise _NotPlain
    wire: dict[str, Any] = {}
    for member, member_value in value.items():
        if member not in _KNOWN:
            raise _NotPlain
        if member_value is None:
            continue
        if member in _PLAIN:
            if type(member_value) is not _PLAIN[member]:
                raise _NotPlain
            wire[member] = member_value
        elif member in _STRING_SETS:
            if type(member_value) is not list or any(type(item) is not str for item in member_value):
                raise _NotPlain
            wire[member] = list(member_value)
        elif member == "M":
            if type(member_value) is not dict:
                raise _NotPlain
            if "" in member_value:
                raise _NotPlain  # an empty key makes the generic serializer merge that value into the map
            wire[member] = {k: wire_attribute_value(v, members) for k, v in member_value.items() if v is not None}
        else:  # "L"
            if type(member_value) is not list:
                raise _NotPlain
            wire[member] = [None if item is None else wire_attribute_value(item, members) for item in member_value]
    return {member: wire[member] for member in members if member in wire}  # the generic serializer's order


def _serialize_type_structure(self: BaseJSONSerializer, serialized: Any, value: Any, shape: Any, key: str) -> None:
    if (
        key
        and shape.name == SHAPE
        and self.operation_model.service_model.service_name == SERVICE
        and not getattr(self._value_picker, "response_transformers", None)
    ):
        try:
            wire = wire_attribute_value(value, tuple(shape.members))
        except _NotPlain:
            pass
        else:
            self._default_serialize(serialized, wire, shape, key)
            return
    generic_structure(self, serialized, value, shape, key)


def write_items_directly() -> None:
    """Makes moto's JSON serializer write DynamoDB attribute values directly (see the module docstring)."""
    BaseJSONSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]
