"""Lambda entry point of the alert router (``handler.handler``).

Deployed at the root of its own zip beside the ``alert_router`` package; see README.md.
"""

from __future__ import annotations

from typing import Any

from alert_router.app import AlertRouter, build_router

_router: AlertRouter | None = None


def set_router(router: AlertRouter | None) -> None:
    """Replace the container's router (tests inject one with a fake sleep; None = rebuild)."""
    global _router
    _router = router


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Route every SNS record of ``event`` to the configured receivers."""
    global _router
    if _router is None:
        _router = build_router()
    return _router.handle(event, context)
