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

moto also checks DynamoDB's item size limit as it builds an item (``PutItem``, and every write the drain
state makes is one): each attribute it adds sums the sizes of every attribute already there again, so an
item of n attributes costs n²/2 size computations, about a third of a ``PutItem``. :func:`build_item` adds
the same sizes up once, as a running total, and refuses an item at the same attribute with the same error
(``ItemSizeTooLarge`` past moto's limit, :data:`ITEM_SIZE_LIMIT`); the item it builds is the one moto's
would be. The comparison test builds items around the limit both ways.
"""

from __future__ import annotations

from typing import Any

from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.utilities import bytesize

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
original_item_init = Item.__init__
"""moto's own ``Item.__init__`` (what the comparison test builds items with)."""
ITEM_SIZE_LIMIT = 405_000
"""The size past which moto refuses an item (its ``LimitedSizeDict``: between DynamoDB's documented 400 KB
and the 409-410 KB it measured)."""


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


def build_item(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    """``Item.__init__`` with the size limit checked on a running total (see the module docstring)."""
    self.hash_key = hash_key
    self.range_key = range_key
    checked = LimitedSizeDict()
    total = 0
    for key, value in attrs.items():
        typed = DynamoType(value)
        size = bytesize(key) + typed.size()
        if total + size > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(checked, key, typed)  # the check moto's __setitem__ makes is the one above
        total += size
    self.attrs = checked


def write_items_directly() -> None:
    """Makes moto's JSON serializer write DynamoDB attribute values directly, and moto build items with one
    pass over their sizes (see the module docstring)."""
    BaseJSONSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]
    Item.__init__ = build_item  # type: ignore[method-assign]
