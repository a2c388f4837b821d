"""The drain Lambda fed untrusted input through the emulated queue: AWS's own published event shapes
(``tests/data/aws-lifecycle-events/``, sources in its ``MANIFEST.json``), aimed at the deployment's
group and as collected (a group it does not own), and malformed, foreign, oversized, non-UTF-8 and
duplicate messages. Nothing harmful may happen: no write for input that is not a lifecycle action of
an owned group, no retry loop, nothing in the dead-letter queue, and one log line saying why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import aws_emulation as ae

DECISIONS = {"message_rejected", "message_ignored", "event_for_foreign_group"}
"""Log events that tell why a message was dropped."""


@dataclass
class Delivered:
    """One message delivered to the Lambda: the invocation, its AWS calls and its log lines."""

    invocation: ae.InvocationRecord
    calls: list[ae.ApiCall]
    lines: list[dict[str, Any]]

    @property
    def decisions(self) -> list[dict[str, Any]]:
        """The log lines explaining a drop."""
        return [line for line in self.lines if line["event"] in DECISIONS]

    @property
    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]


def deliver_now(h: ae.DrainHarness, body: str, logs: pytest.LogCaptureFixture) -> Delivered:
    """Send ``body`` to the drain queue and deliver it at once."""
    message = h.emu.queue.send(body)
    calls_before, lines_before = len(h.emu.calls.calls), len(ae.drain_log_events(logs))
    for _ in range(10):
        invocation = h.driver.deliver_once()
        assert invocation is not None
        if message.message_id in invocation.message_ids:
            return Delivered(invocation, h.emu.calls.calls[calls_before:], ae.drain_log_events(logs)[lines_before:])
    raise AssertionError("message not delivered")


def assert_dropped_cleanly(h: ae.DrainHarness, delivered: Delivered, why: str) -> dict[str, Any]:
    """Acknowledged at once, nothing read or written, one log line saying ``why`` (its reason, or its event
    for a foreign group), never redelivered."""
    assert delivered.invocation.failures == [] and delivered.invocation.error is None
    assert delivered.operations == [], "nothing read, nothing written"
    (line,) = delivered.decisions
    assert (line["event"] if line["event"] == "event_for_foreign_group" else line["reason"]) == why
    h.driver.run(max_seconds=3600)
    assert h.emu.queue.messages == [] and h.emu.queue.dead_letters == []
    assert h.emu.calls.count("PutItem") == h.emu.calls.count("UpdateItem") == 0
    return line


def envelope(detail: Any, **fields: Any) -> str:
    """An EventBridge terminate lifecycle envelope around ``detail`` (any JSON value)."""
    document = {
        "version": "0",
        "id": "2b9e1c1e-8f53-4b36-9c39-5f2b1c0a9d11",
        "detail-type": "EC2 Instance-terminate Lifecycle Action",
        "source": "aws.autoscaling",
        "account": ae.ACCOUNT_ID,
        "time": "2026-01-01T00:00:00Z",
        "region": ae.REGION,
        "resources": [],
        "detail": detail,
        **fields,
    }
    return json.dumps(document)


def aimed(h: ae.DrainHarness, action: ae.LifecycleAction, **overrides: Any) -> dict[str, Any]:
    """The lifecycle detail of an active action of the harness's own group."""
    detail = {
        "LifecycleActionToken": action.token,
        "AutoScalingGroupName": h.plane.asg_name,
        "LifecycleHookName": h.plane.hook_name,
        "EC2InstanceId": action.instance_id,
        "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
    }
    detail.update(overrides)
    return detail


# -- AWS's published shapes ------------------------------------------------------------------------

EVENT_SHAPES = ae.event_shapes()


def test_the_data_folder_is_complete_with_its_sources() -> None:
    """Every file of the folder is named by MANIFEST.json, with a source; every entry exists."""
    named = {shape.file for shape in ae.published_events.manifest()}
    present = {path.name for path in ae.published_events.DATA_DIR.iterdir()} - {"MANIFEST.json", "README.md"}
    assert named == present
    assert all(shape.source for shape in ae.published_events.manifest())
    assert {shape.expect_targeted for shape in EVENT_SHAPES} == {"drain", "drop", "either"}


