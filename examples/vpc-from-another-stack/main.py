"""The data plane in a VPC that another stack owns.

``SharedNetworkStack`` stands for the network your platform team already runs: a VPC with public subnets
(internet gateway) and private subnets (a NAT gateway), in a Terraform state of its own. The data plane's
stack takes its VPC and subnet ids as references (:func:`with_existing_network`), so cdktf writes them as
that stack's outputs, read back through ``terraform_remote_state``; the data plane creates no network.

Run ``python main.py [OUTDIR]`` (or ``cdktf synth``), then apply ``shared-network`` before
``rudder-ha-shared-vpc``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# Before any provider import: rudder-ha's loader then imports only the provider modules a stack names
# (the AWS provider package alone would otherwise import some 2,200 of them).
import rudder_ha.frontends.cdktf  # noqa: F401

# isort: split

from cdktf import App, S3Backend, TerraformStack
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.route_table import RouteTable, RouteTableRoute
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from rudder_ha.config import ConfigError, EnvironmentConfig, load_environments
from rudder_ha.parts.network.spec import ExistingNetwork, with_existing_network
from rudder_ha.topologies.single_node.cdktf import SingleNodeStack

HERE = Path(__file__).resolve().parent
ANYWHERE = "0.0.0.0/0"


class SharedNetworkStack(TerraformStack):
    """A VPC owned outside the data plane: one public and one private subnet per zone, one NAT gateway."""

    def __init__(self, scope: Construct, id_: str, config: EnvironmentConfig) -> None:
        super().__init__(scope, id_)
        net = config.network
        AwsProvider(self, "aws", region=config.region)
        S3Backend(self, bucket=config.state.bucket, key=f"{id_}/terraform.tfstate", region=config.region, encrypt=True)
        self.vpc = Vpc(self, "vpc", cidr_block=net.vpc_cidr, enable_dns_hostnames=True, enable_dns_support=True)
        igw = InternetGateway(self, "igw", vpc_id=self.vpc.id)
        public_routes = RouteTable(
            self, "public", vpc_id=self.vpc.id, route=[RouteTableRoute(cidr_block=ANYWHERE, gateway_id=igw.id)]
        )
        self.public_subnets: list[Subnet] = []
        self.private_subnets: list[Subnet] = []
        for i, zone in enumerate(net.availability_zones):
            public = Subnet(
                self, f"public_{i}", vpc_id=self.vpc.id, availability_zone=zone, cidr_block=net.public_subnet_cidrs[i]
            )
            RouteTableAssociation(self, f"public_{i}_routes", subnet_id=public.id, route_table_id=public_routes.id)
            self.public_subnets.append(public)
            private = Subnet(
                self, f"private_{i}", vpc_id=self.vpc.id, availability_zone=zone, cidr_block=net.private_subnet_cidrs[i]
            )
            self.private_subnets.append(private)
        nat = NatGateway(
            self,
            "nat",
            allocation_id=Eip(self, "nat_ip", domain="vpc", depends_on=[igw]).id,
            subnet_id=self.public_subnets[0].id,
        )
        private_routes = RouteTable(
            self, "private", vpc_id=self.vpc.id, route=[RouteTableRoute(cidr_block=ANYWHERE, nat_gateway_id=nat.id)]
        )
        for i, private in enumerate(self.private_subnets):
            RouteTableAssociation(self, f"private_{i}_routes", subnet_id=private.id, route_table_id=private_routes.id)

    def existing_network(self, config: EnvironmentConfig) -> ExistingNetwork:
        """This network as the data plane takes it: references to this stack's VPC and subnets."""
        return ExistingNetwork(
            vpc_id=self.vpc.id,
            public_subnet_ids=tuple(s.id for s in self.public_subnets),
            private_subnet_ids=tuple(s.id for s in self.private_subnets),
            availability_zones=config.network.availability_zones,
        )


def main(outdir: str) -> int:
    """Synthesizes both stacks into ``outdir``; returns the exit code."""
    app = App(outdir=outdir)
    try:
        (config,) = load_environments([HERE / "shared-vpc.yaml"])
        network = SharedNetworkStack(app, "shared-network", config)
        data_plane = SingleNodeStack(app, with_existing_network(config, network.existing_network(config)))
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    data_plane.add_dependency(network)
    print(f"synthesizing {network.node.id} and {data_plane.node.id} into {outdir}")
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CDKTF_OUTDIR", "cdktf.out")))
