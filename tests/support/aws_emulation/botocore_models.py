"""One botocore model loader per process, shared by every session the tests create.

Each botocore ``Session`` builds its own ``Loader`` (``botocore.session.create_loader``), and a loader
caches the service models it has read only for itself. ``mock_aws`` puts a fresh boto3 default session
in place each time it starts, so every moto-backed test read and parsed the JSON models of the services
it used again (EC2's alone is megabytes): about a sixth of those tests' time.

A loader only reads files that ship with botocore (and any ``AWS_DATA_PATH`` directories, which are part
of the cache key here) and hands out the parsed documents; botocore already shares one loader across
all the clients of a session, so sharing it across sessions changes nothing the tests observe.
:func:`share_service_models` runs first thing in ``tests/conftest.py``.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.loaders
import botocore.session

_original_create_loader = botocore.loaders.create_loader


@functools.cache
def _shared_loader(search_path_string: str | None) -> Any:
    return _original_create_loader(search_path_string)


def share_service_models() -> None:
    """Makes every botocore session in this process use one loader per data path."""
    botocore.session.create_loader = _shared_loader
