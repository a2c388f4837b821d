"""moto's random strings drawn in one call per string instead of one call per character.

Every response moto writes carries a request id, a 52-character ``MotoRandom.get_random_string``, which
draws each character with its own ``Random.choice`` (a ``getrandbits`` loop per character): a few percent
of every emulated AWS call's CPU. :func:`draw_strings_at_once` draws the same kind of string, each
character uniformly from the same pool, with one ``Random.choices`` call on the same generator, so a seeded
moto still gives reproducible ids (other ones than moto's own draw: no test depends on which).
"""

from __future__ import annotations

import string

from moto.moto_api._internal.moto_random import MotoRandom

original_random_string = MotoRandom.get_random_string
"""moto's own ``get_random_string`` (what the comparison test draws with)."""


def random_string(self: MotoRandom, length: int = 20, include_digits: bool = True, lower_case: bool = False) -> str:
    """``length`` characters drawn uniformly from ASCII letters (and digits), lower-cased on request."""
    pool = string.ascii_letters + string.digits if include_digits else string.ascii_letters
    text = "".join(self.choices(pool, k=length))
    return text.lower() if lower_case else text


def draw_strings_at_once() -> None:
    """Makes moto draw each random string with one call (see the module docstring)."""
    MotoRandom.get_random_string = random_string  # type: ignore[method-assign]
