"""One botocore client class per service and per set of class hooks, shared by every client of the process.

botocore builds a new Python class for every client it creates (``ClientCreator._create_client_class``):
one method per operation of the service model, then the ``creating-client-class.<service>`` event, whose
handlers may add methods or base classes, then ``type(...)``. The drain emulation, the drill and the
doctor tests create thousands of clients (a fresh one per emulated Lambda container, per check), and
building their classes was about a seventh of those tests' CPU.

The class holds no state of a client: the methods it gets call ``self._make_api_call`` with the
operation's name, and everything a client owns (endpoint, credentials, its own event emitter) lives on
the instance. Two clients of the same service model whose sessions register the same class hooks get
the same class from botocore, attribute for attribute; :func:`share_client_classes` makes them the
*same* class. The key holds the service model (one per service document and process, shared by
:mod:`tests.support.aws_emulation.botocore_models`) and what each hook is (its module, qualified name and
the names its closure carries, so boto3's per-session ``lazy_call`` wrappers of one function match): a
session with another hook gets a class of its own.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import botocore.client

_original_create_client_class = botocore.client.ClientCreator._create_client_class
_classes: dict[Hashable, type] = {}


def _hook_identity(handler: Any) -> Hashable:
    target = getattr(handler, "__func__", handler)
    cells = getattr(target, "__closure__", None) or ()
    carried = tuple(c.cell_contents for c in cells if isinstance(c.cell_contents, str))
    return (getattr(target, "__module__", None), getattr(target, "__qualname__", type(target).__qualname__), carried)


def _class_hooks(creator: Any, service_model: Any) -> tuple[Hashable, ...]:
    emitter = creator._event_emitter
    emitter = getattr(emitter, "_emitter", emitter)  # a session's EventAliaser wraps the HierarchicalEmitter
    event = f"creating-client-class.{service_model.service_id.hyphenize()}"
    return tuple(_hook_identity(h) for h in emitter._handlers.prefix_search(event))


def _shared_client_class(creator: Any, service_name: str, service_model: Any) -> type:
    key = (service_name, service_model, _class_hooks(creator, service_model))
    if key not in _classes:
        _classes[key] = _original_create_client_class(creator, service_name, service_model)
    return _classes[key]


def share_client_classes() -> None:
    """Makes every botocore client of this process reuse the class built for its service and hooks."""
    botocore.client.ClientCreator._create_client_class = _shared_client_class  # type: ignore[method-assign]
