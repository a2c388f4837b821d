"""Runs Pulumi programs in-process with Pulumi's own mocks: no CLI, no provider plugin, no AWS.

:func:`run_program` records every resource the program registers, with the inputs the engine would send
to the AWS provider (camelCase, as the provider schema names them). What the mocks return stands in for
what AWS computes on create, shaped as AWS shapes it: ids as AWS assigns them (the name for roles, log
groups, functions, tables...; the ARN for topics, load balancers and target groups; the URL for queues;
an opaque unique id otherwise), ARNs with partition, region and account, ALB and target-group ARN
suffixes, generated names for name prefixes, a launch template's version, an RDS instance's address and
managed master secret. Every id is unique, so a reference always tells which resource it points at.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi.runtime

ACCOUNT = "123456789012"
PARTITION = "aws"
ELB_ACCOUNT = "156460612806"
"""The Elastic Load Balancing account of eu-west-1 (what aws_elb_service_account answers there)."""

_SERVICE_OF = {
    "lb": "elasticloadbalancing",
    "alb": "elasticloadbalancing",
    "cloudwatch": "cloudwatch",
    "lambda": "lambda",
}
"""Pulumi module -> the ARN's service, where they differ."""
ID_ATTRIBUTE = {
    "aws:iam/role:Role": "name",
    "aws:iam/instanceProfile:InstanceProfile": "name",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:cloudwatch/eventRule:EventRule": "name",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "name",
    "aws:cloudwatch/dashboard:Dashboard": "dashboardName",
    "aws:dynamodb/table:Table": "name",
    "aws:ssm/parameter:Parameter": "name",
    "aws:ssm/document:Document": "name",
    "aws:autoscaling/group:Group": "name",
    "aws:rds/parameterGroup:ParameterGroup": "name",
    "aws:rds/subnetGroup:SubnetGroup": "name",
    "aws:lambda/function:Function": "name",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:sns/topic:Topic": "arn",
    "aws:lb/loadBalancer:LoadBalancer": "arn",
    "aws:lb/targetGroup:TargetGroup": "arn",
    "aws:lb/listener:Listener": "arn",
    "aws:sqs/queue:Queue": "url",
}
"""What AWS (and so the provider) uses as a resource's id; other resources get an opaque unique id
(``sg-…``-like: initials of the type, then hex), as AWS generates them."""


@dataclass(frozen=True)
class RecordedResource:
    """One resource the program registered."""

    type: str
    """Pulumi type token, e.g. ``aws:lb/targetGroup:TargetGroup``."""
    name: str
    """The Pulumi logical name."""
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    """What the mocks returned as the resource's state (inputs plus the computed ``id``, ``arn``...)."""
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    """The ``custom_timeouts`` resource option (Terraform's ``timeouts`` block), as set by the program."""
    delete_before_replace: bool | None = None
    """The ``delete_before_replace`` resource option (None: Pulumi's default, create the replacement first)."""

    def get(self, path: str, default: Any = None) -> Any:
        """A dotted path into the inputs (``healthCheck.path``); list items by index (``rules.0.x``)."""
        value: Any = self.inputs
        for part in path.split("."):
            if isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            elif isinstance(value, dict) and part in value:
                value = value[part]
            else:
                return default
        return value

    def json(self, key: str) -> Any:
        """An input holding a JSON document (a policy, a dashboard body), parsed."""
        return json.loads(self.inputs[key])