@pytest.mark.parametrize("shape", EVENT_SHAPES, ids=lambda shape: shape.file)
def test_published_shape_aimed_at_this_deployment_behaves_as_before(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture, shape: ae.PublishedShape
) -> None:
    """With its identifiers aimed at the deployment's group: terminating actions drain to CONTINUE (and a
    duplicate of the event changes nothing); everything else is dropped with one line and no call."""
    h = ae.build_harness(emu, deregistration_delay=30, warm_pool=True)
    fields = ae.lifecycle_fields(shape.text())
    action = h.start(origin=fields.get("Origin"), destination=fields.get("Destination"), deliver_event=False)
    ae.script_checks(emu, drained_at=emu.clock.now() + 120)
    body = ae.retarget(
        shape.text(),
        asg_name=h.plane.asg_name,
        hook_name=h.plane.hook_name,
        instance_id=action.instance_id,
        token=action.token,
    )
    delivered = deliver_now(h, body, logs)
    assert delivered.invocation.failures == [] and delivered.invocation.error is None

    started = h.record(action.token) is not None
    assert started == (shape.expect_targeted == "drain") or shape.expect_targeted == "either"
    if not started:
        (decision,) = delivered.decisions
        assert decision["event"] in ("message_ignored", "message_rejected") and decision["reason"]
        assert_dropped_cleanly(h, delivered, decision["reason"])
        assert action.heartbeats == [] and action.completions == [], "the lifecycle action was not touched"
        return
    assert delivered.decisions == []
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE" and action.result == "CONTINUE" and not action.timed_out
    duplicate = deliver_now(h, body, logs)
    assert duplicate.invocation.failures == [] and duplicate.operations == ["GetItem"]
    assert len(emu.calls.of("CompleteLifecycleAction")) == 1
    h.driver.run(max_seconds=2000)
    assert emu.queue.messages == [] and emu.queue.dead_letters == []


@pytest.mark.parametrize("shape", [shape for shape in EVENT_SHAPES if shape.verbatim], ids=lambda shape: shape.file)
def test_published_shape_as_collected_is_for_a_group_this_deployment_does_not_own(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture, shape: ae.PublishedShape
) -> None:
    """As published (its own group, e.g. ``nth-test1`` or ``my-asg``): dropped before any read or write."""
    h = ae.build_harness(emu)
    delivered = deliver_now(h, shape.text(), logs)
    terminating = shape.expect_targeted in ("drain", "either")
    expected = "event_for_foreign_group" if terminating else delivered.decisions[0]["reason"]
    line = assert_dropped_cleanly(h, delivered, expected)
    if terminating:
        assert line["level"] == "warning"
        assert line["asg_name"] == ae.lifecycle_fields(shape.text())["AutoScalingGroupName"]
        assert line["owned_groups"] == [h.plane.asg_name]
        assert "DRAIN_ASG_NAMES" in line["reason"]


# -- malformed, foreign, oversized, non-UTF-8 -------------------------------------------------------


def test_event_for_a_foreign_group_is_dropped_without_any_write(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture
) -> None:
    """A well-formed terminating action of another group (its token even active there): one warning, no call."""
    h = ae.build_harness(emu)
    action = h.start(deliver_event=False)
    body = envelope(aimed(h, action, AutoScalingGroupName=f"{h.plane.asg_name}-other"))
    line = assert_dropped_cleanly(h, deliver_now(h, body, logs), "event_for_foreign_group")
    assert line["asg_name"] == f"{h.plane.asg_name}-other" and line["token"] == action.token
    assert action.heartbeats == [] and action.completions == [], "the lifecycle action was not touched"


@pytest.mark.parametrize("depth", [40, 20_000])
def test_deeply_nested_body_is_malformed_not_a_retry_loop(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture, depth: int
) -> None:
    """Nesting that makes ``json`` recurse (RecursionError before): rejected before parsing, acknowledged."""
    h = ae.build_harness(emu)
    action = h.start(deliver_event=False)
    nested = '{"a":' * depth + "1" + "}" * depth
    body = envelope(aimed(h, action)).replace('"LifecycleTransition"', f'"Nested": {nested}, "LifecycleTransition"')
    delivered = deliver_now(h, body, logs)
    line = assert_dropped_cleanly(h, delivered, "body_too_deep")
    assert line["level"] == "warning" and line["limit_depth"] == 32
    assert len(h.driver.invocations) == 1, "never redelivered"


