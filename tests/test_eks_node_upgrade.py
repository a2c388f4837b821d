"""A node-group version update completes without ``PodEvictionFailure`` and without cutting a drain short.

EKS's managed update (its documented phases: scale up, then for each old node evict its pods, wait at most 15
minutes for them to leave, fail with ``PodEvictionFailure`` unless forced, then terminate the instance through
its Auto Scaling group) is played here step by step against the Kubernetes API emulation
(:mod:`tests.support.k8s_api_emulation`: PodDisruptionBudgets, the eviction subresource, graceful termination
in virtual time). What answers the instance's termination is the project's own node drain, the real
``lifecycle_drain`` EKS strategy, stepped as the engine steps it while the terminating lifecycle hook holds
the instance. The node groups are updated in zone order, one node at a time, as the cluster stack's
``depends_on`` chain and ``max_unavailable: 1`` make Terraform and EKS do (``tests/test_synth_eks.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from tests.support import aws_emulation as ae
from tests.support.k8s_api_emulation import K8sApiEmulation, sign_in_virtual_time
from tests.support.lambda_loader import load_drain_lambda

load_drain_lambda()  # puts lambdas/drain on sys.path (the Lambda's zip root)

from lifecycle_drain.ec2.instances import Presence  # noqa: E402
from lifecycle_drain.eks import auth  # noqa: E402
from lifecycle_drain.eks import k8s_client as k8s  # noqa: E402
from lifecycle_drain.eks import strategy as eks  # noqa: E402
from lifecycle_drain.logs import JsonLogger  # noqa: E402
from lifecycle_drain.strategy import DrainTarget, ProgressKind, StepResult, StrategyContext  # noqa: E402

ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
NAMESPACE = "rudder"
BACKEND_LABELS = {"app.kubernetes.io/name": "rudderstack", "app.kubernetes.io/component": "backend"}
GRACE_SECONDS = 3600  # eks.termination_grace_period_seconds of prod-eks
DRAIN_SECONDS = 3000  # this backend's preStop drain: 50 minutes, a destination slow to take the backlog
EKS_EVICTION_WINDOW_SECONDS = 15 * 60  # "If the pods don't leave the node within 15 minutes ..."
POLL = 30  # drain.poll_interval_seconds
TOKEN = "5f1c2a9e-5b7d-4c8e-9f0a-1b2c3d4e5f61"


@pytest.fixture
def clock() -> ae.VirtualClock:
    return ae.VirtualClock()


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, clock: ae.VirtualClock) -> Iterator[K8sApiEmulation]:
    """Three old nodes, one per zone, each running one backend pod; the backend's budget (maxUnavailable 1)."""
    ae.use_fake_credentials(monkeypatch)
    sign_in_virtual_time(monkeypatch, clock)
    with K8sApiEmulation(clock=clock) as emulation:
        for ordinal, zone in enumerate(ZONES):
            emulation.add_node(_old_node(ordinal), _old_instance(ordinal), zone=zone, nodegroup=f"rudder-{zone}")
            _backend_pod(emulation, ordinal, _old_node(ordinal))
        emulation.add_pdb(
            "rudder-backend",
            namespace=NAMESPACE,
            match_labels=BACKEND_LABELS,
            max_unavailable=1,
            unhealthy_pod_eviction_policy="AlwaysAllow",
        )
        yield emulation


def _old_node(ordinal: int) -> str:
    return f"ip-10-50-{ordinal}-10.eu-west-1.compute.internal"


def _old_instance(ordinal: int) -> str:
    return f"i-0{ordinal}a1b2c3d4e5f6071"


def _backend_pod(api: K8sApiEmulation, ordinal: int, node: str) -> None:
    api.add_pod(
        f"rudder-backend-{ordinal}",
        node=node,
        namespace=NAMESPACE,
        labels=BACKEND_LABELS,
        owner_kind="StatefulSet",
        owner_name="rudder-backend",
        grace_seconds=GRACE_SECONDS,
        terminate_seconds=DRAIN_SECONDS,
    )


