"""Turns JSON Schema validation errors into messages that say what is wrong and how to fix it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError


@cache
def schema() -> dict[str, Any]:
    """The environment JSON Schema shipped in this package."""
    text = resources.files("rudder_ha.config").joinpath("schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@cache
def validator() -> Draft202012Validator:
    """A validator for the shipped schema (checked once, itself, against the metaschema)."""
    Draft202012Validator.check_schema(schema())
    return Draft202012Validator(schema())


def dotted(path: Iterable[Any]) -> str:
    """``['network', 'availability_zones', 0]`` -> ``network.availability_zones[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _describe(error: ValidationError) -> tuple[str, str]:
    """Returns (field path, message) for one schema error."""
    path = dotted(error.absolute_path)
    value = error.instance
    kind = error.validator
    if kind == "required":
        missing = error.message.split("'")[1]
        return dotted([*error.absolute_path, missing]), "is required; add it (see environments/prod.yaml)"
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(value) - set(allowed)) if isinstance(value, dict) else []
        names = ", ".join(extra)
        return path, f"unknown field(s) {names}; remove them or use one of: {', '.join(allowed)}"
    if kind == "enum":
        options = ", ".join(json.dumps(o) for o in error.validator_value)
        return path, f"{json.dumps(value)} is not allowed; use one of {options}"
    if kind == "type":
        return path, f"{json.dumps(value)} is a {type(value).__name__}; it must be a {error.validator_value}"
    if kind == "pattern" and "propertyNames" not in list(error.schema_path):
        hint = error.schema.get("x-fix") or f"it must match {error.validator_value}"
        return path, f"{json.dumps(value)} is malformed; {hint}"
    if kind in {"minimum", "maximum"}:
        word = "at least" if kind == "minimum" else "at most"
        return path, f"{value} is out of range; use {word} {error.validator_value}"
    if kind in {"minItems", "maxItems"}:
        word = "at least" if kind == "minItems" else "at most"
        return path, f"has {len(value)} item(s); list {word} {error.validator_value}"
    if kind == "uniqueItems":
        return path, "has duplicate entries; list each value once"
    if kind == "pattern" and error.schema is not None and "propertyNames" in list(error.schema_path):
        return path, f"key {json.dumps(value)} is malformed; {error.schema.get('x-fix', 'rename it')}"
    return path, f"{error.message}; fix the value"


def schema_problems(document: Any) -> list[tuple[str, str]]:
    """Every schema violation in ``document`` as (field path, message) pairs."""
    out: list[tuple[str, str]] = []
    for error in validator().iter_errors(document):
        errs = [error]
        if error.context:
            errs = [min(error.context, key=lambda e: len(list(e.absolute_path)))]
        out.extend(_describe(e) for e in errs)
    return out
