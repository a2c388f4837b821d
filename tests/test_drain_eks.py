"""The EKS node drain strategy (cordon + evict + wait) against a real local Kubernetes API server
emulation (TLS, bearer-token checks, PodDisruptionBudgets, graceful termination on virtual time),
and one end-to-end drain through the Lambda handler, the engine and the AWS emulation."""

from __future__ import annotations

import base64
import importlib
import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support import aws_emulation as ae
from tests.support.k8s_api_emulation import K8sApiEmulation, make_tls_material, sign_in_virtual_time
from tests.support.lambda_loader import load_drain_lambda

load_drain_lambda()  # puts lambdas/drain on sys.path (the Lambda's zip root)

from lifecycle_drain import config as drain_config  # noqa: E402
from lifecycle_drain.ec2.instances import Presence  # noqa: E402
from lifecycle_drain.eks import auth  # noqa: E402
from lifecycle_drain.eks import config as drain_k8s_config  # noqa: E402
from lifecycle_drain.eks import k8s_client as k8s  # noqa: E402
from lifecycle_drain.eks import strategy as eks  # noqa: E402
from lifecycle_drain.logs import JsonLogger  # noqa: E402
from lifecycle_drain.strategy import DrainTarget, ProgressKind, StepResult, StrategyContext  # noqa: E402

INSTANCE = "i-0a1b2c3d4e5f60718"
OTHER_INSTANCE = "i-0fedcba9876543210"
NODE = "ip-10-0-1-10.ec2.internal"
OTHER_NODE = "ip-10-0-2-20.ec2.internal"
TOKEN = "3f1c2a9e-5b7d-4c8e-9f0a-1b2c3d4e5f60"
POLL = 30


# -- fixtures and helpers ---------------------------------------------------------------------------


@pytest.fixture
def clock() -> ae.VirtualClock:
    """Virtual time shared by the API emulation, the signer and the strategy."""
    return ae.VirtualClock()


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, clock: ae.VirtualClock) -> Iterator[K8sApiEmulation]:
    """A started Kubernetes API emulation (TLS) with two nodes; botocore signs in virtual time."""
    ae.use_fake_credentials(monkeypatch)
    sign_in_virtual_time(monkeypatch, clock)
    with K8sApiEmulation(clock=clock) as emulation:
        emulation.add_node(NODE, INSTANCE)
        emulation.add_node(OTHER_NODE, OTHER_INSTANCE, zone="us-east-1b")
        yield emulation


def sts_client() -> Any:
    """An STS client with the fake credentials (presigning makes no call)."""
    return boto3.session.Session().client("sts", region_name=ae.REGION)


class Drain:
    """Runs the strategy's steps like the engine does (state persisted as JSON between steps)."""

    def __init__(
        self,
        api: K8sApiEmulation,
        clock: ae.VirtualClock,
        *,
        instance_present: Callable[[], bool] = lambda: True,
        refresh_after: float = auth.DEFAULT_REFRESH_AFTER_SECONDS,
        ca_pem: str | None = None,
        cluster_name: str | None = None,
        page_size: int = k8s.DEFAULT_PAGE_SIZE,
        **options: Any,
    ) -> None:
        """Build the strategy against ``api``."""
        self.clock = clock
        sts = sts_client()
        self.tokens = auth.EksTokenProvider(
            lambda: sts, cluster_name or api.cluster_name, clock, refresh_after_seconds=refresh_after
        )
        endpoint = k8s.StaticEndpoint(k8s.ClusterEndpoint(api.endpoint, ca_pem or api.ca_pem))
        self.client = k8s.K8sClient(endpoint, self.tokens, timeout_seconds=60, page_size=page_size)

        def presence(target: DrainTarget) -> Presence:
            if instance_present():
                return Presence(True, "in_group", ec2_state="running", lifecycle_state="Terminating:Wait")
            return Presence(False, "instance_terminated", ec2_state="terminated")

        self.strategy = eks.EksNodeStrategy(client=self.client, instance_presence=presence, **options)
        self.state: dict[str, Any] | None = None
        self.results: list[StepResult] = []
        self.started = clock.now()

    def step(self) -> StepResult:
        """One step (start, then poll)."""
        ctx = StrategyContext(
            target=DrainTarget(instance_id=INSTANCE, asg_name="eks-rudder-0a1b", hook_name="drain", token=TOKEN),
            now=self.clock.now(),
            started_at=self.started,
            step=len(self.results),
            poll_interval_seconds=POLL,
            log=JsonLogger(),
        )
        if self.state is None:
            result = self.strategy.start(ctx)
        else:
            result = self.strategy.poll(ctx, json.loads(json.dumps(self.state)))
        self.state = json.loads(json.dumps(result.state))  # what DynamoDB would keep
        self.results.append(result)
        return result

    def run(self, *, interval: float = POLL, max_steps: int = 500) -> StepResult:
        """Step every ``interval`` virtual seconds until the drain is not IN_PROGRESS."""
        for _ in range(max_steps):
            result = self.step()
            if result.progress.kind is not ProgressKind.IN_PROGRESS:
                return result
            self.clock.advance(interval)
        raise AssertionError(f"still in progress after {max_steps} steps: {self.results[-1].progress}")

    def reasons(self) -> list[str]:
        """Progress reasons of every step so far."""
        return [result.progress.reason for result in self.results]