def _client(api: K8sApiEmulation, clock: ae.VirtualClock) -> k8s.K8sClient:
    sts = boto3.session.Session().client("sts", region_name=ae.REGION)
    tokens = auth.EksTokenProvider(lambda: sts, api.cluster_name, clock)
    return k8s.K8sClient(k8s.StaticEndpoint(k8s.ClusterEndpoint(api.endpoint, api.ca_pem)), tokens, timeout_seconds=60)


def _hold_until_drained(api: K8sApiEmulation, clock: ae.VirtualClock, instance: str) -> list[StepResult]:
    """The terminating lifecycle hook holds ``instance``; the drain Lambda's EKS strategy is stepped every
    ``POLL`` virtual seconds, state kept as JSON between steps like the engine keeps it, until it is done."""
    client = _client(api, clock)

    def presence(target: DrainTarget) -> Presence:
        return Presence(True, "in_group", ec2_state="running", lifecycle_state="Terminating:Wait")

    strategy = eks.EksNodeStrategy(client=client, instance_presence=presence)
    target = DrainTarget(instance_id=instance, asg_name="eks-rudder", hook_name="drain", token=TOKEN)
    started, state, results = clock.now(), None, []
    for step in range(GRACE_SECONDS // POLL + 10):
        ctx = StrategyContext(
            target=target,
            now=clock.now(),
            started_at=started,
            step=step,
            poll_interval_seconds=POLL,
            log=JsonLogger(),
        )
        result = strategy.start(ctx) if state is None else strategy.poll(ctx, json.loads(json.dumps(state)))
        state = json.loads(json.dumps(result.state))
        results.append(result)
        if result.progress.kind is not ProgressKind.IN_PROGRESS:
            return results
        clock.advance(POLL)
    raise AssertionError(f"the drain never finished: {results[-1].progress}")


def _eks_evicts(api: K8sApiEmulation, clock: ae.VirtualClock, node: str) -> dict[str, str]:
    """EKS's upgrade phase on one old node: an eviction for each of its pods; the outcomes by pod."""
    client = _client(api, clock)
    return {
        pod["metadata"]["name"]: client.evict(NAMESPACE, pod["metadata"]["name"]).outcome for pod in api.pods_on(node)
    }


def test_a_version_update_of_the_three_groups_completes_and_every_drain_runs_to_its_end(
    api: K8sApiEmulation, clock: ae.VirtualClock
) -> None:
    finished: list[float] = []
    for ordinal, zone in enumerate(ZONES):  # one AZ at a time: each group waits for the one before it
        old_node, old_instance = _old_node(ordinal), _old_instance(ordinal)
        new_node = f"ip-10-50-{ordinal}-99.eu-west-1.compute.internal"
        api.add_node(new_node, f"i-0{ordinal}ffffffffffff99", zone=zone, nodegroup=f"rudder-{zone}")  # scale up

        evicted_at = clock.now()
        assert _eks_evicts(api, clock, old_node) == {f"rudder-backend-{ordinal}": "evicted"}
        clock.advance(EKS_EVICTION_WINDOW_SECONDS)
        # EKS's window is over and the pod is still draining: an unforced update would stop here with
        # PodEvictionFailure; force_update_version goes on and terminates the instance.
        assert api.pod(NAMESPACE, f"rudder-backend-{ordinal}") is not None

        results = _hold_until_drained(api, clock, old_instance)
        assert results[-1].progress.kind is ProgressKind.DONE
        removed = api.removed_at(NAMESPACE, f"rudder-backend-{ordinal}")
        assert removed == evicted_at + DRAIN_SECONDS  # the preStop drain ran to its end: nothing was cut short
        assert clock.now() >= removed  # the instance was held until then
        assert api.node(old_node)["spec"]["unschedulable"] is True
        finished.append(clock.now())

        api.remove_node(old_node)  # the instance terminates once the hook is completed
        _backend_pod(api, ordinal, new_node)  # the StatefulSet recreates the ordinal, on the new node
    assert len(finished) == len(ZONES) and finished == sorted(finished)
    placed = {api.pod(NAMESPACE, f"rudder-backend-{ordinal}")["spec"]["nodeName"] for ordinal in range(3)}
    assert placed == {f"ip-10-50-{ordinal}-99.eu-west-1.compute.internal" for ordinal in range(3)}
