"""Reads an environment file into plain JSON-compatible data, within fixed limits, or says why not.

What an environment file may be, checked before any setting is looked at:

- at most :data:`MAX_BYTES`, a regular file, strictly UTF-8 (no byte-order mark, no UTF-16/32), with no
  control or invisible formatting character anywhere (tabs and line breaks aside);
- one YAML document whose values are the JSON types only. Plain scalars are resolved as YAML 1.2's core
  schema does (``true``/``false``, ``null``/``~``, decimal/``0o``/``0x`` integers, decimal floats); anything
  else, dates and ``yes``/``no``/``on``/``off`` included, is read as a string (and then refused by the
  schema wherever a string does not belong). Explicit tags other than the JSON-compatible core ones
  (``!!str``, ``!!int``, ``!!float``, ``!!bool``, ``!!null``, ``!!map``, ``!!seq``) are refused:
  ``!!binary``, ``!!set``, ``!!timestamp``, ``!!omap``, local ``!tags``...;
- no anchors or aliases (``&name``/``*name``, and so no ``<<`` merges): an alias can make a small file
  expand without bound;
- mapping keys are strings and appear once per mapping;
- at most :data:`MAX_DEPTH` levels of nesting, :data:`MAX_ITEMS` entries per mapping or sequence and
  :data:`MAX_NODES` values in all.

The YAML events come from libyaml when PyYAML has it (the pure-Python parser otherwise, which is slower),
and are consumed lazily: the limits stop the reading at the first event past them, so a hostile file costs
at most a few milliseconds. Nothing here knows any setting; :mod:`rudder_ha.config.hygiene` and the schema
come next.
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml import events

from rudder_ha.config.errors import ConfigError, Problem

MAX_BYTES = 256 * 1024
"""An environment file is a few KiB (prod.yaml: 2 KiB); 256 KiB leaves room for comments and reads in
milliseconds."""
MAX_DEPTH = 16
"""Nesting of mappings and sequences; the schema's deepest setting is 4 levels down."""
MAX_ITEMS = 500
"""Entries of one mapping or sequence."""
MAX_NODES = 10_000
"""Values (scalars, mappings, sequences) in the whole file."""
MAX_INTEGER_DIGITS = 30
"""No setting needs more; Python refuses to parse more than 4300 digits anyway."""

