"""Emulation of the Kubernetes API (as EKS serves it) that the EKS node drain depends on.

A real HTTP server: :class:`K8sApiEmulation` runs ``http.server.ThreadingHTTPServer`` on
``127.0.0.1`` (port 0) in a daemon thread, with TLS by default: a certificate authority named
``kubernetes`` (like the cluster CA EKS publishes as ``certificateAuthority.data``) is generated
per emulation with ``cryptography`` and signs a server certificate for ``127.0.0.1`` /
``localhost``, so the client's verification against the cluster CA is exercised for real.
Time comes from an injectable clock (``now()``), normally the AWS emulation's
:class:`tests.support.aws_emulation.clock.VirtualClock`; nothing in here sleeps or arms timers: every
time-dependent state (pod termination, readiness, token expiry) is derived from ``now`` when a
request (or a test helper) looks at it, which is equivalent to the controllers having run on
time.

What each part reproduces:

* **Authentication (EKS IAM authenticator + STS).** ``Authorization: Bearer k8s-aws-v1.<...>``:
  missing/other bearer -> 401; the body must be base64url *without* padding (Go's
  ``RawURLEncoding``) of an ``https`` URL on an STS host (``sts.amazonaws.com`` or
  ``sts.<region>.amazonaws.com``), path ``/``, only the whitelisted query parameters (Action,
  Version, X-Amz-*), each once, ``Action=GetCallerIdentity``, ``x-k8s-aws-id`` among
  ``X-Amz-SignedHeaders``, ``X-Amz-Expires`` in 0..900, ``X-Amz-Date`` present; the token
  expires 15 minutes after ``X-Amz-Date`` whatever ``X-Amz-Expires`` says
  (``token_lifetime_seconds``). Then what STS does: the SigV4 query signature is verified with
  the known test credentials (access key -> secret), with ``x-k8s-aws-id`` set to *this*
  cluster's name, so a token signed for another cluster is refused. Any failure: 401
  ``Unauthorized``. botocore signs with the wall clock; :func:`sign_in_virtual_time` makes it
  sign with the virtual clock so expiry can be tested in virtual time.
* **Nodes** (``/api/v1/nodes``): list (``labelSelector``: ``=``/``==``/``!=``/exists/``!``/``in``/
  ``notin``; ``fieldSelector`` ``metadata.name`` / ``spec.unschedulable``; ``limit`` +
  ``continue``), get (404 ``NotFound`` Status), patch with ``application/merge-patch+json`` or
  ``application/strategic-merge-patch+json`` (applied as a JSON merge patch, which is the same
  for the scalar fields involved; other content types -> 415). ``spec.unschedulable`` is
  omitted when false (``omitempty``); while it is true the node carries the
  ``node.kubernetes.io/unschedulable:NoSchedule`` taint, as the node lifecycle controller
  keeps it. Objects carry ``uid``, ``resourceVersion`` (one counter per emulation, bumped on
  every change) and the EKS shape: ``spec.providerID`` ``aws:///<zone>/<instance id>``, the
  usual EKS labels. A node can disappear (:meth:`remove_node`); its pods are then garbage
  collected like the pod GC controller does for pods bound to a missing node.
* **Pods**: list in all namespaces (``/api/v1/pods``) or one (``fieldSelector``
  ``spec.nodeName``, ``metadata.name``, ``metadata.namespace``, ``status.phase``; unsupported
  field -> 400 "field label not supported"), get. List items have no ``kind``/``apiVersion``
  (as the API server sends them). Owner references (``controller: true``), the mirror-pod
  annotation, phases and the ``Ready`` condition are as the kubelet/controllers write them.
* **Graceful deletion**: deleting a running pod sets ``metadata.deletionTimestamp`` to ``now +
  grace`` and ``deletionGracePeriodSeconds`` (``spec.terminationGracePeriodSeconds`` unless
  overridden); the pod stays listed (Terminating) until its containers stop, which takes
  ``terminate_seconds`` (the preStop hook and shutdown), at most the grace period (then the
  kubelet kills it), and then the object is removed. Unscheduled or finished pods are removed
  at once (the API server uses grace 0 for them).
* **ReplicaSet controller** (:meth:`add_replicaset`): as soon as one of its pods is terminating
  or removed it creates a replacement on a schedulable node (the least loaded one that is not
  cordoned), Ready ``ready_after`` seconds later; with no schedulable node it stays Pending.
* **PodDisruptionBudgets** (:meth:`add_pdb`, listed at ``/apis/policy/v1/.../poddisruptionbudgets``):
  status computed like the disruption controller: ``currentHealthy`` = matching pods that are
  Ready and not terminating; ``desiredHealthy`` from ``minAvailable`` (integer, or percentage of
  the expected count rounded up) or ``expected - maxUnavailable`` (rounded up); expected count =
  the scale of the matching pods' emulated ReplicaSets (pods without one count one each);
  ``disruptionsAllowed = max(0, currentHealthy - desiredHealthy)``.
* **Eviction subresource** (``POST /api/v1/namespaces/<ns>/pods/<name>/eviction``, ``policy/v1``
  or ``v1beta1``), as the API server's eviction handler: body must be an Eviction whose name
  matches the URL (400); unknown pod -> 404; ``deleteOptions.preconditions.uid`` mismatch ->
  409 ``Conflict``; pods that are Succeeded/Failed/Pending or already terminating are deleted
  without looking at budgets; more than one matching budget -> 500 "This pod has more than
  one PodDisruptionBudget, which the eviction subresource does not support."; an unready pod
  is deleted when the policy is ``AlwaysAllow`` or (default ``IfHealthyBudget``) the budget is
  currently met (``currentHealthy >= desiredHealthy > 0``); otherwise ``disruptionsAllowed ==
  0`` -> 429 ``TooManyRequests`` "Cannot evict pod as it would violate the pod's disruption
  budget." with a ``DisruptionBudget`` cause "The disruption budget <pdb> needs <d> healthy pods
  and has <c> currently"; else the pod is deleted gracefully (and, being terminating, no longer
  counts as healthy, which is what decrementing ``disruptionsAllowed`` and recording it in
  ``disruptedPods`` achieves). Success: 201 with a ``Status`` ``Success``. The pod gets the
  ``DisruptionTarget`` condition (reason ``EvictionByEvictionAPI``). ``dryRun`` is honoured.
* **Errors** are ``Status`` objects (``kind: Status``, ``status: Failure``, ``reason``,
  ``message``, ``details``, ``code``) like the API server's. Unknown paths -> 404, known paths
  with another verb -> 405.
* **Fault injection** (:meth:`fail_next`, :meth:`drop_next`): the next matching requests get an
  error status (e.g. 503 from an overloaded control plane) or a closed connection, before
  authentication, as a load balancer in front of the API server would.
* **Request log** (:attr:`K8sApiEmulation.requests`): every request with its virtual time,
  method, path, query, bearer token, JSON body and answered status (None: connection dropped).

Not reproduced: watches, resourceVersion preconditions other than the eviction UID,
``continue`` tokens expiring (410), API priority and fairness, admission webhooks, finalizers,
PDB ``observedGeneration`` lag, StatefulSet controllers (use :meth:`add_pod` with an owner
kind), scheduling constraints beyond "not cordoned".
"""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
import hashlib
import hmac
import itertools
import json
import math
import re
import socket
import ssl
import tempfile
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.support.tls import TlsMaterial
from tests.support.tls import make_tls_material as make_tls

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_ID_HEADER = "x-k8s-aws-id"
MAX_TOKEN_BYTES = 4096
TOKEN_LIFETIME_SECONDS = 900
TOKEN_PARAMETERS = frozenset(
    {
        "action",
        "version",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-signedheaders",
    }
)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
PATCH_TYPES = frozenset({"application/merge-patch+json", "application/strategic-merge-patch+json"})
#: Access key -> secret key STS would know: the tests' fake credentials and the ones moto's ``mock_aws`` sets.
DEFAULT_CREDENTIALS = {"testing": "testing", "FOOBARKEY": "FOOBARSECRET"}
_FAULT_REASONS = {
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "Timeout",
    429: "TooManyRequests",
}


