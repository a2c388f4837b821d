"""Resolving Pulumi outputs before handing them to a front-end-neutral spec function."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import fields, replace
from typing import Any, TypeVar

import pulumi

T = TypeVar("T")
P = TypeVar("P")


def apply_spec(fn: Callable[..., T], props: P, names: Iterable[str], **refs: Any) -> pulumi.Output[T]:
    """``fn(props, **refs)`` (a spec function taking a props dataclass of :mod:`rudder_ha.specs`) once the
    Outputs in ``refs`` and in the props fields ``names`` (those ``fn`` reads) are resolved, deeply (lists,
    dicts): the spec builds its document from plain values. The result is unknown, or secret, only when one
    of these is."""
    names = tuple(names)
    unknown = set(names) - {f.name for f in fields(props)}  # type: ignore[arg-type]
    assert not unknown, unknown
    values = pulumi.Output.from_input({name: getattr(props, name) for name in names})
    return pulumi.Output.all(values, pulumi.Output.from_input(refs)).apply(
        lambda v: fn(replace(props, **v[0]), **v[1])  # type: ignore[type-var]
    )
