"""AWS's own published event shapes for the drain path, and the one rewrite tests apply to them.

The files in ``tests/data/aws-lifecycle-events/`` are data copied unchanged from the public sources
their ``MANIFEST.json`` names (EventBridge lifecycle events, direct Auto Scaling -> SQS
notifications, TEST_NOTIFICATION shapes, events the drain must ignore, malformed bodies, and the
SQS record of the Lambda event source). Each event entry says what the drain must do with it once
its identifiers name the deployment's own group (``expect_targeted``: ``drain`` | ``drop`` |
``either``) and whether it is also run as collected (``verbatim``: it then names a group this
deployment does not own).

Reproduces nothing of AWS by itself: :func:`retarget` only replaces identifiers (group, hook,
instance, token, and the group's name inside ARNs); every other value stays the source's own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests.support.paths import REPO

DATA_DIR = REPO / "tests" / "data" / "aws-lifecycle-events"
"""The copied shapes, with ``MANIFEST.json`` naming the source of each file."""
SQS_RECORD_TEMPLATE = "sqs-record-template.json"

_GROUP_IN_ARN = re.compile(r"(autoScalingGroupName/).*$")


@dataclass(frozen=True)
class PublishedShape:
    """One entry of ``MANIFEST.json``."""

    file: str
    role: str
    source: str
    expect_targeted: str | None = None
    verbatim: bool = False

    @property
    def path(self) -> Path:
        """Where the file is."""
        return DATA_DIR / self.file

    def text(self) -> str:
        """The body exactly as published."""
        return self.path.read_text(encoding="utf-8")


@cache
def manifest() -> tuple[PublishedShape, ...]:
    """Every entry of ``MANIFEST.json``, in its order."""
    document = json.loads((DATA_DIR / "MANIFEST.json").read_text(encoding="utf-8"))
    return tuple(
        PublishedShape(
            file=entry["file"],
            role=entry["role"],
            source=entry["source"],
            expect_targeted=entry.get("expect_targeted"),
            verbatim=bool(entry.get("verbatim", False)),
        )
        for entry in document["fixtures"]
    )


def event_shapes() -> list[PublishedShape]:
    """The entries that are message bodies (everything but the SQS record template)."""
    return [shape for shape in manifest() if shape.role == "event"]


@cache
def _sqs_record_template() -> str:
    return (DATA_DIR / SQS_RECORD_TEMPLATE).read_text(encoding="utf-8")


def sqs_record_template() -> dict[str, Any]:
    """A fresh copy of the published SQS event record (the field set of every record the Lambda gets)."""
    return json.loads(_sqs_record_template())


def retarget(body: str, *, asg_name: str, hook_name: str, instance_id: str, token: str) -> str:
    """``body`` with its identifiers aimed at one lifecycle action of the emulated environment.

    The lifecycle fields (``detail`` of an EventBridge envelope, else the top level of a direct
    notification) that the body has are replaced; fields it lacks are not added. A body that is not
    a JSON object is returned unchanged.
    """
    try:
        document = json.loads(body)
    except ValueError:
        return body
    if not isinstance(document, dict):
        return body
    fields = document["detail"] if isinstance(document.get("detail"), dict) else document
    for key, value in (
        ("AutoScalingGroupName", asg_name),
        ("LifecycleHookName", hook_name),
        ("EC2InstanceId", instance_id),
        ("LifecycleActionToken", token),
    ):
        if key in fields:
            fields[key] = value

    def group_arn(value: Any) -> Any:
        return _GROUP_IN_ARN.sub(rf"\g<1>{asg_name}", value) if isinstance(value, str) else value

    if isinstance(document.get("resources"), list):
        document["resources"] = [group_arn(item) for item in document["resources"]]
    if "AutoScalingGroupARN" in fields:
        fields["AutoScalingGroupARN"] = group_arn(fields["AutoScalingGroupARN"])
    return json.dumps(document)


def lifecycle_fields(body: str) -> dict[str, Any]:
    """The lifecycle fields of a body (``detail`` or top level); empty when it is not a JSON object."""
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    return document["detail"] if isinstance(document.get("detail"), dict) else document