class Clock(Protocol):
    """Anything with ``now()`` (epoch seconds)."""

    def now(self) -> float:
        """Current time."""
        ...


def _iso(epoch: float) -> str:
    """RFC 3339 timestamp (second precision, as Kubernetes writes them)."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_in_virtual_time(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    """Make botocore's SigV4 signer read ``clock`` instead of the wall clock (``X-Amz-Date``)."""
    import botocore.auth

    def current(remove_tzinfo: bool = True) -> datetime:
        value = datetime.fromtimestamp(clock.now(), tz=UTC)
        return value.replace(tzinfo=None) if remove_tzinfo else value

    monkeypatch.setattr(botocore.auth, "get_current_datetime", current)


# ---------------------------------------------------------------------------
# TLS material
# ---------------------------------------------------------------------------


def make_tls_material(directory: Path) -> TlsMaterial:
    """The cluster CA (CN ``kubernetes``) and the API server's certificate for 127.0.0.1/localhost."""
    return make_tls(directory, ca_common_name="kubernetes", server_name="kube-apiserver")


# ---------------------------------------------------------------------------
# Selectors
# ---------------------------------------------------------------------------


def _split_requirements(text: str) -> list[str]:
    """Split a selector on commas outside parentheses."""
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


_SET_REQUIREMENT = re.compile(r"^([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)$")
_EQUALITY = re.compile(r"^([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)$")
_EXISTS = re.compile(r"^(!?)([^\s!=(),]+)$")


def label_selector(text: str) -> Callable[[Mapping[str, str]], bool]:
    """A matcher for a label selector string (ValueError when malformed)."""
    checks: list[Callable[[Mapping[str, str]], bool]] = []
    for requirement in _split_requirements(text):
        if match := _SET_REQUIREMENT.match(requirement):
            key, op, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
            if op == "in":
                checks.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                checks.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif match := _EQUALITY.match(requirement):
            key, op, value = match.groups()
            if op == "!=":
                checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif match := _EXISTS.match(requirement):
            negate, key = match.group(1) == "!", match.group(2)
            checks.append(lambda labels, k=key, n=negate: (k in labels) != n)
        else:
            raise ValueError(f"unable to parse requirement: {requirement!r}")
    return lambda labels: all(check(labels) for check in checks)


def field_selector(text: str, fields: Mapping[str, Callable[[Mapping[str, Any]], str]]) -> Callable[[Any], bool]:
    """A matcher for a field selector (ValueError naming an unsupported field label)."""
    checks: list[Callable[[Mapping[str, Any]], bool]] = []
    for requirement in _split_requirements(text):
        match = re.match(r"^([^!=]+)(==|=|!=)(.*)$", requirement)
        if not match:
            raise ValueError(f"invalid field selector: {requirement!r}")
        name, op, value = match.group(1).strip(), match.group(2), match.group(3).strip()
        if name not in fields:
            raise ValueError(f'field label not supported: "{name}"')
        getter = fields[name]
        if op == "!=":
            checks.append(lambda obj, g=getter, v=value: g(obj) != v)
        else:
            checks.append(lambda obj, g=getter, v=value: g(obj) == v)
    return lambda obj: all(check(obj) for check in checks)


NODE_FIELDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "metadata.name": lambda o: str(o["metadata"]["name"]),
    "spec.unschedulable": lambda o: "true" if (o.get("spec") or {}).get("unschedulable") else "false",
}
POD_FIELDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "metadata.name": lambda o: str(o["metadata"]["name"]),
    "metadata.namespace": lambda o: str(o["metadata"]["namespace"]),
    "spec.nodeName": lambda o: str((o.get("spec") or {}).get("nodeName") or ""),
    "status.phase": lambda o: str((o.get("status") or {}).get("phase") or ""),
}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class K8sRequest:
    """One request the server received."""

    at: float
    method: str
    path: str
    query: dict[str, str]
    token: str | None
    body: Any
    status: int | None = None  # None: connection dropped


