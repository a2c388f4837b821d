"""The environment's network: a new multi-AZ VPC, or an existing VPC and its subnets."""

from __future__ import annotations

from cdktf import Fn, Op, Postcondition, Precondition, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_subnet import DataAwsSubnet
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from rudder_ha.frontends.cdktf.naming import policy_json
from rudder_ha.parts.network import spec
from rudder_ha.parts.network.spec import NetworkProps

__all__ = ["Network", "NetworkProps"]


class Network(Construct):
    """Public subnets for the ALB, private subnets for the data plane, spread over the configured AZs.

    A new VPC gets an internet gateway, NAT gateways (one per AZ, or a single one), VPC flow logs to
    an encrypted log group, and a default security group with every rule removed. An existing VPC is
    used as given, its id and subnet ids literal (from the YAML) or references to another stack's resources
    (:func:`rudder_ha.parts.network.spec.with_existing_network`); a plan-time postcondition checks each private
    subnet is in the VPC and a precondition that they span two or more AZs.
    """

    vpc_id: str
    public_subnet_ids: list[str]
    private_subnet_ids: list[str]
    zone_preconditions: list[Precondition]
    """Plan-time checks for whoever places instances in the private subnets (empty for a new VPC)."""

    def __init__(self, scope: Construct, id_: str, props: NetworkProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        self.zone_preconditions = []
        if props.settings.creates_vpc:
            self._create()
        else:
            self._adopt()

    def _create(self) -> None:
        props, net = self._props, self._props.settings
        name = props.name_prefix
        vpc = Vpc(self, "vpc", **spec.vpc_settings(name, net))
        self.vpc_id = vpc.id
        DefaultSecurityGroup(self, "default_sg", vpc_id=vpc.id, tags=spec.default_sg_tags(name))
        igw = InternetGateway(self, "igw", vpc_id=vpc.id, tags=spec.vpc_tags(name))

        public_rt = RouteTable(self, "public_rt", vpc_id=vpc.id, tags=spec.public_route_table_tags(name))
        Route(
            self,
            "public_default",
            route_table_id=public_rt.id,
            destination_cidr_block=spec.DEFAULT_ROUTE,
            gateway_id=igw.id,
        )

        public: list[Subnet] = []
        private: list[Subnet] = []
        pairs = spec.subnets(name, net, props.public_subnet_tags, props.private_subnet_tags)
        for public_spec, private_spec in pairs:
            pub = self._subnet(vpc.id, public_spec)
            RouteTableAssociation(self, f"{public_spec.id}_rt", subnet_id=pub.id, route_table_id=public_rt.id)
            public.append(pub)
            private.append(self._subnet(vpc.id, private_spec))

        nats = []
        for nat in spec.nat_gateways(name, net):
            eip = Eip(self, f"nat_eip_{nat.index}", domain="vpc", tags=nat.tags, depends_on=[igw])
            nats.append(
                NatGateway(
                    self,
                    f"nat_{nat.index}",
                    allocation_id=eip.id,
                    subnet_id=public[nat.index].id,
                    tags=nat.tags,
                    depends_on=[igw],
                )
            )
        for (_, private_spec), subnet in zip(pairs, private, strict=True):
            i = private_spec.index
            rt = RouteTable(
                self,
                f"private_{i}_rt_table",
                vpc_id=vpc.id,
                tags=spec.private_route_table_tags(name, private_spec.zone),
            )
            Route(
                self,
                f"private_{i}_default",
                route_table_id=rt.id,
                destination_cidr_block=spec.DEFAULT_ROUTE,
                nat_gateway_id=nats[spec.nat_for_private_subnet(i, len(nats))].id,
            )
            RouteTableAssociation(self, f"private_{i}_rt", subnet_id=subnet.id, route_table_id=rt.id)

        self.public_subnet_ids = [s.id for s in public]
        self.private_subnet_ids = [s.id for s in private]
        self._flow_logs(vpc.id)

    def _subnet(self, vpc_id: str, subnet: spec.SubnetSpec) -> Subnet:
        return Subnet(self, subnet.id, vpc_id=vpc_id, **subnet.settings)

    def _flow_logs(self, vpc_id: str) -> None:
        props = self._props
        group = CloudwatchLogGroup(self, "flow_logs", **spec.flow_logs_group_settings(props))
        role = IamRole(self, "flow_logs_role", **spec.flow_logs_role_settings(props.name_prefix))
        IamRolePolicy(
            self,
            "flow_logs_policy",
            role=role.id,
            name=spec.FLOW_LOGS_POLICY_NAME,
            policy=policy_json(spec.flow_logs_policy(group.arn)),
        )
        FlowLog(
            self,
            "flow_log",
            vpc_id=vpc_id,
            log_destination=group.arn,
            iam_role_arn=role.arn,
            **spec.FLOW_LOG_SETTINGS,
        )

    def _adopt(self) -> None:
        net = self._props.settings
        assert net.vpc_id is not None
        self.vpc_id = net.vpc_id
        self.public_subnet_ids = list(net.public_subnet_ids)
        self.private_subnet_ids = list(net.private_subnet_ids)
        # Terraform checks at plan time what the config cannot know offline.
        subnets = [
            DataAwsSubnet(
                self,
                f"private_{i}",
                id=subnet_id,
                lifecycle=TerraformResourceLifecycle(
                    postcondition=[
                        Postcondition(
                            condition=spec.same_vpc_condition(net.vpc_id),
                            error_message=spec.subnet_outside_vpc_message(i, net.vpc_id),
                        )
                    ]
                ),
            )
            for i, subnet_id in enumerate(net.private_subnet_ids)
        ]
        self.zone_preconditions = [
            Precondition(
                condition=Op.gte(Fn.length_of(Fn.distinct([s.availability_zone for s in subnets])), spec.MIN_ZONES),
                error_message=spec.ZONES_MESSAGE,
            )
        ]
