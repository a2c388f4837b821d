"""Drain strategy for an EKS node: cordon it, evict its pods, wait until they are gone.

The terminating instance belongs to an EKS managed node group; the Kubernetes node it backs is
the one whose ``spec.providerID`` (``aws:///<zone>/<instance id>``) ends in the instance id.
Every step (a handful of API calls, never a wait) does:

1. **Find the node.** The first step lists nodes (narrowed by ``EKS_NODE_LABEL_SELECTOR`` when
   set, then once more without it) and remembers the node's name in the state; later steps
   ``GET`` it by name. The node missing (or its name now backing another instance) means no pod
   can run there any more: if the EC2 instance is gone too the drain is ``GONE``; if the
   instance still waits in its lifecycle hook the drain is ``DONE`` (nothing left to drain, so
   the hook is completed with CONTINUE instead of waiting out its timeout).
2. **Cordon** (``PATCH spec.unschedulable=true``, what ``kubectl cordon`` does) unless the node
   already is unschedulable. Repeated every step if someone uncordons it.
3. **List the node's pods** (``fieldSelector=spec.nodeName=<node>``) and sort them:

   * skipped, never evicted: pods controlled by a DaemonSet (they tolerate unschedulable nodes
     and would come straight back), mirror pods (annotation ``kubernetes.io/config.mirror``:
     static pods the kubelet owns), finished pods (phase ``Succeeded`` / ``Failed``);
   * terminating: ``metadata.deletionTimestamp`` set (already evicted or deleted): waited for;
   * everything else is evicted.

   No evictable or terminating pod left: ``DONE``.
4. **Evict** (``POST .../pods/<pod>/eviction``, ``policy/v1``, with a UID precondition) up to
   ``EKS_MAX_EVICTIONS_PER_STEP`` pods within a time budget. The API server honours
   PodDisruptionBudgets: 429 means "not now" (the pod stays, the next step asks again), 404 (or
   409 on the UID precondition) means the pod is already gone. The pod's own
   ``terminationGracePeriodSeconds`` applies: the rudder backend's preStop drain may take up to
   an hour, which is just more steps; the engine's heartbeats keep the hook alive.

Any API failure (connection, timeout, TLS, 5xx, 401 after a token refresh, 403) ends the step as
``IN_PROGRESS`` ("cannot tell"), never as done; the next step starts over from step 1. Nothing
here raises for the Kubernetes side, so an API outage does not burn the message's SQS receives.
Repeating a step is harmless: cordoning is idempotent and evicting an already terminating pod
changes nothing.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..aws import AwsClients
from ..clock import Clock
from ..ec2.instances import InstanceInspector, Presence
from ..messages import ORIGIN_WARM_POOL
from ..strategy import DrainTarget, PendingWork, Progress, StepResult, StrategyContext
from .auth import EksTokenProvider
from .config import EksSettings
from .k8s_client import (
    ClusterEndpoint,
    DescribeClusterEndpoint,
    EndpointSource,
    K8sApiError,
    K8sClient,
    K8sError,
    StaticEndpoint,
)

STRATEGY_NAME = "eks-node"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
FINISHED_PHASES = frozenset({"Succeeded", "Failed"})
#: Eviction errors that apply to every pod alike: stop the step instead of trying the others.
_STOP_STATUSES = frozenset({401, 403})
_MAX_NAMES = 10
_MAX_TRACKED = 500

InstancePresence = Callable[[DrainTarget], Presence]


class PodClass(enum.StrEnum):
    """How the drain treats a pod on the node."""

    EVICT = "evict"
    TERMINATING = "terminating"
    DAEMONSET = "daemonset"
    MIRROR = "mirror"
    FINISHED = "finished"


SKIPPED = (PodClass.DAEMONSET, PodClass.MIRROR, PodClass.FINISHED)


def classify_pod(pod: Mapping[str, Any]) -> PodClass:
    """Sort a pod (see step 3 of the module docstring)."""
    meta = pod.get("metadata") or {}
    if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
        return PodClass.MIRROR
    for ref in meta.get("ownerReferences") or []:
        if isinstance(ref, Mapping) and ref.get("controller") and ref.get("kind") == "DaemonSet":
            return PodClass.DAEMONSET
    if (pod.get("status") or {}).get("phase") in FINISHED_PHASES:
        return PodClass.FINISHED
    if meta.get("deletionTimestamp"):
        return PodClass.TERMINATING
    return PodClass.EVICT


def pod_key(pod: Mapping[str, Any]) -> str:
    """``namespace/name``."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def node_backs_instance(node: Mapping[str, Any], instance_id: str) -> bool:
    """Whether ``spec.providerID`` (``aws:///<zone>/<instance id>``) names the instance."""
    provider_id = str((node.get("spec") or {}).get("providerID") or "")
    return bool(provider_id) and provider_id.rstrip("/").rsplit("/", 1)[-1] == instance_id