@dataclasses.dataclass
class HttpFault:
    """Answer the next ``remaining`` matching requests with ``status`` (None: drop the connection)."""

    status: int | None
    remaining: int
    method: str | None = None
    path_contains: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """Whether the fault applies to a request."""
        return (self.method is None or self.method == method) and (
            self.path_contains is None or self.path_contains in path
        )


@dataclasses.dataclass
class PodRecord:
    """A pod object plus what the kubelet and controllers would do with it."""

    obj: dict[str, Any]
    #: Seconds its containers take to stop after SIGTERM (preStop hook + shutdown).
    terminate_seconds: float
    #: When it becomes Ready (None: stays as it is).
    ready_at: float | None = None
    #: Emulated ReplicaSet owning it.
    replicaset: str | None = None
    stop_at: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(namespace, name)."""
        return self.obj["metadata"]["namespace"], self.obj["metadata"]["name"]

    @property
    def terminating(self) -> bool:
        """``metadata.deletionTimestamp`` is set."""
        return bool(self.obj["metadata"].get("deletionTimestamp"))

    @property
    def ready(self) -> bool:
        """The ``Ready`` condition is True."""
        for condition in self.obj["status"].get("conditions", []):
            if condition.get("type") == "Ready":
                return condition.get("status") == "True"
        return False


@dataclasses.dataclass
class ReplicaSetRecord:
    """An emulated ReplicaSet (what a Deployment runs)."""

    name: str
    namespace: str
    labels: dict[str, str]
    replicas: int
    uid: str
    grace_seconds: int
    terminate_seconds: float
    ready_after: float


@dataclasses.dataclass
class PdbRecord:
    """A PodDisruptionBudget (``policy/v1``)."""

    name: str
    namespace: str
    match_labels: dict[str, str]
    min_available: int | str | None = None
    max_unavailable: int | str | None = None
    unhealthy_pod_eviction_policy: str | None = None
    uid: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))


def _scaled(value: int | str, total: int) -> int:
    """An IntOrString against ``total`` (percentages rounded up)."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(total * int(value[:-1]) / 100)
    return int(value)


# ---------------------------------------------------------------------------
# The emulation
# ---------------------------------------------------------------------------


