"""The settings files an instance reads, in the one format both readers agree on."""

from __future__ import annotations

import shlex
from collections.abc import Mapping


def render_env_file(values: Mapping[str, str]) -> str:
    """KEY=VALUE lines that both systemd's EnvironmentFile and bash ``source`` read the same way.

    A value is shell-quoted only when it needs it; a line break in a value is refused (``ValueError``),
    since neither reader can carry one.
    """
    lines = []
    for key, value in values.items():
        if any(c in value for c in "\n\r"):
            raise ValueError(f"{key} contains a line break")
        lines.append(f"{key}={shlex.quote(value)}" if value != shlex.quote(value) else f"{key}={value}")
    return "\n".join(lines) + "\n"
