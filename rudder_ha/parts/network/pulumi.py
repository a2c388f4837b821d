"""The environment's network: a new multi-AZ VPC, or an existing VPC and its subnets (Pulumi counterpart
of :mod:`rudder_ha.parts.network.cdktf`; layout, names and checks from :mod:`rudder_ha.parts.network.spec`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import pulumi
import pulumi_aws as aws

from rudder_ha.common.policies import policy_json
from rudder_ha.parts.network import spec
from rudder_ha.parts.network.spec import NetworkProps

__all__ = ["ExistingNetworkError", "Network", "NetworkProps", "after_checks"]

T = TypeVar("T")


class ExistingNetworkError(pulumi.RunError):
    """The existing VPC's subnets, as AWS reports them, do not fit ``network`` in the environment's YAML."""


def after_checks(preconditions: Sequence[pulumi.Output[Any]], value: pulumi.Input[T]) -> pulumi.Output[T]:
    """``value``, resolved only once every precondition has passed (so a resource taking it as an input
    is never created, or previewed, when a check fails): the Pulumi form of a cdktf ``lifecycle.precondition``.

    Example: ``vpc_zone_identifiers=after_checks(network.zone_preconditions, network.private_subnet_ids)``.
    """
    if not preconditions:
        return pulumi.Output.from_input(value)
    return pulumi.Output.all(pulumi.Output.all(*preconditions), value).apply(lambda resolved: resolved[1])


class Network(pulumi.ComponentResource):
    """Public subnets for the ALB, private subnets for the data plane, spread over the configured AZs.

    A new VPC gets an internet gateway, NAT gateways (one per AZ, or a single one), VPC flow logs to
    an encrypted log group, and a default security group with every rule removed. An existing VPC is
    used as given; its private subnets are looked up and the program fails (at preview as at update)
    with an :class:`ExistingNetworkError` naming the config field and the fix unless they are all in
    ``network.vpc_id`` and span two or more AZs.

    Attributes: ``vpc_id``, ``public_subnet_ids``, ``private_subnet_ids`` (plain strings for an existing
    VPC, Outputs for a new one) and ``zone_preconditions``.
    """

    vpc_id: pulumi.Input[str]
    public_subnet_ids: list[pulumi.Input[str]]
    private_subnet_ids: list[pulumi.Input[str]]
    zone_preconditions: list[pulumi.Output[aws.ec2.GetSubnetResult]]
    """For whoever places instances in the private subnets (empty for a new VPC): the lookups of the existing
    private subnets, each resolving only once the whole check has passed and failing the program otherwise.
    Make a resource depend on them with :func:`after_checks`."""

    def __init__(self, name: str, props: NetworkProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:network:Network", name, None, opts)
        self._base = name
        self._props = props
        self.zone_preconditions = []
        if props.settings.creates_vpc:
            self._create()
            self.register_outputs(
                {
                    "vpc_id": self.vpc_id,
                    "public_subnet_ids": self.public_subnet_ids,
                    "private_subnet_ids": self.private_subnet_ids,
                }
            )
        else:
            checked = self._adopt()
            # Registered so that a failed check fails the program even if nothing consumes the preconditions.
            self.register_outputs({"vpc_id": self.vpc_id, "checked_private_subnet_ids": checked})

    def _child(self, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=depends_on)

    def _create(self) -> None:
        props, net, n = self._props, self._props.settings, self._base
        prefix = props.name_prefix
        self.vpc = aws.ec2.Vpc(f"{n}-vpc", **spec.vpc_settings(prefix, net), opts=self._child())
        self.vpc_id = self.vpc.id
        aws.ec2.DefaultSecurityGroup(
            f"{n}-default_sg", vpc_id=self.vpc.id, tags=spec.default_sg_tags(prefix), opts=self._child()
        )
        igw = aws.ec2.InternetGateway(f"{n}-igw", vpc_id=self.vpc.id, tags=spec.vpc_tags(prefix), opts=self._child())

        public_rt = aws.ec2.RouteTable(
            f"{n}-public_rt", vpc_id=self.vpc.id, tags=spec.public_route_table_tags(prefix), opts=self._child()
        )
        aws.ec2.Route(
            f"{n}-public_default",
            route_table_id=public_rt.id,
            destination_cidr_block=spec.DEFAULT_ROUTE,
            gateway_id=igw.id,
            opts=self._child(),
        )

        public: list[aws.ec2.Subnet] = []
        private: list[aws.ec2.Subnet] = []
        pairs = spec.subnets(prefix, net, props.public_subnet_tags, props.private_subnet_tags)
        for public_spec, private_spec in pairs:
            pub = self._subnet(public_spec)
            aws.ec2.RouteTableAssociation(
                f"{n}-{public_spec.id}_rt", subnet_id=pub.id, route_table_id=public_rt.id, opts=self._child()
            )
            public.append(pub)
            private.append(self._subnet(private_spec))

        nats: list[aws.ec2.NatGateway] = []
        for nat in spec.nat_gateways(prefix, net):
            eip = aws.ec2.Eip(f"{n}-nat_eip_{nat.index}", domain="vpc", tags=nat.tags, opts=self._child([igw]))
            nats.append(
                aws.ec2.NatGateway(
                    f"{n}-nat_{nat.index}",
                    allocation_id=eip.id,
                    subnet_id=public[nat.index].id,
                    tags=nat.tags,
                    opts=self._child([igw]),
                )
            )
        for (_, private_spec), subnet in zip(pairs, private, strict=True):
            i = private_spec.index
            rt = aws.ec2.RouteTable(
                f"{n}-private_{i}_rt_table",
                vpc_id=self.vpc.id,
                tags=spec.private_route_table_tags(prefix, private_spec.zone),
                opts=self._child(),
            )
            aws.ec2.Route(
                f"{n}-private_{i}_default",
                route_table_id=rt.id,
                destination_cidr_block=spec.DEFAULT_ROUTE,
                nat_gateway_id=nats[spec.nat_for_private_subnet(i, len(nats))].id,
                opts=self._child(),
            )
            aws.ec2.RouteTableAssociation(
                f"{n}-private_{i}_rt", subnet_id=subnet.id, route_table_id=rt.id, opts=self._child()
            )

        self.public_subnets = public
        self.private_subnets = private
        self.public_subnet_ids = [s.id for s in public]
        self.private_subnet_ids = [s.id for s in private]
        self._flow_logs()

    def _subnet(self, subnet: spec.SubnetSpec) -> aws.ec2.Subnet:
        return aws.ec2.Subnet(f"{self._base}-{subnet.id}", vpc_id=self.vpc.id, **subnet.settings, opts=self._child())

    def _flow_logs(self) -> None:
        props, n = self._props, self._base
        self.flow_logs_group = aws.cloudwatch.LogGroup(
            f"{n}-flow_logs", **spec.flow_logs_group_settings(props), opts=self._child()
        )
        role = aws.iam.Role(
            f"{n}-flow_logs_role", **spec.flow_logs_role_settings(props.name_prefix), opts=self._child()
        )
        aws.iam.RolePolicy(
            f"{n}-flow_logs_policy",
            role=role.id,
            name=spec.FLOW_LOGS_POLICY_NAME,
            policy=self.flow_logs_group.arn.apply(lambda arn: policy_json(spec.flow_logs_policy(arn))),
            opts=self._child(),
        )
        aws.ec2.FlowLog(
            f"{n}-flow_log",
            vpc_id=self.vpc.id,
            log_destination=self.flow_logs_group.arn,
            iam_role_arn=role.arn,
            **spec.FLOW_LOG_SETTINGS,
            opts=self._child(),
        )

    def _adopt(self) -> pulumi.Output[list[str]]:
        net = self._props.settings
        assert net.vpc_id is not None
        # A literal id from the YAML, or another stack's Output (spec.with_existing_network).
        self.vpc_id = net.vpc_id
        self.public_subnet_ids = list(net.public_subnet_ids)
        self.private_subnet_ids = list(net.private_subnet_ids)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        # AWS answers at preview what the config cannot know offline: where the subnets are.
        self.private_subnet_lookups = [aws.ec2.get_subnet_output(id=i, opts=invoke) for i in net.private_subnet_ids]
        found = pulumi.Output.all(
            pulumi.Output.from_input(net.vpc_id),
            pulumi.Output.all(
                *(pulumi.Output.all(s.id, s.vpc_id, s.availability_zone) for s in self.private_subnet_lookups)
            ),
        )

        def check(resolved: list[Any]) -> list[str]:
            vpc_id, subnets = resolved
            problems = spec.adopted_subnet_problems(vpc_id, [(s[0], s[1], s[2]) for s in subnets])
            if problems:
                raise ExistingNetworkError(
                    "The existing network in the environment's YAML (network.vpc_id, network.private_subnet_ids) "
                    "does not fit what AWS reports:\n- " + "\n- ".join(problems)
                )
            return [s[0] for s in subnets]

        checked = found.apply(check)
        self.zone_preconditions = [
            pulumi.Output.all(checked, lookup).apply(lambda resolved: resolved[1])
            for lookup in self.private_subnet_lookups
        ]
        return checked
