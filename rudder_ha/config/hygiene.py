"""What every key and value of an environment document obeys, whatever the setting; checked before the
schema, so no pattern, rule or template ever sees such a value.

- Only JSON types: mappings with string keys, lists, strings, integers, finite numbers, booleans, null.
- No character that is not printable (:meth:`str.isprintable`): control characters (a trailing newline
  from a ``|`` block included), invisible formatting characters, non-breaking and other unusual spaces.
  The schema's patterns are matched in full (:mod:`rudder_ha.config.schema_messages`), so this is a
  second guard: what passes here has no line break for a ``$`` to stop before.
- No ``${`` or ``%{`` anywhere: every string of a synthesized stack is a Terraform template, so such a
  value would be evaluated by Terraform instead of being passed on as written.
- No wildcard (``*``, ``?``) in an ARN: IAM would grant every resource it matches.
- Strings of at most :data:`MAX_STRING` characters, keys of at most :data:`MAX_KEY`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from rudder_ha.config.reading import describe_character

MAX_STRING = 2048
"""The longest value any setting takes is an SSM parameter name (1011 characters) or an ARN (2048)."""
MAX_KEY = 128
"""Tag keys are at most 128 characters; no other key comes close."""

TEMPLATE = re.compile(r"[$%]\{")
"""Terraform's interpolation (``${``) and directive (``%{``) openers."""
WILDCARD = re.compile(r"[*?]")

Finding = tuple[str, str]
KEY, VALUE = "the key", "the value"


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _text(path: str, text: str, what: str, longest: int) -> Iterator[Finding]:
    if not text.isprintable():
        bad = next(c for c in text if not c.isprintable())
        hint = " (a | or > block ends with one: use a plain or quoted value)" if bad == "\n" and what == VALUE else ""
        yield path, f"{what} contains the character {describe_character(bad)}{hint}; remove it"
        return
    if len(text) > longest:
        yield path, f"{what} is {len(text)} characters long; no setting takes more than {longest}"
        return
    template = TEMPLATE.search(text)
    if template:
        yield (
            path,
            f"{what} contains {template.group()!r}, which Terraform would evaluate as a template expression; "
            "remove it (values from this file are passed on as written, never evaluated)",
        )
    if text.startswith("arn:") and WILDCARD.search(text):
        yield (
            path,
            "is an ARN with a wildcard (* or ?), which would match (and in IAM, grant) every resource it fits; "
            "name exactly one resource",
        )


def _walk(value: Any, path: str) -> Iterator[Finding]:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                yield path, f"has the key {key!r}, which is not a string; keys must be strings, quote it"
                continue
            child = _child(path, key)
            found = list(_text(child, key, KEY, MAX_KEY))
            if found:
                yield from found
                continue
            yield from _walk(item, child)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, _child(path, i))
    elif isinstance(value, str):
        yield from _text(path, value, VALUE, MAX_STRING)
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield path, f"{value} is not a finite number; write a plain number"
    elif value is not None and not isinstance(value, (bool, int)):
        yield path, f"is a {type(value).__name__}; use a string, number, boolean, list or mapping"


def hygiene_problems(document: Any) -> list[Finding]:
    """Every key or value of ``document`` that breaks a rule of this module, as (field path, message)."""
    return list(_walk(document, ""))
