"""Validates against the environment JSON Schema, with two departures from JSON Schema's defaults, and
turns each error into a message that says what is wrong and how to fix it.

- ``integer`` means an int: JSON Schema counts ``900.0`` as an integer, and a float (or a boolean) in a
  setting that Terraform or a Lambda reads as a whole number breaks them.
- ``pattern`` must match the whole string (:func:`re.fullmatch`), not merely somewhere (JSON Schema's
  search, where ``$`` also matches before a trailing newline). Every pattern in ``schema.json`` is anchored
  with ``^...$`` anyway, so the two read the same; ``tests/test_config_contract.py`` checks it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

SHOWN_VALUE = 80
"""How much of a refused value a message quotes."""


def _is_integer(_checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


def _full_pattern(validator: Any, pattern: str, instance: Any, _schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not re.fullmatch(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


StrictValidator = validators.extend(
    Draft202012Validator,
    validators={"pattern": _full_pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)
"""Draft 2020-12 with whole-string patterns and integers that are ints."""


@cache
def schema() -> dict[str, Any]:
    """The environment JSON Schema shipped in this package."""
    text = resources.files("rudder_ha.config").joinpath("schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@cache
def validator() -> Any:
    """A validator for the shipped schema (checked once, itself, against the metaschema)."""
    Draft202012Validator.check_schema(schema())
    return StrictValidator(schema())


def show(value: Any) -> str:
    """``value`` as JSON, cut to :data:`SHOWN_VALUE` characters."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= SHOWN_VALUE else text[: SHOWN_VALUE - 1] + "…"


_TYPE_NAMES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number with a fraction",
    str: "a string",
    list: "a list",
    dict: "a mapping",
    type(None): "empty (null)",
}
_WANTED = {
    "integer": "a whole number without a decimal point, e.g. 900",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping of settings",
    "array": "a list",
}


def _type_message(value: Any, wanted: Any) -> str:
    names = [wanted] if isinstance(wanted, str) else list(wanted)
    need = " or ".join(_WANTED.get(n, n) for n in names)
    got = _TYPE_NAMES.get(type(value), type(value).__name__)
    hint = ""
    if "string" in names and isinstance(value, (int, float)) and not isinstance(value, bool):
        hint = f' (quote it: "{value}")'
    elif "boolean" in names and isinstance(value, str) and value.lower() in {"yes", "no", "on", "off", "y", "n"}:
        hint = " (YAML 1.2: yes/no/on/off are strings)"
    return f"{show(value)} is {got}; it must be {need}{hint}"


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
        names = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        return path, f"unknown field(s) {names}; remove them or use one of: {', '.join(allowed)}"
    if kind == "enum":
        options = ", ".join(json.dumps(o) for o in error.validator_value)
        return path, f"{show(value)} is not allowed; use one of {options}"
    if kind == "type":
        return path, _type_message(value, error.validator_value)
    if kind == "pattern" and "propertyNames" not in list(error.schema_path):
        hint = error.schema.get("x-fix") or f"it must match {error.validator_value}"
        return path, f"{show(value)} is malformed; {hint}"
    if kind in {"minimum", "maximum"}:
        word = "at least" if kind == "minimum" else "at most"
        return path, f"{show(value)} is out of range; use {word} {error.validator_value}"
    if kind in {"exclusiveMinimum", "exclusiveMaximum"}:
        word = "more than" if kind == "exclusiveMinimum" else "less than"
        return path, f"{show(value)} is out of range; use {word} {error.validator_value}"
    if kind in {"minProperties", "maxProperties"}:
        word = "at least" if kind == "minProperties" else "at most"
        return path, f"has {len(value)} entries; keep {word} {error.validator_value}"
    if kind in {"minLength", "maxLength"}:
        word = "at least" if kind == "minLength" else "at most"
        return path, f"is {len(value)} characters long; use {word} {error.validator_value}"
    if kind in {"minItems", "maxItems"}:
        word = "at least" if kind == "minItems" else "at most"
        return path, f"has {len(value)} item(s); list {word} {error.validator_value}"
    if kind == "uniqueItems":
        return path, "has duplicate entries; list each value once"
    if kind == "pattern" and error.schema is not None and "propertyNames" in list(error.schema_path):
        return path, f"key {show(value)} is malformed; {error.schema.get('x-fix', 'rename it')}"
    return path, f"{error.message[: SHOWN_VALUE * 2]}; fix the value"


def schema_problems(document: Any) -> list[tuple[str, str]]:
    """Every schema violation in ``document`` as (field path, message) pairs."""
    out: list[tuple[str, str]] = []
    for error in validator().iter_errors(document):
        errs = [error]
        if error.context:
            errs = [min(error.context, key=lambda e: len(list(e.absolute_path)))]
        out.extend(_describe(e) for e in errs)
    return out
