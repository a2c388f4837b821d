"""moto's response serializer works out where a member's value might be once per kind of object and member,
instead of once per value written, and then looks the value up without building a context for it.

For every member of every structure in a response, moto's ``XFormedAttributePicker`` builds six alias
providers and asks each whether it has a name for the member (an explicit alias in the object's ``Meta``,
the shape's name, the member's own name, the name without its structure's or its class's prefix, the
model's serialization name), then adds each name's snake_case form. Only then does it look the names up on
the object. An EC2 ``DescribeInstances`` answer has hundreds of members, and the drain emulation asks for
one at almost every step: about a tenth of those tests' CPU went to building the same lists of names.

The list depends only on the object's class (its ``Meta`` and its name), on the member's shape (its name,
serialization name and parent structure, which is fixed for a member shape object) and on the member's
key. :func:`remember_candidate_names` keeps it per (class, member shape, key), for the default providers
and objects whose ``Meta`` is their class's; anything else is worked out as before. The values are still
looked up on each object, in the same order, so the first name that has a value still wins.

Once a member's names are known, :func:`remember_candidate_names` also answers the serializer's
``get_value`` for it directly: moto would build an ``AttributePickerContext`` (joining the path so far into
a string) for every member of every value, ask the picker, and match the member's path against the
picker's response transformers. The direct answer is taken only where those steps could not change it: the
picker is moto's ``XFormedAttributePicker`` with the default providers, and no transformer's path can be
the end of the member's path (a path ``<parents>.key`` can only end with a transformer path that ends with
``.key`` or is the end of ``key``; this is worked out once per transformer table and key, and a table that
grows is worked out again). Anything else, and a member seen for the first time, goes through moto's own
``get_value``.
``tests/test_aws_emulation_speedups.py`` compares moto's answers with and without both.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from moto.core.serialize import (
    DEFAULT_ALIAS_PROVIDERS,
    AttributePickerContext,
    ResponseSerializer,
    XFormedAttributePicker,
)
from moto.core.utils import MISSING
from moto.core.utils import get_value as value_under

original_possible_keys = XFormedAttributePicker.get_possible_keys
"""moto's own ``get_possible_keys`` (what the comparison test works the names out with)."""
original_get_value = ResponseSerializer.get_value
"""moto's own ``ResponseSerializer.get_value`` (what the comparison test picks the values with)."""
_names: dict[Hashable, tuple[Any, tuple[str, ...]]] = {}


def _names_can_be_kept(picker: XFormedAttributePicker, obj: Any, shape: Any) -> bool:
    """Whether the candidate names depend only on (class, shape, key): default providers, a shape, and no
    ``Meta`` of the object's own."""
    return (
        shape is not None
        and picker.alias_providers is DEFAULT_ALIAS_PROVIDERS
        and "Meta" not in getattr(obj, "__dict__", ())
    )


def _kept_names(obj: Any, shape: Any, key: str) -> tuple[str, ...] | None:
    remembered = _names.get((type(obj), id(shape), key))
    if remembered is None or remembered[0] is not shape:  # the shape is kept, so its id is not reused
        return None
    return remembered[1]


def _remembered_possible_keys(self: XFormedAttributePicker, context: AttributePickerContext) -> Iterable[str]:
    shape, obj = context.shape, context.obj
    if not _names_can_be_kept(self, obj, shape):
        return original_possible_keys(self, context)
    names = _kept_names(obj, shape, context.key)
    if names is None:
        names = tuple(original_possible_keys(self, context))
        _names[(type(obj), id(shape), context.key)] = (shape, names)
    return names


_transformable: dict[tuple[int, int, str], tuple[Any, bool]] = {}
"""(id and size of a transformer table, member key) -> (the table, whether one of its paths may end the
member's path)."""


def _may_be_transformed(transformers: dict[str, Any], key: str) -> bool:
    cache_key = (id(transformers), len(transformers), key)
    known = _transformable.get(cache_key)
    if known is None or known[0] is not transformers:  # the table is kept, so its id is not reused
        may = any(key.endswith(path) or path.endswith(f".{key}") for path in transformers)
        known = (transformers, may)
        _transformable[cache_key] = known
    return known[1]


def _picked_value(self: ResponseSerializer, value: Any, key: str, shape: Any) -> Any:
    picker = self._value_picker
    if (
        type(picker) is not XFormedAttributePicker
        or not _names_can_be_kept(picker, value, shape)
        or (picker.response_transformers and _may_be_transformed(picker.response_transformers, key))
    ):
        return original_get_value(self, value, key, shape)
    names = _kept_names(value, shape, key)
    if names is None:
        return original_get_value(self, value, key, shape)  # works the names out and remembers them
    for name in names:
        found = value_under(value, name, MISSING)
        if found is not MISSING:
            return found
    return None


def remember_candidate_names() -> None:
    """Makes moto's response serializer keep each member's candidate names and pick values with them
    (see the module docstring)."""
    XFormedAttributePicker.get_possible_keys = _remembered_possible_keys  # type: ignore[method-assign]
    ResponseSerializer.get_value = _picked_value  # type: ignore[method-assign]
