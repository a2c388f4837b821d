"""The EKS workload's manifests (rudder_ha.topologies.eks.k8s): schema-valid for the cluster's Kubernetes version, and
every HA property asserted on the rendered dicts. The drain handshake (preStop hook + drain agent) is
run for real: the shipped scripts, taken from the rendered ConfigMap, against fake drain checks and
against the real rudder-drain-check on a socket-only, trust-authenticated PostgreSQL."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from rudder_ha.config import defaults, load_environment
from rudder_ha.config.model import SecretRef
from rudder_ha.topologies.eks.k8s import (
    DrainSettings,
    IngressSettings,
    ResourceSettings,
    TransformerScaling,
    WorkloadSettings,
    render,
    render_yaml,
)
from rudder_ha.topologies.eks.k8s import drain as drain_module
from rudder_ha.topologies.eks.k8s import jobsdb as jobsdb_module
from rudder_ha.topologies.eks.k8s.from_config import workload_settings
from rudder_ha.topologies.eks.k8s.settings import SUPPORTED_KUBERNETES_VERSIONS
from tests.support import jobsdb as jdb
from tests.support.postgres import ConnectionParams, PostgresServer, jobsdb, postgres_server, psql_client  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
CLUSTER_VERSION = SUPPORTED_KUBERNETES_VERSIONS[0]
"""The oldest supported version: the schema tests validate against it and every newer schema shipped, so
against every version ``validate`` accepts."""
TOKEN_SSM = "/rudder-ha/prod/workspace-token"
TOKEN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rudder-ha/prod/workspace-token-AbCdEf"
CERT_ARN = "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
ALB_SUBNETS = ("10.0.128.0/20", "10.0.144.0/20", "10.0.160.0/20")
"""The public subnets the ALB has its addresses in (the pods run in 10.0.0.0/18, the private ones)."""


def make_settings(**changes: Any) -> WorkloadSettings:
    """A representative production-like environment: 2 backend replicas over three zones."""
    base = WorkloadSettings(
        region="eu-west-1",
        zones=("eu-west-1a", "eu-west-1b", "eu-west-1c"),
        backend_image="rudderlabs/rudder-server:1.83.0",
        transformer_image="rudderlabs/rudder-transformer:1.90.0",
        postgres_image="postgres:16-bookworm",
        drain_image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/rudder-ha/jobsdb-tools:16",
        control_plane_url="https://api.rudderstack.com",
        workspace_token=SecretRef(ssm_parameter=TOKEN_SSM),
        ingress=IngressSettings(
            certificate_arn=CERT_ARN,
            host="events.example.com",
            ingress_cidrs=("0.0.0.0/0",),
            access_logs_bucket="rudder-ha-prod-alb-logs",
        ),
        kubernetes_version=CLUSTER_VERSION,
        backend_replica_count=2,
        termination_grace_period_seconds=3600,
        load_balancer_source_cidrs=ALB_SUBNETS,
    )
    return replace(base, **changes)


@pytest.fixture(scope="module")
def settings() -> WorkloadSettings:
    """The representative settings."""
    return make_settings()


@pytest.fixture(scope="module")
def manifests(settings: WorkloadSettings) -> list[dict[str, Any]]:
    """The rendered manifests."""
    return render(settings)


def one(manifests: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The single manifest of a kind (and name)."""
    found = [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, [m["metadata"]["name"] for m in found])
    return found[0]


