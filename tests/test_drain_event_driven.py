"""The event-driven drain: one waiting check per drain, woken by SSM's status-change event.

The deployment's check document runs ``rudder-drain-wait`` (the check again every second on the
node); its command-status rule routes "EC2 Command Invocation Status-change Notification" to the
drain queue. The drain Lambda runs on the AWS emulation (virtual time) with the deployment's own
document and rule (:func:`tests.support.aws_emulation.provisioning.provision_data_plane` with
``waiting_check``); the check is the real ``ami/bin/rudder-drain-check`` against a throwaway
PostgreSQL, or scripted outcomes where the database does not matter.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from rudder_ha.parts.drain_pipeline import spec as drain_spec
from tests.support import aws_emulation as ae
from tests.support import jobsdb as jobs
from tests.support.lambda_loader import load_drain_lambda
from tests.support.postgres import ConnectionParams, jobsdb, postgres_server  # noqa: F401

GOAL_SECONDS = 5.0
"""Issue 16: CONTINUE within 5 s of the last job turning terminal."""


@pytest.fixture
def database(request: pytest.FixtureRequest) -> ConnectionParams:
    """A fresh jobsdb database."""
    return request.getfixturevalue("jobsdb")


def waiting_harness(emu: ae.AwsEmulation, **kwargs: Any) -> ae.DrainHarness:
    """A data plane with the deployment's waiting check and command-status rule."""
    return ae.build_harness(emu, waiting_check=True, **kwargs)


def at(emu: ae.AwsEmulation, when: float, action: Callable[[], None]) -> None:
    """Run ``action`` at a virtual moment."""
    emu.clock.call_at(when, action, "test action")


def events(logs: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    """The drain Lambda's log lines of one event name."""
    return [line for line in ae.drain_log_events(logs) if line["event"] == name]


def command_event(h: ae.DrainHarness, **detail: Any) -> str:
    """An "EC2 Command Invocation Status-change Notification" for the harness's document (override any field)."""
    fields = {
        "command-id": str(uuid.uuid4()),
        "document-name": h.plane.document_name,
        "instance-id": h.plane.instance_ids[0],
        "requested-date-time": "2026-01-01T00:00:00.000Z",
        "status": "Success",
    }
    fields.update(detail)
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "EC2 Command Invocation Status-change Notification",
            "source": "aws.ssm",
            "account": ae.ACCOUNT_ID,
            "time": "2026-01-01T00:00:01Z",
            "region": ae.REGION,
            "resources": [f"arn:aws:ec2:{ae.REGION}:{ae.ACCOUNT_ID}:instance/{fields['instance-id']}"],
            "detail": fields,
        }
    )


def deliver_now(h: ae.DrainHarness, body: str) -> tuple[ae.InvocationRecord, list[ae.ApiCall]]:
    """Send ``body`` to the drain queue, deliver it at once; return the invocation and its AWS calls."""
    message = h.emu.queue.send(body)
    before = len(h.emu.calls.calls)
    for _ in range(20):
        invocation = h.driver.deliver_once()
        assert invocation is not None
        if message.message_id in invocation.message_ids:
            return invocation, h.emu.calls.calls[before:]
    raise AssertionError("message not delivered")


# -- the goal, with the real check and PostgreSQL ------------------------------------------------------


@pytest.mark.parametrize("offset", [45.0, 333.3, 905.6])
def test_continue_within_seconds_of_the_last_job_turning_terminal(
    emu: ae.AwsEmulation, database: ConnectionParams, logs: pytest.LogCaptureFixture, offset: float
) -> None:
    """One waiting command for the whole drain; its status-change event wakes the Lambda: CONTINUE within 5 s,
    never before the last job is terminal, and every check before that moment said pending. (``offset``: the
    last job turns terminal that long after the target group's 60 s draining, while the command waits.)"""
    h = waiting_harness(emu, deregistration_delay=60)
    runner = ae.ScriptCheckRunner(database.jobs_db_env(), reuse_while_unchanged=True)
    emu.ssm.runner = runner
    try:
        with database.connect() as conn:
            gw = jobs.create_dataset(conn, "gw", 1)
            rt = jobs.create_dataset(conn, "rt", 1)
            new, executing = jobs.insert_jobs(conn, gw, 2, age_seconds=30)
            jobs.add_status(conn, gw, executing, "executing")
            [waiting] = jobs.insert_jobs(conn, rt, 1)
            jobs.add_status(conn, rt, waiting, "waiting")
            action = h.start()
            t0 = emu.clock.now()
            at(emu, t0 + 60 + offset / 2, lambda: jobs.add_statuses(conn, gw, [(new, "succeeded")]))
            last_terminal = t0 + 60 + offset

            def finish_all() -> None:
                jobs.add_status(conn, gw, executing, "aborted")
                jobs.add_status(conn, rt, waiting, "succeeded")

            at(emu, last_terminal, finish_all)
            record = h.run_until_finished(action.token, max_seconds=3 * 3600)
    finally:
        runner.close()

    assert record.outcome.value == "CONTINUE" and action.result == "CONTINUE"
    [completion] = emu.calls.of("CompleteLifecycleAction", ok_only=True)
    assert last_terminal <= completion.at <= last_terminal + GOAL_SECONDS
    [command] = emu.calls.of("SendCommand")
    assert command.params["DocumentName"] == h.plane.document_name, "one command for the whole drain"
    [invocation] = emu.ssm.invocations.values()
    assert invocation.status == "Success" and invocation.response_code == 0
    assert invocation.checks_run > 1 and len(runner.runs) >= 3, "pending, partly pending, drained: real runs"
    assert all(run.exit_code == 75 for run in runner.runs[:-1]) and runner.runs[-1].exit_code == 0
    [woken] = events(logs, "drain_woken")
    assert woken["command_id"] == invocation.command_id and woken["command_status"] == "Success"
    assert emu.queue.dead_letters == []


