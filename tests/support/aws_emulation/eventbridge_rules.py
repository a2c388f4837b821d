"""EventBridge rules on virtual time: event patterns and delivery to the drain queue.

moto keeps rules but delivers nothing on the virtual clock, hence this part. Reproduces the
documented behaviour the drain relies on:

* Event patterns: every field of the pattern must match the event; a list of values matches when
  the event's value equals one of them (or, for an array in the event, when any element does); a
  nested object matches the event's object of the same name field by field; a field the event
  lacks never matches. Content filters (``prefix``, ``anything-but``, ...) are not used by the
  deployment and are refused here rather than silently misread.
* Delivery to an SQS target without an input transformer: the message body is the event itself
  (its JSON), sent ``delivery_latency`` seconds after the event was put.
* Delivery is best effort (AWS documents service events as such): :meth:`EventBus.lose_next`
  drops matched events to exercise the consumer's fallback.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.aws_emulation.emulation import AwsEmulation

#: Receives the JSON text of a matched event (an SQS target: the queue's send).
Target = Callable[[str], object]


def pattern_matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether ``event`` matches the EventBridge ``pattern`` (exact-value subset, see the module docstring)."""
    for name, expected in pattern.items():
        if name not in event:
            return False
        actual = event[name]
        if isinstance(expected, Mapping):
            if not isinstance(actual, Mapping) or not pattern_matches(expected, actual):
                return False
            continue
        if not isinstance(expected, list):
            raise ValueError(f"pattern field {name!r}: expected a list of values or an object")
        if any(isinstance(item, (dict, list)) for item in expected):
            raise ValueError(f"pattern field {name!r}: content filters are not emulated")
        values = actual if isinstance(actual, list) else [actual]
        if not any(value in expected for value in values):
            return False
    return True


def validate_pattern(pattern: Mapping[str, Any], path: str = "") -> None:
    """Refuse pattern syntax this emulation does not reproduce (raise ``ValueError`` naming the field)."""
    for name, expected in pattern.items():
        where = f"{path}{name}"
        if isinstance(expected, Mapping):
            validate_pattern(expected, f"{where}.")
        elif not isinstance(expected, list) or any(isinstance(item, (dict, list)) for item in expected):
            raise ValueError(f"pattern field {where!r}: only lists of exact values and nested objects are emulated")


@dataclasses.dataclass
class Rule:
    """One rule: its pattern and its target."""

    name: str
    pattern: dict[str, Any]
    target: Target
    matched: int = 0


@dataclasses.dataclass
class Delivery:
    """One event delivered (or lost) by a rule."""

    at: float
    rule: str
    event: dict[str, Any]
    lost: bool = False


class EventBus:
    """The default event bus of the emulated account (see the module docstring)."""

    def __init__(self, emu: AwsEmulation, *, delivery_latency: float = 0.5) -> None:
        """Deliver matched events ``delivery_latency`` virtual seconds after they are put."""
        self._emu = emu
        self.delivery_latency = delivery_latency
        self.rules: list[Rule] = []
        self.events: list[dict[str, Any]] = []
        self.deliveries: list[Delivery] = []
        self._lose = 0

    def put_rule(self, name: str, pattern: str | Mapping[str, Any], target: Target) -> Rule:
        """Add a rule (``pattern`` as the JSON a deployment writes, or parsed) with one target."""
        parsed = json.loads(pattern) if isinstance(pattern, str) else dict(pattern)
        validate_pattern(parsed)
        rule = Rule(name, parsed, target)
        self.rules.append(rule)
        return rule

    def lose_next(self, count: int = 1) -> None:
        """Drop the next ``count`` matched events (best-effort delivery)."""
        self._lose += count

    def put_event(self, event: dict[str, Any]) -> list[str]:
        """An AWS service emits ``event``; return the names of the rules it matched."""
        self.events.append(event)
        matched: list[str] = []
        for rule in self.rules:
            if not pattern_matches(rule.pattern, event):
                continue
            rule.matched += 1
            matched.append(rule.name)
            now = self._emu.clock.now()
            if self._lose > 0:
                self._lose -= 1
                self.deliveries.append(Delivery(now, rule.name, event, lost=True))
                continue
            body = json.dumps(event)

            def deliver(rule: Rule = rule, body: str = body) -> None:
                self.deliveries.append(Delivery(self._emu.clock.now(), rule.name, json.loads(body)))
                rule.target(body)

            self._emu.clock.call_later(self.delivery_latency, deliver, f"eventbridge {rule.name}")
        return matched
