"""One botocore model loader per process, shared by every session the tests create, and one service model per
service document, shared by every client.

Each botocore ``Session`` builds its own ``Loader`` (``botocore.session.create_loader``), and a loader
caches the service models it has read only for itself. ``mock_aws`` puts a fresh boto3 default session
in place each time it starts, so every moto-backed test read and parsed the JSON models of the services
it used again (EC2's alone is megabytes): about a sixth of those tests' time.

A loader only reads files that ship with botocore (and any ``AWS_DATA_PATH`` directories, which are part
of the cache key here) and hands out the parsed documents; botocore already shares one loader across
all the clients of a session, so sharing it across sessions changes nothing the tests observe.

Each client also wraps its document in a new ``ServiceModel``, whose shapes and operation models are
built lazily and cached on that object: creating an EC2 client built all of its 700 operation models
again (to look for endpoint discovery), 8 ms per client. A ``ServiceModel`` only derives from its
document, so every client of one document shares one here. :func:`share_service_models` runs first
thing in ``tests/conftest.py``.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.client
import botocore.loaders
import botocore.model
import botocore.session

_original_create_loader = botocore.loaders.create_loader
_models: dict[tuple[int, str], botocore.model.ServiceModel] = {}
"""(id of the document, service name) -> its model, which holds the document: its id is never reused."""


@functools.cache
def _shared_loader(search_path_string: str | None) -> Any:
    return _original_create_loader(search_path_string)


def _shared_service_model(
    creator: botocore.client.ClientCreator, service_name: str, api_version: str | None = None
) -> botocore.model.ServiceModel:
    document = creator._loader.load_service_model(service_name, "service-2", api_version=api_version)
    key = (id(document), service_name)
    if key not in _models:
        _models[key] = botocore.model.ServiceModel(document, service_name=service_name)
    return _models[key]


def share_service_models() -> None:
    """Makes every botocore session in this process use one loader per data path, and every client one
    ``ServiceModel`` per service document."""
    botocore.session.create_loader = _shared_loader
    botocore.client.ClientCreator._load_service_model = _shared_service_model  # type: ignore[method-assign]