_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""Only its event parser is used (no constructor, no resolver)."""

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null")}
_MAPPING_TAGS = {None, "!", f"{_CORE}map"}
_SEQUENCE_TAGS = {None, "!", f"{_CORE}seq"}

_NULL = re.compile(r"null|Null|NULL|~|")
_TRUE = re.compile(r"true|True|TRUE")
_FALSE = re.compile(r"false|False|FALSE")
_DECIMAL = re.compile(r"[-+]?[0-9]+")
_OCTAL = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INFINITY = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")

FORBIDDEN_CHARACTER = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
"""Control characters other than tab and line breaks, and invisible formatting characters (zero-width
spaces and joiners, bidirectional overrides, the byte-order mark): nothing in an environment file needs
them, and they make what a reviewer sees differ from what is deployed."""


class _Refused(Exception):
    """One reason the file cannot be read; ``path`` is the setting being read, "" for the whole file."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def describe_character(char: str) -> str:
    """``U+0007`` plus, for the usual suspects, what it is."""
    names = {"\x00": "NUL", "\t": "a tab", "\n": "a line break", "\r": "a carriage return", "\ufeff": "a BOM"}
    name = names.get(char)
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def _where(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        raise _Refused("", "starts with a UTF-8 byte-order mark; save it as UTF-8 without a BOM")
    if data.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
        raise _Refused("", "is UTF-16 or UTF-32 encoded (it starts with a byte-order mark); save it as UTF-8")
    if b"\x00" in data:
        raise _Refused(
            "", "contains NUL bytes (UTF-16 or UTF-32 without a byte-order mark, or not text); save it as UTF-8"
        )
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8", errors="replace")
        where = _where(before, len(before))
        raise _Refused("", f"is not valid UTF-8 (byte 0x{data[exc.start]:02x} at {where}); save it as UTF-8") from None
    bad = FORBIDDEN_CHARACTER.search(text)
    if bad:
        raise _Refused(
            "",
            f"contains the control or invisible character {describe_character(bad.group())} at "
            f"{_where(text, bad.start())}; delete it (retype that line if you cannot see it)",
        )
    return text


def read_bytes(path: Path) -> bytes:
    """The file's bytes, if it is a regular file of at most :data:`MAX_BYTES` (checked before opening it: a
    FIFO would block the open, a device never end)."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise _Refused("", "is not a regular file; name an environment file (environments/<name>.yaml)")
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise _Refused("", "is not a regular file; name an environment file (environments/<name>.yaml)")
            if info.st_size > MAX_BYTES:
                raise _Refused("", f"is {info.st_size} bytes; environment files are at most {MAX_BYTES} bytes")
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise _Refused("", f"cannot be read ({exc.strerror or exc}); check the path") from None
    if len(data) > MAX_BYTES:
        raise _Refused("", f"is over {MAX_BYTES} bytes; environment files are at most {MAX_BYTES} bytes")
    return data


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Reader:
    """Builds plain data from a YAML event stream, refusing what :mod:`this module <reading>` refuses."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.parser = _PARSER(text)
        self.nodes = 0

    def _next(self) -> events.Event:
        try:
            return self.parser.get_event()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
            raise _Refused("", f"is not valid YAML at {where}: {exc.problem or exc}; fix the syntax") from None
        except yaml.YAMLError as exc:
            raise _Refused("", f"is not valid YAML: {exc}; fix the syntax") from None

    def _at(self, event: events.Event) -> str:
        mark = event.start_mark
        return f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""

    def document(self) -> Any:
        self._next()  # StreamStart
        first = self._next()
        if isinstance(first, events.StreamEndEvent):
            return None
        value = self._node(self._next(), "", 0)
        self._next()  # DocumentEnd
        after = self._next()
        if not isinstance(after, events.StreamEndEvent):
            raise _Refused("", f"holds more than one YAML document{self._at(after)}; keep only one (no second ---)")
        return value

    def _node(self, event: events.Event, path: str, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _Refused(path, f"is past the {MAX_NODES}th value in the file; environment files are far smaller")
        if isinstance(event, events.AliasEvent):
            raise _Refused(
                path,
                f"is a YAML alias (*{event.anchor}){self._at(event)}; anchors and aliases are not allowed, "
                "write the value out",
            )
        if getattr(event, "anchor", None) is not None:
            raise _Refused(
                path,
                f"has a YAML anchor (&{event.anchor}){self._at(event)}; anchors and aliases are not allowed, remove it",
            )
        if isinstance(event, events.ScalarEvent):
            return self._scalar(event, path)
        if depth >= MAX_DEPTH:
            raise _Refused(path, f"nests deeper than {MAX_DEPTH} levels{self._at(event)}; no setting is that deep")
        if isinstance(event, events.MappingStartEvent):
            self._check_tag(event, _MAPPING_TAGS, path)
            return self._mapping(path, depth)
        if isinstance(event, events.SequenceStartEvent):
            self._check_tag(event, _SEQUENCE_TAGS, path)
            return self._sequence(path, depth)
        raise _Refused(path, f"is an unexpected YAML {type(event).__name__}{self._at(event)}; fix the syntax")

    def _check_tag(self, event: events.NodeEvent, allowed: set[str | None], path: str) -> None:
        tag = getattr(event, "tag", None)
        if tag not in allowed:
            shown = "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag
            raise _Refused(
                path,
                f"has the YAML tag {shown}{self._at(event)}; only plain JSON-compatible values are allowed, "
                "remove the tag",
            )

    def _mapping(self, path: str, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while True:
            event = self._next()
            if isinstance(event, events.MappingEndEvent):
                return out
            if len(out) >= MAX_ITEMS:
                raise _Refused(path, f"has more than {MAX_ITEMS} entries; no setting needs that many")
            if not isinstance(event, events.ScalarEvent):
                kinds = {events.MappingStartEvent: "mapping", events.SequenceStartEvent: "sequence"}
                kind = kinds.get(type(event), "YAML alias")
                raise _Refused(
                    path, f"has a {kind} as a key{self._at(event)}; keys must be plain strings such as name:"
                )
            key = self._node(event, path, depth + 1)
            if not isinstance(key, str):
                shown = event.value or "null"
                raise _Refused(
                    path,
                    f"has the key {shown} read as {_kind(key)}{self._at(event)}; keys must be strings, "
                    f'quote it ("{event.value}":)',
                )
            if key in out:
                raise _Refused(_child(path, key), f"is set twice{self._at(event)}; duplicate key, keep only one")
            out[key] = self._node(self._next(), _child(path, key), depth + 1)

    def _sequence(self, path: str, depth: int) -> list[Any]:
        out: list[Any] = []
        while True:
            event = self._next()
            if isinstance(event, events.SequenceEndEvent):
                return out
            if len(out) >= MAX_ITEMS:
                raise _Refused(path, f"has more than {MAX_ITEMS} items; no setting needs that many")
            out.append(self._node(event, _child(path, len(out)), depth + 1))

    def _scalar(self, event: events.ScalarEvent, path: str) -> Any:
        value = event.value
        tag = event.tag
        if tag in (None, "!"):
            plain = event.implicit[0] and tag is None
            return _resolve_plain(value, path) if plain else value
        self._check_tag(event, _SCALAR_TAGS, path)
        kind = tag.removeprefix(_CORE)
        if kind == "str":
            return value
        resolved = _resolve_plain(value, path)
        wanted = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}[kind]
        if not isinstance(resolved, wanted) or (kind in ("int", "float") and isinstance(resolved, bool)):
            raise _Refused(path, f"{value!r} is not a valid !!{kind}{self._at(event)}; fix the value or drop the tag")
        return float(resolved) if kind == "float" else resolved


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", type(None): "null"}.get(type(value), "a string")


def _resolve_plain(value: str, path: str) -> Any:
    """A plain scalar under YAML 1.2's core schema; whatever matches none of its types is a string."""
    if _NULL.fullmatch(value):
        return None
    if _TRUE.fullmatch(value):
        return True
    if _FALSE.fullmatch(value):
        return False
    for pattern, base, skip in ((_DECIMAL, 10, 0), (_OCTAL, 8, 2), (_HEX, 16, 2)):
        if pattern.fullmatch(value):
            if len(value) - skip > MAX_INTEGER_DIGITS:
                raise _Refused(path, f"is a {len(value)}-digit number; no setting takes one that large")
            return int(value[skip:] if skip else value, base)
    if _FLOAT.fullmatch(value):
        return float(value)
    if _INFINITY.fullmatch(value):
        return -math.inf if value.startswith("-") else math.inf
    if _NAN.fullmatch(value):
        return math.nan
    return value


def parse_text(text: str) -> Any:
    """The plain data of one YAML document (raises ``_Refused``)."""
    return _Reader(text).document()


def read_document(path: Path) -> Any:
    """The plain data of the environment file at ``path``; raises ConfigError with the one reason it cannot
    be read (a file that cannot be read is not looked at further)."""
    try:
        return parse_text(_decode(read_bytes(path)))
    except _Refused as refused:
        raise ConfigError([Problem(str(path), refused.path, refused.message)]) from None


def read_text(text: str, label: str) -> Any:
    """Like :func:`read_document`, for text already in memory (the tests' generated files)."""
    try:
        return parse_text(_decode(text.encode("utf-8", errors="surrogatepass")))
    except _Refused as refused:
        raise ConfigError([Problem(label, refused.path, refused.message)]) from None
