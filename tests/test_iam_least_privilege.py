"""Least privilege, enforced: every IAM statement of every synthesized stack.

What is read, per stack: inline role policies and customer managed policies (identity policies), managed policy
attachments, trust policies, and resource policies (bucket, queue, topic, key and log resource policies). What
fails:

- an ``Allow`` that grants every action of a service or of AWS (``"*"``, ``"s3:*"``) or uses ``NotAction``;
- an ``Allow`` on ``Resource: "*"`` (or ``NotResource``) in an identity policy, unless every action in it is one of
  :data:`rudder_ha.common.policies.ACTIONS_WITHOUT_RESOURCES` (actions that take no resource, each with why);
- an ``Allow`` on ``Resource: "*"`` in a bucket, queue or topic policy (they must name their resource); in a
  key policy ``"*"`` is the key itself and is the only value KMS documents there;
- an AWS managed policy not in :data:`rudder_ha.common.policies.AWS_MANAGED_POLICIES_ALLOWED`;
- a policy document that cannot be read as JSON (nothing escapes the check unread).

``Deny`` statements are not held to this: a ``Deny`` on ``s3:*`` narrows.

Run over any synthesis output (the baseline included) with::

    .venv/bin/python -m tests.test_iam_least_privilege DIR      # DIR/stacks/*/cdk.tf.json

which prints the violations and the table of ``Resource: "*"`` statements by reason, and exits 1 on a violation.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rudder_ha.common.policies import ACTIONS_WITHOUT_RESOURCES, AWS_MANAGED_POLICIES_ALLOWED
from tests.support.synth import SynthOutput

IDENTITY = "identity"
RESOURCE = "resource"
TRUST = "trust"
KEY = "key"

# (terraform type, attribute holding the document, kind)
DOCUMENTS: tuple[tuple[str, str, str], ...] = (
    ("aws_iam_role_policy", "policy", IDENTITY),
    ("aws_iam_policy", "policy", IDENTITY),
    ("aws_iam_user_policy", "policy", IDENTITY),
    ("aws_iam_group_policy", "policy", IDENTITY),
    ("aws_iam_role", "assume_role_policy", TRUST),
    ("aws_kms_key", "policy", KEY),
    ("aws_s3_bucket_policy", "policy", RESOURCE),
    ("aws_s3_bucket", "policy", RESOURCE),
    ("aws_sqs_queue_policy", "policy", RESOURCE),
    ("aws_sqs_queue", "policy", RESOURCE),
    ("aws_sns_topic_policy", "policy", RESOURCE),
    ("aws_sns_topic", "policy", RESOURCE),
    ("aws_cloudwatch_log_resource_policy", "policy_document", RESOURCE),
    ("aws_secretsmanager_secret_policy", "policy", RESOURCE),
    ("aws_ecr_repository_policy", "policy", RESOURCE),
)
ATTACHMENTS: tuple[tuple[str, str], ...] = (
    ("aws_iam_role_policy_attachment", "policy_arn"),
    ("aws_iam_policy_attachment", "policy_arn"),
    ("aws_iam_role", "managed_policy_arns"),
    ("aws_iam_role_policy_attachments_exclusive", "policy_arns"),
)
AWS_MANAGED = re.compile(r"^arn:[^:]+:iam::aws:policy/(?:[^/]+/)*(?P<name>[^/]+)$")
ALL_OF_A_SERVICE = re.compile(r"^(\*|[A-Za-z0-9-]+:\*)$")
KEY_ITSELF = 'key policy: "*" is the key the policy is attached to'


@dataclass(frozen=True)
class Statement:
    """One statement of one policy document of one stack."""

    stack: str
    address: str
    """``<terraform type>.<name>``, with ``.inline_policy[i]`` for a role's inline block."""
    kind: str
    statement: Mapping[str, Any]

    @property
    def where(self) -> str:
        sid = self.statement.get("Sid")
        return f"{self.stack}: {self.address}" + (f" [{sid}]" if sid else "")

    @property
    def actions(self) -> list[str]:
        return _as_list(self.statement.get("Action"))

    @property
    def resources(self) -> list[str]:
        return _as_list(self.statement.get("Resource"))

    @property
    def allows(self) -> bool:
        return self.statement.get("Effect") == "Allow"


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _document(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def statements(stack_name: str, stack: Mapping[str, Any]) -> tuple[list[Statement], list[str]]:
    """Every statement of every policy document in ``stack``, and the problems met reading them."""
    found: list[Statement] = []
    unreadable: list[str] = []
    resources = stack.get("resource", {})

    def add(address: str, kind: str, raw: Any) -> None:
        document = _document(raw)
        if document is None or "Statement" not in document:
            unreadable.append(f"{stack_name}: {address}: policy document is not JSON this check can read")
            return
        for statement in _as_list_of_dicts(document["Statement"]):
            found.append(Statement(stack_name, address, kind, statement))

    for kind_name, attribute, kind in DOCUMENTS:
        for name, resource in resources.get(kind_name, {}).items():
            if attribute in resource:
                add(f"{kind_name}.{name}", kind, resource[attribute])
    for name, role in resources.get("aws_iam_role", {}).items():
        for i, block in enumerate(role.get("inline_policy") or []):
            add(f"aws_iam_role.{name}.inline_policy[{i}]", IDENTITY, block.get("policy"))
    return found, unreadable


def _as_list_of_dicts(value: Any) -> list[Mapping[str, Any]]:
    return [value] if isinstance(value, dict) else list(value)


def managed_policy_arns(stack_name: str, stack: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(where, policy ARN)`` of every managed policy attachment in ``stack``."""
    resources = stack.get("resource", {})
    for kind_name, attribute in ATTACHMENTS:
        for name, resource in resources.get(kind_name, {}).items():
            for arn in _as_list(resource.get(attribute)):
                yield f"{stack_name}: {kind_name}.{name}", arn


def violations(stacks: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every breach of least privilege in ``stacks`` (stack name -> parsed ``cdk.tf.json``)."""
    found: list[str] = []
    for stack_name, stack in sorted(stacks.items()):
        listed, unreadable = statements(stack_name, stack)
        found += unreadable
        for s in listed:
            if not s.allows:
                continue
            everything = [a for a in s.actions if ALL_OF_A_SERVICE.match(a)]
            if everything:
                found.append(f"{s.where}: grants every action: {', '.join(everything)}")
            if "NotAction" in s.statement:
                found.append(f"{s.where}: Allow with NotAction")
            if s.kind == TRUST:
                continue
            if "NotResource" in s.statement:
                found.append(f"{s.where}: Allow with NotResource")
            if "*" not in s.resources:
                continue
            if s.kind == KEY:
                continue  # "*" in a key policy is the key itself
            if s.kind == RESOURCE:
                found.append(f'{s.where}: a resource policy on Resource "*"')
                continue
            unlisted = sorted(a for a in s.actions if a not in ACTIONS_WITHOUT_RESOURCES)
            if unlisted:
                found.append(f'{s.where}: Resource "*" for actions that take a resource: {", ".join(unlisted)}')
        for where, arn in managed_policy_arns(stack_name, stack):
            match = AWS_MANAGED.match(arn)
            if match and match["name"] not in AWS_MANAGED_POLICIES_ALLOWED:
                found.append(f"{where}: AWS managed policy {match['name']} is not on the allowlist")
    return found


def resource_star_table(stacks: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """Every ``Allow`` on ``Resource: "*"``, by reason: ``reason -> ["stack: address [Sid]: actions", ...]``."""
    table: dict[str, list[str]] = {}
    for stack_name, stack in sorted(stacks.items()):
        listed, _ = statements(stack_name, stack)
        for s in listed:
            if not s.allows or s.kind == TRUST or "*" not in s.resources:
                continue
            if s.kind == KEY:
                table.setdefault(KEY_ITSELF, []).append(f"{s.where}: {', '.join(s.actions)}")
                continue
            by_reason: dict[str, list[str]] = {}
            for action in s.actions:
                by_reason.setdefault(ACTIONS_WITHOUT_RESOURCES.get(action, "NOT ALLOWED"), []).append(action)
            for reason, actions in by_reason.items():
                table.setdefault(reason, []).append(f"{s.where}: {', '.join(actions)}")
    return dict(sorted(table.items()))


def format_table(table: Mapping[str, list[str]]) -> str:
    """The table as text, one block per reason."""
    lines = ['Resource: "*" statements by reason', ""]
    for reason, rows in table.items():
        lines.append(f"{reason}  ({len(rows)})")
        lines += [f"    {row}" for row in rows]
    return "\n".join(lines)


def load_stacks(outdir: Path) -> dict[str, dict[str, Any]]:
    """Every ``stacks/<name>/cdk.tf.json`` under a synthesis output directory."""
    return {
        path.parent.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((outdir / "stacks").glob("*/cdk.tf.json"))
    }


# --- the shipped environments ---------------------------------------------------------------------------------


def test_every_stack_is_least_privilege(synth: SynthOutput) -> None:
    assert violations(synth.stacks) == []


def test_resource_star_statements_by_reason(synth: SynthOutput) -> None:
    table = resource_star_table(synth.stacks)
    print("\n" + format_table(table))
    assert "NOT ALLOWED" not in table
    assert table, "the synthesis has no statement on Resource '*' at all: is the reader broken?"


def test_every_role_is_read(synth: SynthOutput) -> None:
    """Every role of every stack has at least one readable statement (its trust policy), so the reader misses
    no stack."""
    for name, stack in synth.stacks.items():
        listed, unreadable = statements(name, stack)
        assert unreadable == []
        roles = set(stack.get("resource", {}).get("aws_iam_role", {}))
        trusted = {s.address.split(".", 1)[1] for s in listed if s.kind == TRUST}
        assert roles == trusted, name


def test_the_allowlists_give_reasons() -> None:
    for allowlist in (ACTIONS_WITHOUT_RESOURCES, AWS_MANAGED_POLICIES_ALLOWED):
        for name, reason in allowlist.items():
            assert reason.strip(), name
    assert not [a for a in ACTIONS_WITHOUT_RESOURCES if ALL_OF_A_SERVICE.match(a) or "*" in a]


# --- the checker itself ---------------------------------------------------------------------------------------


def _stack(**resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"resource": resources}


def _policy(*statements_: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements_)})


def test_the_managed_ssm_core_policy_is_refused() -> None:
    stack = _stack(
        aws_iam_role_policy_attachment={
            "ssm": {"policy_arn": "arn:${data.aws_partition.p.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"},
            "cni": {"policy_arn": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"},
            "mine": {"policy_arn": "${aws_iam_policy.mine.arn}"},
        }
    )
    assert violations({"s": stack}) == [
        "s: aws_iam_role_policy_attachment.ssm: AWS managed policy AmazonSSMManagedInstanceCore is not on the allowlist"
    ]


def test_wildcard_actions_and_resources_are_refused() -> None:
    stack = _stack(
        aws_iam_role_policy={
            "p": {
                "policy": _policy(
                    {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"},
                    {"Sid": "S3", "Effect": "Allow", "Action": ["s3:*"], "Resource": "arn:aws:s3:::b"},
                    {"Sid": "Params", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"},
                    {"Sid": "Traces", "Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"},
                    {"Sid": "Narrow", "Effect": "Allow", "Action": "kms:GenerateDataKey*", "Resource": "arn:k"},
                    {"Sid": "TlsOnly", "Effect": "Deny", "Action": "s3:*", "Resource": "*"},
                )
            }
        },
        aws_kms_key={
            "k": {
                "policy": _policy(
                    {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "r"}, "Action": "kms:*", "Resource": "*"},
                    {
                        "Sid": "Use",
                        "Effect": "Allow",
                        "Principal": {"AWS": "r"},
                        "Action": "kms:Decrypt",
                        "Resource": "*",
                    },
                )
            }
        },
        aws_sqs_queue_policy={
            "q": {"policy": _policy({"Sid": "Send", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"})}
        },
    )
    assert violations({"s": stack}) == [
        "s: aws_iam_role_policy.p [All]: grants every action: *",
        "s: aws_iam_role_policy.p [S3]: grants every action: s3:*",
        's: aws_iam_role_policy.p [Params]: Resource "*" for actions that take a resource: ssm:GetParameter',
        "s: aws_kms_key.k [Admin]: grants every action: kms:*",
        's: aws_sqs_queue_policy.q [Send]: a resource policy on Resource "*"',
    ]
    table = resource_star_table({"s": stack})
    assert table[ACTIONS_WITHOUT_RESOURCES["xray:PutTraceSegments"]] == [
        "s: aws_iam_role_policy.p [Traces]: xray:PutTraceSegments"
    ]
    assert table["NOT ALLOWED"] == [
        "s: aws_iam_role_policy.p [Params]: ssm:GetParameter",
        "s: aws_sqs_queue_policy.q [Send]: sqs:SendMessage",
    ]
    assert len(table[KEY_ITSELF]) == 2


def test_an_unreadable_document_fails() -> None:
    stack = _stack(aws_iam_role_policy={"p": {"policy": "${data.aws_iam_policy_document.d.json}"}})
    assert violations({"s": stack}) == ["s: aws_iam_role_policy.p: policy document is not JSON this check can read"]


def main(argv: list[str]) -> int:
    """``python -m tests.test_iam_least_privilege DIR``: check a synthesis output directory."""
    if len(argv) != 1:
        print(__doc__)
        return 64
    stacks = load_stacks(Path(argv[0]))
    if not stacks:
        print(f"no stacks under {argv[0]}/stacks")
        return 64
    found = violations(stacks)
    print(format_table(resource_star_table(stacks)))
    print()
    print(f"{len(found)} violation(s)")
    for line in found:
        print(f"  {line}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
