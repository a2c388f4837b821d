"""``eks.resources``: the EKS containers' requests and limits, from the environment file to the manifests.

The rendered pods (``render(workload_settings(config))``, what the workload stack applies) carry the
configured values, the defaults stay what they were when nothing is set, and whatever ``validate`` accepts
renders: both run the same ``ResourceSettings`` checks, so a value cannot pass one and fail the other.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rudder_ha.config.loader import check
from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.topologies.eks.k8s import render
from rudder_ha.topologies.eks.k8s.backend import BACKEND_CONTAINER
from rudder_ha.topologies.eks.k8s.from_config import workload_settings
from tests.support.documents import with_setting
from tests.support.paths import REPO

PROD_EKS_FILE = REPO / "environments" / "prod-eks.yaml"
PROD_EKS = yaml.safe_load(PROD_EKS_FILE.read_text())
CONTAINERS = ("backend", "transformer", "postgres", "drain")
FIELDS = ("cpu_request", "memory_request", "cpu_limit", "memory_limit")
RENDERED = {
    "backend": [("StatefulSet", BACKEND_CONTAINER)],
    "postgres": [("StatefulSet", "jobsdb")],
    "drain": [("StatefulSet", "jobsdb-drain"), ("StatefulSet", "backlog-metrics")],
    "transformer": [("Deployment", "rudder-transformer")],
}
"""Which rendered containers each ``eks.resources`` entry sizes (kind of the workload, container name)."""
BEFORE = {
    "backend": {"cpu_request": "1", "memory_request": "2Gi", "cpu_limit": "4", "memory_limit": "4Gi"},
    "transformer": {"cpu_request": "500m", "memory_request": "1Gi", "cpu_limit": "2", "memory_limit": "2Gi"},
    "postgres": {"cpu_request": "500m", "memory_request": "1Gi", "cpu_limit": "2", "memory_limit": "2Gi"},
    "drain": {"cpu_request": "20m", "memory_request": "32Mi", "cpu_limit": "250m", "memory_limit": "128Mi"},
}
"""The values the manifests had before the config could set them, written out (not read from defaults.py)."""


def load(doc: dict[str, Any]) -> EnvironmentConfig:
    """The typed settings of a document that must be valid."""
    config, problems = check(doc, "prod-eks.yaml", "prod-eks")
    assert config is not None, [str(p) for p in problems]
    return config


def with_resources(resources: dict[str, Any]) -> dict[str, Any]:
    """prod-eks with ``eks.resources`` set to ``resources``."""
    return with_setting(PROD_EKS, "eks.resources", resources)


def containers_by_name(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The init (sidecar) and regular containers of the one workload of ``kind``, by name."""
    (workload,) = [m for m in manifests if m["kind"] == kind]
    spec = workload["spec"]["template"]["spec"]
    return {c["name"]: c for c in [*spec.get("initContainers", []), *spec["containers"]]}


def rendered_resources(config: EnvironmentConfig) -> dict[str, list[dict[str, Any]]]:
    """Each ``eks.resources`` entry's rendered ``resources`` fields (one per container it sizes)."""
    manifests = render(workload_settings(config))
    return {
        entry: [containers_by_name(manifests, kind)[name]["resources"] for kind, name in targets]
        for entry, targets in RENDERED.items()
    }


def as_k8s(values: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        "requests": {"cpu": values["cpu_request"], "memory": values["memory_request"]},
        "limits": {"cpu": values["cpu_limit"], "memory": values["memory_limit"]},
    }


def test_unset_resources_keep_the_values_the_manifests_had() -> None:
    assert "resources" not in PROD_EKS["eks"]
    rendered = rendered_resources(load(PROD_EKS))
    for entry, values in BEFORE.items():
        assert rendered[entry] == [as_k8s(values)] * len(RENDERED[entry]), entry


def test_every_container_carries_its_configured_values() -> None:
    chosen = {
        "backend": {"cpu_request": "1500m", "memory_request": "3Gi", "cpu_limit": "3", "memory_limit": "6Gi"},
        "transformer": {"cpu_request": "750m", "memory_request": "1536Mi", "cpu_limit": "1.5", "memory_limit": "3G"},
        "postgres": {"cpu_request": "1", "memory_request": "2Gi", "cpu_limit": "2500m", "memory_limit": "5Gi"},
        "drain": {"cpu_request": "50m", "memory_request": "64Mi", "cpu_limit": "500m", "memory_limit": "256Mi"},
    }
    rendered = rendered_resources(load(with_resources(chosen)))
    for entry, values in chosen.items():
        assert rendered[entry] == [as_k8s(values)] * len(RENDERED[entry]), entry


