"""jsii's bindings get the same argument types with the types evaluated once (:mod:`tests.support.jsii_type_hints`)."""

from __future__ import annotations

import typing
from types import ModuleType

import pytest

from tests.support import jsii_type_hints


def _stubs(module: ModuleType, binding: str) -> list[typing.Any]:
    """The stub functions of ``module`` (jsii publishes only its public names: the stubs are reached through
    the namespace ``binding``'s constructor runs in)."""
    namespace = getattr(module, binding).__init__.__globals__
    return [value for name, value in namespace.items() if name.startswith(jsii_type_hints.STUB_PREFIX)]


def test_the_remembered_evaluation_is_installed_in_this_process() -> None:
    assert typing.get_type_hints is jsii_type_hints._remembered_type_hints


@pytest.mark.parametrize(
    ("module_name", "binding"), [("cdktf", "TerraformOutput"), ("cdktf_cdktf_provider_aws.iam_role", "IamRole")]
)
def test_every_stub_of_a_binding_gets_the_types_typing_evaluates(module_name: str, binding: str) -> None:
    module = __import__(module_name, fromlist=["_"])
    stubs = _stubs(module, binding)
    assert len(stubs) > 10, f"{module_name} has no type-checking stubs any more"
    for stub in stubs:
        remembered = typing.get_type_hints(stub)
        assert remembered == jsii_type_hints.original_get_type_hints(stub)
        remembered["scope"] = None  # a caller's copy: what the next caller gets is unchanged
        assert typing.get_type_hints(stub) == jsii_type_hints.original_get_type_hints(stub)


def test_other_calls_are_answered_by_typing() -> None:
    def annotated(value: int, *, label: str | None = None) -> list[str]:
        return [label or str(value)]

    assert typing.get_type_hints(annotated) == {"value": int, "label": str | None, "return": list[str]}
    assert typing.get_type_hints(annotated, include_extras=True) == typing.get_type_hints(annotated)
    assert annotated not in jsii_type_hints._hints


def test_a_stub_that_cannot_be_evaluated_raises_and_is_not_kept() -> None:
    namespace: dict[str, typing.Any] = {}
    exec(  # a stub naming a type its module does not define (yet)
        f"def {jsii_type_hints.STUB_PREFIX}missing(scope: 'NotDefinedYet') -> None: ...", namespace
    )
    stub = namespace[f"{jsii_type_hints.STUB_PREFIX}missing"]
    with pytest.raises(NameError):
        typing.get_type_hints(stub)
    assert stub not in jsii_type_hints._hints
    namespace["NotDefinedYet"] = int
    assert typing.get_type_hints(stub) == {"scope": int, "return": type(None)}