class RecordingMocks(pulumi.runtime.Mocks):
    """Records registrations and answers the data-source calls the program makes."""

    def __init__(self, region: str, subnet_vpcs: dict[str, str] | None = None) -> None:
        self.region = region
        self.subnet_vpcs = subnet_vpcs if subnet_vpcs is not None else dict(_shipped_subnet_vpcs())
        """Existing subnets' VPCs, as the shipped environment files declare them (AWS would answer so)."""
        self.resources: list[RecordedResource] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.timeouts: dict[tuple[str, str], dict[str, str]] = {}
        self.replacement: dict[tuple[str, str], bool | None] = {}
        self.result: Any = None
        """What the program returned (e.g. the outputs it would export)."""
        self.loop_errors: list[str] = []
        """What asyncio reported on the program's event loop (see :meth:`record_loop_error`)."""

    def record_options(self, args: pulumi.ResourceTransformationArgs) -> None:
        """A stack transformation (run after the program's own): keeps the resource options the engine
        would apply, custom timeouts and replacement order."""
        timeouts = args.opts.custom_timeouts if args.opts else None
        if timeouts is not None:
            chosen = {"create": timeouts.create, "update": timeouts.update, "delete": timeouts.delete}
            self.timeouts[(args.type_, args.name)] = {k: v for k, v in chosen.items() if v}
        if args.opts is not None:
            self.replacement[(args.type_, args.name)] = args.opts.delete_before_replace

    def record_loop_error(self, _loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """The program's event-loop exception handler: keeps, as one line, what asyncio would log (an
        output's exception no one read, a task destroyed pending).

        asyncio reports those from a future's finalizer, so from whichever garbage collection frees it:
        maybe inside ``ast.parse`` in a later test. Its default handler logs a formatted traceback, and
        CPython 3.11 parses source to format one (the caret anchors); that nested parse breaks the outer
        one ("AST constructor recursion depth mismatch"). This handler formats nothing."""
        exception = context.get("exception")
        message = str(context.get("message", "asyncio reported an error"))
        self.loop_errors.append(f"{message}: {exception!r}" if exception is not None else message)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        kind = args.typ.split(":")[-1] if args.typ.count(":") == 2 else args.typ
        module = args.typ.split(":")[1].split("/")[0] if args.typ.count(":") == 2 else "pulumi"
        unique = hashlib.sha256(f"{args.typ}|{args.name}".encode()).hexdigest()
        prefix = args.inputs.get("namePrefix") or args.inputs.get("bucketPrefix")
        # A name prefix gets AWS's unique suffix; without a name the provider would generate one too.
        physical = str(args.inputs.get("name") or (f"{prefix}{unique[:26]}" if prefix else args.name))
        service = _SERVICE_OF.get(module, module)
        outputs.setdefault("name", physical)
        # ARN-shaped but never equal to one a program would build by hand (so a reference stays traceable).
        outputs.setdefault(
            "arn", f"arn:{PARTITION}:{service}:{self.region}:{ACCOUNT}:{kind.lower()}/{physical}/{unique[:8]}"
        )
        if args.typ == "aws:lb/loadBalancer:LoadBalancer":
            outputs["arnSuffix"] = f"app/{physical}/{unique[:16]}"
            outputs["arn"] = f"arn:{PARTITION}:elasticloadbalancing:{self.region}:{ACCOUNT}:loadbalancer/app/{physical}"
            outputs["dnsName"] = f"{physical}-1234567890.{self.region}.elb.amazonaws.com"
            outputs["zoneId"] = "Z32O12XQLNTSW2"
        elif args.typ == "aws:lb/targetGroup:TargetGroup":
            outputs["arnSuffix"] = f"targetgroup/{physical}/{unique[:16]}"
        elif args.typ == "aws:sqs/queue:Queue":
            outputs["url"] = f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT}/{physical}"
            outputs["arn"] = f"arn:{PARTITION}:sqs:{self.region}:{ACCOUNT}:{physical}"
        elif args.typ == "aws:kms/key:Key":
            outputs["keyId"] = f"{unique[:8]}-{unique[8:12]}-{unique[12:16]}-{unique[16:20]}-{unique[20:32]}"
            outputs["arn"] = f"arn:{PARTITION}:kms:{self.region}:{ACCOUNT}:key/{outputs['keyId']}"
        elif args.typ == "aws:ec2/launchTemplate:LaunchTemplate":
            # AWS counts versions from 1; a distinctive number lets a reference to it be traced.
            outputs["latestVersion"] = outputs["defaultVersion"] = 10**8 + int(unique[:6], 16)
        elif args.typ == "aws:rds/instance:Instance":
            outputs["address"] = f"{physical}.abcdefghijkl.{self.region}.rds.amazonaws.com"
            outputs["masterUserSecrets"] = [
                {
                    "secretArn": f"arn:{PARTITION}:secretsmanager:{self.region}:{ACCOUNT}:secret:rds!db-{unique[:12]}",
                    "secretStatus": "active",
                    "kmsKeyId": outputs.get("masterUserSecretKmsKeyId", ""),
                }
            ]
        elif args.typ == "aws:iam/role:Role":
            outputs["arn"] = f"arn:{PARTITION}:iam::{ACCOUNT}:role/{physical}"
        elif args.typ == "aws:s3/bucket:Bucket":
            del outputs["name"]  # a bucket's name is its "bucket" attribute
            outputs["bucket"] = str(args.inputs.get("bucket") or physical)
            outputs["arn"] = f"arn:{PARTITION}:s3:::{outputs['bucket']}"
        id_from = ID_ATTRIBUTE.get(args.typ, "arn" if module == "imagebuilder" else "")
        if id_from and id_from in outputs:
            resource_id = str(outputs[id_from])
        else:
            initials = "".join(c for c in kind if c.isupper()).lower() or kind[:3].lower()
            resource_id = f"{initials}-{unique[:17]}"
        outputs["id"] = resource_id
        key = (args.typ, args.name)
        self.resources.append(
            RecordedResource(
                args.typ, args.name, dict(args.inputs), outputs, self.timeouts.get(key, {}), self.replacement.get(key)
            )
        )
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.calls.append((args.token, dict(args.args)))
        token = args.token
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:{PARTITION}:iam::{ACCOUNT}:user/test", "userId": "AIDATEST"}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "endpoint": f"ec2.{self.region}.amazonaws.com"}
        if token == "aws:elb/getServiceAccount:getServiceAccount":
            return {"arn": f"arn:{PARTITION}:iam::{ELB_ACCOUNT}:root", "id": ELB_ACCOUNT}
        if token == "aws:ec2/getSubnet:getSubnet":
            subnet = str(args.args.get("id", "subnet-0"))
            zone = f"{self.region}{'abc'[sum(map(ord, subnet)) % 3]}"
            vpc = self.subnet_vpcs.get(subnet, "vpc-0existing")
            return {"id": subnet, "vpcId": vpc, "availabilityZone": zone, "cidrBlock": "10.0.0.0/24"}
        raise NotImplementedError(f"the Pulumi mocks do not answer {token}; add it to tests/support/pulumi_mocks.py")