def test_600_kb_notification_metadata_is_refused_before_parsing(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture
) -> None:
    """A body over the size bound (600 KB of metadata broke the DynamoDB write before): one line, no write."""
    h = ae.build_harness(emu)
    action = h.start(deliver_event=False)
    body = envelope(aimed(h, action, NotificationMetadata="m" * 600_000))
    line = assert_dropped_cleanly(h, deliver_now(h, body, logs), "body_too_large")
    assert line["limit_bytes"] == 256 * 1024
    assert action.heartbeats == [] and action.completions == [], "the lifecycle action was not touched"


def test_long_notification_metadata_is_truncated_and_the_drain_runs(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture
) -> None:
    """Metadata within the body bound but over 4 KiB: stored truncated (valid UTF-8), the drain goes on."""
    h = ae.build_harness(emu, deregistration_delay=30)
    action = h.start(deliver_event=False)
    ae.script_checks(emu, drained_at=emu.clock.now() + 120)
    metadata = "é" * 30_000  # 60 000 UTF-8 bytes
    delivered = deliver_now(h, envelope(aimed(h, action, NotificationMetadata=metadata)), logs)
    assert delivered.invocation.failures == []
    stored = h.record(action.token).notification_metadata
    assert len(stored.encode("utf-8")) <= 4096
    assert stored.startswith("é" * 2000) and stored.endswith("[truncated from 60000 bytes]")
    (truncated,) = [line for line in delivered.lines if line["event"] == "notification_metadata_truncated"]
    assert truncated["original_bytes"] == 60_000 and truncated["stored_bytes"] <= 4096
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE" and not action.timed_out
    assert emu.queue.dead_letters == []


@pytest.mark.parametrize("where", ["escaped lone surrogate in NotificationMetadata", "raw lone surrogate in the body"])
def test_non_utf8_body_is_malformed(emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture, where: str) -> None:
    """Text no AWS API takes back (boto3 cannot encode it: UnicodeEncodeError on every retry before)."""
    h = ae.build_harness(emu)
    action = h.start(deliver_event=False)
    body = envelope(aimed(h, action, NotificationMetadata="ok \udc80 ko"))  # json.dumps writes \udc80
    if where.startswith("raw"):
        body = envelope(aimed(h, action)).replace(action.instance_id, action.instance_id + "\udc80")
    assert_dropped_cleanly(h, deliver_now(h, body, logs), "body_not_utf8")
    assert action.heartbeats == [] and action.completions == [], "the lifecycle action was not touched"


WRONG_TYPES: dict[str, Any] = {
    "detail-type is an object": {"detail-type": {"a": [1, 2]}},
    "source is a list": {"source": ["aws.autoscaling"]},
    "detail is a list": {"detail": [1, 2, 3]},
    "token is a number": {"detail": {"LifecycleActionToken": 12345}},
    "transition is an object": {"detail": {"LifecycleTransition": {"x": 1}}},
    "instance id is null": {"detail": {"EC2InstanceId": None}},
    "origin is a list": {"detail": {"Origin": ["WarmPool"]}},
    "continuation seq is text": {"kind": "rudder-ha.drain.step", "v": 1, "seq": "1"},
}


@pytest.mark.parametrize("case", list(WRONG_TYPES), ids=list(WRONG_TYPES))
def test_wrong_types_are_malformed(emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture, case: str) -> None:
    """Fields of the wrong JSON type: one line with the reason, nothing written (as before)."""
    h = ae.build_harness(emu)
    action = h.start(deliver_event=False)
    document = json.loads(envelope(aimed(h, action)))
    change = WRONG_TYPES[case]
    if "kind" in change:
        document = change
    elif isinstance(change.get("detail"), dict):
        document["detail"].update(change["detail"])
    else:
        document.update(change)
    delivered = deliver_now(h, json.dumps(document), logs)
    assert_dropped_cleanly(h, delivered, delivered.decisions[0]["reason"])
    assert delivered.decisions[0]["event"] in ("message_rejected", "message_ignored")
    assert action.heartbeats == [] and action.completions == [], "the lifecycle action was not touched"
