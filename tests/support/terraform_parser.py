"""Terraform's own parser over synthesized stacks: is every string that Terraform reads as a template
(``${...}``, ``%{...}``) one it can parse, and does an escaped literal (``$${``, ``%%{``) stay literal?

Terraform cannot plan a synthesized stack here (no providers), but ``terraform validate`` parses a
configuration without any: :func:`template_strings` collects every string of a stack that Terraform
would read as a template (values and object keys under ``resource``, ``data``, ``output``, ``locals``,
``provider`` and the backend settings under ``terraform``), :func:`parse_templates` writes them as the
``locals`` of a throwaway ``main.tf.json`` and runs ``terraform validate -json`` on it. References to
the stack's own resources, variables, locals and modules cannot resolve in isolation: those
diagnostics, and only those, are left out.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TERRAFORM = shutil.which("terraform")
"""The terraform binary, or None (the tests that need it skip)."""

CHECKED_BLOCKS = ("resource", "data", "output", "locals", "provider", "terraform")
"""Top-level blocks whose strings Terraform evaluates (``terraform``: only ``backend``, see below)."""
UNRESOLVABLE = (
    "Reference to undeclared resource",
    "Reference to undeclared input variable",
    "Reference to undeclared local value",
    "Reference to undeclared module",
    'Invalid "self" reference',
)
"""Diagnostics about references to the stack's own objects: expected when a string is parsed alone."""
COMMENT = "//"
"""cdktf's metadata key: Terraform's JSON syntax ignores it."""
TIMEOUT_SECONDS = 120
CHUNK = 40
"""Strings per ``terraform validate`` run: its time grows faster than the number of locals it reads (a
stack's 780 strings took 5.3 s a stack at a time, 2.3 s in runs of 20 to 60), and each string is parsed
on its own either way."""
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def template_bearing(text: str) -> bool:
    """Whether Terraform would look for a template sequence (or an escaped one) in ``text``."""
    return "${" in text or "%{" in text