@functools.cache
def _shipped_subnet_vpcs() -> dict[str, str]:
    """Subnet id -> VPC id of the shipped environments' networks, read once per process (the files are the
    checkout's; every program run asks)."""
    from rudder_ha.config import load_environments, shipped_environment_files

    return {
        subnet: config.network.vpc_id
        for config in load_environments(shipped_environment_files())
        if config.network.vpc_id
        for subnet in (*config.network.private_subnet_ids, *config.network.public_subnet_ids)
    }


_SHARED_RUNS: dict[Hashable, RecordingMocks] = {}


def shared_run(key: Hashable, run: Callable[[], RecordingMocks]) -> RecordingMocks:
    """``run()``'s mocks, made once per process for ``key``: for the run of a shipped configuration that
    several tests only read (a Pulumi program under mocks costs a few hundred milliseconds of CPU)."""
    if key not in _SHARED_RUNS:
        _SHARED_RUNS[key] = run()
    return _SHARED_RUNS[key]


def run_program(program: Callable[[], Any], *, stack: str, region: str, project: str = "rudder-ha") -> RecordingMocks:
    """Runs ``program`` as Pulumi would for ``stack`` and returns the mocks with what it registered.

    Waits until every registration, including those made inside ``apply`` callbacks, has completed.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = RecordingMocks(region)
    loop.set_exception_handler(mocks.record_loop_error)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)

    @pulumi.runtime.test
    def run() -> None:
        pulumi.runtime.register_stack_transformation(mocks.record_options)
        mocks.result = program()

    try:
        run()
    finally:
        # A program that failed (e.g. a refused existing VPC) leaves registrations pending: end them here
        # rather than in the garbage collector.
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)
    return mocks