class EksNodeStrategy:
    """Cordon + evict + wait, for the node backing the terminating instance (see the module docstring)."""

    name = STRATEGY_NAME

    def __init__(
        self,
        *,
        client: K8sClient,
        instance_presence: InstancePresence | None = None,
        node_label_selector: str | None = None,
        max_evictions_per_step: int = 20,
        step_budget_seconds: float = 20.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``instance_presence`` tells whether the EC2 instance still exists (None: assume it does)."""
        self._client = client
        self._presence = instance_presence
        self._selector = node_label_selector or None
        self._max_evictions = max(1, int(max_evictions_per_step))
        self._budget = float(step_budget_seconds)
        self._monotonic = monotonic

    # -- DrainStrategy -------------------------------------------------------

    def start(self, ctx: StrategyContext) -> StepResult:
        """First step."""
        state: dict[str, Any] = {
            "node": None,
            "provider_id": None,
            "cordoned_at": None,
            "evicted": {},
            "evictions_sent": 0,
            "blocked_answers": 0,
            "api_errors": 0,
            "last_error": None,
            "last_counts": None,
        }
        return self._step(ctx, state)

    def poll(self, ctx: StrategyContext, state: Mapping[str, Any]) -> StepResult:
        """A later step."""
        copied = dict(state)
        copied["evicted"] = dict(state.get("evicted") or {})
        return self._step(ctx, copied)

    def cleanup(self, ctx: StrategyContext, state: Mapping[str, Any], outcome: str) -> None:
        """Nothing to release: the node stays cordoned and goes away with its instance."""
        ctx.log.info("eks_drain_ended", node=state.get("node"), outcome=outcome, cordoned_at=state.get("cordoned_at"))

    # -- one step ------------------------------------------------------------

    def _step(self, ctx: StrategyContext, state: dict[str, Any]) -> StepResult:
        """Run the step; Kubernetes API failures become IN_PROGRESS."""
        try:
            return self._drain(ctx, state, self._monotonic())
        except K8sError as exc:
            state["api_errors"] = int(state.get("api_errors") or 0) + 1
            state["last_error"] = {**exc.to_dict(), "at": ctx.now}
            ctx.log.warning(
                "kubernetes_api_error",
                error=exc.to_dict(),
                errors_in_a_row=state["api_errors"],
                decision="cannot tell: retry in the next step",
            )
            label = exc.status if exc.status is not None else exc.reason
            pending = self._pending(state, ctx.now)
            return StepResult(
                Progress.in_progress(f"kubernetes_api_error:{label}", pending, error=exc.to_dict()), state
            )

    def _drain(self, ctx: StrategyContext, state: dict[str, Any], began: float) -> StepResult:
        """Steps 1-4 of the module docstring (``began``: monotonic start of the step)."""
        node = self._find_node(ctx, state)
        if node is None:
            return self._node_missing(ctx, state)
        node_name = str(node["metadata"]["name"])
        if not (node.get("spec") or {}).get("unschedulable"):
            self._client.cordon(node_name)
            if state.get("cordoned_at") is None:
                state["cordoned_at"] = ctx.now
                ctx.log.info("node_cordoned", node=node_name)
            else:
                ctx.log.warning("node_cordoned_again", node=node_name, note="someone made it schedulable again")
        elif state.get("cordoned_at") is None:
            state["cordoned_at"] = ctx.now
            ctx.log.info("node_already_cordoned", node=node_name)

        pods = self._client.list_pods_on_node(node_name)
        groups: dict[PodClass, list[dict[str, Any]]] = {kind: [] for kind in PodClass}
        for pod in pods:
            groups[classify_pod(pod)].append(pod)
        state["api_errors"] = 0
        self._forget_absent(state, pods)
        skipped = {f"skipped_{kind.value}": len(groups[kind]) for kind in SKIPPED}

        if not groups[PodClass.EVICT] and not groups[PodClass.TERMINATING]:
            counts = {"to_evict": 0, "terminating": 0, **skipped}
            state["last_counts"] = counts
            return StepResult(
                Progress.done(
                    "node_drained",
                    node=node_name,
                    evictions_sent=state.get("evictions_sent", 0),
                    left_on_node=[pod_key(pod) for kind in SKIPPED for pod in groups[kind]][:_MAX_NAMES],
                    **skipped,
                ),
                state,
            )

        evicted, blocked, gone, failed, not_tried = self._evict(ctx, state, groups[PodClass.EVICT], began)
        terminating = [pod_key(pod) for pod in groups[PodClass.TERMINATING]] + evicted
        counts = {
            "to_evict": len(blocked) + len(failed) + not_tried,
            "terminating": len(terminating),
            "blocked_by_disruption_budget": len(blocked),
            "eviction_errors": len(failed),
            **skipped,
        }
        state["last_counts"] = counts
        if failed:
            reason = "eviction_failed"
        elif blocked:
            reason = "waiting_for_disruption_budget"
        elif evicted or not_tried:
            reason = "evicting_pods"
        else:
            reason = "waiting_for_pods_to_terminate"
        return StepResult(
            Progress.in_progress(
                reason,
                self._pending(state, ctx.now),
                node=node_name,
                terminating=terminating[:_MAX_NAMES],
                blocked=blocked[:_MAX_NAMES],
                failed=failed[:_MAX_NAMES],
                already_gone=gone[:_MAX_NAMES],
            ),
            state,
        )

    # -- parts -------------------------------------------------------------------

    def _find_node(self, ctx: StrategyContext, state: dict[str, Any]) -> dict[str, Any] | None:
        """The node backing the instance, or None when there is none (any more)."""
        instance_id = ctx.target.instance_id
        known = state.get("node")
        if known:
            node = self._client.get_node(str(known))
            if node is None:
                return None
            if not node_backs_instance(node, instance_id):
                ctx.log.warning(
                    "node_name_reused",
                    node=known,
                    provider_id=(node.get("spec") or {}).get("providerID"),
                    note="the node of this instance is gone; the name belongs to another one now",
                )
                return None
        else:
            node = self._search(instance_id, self._selector)
            if node is None and self._selector:
                node = self._search(instance_id, None)
                if node is not None:
                    ctx.log.warning(
                        "node_outside_label_selector",
                        node=node["metadata"]["name"],
                        label_selector=self._selector,
                        note="check EKS_NODE_LABEL_SELECTOR",
                    )
            if node is None:
                return None
            state["node"] = str(node["metadata"]["name"])
            state["provider_id"] = (node.get("spec") or {}).get("providerID")
            ctx.log.info("node_found", node=state["node"], provider_id=state["provider_id"])
        if (node.get("metadata") or {}).get("deletionTimestamp"):
            ctx.log.info("node_being_deleted", node=state.get("node"))
            return None
        return node

    def _search(self, instance_id: str, selector: str | None) -> dict[str, Any] | None:
        """List nodes and pick the one whose providerID names the instance."""
        for node in self._client.list_nodes(selector):
            if node_backs_instance(node, instance_id) and (node.get("metadata") or {}).get("name"):
                return node
        return None

    def _node_missing(self, ctx: StrategyContext, state: dict[str, Any]) -> StepResult:
        """No node (any more): GONE with the instance, otherwise DONE (nothing can run there)."""
        node_name = state.get("node")
        if self._presence is not None:
            presence = self._presence(ctx.target)
            if not presence.present:
                return StepResult(Progress.gone(presence.reason, ec2_state=presence.ec2_state, node=node_name), state)
        reason = "node_deleted" if node_name else "node_not_in_cluster"
        ctx.log.warning(
            reason,
            node=node_name,
            instance_id=ctx.target.instance_id,
            decision="no pod can run on a node that does not exist: nothing left to drain",
        )
        state["last_counts"] = {"to_evict": 0, "terminating": 0}
        return StepResult(Progress.done(reason, node=node_name), state)

    def _evict(
        self, ctx: StrategyContext, state: dict[str, Any], pods: list[dict[str, Any]], began: float
    ) -> tuple[list[str], list[str], list[str], list[str], int]:
        """Evict up to the per-step maximum while the step is within its time budget.

        Returns (evicted, blocked, gone, failed, not tried). Transport errors and 401/403 stop
        the step (raised); other error statuses are recorded for their pod only (e.g. 500 for a
        pod covered by two PodDisruptionBudgets) and the next pod is tried.
        """
        evicted: list[str] = []
        blocked: list[str] = []
        gone: list[str] = []
        failed: list[str] = []
        ordered = sorted(pods, key=pod_key)
        tried = 0
        for pod in ordered:
            if tried >= self._max_evictions or self._monotonic() - began > self._budget:
                break
            tried += 1
            meta = pod.get("metadata") or {}
            key = pod_key(pod)
            try:
                result = self._client.evict(str(meta.get("namespace")), str(meta.get("name")), meta.get("uid"))
            except K8sApiError as exc:
                if exc.status in _STOP_STATUSES:
                    raise
                failed.append(key)
                ctx.log.warning("eviction_failed", pod=key, error=exc.to_dict())
                continue
            if result.outcome == "evicted":
                evicted.append(key)
                state["evictions_sent"] = int(state.get("evictions_sent") or 0) + 1
                tracked = state.setdefault("evicted", {})
                if key not in tracked and len(tracked) < _MAX_TRACKED:
                    tracked[key] = {"uid": meta.get("uid"), "at": ctx.now}
            elif result.outcome == "blocked":
                blocked.append(key)
                state["blocked_answers"] = int(state.get("blocked_answers") or 0) + 1
                ctx.log.info("eviction_blocked", pod=key, message=result.message, causes=result.causes)
            else:
                gone.append(key)
        if evicted:
            ctx.log.info("pods_evicted", pods=evicted[:_MAX_NAMES], count=len(evicted))
        return evicted, blocked, gone, failed, len(ordered) - tried

    @staticmethod
    def _forget_absent(state: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        """Drop tracked evictions of pods no longer on the node."""
        present = {(pod_key(pod), (pod.get("metadata") or {}).get("uid")) for pod in pods}
        tracked = state.get("evicted") or {}
        state["evicted"] = {key: info for key, info in tracked.items() if (key, info.get("uid")) in present}

    @staticmethod
    def _pending(state: Mapping[str, Any], now: float) -> PendingWork | None:
        """Pod counts for logs and the deadline alert; age of the oldest eviction still running."""
        counts = state.get("last_counts")
        if not counts:
            return None
        started = [float(info["at"]) for info in (state.get("evicted") or {}).values() if "at" in info]
        return PendingWork(
            pending_jobs=None,
            oldest_pending_age_seconds=(now - min(started)) if started else None,
            breakdown=dict(counts),
            measured_at=now,
        )


def build_eks_strategy(env: Mapping[str, str], clients: AwsClients, clock: Clock) -> EksNodeStrategy:
    """The strategy configured by the environment (see :mod:`lifecycle_drain.eks.config`)."""
    settings = EksSettings.from_env(env)
    source: EndpointSource
    if settings.endpoint:
        source = StaticEndpoint(ClusterEndpoint(url=settings.endpoint, ca_pem=settings.ca_pem))
    else:
        source = DescribeClusterEndpoint(lambda: clients.get("eks"), settings.cluster_name)
    tokens = EksTokenProvider(lambda: clients.get("sts"), settings.cluster_name, clock)
    client = K8sClient(source, tokens, timeout_seconds=settings.request_timeout_seconds)

    def presence(target: DrainTarget) -> Presence:
        inspector = InstanceInspector(clients.ec2, clients.autoscaling)
        group = inspector.group(target.asg_name)
        return inspector.presence(
            target.instance_id, group, warm_pool_involved=ORIGIN_WARM_POOL in (target.origin, target.destination)
        )

    return EksNodeStrategy(
        client=client,
        instance_presence=presence,
        node_label_selector=settings.node_label_selector,
        max_evictions_per_step=settings.max_evictions_per_step,
    )
