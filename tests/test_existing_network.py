"""The data plane in a VPC it does not own, given as references to another stack's resources
(:func:`rudder_ha.parts.network.spec.with_existing_network`): what is refused offline, the Terraform
condition each front end writes, and the Pulumi program taking the VPC as another resource's Output.
The cdktf app doing the same is ``examples/vpc-from-another-stack`` (tests/test_examples.py)."""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from rudder_ha.config import ConfigError, EnvironmentConfig, load_environments
from rudder_ha.parts.encryption_key.pulumi import EncryptionKey, EncryptionKeyProps
from rudder_ha.parts.network import spec
from rudder_ha.parts.network.pulumi import ExistingNetworkError, Network, NetworkProps, after_checks
from rudder_ha.parts.network.spec import ExistingNetwork, with_existing_network
from tests.support.paths import REPO
from tests.support.pulumi_mocks import RecordingMocks, run_program

EXAMPLE = REPO / "examples" / "vpc-from-another-stack" / "shared-vpc.yaml"
GET_SUBNET = "aws:ec2/getSubnet:getSubnet"
VPC = "vpc-0a1b2c3d4e5f60718"
PUBLIC = ("subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2")
PRIVATE = ("subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2")


@pytest.fixture(scope="module")
def config() -> EnvironmentConfig:
    (loaded,) = load_environments([EXAMPLE])
    return loaded


# --- offline checks ---------------------------------------------------------------------------------------


def test_literal_ids_replace_the_new_vpc_settings(config: EnvironmentConfig) -> None:
    assert config.network.creates_vpc
    placed = with_existing_network(
        config, ExistingNetwork(VPC, PUBLIC, PRIVATE, availability_zones=("eu-west-1a", "eu-west-1b"))
    )
    net = placed.network
    assert not net.creates_vpc
    assert (net.vpc_id, net.public_subnet_ids, net.private_subnet_ids) == (VPC, PUBLIC, PRIVATE)
    assert net.vpc_cidr is None and net.public_subnet_cidrs == () and net.private_subnet_cidrs == ()
    assert net.availability_zones == ("eu-west-1a", "eu-west-1b")
    assert net.flow_logs_retention_days == config.network.flow_logs_retention_days
    assert placed.environment == config.environment and placed.load_balancer == config.load_balancer


def test_references_pass_unchecked_and_are_kept_as_given(config: EnvironmentConfig) -> None:
    token_vpc, tokens = "${TfToken[TOKEN.1]}", ("${TfToken[TOKEN.2]}", "${TfToken[TOKEN.3]}")
    placed = with_existing_network(config, ExistingNetwork(token_vpc, tokens, tokens[::-1]))
    assert placed.network.vpc_id == token_vpc
    assert placed.network.private_subnet_ids == tokens[::-1]
    assert placed.network.availability_zones == ()


