"""The generic lifecycle-drain engine.

One drain = one terminating lifecycle action (one ``LifecycleActionToken``). It runs as a chain
of short *steps*; each step does bounded work and ends by sending a delayed continuation message
to the function's own queue, so a drain can last hours while no invocation lasts more than a
few seconds. The engine owns idempotency, persisted state, scheduling, heartbeats, the deadline
alert, completion and cleanup; a :class:`lifecycle_drain.strategy.DrainStrategy` owns "what draining means".

Step protocol (correct under at-least-once, out-of-order and concurrent delivery):

* The lifecycle event is step ``0`` of its drain; a continuation carries its step number
  ``seq``. The drain record stores the ``seq`` allowed to run next.
* A message runs only if its ``seq`` equals the record's ``seq`` and no other invocation holds
  that step. Smaller ``seq`` (an old continuation, a duplicate or replayed event) or a finished
  drain: dropped. Larger ``seq`` (its predecessor has not committed yet) or a step held by a live
  lease (a concurrent duplicate): reported as a batch item failure, so SQS redelivers it after
  the visibility timeout and it is re-judged then. Dropping those could lose the chain if the
  other holder crashed.
* Claiming a step is a conditional write (``version`` unchanged) that sets ``RUNNING`` and a
  lease (remaining invocation time + margin). Two invocations cannot both claim it; a step that
  fails with an error hands its claim back (conditional on still owning it) so its retry runs at
  once; a crashed holder's lease expires and the redelivered message takes the step over.
* A step sends the continuation for ``seq + 1`` *before* committing ``seq + 1`` (conditional
  again). So a committed ``seq`` always has its message in flight, and a failure before the
  commit leaves the step claimable for the redelivered message. The price is an occasional
  duplicate continuation, which the rules above drop.
* A decision to complete the lifecycle action is persisted (``completion_requested``) before
  ``CompleteLifecycleAction`` is sent; a retried step re-sends it instead of checking again.
* Before its first side effect, a new drain records a heartbeat with the token: if AWS answers
  "No active Lifecycle Action", the event was replayed or is for an old action, and the drain
  ends as ``NOT_ACTIVE`` without touching the instance.

Wake-up signals (a Run Command status-change event, :class:`lifecycle_drain.messages.CommandSignal`)
let a step run before its delayed message, without weakening any rule above:

* A step that waits on a signal names its wake key (``StepResult.wake_key``); the key is linked to
  the drain (a ``wake#<key>`` item) *before* the step commits, and the committed record stores it
  (``wake_key``). The step's delayed continuation is sent as always: it is the fallback when no
  signal comes, so a lost, late or filtered event costs at most that delay.
* A signal carries no ``seq``: it asks for "the current step of the drain waiting on me". It runs
  step ``record.seq`` only if the drain is not finished, its stored ``wake_key`` is the signal's
  key and the step is not held by a live lease; it claims the step exactly as a message does
  (conditional write), so the signal and the delayed message can never both run it. The step
  commits ``seq + 1`` with its continuation in flight; the earlier continuation of ``seq`` then
  arrives stale and is dropped.
* A signal whose key links to no drain (a foreign or old command), whose instance is not the
  drain's, that arrives for a finished drain or after the drain stopped waiting on it (a duplicate
  event, or one overtaken by the delayed message) is acknowledged with one log line, nothing
  written. One arriving while the step is held elsewhere is retried later (batch item failure) and
  re-judged then; by then it is usually stale.
* A signal never decides anything: the woken step reads the command's result from SSM
  (``GetCommandInvocation``) like any other step, so a forged or replayed event can at most make a
  step run early.

Input that must not cause any write is acknowledged at once, with one log line saying why:
malformed bodies (:class:`lifecycle_drain.messages.Rejected`), messages that need no action
(:class:`lifecycle_drain.messages.Ignored`), lifecycle events of an Auto Scaling group this
deployment does not own (not in ``DRAIN_ASG_NAMES``) and command events of another SSM document than
``DRAIN_CHECK_DOCUMENT`` (both checked before the state table is read).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping

from .alerts import KIND_COMPLETED, KIND_DEADLINE_EXCEEDED, AlertPublisher
from .clock import Clock, iso8601
from .config import DrainConfig
from .heartbeat import plan_heartbeat
from .lifecycle import ABANDON, CONTINUE, MAX_GLOBAL_TIMEOUT, LifecycleActionNotActive, LifecycleHooks
from .logs import JsonLogger
from .messages import CommandSignal, Continuation, Ignored, LifecycleEvent, Rejected, parse_body
from .scheduler import StepScheduler
from .state import ConflictError, DrainRecord, DrainStore, Outcome, Status, StepState, record_key
from .strategy import DrainStrategy, DrainTarget, Progress, ProgressKind, StepResult, StrategyContext

MAX_HOOK_WAIT_SECONDS = MAX_GLOBAL_TIMEOUT
"""The longest a lifecycle action can wait (AWS's cap on its global timeout): how long a record must live."""


class Disposition(enum.StrEnum):
    """What to do with the SQS message after handling it."""

    ACK = "ACK"  # handled or deliberately dropped: let Lambda delete it
    RETRY = "RETRY"  # report as a batch item failure: SQS redelivers it later


StrategySelector = Callable[[LifecycleEvent], str]


class DrainEngine:
    """Runs drain steps for lifecycle events and continuation messages."""

    def __init__(
        self,
        *,
        config: DrainConfig,
        store: DrainStore,
        hooks: LifecycleHooks,
        scheduler: StepScheduler,
        alerts: AlertPublisher,
        strategies: Mapping[str, DrainStrategy],
        select_strategy: StrategySelector,
        clock: Clock,
        log: JsonLogger,
    ) -> None:
        """Wire the engine; ``select_strategy`` picks the strategy name for a new drain."""
        self._config = config
        self._store = store
        self._hooks = hooks
        self._scheduler = scheduler
        self._alerts = alerts
        self._strategies = dict(strategies)
        self._select_strategy = select_strategy
        self._clock = clock
        self._log = log

    # -- entry point -----------------------------------------------------------

    def handle_body(self, body: object, *, lease_seconds: float) -> Disposition:
        """Handle one SQS message body. AWS errors propagate (the caller retries the message)."""
        parsed = parse_body(body)
        if isinstance(parsed, Rejected):
            self._log.warning("message_rejected", reason=parsed.reason, **parsed.fields)
            return Disposition.ACK
        if isinstance(parsed, Ignored):
            self._log.info("message_ignored", reason=parsed.reason, **parsed.fields)
            return Disposition.ACK
        if isinstance(parsed, LifecycleEvent) and parsed.asg_name not in self._config.asg_names:
            self._log.warning(
                "event_for_foreign_group",
                reason="the Auto Scaling group is not one this function drains (DRAIN_ASG_NAMES)",
                asg_name=parsed.asg_name,
                owned_groups=sorted(self._config.asg_names),
                instance_id=parsed.instance_id,
                token=parsed.token,
                action="dropped, nothing written",
            )
            return Disposition.ACK
        if isinstance(parsed, CommandSignal) and parsed.document_name != self._config.check_document:
            self._log.warning(
                "message_ignored",
                reason="command_of_another_document",
                document_name=parsed.document_name,
                check_document=self._config.check_document or None,
                command_id=parsed.command_id,
                instance_id=parsed.instance_id,
                action="dropped, nothing read or written",
            )
            return Disposition.ACK
        try:
            if isinstance(parsed, LifecycleEvent):
                return self._on_lifecycle_event(parsed, lease_seconds)
            if isinstance(parsed, CommandSignal):
                return self._on_command_signal(parsed, lease_seconds)
            return self._on_continuation(parsed, lease_seconds)
        except ConflictError as exc:
            self._log.info("write_conflict", pk=str(exc), action="retry later")
            return Disposition.RETRY

    # -- message kinds ---------------------------------------------------------

    def _on_lifecycle_event(self, event: LifecycleEvent, lease_seconds: float) -> Disposition:
        """A lifecycle event: create the drain (step 0), or treat it as a step-0 message."""
        log = self._log.bind(
            token=event.token, instance_id=event.instance_id, asg_name=event.asg_name, hook_name=event.hook_name
        )
        pk = record_key(event.token)
        record = self._store.get(pk)
        if record is None:
            now = self._clock.now()
            record = self._new_record(event, now, lease_seconds)
            try:
                record = self._store.create(record)
            except ConflictError:
                log.info("drain_create_race", action="retry later")
                return Disposition.RETRY
            log.info(
                "lifecycle_event_accepted",
                origin=event.origin,
                destination=event.destination,
                strategy=record.strategy,
                event_id=event.event_id,
            )
            if event.metadata_original_bytes is not None:
                log.warning(
                    "notification_metadata_truncated",
                    original_bytes=event.metadata_original_bytes,
                    stored_bytes=len((event.notification_metadata or "").encode("utf-8")),
                )
            return self._run_claimed(record, log)
        if record.instance_id != event.instance_id or record.asg_name != event.asg_name:
            log.warning(
                "token_reused_for_other_instance",
                recorded_instance_id=record.instance_id,
                recorded_asg_name=record.asg_name,
            )
            return Disposition.ACK
        return self._on_step_message(record, 0, "lifecycle_event", lease_seconds, log)

    def _on_continuation(self, message: Continuation, lease_seconds: float) -> Disposition:
        """A continuation: run its step if it is the current one."""
        log = self._log.bind(
            token=message.token, instance_id=message.instance_id, asg_name=message.asg_name, seq=message.seq
        )
        record = self._store.get(message.pk)
        if record is None:
            log.warning("continuation_for_unknown_drain", pk=message.pk)
            return Disposition.ACK
        if (record.token, record.instance_id, record.asg_name) != (
            message.token,
            message.instance_id,
            message.asg_name,
        ):
            log.warning("continuation_does_not_match_drain", pk=message.pk)
            return Disposition.ACK
        return self._on_step_message(
            record, message.seq, "continuation", lease_seconds, log.bind(hook_name=record.hook_name)
        )

    def _on_command_signal(self, signal: CommandSignal, lease_seconds: float) -> Disposition:
        """A check command finished: run the step waiting on it now (see the module docstring)."""
        key = signal.wake_key
        log = self._log.bind(
            command_id=signal.command_id,
            instance_id=signal.instance_id,
            command_status=signal.status,
            event_id=signal.event_id,
        )
        pk = self._store.drain_for_wake_key(key)
        if pk is None:
            log.info("message_ignored", reason="command_of_no_drain", action="dropped, nothing written")
            return Disposition.ACK
        record = self._store.get(pk)
        if record is None:
            log.warning("message_ignored", reason="command_of_unknown_drain", pk=pk, action="dropped, nothing written")
            return Disposition.ACK
        if record.instance_id != signal.instance_id:
            log.warning(
                "message_ignored",
                reason="command_instance_is_not_the_drains",
                drain_instance_id=record.instance_id,
                action="dropped, nothing written",
            )
            return Disposition.ACK
        log = log.bind(token=record.token, asg_name=record.asg_name, hook_name=record.hook_name)
        if record.status is Status.DONE:
            log.info("duplicate_for_finished_drain", source="command_signal", outcome=record.outcome)
            return Disposition.ACK
        if record.step_state is StepState.RUNNING and record.lease_until > self._clock.now():
            log.info("step_in_progress_elsewhere", source="command_signal", seq=record.seq)
            return Disposition.RETRY
        if record.wake_key != key:
            log.info(
                "stale_command_signal",
                reason="the drain no longer waits on this command",
                seq=record.seq,
                waiting_on=record.wake_key,
            )
            return Disposition.ACK
        log.info("drain_woken", seq=record.seq)
        return self._on_step_message(record, record.seq, "command_signal", lease_seconds, log, woken_by=key)

    def _on_step_message(
        self,
        record: DrainRecord,
        seq: int,
        source: str,
        lease_seconds: float,
        log: JsonLogger,
        *,
        woken_by: str | None = None,
    ) -> Disposition:
        """Apply the step protocol (see the module docstring)."""
        now = self._clock.now()
        if record.status is Status.DONE:
            log.info("duplicate_for_finished_drain", source=source, seq=seq, outcome=record.outcome)
            return Disposition.ACK
        if seq < record.seq:
            log.info("stale_step_message", source=source, seq=seq, current_seq=record.seq)
            return Disposition.ACK
        if seq > record.seq:
            log.info("step_message_ahead_of_state", source=source, seq=seq, current_seq=record.seq)
            return Disposition.RETRY
        if record.step_state is StepState.RUNNING and record.lease_until > now:
            log.info("step_in_progress_elsewhere", source=source, seq=seq, lease_until=record.lease_until)
            return Disposition.RETRY
        if record.step_state is StepState.RUNNING:
            log.warning("step_lease_expired_taking_over", seq=seq, lease_until=record.lease_until)
        claimed = self._store.save(
            record.evolve(
                step_state=StepState.RUNNING,
                lease_until=now + lease_seconds,
                attempts=record.attempts + 1,
                updated_at=now,
            )
        )
        return self._run_claimed(claimed, log, woken_by)

    # -- one step ----------------------------------------------------------------

    def _run_claimed(self, record: DrainRecord, log: JsonLogger, woken_by: str | None = None) -> Disposition:
        """Run the claimed step ``record.seq``; on failure hand the claim back, then re-raise."""
        try:
            return self._run_step(record, log, woken_by)
        except Exception as exc:
            try:
                released = self._store.release(record)
            except Exception as release_exc:  # the lease expires by itself
                log.warning("step_release_failed", error=f"{type(release_exc).__name__}: {release_exc}")
            else:
                log.info("step_failed_released" if released else "step_failed_not_released", error=type(exc).__name__)
            raise

    def _run_step(self, record: DrainRecord, log: JsonLogger, woken_by: str | None = None) -> Disposition:
        """The work of one claimed step (``woken_by``: the wake key whose signal started it)."""
        strategy = self._strategies.get(record.strategy)
        if strategy is None:
            log.error("unknown_drain_strategy", strategy=record.strategy)
            return Disposition.RETRY
        now = self._clock.now()
        ctx = self._context(record, now, log, woken_by)
        if record.completion_requested:
            return self._complete(
                record, strategy, ctx, record.completion_requested, "completion retried", retried=True
            )
        if record.seq == 0:
            try:
                self._hooks.heartbeat(record.asg_name, record.hook_name, record.token, record.instance_id)
            except LifecycleActionNotActive as exc:
                log.info("lifecycle_action_not_active", aws_message=exc.message, decision="nothing to drain")
                return self._finish(record, strategy, ctx, Outcome.NOT_ACTIVE, "lifecycle action not active")
            settings = self._hooks.describe(record.asg_name, record.hook_name)
            if not settings.described:
                log.warning("lifecycle_hook_not_described", assumed_heartbeat_timeout=settings.heartbeat_timeout)
            record = record.evolve(
                heartbeat_timeout=settings.heartbeat_timeout,
                global_timeout=settings.global_timeout,
                default_result=settings.default_result,
                last_heartbeat_at=now,
                heartbeat_count=record.heartbeat_count + 1,
            )
            log.info(
                "drain_started",
                heartbeat_timeout=settings.heartbeat_timeout,
                global_timeout=settings.global_timeout,
                default_result=settings.default_result,
                started_at=iso8601(record.started_at),
                deadline_at=iso8601(record.deadline_at),
            )
            result = strategy.start(ctx)
        else:
            result = strategy.poll(ctx, record.strategy_state)
        record = record.evolve(
            strategy_state=result.state,
            last_progress={**result.progress.to_dict(), "at": now, "step": record.seq},
        )
        progress = result.progress
        if progress.kind is ProgressKind.GONE:
            return self._finish(record, strategy, ctx, Outcome.GONE, progress.reason)
        if progress.kind is ProgressKind.DONE:
            log.info("drain_confirmed", reason=progress.reason, **progress.details)
            return self._request_completion(record, strategy, ctx, CONTINUE, progress.reason)
        return self._wait(record, strategy, ctx, result)

    def _wait(
        self, record: DrainRecord, strategy: DrainStrategy, ctx: StrategyContext, result: StepResult
    ) -> Disposition:
        """Still draining: deadline handling, heartbeat, next step."""
        now = ctx.now
        log = ctx.log
        progress = result.progress
        if now >= record.deadline_at:
            if record.deadline_alerted_at is None:
                self._publish_deadline_alert(record, progress, now)
                record = self._store.save(record.evolve(deadline_alerted_at=now, updated_at=now))
                log.warning("drain_deadline_exceeded", deadline_at=iso8601(record.deadline_at), reason=progress.reason)
            if self._config.abandon_after_deadline:
                log.warning(
                    "abandoning_after_deadline",
                    note="ABANDON_AFTER_DEADLINE=true: the instance terminates with its jobsdb "
                    "possibly not drained; events may be lost",
                    reason=progress.reason,
                    **self._pending_fields(progress),
                )
                return self._request_completion(record, strategy, ctx, ABANDON, "deadline exceeded")

        requested = result.delay_seconds if result.delay_seconds is not None else self._config.poll_interval_seconds
        plan = plan_heartbeat(
            now=now,
            last_heartbeat_at=record.last_heartbeat_at,
            heartbeat_timeout=record.heartbeat_timeout,
            global_deadline=record.global_deadline,
            requested_delay=max(1, requested),
            margin=self._config.heartbeat_margin_seconds,
            reserve=self._config.crash_redelivery_seconds if result.wake_key else 0,
        )
        if plan.send_now:
            try:
                self._hooks.heartbeat(record.asg_name, record.hook_name, record.token, record.instance_id)
            except LifecycleActionNotActive as exc:
                log.info("lifecycle_action_ended_elsewhere", aws_message=exc.message)
                return self._finish(record, strategy, ctx, Outcome.ALREADY_ENDED, "lifecycle action no longer active")
            record = record.evolve(last_heartbeat_at=now, heartbeat_count=record.heartbeat_count + 1)
        if plan.near_global_timeout and not record.global_timeout_warned:
            log.error(
                "global_timeout_imminent",
                global_deadline=iso8601(record.global_deadline),
                default_result=record.default_result,
                note="the hook's global timeout cannot be extended; Auto Scaling will apply the "
                "DefaultResult and terminate the instance whatever the drain state",
                reason=progress.reason,
                **self._pending_fields(progress),
            )
            record = record.evolve(global_timeout_warned=True)

        if result.wake_key and result.wake_key != record.wake_key:
            # Linked before the commit: a signal that finds the record still RUNNING is retried.
            self._store.link_wake_key(result.wake_key, record.pk, record.expires_at)
        following = record.evolve(
            seq=record.seq + 1,
            step_state=StepState.SCHEDULED,
            lease_until=0.0,
            updated_at=now,
            wake_key=result.wake_key,
        )
        self._scheduler.schedule(
            Continuation(
                pk=record.pk,
                token=record.token,
                instance_id=record.instance_id,
                asg_name=record.asg_name,
                seq=following.seq,
            ),
            plan.delay_seconds,
        )
        try:
            self._store.save(following)
        except ConflictError:
            log.warning("step_commit_lost", seq=record.seq, action="retry later")
            return Disposition.RETRY
        log.info(
            "drain_waiting",
            step=record.seq,
            reason=progress.reason,
            next_step_in_seconds=plan.delay_seconds,
            heartbeat_sent=plan.send_now,
            hook_expires_at=iso8601(plan.hook_expires_at),
            waiting_on=result.wake_key,
            **self._pending_fields(progress),
        )
        return Disposition.ACK

    # -- completion ----------------------------------------------------------------

    def _request_completion(
        self, record: DrainRecord, strategy: DrainStrategy, ctx: StrategyContext, result: str, reason: str
    ) -> Disposition:
        """Persist the decision, then complete the lifecycle action."""
        record = self._store.save(record.evolve(completion_requested=result, updated_at=ctx.now))
        return self._complete(record, strategy, ctx, result, reason, retried=False)

    def _complete(
        self,
        record: DrainRecord,
        strategy: DrainStrategy,
        ctx: StrategyContext,
        result: str,
        reason: str,
        *,
        retried: bool,
    ) -> Disposition:
        """CompleteLifecycleAction; "not active" is success when re-sending our own earlier call."""
        outcome = Outcome.CONTINUE if result == CONTINUE else Outcome.ABANDON
        try:
            self._hooks.complete(record.asg_name, record.hook_name, record.token, record.instance_id, result)
        except LifecycleActionNotActive as exc:
            # On a retry our first call most likely went through; otherwise the action was
            # completed or timed out elsewhere before we got to it.
            ctx.log.info(
                "lifecycle_action_not_active_on_completion", aws_message=exc.message, requested=result, retried=retried
            )
            if not retried:
                outcome = Outcome.ALREADY_ENDED
        return self._finish(record, strategy, ctx, outcome, reason)

    def _finish(
        self, record: DrainRecord, strategy: DrainStrategy, ctx: StrategyContext, outcome: Outcome, reason: str
    ) -> Disposition:
        """Mark the drain done, resolve its alert, clean up."""
        now = ctx.now
        if outcome is not Outcome.NOT_ACTIVE:
            try:
                strategy.cleanup(ctx, record.strategy_state, outcome.value)
            except Exception as exc:  # best effort by contract
                ctx.log.warning("strategy_cleanup_failed", error=f"{type(exc).__name__}: {exc}")
        done = record.evolve(
            status=Status.DONE,
            outcome=outcome,
            done_at=now,
            step_state=StepState.SCHEDULED,
            lease_until=0.0,
            updated_at=now,
            expires_at=int(now + self._config.record_retention_seconds),
        )
        if record.deadline_alerted_at is not None and not record.completion_notified:
            self._publish_completed(record, outcome, reason, now)
            done = done.evolve(completion_notified=True)
        self._store.save(done)
        fields = {
            "outcome": outcome.value,
            "reason": reason,
            "duration_seconds": round(now - record.started_at, 3),
            "heartbeats": record.heartbeat_count,
            "steps": record.seq + 1,
        }
        if outcome is Outcome.ABANDON:
            ctx.log.warning("drain_finished", note="completed with ABANDON: events may be lost", **fields)
        else:
            ctx.log.info("drain_finished", **fields)
        return Disposition.ACK

    # -- alerts ----------------------------------------------------------------------

    def _publish_deadline_alert(self, record: DrainRecord, progress: Progress, now: float) -> None:
        """Publish ``drain_deadline_exceeded`` (once per drain; the caller records it)."""
        pending = progress.pending
        count = pending.pending_jobs if pending else None
        what = f"{count} job(s) still pending" if count is not None else f"state: {progress.reason}"
        summary = (
            f"Drain of {record.instance_id} ({record.asg_name}) still running after "
            f"{int(now - record.started_at)} s (deadline {self._config.deadline_seconds} s); {what}"
        )
        self._alerts.publish(
            kind=KIND_DEADLINE_EXCEEDED,
            instance_id=record.instance_id,
            asg_name=record.asg_name,
            summary=summary,
            details={
                "pending_jobs": count,
                "oldest_pending_age_seconds": pending.oldest_pending_age_seconds if pending else None,
                "pending_by_prefix": pending.breakdown if pending else {},
                "pending_measured_at": iso8601(pending.measured_at) if pending and pending.measured_at else None,
                "state": progress.reason,
                "started_at": iso8601(record.started_at),
                "deadline": iso8601(record.deadline_at),
                "deadline_seconds": self._config.deadline_seconds,
                "global_timeout_at": iso8601(record.global_deadline) if record.global_timeout else None,
                "default_result": record.default_result or None,
                "abandon_after_deadline": self._config.abandon_after_deadline,
                "lifecycle_action_token": record.token,
                "lifecycle_hook_name": record.hook_name,
            },
            now=now,
        )

    def _publish_completed(self, record: DrainRecord, outcome: Outcome, reason: str, now: float) -> None:
        """Publish ``drain_completed`` so the deadline alert resolves."""
        summaries = {
            Outcome.CONTINUE: "drained; termination continues",
            Outcome.ABANDON: "abandoned after the deadline (events may be lost)",
            Outcome.GONE: "instance is gone",
            Outcome.ALREADY_ENDED: "lifecycle action ended elsewhere",
            Outcome.NOT_ACTIVE: "lifecycle action not active",
        }
        self._alerts.publish(
            kind=KIND_COMPLETED,
            instance_id=record.instance_id,
            asg_name=record.asg_name,
            summary=f"Drain of {record.instance_id} ({record.asg_name}) finished: {summaries[outcome]}",
            details={
                "outcome": outcome.value,
                "reason": reason,
                "started_at": iso8601(record.started_at),
                "deadline": iso8601(record.deadline_at),
                "finished_at": iso8601(now),
                "duration_seconds": round(now - record.started_at, 3),
                "lifecycle_action_token": record.token,
            },
            now=now,
        )

    # -- helpers -----------------------------------------------------------------------

    def _new_record(self, event: LifecycleEvent, now: float, lease_seconds: float) -> DrainRecord:
        """The record of a new drain, already claimed for step 0."""
        started = min(event.event_time, now) if event.event_time is not None else now
        return DrainRecord(
            pk=record_key(event.token),
            token=event.token,
            instance_id=event.instance_id,
            asg_name=event.asg_name,
            hook_name=event.hook_name,
            strategy=self._select_strategy(event),
            started_at=started,
            deadline_at=started + self._config.deadline_seconds,
            created_at=now,
            updated_at=now,
            expires_at=int(started + MAX_HOOK_WAIT_SECONDS + self._config.record_retention_seconds),
            origin=event.origin,
            destination=event.destination,
            notification_metadata=event.notification_metadata,
            seq=0,
            step_state=StepState.RUNNING,
            lease_until=now + lease_seconds,
            attempts=1,
        )

    def _context(
        self, record: DrainRecord, now: float, log: JsonLogger, woken_by: str | None = None
    ) -> StrategyContext:
        """The strategy context of a step."""
        return StrategyContext(
            target=DrainTarget(
                instance_id=record.instance_id,
                asg_name=record.asg_name,
                hook_name=record.hook_name,
                token=record.token,
                origin=record.origin,
                destination=record.destination,
                notification_metadata=record.notification_metadata,
            ),
            now=now,
            started_at=record.started_at,
            step=record.seq,
            poll_interval_seconds=self._config.poll_interval_seconds,
            log=log.bind(step=record.seq, strategy=record.strategy),
            woken_by=woken_by,
        )

    @staticmethod
    def _pending_fields(progress: Progress) -> dict[str, object]:
        """Pending counts of a progress, for log lines."""
        if progress.pending is None:
            return {}
        return {
            "pending_jobs": progress.pending.pending_jobs,
            "oldest_pending_age_seconds": progress.pending.oldest_pending_age_seconds,
        }
