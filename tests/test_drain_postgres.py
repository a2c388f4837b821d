"""Core drain scenarios against the real on-node check and a throwaway PostgreSQL.

Each test runs the drain Lambda on the AWS emulation (virtual time); every SSM command runs
``ami/bin/rudder-drain-check`` as a subprocess against a fresh jobsdb database, whose jobs the
test changes at chosen virtual moments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support import aws_emulation as ae
from tests.support import jobsdb as jobs
from tests.support.postgres import ConnectionParams, PostgresServer, jobsdb, postgres_server  # noqa: F401

POLL = 30
RESULT_DELAY = 5


@pytest.fixture
def database(request: pytest.FixtureRequest) -> ConnectionParams:
    """A fresh jobsdb database (the ``jobsdb`` fixture of tests.support.postgres)."""
    return request.getfixturevalue("jobsdb")


@pytest.fixture
def server(request: pytest.FixtureRequest) -> PostgresServer:
    """The throwaway PostgreSQL server."""
    return request.getfixturevalue("postgres_server")


def harness(emu: ae.AwsEmulation, database: ConnectionParams, **kwargs: Any) -> ae.DrainHarness:
    """A data plane whose check runs the real script against ``database``."""
    built = ae.build_harness(emu, **kwargs)
    emu.ssm.runner = ae.ScriptCheckRunner(database.jobs_db_env())
    return built


def at(emu: ae.AwsEmulation, when: float, action: Callable[[], None]) -> None:
    """Run a database change at a virtual moment."""
    emu.clock.call_at(when, action, "database change")


def invocations_started_before(emu: ae.AwsEmulation, when: float) -> list[ae.CommandInvocation]:
    """Check commands whose script ran before ``when``."""
    return [inv for inv in emu.ssm.invocations.values() if inv.started_at is not None and inv.started_at < when]


def test_drain_completes_after_every_job_turns_terminal(emu: ae.AwsEmulation, database: ConnectionParams) -> None:
    """Pending jobs in two jobsdbs; once all are terminal the action completes with CONTINUE, promptly."""
    h = harness(emu, database, env={"POLL_INTERVAL_SECONDS": str(POLL)}, deregistration_delay=60)
    instance_id = h.plane.instance_ids[0]
    with database.connect() as conn:
        gw = jobs.create_dataset(conn, "gw", 1)
        rt = jobs.create_dataset(conn, "rt", 1)
        new, executing, failed = jobs.insert_jobs(conn, gw, 3, age_seconds=120)
        jobs.add_status(conn, gw, executing, "executing")
        jobs.add_status(conn, gw, failed, "failed")
        [waiting] = jobs.insert_jobs(conn, rt, 1)
        jobs.add_status(conn, rt, waiting, "waiting")

        action = h.start()
        terminal_at = emu.clock.now() + 600

        def finish_all() -> None:
            jobs.add_statuses(conn, gw, [(new, "succeeded"), (executing, "succeeded"), (failed, "aborted")])
            jobs.add_status(conn, rt, waiting, "succeeded")

        at(emu, terminal_at, finish_all)
        record = h.run_until_finished(action.token, max_seconds=4 * 3600)

    assert record.outcome.value == "CONTINUE"
    assert action.result == "CONTINUE" and not action.timed_out
    completions = emu.calls.of("CompleteLifecycleAction", ok_only=True)
    assert len(completions) == 1 and completions[0].params["LifecycleActionResult"] == "CONTINUE"
    assert completions[0].params["LifecycleActionToken"] == action.token
    # Never before everything was terminal, and promptly after: poll interval + 2 result delays
    # + SSM delivery/execution + invocation latencies.
    assert completions[0].at >= terminal_at
    assert completions[0].at - terminal_at <= POLL + 2 * RESULT_DELAY + 2 * 3 + 5
    before = invocations_started_before(emu, terminal_at)
    assert before and all(inv.response_code == 75 for inv in before)
    # Out of the target group (and done draining) before the first check was sent.
    first_check = emu.calls.of("SendCommand")[0].at
    deregistered = emu.elbv2.deregistrations
    assert deregistered and deregistered[0][2] == instance_id
    assert first_check >= deregistered[0][0] + 60
    emu.clock.advance(30)
    assert emu.ec2_state(instance_id) == "terminated"
    assert emu.queue.messages == [] and emu.queue.dead_letters == []


def test_never_completes_while_anything_is_pending(emu: ae.AwsEmulation, database: ConnectionParams) -> None:
    """Jobs turn terminal one by one, one flips back to failed: no CONTINUE until the very last."""
    h = harness(emu, database, env={"POLL_INTERVAL_SECONDS": str(POLL)}, deregistration_delay=30)
    with database.connect() as conn:
        gw = jobs.create_dataset(conn, "gw", 1)
        batch = jobs.create_dataset(conn, "batch_rt", 1)
        a, b = jobs.insert_jobs(conn, gw, 2)
        [c] = jobs.insert_jobs(conn, batch, 1)
        jobs.add_status(conn, gw, b, "executing")
        jobs.add_status(conn, batch, c, "executing")
        action = h.start()
        t0 = emu.clock.now()
        at(emu, t0 + 120, lambda: jobs.add_statuses(conn, gw, [(a, "succeeded"), (b, "failed")]))
        at(emu, t0 + 200, lambda: jobs.add_status(conn, batch, c, "succeeded"))
        # c flips back: a new latest status row "failed" after "succeeded".
        at(emu, t0 + 280, lambda: jobs.add_status(conn, batch, c, "failed"))
        at(emu, t0 + 400, lambda: jobs.add_status(conn, gw, b, "succeeded"))
        last_terminal = t0 + 540
        at(emu, last_terminal, lambda: jobs.add_status(conn, batch, c, "succeeded"))
        record = h.run_until_finished(action.token, max_seconds=3 * 3600)

    assert record.outcome.value == "CONTINUE"
    completion = emu.calls.of("CompleteLifecycleAction", ok_only=True)
    assert len(completion) == 1 and completion[0].at >= last_terminal
    before = invocations_started_before(emu, last_terminal)
    assert len(before) >= 8
    assert all(inv.response_code == 75 for inv in before), [inv.response_code for inv in before]
    flipped = [inv for inv in before if inv.started_at and inv.started_at > t0 + 290]
    assert flipped and all('"batch_rt"' in inv.stdout for inv in flipped)


def test_database_unreachable_means_cannot_tell_and_keeps_waiting(
    emu: ae.AwsEmulation, database: ConnectionParams, server: PostgresServer
) -> None:
    """Database down, then tables missing: exit 69, never CONTINUE; heartbeats go on; completes once readable."""
    h = harness(emu, database, env={"POLL_INTERVAL_SECONDS": "60"}, deregistration_delay=30, heartbeat_timeout=300)
    with database.connect() as conn:
        gw = jobs.create_dataset(conn, "gw", 1)
        [job] = jobs.insert_jobs(conn, gw, 1)
        jobs.add_status(conn, gw, job, "succeeded")  # a readable database would say "drained"
    action = h.start()
    t0 = emu.clock.now()
    server.stop()
    try:
        h.driver.run(max_seconds=600)
    finally:
        server.start()
    assert action.active and not emu.calls.of("CompleteLifecycleAction")
    down = invocations_started_before(emu, t0 + 600)
    assert len(down) >= 5 and all(inv.response_code == 69 for inv in down)
    assert all('"status": "unknown"' in inv.stdout for inv in down)
    assert h.record(action.token).last_progress["reason"].startswith("cannot_tell")
    assert len(action.heartbeats) >= 3 and max(action.heartbeat_gaps()) < 300

    # Up again, but the jobsdb tables are gone (unreadable): still cannot tell.
    with database.connect() as conn:
        jobs.reset_schema(conn)
        restored_at = emu.clock.now() + 300
        at(emu, restored_at, lambda: jobs.create_dataset(conn, "gw", 1))
        record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE"
    completion = emu.calls.of("CompleteLifecycleAction", ok_only=True)
    assert len(completion) == 1 and completion[0].at >= restored_at
    missing_tables = [inv for inv in invocations_started_before(emu, restored_at) if inv.started_at >= t0 + 600]
    assert missing_tables and all(inv.response_code == 69 for inv in missing_tables)
    assert all("no jobsdb datasets" in inv.stdout for inv in missing_tables)
    assert not action.timed_out


def test_six_hour_drain_heartbeats_always_in_time(emu: ae.AwsEmulation, database: ConnectionParams) -> None:
    """A 6 h drain: the hook never times out, heartbeat gaps stay below the timeout, one alert then resolve."""
    heartbeat_timeout = 900
    poll = 900  # the SQS maximum; the heartbeat plan shortens it to keep the hook alive
    h = harness(
        emu,
        database,
        env={"POLL_INTERVAL_SECONDS": str(poll), "DRAIN_DEADLINE_SECONDS": "3600"},
        heartbeat_timeout=heartbeat_timeout,
        deregistration_delay=300,
    )
    with database.connect() as conn:
        gw = jobs.create_dataset(conn, "gw", 1)
        rt = jobs.create_dataset(conn, "rt", 1)
        gw_jobs = jobs.insert_jobs(conn, gw, 40, age_seconds=30)
        rt_jobs = jobs.insert_jobs(conn, rt, 10)
        jobs.add_statuses(conn, rt, [(job, "failed") for job in rt_jobs])
        action = h.start()
        t0 = emu.clock.now()
        drained_at = t0 + 6 * 3600

        def finish() -> None:
            jobs.add_statuses(conn, gw, [(job, "succeeded") for job in gw_jobs])
            jobs.add_statuses(conn, rt, [(job, "aborted") for job in rt_jobs])

        at(emu, drained_at, finish)
        record = h.run_until_finished(action.token, max_seconds=8 * 3600)

    assert record.outcome.value == "CONTINUE"
    assert not action.timed_out and action.result == "CONTINUE"
    gaps = action.heartbeat_gaps()
    assert len(action.heartbeats) >= 6 * 3600 / heartbeat_timeout
    assert max(gaps) < heartbeat_timeout, max(gaps)
    completion = emu.calls.of("CompleteLifecycleAction", ok_only=True)
    assert len(completion) == 1 and drained_at <= completion[0].at <= drained_at + poll + 2 * RESULT_DELAY + 15
    assert max(call.params.get("DelaySeconds", 0) for call in emu.calls.of("SendMessage")) < poll

    alerts = emu.published(h.plane.topic_arn)
    assert [alert["kind"] for alert in alerts] == ["drain_deadline_exceeded", "drain_completed"]
    exceeded, completed = alerts
    assert exceeded["source"] == "rudder-ha.drain" and exceeded["environment"] == "test"
    assert exceeded["instance_id"] == action.instance_id and exceeded["asg_name"] == h.plane.asg_name
    assert exceeded["details"]["pending_jobs"] == 50
    assert exceeded["details"]["oldest_pending_age_seconds"] > 0
    publish_times = [call.at for call in emu.calls.of("Publish", ok_only=True)]
    assert t0 + 3600 <= publish_times[0] <= t0 + 3600 + poll + 2 * RESULT_DELAY + 10
    assert publish_times[1] >= completion[0].at
    assert completed["details"]["outcome"] == "CONTINUE"
