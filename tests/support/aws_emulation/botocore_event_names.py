"""botocore's event-name aliasing, remembered once per process instead of once per client.

Every client emits a dozen events per call (``before-parameter-build.dynamodb.GetItem``,
``needs-retry.dynamodb.GetItem``...), and its ``EventAliaser`` first rewrites each name through
``botocore.utils.EVENT_ALIASES`` (old service names to new ones), splitting the name once per alias. It keeps
the answers, but in a cache of its own, which starts empty with every client: the drain emulation, the drill
and the doctor tests create a client per emulated Lambda container and per check, so most names were
worked out again, for a few percent of those tests' CPU.

The answer depends on nothing but the name and the alias table: :func:`share_alias_answers` gives every
``EventAliaser`` whose table holds the same pairs one shared cache. A table with other pairs gets a cache
of its own, and botocore's own code fills the caches exactly as before.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from botocore.hooks import EventAliaser

_original_init = EventAliaser.__init__
_caches: dict[Hashable, dict[str, str]] = {}


def _init_with_shared_cache(
    self: EventAliaser, event_emitter: Any, event_aliases: dict[str, str] | None = None
) -> None:
    _original_init(self, event_emitter, event_aliases)
    table = frozenset(self._event_aliases.items())
    self._alias_name_cache = _caches.setdefault(table, {})


def share_alias_answers() -> None:
    """Makes every ``EventAliaser`` with the same alias table share one cache of answers."""
    EventAliaser.__init__ = _init_with_shared_cache  # type: ignore[method-assign]
