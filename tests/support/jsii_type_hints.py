"""The argument types of jsii's generated bindings, evaluated once per process instead of once per call.

Each constructor and method of the cdktf and provider bindings checks its arguments with typeguard, and
first asks ``typing.get_type_hints`` for the types of a stub function that mirrors it
(``_typecheckingstub__<hash>``). ``get_type_hints`` evaluates the stub's annotations (strings, under
``from __future__ import annotations``) against the binding's module every time: about a tenth of the
Python side of a synthesis, for answers that never change once the module is loaded.

:func:`remember_stub_type_hints` keeps the answer per stub function and hands each caller its own copy of
it (the bindings only read it). Any other call of ``get_type_hints`` (another object, or any extra
argument) is answered by ``typing`` as before, and a stub whose annotations cannot be evaluated yet raises
as before and is not kept.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

STUB_PREFIX = "_typecheckingstub__"
"""How jsii names the stub functions whose annotations mirror a binding's parameters."""
original_get_type_hints = typing.get_type_hints
"""``typing``'s own function (what the comparison test evaluates with)."""
_hints: dict[Callable[..., Any], dict[str, Any]] = {}


def _remembered_type_hints(obj: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    if args or kwargs or type(obj) is not types.FunctionType or not obj.__name__.startswith(STUB_PREFIX):
        return original_get_type_hints(obj, *args, **kwargs)
    hints = _hints.get(obj)
    if hints is None:
        hints = original_get_type_hints(obj)
        _hints[obj] = hints
    return dict(hints)


def remember_stub_type_hints() -> None:
    """Makes ``typing.get_type_hints`` keep its answer for jsii's stub functions (see the module docstring)."""
    typing.get_type_hints = _remembered_type_hints  # type: ignore[assignment]
