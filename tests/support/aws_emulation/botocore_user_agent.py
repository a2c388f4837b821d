"""botocore's user-agent components, cleaned once per process instead of once per request.

Every request builds its ``User-Agent`` header again, and each of its components (the botocore and Python
versions, the platform, the service, the feature ids of the call...) goes through
``botocore.useragent.sanitize_user_agent_string_component``, which tests every character against the
allowed set in a Python generator: a million characters per test run, for the same few dozen strings.

The function's answer depends on nothing but its two arguments (the text and whether ``#`` is allowed):
:func:`remember_sanitized_components` keeps the answers per pair and hands back the same string botocore
would build. An argument that cannot be a key (botocore passes strings) is cleaned as before.
"""

from __future__ import annotations

from typing import Any

from botocore import useragent

original_sanitize = useragent.sanitize_user_agent_string_component
"""botocore's own function (what the comparison test cleans with)."""
_answers: dict[tuple[str, bool], str] = {}
_MOST_ANSWERS = 10_000
"""A bound on the answers kept, should something pass ever-new text (a process never came near it)."""


def _remembered_sanitize(raw_str: Any, allow_hash: Any) -> Any:
    if type(raw_str) is not str or type(allow_hash) is not bool:
        return original_sanitize(raw_str, allow_hash)
    key = (raw_str, allow_hash)
    answer = _answers.get(key)
    if answer is None:
        answer = original_sanitize(raw_str, allow_hash)
        if len(_answers) < _MOST_ANSWERS:
            _answers[key] = answer
    return answer


def remember_sanitized_components() -> None:
    """Makes botocore keep the cleaned form of each user-agent component (see the module docstring)."""
    useragent.sanitize_user_agent_string_component = _remembered_sanitize
