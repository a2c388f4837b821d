"""Every manifest of the EKS workload, in apply order, as dicts or as multi-document YAML."""

from __future__ import annotations

from typing import Any

import yaml

from rudder_ha.topologies.eks.k8s import backend, drain, ingress, namespace, network, secrets, storage, transformer
from rudder_ha.topologies.eks.k8s.common import Manifest
from rudder_ha.topologies.eks.k8s.settings import WorkloadSettings


def render(settings: WorkloadSettings) -> list[Manifest]:
    """All manifests, in the order they can be applied.

    Namespace and its NetworkPolicies first (so no pod ever runs unconfined), identities, then storage
    and the token's provider class, the files the pods mount, the transformer (the backend waits for it
    at start), the backend and finally the Ingress that exposes it.
    """
    return [
        namespace.namespace(settings),
        *network.policies(settings),
        *namespace.service_accounts(settings),
        storage.storage_class(settings),
        secrets.secret_provider_class(settings),
        drain.files_configmap(settings),
        *transformer.manifests(settings),
        *backend.manifests(settings),
        ingress.ingress(settings),
    ]


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings (the shipped scripts) as literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def render_yaml(settings: WorkloadSettings) -> str:
    """The manifests as one multi-document YAML stream, for ``kubectl diff/apply -f -`` style review."""
    return yaml.dump_all(
        render(settings),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        explicit_start=True,
        allow_unicode=True,
        width=120,
    )