class K8sApiEmulation:
    """The Kubernetes API of one EKS cluster (see the module docstring)."""

    def __init__(
        self,
        *,
        clock: Clock,
        cluster_name: str = "rudder-ha-test",
        region: str = "us-east-1",
        tls: bool = True,
        credentials: Mapping[str, str] | None = None,
        token_lifetime_seconds: float = TOKEN_LIFETIME_SECONDS,
        verify_signatures: bool = True,
    ) -> None:
        """Configure; :meth:`start` serves."""
        self.clock = clock
        self.cluster_name = cluster_name
        self.region = region
        self.tls = tls
        self.credentials = dict(DEFAULT_CREDENTIALS if credentials is None else credentials)
        self.token_lifetime_seconds = float(token_lifetime_seconds)
        self.verify_signatures = verify_signatures
        self.requests: list[K8sRequest] = []
        self.nodes: dict[str, dict[str, Any]] = {}
        self.pods: dict[tuple[str, str], PodRecord] = {}
        self.replicasets: dict[tuple[str, str], ReplicaSetRecord] = {}
        self.pdbs: dict[tuple[str, str], PdbRecord] = {}
        #: (namespace, name, uid) -> time the pod object was removed.
        self.removed: dict[tuple[str, str, str], float] = {}
        self.faults: list[HttpFault] = []
        self._rv = itertools.count(1000)
        self._resource_version = "1000"
        self._names = itertools.count(1)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.ca_pem: str | None = None
        self.endpoint = ""

    # -- server ------------------------------------------------------------------------

    def start(self) -> K8sApiEmulation:
        """Serve on 127.0.0.1 (a free port) in a daemon thread."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.emulation = self  # type: ignore[attr-defined]
        scheme = "http"
        if self.tls:
            self._tmp = tempfile.TemporaryDirectory(prefix="k8s-api-emulation-")
            material = make_tls_material(Path(self._tmp.name))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(material.cert_file, material.key_file)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            self.ca_pem = material.ca_pem
            scheme = "https"
        self._server = server
        self.endpoint = f"{scheme}://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="k8s-api-emulation", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and remove the TLS files."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> K8sApiEmulation:
        """Start."""
        return self.start()

    def __exit__(self, *_: object) -> None:
        """Stop."""
        self.stop()

    @property
    def ca_data(self) -> str:
        """The CA as EKS publishes it (``certificateAuthority.data``: base64 of the PEM)."""
        if self.ca_pem is None:
            raise RuntimeError("no TLS")
        return base64.b64encode(self.ca_pem.encode("ascii")).decode("ascii")

    # -- test-facing: cluster contents ---------------------------------------------------

    def add_node(
        self,
        name: str,
        instance_id: str,
        *,
        zone: str = "us-east-1a",
        labels: Mapping[str, str] | None = None,
        unschedulable: bool = False,
        nodegroup: str = "rudder",
    ) -> dict[str, Any]:
        """A Ready EKS node backed by ``instance_id``."""
        with self._lock:
            node: dict[str, Any] = {
                "metadata": {
                    "name": name,
                    "uid": str(uuid.uuid4()),
                    "resourceVersion": self._bump(),
                    "creationTimestamp": _iso(self.clock.now()),
                    "labels": {
                        "kubernetes.io/hostname": name,
                        "kubernetes.io/os": "linux",
                        "topology.kubernetes.io/zone": zone,
                        "topology.kubernetes.io/region": self.region,
                        "node.kubernetes.io/instance-type": "m6i.large",
                        "eks.amazonaws.com/nodegroup": nodegroup,
                        "eks.amazonaws.com/capacityType": "ON_DEMAND",
                        **dict(labels or {}),
                    },
                },
                "spec": {"providerID": f"aws:///{zone}/{instance_id}"},
                "status": {
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                    "addresses": [{"type": "Hostname", "address": name}],
                    "nodeInfo": {
                        "kubeletVersion": "v1.31.4-eks-aeac579",
                        "containerRuntimeVersion": "containerd://1.7",
                    },
                },
            }
            if unschedulable:
                node["spec"]["unschedulable"] = True
            self._sync_taints(node)
            self.nodes[name] = node
            return copy.deepcopy(node)

    def remove_node(self, name: str, *, delete_pods: bool = True) -> None:
        """The node object disappears (instance gone, or ``kubectl delete node``); pod GC follows."""
        with self._lock:
            self.nodes.pop(name, None)
            if delete_pods:
                now = self.clock.now()
                for record in list(self.pods.values()):
                    if record.obj["spec"].get("nodeName") == name:
                        self._remove(record, now)
                self._run_replicasets(now)

    def add_pod(
        self,
        name: str,
        *,
        node: str | None,
        namespace: str = "default",
        labels: Mapping[str, str] | None = None,
        owner_kind: str | None = "ReplicaSet",
        owner_name: str | None = None,
        mirror: bool = False,
        phase: str = "Running",
        ready: bool = True,
        grace_seconds: int = 30,
        terminate_seconds: float = 2.0,
        ready_at: float | None = None,
        replicaset: str | None = None,
    ) -> dict[str, Any]:
        """A pod bound to ``node`` (None: unscheduled, Pending)."""
        with self._lock:
            now = self.clock.now()
            meta: dict[str, Any] = {
                "name": name,
                "namespace": namespace,
                "uid": str(uuid.uuid4()),
                "resourceVersion": self._bump(),
                "creationTimestamp": _iso(now),
                "labels": dict(labels or {}),
            }
            if owner_kind:
                api_version = "v1" if owner_kind == "Node" else "apps/v1"
                meta["ownerReferences"] = [
                    {
                        "apiVersion": api_version,
                        "kind": owner_kind,
                        "name": owner_name or name.rsplit("-", 1)[0],
                        "uid": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{owner_kind}/{owner_name or name}")),
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ]
            if mirror:
                meta["annotations"] = {MIRROR_ANNOTATION: hashlib.md5(name.encode()).hexdigest()}
            spec: dict[str, Any] = {
                "containers": [{"name": "main", "image": "public.ecr.aws/example/app:1"}],
                "terminationGracePeriodSeconds": grace_seconds,
                "restartPolicy": "Always",
            }
            if node:
                spec["nodeName"] = node
            else:
                phase = "Pending"
                ready = False
            status: dict[str, Any] = {
                "phase": phase,
                "conditions": [
                    {"type": "PodScheduled", "status": "True" if node else "False"},
                    {"type": "Ready", "status": "True" if ready and phase == "Running" else "False"},
                ],
            }
            obj = {"metadata": meta, "spec": spec, "status": status}
            record = PodRecord(obj=obj, terminate_seconds=terminate_seconds, ready_at=ready_at, replicaset=replicaset)
            self.pods[record.key] = record
            return copy.deepcopy(obj)

    def add_replicaset(
        self,
        name: str,
        *,
        replicas: int,
        nodes: list[str],
        namespace: str = "default",
        labels: Mapping[str, str] | None = None,
        grace_seconds: int = 30,
        terminate_seconds: float = 2.0,
        ready_after: float = 30.0,
    ) -> list[dict[str, Any]]:
        """A ReplicaSet with ``replicas`` Ready pods spread over ``nodes`` (in order)."""
        with self._lock:
            record = ReplicaSetRecord(
                name=name,
                namespace=namespace,
                labels=dict(labels or {"app": name}),
                replicas=replicas,
                uid=str(uuid.uuid4()),
                grace_seconds=grace_seconds,
                terminate_seconds=terminate_seconds,
                ready_after=ready_after,
            )
            self.replicasets[(namespace, name)] = record
            return [self._replica(record, nodes[index % len(nodes)], ready_at=None) for index in range(replicas)]

    def add_pdb(
        self,
        name: str,
        *,
        match_labels: Mapping[str, str],
        namespace: str = "default",
        min_available: int | str | None = None,
        max_unavailable: int | str | None = None,
        unhealthy_pod_eviction_policy: str | None = None,
    ) -> PdbRecord:
        """A PodDisruptionBudget (exactly one of ``min_available`` / ``max_unavailable``)."""
        if (min_available is None) == (max_unavailable is None):
            raise ValueError("set exactly one of min_available / max_unavailable")
        with self._lock:
            record = PdbRecord(
                name=name,
                namespace=namespace,
                match_labels=dict(match_labels),
                min_available=min_available,
                max_unavailable=max_unavailable,
                unhealthy_pod_eviction_policy=unhealthy_pod_eviction_policy,
            )
            self.pdbs[(namespace, name)] = record
            return record

    def set_ready(self, namespace: str, name: str, ready: bool) -> None:
        """Flip a pod's Ready condition (readiness probe result)."""
        with self._lock:
            record = self.pods[(namespace, name)]
            record.ready_at = None
            self._set_ready(record, ready)

    def fail_next(
        self, count: int = 1, *, status: int = 503, method: str | None = None, path_contains: str | None = None
    ) -> None:
        """The next ``count`` matching requests are answered with ``status``."""
        with self._lock:
            self.faults.append(HttpFault(status, count, method, path_contains))

    def drop_next(self, count: int = 1, *, method: str | None = None, path_contains: str | None = None) -> None:
        """The next ``count`` matching requests get their connection closed without an answer."""
        with self._lock:
            self.faults.append(HttpFault(None, count, method, path_contains))

    # -- test-facing: inspection -------------------------------------------------------------

    def node(self, name: str) -> dict[str, Any] | None:
        """A node as the API would return it (None if absent)."""
        with self._lock:
            node = self.nodes.get(name)
            return copy.deepcopy(node) if node else None

    def pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A pod as of now (None if absent)."""
        with self._lock:
            self._reconcile(self.clock.now())
            record = self.pods.get((namespace, name))
            return copy.deepcopy(record.obj) if record else None

    def pods_on(self, node_name: str) -> list[dict[str, Any]]:
        """Pods bound to a node, as of now."""
        with self._lock:
            self._reconcile(self.clock.now())
            return [
                copy.deepcopy(record.obj)
                for record in self.pods.values()
                if record.obj["spec"].get("nodeName") == node_name
            ]

    def removed_at(self, namespace: str, name: str) -> float | None:
        """When the last pod of that name was removed (None if never)."""
        with self._lock:
            self._reconcile(self.clock.now())
            times = [at for (ns, pod_name, _uid), at in self.removed.items() if (ns, pod_name) == (namespace, name)]
            return max(times) if times else None

    def pdb_status(self, namespace: str, name: str) -> dict[str, Any]:
        """The budget's status as the disruption controller would compute it now."""
        with self._lock:
            self._reconcile(self.clock.now())
            return self._pdb_status(self.pdbs[(namespace, name)])

    def requests_to(self, method: str | None = None, path_contains: str = "") -> list[K8sRequest]:
        """Logged requests (optionally one verb, a path fragment)."""
        with self._lock:
            return [r for r in self.requests if (method is None or r.method == method) and path_contains in r.path]

    # -- request handling ------------------------------------------------------------------------

    def dispatch(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes] | None:
        """Answer one request (None: drop the connection)."""
        with self._lock:
            now = self.clock.now()
            parts = urllib.parse.urlsplit(raw_path)
            path = parts.path
            query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
            auth = headers.get("authorization")
            token = auth[7:].strip() if auth and auth.startswith("Bearer ") else None
            parsed_body: Any = None
            if body:
                try:
                    parsed_body = json.loads(body)
                except ValueError:
                    parsed_body = body.decode("utf-8", "replace")
            entry = K8sRequest(now, method, path, query, token, parsed_body)
            self.requests.append(entry)
            for fault in self.faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    entry.status = fault.status
                    if fault.status is None:
                        return None
                    reason = _FAULT_REASONS.get(fault.status, "InternalError")
                    return self._status(fault.status, reason, "the server is currently unable to handle the request")
            self._reconcile(now)
            problem = self._authenticate(auth, now)
            if problem is not None:
                entry.status = 401
                return self._status(401, "Unauthorized", "Unauthorized", note=problem)
            try:
                answer = self._route(method, path, query, headers, body, parsed_body, now)
            except _ApiError as exc:
                answer = self._status(
                    exc.code, exc.reason, exc.message, details=exc.details, retry_after=exc.retry_after
                )
            entry.status = answer[0]
            return answer

    def _route(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        raw: bytes,
        body: Any,
        now: float,
    ) -> tuple[int, dict[str, str], bytes]:
        """Dispatch on path and verb."""
        segments = [urllib.parse.unquote(s) for s in path.strip("/").split("/")]
        match segments:
            case ["api", "v1", "nodes"]:
                self._verb(method, "GET")
                return self._json(200, self._list_nodes(query))
            case ["api", "v1", "nodes", name]:
                self._verb(method, "GET", "PATCH")
                if method == "GET":
                    return self._json(200, {"kind": "Node", "apiVersion": "v1", **self._node(name)})
                return self._json(200, {"kind": "Node", "apiVersion": "v1", **self._patch_node(name, headers, raw)})
            case ["api", "v1", "pods"]:
                self._verb(method, "GET")
                return self._json(200, self._list_pods(None, query))
            case ["api", "v1", "namespaces", namespace, "pods"]:
                self._verb(method, "GET")
                return self._json(200, self._list_pods(namespace, query))
            case ["api", "v1", "namespaces", namespace, "pods", name]:
                self._verb(method, "GET")
                return self._json(
                    200, {"kind": "Pod", "apiVersion": "v1", **copy.deepcopy(self._pod(namespace, name).obj)}
                )
            case ["api", "v1", "namespaces", namespace, "pods", name, "eviction"]:
                self._verb(method, "POST")
                return self._json(201, self._evict(namespace, name, body, now))
            case ["apis", "policy", "v1", "namespaces", namespace, "poddisruptionbudgets"]:
                self._verb(method, "GET")
                items = [self._pdb_object(p) for (ns, _), p in sorted(self.pdbs.items()) if ns == namespace]
                return self._json(
                    200,
                    {
                        "kind": "PodDisruptionBudgetList",
                        "apiVersion": "policy/v1",
                        "metadata": {"resourceVersion": self._resource_version},
                        "items": items,
                    },
                )
        raise _ApiError(404, "NotFound", "the server could not find the requested resource")

    # -- nodes -------------------------------------------------------------------------------

    def _node(self, name: str) -> dict[str, Any]:
        """A node or 404."""
        node = self.nodes.get(name)
        if node is None:
            raise _ApiError(404, "NotFound", f'nodes "{name}" not found', {"name": name, "kind": "nodes"})
        return copy.deepcopy(node)

    def _list_nodes(self, query: Mapping[str, str]) -> dict[str, Any]:
        """NodeList."""
        items = list(self.nodes.values())
        items = self._select(items, query, NODE_FIELDS)
        return self._page("NodeList", sorted(items, key=lambda o: o["metadata"]["name"]), query)

    def _patch_node(self, name: str, headers: Mapping[str, str], raw: bytes) -> dict[str, Any]:
        """Merge-patch a node."""
        node = self.nodes.get(name)
        if node is None:
            raise _ApiError(404, "NotFound", f'nodes "{name}" not found', {"name": name, "kind": "nodes"})
        content_type = (headers.get("content-type") or "").split(";")[0].strip()
        if content_type not in PATCH_TYPES:
            raise _ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types include: "
                f"application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml "
                f"(got {content_type!r})",
            )
        try:
            patch = json.loads(raw)
        except ValueError as exc:
            raise _ApiError(400, "BadRequest", f"error decoding patch: {exc}") from None
        if not isinstance(patch, dict):
            raise _ApiError(400, "BadRequest", "patch must be a JSON object")
        patched = merge_patch(node, patch)
        if (patched.get("metadata") or {}).get("name") != name:
            raise _ApiError(422, "Invalid", "metadata.name: field is immutable")
        if not (patched.get("spec") or {}).get("unschedulable"):
            patched.setdefault("spec", {}).pop("unschedulable", None)
        self._sync_taints(patched)
        patched["metadata"]["resourceVersion"] = self._bump()
        self.nodes[name] = patched
        return copy.deepcopy(patched)

    def _sync_taints(self, node: dict[str, Any]) -> None:
        """The node lifecycle controller's unschedulable taint."""
        spec = node.setdefault("spec", {})
        taints = [t for t in spec.get("taints", []) if t.get("key") != UNSCHEDULABLE_TAINT]
        if spec.get("unschedulable"):
            taints.append({"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule", "timeAdded": _iso(self.clock.now())})
        if taints:
            spec["taints"] = taints
        else:
            spec.pop("taints", None)

    # -- pods ----------------------------------------------------------------------------------

    def _pod(self, namespace: str, name: str) -> PodRecord:
        """A pod or 404."""
        record = self.pods.get((namespace, name))
        if record is None:
            raise _ApiError(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
        return record

    def _list_pods(self, namespace: str | None, query: Mapping[str, str]) -> dict[str, Any]:
        """PodList."""
        items = [r.obj for r in self.pods.values() if namespace is None or r.obj["metadata"]["namespace"] == namespace]
        items = self._select(items, query, POD_FIELDS)
        ordered = sorted(items, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))
        return self._page("PodList", ordered, query)

    def _evict(self, namespace: str, name: str, body: Any, now: float) -> dict[str, Any]:
        """The eviction handler (see the module docstring)."""
        if not isinstance(body, dict):
            raise _ApiError(400, "BadRequest", "the request body must be an Eviction object")
        if body.get("kind") not in (None, "Eviction") or body.get("apiVersion") not in (
            None,
            "policy/v1",
            "policy/v1beta1",
        ):
            raise _ApiError(400, "BadRequest", f"not a Eviction object: {body.get('apiVersion')}/{body.get('kind')}")
        if (body.get("metadata") or {}).get("name") != name:
            raise _ApiError(400, "BadRequest", "name in URL does not match name in Eviction object")
        record = self._pod(namespace, name)
        options = body.get("deleteOptions") or {}
        wanted_uid = (options.get("preconditions") or {}).get("uid")
        actual_uid = record.obj["metadata"]["uid"]
        if wanted_uid and wanted_uid != actual_uid:
            raise _ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on Pod "{name}": the UID in the precondition ({wanted_uid}) '
                f"does not match the UID in record ({actual_uid}). "
                "The object might have been deleted and then recreated",
                {"name": name, "kind": "Pod"},
            )
        dry_run = bool(options.get("dryRun"))
        grace = options.get("gracePeriodSeconds")
        phase = record.obj["status"].get("phase")
        if phase in ("Succeeded", "Failed", "Pending") or record.terminating:
            if not dry_run:
                self._delete(record, now, grace)
            return self._success()
        matching = [p for p in self.pdbs.values() if p.namespace == namespace and self._selects(p, record)]
        if len(matching) > 1:
            raise _ApiError(
                500,
                "",
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            )
        if matching:
            pdb = matching[0]
            status = self._pdb_status(pdb)
            healthy_enough = status["currentHealthy"] >= status["desiredHealthy"] > 0
            unready_may_go = not record.ready and (pdb.unhealthy_pod_eviction_policy == "AlwaysAllow" or healthy_enough)
            if not unready_may_go and status["disruptionsAllowed"] <= 0:
                raise _ApiError(
                    429,
                    "TooManyRequests",
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                    {
                        "causes": [
                            {
                                "reason": "DisruptionBudget",
                                "message": f"The disruption budget {pdb.name} needs {status['desiredHealthy']} "
                                f"healthy pods and has {status['currentHealthy']} currently",
                            }
                        ]
                    },
                )
        if not dry_run:
            self._delete(record, now, grace, evicted=True)
        return self._success()

    def _delete(self, record: PodRecord, now: float, grace: Any = None, *, evicted: bool = False) -> None:
        """Graceful deletion."""
        meta, spec, status = record.obj["metadata"], record.obj["spec"], record.obj["status"]
        period = (
            int(grace) if isinstance(grace, int) and grace >= 0 else int(spec.get("terminationGracePeriodSeconds", 30))
        )
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            self._remove(record, now)
            self._run_replicasets(now)
            return
        if record.terminating:
            remaining = float(record.stop_at or now) - now
            if period < remaining:  # a shorter grace period shortens the wait
                record.stop_at = now + period
                meta["deletionTimestamp"] = _iso(now + period)
                meta["deletionGracePeriodSeconds"] = period
                meta["resourceVersion"] = self._bump()
            return
        meta["deletionTimestamp"] = _iso(now + period)
        meta["deletionGracePeriodSeconds"] = period
        record.stop_at = now + min(float(record.terminate_seconds), float(period))
        if evicted:
            status.setdefault("conditions", []).append(
                {
                    "type": "DisruptionTarget",
                    "status": "True",
                    "reason": "EvictionByEvictionAPI",
                    "message": "Eviction API: evicting",
                    "lastTransitionTime": _iso(now),
                }
            )
        meta["resourceVersion"] = self._bump()
        self._run_replicasets(now)

    def _remove(self, record: PodRecord, at: float) -> None:
        """The pod object goes away."""
        namespace, name = record.key
        if self.pods.get((namespace, name)) is record:
            del self.pods[(namespace, name)]
            self.removed[(namespace, name, record.obj["metadata"]["uid"])] = at
            self._bump()

    def _set_ready(self, record: PodRecord, ready: bool) -> None:
        """Set the Ready condition."""
        for condition in record.obj["status"].setdefault("conditions", []):
            if condition.get("type") == "Ready":
                condition["status"] = "True" if ready else "False"
                break
        else:
            record.obj["status"]["conditions"].append({"type": "Ready", "status": "True" if ready else "False"})
        record.obj["metadata"]["resourceVersion"] = self._bump()

    def _reconcile(self, now: float) -> None:
        """Kubelets and controllers catch up with ``now``."""
        for record in list(self.pods.values()):
            if record.stop_at is not None and now >= record.stop_at:
                self._remove(record, record.stop_at)
            elif record.ready_at is not None and now >= record.ready_at and not record.terminating:
                record.ready_at = None
                record.obj["status"]["phase"] = "Running"
                self._set_ready(record, True)
        self._run_replicasets(now)

    # -- controllers -------------------------------------------------------------------------------

    def _replica(self, rs: ReplicaSetRecord, node: str | None, *, ready_at: float | None) -> dict[str, Any]:
        """Create one pod of a ReplicaSet."""
        pod = self.add_pod(
            f"{rs.name}-{next(self._names):05x}",
            node=node,
            namespace=rs.namespace,
            labels=rs.labels,
            owner_kind="ReplicaSet",
            owner_name=rs.name,
            ready=ready_at is None,
            grace_seconds=rs.grace_seconds,
            terminate_seconds=rs.terminate_seconds,
            ready_at=ready_at,
            replicaset=rs.name,
        )
        return pod

    def _run_replicasets(self, now: float) -> None:
        """Replace terminating/removed pods (terminating pods do not count as active)."""
        for rs in self.replicasets.values():
            active = [
                r
                for r in self.pods.values()
                if r.replicaset == rs.name and r.obj["metadata"]["namespace"] == rs.namespace and not r.terminating
            ]
            for _ in range(rs.replicas - len(active)):
                self._replica(rs, self._schedulable_node(), ready_at=now + rs.ready_after)

    def _schedulable_node(self) -> str | None:
        """The least loaded node that is not cordoned (None: the pod stays Pending)."""
        load: dict[str, int] = {
            name: 0 for name, node in self.nodes.items() if not (node.get("spec") or {}).get("unschedulable")
        }
        for record in self.pods.values():
            node_name = record.obj["spec"].get("nodeName")
            if node_name in load:
                load[node_name] += 1
        return min(sorted(load), key=lambda name: load[name]) if load else None

    # -- budgets -------------------------------------------------------------------------------------

    @staticmethod
    def _selects(pdb: PdbRecord, record: PodRecord) -> bool:
        """Whether the budget's selector matches the pod."""
        labels = record.obj["metadata"].get("labels") or {}
        return all(labels.get(key) == value for key, value in pdb.match_labels.items())

    def _pdb_status(self, pdb: PdbRecord) -> dict[str, Any]:
        """Status as the disruption controller computes it."""
        pods = [
            r for r in self.pods.values() if r.obj["metadata"]["namespace"] == pdb.namespace and self._selects(pdb, r)
        ]
        healthy = sum(1 for r in pods if not r.terminating and r.ready and r.obj["status"].get("phase") == "Running")
        owners: set[str] = set()
        expected = 0
        for record in pods:
            if record.replicaset:
                if record.replicaset not in owners:
                    owners.add(record.replicaset)
                    expected += self.replicasets[(pdb.namespace, record.replicaset)].replicas
            elif not record.terminating:
                expected += 1
        if pdb.min_available is not None:
            desired = _scaled(pdb.min_available, expected)
        else:
            assert pdb.max_unavailable is not None
            desired = max(0, expected - _scaled(pdb.max_unavailable, expected))
        return {
            "observedGeneration": 1,
            "currentHealthy": healthy,
            "desiredHealthy": desired,
            "expectedPods": expected,
            "disruptionsAllowed": max(0, healthy - desired),
        }

    def _pdb_object(self, pdb: PdbRecord) -> dict[str, Any]:
        """The PodDisruptionBudget object."""
        spec: dict[str, Any] = {"selector": {"matchLabels": pdb.match_labels}}
        if pdb.min_available is not None:
            spec["minAvailable"] = pdb.min_available
        if pdb.max_unavailable is not None:
            spec["maxUnavailable"] = pdb.max_unavailable
        if pdb.unhealthy_pod_eviction_policy:
            spec["unhealthyPodEvictionPolicy"] = pdb.unhealthy_pod_eviction_policy
        return {
            "metadata": {"name": pdb.name, "namespace": pdb.namespace, "uid": pdb.uid, "generation": 1},
            "spec": spec,
            "status": self._pdb_status(pdb),
        }

    # -- authentication --------------------------------------------------------------------------------

    def _authenticate(self, header: str | None, now: float) -> str | None:
        """None when the bearer token is valid for this cluster, else why not."""
        if not header or not header.startswith("Bearer "):
            return "no bearer token"
        token = header[len("Bearer ") :].strip()
        if len(token) > MAX_TOKEN_BYTES:
            return "token is too large"
        if not token.startswith(TOKEN_PREFIX):
            return f"token is missing expected {TOKEN_PREFIX!r} prefix"
        body = token[len(TOKEN_PREFIX) :]
        if not re.fullmatch(r"[A-Za-z0-9_-]*", body):
            return "token is not base64url without padding"
        try:
            url = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return "token does not decode"
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "https":
            return "unexpected scheme"
        host = parts.netloc.lower()
        if host not in ("sts.amazonaws.com", f"sts.{self.region}.amazonaws.com"):
            return f"unexpected hostname {host!r}"
        if parts.path != "/":
            return "unexpected path"
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        lowered: dict[str, str] = {}
        for key, value in pairs:
            if key.lower() not in TOKEN_PARAMETERS:
                return f"non-whitelisted query parameter {key!r}"
            if key.lower() in lowered:
                return "query parameter with multiple values"
            lowered[key.lower()] = value
        if lowered.get("action") != "GetCallerIdentity":
            return "unexpected action"
        signed = [h.lower() for h in lowered.get("x-amz-signedheaders", "").split(";")]
        if CLUSTER_ID_HEADER not in signed:
            return f"client did not sign the {CLUSTER_ID_HEADER} header"
        try:
            expires = int(lowered.get("x-amz-expires", ""))
        except ValueError:
            return "invalid X-Amz-Expires"
        if not 0 <= expires <= 900:
            return "invalid X-Amz-Expires"
        try:
            signed_at = (
                datetime.strptime(lowered.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
            )
        except ValueError:
            return "X-Amz-Date missing or malformed"
        if now > signed_at + self.token_lifetime_seconds:
            return "X-Amz-Date parameter is expired"
        if signed_at > now + TOKEN_LIFETIME_SECONDS:
            return "X-Amz-Date in the future (STS: signature not yet current)"
        if self.verify_signatures:
            return self._verify_signature(parts, signed, lowered)
        return None

    def _verify_signature(
        self, parts: urllib.parse.SplitResult, signed: list[str], params: Mapping[str, str]
    ) -> str | None:
        """What STS checks: the SigV4 query signature, with ``x-k8s-aws-id`` = this cluster."""
        scope = params.get("x-amz-credential", "").split("/")
        if len(scope) != 5 or scope[3] != "sts" or scope[4] != "aws4_request":
            return "malformed credential scope"
        access_key, datestamp, region = scope[0], scope[1], scope[2]
        secret = self.credentials.get(access_key)
        if secret is None:
            return "InvalidClientTokenId: the security token included in the request is invalid"
        header_values = {"host": parts.netloc.lower(), CLUSTER_ID_HEADER: self.cluster_name}
        if any(name not in header_values for name in signed):
            return "signed an unexpected header"
        encoded = []
        for pair in parts.query.split("&"):
            key, _, value = pair.partition("=")
            key, value = urllib.parse.unquote(key), urllib.parse.unquote(value)
            if key == "X-Amz-Signature":
                continue
            encoded.append((urllib.parse.quote(key, safe="-_.~"), urllib.parse.quote(value, safe="-_.~")))
        canonical_query = "&".join(f"{k}={v}" for k, v in sorted(encoded))
        names = sorted(signed)
        canonical_headers = "".join(f"{name}:{header_values[name]}\n" for name in names)
        canonical_request = "\n".join(["GET", "/", canonical_query, canonical_headers, ";".join(names), EMPTY_SHA256])
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256",
                params.get("x-amz-date", ""),
                "/".join(scope[1:]),
                hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
            ]
        )
        key_bytes = ("AWS4" + secret).encode("utf-8")
        for part in (datestamp, region, "sts", "aws4_request"):
            key_bytes = hmac.new(key_bytes, part.encode("utf-8"), hashlib.sha256).digest()
        expected = hmac.new(key_bytes, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, params.get("x-amz-signature", "")):
            return "SignatureDoesNotMatch"
        return None

    # -- helpers ---------------------------------------------------------------------------------------

    def _bump(self) -> str:
        """Next resourceVersion."""
        self._resource_version = str(next(self._rv))
        return self._resource_version

    @staticmethod
    def _verb(method: str, *allowed: str) -> None:
        """405 for other verbs."""
        if method not in allowed:
            raise _ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _select(
        self,
        items: list[dict[str, Any]],
        query: Mapping[str, str],
        fields: Mapping[str, Callable[[Mapping[str, Any]], str]],
    ) -> list[dict[str, Any]]:
        """Apply labelSelector and fieldSelector."""
        try:
            if query.get("labelSelector"):
                matcher = label_selector(query["labelSelector"])
                items = [o for o in items if matcher(o["metadata"].get("labels") or {})]
            if query.get("fieldSelector"):
                field_matcher = field_selector(query["fieldSelector"], fields)
                items = [o for o in items if field_matcher(o)]
        except ValueError as exc:
            raise _ApiError(400, "BadRequest", str(exc)) from None
        return items

    def _page(self, kind: str, items: list[dict[str, Any]], query: Mapping[str, str]) -> dict[str, Any]:
        """One page of a list (``limit`` / ``continue``)."""
        start = 0
        if query.get("continue"):
            try:
                start = int(json.loads(base64.urlsafe_b64decode(query["continue"]))["start"])
            except (ValueError, KeyError, TypeError):
                raise _ApiError(400, "BadRequest", "continue key is not valid") from None
        limit = int(query.get("limit") or 0)
        end = start + limit if limit > 0 else len(items)
        page = items[start:end]
        meta: dict[str, Any] = {"resourceVersion": self._resource_version}
        if end < len(items):
            token = json.dumps({"rv": self._resource_version, "start": end}).encode()
            meta["continue"] = base64.urlsafe_b64encode(token).decode()
            meta["remainingItemCount"] = len(items) - end
        return {"kind": kind, "apiVersion": "v1", "metadata": meta, "items": [copy.deepcopy(o) for o in page]}

    @staticmethod
    def _success() -> dict[str, Any]:
        """The eviction's success Status."""
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    @staticmethod
    def _json(code: int, payload: Any) -> tuple[int, dict[str, str], bytes]:
        """A JSON answer."""
        return code, {}, json.dumps(payload).encode("utf-8")

    @staticmethod
    def _status(
        code: int,
        reason: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        retry_after: int | None = None,
        note: str | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """A failure Status object."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        }
        if details:
            body["details"] = dict(details)
        headers = {"Retry-After": str(retry_after)} if retry_after else {}
        if note:
            headers["X-Emulation-Note"] = note[:200]
        return code, headers, json.dumps(body).encode("utf-8")


class _ApiError(Exception):
    """An error answer."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.retry_after = retry_after


class _Handler(BaseHTTPRequestHandler):
    """HTTP plumbing: hands every request to :meth:`K8sApiEmulation.dispatch`."""

    protocol_version = "HTTP/1.1"
    server_version = "k8s-api-emulation"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        emulation: K8sApiEmulation = self.server.emulation  # type: ignore[attr-defined]
        answer = emulation.dispatch(self.command, self.path, headers, body)
        if answer is None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        code, extra, payload = answer
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def k8s_api() -> Iterator[K8sApiEmulation]:
    """A started emulation on its own virtual clock (tests sharing the AWS emulation build their own)."""
    from tests.support.aws_emulation.clock import VirtualClock

    with K8sApiEmulation(clock=VirtualClock()) as api:
        yield api
