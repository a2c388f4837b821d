"""Slack incoming webhook: a colored attachment with Block Kit content and a plain fallback."""

from __future__ import annotations

from typing import Any

from ..model import Action, Alert, Severity, truncate
from .base import Receiver

MAX_SECTION_TEXT = 2900
STYLES = {
    Severity.CRITICAL: (":rotating_light:", "CRITICAL", "#d00000"),
    Severity.WARNING: (":warning:", "WARNING", "#f2c744"),
    Severity.INFO: (":information_source:", "INFO", "#439fe0"),
}
RESOLVED_STYLE = (":white_check_mark:", "RESOLVED", "#2eb886")


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fallback_text(alert: Alert) -> str:
    """The unescaped notification text, e.g. ``:white_check_mark: RESOLVED [prod] ...``."""
    emoji, label, _ = RESOLVED_STYLE if alert.action is Action.RESOLVE else STYLES[alert.severity]
    return f"{emoji} {label} {alert.summary}"


class SlackReceiver(Receiver):
    """Posts to one incoming webhook."""

    name = "slack"
    allowed_hosts = frozenset({"hooks.slack.com"})
    """Incoming webhooks."""

    def __init__(self, webhook_url: str) -> None:
        """Target the webhook URL (a secret)."""
        self._url = webhook_url

    @property
    def url(self) -> str:
        """The webhook URL."""
        return self._url

    def build(self, alert: Alert) -> dict[str, Any]:
        """Return the webhook body for ``alert``."""
        _, label, color = RESOLVED_STYLE if alert.action is Action.RESOLVE else STYLES[alert.severity]
        text = escape(fallback_text(alert))
        fields = [
            f"*Status*\n{label}",
            f"*Environment*\n{escape(alert.environment)}",
            f"*Source*\n{escape(alert.source or '-')}",
            f"*Origin*\n{escape(alert.origin)}",
        ]
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": text} for text in fields]},
        ]
        context = [f"dedup key: `{escape(alert.dedup_key)}`"]
        context += [f"<{link.href}|{escape(link.text)}>" for link in alert.links]
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": t} for t in context]})
        return {"text": text, "attachments": [{"color": color, "blocks": blocks}]}
