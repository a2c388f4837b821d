"""Drain strategy for an EC2 RudderStack data-plane instance.

rudder-server has no drain endpoint: it keeps every accepted event in its PostgreSQL jobsdb
until delivered. Draining therefore means: stop new traffic, then wait until nothing is pending.

Phases (persisted in the strategy state):

``deregister``
    Find the target groups of the instance's Auto Scaling group (``TargetGroupARNs`` and elbv2
    ``TrafficSources``), deregister every registration of the instance that is not already
    ``draining``, and wait (one step per poll interval) until no target group lists it. The time
    this is first observed is ``deregistered_at``.
``check``
    Cycle: send the on-node check (SSM ``SendCommand``), read its result a few seconds later
    (``GetCommandInvocation``; re-read while it runs, give up as "cannot tell" after the command
    timeout plus a grace period), then wait one poll interval and send the next one. Pending or
    cannot-tell: keep waiting. Drained counts only when the command was sent at or after
    ``deregistered_at`` (so no traffic could arrive after the check started) and a final pass
    over the target groups still finds the instance in none; then the drain is ``DONE``.

Waiting check (``DRAIN_CHECK_WAIT_SECONDS`` > 0). The document does not answer at once: it runs
``rudder-drain-wait``, which re-runs the check on the instance every second and exits the moment the
jobsdb is drained (or after at most that many seconds, with the last verdict). One command then
covers the whole drain, and the step that sent it names the command as its wake key: the command's
status-change event runs the next step at once, which reads the result as above. Without an event
the command is read ``check_result_delay_seconds`` after it was sent (a jobsdb that is already empty,
or an event that raced the step) and then every ``FALLBACK_POLL_SECONDS``. A command that ended
pending or "cannot tell" after running at least one poll interval is followed by the next one in the
same step; one that ended sooner (it failed to run) is sent again after the poll interval.

Warm pools. An instance going from the group into the warm pool (``Destination`` ``WarmPool``)
served traffic and serves none afterwards: it is drained exactly like a terminating one. An
instance leaving the warm pool to be terminated (``Origin`` ``WarmPool``) never served traffic,
so it never accepted events and its jobsdb holds nothing of ours (a stopped or hibernated
warm-pool instance could not even run the check): after verifying that it is registered in no
target group it is completed at once. If it *is* found registered (unexpected), it may have
received traffic, so the full drain runs instead.

The instance disappearing (terminated, unknown to EC2, no longer in its group) is ``GONE``.
Every step is a handful of API calls; repeating a step (retried invocation) at worst sends one
more check or repeats a deregistration, both harmless.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from ..messages import ORIGIN_WARM_POOL, command_wake_key
from ..strategy import PendingWork, Progress, ProgressKind, StepResult, StrategyContext
from .instances import GroupView, InstanceInspector, Presence
from .ssm_check import CheckResult, CheckUndeliverable, DrainCheck, Verdict
from .target_groups import SweepResult, TargetGroups

STRATEGY_NAME = "ec2-data-plane"


class Phase(enum.StrEnum):
    """Phase of an EC2 data-plane drain."""

    DEREGISTER = "deregister"
    CHECK = "check"


class Ec2DataPlaneStrategy:
    """Target-group deregistration plus the on-node jobsdb check (see the module docstring)."""

    name = STRATEGY_NAME

    def __init__(
        self,
        *,
        instances: InstanceInspector,
        target_groups: TargetGroups,
        check: DrainCheck,
        result_delay_seconds: int = 5,
        command_grace_seconds: int = 30,
        check_wait_seconds: int = 0,
        fallback_poll_seconds: int = 600,
    ) -> None:
        """Compose the strategy from its three collaborators (``check_wait_seconds`` > 0: a waiting check)."""
        self._instances = instances
        self._target_groups = target_groups
        self._check = check
        self._result_delay = max(1, int(result_delay_seconds))
        self._command_grace = max(0, int(command_grace_seconds))
        self._wait_seconds = max(0, int(check_wait_seconds))
        self._fallback_poll = max(1, int(fallback_poll_seconds))

    # -- DrainStrategy -------------------------------------------------------

    def start(self, ctx: StrategyContext) -> StepResult:
        """First step: decide full drain vs. warm-pool shortcut, then start deregistering."""
        from_warm_pool = ctx.target.origin == ORIGIN_WARM_POOL
        state: dict[str, Any] = {
            "phase": Phase.DEREGISTER.value,
            "full_drain": not from_warm_pool,
            "was_registered": False,
            "deregistered_at": None,
            "command": None,
            "checks_sent": 0,
            "last_check": None,
            "last_pending": None,
        }
        if from_warm_pool:
            ctx.log.info(
                "warm_pool_instance_terminating",
                decision="never served traffic: verify it is in no target group, then complete without a jobsdb check",
                origin=ctx.target.origin,
                destination=ctx.target.destination,
            )
        return self._step(ctx, state)

    def poll(self, ctx: StrategyContext, state: Mapping[str, Any]) -> StepResult:
        """A later step."""
        return self._step(ctx, dict(state))

    def cleanup(self, ctx: StrategyContext, state: Mapping[str, Any], outcome: str) -> None:
        """Nothing to release: an outstanding check finishes (or dies with the instance) by itself."""
        command = state.get("command")
        if command:
            ctx.log.info("drain_check_left_running", command_id=command.get("id"), outcome=outcome)

    # -- phases --------------------------------------------------------------

    def _step(self, ctx: StrategyContext, state: dict[str, Any]) -> StepResult:
        """Dispatch on the phase."""
        if state.get("phase") == Phase.CHECK.value:
            return self._check_phase(ctx, state)
        return self._deregister_phase(ctx, state)

    def _warm_pool_involved(self, ctx: StrategyContext) -> bool:
        """Whether the instance may legitimately be listed in the warm pool instead of the group."""
        return ORIGIN_WARM_POOL in (ctx.target.origin, ctx.target.destination)

    def _presence(self, ctx: StrategyContext, group: GroupView | None = None) -> tuple[GroupView, Presence]:
        """Group view and presence of the instance."""
        view = group if group is not None else self._instances.group(ctx.target.asg_name)
        presence = self._instances.presence(
            ctx.target.instance_id, view, warm_pool_involved=self._warm_pool_involved(ctx)
        )
        return view, presence

    def _deregister_phase(self, ctx: StrategyContext, state: dict[str, Any]) -> StepResult:
        """Deregister from every target group and wait out the draining state."""
        group, presence = self._presence(ctx)
        if not presence.present:
            return StepResult(Progress.gone(presence.reason, ec2_state=presence.ec2_state), state)
        sweep = self._target_groups.sweep(group.target_group_arns, ctx.target.instance_id)
        self._log_sweep(ctx, sweep)
        if sweep.was_registered:
            state["was_registered"] = True
            if not state.get("full_drain"):
                state["full_drain"] = True
                ctx.log.warning(
                    "warm_pool_instance_was_registered",
                    decision="it may have received traffic: running the full drain",
                    registrations=[item.to_dict() for item in (*sweep.deregistered, *sweep.draining)],
                )
        if not sweep.clear:
            reason = "deregistering_from_target_groups" if sweep.deregistered else "waiting_for_target_draining"
            return StepResult(
                Progress.in_progress(
                    reason,
                    self._last_pending(state),
                    registrations=[item.to_dict() for item in (*sweep.deregistered, *sweep.draining)],
                ),
                state,
            )
        state["deregistered_at"] = ctx.now
        if not state.get("full_drain"):
            return StepResult(
                Progress.done("warm_pool_instance_never_served_traffic", target_groups=list(group.target_group_arns)),
                state,
            )
        state["phase"] = Phase.CHECK.value
        ctx.log.info("deregistered_from_target_groups", target_groups=list(group.target_group_arns))
        return self._send_check(ctx, state, presence_checked=True)

    def _check_phase(self, ctx: StrategyContext, state: dict[str, Any]) -> StepResult:
        """Send a check, or read the one in flight."""
        command = state.get("command")
        if not command:
            return self._send_check(ctx, state, presence_checked=False)
        result = self._check.fetch(str(command["id"]), ctx.target.instance_id)
        if result is None:
            limit = self._wait_seconds + self._check.timeout_seconds + self._command_grace
            if ctx.now - float(command["sent_at"]) <= limit:
                return self._still_running(ctx, state, str(command["id"]))
            result = CheckResult.unknown("check_did_not_finish_in_time")
        state["command"] = None
        state["last_check"] = {**result.to_dict(), "sent_at": command["sent_at"], "read_at": ctx.now}
        if result.verdict is Verdict.PENDING:
            state["last_pending"] = PendingWork(
                pending_jobs=result.pending_jobs,
                oldest_pending_age_seconds=result.oldest_pending_age_seconds,
                breakdown=result.prefixes,
                measured_at=ctx.now,
            ).to_dict()
            if self._send_next_at_once(ctx, command):
                return self._send_check(ctx, state, presence_checked=False)
            return StepResult(Progress.in_progress("jobs_pending", self._last_pending(state)), state)
        if result.verdict is Verdict.DRAINED:
            return self._confirm_drained(ctx, state, float(command["sent_at"]), result)
        step = self._cannot_tell(ctx, state, result)
        if step.progress.kind is ProgressKind.IN_PROGRESS and self._send_next_at_once(ctx, command):
            return self._send_check(ctx, state, presence_checked=True)
        return step

    def _still_running(self, ctx: StrategyContext, state: dict[str, Any], command_id: str) -> StepResult:
        """The check has not finished: read it again soon (one-shot), or wait for its event (waiting check)."""
        if not self._wait_seconds:
            return StepResult(
                Progress.in_progress("check_running", self._last_pending(state), command_id=command_id),
                state,
                delay_seconds=self._result_delay,
            )
        # Woken but not final yet (GetCommandInvocation may lag the event): look again shortly.
        delay = self._result_delay if ctx.woken_by else self._fallback_poll
        return StepResult(
            Progress.in_progress("check_waiting_on_node", self._last_pending(state), command_id=command_id),
            state,
            delay_seconds=delay,
            wake_key=command_wake_key(command_id),
        )

    def _send_next_at_once(self, ctx: StrategyContext, command: Mapping[str, Any]) -> bool:
        """A waiting check that ran its course (not one that failed at once) is followed without a pause."""
        return bool(self._wait_seconds) and ctx.now - float(command["sent_at"]) >= ctx.poll_interval_seconds

    def _confirm_drained(
        self, ctx: StrategyContext, state: dict[str, Any], sent_at: float, result: CheckResult
    ) -> StepResult:
        """Accept a drained result only if it is confirmed (see the module docstring)."""
        deregistered_at = state.get("deregistered_at")
        if deregistered_at is None or sent_at < float(deregistered_at):
            ctx.log.warning("drained_result_not_confirmed", sent_at=sent_at, deregistered_at=deregistered_at)
            return StepResult(Progress.in_progress("drained_result_predates_deregistration"), state)
        group, presence = self._presence(ctx)
        if not presence.present:
            return StepResult(Progress.gone(presence.reason, ec2_state=presence.ec2_state), state)
        sweep = self._target_groups.sweep(group.target_group_arns, ctx.target.instance_id)
        if not sweep.clear:
            ctx.log.warning(
                "instance_registered_again",
                registrations=[item.to_dict() for item in (*sweep.deregistered, *sweep.draining)],
            )
            state["phase"] = Phase.DEREGISTER.value
            state["deregistered_at"] = None
            return StepResult(Progress.in_progress("registered_again_in_target_group"), state)
        state["last_pending"] = PendingWork(pending_jobs=0, breakdown=result.prefixes, measured_at=ctx.now).to_dict()
        return StepResult(
            Progress.done("jobsdb_drained", checked_at=result.checked_at, checks_sent=state.get("checks_sent")),
            state,
        )

    def _cannot_tell(self, ctx: StrategyContext, state: dict[str, Any], result: CheckResult) -> StepResult:
        """Cannot tell: never drained. Find out whether the instance is simply gone."""
        _, presence = self._presence(ctx)
        if not presence.present:
            return StepResult(Progress.gone(presence.reason, ec2_state=presence.ec2_state), state)
        ctx.log.warning(
            "drain_check_cannot_tell",
            check_reason=result.reason,
            response_code=result.response_code,
            ssm_status=result.ssm_status,
            status_details=result.status_details,
            check_error=result.error,
        )
        return StepResult(
            Progress.in_progress(f"cannot_tell:{result.reason}", self._last_pending(state), check_error=result.error),
            state,
        )

    def _send_check(self, ctx: StrategyContext, state: dict[str, Any], *, presence_checked: bool) -> StepResult:
        """Send the on-node check; its result is read ``result_delay_seconds`` later."""
        if not presence_checked:
            _, presence = self._presence(ctx)
            if not presence.present:
                return StepResult(Progress.gone(presence.reason, ec2_state=presence.ec2_state), state)
        comment = f"rudder-ha drain check {ctx.target.instance_id} step {ctx.step}"
        try:
            command_id = self._check.send(ctx.target.instance_id, comment)
        except CheckUndeliverable as exc:
            state["last_check"] = {
                **CheckResult.unknown("check_undeliverable", error=str(exc)).to_dict(),
                "read_at": ctx.now,
            }
            ctx.log.warning("drain_check_undeliverable", error=str(exc))
            return StepResult(Progress.in_progress("cannot_tell:check_undeliverable", self._last_pending(state)), state)
        state["command"] = {"id": command_id, "sent_at": ctx.now}
        state["checks_sent"] = int(state.get("checks_sent") or 0) + 1
        return StepResult(
            Progress.in_progress("check_sent", self._last_pending(state), command_id=command_id),
            state,
            delay_seconds=self._result_delay,
            wake_key=command_wake_key(command_id) if self._wait_seconds else None,
        )

    # -- helpers ---------------------------------------------------------------

    @staticmethod
    def _last_pending(state: Mapping[str, Any]) -> PendingWork | None:
        """The last pending counts measured (for logs and the deadline alert)."""
        return PendingWork.from_dict(state.get("last_pending"))

    @staticmethod
    def _log_sweep(ctx: StrategyContext, sweep: SweepResult) -> None:
        """Log what a target-group pass did."""
        if sweep.deregistered:
            ctx.log.info("deregistering_targets", registrations=[item.to_dict() for item in sweep.deregistered])
        if sweep.missing_target_groups:
            ctx.log.warning("target_groups_not_found", target_groups=list(sweep.missing_target_groups))
