"""Which receivers are configured, and how to build each from its secret."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..config import Settings
from .base import Receiver
from .pagerduty import PagerDutyReceiver
from .slack import SlackReceiver
from .victorops import VictorOpsReceiver


@dataclass(frozen=True)
class ReceiverSpec:
    """A configured receiver: its name, where its secret lives, and how to build it."""

    name: str
    secret_name: str
    build: Callable[[str], Receiver]
    allowed_hosts: frozenset[str] = frozenset()


def configured_receivers(settings: Settings) -> list[ReceiverSpec]:
    """Return a spec for every receiver whose secret parameter is set (empty = disabled)."""
    candidates = [
        ReceiverSpec(
            PagerDutyReceiver.name,
            settings.pagerduty_routing_key_parameter,
            lambda key: PagerDutyReceiver(settings.pagerduty_events_url, key),
            PagerDutyReceiver.allowed_hosts,
        ),
        ReceiverSpec(
            VictorOpsReceiver.name, settings.victorops_url_parameter, VictorOpsReceiver, VictorOpsReceiver.allowed_hosts
        ),
        ReceiverSpec(
            SlackReceiver.name, settings.slack_webhook_url_parameter, SlackReceiver, SlackReceiver.allowed_hosts
        ),
    ]
    return [spec for spec in candidates if spec.secret_name]