def pod_spec(manifests: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The pod template spec of the StatefulSet or Deployment."""
    return one(manifests, kind)["spec"]["template"]["spec"]


def all_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Init (sidecar) and regular containers of a pod spec."""
    return [*spec.get("initContainers", []), *spec["containers"]]


def container(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """One container of a pod spec by name."""
    (found,) = [c for c in all_containers(spec) if c["name"] == name]
    return found


def env_of(c: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A container's env entries by name."""
    return {e["name"]: e for e in c.get("env", [])}


def strings(node: Any) -> Iterator[str]:
    """Every string (keys and values) in a manifest."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, str):
        yield node


# --- schema validation -------------------------------------------------------------------------


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


@pytest.fixture(scope="module")
def schema_version() -> str:
    """The newest schema version kubernetes-validate ships that is not newer than the cluster."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    import kubernetes_validate.utils as kv_utils

    versions = sorted({str(v).lstrip("v") for v in kv_utils.all_versions()}, key=_version_key)
    cluster = _version_key(CLUSTER_VERSION)
    eligible = [v for v in versions if _version_key(v)[:2] <= cluster]
    assert eligible, f"kubernetes-validate {kubernetes_validate.__name__} ships no schema <= {CLUSTER_VERSION}"
    chosen = eligible[-1]
    assert _version_key(chosen)[:2] == cluster, f"no {CLUSTER_VERSION} schema; newest eligible is {chosen}"
    return chosen


BUILT_IN_KINDS = {
    "Namespace",
    "ServiceAccount",
    "StorageClass",
    "ConfigMap",
    "Service",
    "Deployment",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "StatefulSet",
    "Ingress",
    "NetworkPolicy",
}


def test_every_built_in_manifest_is_valid_for_the_cluster_version(
    manifests: list[dict[str, Any]], schema_version: str
) -> None:
    import kubernetes_validate

    validated = []
    for manifest in manifests:
        if manifest["kind"] not in BUILT_IN_KINDS:
            continue
        # strict: unknown fields (a misspelt or misplaced key) are errors too
        kubernetes_validate.validate(manifest, schema_version, strict=True)
        validated.append(manifest["kind"])
    assert set(validated) == BUILT_IN_KINDS


def test_manifests_stay_valid_for_newer_kubernetes_versions(
    manifests: list[dict[str, Any]], schema_version: str
) -> None:
    """Nothing relies on a field a later release removed: valid for every newer schema shipped too."""
    import kubernetes_validate
    import kubernetes_validate.utils as kv_utils

    newer = sorted({str(v) for v in kv_utils.all_versions() if _version_key(str(v)) > _version_key(schema_version)})
    for version in newer:
        for manifest in manifests:
            if manifest["kind"] in BUILT_IN_KINDS:
                kubernetes_validate.validate(manifest, version, strict=True)


def test_the_schema_validation_catches_mistakes(manifests: list[dict[str, Any]], schema_version: str) -> None:
    """Guard against a validator that accepts anything: a misplaced field must fail."""
    import kubernetes_validate

    broken = json.loads(json.dumps(one(manifests, "StatefulSet")))
    broken["spec"]["template"]["spec"]["initContainers"][0]["restartPolicies"] = "Always"
    with pytest.raises(Exception, match="restartPolicies"):
        kubernetes_validate.validate(broken, schema_version, strict=True)


def test_secret_provider_class_is_structurally_valid(
    manifests: list[dict[str, Any]], settings: WorkloadSettings
) -> None:
    """A CRD kubernetes-validate does not know: its shape is checked here (secrets-store.csi.x-k8s.io/v1)."""
    spc = one(manifests, "SecretProviderClass")
    assert set(spc) == {"apiVersion", "kind", "metadata", "spec"}
    assert spc["apiVersion"] == "secrets-store.csi.x-k8s.io/v1"
    assert spc["metadata"]["namespace"] == settings.namespace
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", spc["metadata"]["name"])
    assert set(spc["spec"]) == {"provider", "parameters", "secretObjects"}
    assert spc["spec"]["provider"] == "aws"
    parameters = spc["spec"]["parameters"]
    assert all(isinstance(v, str) for v in parameters.values()), "parameters is a map of strings"
    assert parameters["usePodIdentity"] == "true"
    assert parameters["region"] == settings.region
    objects = yaml.safe_load(parameters["objects"])
    assert objects == [{"objectName": TOKEN_SSM, "objectType": "ssmparameter", "objectAlias": "workspace-token"}]
    (synced,) = spc["spec"]["secretObjects"]
    assert set(synced) <= {"secretName", "type", "labels", "annotations", "data"}
    assert synced["type"] == "Opaque"
    assert synced["data"] == [{"objectName": "workspace-token", "key": "workspace-token"}]


def test_secrets_manager_token_reference() -> None:
    spc = one(render(make_settings(workspace_token=SecretRef(secrets_manager_arn=TOKEN_ARN))), "SecretProviderClass")
    objects = yaml.safe_load(spc["spec"]["parameters"]["objects"])
    assert objects == [{"objectName": TOKEN_ARN, "objectType": "secretsmanager", "objectAlias": "workspace-token"}]


# --- the manifest list -------------------------------------------------------------------------


def test_manifests_in_apply_order(manifests: list[dict[str, Any]]) -> None:
    assert [(m["kind"], m["metadata"]["name"]) for m in manifests] == [
        ("Namespace", "rudder"),
        ("NetworkPolicy", "default-deny"),
        ("NetworkPolicy", "allow-dns"),
        ("NetworkPolicy", "rudder-backend"),
        ("NetworkPolicy", "rudder-transformer"),
        ("NetworkPolicy", "rudder-orphan-drain"),
        ("ServiceAccount", "rudder-backend"),
        ("ServiceAccount", "rudder-transformer"),
        ("StorageClass", "rudder-jobsdb-gp3-encrypted"),
        ("SecretProviderClass", "rudder-workspace-token"),
        ("ConfigMap", "rudder-backend-files"),
        ("Service", "rudder-transformer"),
        ("Deployment", "rudder-transformer"),
        ("HorizontalPodAutoscaler", "rudder-transformer"),
        ("PodDisruptionBudget", "rudder-transformer"),
        ("Service", "rudder-backend-headless"),
        ("Service", "rudder-gateway"),
        ("StatefulSet", "rudder-backend"),
        ("PodDisruptionBudget", "rudder-backend"),
        ("Ingress", "rudder-gateway"),
    ]
    for manifest in manifests:
        if manifest["kind"] not in ("Namespace", "StorageClass"):
            assert manifest["metadata"]["namespace"] == "rudder", manifest["kind"]


def test_render_yaml_is_the_same_manifests(settings: WorkloadSettings, manifests: list[dict[str, Any]]) -> None:
    text = render_yaml(settings)
    assert list(yaml.safe_load_all(text)) == manifests
    assert "drain-prestop.sh: |" in text, "scripts are readable literal blocks"


def test_namespace_enforces_restricted_pod_security(manifests: list[dict[str, Any]]) -> None:
    namespace_labels = one(manifests, "Namespace")["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert namespace_labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert namespace_labels[f"pod-security.kubernetes.io/{mode}-version"] == f"v{CLUSTER_VERSION}"
    assert namespace_labels["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"


def test_service_accounts_carry_no_api_token(manifests: list[dict[str, Any]]) -> None:
    for name in ("rudder-backend", "rudder-transformer"):
        assert one(manifests, "ServiceAccount", name)["automountServiceAccountToken"] is False
    assert pod_spec(manifests, "StatefulSet")["serviceAccountName"] == "rudder-backend"
    assert pod_spec(manifests, "Deployment")["serviceAccountName"] == "rudder-transformer"


# --- backend StatefulSet -----------------------------------------------------------------------


@pytest.mark.parametrize("replicas", [1, 2, 3, 5])
def test_replica_count_follows_settings(replicas: int) -> None:
    statefulset = one(render(make_settings(backend_replica_count=replicas)), "StatefulSet")
    assert statefulset["spec"]["replicas"] == replicas


def test_statefulset_scaling_and_update_policy(manifests: list[dict[str, Any]]) -> None:
    spec = one(manifests, "StatefulSet")["spec"]
    assert spec["replicas"] == 2
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert spec["serviceName"] == one(manifests, "Service", "rudder-backend-headless")["metadata"]["name"]


def test_postgres_is_a_native_sidecar_that_starts_first(manifests: list[dict[str, Any]]) -> None:
    spec = pod_spec(manifests, "StatefulSet")
    init = spec["initContainers"]
    assert [c["name"] for c in init] == ["jobsdb", "jobsdb-drain"]
    assert all(c["restartPolicy"] == "Always" for c in init), "native sidecars (K8s >= 1.29)"
    assert init[0]["image"] == "postgres:16-bookworm"
    assert "startupProbe" in init[0], "the server starts only once PostgreSQL accepts connections"
    assert init[0]["startupProbe"]["exec"]["command"][0] == "pg_isready"
    assert [c["name"] for c in spec["containers"]] == ["rudder-server"]


def test_postgres_has_no_tcp_listener_and_no_password(manifests: list[dict[str, Any]]) -> None:
    spec = pod_spec(manifests, "StatefulSet")
    postgres = container(spec, "jobsdb")
    assert postgres["args"][0] == "postgres"
    assert "listen_addresses=" in postgres["args"], "no TCP at all, the socket only"
    assert "unix_socket_directories=/var/run/postgresql" in postgres["args"]
    hba_arg = next(a for a in postgres["args"] if a.startswith("hba_file="))
    hba = one(manifests, "ConfigMap")["data"][Path(hba_arg.split("=", 1)[1]).name]
    rules = [line.split() for line in hba.splitlines() if line.strip() and not line.startswith("#")]
    assert rules[0] == ["local", "all", "all", "trust"]
    assert all(rule[-1] == "reject" for rule in rules if rule[0].startswith("host"))
    socket_volume = next(v for v in spec["volumes"] if v["name"] == "jobsdb-socket")
    assert "emptyDir" in socket_volume, "the socket never leaves the pod"
    for c in all_containers(spec):
        for entry in c.get("env", []):
            assert "PASSWORD" not in entry["name"], (c["name"], entry["name"])


def test_backend_environment(manifests: list[dict[str, Any]], settings: WorkloadSettings) -> None:
    env = env_of(container(pod_spec(manifests, "StatefulSet"), "rudder-server"))
    assert env["JOBS_DB_HOST"]["value"] == "/var/run/postgresql", "the pod-local socket"
    assert env["JOBS_DB_PORT"]["value"] == "5432"
    assert env["JOBS_DB_USER"]["value"] == "rudder"
    assert env["JOBS_DB_DB_NAME"]["value"] == "jobsdb"
    assert env["JOBS_DB_SSL_MODE"]["value"] == "disable"
    assert env["DEST_TRANSFORM_URL"]["value"] == "http://rudder-transformer.rudder.svc.cluster.local:9090"
    assert env["CONFIG_BACKEND_URL"]["value"] == settings.control_plane_url
    postgres_env = env_of(container(pod_spec(manifests, "StatefulSet"), "jobsdb"))
    assert postgres_env["POSTGRES_USER"]["value"] == env["JOBS_DB_USER"]["value"]
    assert postgres_env["POSTGRES_DB"]["value"] == env["JOBS_DB_DB_NAME"]["value"]


def test_workspace_token_only_by_reference_to_the_synced_secret(
    manifests: list[dict[str, Any]], settings: WorkloadSettings
) -> None:
    spec = pod_spec(manifests, "StatefulSet")
    env = env_of(container(spec, "rudder-server"))
    assert env["WORKSPACE_TOKEN"] == {
        "name": "WORKSPACE_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "rudder-workspace-token", "key": "workspace-token"}},
    }
    spc = one(manifests, "SecretProviderClass")
    assert spc["spec"]["secretObjects"][0]["secretName"] == "rudder-workspace-token"
    # the CSI volume must be mounted for the driver to fetch the token and create the Secret
    csi = next(v for v in spec["volumes"] if "csi" in v)
    assert csi["csi"]["driver"] == "secrets-store.csi.k8s.io"
    assert csi["csi"]["volumeAttributes"] == {"secretProviderClass": spc["metadata"]["name"]}
    assert any(m["name"] == csi["name"] for m in container(spec, "rudder-server")["volumeMounts"])
    # no Secret object, and no token or password env var with a literal value, anywhere
    assert not [m for m in manifests if m["kind"] == "Secret"]
    for manifest in manifests:
        for kind in ("StatefulSet", "Deployment"):
            if manifest["kind"] == kind:
                for c in all_containers(manifest["spec"]["template"]["spec"]):
                    for entry in c.get("env", []):
                        if re.search(r"TOKEN|PASSWORD|SECRET|KEY", entry["name"]):
                            assert "value" not in entry, (c["name"], entry["name"])
    # the settings carry no token value at all; only its location appears
    for text in strings(manifests):
        assert not re.search(r"(?i)workspace_token\s*[:=]\s*\S", text), text[:80]


def test_jobsdb_volume_is_encrypted_gp3_and_retained(manifests: list[dict[str, Any]]) -> None:
    statefulset = one(manifests, "StatefulSet")
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    storage_class = one(manifests, "StorageClass")
    assert claim["spec"]["storageClassName"] == storage_class["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Gi"
    assert storage_class["provisioner"] == "ebs.csi.aws.com"
    assert storage_class["parameters"]["type"] == "gp3"
    assert storage_class["parameters"]["encrypted"] == "true"
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"
    assert storage_class["reclaimPolicy"] == "Retain"
    zones = storage_class["allowedTopologies"][0]["matchLabelExpressions"][0]
    assert zones == {"key": "topology.kubernetes.io/zone", "values": ["eu-west-1a", "eu-west-1b", "eu-west-1c"]}
    postgres = container(statefulset["spec"]["template"]["spec"], "jobsdb")
    data_mount = next(m for m in postgres["volumeMounts"] if m["name"] == claim["metadata"]["name"])
    pgdata = env_of(postgres)["PGDATA"]["value"]
    assert pgdata.startswith(data_mount["mountPath"] + "/"), "PGDATA is a subdirectory (lost+found)"


def test_storage_class_with_customer_key() -> None:
    from rudder_ha.topologies.eks.k8s.settings import JobsdbVolumeSettings

    key = "arn:aws:kms:eu-west-1:123456789012:key/abcd"
    volume = JobsdbVolumeSettings(kms_key_arn=key, iops=6000, throughput_mibps=250)
    parameters = one(render(make_settings(jobsdb_volume=volume)), "StorageClass")["parameters"]
    assert parameters == {
        "type": "gp3",
        "encrypted": "true",
        "csi.storage.k8s.io/fstype": "ext4",
        "kmsKeyId": key,
        "iops": "6000",
        "throughput": "250",
    }


def test_backend_probes_on_health_8080(manifests: list[dict[str, Any]]) -> None:
    server = container(pod_spec(manifests, "StatefulSet"), "rudder-server")
    assert server["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert server[probe]["httpGet"] == {"path": "/health", "port": 8080, "scheme": "HTTP"}, probe
    startup = server["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300, "the gateway opens after config loads"
    liveness = server["livenessProbe"]
    assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 60
    # a liveness kill must not wait out the drain budget in the preStop hook
    assert liveness["terminationGracePeriodSeconds"] <= 60


def test_backend_spreads_over_zones_and_nodes(manifests: list[dict[str, Any]], settings: WorkloadSettings) -> None:
    template = one(manifests, "StatefulSet")["spec"]["template"]
    pod_labels = template["metadata"]["labels"]
    spec = template["spec"]
    zone = next(c for c in spec["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone")
    assert zone["maxSkew"] == 1
    assert zone["whenUnsatisfiable"] == "DoNotSchedule"
    assert zone["minDomains"] == 2
    assert zone["labelSelector"]["matchLabels"].items() <= pod_labels.items()
    anti = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert anti["podAffinityTerm"]["labelSelector"]["matchLabels"].items() <= pod_labels.items()
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == list(settings.zones)


def test_services_and_ports(manifests: list[dict[str, Any]]) -> None:
    pod_labels = one(manifests, "StatefulSet")["spec"]["template"]["metadata"]["labels"]
    headless = one(manifests, "Service", "rudder-backend-headless")["spec"]
    assert headless["clusterIP"] == "None"
    gateway = one(manifests, "Service", "rudder-gateway")["spec"]
    assert gateway["type"] == "ClusterIP"
    for spec in (headless, gateway):
        assert spec["selector"].items() <= pod_labels.items()
        assert spec["ports"] == [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]
    transformer_labels = one(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    transformer = one(manifests, "Service", "rudder-transformer")["spec"]
    assert transformer["selector"].items() <= transformer_labels.items()
    assert transformer["ports"] == [{"name": "http", "port": 9090, "targetPort": "http", "protocol": "TCP"}]
    assert not transformer["selector"].items() <= pod_labels.items(), "the Services do not overlap"


def test_disruption_budgets_select_their_pods(manifests: list[dict[str, Any]]) -> None:
    for kind, name in (("StatefulSet", "rudder-backend"), ("Deployment", "rudder-transformer")):
        workload = one(manifests, kind)
        budget = one(manifests, "PodDisruptionBudget", name)["spec"]
        assert budget["maxUnavailable"] == 1
        assert budget["selector"] == workload["spec"]["selector"]
        assert budget["selector"]["matchLabels"].items() <= workload["spec"]["template"]["metadata"]["labels"].items()
        others = [m for m in manifests if m["kind"] in ("StatefulSet", "Deployment") and m is not workload]
        for other in others:
            labels_of_other = other["spec"]["template"]["metadata"]["labels"]
            assert not budget["selector"]["matchLabels"].items() <= labels_of_other.items()


def test_every_container_is_locked_down(manifests: list[dict[str, Any]]) -> None:
    for kind in ("StatefulSet", "Deployment"):
        spec = pod_spec(manifests, kind)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        for c in all_containers(spec):
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True and sc["runAsUser"] > 0, c["name"]
            assert sc["allowPrivilegeEscalation"] is False, c["name"]
            assert sc["capabilities"] == {"drop": ["ALL"]}, c["name"]
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, c["name"]
            assert sc["readOnlyRootFilesystem"] is True, c["name"]
            assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"], c["name"]
            assert c["resources"]["limits"]["cpu"], f"{c['name']}: no CPU limit"
        for volume in spec["volumes"]:
            assert set(volume) - {"name"} <= {"emptyDir", "configMap", "csi"}, volume  # restricted-compatible


def test_files_configmap_ships_the_drain_check_unchanged(manifests: list[dict[str, Any]]) -> None:
    data = one(manifests, "ConfigMap")["data"]
    assert data["rudder-drain-check"] == (REPO / "ami" / "bin" / "rudder-drain-check").read_text(encoding="utf-8")
    for script in ("drain-agent.sh", "drain-prestop.sh"):
        assert data[script] == (REPO / "rudder_ha" / "topologies" / "eks" / "k8s" / "scripts" / script).read_text(
            encoding="utf-8"
        )
    annotations = one(manifests, "StatefulSet")["spec"]["template"]["metadata"]["annotations"]
    assert re.fullmatch(r"[0-9a-f]{64}", annotations["rudder-ha/files-sha256"]), "a script change rolls the pods"


# --- the drain mechanism, as configured ----------------------------------------------------------


def test_prestop_is_bounded_by_the_grace_period(manifests: list[dict[str, Any]], settings: WorkloadSettings) -> None:
    spec = pod_spec(manifests, "StatefulSet")
    grace = spec["terminationGracePeriodSeconds"]
    assert grace == settings.termination_grace_period_seconds == 3600
    command = container(spec, "rudder-server")["lifecycle"]["preStop"]["exec"]["command"]
    assert command[:2] == ["/bin/sh", "/opt/rudder-ha/drain-prestop.sh"], "POSIX sh: the server image has no python"
    handshake, settle, budget = command[2], int(command[3]), int(command[4])
    assert budget == grace - settings.drain.shutdown_reserve_seconds
    assert settle < budget < grace
    assert grace - budget >= 30, "room for rudder-server's 15 s shutdown and PostgreSQL's"
    agent = container(spec, "jobsdb-drain")
    assert agent["command"][:4] == ["/bin/sh", "/opt/rudder-ha/drain-agent.sh", handshake, "15"]
    assert agent["command"][4:] == ["--", "python3", "/opt/rudder-ha/rudder-drain-check", "--timeout", "20"]
    assert env_of(agent)["JOBS_DB_HOST"] == env_of(container(spec, "rudder-server"))["JOBS_DB_HOST"]
    # the hook and the agent share the handshake directory, an emptyDir of the pod
    for name in ("rudder-server", "jobsdb-drain"):
        mounts = {m["mountPath"]: m["name"] for m in container(spec, name)["volumeMounts"]}
        assert handshake in mounts, name
        assert mounts["/opt/rudder-ha"] == "rudder-ha-files"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes["drain-handshake"]
    assert volumes["rudder-ha-files"]["configMap"] == {"name": "rudder-backend-files", "defaultMode": 0o555}


def test_grace_period_follows_settings() -> None:
    spec = pod_spec(render(make_settings(termination_grace_period_seconds=7200)), "StatefulSet")
    assert spec["terminationGracePeriodSeconds"] == 7200
    assert spec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][-1] == str(7200 - 60)


# --- transformer and ingress -------------------------------------------------------------------


def test_transformer_deployment(manifests: list[dict[str, Any]]) -> None:
    deployment = one(manifests, "Deployment")
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    spec = deployment["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    assert c["ports"] == [{"name": "http", "containerPort": 9090, "protocol": "TCP"}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": 9090, "scheme": "HTTP"}, probe
    zone = next(t for t in spec["topologySpreadConstraints"] if t["topologyKey"] == "topology.kubernetes.io/zone")
    assert (zone["maxSkew"], zone["whenUnsatisfiable"]) == (1, "DoNotSchedule")
    assert zone["labelSelector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_transformer_autoscaler(manifests: list[dict[str, Any]]) -> None:
    hpa = one(manifests, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "rudder-transformer",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 8)
    (metric,) = hpa["spec"]["metrics"]
    assert metric == {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
    }
    scaled = one(render(make_settings(transformer_scaling=TransformerScaling(3, 12, 55))), "HorizontalPodAutoscaler")[
        "spec"
    ]
    assert (scaled["minReplicas"], scaled["maxReplicas"]) == (3, 12)
    assert scaled["metrics"][0]["resource"]["target"]["averageUtilization"] == 55


def test_ingress_for_the_aws_load_balancer_controller(manifests: list[dict[str, Any]]) -> None:
    ingress = one(manifests, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "alb"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "events.example.com"
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/", "Prefix")
    assert path["backend"] == {"service": {"name": "rudder-gateway", "port": {"number": 8080}}}
    a = {k.removeprefix("alb.ingress.kubernetes.io/"): v for k, v in ingress["metadata"]["annotations"].items()}
    assert a["scheme"] == "internet-facing"
    assert a["target-type"] == "ip"
    assert json.loads(a["listen-ports"]) == [{"HTTP": 80}, {"HTTPS": 443}]
    assert a["ssl-redirect"] == "443"
    assert a["certificate-arn"] == CERT_ARN
    assert a["ssl-policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert a["healthcheck-path"] == "/health"
    assert a["healthcheck-port"] == "traffic-port"
    # The Ingress takes the environment file's own health-check defaults.
    assert (a["healthcheck-interval-seconds"], a["healthcheck-timeout-seconds"]) == (
        str(defaults.HEALTH_CHECK_INTERVAL_SECONDS),
        str(defaults.HEALTH_CHECK_TIMEOUT_SECONDS),
    )
    assert (a["healthy-threshold-count"], a["unhealthy-threshold-count"]) == ("2", "2")
    assert a["success-codes"] == "200"
    assert a["inbound-cidrs"] == "0.0.0.0/0"
    lb_attributes = dict(pair.split("=", 1) for pair in a["load-balancer-attributes"].split(","))
    assert lb_attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert lb_attributes["deletion_protection.enabled"] == "true"
    assert lb_attributes["access_logs.s3.bucket"] == "rudder-ha-prod-alb-logs"
    assert a["target-group-attributes"] == "deregistration_delay.timeout_seconds=30"


def test_ingress_cidrs_and_internal_scheme() -> None:
    ingress_settings = IngressSettings(
        certificate_arn=CERT_ARN, scheme="internal", ingress_cidrs=("10.0.0.0/8", "192.168.0.0/16")
    )
    ingress = one(render(make_settings(ingress=ingress_settings)), "Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/inbound-cidrs"] == "10.0.0.0/8,192.168.0.0/16"
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internal"
    assert "host" not in ingress["spec"]["rules"][0]


# --- network policies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Peer:
    """One end of a connection: a pod (namespace and labels) or an address outside the cluster's pods."""

    namespace: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    ip: str | None = None

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None


NAMESPACE_LABELS = {
    "rudder": {"kubernetes.io/metadata.name": "rudder"},
    "kube-system": {"kubernetes.io/metadata.name": "kube-system"},
}


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector (matchLabels only: all this project writes; anything else fails the test)."""
    assert set(selector) <= {"matchLabels"}, selector
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _peer_matches(rule_peer: dict[str, Any], peer: Peer, policy_namespace: str) -> bool:
    if "ipBlock" in rule_peer:
        block = rule_peer["ipBlock"]
        assert set(block) == {"cidr"}, block
        return peer.ip is not None and ipaddress.ip_address(peer.ip) in ipaddress.ip_network(block["cidr"])
    if not peer.is_pod:
        return False
    if "namespaceSelector" in rule_peer:
        namespace_ok = _selects(rule_peer["namespaceSelector"], NAMESPACE_LABELS[peer.namespace])
    else:
        namespace_ok = peer.namespace == policy_namespace
    return namespace_ok and _selects(rule_peer.get("podSelector", {}), dict(peer.labels))


def _rule_allows(rule: dict[str, Any], direction: str, peer: Peer, port: int, protocol: str, namespace: str) -> bool:
    ports = rule.get("ports")
    if ports is not None and not any(p["port"] == port and p.get("protocol", "TCP") == protocol for p in ports):
        return False
    peers = rule.get(direction)
    return peers is None or any(_peer_matches(item, peer, namespace) for item in peers)


def _side_allows(policies: list[dict[str, Any]], pod: Peer, kind: str, peer: Peer, port: int, protocol: str) -> bool:
    """Whether the policies selecting ``pod`` for ``kind`` (Ingress/Egress) admit the connection (a pod no
    such policy selects is not isolated for that direction)."""
    if not pod.is_pod:
        return True
    direction, rules_key = ("from", "ingress") if kind == "Ingress" else ("to", "egress")
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == pod.namespace
        and kind in p["spec"]["policyTypes"]
        and _selects(p["spec"]["podSelector"], dict(pod.labels))
    ]
    if not selecting:
        return True
    return any(
        _rule_allows(rule, direction, peer, port, protocol, pod.namespace)
        for p in selecting
        for rule in p["spec"].get(rules_key, [])
    )


def allowed(manifests: list[dict[str, Any]], src: Peer, dst: Peer, port: int, protocol: str = "TCP") -> bool:
    """NetworkPolicy semantics: the source's egress policies and the destination's ingress policies must
    both admit the connection."""
    policies = [m for m in manifests if m["kind"] == "NetworkPolicy"]
    return _side_allows(policies, src, "Egress", dst, port, protocol) and _side_allows(
        policies, dst, "Ingress", src, port, protocol
    )


def pod_of(manifests: list[dict[str, Any]], kind: str, ip: str) -> Peer:
    template = one(manifests, kind)["spec"]["template"]
    return Peer("rudder", tuple(sorted(template["metadata"]["labels"].items())), ip)


ALB_NODE = Peer(ip="10.0.130.17")
OTHER_POD = Peer("rudder", (("app", "debug"),), "10.0.3.9")
POD_ELSEWHERE = Peer("monitoring", (("app", "prometheus"),), "10.0.7.7")
KUBE_DNS = Peer("kube-system", (("k8s-app", "kube-dns"),), "10.0.2.2")
INTERNET = Peer(ip="203.0.113.10")
VPC_HOST = Peer(ip="10.0.40.40")
METADATA = Peer(ip="169.254.169.254")


def test_network_policies_allow_exactly_the_data_plane_flows(manifests: list[dict[str, Any]]) -> None:
    backend = pod_of(manifests, "StatefulSet", "10.0.1.10")
    transformer = pod_of(manifests, "Deployment", "10.0.1.20")
    expected = {
        # the ALB reaches the gateway, and nothing else in the namespace
        ("alb -> backend:8080", ALB_NODE, backend, 8080, "TCP"): True,
        ("alb -> transformer:9090", ALB_NODE, transformer, 9090, "TCP"): False,
        ("alb -> backend:9090", ALB_NODE, backend, 9090, "TCP"): False,
        ("internet -> backend:8080", INTERNET, backend, 8080, "TCP"): False,
        ("vpc host -> backend:8080", VPC_HOST, backend, 8080, "TCP"): False,
        ("other pod -> backend:8080", OTHER_POD, backend, 8080, "TCP"): False,
        ("pod in another namespace -> backend:8080", POD_ELSEWHERE, backend, 8080, "TCP"): False,
        # the backend calls the transformer; nobody else does
        ("backend -> transformer:9090", backend, transformer, 9090, "TCP"): True,
        ("backend -> transformer:8080", backend, transformer, 8080, "TCP"): False,
        ("transformer -> backend:8080", transformer, backend, 8080, "TCP"): False,
        ("other pod -> transformer:9090", OTHER_POD, transformer, 9090, "TCP"): False,
        ("pod in another namespace -> transformer:9090", POD_ELSEWHERE, transformer, 9090, "TCP"): False,
        # DNS for every pod, over UDP and TCP, to kube-dns only
        ("backend -> kube-dns:53/udp", backend, KUBE_DNS, 53, "UDP"): True,
        ("backend -> kube-dns:53/tcp", backend, KUBE_DNS, 53, "TCP"): True,
        ("transformer -> kube-dns:53/udp", transformer, KUBE_DNS, 53, "UDP"): True,
        ("other pod -> kube-dns:53/udp", OTHER_POD, KUBE_DNS, 53, "UDP"): True,
        ("backend -> internet:53/udp", backend, INTERNET, 53, "UDP"): False,
        # HTTPS out for both; nothing else out
        ("backend -> internet:443", backend, INTERNET, 443, "TCP"): True,
        ("backend -> vpc endpoint:443", backend, VPC_HOST, 443, "TCP"): True,
        ("transformer -> internet:443", transformer, INTERNET, 443, "TCP"): True,
        ("backend -> internet:80", backend, INTERNET, 80, "TCP"): False,
        ("backend -> warehouse:5439", backend, INTERNET, 5439, "TCP"): False,
        ("transformer -> internet:80", transformer, INTERNET, 80, "TCP"): False,
        ("backend -> instance metadata:80", backend, METADATA, 80, "TCP"): False,
        ("other pod -> internet:443", OTHER_POD, INTERNET, 443, "TCP"): False,
    }
    actual = {key: allowed(manifests, *key[1:]) for key in expected}
    assert {k[0]: v for k, v in actual.items()} == {k[0]: v for k, v in expected.items()}


def test_backend_egress_ports_open_chosen_destination_ports_only() -> None:
    manifests = render(make_settings(backend_egress_ports=(5439, 9092)))
    backend = pod_of(manifests, "StatefulSet", "10.0.1.10")
    transformer = pod_of(manifests, "Deployment", "10.0.1.20")
    assert allowed(manifests, backend, INTERNET, 5439)
    assert allowed(manifests, backend, INTERNET, 9092)
    assert not allowed(manifests, backend, INTERNET, 5432)
    assert not allowed(manifests, transformer, INTERNET, 5439), "the transformer's egress is unchanged"


def test_every_pod_is_selected_by_a_default_deny_policy(manifests: list[dict[str, Any]]) -> None:
    deny = one(manifests, "NetworkPolicy", "default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert deny["metadata"]["namespace"] == "rudder"
    for kind in ("StatefulSet", "Deployment"):
        labels = one(manifests, kind)["spec"]["template"]["metadata"]["labels"]
        own = [
            p
            for p in manifests
            if p["kind"] == "NetworkPolicy" and p["spec"]["podSelector"] and _selects(p["spec"]["podSelector"], labels)
        ]
        assert len(own) == 1 and set(own[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}, kind


def test_network_policies_come_before_any_pod(manifests: list[dict[str, Any]]) -> None:
    kinds = [m["kind"] for m in manifests]
    last_policy = max(i for i, k in enumerate(kinds) if k == "NetworkPolicy")
    assert last_policy < min(kinds.index("StatefulSet"), kinds.index("Deployment"))


def test_the_network_policy_evaluator_can_deny() -> None:
    """Guard against an evaluator that admits everything: without policies every flow is open."""
    manifests = [m for m in render(make_settings()) if m["kind"] != "NetworkPolicy"]
    backend = pod_of(manifests, "StatefulSet", "10.0.1.10")
    assert allowed(manifests, INTERNET, backend, 8080) and allowed(manifests, backend, INTERNET, 25)


# --- resources and identities ---------------------------------------------------------------------


def test_cpu_limits_follow_the_resource_settings() -> None:
    chosen = ResourceSettings(cpu_request="250m", memory_request="256Mi", memory_limit="512Mi", cpu_limit="750m")
    manifests = render(
        make_settings(
            backend_resources=chosen, postgres_resources=chosen, drain_resources=chosen, transformer_resources=chosen
        )
    )
    for kind in ("StatefulSet", "Deployment"):
        for c in all_containers(pod_spec(manifests, kind)):
            assert c["resources"] == {
                "requests": {"cpu": "250m", "memory": "256Mi"},
                "limits": {"cpu": "750m", "memory": "512Mi"},
            }, c["name"]


def test_gomaxprocs_follows_the_backend_cpu_limit(manifests: list[dict[str, Any]]) -> None:
    env = env_of(container(pod_spec(manifests, "StatefulSet"), "rudder-server"))
    assert env["GOMAXPROCS"]["valueFrom"] == {
        "resourceFieldRef": {"containerName": "rudder-server", "resource": "limits.cpu", "divisor": "1"}
    }


def test_application_containers_run_as_high_uids(manifests: list[dict[str, Any]]) -> None:
    """No uid an account on the node has (1000 is ec2-user on Amazon Linux)."""
    for kind, name in (("StatefulSet", "rudder-server"), ("Deployment", "rudder-transformer")):
        spec = pod_spec(manifests, kind)
        assert spec["securityContext"]["runAsUser"] >= 10000, kind
        assert container(spec, name)["securityContext"]["runAsUser"] >= 10000, name
    transformer = container(pod_spec(manifests, "Deployment"), "rudder-transformer")
    home = env_of(transformer)["HOME"]["value"]
    assert any(m["mountPath"] == f"{home}/.npm" for m in transformer["volumeMounts"]), "npm writes to an emptyDir"


# --- settings validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"termination_grace_period_seconds": 90}, "termination_grace_period_seconds is too short"),
        ({"workspace_token": SecretRef(ssm_parameter=TOKEN_SSM, secrets_manager_arn=TOKEN_ARN)}, "exactly one"),
        ({"workspace_token": SecretRef()}, "exactly one"),
        ({"zones": ("eu-west-1a",)}, "two or more"),
        ({"backend_replica_count": 0}, "at least 1"),
        ({"kubernetes_version": "1.29"}, r"not a version EKS supports today"),
        ({"kubernetes_version": "1.31"}, r"use one of 1\.32, "),  # extended support ended 2026-11-26
        ({"kubernetes_version": "1.37"}, r"not a version EKS supports today"),
        ({"control_plane_url": "http://api.rudderstack.com"}, "https"),
        ({"backend_uid": 0}, "non-root"),
        ({"load_balancer_source_cidrs": ()}, "load_balancer_source_cidrs"),
        ({"load_balancer_source_cidrs": ("0.0.0.0/0",)}, "any address"),
        ({"load_balancer_source_cidrs": ("10.0.128.1/20",)}, "host bits"),
        ({"backend_egress_ports": (443,)}, "open already"),
        ({"backend_egress_ports": (70000,)}, "not a port"),
    ],
)
def test_settings_refuse_unsafe_values(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_settings(**changes)


def test_nested_settings_refuse_unsafe_values() -> None:
    with pytest.raises(ValueError, match=r"TLS 1\.3"):
        IngressSettings(certificate_arn=CERT_ARN, ssl_policy="ELBSecurityPolicy-2016-08")
    with pytest.raises(ValueError, match="ingress_cidrs"):
        IngressSettings(certificate_arn=CERT_ARN, ingress_cidrs=("10.0.0.1/8",))
    with pytest.raises(ValueError, match="certificate"):
        IngressSettings(certificate_arn="")
    with pytest.raises(ValueError, match="quantity"):
        ResourceSettings(cpu_request="1 core", memory_request="1Gi", memory_limit="2Gi", cpu_limit="2")
    with pytest.raises(ValueError, match="cpu_limit 500m is below cpu_request 1"):
        ResourceSettings(cpu_request="1", memory_request="1Gi", memory_limit="2Gi", cpu_limit="500m")
    with pytest.raises(ValueError, match="memory_limit 512Mi is below memory_request 1Gi"):
        ResourceSettings(cpu_request="1", memory_request="1Gi", memory_limit="512Mi", cpu_limit="2")
    with pytest.raises(ValueError, match="min_replicas"):
        TransformerScaling(min_replicas=5, max_replicas=2)
    with pytest.raises(ValueError, match="shutdown_reserve_seconds"):
        DrainSettings(shutdown_reserve_seconds=10)


# --- the drain handshake, run for real -----------------------------------------------------------
#
# The scripts tell time only with `date +%s` and `sleep`, so they run on a virtual clock here: PATH
# puts a fake date (prints the virtual time) and a fake sleep (blocks until the virtual clock reaches
# its wake-up time) first. The clock moves only while the test waits (ScriptClock.run_until), and only
# when every process of the pod is asleep on it: it then jumps to the earliest wake-up. A check,
# however slowly it runs, takes no virtual time, and the virtual seconds a script spends are exactly
# the sleeps it made: no test depends on the machine's speed. Waits are bounded by HANG real seconds
# and a number of virtual seconds, both only to end a test that is really stuck.

HANG = 120.0

CHECK_DRAINED_AFTER_TWO_PENDING = """#!/bin/sh
# fake rudder-drain-check: pending (75) twice, then drained (0)
count_file=$1
n=$(cat "$count_file" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >"$count_file"
if [ "$n" -le 2 ]; then echo '{"status": "pending", "pending_jobs": 3}'; exit 75; fi
echo '{"status": "drained", "pending_jobs": 0}'
exit 0
"""

CHECK_CANNOT_TELL = """#!/bin/sh
# fake rudder-drain-check: cannot tell (69) forever
count_file=$1
n=$(cat "$count_file" 2>/dev/null || echo 0)
echo $((n + 1)) >"$count_file"
echo '{"status": "unknown", "error": "connection refused"}'
exit 69
"""

FAKE_DATE = """#!/bin/sh
# date on the test's virtual clock; only `date +%s` (all the drain scripts use) is emulated
if [ "$#" -ne 1 ] || [ "$1" != "+%s" ]; then echo "fake date: only +%s, not: $*" >&2; exit 2; fi
cat '{now}'
"""

FAKE_SLEEP = """#!/bin/sh
# sleep on the test's virtual clock: a fifo named WAKE.PID.PPID, read until the clock's owner writes to it
case ${{1-}} in '' | *[!0-9]*) echo "fake sleep: whole seconds only, not: $*" >&2; exit 2 ;; esac
exec </dev/null >/dev/null 2>&1  # hold no pipe of the caller (its output is read until EOF)
fifo='{sleepers}'/"$(($(cat '{now}') + $1)).$$.$PPID"
mkfifo "$fifo" || exit 2
read -r _ <"$fifo"
rm -f "$fifo"
"""


class Sleeper:
    """A fake sleep blocked on its fifo: wake-up time, its pid, and the script that called it."""

    def __init__(self, fifo: Path) -> None:
        self.fifo = fifo
        self.wake, self.pid, self.caller = (int(part) for part in fifo.name.split("."))

    def __repr__(self) -> str:
        return f"Sleeper({self.fifo.name})"


class ScriptClock:
    """Virtual time for shell scripts: ``bin`` (first on their PATH) holds the fake date and sleep."""

    def __init__(self, root: Path, start: int = 1_767_225_600) -> None:
        self.bin = root / "bin"
        self.sleepers_dir = root / "sleepers"
        self._now = root / "now"
        self.bin.mkdir(parents=True)
        self.sleepers_dir.mkdir()
        self._set(start)
        for name, template in (("date", FAKE_DATE), ("sleep", FAKE_SLEEP)):
            (self.bin / name).write_text(template.format(now=self._now, sleepers=self.sleepers_dir))
            (self.bin / name).chmod(0o755)

    def path(self) -> str:
        """PATH for a script on this clock."""
        return f"{self.bin}{os.pathsep}{os.environ['PATH']}"

    def now(self) -> int:
        """The virtual time (epoch seconds)."""
        return int(self._now.read_text())

    def _set(self, value: int) -> None:
        tmp = self._now.with_suffix(".tmp")
        tmp.write_text(f"{value}\n")
        tmp.replace(self._now)

    def sleepers(self) -> list[Sleeper]:
        """The fake sleeps that are blocked (or about to be)."""
        return [Sleeper(fifo) for fifo in self.sleepers_dir.iterdir()]

    @staticmethod
    def _wake(sleeper: Sleeper) -> None:
        try:  # fails (ENXIO) until the sleeper has opened its fifo: tried again on the next round
            fd = os.open(sleeper.fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return
        try:
            os.write(fd, b"\n")
        except OSError:
            pass
        finally:
            os.close(fd)

    def run_until(
        self, processes: list[subprocess.Popen[str]], done: Callable[[], bool], what: str, *, within: int = 600
    ) -> None:
        """Let the processes run until done() holds while every one of them sleeps (or has exited).

        Each round wakes the sleepers that are due; once none is due and every live process sleeps,
        done() is asked, and if it does not hold yet the clock jumps to the earliest wake-up.
        """
        limit = self.now() + within
        deadline = time.monotonic() + HANG
        while True:
            now = self.now()
            sleepers = self.sleepers()
            due = [s for s in sleepers if s.wake <= now]
            for sleeper in due:
                self._wake(sleeper)
            live = {p.pid for p in processes if p.poll() is None}
            pending = [s for s in sleepers if s.wake > now and s.caller in live]
            if not due and live <= {s.caller for s in pending}:
                if done():
                    return
                assert pending, f"every process has exited, and still not {what}"
                wake = min(s.wake for s in pending)
                assert wake <= limit, f"{within} virtual seconds passed without {what}"
                self._set(wake)
                continue
            assert time.monotonic() < deadline, f"stuck (real time) waiting for {what}"
            time.sleep(0.005)

    def close(self) -> None:
        """Wake every sleeper left (of scripts that were stopped while they slept)."""
        deadline = time.monotonic() + HANG
        while sleepers := self.sleepers():
            for sleeper in sleepers:
                try:
                    os.kill(sleeper.pid, 0)
                except ProcessLookupError:
                    sleeper.fifo.unlink(missing_ok=True)  # gone without cleaning up
                else:
                    self._wake(sleeper)
            assert time.monotonic() < deadline, f"sleepers do not wake: {sleepers}"
            time.sleep(0.01)


class Pod:
    """The drain files of one backend pod, laid out in a temporary directory as the pod mounts them."""

    def __init__(self, root: Path, settings: WorkloadSettings) -> None:
        self.root = root
        self.settings = settings
        self.files = root / "opt-rudder-ha"
        self.handshake = root / "rudder-drain"
        self.files.mkdir()
        self.handshake.mkdir()
        for key, text in one(render(settings), "ConfigMap")["data"].items():
            (self.files / key).write_text(text, encoding="utf-8")
            (self.files / key).chmod(0o555)
        self.log = root / "server-stdout.log"
        self.count = root / "check-count"
        self.clock = ScriptClock(root / "clock")
        self.processes: list[subprocess.Popen[str]] = []  # the drain agents
        self.hooks: list[subprocess.Popen[str]] = []  # the preStop hooks

    def localize(self, argv: list[str]) -> list[str]:
        """A command of the manifest with the pod's mount paths mapped into the temporary directory."""
        return [
            a.replace(drain_module.FILES_MOUNT, str(self.files)).replace(
                drain_module.HANDSHAKE_DIR, str(self.handshake)
            )
            for a in argv
        ]

    def fake_check(self, script: str) -> list[str]:
        """A fake drain check command counting its runs."""
        path = self.root / "fake-drain-check"
        path.write_text(script, encoding="utf-8")
        path.chmod(0o755)
        return [str(path), str(self.count)]

    def run_until(self, done: Callable[[], bool], what: str, *, within: int = 600) -> None:
        """Let the pod's scripts run on the virtual clock until done() (see ScriptClock.run_until)."""
        self.clock.run_until([*self.processes, *self.hooks], done, what, within=within)

    def start_agent(self, check: list[str], *, interval: int = 1, env: dict[str, str] | None = None) -> None:
        """Start the drain agent as the sidecar would, with its check command replaced; returns once it idles."""
        argv = self.localize(drain_module.agent_command(self.settings))
        separator = argv.index("--")
        argv = [*argv[:3], str(interval), "--", *check]
        assert separator == 4
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**(env or {}), "PATH": self.clock.path()},
        )
        self.processes.append(process)
        self.run_until(lambda: True, "the agent to wait for a request")

    def prestop(self, *, settle: int, budget: int) -> tuple[int, int, str]:
        """Run the preStop hook as the kubelet would; returns exit code, virtual seconds and its log lines."""
        argv = self.localize(drain_module.prestop_command(self.settings))
        argv = [*argv[:3], str(settle), str(budget)]
        started = self.clock.now()
        hook = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"PATH": self.clock.path(), "RUDDER_DRAIN_LOG": str(self.log)},
        )
        self.hooks.append(hook)
        self.run_until(lambda: hook.poll() is not None, "the preStop hook to return", within=budget + 60)
        _, stderr = hook.communicate(timeout=HANG)
        log = self.log.read_text(encoding="utf-8") if self.log.exists() else ""
        return hook.returncode, self.clock.now() - started, log + stderr

    def request(self, request_id: str, deadline_in: int) -> None:
        """Write a drain request as the preStop hook does."""
        (self.handshake / "request").write_text(f"{request_id} {self.clock.now() + deadline_in}\n")

    def wait_result(self) -> str:
        """The agent's result line, once written."""
        path = self.handshake / "result"
        self.run_until(path.exists, "the drain agent's result")
        return path.read_text()

    def checks_run(self) -> int:
        """How often the fake check ran."""
        return int(self.count.read_text()) if self.count.exists() else 0

    def stop(self) -> str:
        """SIGTERM the agents (as the kubelet does once the server has exited); their output."""
        output = []
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            out, _ = process.communicate(timeout=HANG)
            output.append(out)
        return "".join(output)


@pytest.fixture
def pod(tmp_path: Path, settings: WorkloadSettings) -> Iterator[Pod]:
    """A pod's drain files; the agents and hooks it starts are stopped afterwards."""
    the_pod = Pod(tmp_path, settings)
    yield the_pod
    for process in [*the_pod.processes, *the_pod.hooks]:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=HANG)
    the_pod.clock.close()


def test_agent_reports_drained_after_two_pending_answers(pod: Pod) -> None:
    pod.start_agent(pod.fake_check(CHECK_DRAINED_AFTER_TWO_PENDING))
    pod.request("req-1", deadline_in=60)
    assert pod.wait_result() == "req-1 drained\n"
    assert pod.checks_run() == 3
    handled_at = pod.clock.now()
    pod.run_until(lambda: pod.clock.now() >= handled_at + 10, "ten more seconds")
    assert pod.checks_run() == 3, "a handled request is not checked again"
    assert json.loads((pod.handshake / "last-check.json").read_text())["status"] == "drained"
    # The clock stands still from here on: the agent's nap cannot end, so only SIGTERM itself can end it.
    output = pod.stop()
    assert pod.processes[0].returncode == 0 and "drain-agent: stopping" in output, "SIGTERM ends the agent at once"
    assert "req-1: not drained yet (check exit 75)" in output
    assert "req-1: drained" in output


def test_agent_never_reports_drained_when_it_cannot_tell(pod: Pod) -> None:
    pod.start_agent(pod.fake_check(CHECK_CANNOT_TELL))
    requested_at = pod.clock.now()
    pod.request("req-1", deadline_in=3)
    assert pod.wait_result() == "req-1 timeout\n"
    # kept checking, once a second from its next look at the request, until the deadline, not beyond
    assert pod.clock.now() - requested_at == 3
    assert pod.checks_run() == 3
    output = pod.stop()
    assert "drained" not in (pod.handshake / "result").read_text()
    assert "check exit 69" in output


def test_prestop_returns_once_drained(pod: Pod) -> None:
    pod.start_agent(pod.fake_check(CHECK_DRAINED_AFTER_TWO_PENDING))
    code, seconds, log = pod.prestop(settle=1, budget=30)
    assert code == 0, log
    # settle 1 s, then three checks one second apart; the agent and the hook each look once a second
    # (which of two scripts woken at the same second goes first is up to the machine: 3 to 5 s)
    assert 3 <= seconds <= 5, seconds
    assert pod.checks_run() == 3
    assert "drained after" in log


def test_prestop_waits_until_the_deadline_when_the_check_cannot_tell(pod: Pod) -> None:
    pod.start_agent(pod.fake_check(CHECK_CANNOT_TELL))
    code, seconds, log = pod.prestop(settle=1, budget=4)
    assert code == 1, "reported as a failed hook, never as drained"
    assert seconds == 4, seconds  # the whole budget, not a second more
    assert pod.checks_run() >= 3
    assert "pending events stay on the retained volume" in log


def test_prestop_is_bounded_without_an_agent(pod: Pod) -> None:
    code, seconds, log = pod.prestop(settle=1, budget=3)
    assert code == 1
    assert seconds == 3, seconds
    assert "budget of 3s used up" in log


def test_prestop_ignores_a_result_of_an_earlier_request(pod: Pod) -> None:
    """A liveness kill also runs the hook; its leftover 'drained' must not end a later drain early."""
    (pod.handshake / "result").write_text("1000-1 drained\n")
    pod.start_agent(pod.fake_check(CHECK_CANNOT_TELL))
    code, seconds, _ = pod.prestop(settle=0, budget=3)
    assert code == 1
    assert seconds == 3, seconds  # the whole budget: the leftover ended nothing early


def test_agent_with_the_real_check_and_no_database(pod: Pod) -> None:
    """rudder-drain-check from the ConfigMap, psql missing: exit 69, so the agent never says drained."""
    argv = pod.localize(drain_module.agent_command(pod.settings))
    check = [sys.executable if a == "python3" else a for a in argv[argv.index("--") + 1 :]]
    env = {e["name"]: e["value"] for e in jobsdb_module.jobsdb_env()}
    pod.start_agent(check, env={**env, "RUDDER_DRAIN_PSQL": str(pod.root / "no-psql")})
    pod.request("req-1", deadline_in=3)
    assert pod.wait_result() == "req-1 timeout\n"
    last = json.loads((pod.handshake / "last-check.json").read_text())
    assert last["status"] == "unknown"
    pod.stop()


def test_drain_against_a_socket_only_trust_jobsdb(
    pod: Pod,
    postgres_server: PostgresServer,  # noqa: F811
    jobsdb: ConnectionParams,  # noqa: F811
) -> None:
    """The real check through the agent, connecting as the pod does: unix socket, no password."""
    argv = pod.localize(drain_module.agent_command(pod.settings))
    check = [sys.executable if a == "python3" else a for a in argv[argv.index("--") + 1 :]]
    env = {e["name"]: e["value"] for e in jobsdb_module.jobsdb_env()}
    env.update(
        JOBS_DB_HOST=jobsdb.socket_dir,
        JOBS_DB_PORT=str(jobsdb.port),
        JOBS_DB_USER=jobsdb.user,
        JOBS_DB_DB_NAME=jobsdb.dbname,
    )
    assert "JOBS_DB_PASSWORD" not in env
    psql = psql_client(postgres_server.bindir)
    env["RUDDER_DRAIN_PSQL"] = psql
    last_check = pod.handshake / "last-check.json"
    with jobsdb.connect() as conn:
        gw = jdb.create_dataset(conn, "gw", 1)
        job = jdb.insert_job(conn, gw, age_seconds=30)
        pod.start_agent(check, env=env)
        pod.request("req-1", deadline_in=120)
        pod.run_until(lambda: last_check.exists() and "pending" in last_check.read_text(), "a pending answer")
        assert not (pod.handshake / "result").exists()
        jdb.add_status(conn, gw, job, "succeeded")
    assert pod.wait_result() == "req-1 drained\n"
    pod.stop()


def test_shipped_scripts_pass_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
    if not os.access(shellcheck, os.X_OK):
        pytest.skip("shellcheck is not installed")
    scripts = sorted((REPO / "rudder_ha" / "topologies" / "eks" / "k8s" / "scripts").glob("*.sh"))
    assert scripts
    result = subprocess.run(
        [shellcheck, "--shell=sh", *map(str, scripts)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout


def test_extra_env_reaches_the_backend_after_the_projects_own_variables() -> None:
    """``rudder.extra_env`` (RSERVER_* settings) is appended to rudder-server's environment, sorted."""
    settings = make_settings(extra_env={"RSERVER_ROUTER_RETRY_TIME_WINDOW": "1h", "RSERVER_LOG_LEVEL": "DEBUG"})
    env = one(render(settings), "StatefulSet")["spec"]["template"]["spec"]["containers"]
    (server,) = [c for c in env if c["name"] == "rudder-server"]
    names = [variable["name"] for variable in server["env"]]
    assert names[-2:] == ["RSERVER_LOG_LEVEL", "RSERVER_ROUTER_RETRY_TIME_WINDOW"]
    assert {"name": "RSERVER_LOG_LEVEL", "value": "DEBUG"} in server["env"]
    assert "CONFIG_BACKEND_URL" in names, "the project's own variables stay"


def test_extra_env_cannot_redefine_a_variable_the_project_sets() -> None:
    with pytest.raises(ValueError, match="CONFIG_BACKEND_URL is set by rudder-ha itself"):
        render(make_settings(extra_env={"CONFIG_BACKEND_URL": "https://elsewhere.example.com"}))


def test_an_eks_environment_file_with_extra_env_validates_and_its_pods_get_it(tmp_path: Path) -> None:
    """validate accepts ``rudder.extra_env`` for eks because the workload really uses it."""
    doc = yaml.safe_load((REPO / "environments" / "prod-eks.yaml").read_text(encoding="utf-8"))
    doc["rudder"]["extra_env"] = {"RSERVER_LOG_LEVEL": "WARN"}
    path = tmp_path / "prod-eks.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    config = load_environment(path)
    assert workload_settings(config).extra_env == {"RSERVER_LOG_LEVEL": "WARN"}