def test_a_partial_entry_keeps_the_defaults_of_the_rest() -> None:
    rendered = rendered_resources(load(with_resources({"backend": {"memory_limit": "8Gi"}})))
    assert rendered["backend"] == [as_k8s({**BEFORE["backend"], "memory_limit": "8Gi"})]
    for entry in ("transformer", "postgres", "drain"):
        assert rendered[entry] == [as_k8s(BEFORE[entry])] * len(RENDERED[entry]), entry


@pytest.mark.parametrize("cpu_limit", ["2500m", "3", "6"])
def test_gomaxprocs_follows_the_backend_cpu_limit(cpu_limit: str) -> None:
    """rudder-server's GOMAXPROCS is its own container's ``limits.cpu`` (the kubelet rounds it up to whole
    cores with divisor 1), so it is whatever ``eks.resources.backend.cpu_limit`` says."""
    config = load(with_resources({"backend": {"cpu_limit": cpu_limit}}))
    server = containers_by_name(render(workload_settings(config)), "StatefulSet")[BACKEND_CONTAINER]
    (gomaxprocs,) = [e for e in server["env"] if e["name"] == "GOMAXPROCS"]
    reference = gomaxprocs["valueFrom"]["resourceFieldRef"]
    assert reference == {"containerName": BACKEND_CONTAINER, "resource": "limits.cpu", "divisor": "1"}
    assert server["resources"]["limits"]["cpu"] == cpu_limit
    cores = float(cpu_limit[:-1]) / 1000 if cpu_limit.endswith("m") else float(cpu_limit)
    assert math.ceil(cores) == {"2500m": 3, "3": 3, "6": 6}[cpu_limit]


def test_the_commented_example_in_prod_eks_is_valid_and_applied() -> None:
    """Uncommenting the example in environments/prod-eks.yaml gives a valid file with those values."""
    text = PROD_EKS_FILE.read_text()
    lines = [line for line in text.splitlines() if re.match(r"^  # (resources:|  \w+: \{)", line)]
    assert lines and lines[0] == "  # resources:", "the example block is gone from prod-eks.yaml"
    example = yaml.safe_load("\n".join(line.replace("  # ", "", 1) for line in lines))["resources"]
    rendered = rendered_resources(load(with_resources(example)))
    for entry, values in example.items():
        assert rendered[entry] == [as_k8s(values)] * len(RENDERED[entry]), entry


# --- validate accepts => synthesis renders -----------------------------------------------------------------

_SUFFIXES = ["", "m", "k", "M", "G", "T", "Ki", "Mi", "Gi", "Ti", "E", "u", "n", "gb"]

wild_quantities = st.builds(
    "{}{}{}".format,
    st.integers(min_value=0, max_value=5000),
    st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,4}", fullmatch=True)),
    st.sampled_from(_SUFFIXES),
)
"""Kubernetes-looking quantities, some valid, many not: zero, long decimals, suffixes the schema refuses."""
cpu_quantities = st.one_of(
    st.integers(min_value=1, max_value=8000).map("{}m".format),
    st.integers(min_value=1, max_value=16).map(str),
    st.sampled_from(["0.5", "1.5", "2.25", "0.1"]),
    wild_quantities,
)
memory_quantities = st.one_of(
    st.builds("{}{}".format, st.integers(min_value=1, max_value=8192), st.sampled_from(["Mi", "M", "Ki"])),
    st.builds("{}{}".format, st.integers(min_value=1, max_value=32), st.sampled_from(["Gi", "G"])),
    wild_quantities,
)


@st.composite
def entries(draw: st.DrawFn) -> dict[str, str]:
    """One container's entry: any subset of the four fields, CPU or memory quantities as each field takes."""
    chosen = draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=4))
    return {f: draw(cpu_quantities if f.startswith("cpu") else memory_quantities) for f in chosen}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resources=st.dictionaries(st.sampled_from(CONTAINERS), entries(), min_size=1, max_size=4))
def test_what_validate_accepts_renders_and_what_it_refuses_is_one_line_each(resources: dict[str, Any]) -> None:
    config, problems = check(with_resources(resources), "prod-eks.yaml", "prod-eks")
    if config is not None:
        rendered = rendered_resources(config)
        for entry, values in resources.items():
            expected = as_k8s({**BEFORE[entry], **values})
            assert rendered[entry] == [expected] * len(RENDERED[entry]), entry
        return
    assert problems
    for problem in problems:
        line = str(problem)
        assert "\n" not in line and "Traceback" not in line
        entry, _, field = problem.path.removeprefix("eks.resources.").partition(".")
        assert entry in resources, line
        assert field in FIELDS, line
        assert field in resources[entry] or "below" in problem.message, line
        assert "; " in problem.message, f"no fix: {line}"
    assert len({p.path for p in problems}) == len(problems), [str(p) for p in problems]