def template_strings(stack: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(path, text)`` for every string leaf and object key of a synthesized stack that bears a
    template sequence; the path reads like ``resource.aws_iam_role_policy.x.policy``."""
    for block in CHECKED_BLOCKS:
        if block not in stack:
            continue
        value = stack[block]
        if block == "terraform":
            # required_providers and the like are not expressions; the backend's settings are.
            value = {"backend": value.get("backend", {})}
        yield from _walk(value, block)


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if template_bearing(value):
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == COMMENT:
                continue
            if template_bearing(key):
                yield f"{path}[key {key!r}]", key
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def template_sequences(text: str) -> list[int]:
    """Where Terraform starts evaluating in ``text``: the offsets of each ``${`` and ``%{`` that is not
    escaped. This is how Terraform's template scanner reads the sigils (``$${`` and ``%%{`` are literal,
    and in ``$$${`` the first ``$`` is literal and the rest an escape); :func:`evaluate_literals` checks
    it against Terraform itself."""
    found = []
    index = 0
    while index < len(text):
        if text.startswith(("$${", "%%{"), index):
            index += 3
        elif text.startswith(("${", "%{"), index):
            found.append(index)
            index += 2
        else:
            index += 1
    return found


def unescape(value: Any) -> Any:
    """What Terraform reads from a synthesized value without templates: ``$${`` as ``${``, ``%%{`` as
    ``%{`` (strings and object keys, recursively). Only for values :func:`template_sequences` finds no
    template in, such as manifests and documents compared with what the project rendered."""
    if isinstance(value, str):
        return value.replace("$${", "${").replace("%%{", "%{")
    if isinstance(value, dict):
        return {unescape(k): unescape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unescape(v) for v in value]
    return value


@dataclass(frozen=True)
class ParseError:
    """A diagnostic Terraform reported for one collected string."""

    path: str
    summary: str
    detail: str
    near: str
    """The text around the error (the whole string when Terraform gave no position)."""

    def __str__(self) -> str:
        return f"{self.path}: {self.summary}: {self.detail}\n    near: {self.near!r}"


@dataclass
class ParseResult:
    """What Terraform's parser made of one stack's template-bearing strings."""

    checked: int
    errors: list[ParseError] = field(default_factory=list)
    ignored: int = 0
    """Diagnostics left out as unresolvable references (see :data:`UNRESOLVABLE`)."""


def require_terraform() -> str:
    """The terraform binary; skips the calling test (with the reason) when it is not installed."""
    import pytest

    if TERRAFORM is None:
        pytest.skip("the terraform binary is not on PATH: Terraform's parser cannot be run")
    return TERRAFORM


def _environment() -> dict[str, str]:
    # No CLI configuration (credentials, plugin caches, mirrors): only the parser runs.
    return {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}


def _write_locals(directory: Path, strings: list[str]) -> list[int]:
    """Writes ``strings`` as ``locals`` ``s0``, ``s1``... one per line; returns the byte offset of each
    string's opening quote in the file."""
    content = '{"locals": {\n'
    starts = []
    for index, text in enumerate(strings):
        prefix = f"  {json.dumps(f's{index}')}: "
        starts.append(len(content.encode()) + len(prefix))
        comma = "," if index < len(strings) - 1 else ""
        content += f"{prefix}{json.dumps(text)}{comma}\n"
    content += "}}\n"
    (directory / "main.tf.json").write_text(content, encoding="utf-8")
    return starts


def _locate(starts: list[int], texts: list[str], diagnostic: dict[str, Any]) -> tuple[int | None, str]:
    """Which string a diagnostic is about, and about 80 characters of it around the error.

    Terraform counts a template's positions from its string's opening quote, in the string's decoded
    bytes (as many as the JSON encoding or fewer): the string is the last one starting before the
    diagnostic's byte offset.
    """
    byte = diagnostic.get("range", {}).get("start", {}).get("byte")
    if byte is None or not starts or byte < starts[0]:
        return None, ""
    index = bisect.bisect_right(starts, byte) - 1
    raw = texts[index].encode()
    offset = byte - starts[index] - 1
    return index, raw[max(offset - 40, 0) : offset + 40].decode(errors="replace")


def parse_templates(labelled: list[tuple[str, str]]) -> ParseResult:
    """Runs ``terraform validate`` over ``(path, text)`` pairs written as locals, :data:`CHUNK` strings a
    run; see the module docstring."""
    terraform = require_terraform()
    result = ParseResult(checked=len(labelled))
    for first in range(0, len(labelled), CHUNK):
        _parse_chunk(terraform, labelled[first : first + CHUNK], result)
    return result


def _parse_chunk(terraform: str, labelled: list[tuple[str, str]], result: ParseResult) -> None:
    with tempfile.TemporaryDirectory(prefix="tf-templates-") as tmp:
        directory = Path(tmp)
        texts = [text for _, text in labelled]
        starts = _write_locals(directory, texts)
        run = subprocess.run(
            [terraform, "validate", "-json", "-no-color"],
            cwd=directory,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    try:
        report = json.loads(run.stdout)
    except ValueError as error:
        raise AssertionError(f"terraform validate did not answer JSON:\n{run.stdout}\n{run.stderr}") from error
    for diagnostic in report.get("diagnostics", []):
        summary = diagnostic.get("summary", "")
        if any(summary.startswith(prefix) for prefix in UNRESOLVABLE):
            result.ignored += 1
            continue
        if diagnostic.get("severity") != "error":
            continue
        index, near = _locate(starts, texts, diagnostic)
        path = labelled[index][0] if index is not None else "(unknown string)"
        result.errors.append(ParseError(path, summary, diagnostic.get("detail", ""), near))


def parse_stack(stack: dict[str, Any]) -> ParseResult:
    """:func:`parse_templates` over every template-bearing string of a synthesized stack."""
    return parse_templates(list(template_strings(stack)))


def evaluate_literals(texts: list[str]) -> list[str]:
    """What Terraform makes of strings that reference nothing (``terraform console``): an escaped
    ``$${file("x")}`` reads back as the text ``${file("x")}``, an unescaped one as the file's content."""
    terraform = require_terraform()
    with tempfile.TemporaryDirectory(prefix="tf-literals-") as tmp:
        directory = Path(tmp)
        _write_locals(directory, texts)
        expression = "jsonencode([" + ", ".join(f"local.s{i}" for i in range(len(texts))) + "])\n"
        run = subprocess.run(
            [terraform, "console"],
            cwd=directory,
            env=_environment(),
            input=expression,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    problems = _ANSI.sub("", run.stderr)
    # The console evaluates what it can even when the configuration has errors: they are on stderr.
    assert run.returncode == 0 and "Error:" not in problems, f"terraform console failed:\n{problems}"
    # The last line is the jsonencode result as an HCL string literal: decode it twice.
    (answer,) = _ANSI.sub("", run.stdout).strip().splitlines()[-1:]
    return json.loads(json.loads(answer))


if __name__ == "__main__":
    # python -m tests.support.terraform_parser CDKTF_OUT: strings checked and parse errors, per stack.
    import sys

    failed = 0
    for path in sorted(Path(sys.argv[1]).glob("stacks/*/cdk.tf.json")):
        result = parse_stack(json.loads(path.read_text(encoding="utf-8")))
        failed += len(result.errors)
        print(f"{path.parent.name}: {result.checked} template strings, {len(result.errors)} parse errors")
        for error in result.errors:
            print(f"  {error}")
    sys.exit(1 if failed else 0)
