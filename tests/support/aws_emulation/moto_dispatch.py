"""moto's request dispatch without listing a response class's methods on every request.

For every request, ``BaseResponse.call_action`` asks ``method_names_from_class(type(self))``, which runs
``inspect.getmembers`` over the whole response class (hundreds of attributes for EC2) to learn whether the
action has a handler: a few percent of every moto-backed test's CPU. The answer only changes if the class
does, and no moto response class is changed after import: :func:`list_methods_once` keeps one answer per
class. Membership is all ``call_action`` asks of it.
"""

from __future__ import annotations

import functools

import moto.core.responses
import moto.core.utils


@functools.cache
def _method_names(response_class: type) -> frozenset[str]:
    return frozenset(moto.core.utils.method_names_from_class(response_class))


def list_methods_once() -> None:
    """Makes moto's dispatch read each response class's method names once per process."""
    moto.core.responses.method_names_from_class = _method_names  # type: ignore[assignment]
