"""moto's response serializer works out where a member's value might be once per kind of object and member,
instead of once per value written.

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
``tests/test_aws_emulation_speedups.py`` compares moto's answers with and without it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from moto.core.serialize import DEFAULT_ALIAS_PROVIDERS, AttributePickerContext, XFormedAttributePicker

original_possible_keys = XFormedAttributePicker.get_possible_keys
"""moto's own ``get_possible_keys`` (what the comparison test works the names out with)."""
_names: dict[Hashable, tuple[Any, tuple[str, ...]]] = {}


def _remembered_possible_keys(self: XFormedAttributePicker, context: AttributePickerContext) -> Iterable[str]:
    shape, obj = context.shape, context.obj
    if shape is None or self.alias_providers is not DEFAULT_ALIAS_PROVIDERS or "Meta" in getattr(obj, "__dict__", ()):
        return original_possible_keys(self, context)
    key = (type(obj), id(shape), context.key)
    remembered = _names.get(key)
    if remembered is None or remembered[0] is not shape:  # the shape is kept, so its id is not reused
        remembered = (shape, tuple(original_possible_keys(self, context)))
        _names[key] = remembered
    return remembered[1]


def remember_candidate_names() -> None:
    """Makes moto's response serializer keep each member's candidate names (see the module docstring)."""
    XFormedAttributePicker.get_possible_keys = _remembered_possible_keys  # type: ignore[method-assign]