def evictions(api: K8sApiEmulation, pod: str = "") -> list[tuple[str, int | None]]:
    """(pod name, answered status) of every eviction request."""
    return [
        (request.path.split("/")[-2], request.status)
        for request in api.requests_to("POST", "/eviction")
        if not pod or request.path.split("/")[-2] == pod
    ]


def raw_get(api: K8sApiEmulation, path: str, token: str | None) -> int:
    """Status of a GET sent without the client (to probe authentication)."""
    import ssl

    context = ssl.create_default_context(cadata=api.ca_pem)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    request = urllib.request.Request(api.endpoint + path, headers=headers)
    try:
        with urllib.request.urlopen(request, context=context, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


# -- token ------------------------------------------------------------------------------------------


def test_token_is_a_presigned_get_caller_identity_url(api: K8sApiEmulation, clock: ae.VirtualClock) -> None:
    """k8s-aws-v1. + base64url (no padding) of a presigned STS GetCallerIdentity URL signing x-k8s-aws-id."""
    provider = auth.EksTokenProvider(sts_client, api.cluster_name, clock)
    token = provider.token()
    assert token.startswith("k8s-aws-v1.")
    body = token[len("k8s-aws-v1.") :]
    assert "=" not in body and set(body) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    url = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    assert url == auth.decode_token(token)
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    assert (parts.scheme, parts.netloc, parts.path) == ("https", f"sts.{ae.REGION}.amazonaws.com", "/")
    assert query["Action"] == "GetCallerIdentity" and query["Version"] == "2011-06-15"
    assert query["X-Amz-Expires"] == "60" and query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-SignedHeaders"].split(";") == ["host", "x-k8s-aws-id"]
    assert query["X-Amz-Credential"].startswith("testing/20260101/us-east-1/sts/aws4_request")
    assert query["X-Amz-Date"] == "20260101T000000Z"  # signed on the (virtual) clock
    assert len(query["X-Amz-Signature"]) == 64

    # The API server (the emulation verifies the SigV4 signature like STS) accepts it for this
    # cluster only: the cluster name is part of the signature.
    assert raw_get(api, "/api/v1/nodes", token) == 200
    other = auth.EksTokenProvider(sts_client, "another-cluster", clock).token()
    assert raw_get(api, "/api/v1/nodes", other) == 401
    assert raw_get(api, "/api/v1/nodes", token + "==") == 401  # padding is not base64url-raw
    assert raw_get(api, "/api/v1/nodes", None) == 401

    # Cached until refresh_after_seconds, then signed anew.
    assert provider.token() == token and provider.issued == 1
    clock.advance(auth.DEFAULT_REFRESH_AFTER_SECONDS)
    assert provider.token() != token and provider.issued == 2

    # One client signing for two clusters: each token carries its own cluster id.
    client = sts_client()
    foreign = auth.encode_token(auth.presigned_caller_identity_url(client, "another-cluster"))
    ours = auth.encode_token(auth.presigned_caller_identity_url(client, api.cluster_name))
    assert (raw_get(api, "/api/v1/nodes", foreign), raw_get(api, "/api/v1/nodes", ours)) == (401, 200)
    # A normal GetCallerIdentity through the same client is not given the header (answered offline).
    seen: list[dict[str, str]] = []
    client.meta.events.register(
        "before-send.sts.GetCallerIdentity", lambda request, **_: seen.append(dict(request.headers)) or _stub()
    )
    client.get_caller_identity()
    assert seen and "x-k8s-aws-id" not in {key.lower() for key in seen[0]}


def _stub() -> Any:
    """A canned STS answer (keeps the call offline)."""
    from botocore.awsrequest import AWSResponse

    body = (
        b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
        b"<Arn>arn:aws:iam::123456789012:user/test</Arn><UserId>AIDA</UserId><Account>123456789012</Account>"
        b"</GetCallerIdentityResult></GetCallerIdentityResponse>"
    )

    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield body

    return AWSResponse("https://sts.amazonaws.com/", 200, {}, Raw())


def test_expired_token_is_refreshed_after_a_401(api: K8sApiEmulation, clock: ae.VirtualClock) -> None:
    """A token the API server no longer accepts (401) is dropped and the request sent again with a new one."""
    api.token_lifetime_seconds = 60  # EKS: 15 minutes after X-Amz-Date; shorter here
    api.add_pod("web-1", node=NODE, terminate_seconds=5)
    drain = Drain(api, clock, refresh_after=600)  # a provider that would keep its token too long
    assert drain.step().progress.reason == "evicting_pods"
    first_token = api.requests[-1].token
    clock.advance(120)
    drain.step()
    statuses = [(r.status, r.token) for r in api.requests if r.at == clock.now()]
    assert statuses[0] == (401, first_token)
    assert all(status != 401 for status, _ in statuses[1:])
    assert statuses[1][1] != first_token and drain.tokens.issued == 2
    assert drain.results[-1].progress.kind is ProgressKind.DONE


# -- cordon, skipped pods ----------------------------------------------------------------------------


def test_cordon_is_idempotent(api: K8sApiEmulation, clock: ae.VirtualClock, logs: pytest.LogCaptureFixture) -> None:
    """One PATCH spec.unschedulable=true; repeated steps do not patch again; uncordoned by someone: again."""
    api.add_pod("web-1", node=NODE, terminate_seconds=200)
    drain = Drain(api, clock)
    drain.step()
    node = api.node(NODE)
    assert node is not None and node["spec"]["unschedulable"] is True
    assert {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}.items() <= node["spec"]["taints"][
        0
    ].items()
    [patch] = api.requests_to("PATCH")
    assert patch.body == {"spec": {"unschedulable": True}} and patch.status == 200
    for _ in range(3):
        clock.advance(POLL)
        drain.step()
    assert len(api.requests_to("PATCH")) == 1
    assert len(api.requests_to("GET", "/api/v1/nodes")) == 4  # one list, then GET by name
    assert api.requests_to("GET", f"/api/v1/nodes/{NODE}")

    # Someone uncordons it mid-drain (a JSON merge patch of their own): cordoned again.
    api.dispatch(
        "PATCH",
        f"/api/v1/nodes/{NODE}",
        {"authorization": f"Bearer {drain.tokens.token()}", "content-type": "application/merge-patch+json"},
        b'{"spec": {"unschedulable": null}}',
    )
    assert "unschedulable" not in api.node(NODE)["spec"]  # type: ignore[index]
    clock.advance(POLL)
    drain.step()
    assert api.node(NODE)["spec"]["unschedulable"] is True  # type: ignore[index]
    assert [line["event"] for line in ae.drain_log_events(logs) if line["event"].startswith("node_cordoned")] == [
        "node_cordoned",
        "node_cordoned_again",
    ]


def test_daemonset_mirror_and_finished_pods_are_skipped(api: K8sApiEmulation, clock: ae.VirtualClock) -> None:
    """Only ordinary pods are evicted; DaemonSet, mirror and Succeeded/Failed pods stay and do not block DONE."""
    api.add_pod("aws-node-x1", node=NODE, namespace="kube-system", owner_kind="DaemonSet", owner_name="aws-node")
    api.add_pod("kube-proxy-x1", node=NODE, namespace="kube-system", owner_kind="DaemonSet", owner_name="kube-proxy")
    api.add_pod(f"static-web-{NODE}", node=NODE, namespace="kube-system", owner_kind="Node", mirror=True)
    api.add_pod("migrate-1", node=NODE, namespace="rudder", owner_kind="Job", phase="Succeeded", ready=False)
    api.add_pod("backfill-1", node=NODE, namespace="rudder", owner_kind="Job", phase="Failed", ready=False)
    api.add_pod("web-1", node=NODE, namespace="rudder", terminate_seconds=10)
    api.add_pod("naked", node=NODE, namespace="rudder", owner_kind=None, terminate_seconds=10)
    api.add_pod("elsewhere", node=OTHER_NODE, namespace="rudder")
    drain = Drain(api, clock)
    done = drain.run()
    assert done.progress.kind is ProgressKind.DONE and done.progress.reason == "node_drained"
    assert sorted(evictions(api)) == [("naked", 201), ("web-1", 201)]
    details = done.progress.details
    assert (details["skipped_daemonset"], details["skipped_mirror"], details["skipped_finished"]) == (2, 1, 2)
    left = {pod["metadata"]["name"] for pod in api.pods_on(NODE)}
    assert left == {"aws-node-x1", "kube-proxy-x1", f"static-web-{NODE}", "migrate-1", "backfill-1"}
    assert api.pod("rudder", "elsewhere") is not None
    assert drain.reasons() == ["evicting_pods", "node_drained"]


def test_classify_pod() -> None:
    """Pod sorting rules (controller owner references only; mirror annotation first)."""

    def pod(**meta: Any) -> dict[str, Any]:
        phase = meta.pop("phase", "Running")
        return {"metadata": {"name": "p", "namespace": "n", **meta}, "status": {"phase": phase}}

    daemonset = [{"kind": "DaemonSet", "name": "ds", "controller": True}]
    assert eks.classify_pod(pod(ownerReferences=daemonset)) is eks.PodClass.DAEMONSET
    not_controller = [{"kind": "DaemonSet", "name": "ds"}]
    assert eks.classify_pod(pod(ownerReferences=not_controller)) is eks.PodClass.EVICT
    assert eks.classify_pod(pod(annotations={eks.MIRROR_ANNOTATION: "x"})) is eks.PodClass.MIRROR
    assert eks.classify_pod(pod(phase="Succeeded", deletionTimestamp="x")) is eks.PodClass.FINISHED
    assert eks.classify_pod(pod(deletionTimestamp="2026-01-01T00:00:00Z")) is eks.PodClass.TERMINATING
    assert eks.classify_pod(pod(phase="Pending")) is eks.PodClass.EVICT
    assert eks.node_backs_instance({"spec": {"providerID": f"aws:///us-east-1a/{INSTANCE}"}}, INSTANCE)
    assert not eks.node_backs_instance({"spec": {"providerID": f"aws:///us-east-1a/{INSTANCE}1"}}, INSTANCE)
    assert not eks.node_backs_instance({"spec": {}}, INSTANCE)


# -- disruption budgets, long terminations ------------------------------------------------------------


def test_disruption_budget_429_waits_then_proceeds_when_a_replacement_is_ready(
    api: K8sApiEmulation, clock: ae.VirtualClock
) -> None:
    """maxUnavailable=1 over 2 replicas on the node: one eviction goes, the other gets 429 until the
    replacement of the first is Ready elsewhere; then it goes too."""
    api.add_replicaset("web", replicas=2, nodes=[NODE], namespace="rudder", ready_after=125, terminate_seconds=20)
    api.add_pdb("web", namespace="rudder", match_labels={"app": "web"}, max_unavailable=1)
    [first, second] = sorted(pod["metadata"]["name"] for pod in api.pods_on(NODE))
    drain = Drain(api, clock)
    t0 = clock.now()
    result = drain.step()
    assert result.progress.kind is ProgressKind.IN_PROGRESS
    assert result.progress.reason == "waiting_for_disruption_budget"
    assert result.progress.details["blocked"] == [f"rudder/{second}"]
    assert result.progress.pending is not None
    assert result.progress.pending.breakdown["blocked_by_disruption_budget"] == 1
    assert evictions(api) == [(first, 201), (second, 429)]
    [blocked] = [r for r in api.requests_to("POST", second)]
    [replacement] = [p for p in api.pods_on(OTHER_NODE) if p["metadata"]["name"] not in (first, second)]
    assert replacement["spec"]["nodeName"] == OTHER_NODE  # not on the cordoned node

    done = drain.run()
    assert done.progress.kind is ProgressKind.DONE
    accepted = [r for r in api.requests_to("POST", second) if r.status == 201]
    assert len(accepted) == 1 and accepted[0].at >= t0 + 125  # only once the replacement was Ready
    assert [status for _, status in evictions(api, second)].count(429) >= 4
    assert blocked.status == 429
    assert "waiting_for_disruption_budget" in drain.reasons() and drain.reasons()[-1] == "node_drained"
    clock.advance(125)
    assert api.pdb_status("rudder", "web")["currentHealthy"] == 2  # both replacements Ready elsewhere


def test_long_terminating_pod_keeps_the_drain_in_progress(api: K8sApiEmulation, clock: ae.VirtualClock) -> None:
    """The backend's preStop drain takes 50 minutes (grace 1 h): IN_PROGRESS for every step meanwhile,
    evicted once, DONE only after the pod object is gone."""
    api.add_pod(
        "rudder-backend-0",
        node=NODE,
        namespace="rudder",
        labels={"app": "rudder-backend"},
        owner_kind="StatefulSet",
        owner_name="rudder-backend",
        grace_seconds=3600,
        terminate_seconds=3000,
    )
    drain = Drain(api, clock)
    t0 = clock.now()
    done = drain.run(max_steps=200)
    assert done.progress.kind is ProgressKind.DONE
    removed = api.removed_at("rudder", "rudder-backend-0")
    assert removed == t0 + 3000
    assert clock.now() >= removed
    assert all(result.progress.kind is ProgressKind.IN_PROGRESS for result in drain.results[:-1])
    assert len(drain.results) >= 3000 // POLL
    assert set(drain.reasons()[1:-1]) == {"waiting_for_pods_to_terminate"}
    assert evictions(api) == [("rudder-backend-0", 201)]  # never evicted again while terminating
    ages = [r.progress.pending.oldest_pending_age_seconds for r in drain.results[1:-1] if r.progress.pending]
    assert ages == sorted(ages) and ages[-1] >= 2900


def test_grace_period_caps_a_pod_that_does_not_stop(api: K8sApiEmulation, clock: ae.VirtualClock) -> None:
    """The kubelet kills a pod at the end of its grace period even if its preStop hook runs on."""
    api.add_pod("stuck", node=NODE, grace_seconds=600, terminate_seconds=10_000)
    drain = Drain(api, clock)
    drain.run()
    assert api.removed_at("default", "stuck") == pytest.approx(drain.started + 600)


# -- the node disappearing ------------------------------------------------------------------------------


def test_node_disappearing_mid_drain_with_its_instance_is_gone(api: K8sApiEmulation, clock: ae.VirtualClock) -> None:
    """Node and instance gone (e.g. the instance was terminated elsewhere): GONE."""
    api.add_pod("rudder-backend-0", node=NODE, owner_kind="StatefulSet", grace_seconds=3600, terminate_seconds=3000)
    present = {"value": True}
    drain = Drain(api, clock, instance_present=lambda: present["value"])
    for _ in range(3):
        assert drain.step().progress.kind is ProgressKind.IN_PROGRESS
        clock.advance(POLL)
    api.remove_node(NODE)
    present["value"] = False
    result = drain.step()
    assert result.progress.kind is ProgressKind.GONE and result.progress.reason == "instance_terminated"


def test_node_deleted_while_the_instance_waits_is_done(api: K8sApiEmulation, clock: ae.VirtualClock) -> None:
    """Node object deleted but the instance still in Terminating:Wait: nothing can run there: DONE (CONTINUE)."""
    api.add_pod("rudder-backend-0", node=NODE, owner_kind="StatefulSet", grace_seconds=3600, terminate_seconds=3000)
    drain = Drain(api, clock)
    drain.step()
    clock.advance(POLL)
    api.remove_node(NODE)
    result = drain.step()
    assert result.progress.kind is ProgressKind.DONE and result.progress.reason == "node_deleted"
    assert api.pod("default", "rudder-backend-0") is None  # pod GC


def test_node_never_in_the_cluster_and_name_reuse(api: K8sApiEmulation, clock: ae.VirtualClock) -> None:
    """No node backs the instance: DONE at once. A node name later backing another instance is not ours."""
    api.remove_node(NODE)
    drain = Drain(api, clock)
    result = drain.step()
    assert (result.progress.kind, result.progress.reason) == (ProgressKind.DONE, "node_not_in_cluster")
    assert not api.requests_to("PATCH") and not api.requests_to("POST")

    api.add_node(NODE, INSTANCE)
    reused = Drain(api, clock)
    reused.step()
    api.remove_node(NODE)
    api.add_node(NODE, "i-0999999999999999a")  # same private DNS name, another instance
    assert reused.step().progress.reason == "node_deleted"


def test_node_search_label_selector_fallback_and_paging(
    api: K8sApiEmulation, clock: ae.VirtualClock, logs: pytest.LogCaptureFixture
) -> None:
    """The node is found through several list pages; a label selector that misses it falls back to all nodes."""
    for index in range(5):
        api.add_node(f"ip-10-0-9-{index}.ec2.internal", f"i-0aaaaaaaaaaaaaa{index:02d}", nodegroup="system")
    drain = Drain(api, clock, node_label_selector="eks.amazonaws.com/nodegroup=system", page_size=2)
    drain.step()
    assert drain.state is not None and drain.state["node"] == NODE
    lists = api.requests_to("GET", "/api/v1/nodes")
    assert [r.query.get("labelSelector") for r in lists] == ["eks.amazonaws.com/nodegroup=system"] * 3 + [None] * 4
    assert all(r.query["limit"] == "2" for r in lists) and "continue" in lists[1].query
    assert [line for line in ae.drain_log_events(logs) if line["event"] == "node_outside_label_selector"]

    api.remove_node(NODE)
    api.add_node(NODE, INSTANCE, labels={"role": "rudder"})
    selective = Drain(api, clock, node_label_selector="role in (rudder,backend),!gpu")
    selective.step()
    assert selective.state is not None and selective.state["node"] == NODE


# -- failures --------------------------------------------------------------------------------------------


def test_transient_errors_are_in_progress_never_done(api: K8sApiEmulation, clock: ae.VirtualClock) -> None:
    """5xx, dropped connections: IN_PROGRESS (retried next step); the drain completes once the API recovers."""
    api.add_pod("web-1", node=NODE, terminate_seconds=5)
    drain = Drain(api, clock)
    api.fail_next(1, status=503, path_contains="/api/v1/nodes")
    first = drain.step()
    assert (first.progress.kind, first.progress.reason) == (ProgressKind.IN_PROGRESS, "kubernetes_api_error:503")
    api.drop_next(1, path_contains="/api/v1/pods")
    clock.advance(POLL)
    second = drain.step()
    assert second.progress.reason == "kubernetes_api_error:connection"
    assert drain.state is not None and drain.state["api_errors"] == 2 and drain.state["node"] == NODE
    api.fail_next(1, status=500, method="POST")
    clock.advance(POLL)
    third = drain.step()
    assert third.progress.reason == "eviction_failed" and third.progress.details["failed"] == ["default/web-1"]
    api.fail_next(2, status=504, path_contains="/api/v1/pods")
    for _ in range(2):
        clock.advance(POLL)
        assert drain.step().progress.kind is ProgressKind.IN_PROGRESS
    done = drain.run()
    assert done.progress.kind is ProgressKind.DONE
    assert drain.state is not None and drain.state["api_errors"] == 0
    assert all(r.progress.kind is ProgressKind.IN_PROGRESS for r in drain.results[:-1])


def test_one_failing_eviction_does_not_block_the_others(api: K8sApiEmulation, clock: ae.VirtualClock) -> None:
    """A pod covered by two budgets (500 from the eviction handler) is reported; the other pods are evicted."""
    api.add_pod("a-shared", node=NODE, labels={"app": "shared", "tier": "x"}, terminate_seconds=5)
    api.add_pod("b-web", node=NODE, labels={"app": "web"}, terminate_seconds=5)
    api.add_pdb("by-app", match_labels={"app": "shared"}, min_available=0)
    api.add_pdb("by-tier", match_labels={"tier": "x"}, min_available=0)
    drain = Drain(api, clock)
    result = drain.step()
    assert evictions(api) == [("a-shared", 500), ("b-web", 201)]
    assert result.progress.reason == "eviction_failed" and result.progress.details["failed"] == ["default/a-shared"]
    for _ in range(5):
        clock.advance(POLL)
        assert drain.step().progress.kind is ProgressKind.IN_PROGRESS  # never done while the pod stays


def test_forbidden_and_tls_failures_are_in_progress(
    api: K8sApiEmulation, clock: ae.VirtualClock, tmp_path: Path
) -> None:
    """Missing RBAC (403) and a certificate not signed by the configured cluster CA: IN_PROGRESS."""
    api.add_pod("web-1", node=NODE)
    api.fail_next(1, status=403, method="POST")
    drain = Drain(api, clock)
    result = drain.step()
    assert result.progress.reason == "kubernetes_api_error:403"

    wrong_ca = make_tls_material(tmp_path).ca_pem
    untrusting = Drain(api, clock, ca_pem=wrong_ca)
    served = len(api.requests)
    result = untrusting.step()
    assert result.progress.kind is ProgressKind.IN_PROGRESS and result.progress.reason == "kubernetes_api_error:tls"
    assert len(api.requests) == served  # the TLS handshake failed: nothing reached the API

    wrong_cluster = Drain(api, clock, cluster_name="another-cluster")
    result = wrong_cluster.step()
    assert result.progress.reason == "kubernetes_api_error:401"
    assert [r.status for r in api.requests[-2:]] == [401, 401]  # refreshed once, still refused


def test_eviction_per_step_limit(api: K8sApiEmulation, clock: ae.VirtualClock) -> None:
    """At most max_evictions_per_step evictions per step; the rest follow."""
    for index in range(5):
        api.add_pod(f"job-{index}", node=NODE, terminate_seconds=1)
    drain = Drain(api, clock, max_evictions_per_step=2)
    first = drain.step()
    assert len(evictions(api)) == 2 and first.progress.details["terminating"] == ["default/job-0", "default/job-1"]
    assert first.progress.pending is not None and first.progress.pending.breakdown["to_evict"] == 3
    drain.run()
    assert sorted(name for name, _ in evictions(api)) == [f"job-{i}" for i in range(5)]


# -- the emulation itself ------------------------------------------------------------------------------------


def test_emulated_eviction_handler_semantics(api: K8sApiEmulation, clock: ae.VirtualClock) -> None:
    """Terminating/pending pods skip budgets; unready pods under IfHealthyBudget; UID precondition; 404; 415."""
    sts = sts_client()
    tokens = auth.EksTokenProvider(lambda: sts, api.cluster_name, clock)
    client = k8s.K8sClient(k8s.StaticEndpoint(k8s.ClusterEndpoint(api.endpoint, api.ca_pem)), tokens)
    api.add_replicaset("db", replicas=3, nodes=[NODE, OTHER_NODE], labels={"app": "db"}, terminate_seconds=100)
    api.add_pdb("db", match_labels={"app": "db"}, min_available=2)
    names = sorted(p["metadata"]["name"] for p in api.pods_on(NODE) + api.pods_on(OTHER_NODE))
    status = api.pdb_status("default", "db")
    assert (status["currentHealthy"], status["desiredHealthy"], status["disruptionsAllowed"]) == (3, 2, 1)
    first = client.evict("default", names[0])
    assert first.outcome == "evicted"
    pod = api.pod("default", names[0])
    assert pod is not None and pod["metadata"]["deletionGracePeriodSeconds"] == 30
    assert any(c["type"] == "DisruptionTarget" for c in pod["status"]["conditions"])
    assert client.evict("default", names[0]).outcome == "evicted"  # already terminating: no budget check
    blocked = client.evict("default", names[1])
    assert blocked.outcome == "blocked" and blocked.causes == [
        "The disruption budget db needs 2 healthy pods and has 2 currently"
    ]

    api.set_ready("default", names[2], False)  # unready and the budget is not met: IfHealthyBudget refuses
    assert client.evict("default", names[2]).outcome == "blocked"
    api.pdbs[("default", "db")].unhealthy_pod_eviction_policy = "AlwaysAllow"
    assert client.evict("default", names[2]).outcome == "evicted"

    assert client.evict("default", "no-such-pod").outcome == "gone"
    api.add_pod("sts-0", node=NODE, owner_kind="StatefulSet")
    assert client.evict("default", "sts-0", uid="00000000-0000-0000-0000-000000000000").outcome == "gone"  # 409
    assert api.requests[-1].status == 409 and api.pod("default", "sts-0") is not None
    api.add_pod("pending", node=None)
    assert client.evict("default", "pending").outcome == "evicted" and api.pod("default", "pending") is None

    with pytest.raises(k8s.K8sApiError) as info:
        client.request("PATCH", f"/api/v1/nodes/{NODE}", body={"spec": {}}, content_type="application/json")
    assert info.value.status == 415 and not info.value.transient
    with pytest.raises(k8s.K8sApiError) as info:
        client.request("GET", "/api/v1/pods", query={"fieldSelector": "spec.schedulerName=x"})
    assert info.value.status == 400 and "field label not supported" in str(info.value)
    with pytest.raises(k8s.K8sApiError) as info:
        client.request("POST", "/api/v1/namespaces/default/pods/sts-0/eviction", body={"metadata": {"name": "x"}})
    assert info.value.status == 400
    assert client.get_node("ip-does-not-exist") is None
    listed = client.request("GET", "/apis/policy/v1/namespaces/default/poddisruptionbudgets")
    assert listed["items"][0]["spec"] == {
        "selector": {"matchLabels": {"app": "db"}},
        "minAvailable": 2,
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }


def test_emulated_token_expiry(api: K8sApiEmulation, clock: ae.VirtualClock) -> None:
    """A token is good for 15 minutes after its X-Amz-Date, then 401."""
    token = auth.EksTokenProvider(sts_client, api.cluster_name, clock).token()
    clock.advance(900)
    assert raw_get(api, "/api/v1/nodes", token) == 200
    clock.advance(1)
    assert raw_get(api, "/api/v1/nodes", token) == 401
    fresh = auth.EksTokenProvider(sts_client, api.cluster_name, clock).token()
    assert raw_get(api, "/api/v1/nodes", fresh) == 200
    assert raw_get(api, "/api/v1/widgets", fresh) == 404


# -- configuration ----------------------------------------------------------------------------------------


def test_strategy_selection_and_settings(api: K8sApiEmulation) -> None:
    """DRAIN_STRATEGY ec2 (default) | eks; EKS settings validated together."""
    assert drain_k8s_config.selected_strategy({}) == "ec2"
    assert drain_k8s_config.selected_strategy({"DRAIN_STRATEGY": " EKS "}) == "eks"
    with pytest.raises(drain_config.ConfigError, match="DRAIN_STRATEGY"):
        drain_k8s_config.selected_strategy({"DRAIN_STRATEGY": "k8s"})
    settings = drain_k8s_config.EksSettings.from_env(
        {
            "EKS_CLUSTER_NAME": "prod",
            "EKS_CLUSTER_ENDPOINT": "https://ABC.gr7.us-east-1.eks.amazonaws.com",
            "EKS_CLUSTER_CA": api.ca_data,
            "EKS_NODE_LABEL_SELECTOR": "eks.amazonaws.com/nodegroup=rudder",
        }
    )
    assert settings.ca_pem == api.ca_pem and settings.request_timeout_seconds == 10
    assert settings.max_evictions_per_step == 20
    with pytest.raises(drain_config.ConfigError) as info:
        drain_k8s_config.EksSettings.from_env(
            {"EKS_CLUSTER_ENDPOINT": "http://x", "K8S_REQUEST_TIMEOUT_SECONDS": "0", "EKS_MAX_EVICTIONS_PER_STEP": "x"}
        )
    message = str(info.value)
    for fragment in (
        "EKS_CLUSTER_NAME is required",
        "set together",
        "https://",
        "K8S_REQUEST_TIMEOUT_SECONDS",
        "EKS_MAX_EVICTIONS_PER_STEP",
    ):
        assert fragment in message
    with pytest.raises(drain_config.ConfigError, match="EKS_CLUSTER_CA"):
        drain_k8s_config.EksSettings.from_env(
            {"EKS_CLUSTER_NAME": "x", "EKS_CLUSTER_ENDPOINT": "https://x", "EKS_CLUSTER_CA": "bm90IGEgY2VydA=="}
        )


def test_describe_cluster_endpoint() -> None:
    """Without EKS_CLUSTER_ENDPOINT/CA: DescribeCluster once, cached; failures are transient transport errors."""
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

    class Eks:
        calls = 0

        def describe_cluster(self, name: str) -> dict[str, Any]:
            Eks.calls += 1
            if Eks.calls == 1:
                raise RuntimeError("throttled")
            data = base64.b64encode(pem.encode()).decode()
            return {"cluster": {"endpoint": f"https://{name}.eks", "certificateAuthority": {"data": data}}}

    source = k8s.DescribeClusterEndpoint(Eks, "prod")
    with pytest.raises(k8s.K8sTransportError) as info:
        source.resolve()
    assert info.value.transient and info.value.reason == "endpoint"
    assert source.resolve() == k8s.ClusterEndpoint("https://prod.eks", pem)
    assert source.resolve() is source.resolve() and Eks.calls == 2


# -- end to end --------------------------------------------------------------------------------------------


def test_end_to_end_eks_drain_through_the_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lifecycle hook held (heartbeats in time) over a ~2.5 h drain of the rudder backend (grace 3 h);
    CONTINUE only once the node has no evictable pod left."""
    ae.use_fake_credentials(monkeypatch)
    with mock_aws():
        emu = ae.AwsEmulation()
        sign_in_virtual_time(monkeypatch, emu.clock)
        plane = ae.provision_data_plane(emu, register=False, heartbeat_timeout=600)
        instance = plane.instance_ids[0]
        with K8sApiEmulation(clock=emu.clock) as api:
            api.add_node(NODE, instance)
            api.add_node(OTHER_NODE, OTHER_INSTANCE, zone="us-east-1b")
            api.add_pod(
                "rudder-backend-0",
                node=NODE,
                namespace="rudder",
                labels={"app": "rudder-backend"},
                owner_kind="StatefulSet",
                owner_name="rudder-backend",
                grace_seconds=3 * 3600,
                terminate_seconds=9000,  # the preStop drain of the jobsdb
            )
            api.add_pdb("rudder-backend", namespace="rudder", match_labels={"app": "rudder-backend"}, max_unavailable=1)
            api.add_replicaset(
                "rudder-transformer",
                replicas=2,
                nodes=[NODE],
                namespace="rudder",
                ready_after=300,
                terminate_seconds=20,
            )
            api.add_pdb(
                "rudder-transformer", namespace="rudder", match_labels={"app": "rudder-transformer"}, max_unavailable=1
            )
            api.add_pod(
                "aws-node-abcde", node=NODE, namespace="kube-system", owner_kind="DaemonSet", owner_name="aws-node"
            )
            api.add_pod(
                "migrate-7f9c2", node=NODE, namespace="rudder", owner_kind="Job", phase="Succeeded", ready=False
            )

            env = plane.lambda_env(
                DRAIN_STRATEGY="eks",
                EKS_CLUSTER_NAME=api.cluster_name,
                EKS_CLUSTER_ENDPOINT=api.endpoint.replace("127.0.0.1", "localhost"),
                EKS_CLUSTER_CA=api.ca_data,
                POLL_INTERVAL_SECONDS="120",
                DRAIN_DEADLINE_SECONDS=str(4 * 3600),
            )
            runtime_module = load_drain_lambda()
            config = importlib.import_module("lifecycle_drain.config").DrainConfig.from_env(env)
            runtime = runtime_module.build_runtime(env=env, config=config, client_factory=emu.client, clock=emu.clock)

            def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
                return runtime_module.handle_sqs_event(event, runtime, context)

            harness = ae.DrainHarness(emu, plane, handler, runtime, ae.LambdaDriver(emu, handler))
            action = harness.start(instance)
            record = harness.run_until_finished(action.token, max_seconds=5 * 3600)

            assert record.strategy == "eks-node" and record.outcome.value == "CONTINUE"
            assert action.result == "CONTINUE" and not action.timed_out
            assert max(action.heartbeat_gaps()) < 600, "the hook never came close to its heartbeat timeout"
            [complete] = emu.calls.of("CompleteLifecycleAction")
            backend_gone = api.removed_at("rudder", "rudder-backend-0")
            assert backend_gone is not None and backend_gone - action.started_at >= 9000
            assert complete.at >= backend_gone
            assert complete.at - backend_gone <= 120 + 5  # the next step noticed it
            left = [eks.classify_pod(pod) for pod in api.pods_on(NODE)]
            assert sorted(left) == [eks.PodClass.DAEMONSET, eks.PodClass.FINISHED]
            assert len(api.requests_to("PATCH")) == 1
            assert not evictions(api, "aws-node-abcde") and not evictions(api, "migrate-7f9c2")
            assert 429 in {status for _, status in evictions(api)}, "the transformer budget held one eviction back"
            assert all(r.status != 401 for r in api.requests), "tokens were refreshed before they expired"
            assert len(action.heartbeats) >= 9000 // 600


def test_runtime_selects_the_strategy_from_drain_strategy(api: K8sApiEmulation) -> None:
    """ec2 by default; eks adds the eks-node strategy and new drains use it; anything else is a ConfigError."""
    runtime_module = load_drain_lambda()
    base = {
        "DRAIN_TABLE_NAME": "t",
        "DRAIN_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        "DRAIN_CHECK_DOCUMENT": "d",
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:a",
        "ENVIRONMENT": "test",
        "DRAIN_ASG_NAMES": "eks-nodes-a,eks-nodes-b",
    }
    eks_env = {
        **base,
        "DRAIN_STRATEGY": "eks",
        "EKS_CLUSTER_NAME": api.cluster_name,
        "EKS_CLUSTER_ENDPOINT": api.endpoint,
        "EKS_CLUSTER_CA": api.ca_data,
    }

    def selected(env: dict[str, str]) -> tuple[list[str], str]:
        runtime = runtime_module.build_runtime(env=env, client_factory=lambda service: object())
        engine = runtime.engine
        return sorted(engine._strategies), engine._select_strategy(None)

    assert selected(base) == (["ec2-data-plane"], "ec2-data-plane")
    assert selected(eks_env) == (["ec2-data-plane", "eks-node"], "eks-node")
    with pytest.raises(drain_config.ConfigError, match="DRAIN_STRATEGY"):
        selected({**base, "DRAIN_STRATEGY": "fargate"})
    with pytest.raises(drain_config.ConfigError, match="EKS_CLUSTER_NAME"):
        selected({**base, "DRAIN_STRATEGY": "eks"})


def test_an_eks_drain_needs_no_check_document() -> None:
    base = {
        "DRAIN_TABLE_NAME": "t",
        "DRAIN_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/q",
        "ALERT_TOPIC_ARN": "arn:aws:sns:eu-west-1:1:t",
        "ENVIRONMENT": "prod-eks",
        "DRAIN_ASG_NAMES": "eks-nodes-a",
    }
    assert drain_config.DrainConfig.from_env({**base, "DRAIN_STRATEGY": "eks"}).check_document == ""
    with pytest.raises(drain_config.ConfigError, match="DRAIN_CHECK_DOCUMENT"):
        drain_config.DrainConfig.from_env(base)