def test_calls_per_drain_hour_stay_under_100(emu: ae.AwsEmulation) -> None:
    """A drain pending for three hours: heartbeats included, at most 100 AWS calls per hour, and the hook
    never times out (one waiting command per 3300 s, a fallback read every 420 s)."""
    h = waiting_harness(emu, deregistration_delay=60)
    ae.script_checks(emu, drained_at=None)
    action = h.start()
    h.driver.run(max_seconds=300)
    since = emu.clock.now()
    h.driver.run(max_seconds=3 * 3600)
    hours = (emu.clock.now() - since) / 3600
    calls = emu.calls.by_operation(since=since)
    assert action.active and not action.timed_out
    assert sum(calls.values()) / hours <= 100
    assert calls["autoscaling:RecordLifecycleActionHeartbeat"] >= 3 * 3600 / 900, "the hook was kept alive"
    assert calls["ssm:SendCommand"] <= 4, "one waiting command per 55 minutes"
    finished = [inv for inv in emu.ssm.invocations.values() if inv.ended_at is not None]
    assert finished and all(inv.response_code == 75 for inv in finished)


# -- cannot tell, lost events, fallback ------------------------------------------------------------------


def test_cannot_tell_never_counts_as_drained(emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture) -> None:
    """The check cannot tell (exit 69) for an hour: the waiting command never exits 0, the Lambda keeps
    waiting (a new command after each one ran its course) and completes only once the jobsdb says drained."""
    h = waiting_harness(emu, deregistration_delay=30, wait=ae.WaitingCheck(max_seconds=900))
    t0 = emu.clock.now()
    readable_at = t0 + 3600

    def outcome(_instance: str, now: float) -> tuple[str, int | None]:
        return ("unknown", None) if now < readable_at else ("drained", 0)

    emu.ssm.runner = ae.ScriptedCheckRunner(emu.clock, outcome)
    action = h.start()
    record = h.run_until_finished(action.token, max_seconds=3 * 3600)

    assert record.outcome.value == "CONTINUE"
    [completion] = emu.calls.of("CompleteLifecycleAction", ok_only=True)
    assert readable_at <= completion.at <= readable_at + GOAL_SECONDS
    ended = [inv for inv in emu.ssm.invocations.values() if inv.ended_at is not None and inv.ended_at < readable_at]
    assert len(ended) >= 3 and all(inv.response_code == 69 and inv.status == "Failed" for inv in ended)
    assert all(json.loads(inv.stdout)["status"] == "unknown" for inv in ended)
    assert len(events(logs, "drain_check_cannot_tell")) >= 3


def test_a_lost_event_falls_back_to_reading_the_command(emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture) -> None:
    """EventBridge delivers service events best effort: with every event lost, the drain still completes at
    its next fallback read (FALLBACK_POLL_SECONDS), never later."""
    h = waiting_harness(emu, deregistration_delay=30)
    emu.events.lose_next(10_000)
    drained_at = emu.clock.now() + 30 + 200
    ae.script_checks(emu, drained_at=drained_at)
    action = h.start()
    record = h.run_until_finished(action.token, max_seconds=3 * 3600)

    assert record.outcome.value == "CONTINUE"
    [completion] = emu.calls.of("CompleteLifecycleAction", ok_only=True)
    assert drained_at < completion.at <= drained_at + drain_spec.FALLBACK_POLL_SECONDS + 10
    assert events(logs, "drain_woken") == []
    assert any(delivery.lost for delivery in emu.events.deliveries)


