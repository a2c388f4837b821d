"""Literal text stays literal in the synthesized Terraform JSON.

Terraform reads every string of a JSON configuration (and every key of an object-valued attribute) as a
template: ``${...}`` interpolates an expression, ``%{...}`` is a directive, ``$${`` and ``%%{`` are the
escapes for the literal characters. cdktf writes the strings it is given verbatim, so any text that
reaches a resource (a shell script in a ConfigMap, an SSM or Image Builder document, a policy built
from configuration values, a tag, a name) would be evaluated, or refused by Terraform's parser.

The only templates the project means are cdktf tokens (references, ``Fn`` calls, ...), which Python
code holds as markers (``${TfToken[TOKEN.12]}``) until synthesis. :func:`escape_literal` escapes the
text around those markers. :class:`rudder_ha.frontends.cdktf.environment_stack.EnvironmentStack` applies
it to every string of the stack at synthesis (:func:`escape_synthesized`), so constructs pass plain text
and never escape it themselves (escaping twice would write the escape sequences into the resource). A
string that must reach Terraform as a hand-written expression is wrapped with :func:`terraform_expression`
(a pre- or postcondition's ``condition`` is always one and is left as it is).

Text given to a cdktf function (``Fn.jsonencode({...})``) is inside a token: cdktf writes it into the
function call's HCL and escapes its ``${`` itself, but not ``%{``; nothing the project passes to one
holds either.

The neutral specs and the Pulumi front end stay unescaped: Pulumi does not evaluate templates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from cdktf import (
    DefaultTokenResolver,
    IStringProducer,
    Lazy,
    StringConcat,
    TerraformElement,
    TerraformStack,
    Tokenization,
)
from jsii import implements

TOKEN_MARKER = re.compile(r"\$\{TfToken\[TOKEN\.\d+\]\}")
"""How cdktf encodes a string token inside a Python string until synthesis resolves it."""
COMMENT = "//"
"""cdktf's metadata key (construct path, ids): Terraform's JSON syntax ignores it."""
TEMPLATE_BLOCKS = frozenset({"resource", "data", "output", "locals", "provider", "module"})
"""Top-level blocks whose strings Terraform evaluates; under ``terraform`` only the backend settings are."""
CONDITION_BLOCKS = frozenset({"precondition", "postcondition"})
"""Blocks whose ``condition`` Terraform only takes as an expression: a string there is written as one
(``'${self.vpc_id == "vpc-0a1b"}'``), never escaped; the ``error_message`` beside it is text."""


def has_template_sequence(text: str) -> bool:
    """Whether Terraform would start a template sequence (or see an escape) in ``text``."""
    return "${" in text or "%{" in text


def _escape_text(text: str) -> str:
    return text.replace("${", "$${").replace("%{", "%%{")


def escape_literal(text: str) -> str:
    """``text`` with its literal ``${`` and ``%{`` escaped (``$${``, ``%%{``) and cdktf's token markers
    left as they are, so Terraform evaluates exactly the tokens.

    Literal ``$`` characters right before a token would turn the token's ``${`` into the escape
    ``$${``: they are written as an interpolated string (``${"$"}``) instead.
    """
    out = []
    position = 0
    for marker in TOKEN_MARKER.finditer(text):
        literal = _escape_text(text[position : marker.start()])
        dollars = len(literal) - len(literal.rstrip("$"))
        if dollars:
            literal = literal[:-dollars] + '${"' + "$" * dollars + '"}'
        out += [literal, marker.group()]
        position = marker.end()
    out.append(_escape_text(text[position:]))
    return "".join(out)


def needs_escaping(text: str) -> bool:
    """Whether :func:`escape_literal` would change ``text`` (a template sequence outside its tokens)."""
    return has_template_sequence(text) and escape_literal(text) != text


@implements(IStringProducer)
class _Verbatim:
    def __init__(self, text: str) -> None:
        self._text = text

    def produce(self, _context: Any) -> str:
        return self._text


def terraform_expression(text: str) -> str:
    """A hand-written Terraform template or expression (``'${self.vpc_id == "vpc-0a1b"}'``) as a token,
    so the synthesis writes it as it is instead of escaping it. Anything interpolated into ``text`` must
    be known safe (validated configuration, constants)."""
    return Lazy.string_value(_Verbatim(text))


JsonPath = tuple[str | int, ...]
"""Keys and list indexes from the top of a Terraform JSON document."""


def _walk(value: Any, path: JsonPath) -> Iterator[tuple[JsonPath, bool, str]]:
    """``(path, is_key, text)`` for every string and object key under ``value`` that needs escaping."""
    if isinstance(value, str):
        if needs_escaping(value) and not _is_condition(path):
            yield path, False, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == COMMENT:
                continue
            yield from _walk(item, (*path, key))
            if isinstance(key, str) and needs_escaping(key):
                yield (*path, key), True, key
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


def _is_condition(path: JsonPath) -> bool:
    return len(path) >= 3 and path[-1] == "condition" and path[-3] in CONDITION_BLOCKS


def literal_templates(fragment: dict[str, Any]) -> Iterator[tuple[JsonPath, bool, str]]:
    """The strings and keys of one element's unresolved Terraform JSON (``TerraformElement.to_terraform``)
    that Terraform would evaluate as templates although they are not tokens."""
    for block, value in fragment.items():
        if block in TEMPLATE_BLOCKS:
            yield from _walk(value, (block,))
        elif block == "terraform" and isinstance(value, dict) and "backend" in value:
            yield from _walk(value["backend"], (block, "backend"))


def _resolver(stack: TerraformStack) -> Any:
    resolver = DefaultTokenResolver(StringConcat())

    def resolve(text: str) -> str:
        if not TOKEN_MARKER.search(text):
            return text
        return Tokenization.resolve(text, resolver=resolver, scope=stack, preparing=False)

    return resolve


def _elements(stack: TerraformStack) -> list[TerraformElement]:
    """The stack's own Terraform elements (those of a nested stack belong to it). Asking each element for
    its stack is a call into jsii per element, made only when the stack does hold another."""
    constructs = stack.node.find_all()
    elements = [construct for construct in constructs if isinstance(construct, TerraformElement)]
    if any(isinstance(construct, TerraformStack) and construct is not stack for construct in constructs):
        elements = [element for element in elements if TerraformStack.of(element) is stack]
    return elements


def _container(synthesized: dict[str, Any], path: JsonPath, element: TerraformElement, resolve: Any) -> Any:
    node: Any = synthesized
    for step in path:
        try:
            node = node[resolve(step) if isinstance(step, str) else step]
        except (KeyError, IndexError, TypeError) as error:
            raise RuntimeError(
                f"escaping {element.node.path}: {'.'.join(map(str, path))} is not in the synthesized stack"
            ) from error
    return node


def escape_synthesized(stack: TerraformStack, synthesized: dict[str, Any]) -> dict[str, Any]:
    """``synthesized`` (the stack's resolved Terraform JSON) with every literal template sequence of its
    elements escaped, in place; returned for convenience.

    Each element's unresolved JSON shows which parts of a string are tokens; the same string, escaped
    around them and resolved, replaces the resolved one at the same place. A place that does not hold
    the resolved original fails the synthesis instead of leaving a template in.
    """
    resolve = _resolver(stack)
    renames: list[tuple[JsonPath, str, str, TerraformElement]] = []
    for element in _elements(stack):
        fragment = element.to_terraform()
        if not isinstance(fragment, dict):
            continue
        for path, is_key, text in literal_templates(fragment):
            old, new = resolve(text), resolve(escape_literal(text))
            if is_key:
                renames.append((path, old, new, element))
                continue
            parent = _container(synthesized, path[:-1], element, resolve)
            last = resolve(path[-1]) if isinstance(path[-1], str) else path[-1]
            if _container(synthesized, path, element, resolve) != old:
                raise RuntimeError(f"escaping {element.node.path}: {'.'.join(map(str, path))} was resolved otherwise")
            parent[last] = new
    # Keys last, deepest first: the paths above name the unescaped keys.
    for path, old, new, element in sorted(renames, key=lambda r: -len(r[0])):
        parent = _container(synthesized, path[:-1], element, resolve)
        if old not in parent:
            raise RuntimeError(f"escaping {element.node.path}: key {old!r} is not in the synthesized stack")
        items = list(parent.items())
        parent.clear()
        parent.update((new if key == old else key, value) for key, value in items)
    return synthesized