@pytest.mark.parametrize(
    ("existing", "field", "fix"),
    [
        (ExistingNetwork("vpc-xyz", PUBLIC, PRIVATE), "network.vpc_id", "use one such as vpc-0123456789abcdef0"),
        (ExistingNetwork(VPC, PUBLIC, PRIVATE[:1]), "network.private_subnet_ids", "give at least 2"),
        (ExistingNetwork(VPC, (), PRIVATE), "network.public_subnet_ids", "give at least 2"),
        (ExistingNetwork(VPC, PUBLIC, (PRIVATE[0], "sg-1")), "network.private_subnet_ids[1]", "subnet-0123456789"),
        (ExistingNetwork(VPC, (PUBLIC[0], PUBLIC[0]), PRIVATE), "network.public_subnet_ids", "list each subnet once"),
        (
            ExistingNetwork(VPC, PUBLIC, PRIVATE, availability_zones=("eu-west-1a",)),
            "network.availability_zones",
            "list the zone of each private subnet",
        ),
    ],
)
def test_a_bad_existing_network_is_refused_with_one_line_naming_file_field_and_fix(
    config: EnvironmentConfig, existing: ExistingNetwork, field: str, fix: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        with_existing_network(config, existing)
    (problem,) = refused.value.problems
    line = str(problem)
    assert "\n" not in line
    assert line.startswith(f"{config.source}: {field}: ")
    assert fix in line


def test_the_subnet_condition_compares_a_literal_as_text_and_a_reference_as_an_expression() -> None:
    assert spec.same_vpc_condition(VPC) == f'${{self.vpc_id == "{VPC}"}}'
    # cdktf resolves the token inside the expression to the bare reference (see tests/test_examples.py).
    assert spec.same_vpc_condition("${TfToken[TOKEN.7]}") == "${self.vpc_id == ${TfToken[TOKEN.7]}}"


# --- Pulumi: the VPC as another resource's Output ---------------------------------------------------------


def answer_from_recorded_subnets(monkeypatch: pytest.MonkeyPatch, stray: str | None = None) -> None:
    """The mocks answer a subnet lookup as AWS would for the subnets the program created: their own VPC and
    zone (``stray``, when given, names a subnet reported in another VPC)."""
    original = RecordingMocks.call

    def call(self: RecordingMocks, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        answer = original(self, args)
        if args.token == GET_SUBNET:
            (subnet,) = [
                r for r in self.resources if r.type == "aws:ec2/subnet:Subnet" and r.outputs["id"] == args.args["id"]
            ]
            answer["vpcId"] = "vpc-0elsewhere" if subnet.name == stray else subnet.inputs["vpcId"]
            answer["availabilityZone"] = subnet.inputs["availabilityZone"]
        return answer

    monkeypatch.setattr(RecordingMocks, "call", call)


def program(config: EnvironmentConfig, seen: dict[str, Any]) -> Any:
    """Another team's VPC and subnets, then the data plane's network placed in them by reference."""

    def run() -> None:
        vpc = aws.ec2.Vpc("shared-vpc", cidr_block=config.network.vpc_cidr)
        subnets = {
            tier: [
                aws.ec2.Subnet(f"shared-{tier}-{i}", vpc_id=vpc.id, availability_zone=zone, cidr_block=cidr)
                for i, (zone, cidr) in enumerate(zip(config.network.availability_zones, cidrs, strict=True))
            ]
            for tier, cidrs in (
                ("public", config.network.public_subnet_cidrs),
                ("private", config.network.private_subnet_cidrs),
            )
        }
        placed = with_existing_network(
            config,
            ExistingNetwork(vpc.id, tuple(s.id for s in subnets["public"]), tuple(s.id for s in subnets["private"])),
        )
        key = EncryptionKey("key", EncryptionKeyProps(name_prefix=config.name_prefix, region=config.region))
        network = Network(
            "network", NetworkProps(name_prefix=config.name_prefix, settings=placed.network, log_key_arn=key.arn)
        )
        aws.sns.Topic(
            "gated",
            display_name=after_checks(network.zone_preconditions, pulumi.Output.all(*network.private_subnet_ids)).apply(
                ",".join
            ),
        )
        pulumi.Output.all(vpc.id, network.vpc_id).apply(lambda ids: seen.update(vpc=ids[0], network_vpc=ids[1]))

    return run


def test_pulumi_network_takes_the_vpc_as_an_output_and_checks_its_subnets(
    config: EnvironmentConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_from_recorded_subnets(monkeypatch)
    seen: dict[str, Any] = {}
    mocks = run_program(program(config, seen), stack=config.environment, region=config.region)
    assert seen["network_vpc"] == seen["vpc"]
    # in the shared stack's own order (registrations may complete in any order)
    private = sorted((r for r in mocks.resources if r.name.startswith("shared-private-")), key=lambda r: r.name)
    private_ids = [r.outputs["id"] for r in private]
    assert sorted(args["id"] for token, args in mocks.calls if token == GET_SUBNET) == sorted(private_ids)
    names = {r.name for r in mocks.resources}
    assert not {"network-vpc", "network-nat_0", "network-flow_log"} & names, "the data plane owns no network"
    (gated,) = [r for r in mocks.resources if r.name == "gated"]
    assert gated.inputs["displayName"] == ",".join(private_ids)


def test_pulumi_network_refuses_a_subnet_of_another_vpc_naming_the_resolved_vpc(
    config: EnvironmentConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_from_recorded_subnets(monkeypatch, stray="shared-private-1")
    with pytest.raises(ExistingNetworkError) as refused:
        run_program(program(config, {}), stack=config.environment, region=config.region)
    message = str(refused.value)
    # The id the mocks gave the shared VPC (tests/support/pulumi_mocks.py), resolved from its Output.
    vpc_id = "v-" + hashlib.sha256(b"aws:ec2/vpc:Vpc|shared-vpc").hexdigest()[:17]
    assert f"network.private_subnet_ids[1] is not in {vpc_id}." in message
    assert "is in vpc-0elsewhere" in message
    assert "private_subnet_ids[0]" not in message