def test_a_crashed_fallback_step_does_not_let_the_hook_expire(emu: ae.AwsEmulation) -> None:
    """Every fallback read is lost once (the function is throttled when it comes due: the message returns only
    after the queue's 360 s visibility timeout). The hook (900 s) never expires, and the drain completes."""
    h = waiting_harness(emu, deregistration_delay=30)
    t0 = emu.clock.now()
    drained_at = t0 + 2 * 3600
    ae.script_checks(emu, drained_at=drained_at)
    action = h.start()
    h.driver.run(until=lambda: bool(emu.ssm.invocations), max_seconds=600)
    h.driver.run(max_seconds=30)  # the 5 s read of the new command
    throttled = 0
    while emu.clock.now() < drained_at - 1200:
        due = emu.queue.next_visible_at()
        assert due is not None
        [message] = [m for m in emu.queue.messages if m.visible_at == due]
        h.driver.run(max_seconds=max(0.0, due - emu.clock.now() - 0.1))
        if message.receive_count == 0:  # a fresh step (not the redelivery of the one just lost)
            h.driver.throttle(1.0)
            throttled += 1
        h.driver.run(max_seconds=5)
        assert not action.timed_out, f"the hook expired after {throttled} crashed steps"
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert throttled >= 5
    assert record.outcome.value == "CONTINUE" and action.result == "CONTINUE" and not action.timed_out


def test_a_check_finished_before_its_step_committed_is_read_at_once(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture
) -> None:
    """The jobsdb is already empty: the waiting command exits at its first check, possibly before the step
    that sent it committed. The drain still completes within seconds (its 5 s read or the event)."""
    h = waiting_harness(emu, deregistration_delay=30)
    ae.script_checks(emu, drained_at=emu.clock.now())
    action = h.start()
    record = h.run_until_finished(action.token, max_seconds=3600)

    assert record.outcome.value == "CONTINUE"
    [command] = emu.calls.of("SendCommand")
    [completion] = emu.calls.of("CompleteLifecycleAction", ok_only=True)
    assert completion.at - command.at <= 10


# -- the rule -------------------------------------------------------------------------------------------


def test_the_rule_routes_only_final_status_changes_of_this_document(emu: ae.AwsEmulation) -> None:
    """The deployment's pattern (spec.command_event_pattern) on the emulated bus: other documents and
    intermediate statuses never reach the queue."""
    h = waiting_harness(emu)
    document = h.plane.document_name

    def event(name: str, status: str, detail_type: str = "EC2 Command Invocation Status-change Notification") -> dict:
        return {"source": "aws.ssm", "detail-type": detail_type, "detail": {"document-name": name, "status": status}}

    for status in ("Success", "Failed", "TimedOut", "Cancelled"):
        assert emu.events.put_event(event(document, status)) == [drain_spec.command_rule_name("rudder-ha-test")]
    for status in ("Pending", "InProgress", "Delayed", "Cancelling"):
        assert emu.events.put_event(event(document, status)) == []
    assert emu.events.put_event(event("AWS-RunShellScript", "Success")) == []
    assert emu.events.put_event(event(f"{document}-other", "Success")) == []
    assert emu.events.put_event(event(document, "Success", "EC2 Command Status-change Notification")) == []
    with pytest.raises(ValueError, match="only lists of exact values"):
        emu.events.put_rule("bad", {"detail": {"status": [{"prefix": "S"}]}}, emu.queue.send)


# -- untrusted events: nothing harmful, one line saying why ----------------------------------------------


def test_duplicate_and_late_events_do_nothing(emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture) -> None:
    """The event that woke the drain, delivered again: while the drain waits on a newer step it is stale,
    after the drain finished it is a duplicate. Either way acknowledged, nothing written."""
    h = waiting_harness(emu, deregistration_delay=30)
    drained_at = emu.clock.now() + 400
    ae.script_checks(emu, drained_at=drained_at)
    action = h.start()
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE"
    [woke] = [d for d in emu.events.deliveries if not d.lost and d.event["detail"]["status"] == "Success"]
    body = json.dumps(woke.event)

    invocation, calls = deliver_now(h, body)
    assert invocation.failures == [] and invocation.error is None
    assert [call.operation for call in calls] == ["GetItem", "GetItem"], "read the link and the drain, no write"
    [line] = events(logs, "duplicate_for_finished_drain")[-1:]
    assert line["source"] == "command_signal" and line["outcome"] == "CONTINUE"
    assert len(emu.calls.of("CompleteLifecycleAction")) == 1
    h.driver.run(max_seconds=3600)
    assert emu.queue.dead_letters == []


def test_a_stale_event_for_a_drain_still_waiting_is_dropped(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture
) -> None:
    """A command the drain no longer waits on (its result was read, a newer one runs): dropped, nothing written."""
    h = waiting_harness(emu, deregistration_delay=30, wait=ae.WaitingCheck(max_seconds=300))
    ae.script_checks(emu, drained_at=None)
    action = h.start()
    h.driver.run(max_seconds=500)
    first, second = list(emu.ssm.invocations.values())
    assert first.status == "Failed" and second.status == "InProgress"
    invocation, calls = deliver_now(h, command_event(h, **{"command-id": first.command_id}))
    assert invocation.failures == []
    assert [call.operation for call in calls] == ["GetItem", "GetItem"]
    [line] = events(logs, "stale_command_signal")
    assert line["waiting_on"] == f"ssm-command#{second.command_id}"
    assert action.active


@pytest.mark.parametrize(
    ("change", "reason", "operations"),
    [
        ({"document-name": "AWS-RunShellScript"}, "command_of_another_document", []),
        ({}, "command_of_no_drain", ["GetItem"]),
        ({"instance-id": "i-0123456789abcdef0"}, "command_instance_is_not_the_drains", ["GetItem", "GetItem"]),
        ({"status": "InProgress"}, "command_not_finished", []),
    ],
)
def test_foreign_events_are_dropped_with_one_line(
    emu: ae.AwsEmulation,
    logs: pytest.LogCaptureFixture,
    change: dict[str, str],
    reason: str,
    operations: list[str],
) -> None:
    """Another document, an unknown command of ours, our command on another instance, a status that is not
    final: acknowledged at once, nothing written, one line naming the reason, the drain undisturbed."""
    h = waiting_harness(emu, deregistration_delay=30)
    ae.script_checks(emu, drained_at=None)
    action = h.start()
    h.driver.run(max_seconds=200)
    [running] = emu.ssm.invocations.values()
    detail = {"command-id": running.command_id, **change} if change.get("instance-id") else change
    invocation, calls = deliver_now(h, command_event(h, **detail))
    assert invocation.failures == [] and invocation.error is None
    assert [call.operation for call in calls] == operations, "nothing written"
    lines = [line for line in ae.drain_log_events(logs) if line.get("reason") == reason]
    assert len(lines) == 1 and lines[0]["event"] == "message_ignored"
    assert action.active and running.status == "InProgress"


@pytest.mark.parametrize(
    ("detail", "problem"),
    [
        ({"command-id": "not-a-uuid"}, "command-id"),
        ({"instance-id": "i-; rm -rf /"}, "instance-id"),
        ({"document-name": ["list"]}, "document-name"),
        ({"status": {"nested": 1}}, "status"),
    ],
)
def test_malformed_command_events_are_rejected(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture, detail: dict[str, Any], problem: str
) -> None:
    """Wrong formats or types in a command event: rejected before any read, one warning naming the field."""
    h = waiting_harness(emu)
    invocation, calls = deliver_now(h, command_event(h, **detail))
    assert invocation.failures == [] and calls == []
    [line] = [line for line in ae.drain_log_events(logs) if line["event"] == "message_rejected"]
    assert line["reason"] == "invalid_command_event" and line["level"] == "warning"
    assert problem in json.dumps(line)


def test_command_events_parse_from_awss_published_shapes() -> None:
    """The published samples: invocation events name their instance, command events name it in resources."""
    load_drain_lambda()
    import lifecycle_drain.messages as messages

    shapes = {shape.file: shape for shape in ae.event_shapes()}
    invocation = messages.parse_body(shapes["awsdocs-eventbridge-ssm-command-invocation-status.json"].text())
    command = messages.parse_body(shapes["awsdocs-eventbridge-ssm-command-status.json"].text())
    assert isinstance(invocation, messages.CommandSignal) and isinstance(command, messages.CommandSignal)
    assert invocation.command_id == command.command_id == "e8d3c0e4-71f7-4491-898f-c9b35bee5f3b"
    assert invocation.instance_id == "i-9bb89e2b" and command.instance_id == "i-abcd1111"
    assert invocation.wake_key == "ssm-command#e8d3c0e4-71f7-4491-898f-c9b35bee5f3b"
    two = json.loads(shapes["awsdocs-eventbridge-ssm-command-status.json"].text())
    two["resources"].append("arn:aws:ec2:us-east-1:123456789012:instance/i-abcd2222")
    rejected = messages.parse_body(json.dumps(two))
    assert isinstance(rejected, messages.Rejected) and rejected.reason == "invalid_command_event"
