"""The Pulumi encryption key and network components, run in-process with Pulumi's mocks for every shipped
single-node environment: the settings and physical names the cdktf constructs produce, and the checks of
an existing VPC (which the cdktf stack makes with Terraform pre/postconditions)."""

from __future__ import annotations

import asyncio
import gc
import logging
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from rudder_ha.config import EnvironmentConfig, load_environments, shipped_environment_files
from rudder_ha.parts.encryption_key.pulumi import EncryptionKey, EncryptionKeyProps
from rudder_ha.parts.network.pulumi import ExistingNetworkError, Network, NetworkProps, after_checks
from tests.support.pulumi_mocks import (
    ACCOUNT,
    PARTITION,
    RecordedResource,
    RecordingMocks,
    run_program,
)

CONFIGS = [c for c in load_environments(shipped_environment_files()) if c.topology == "single_node"]
NEW_VPC = [c for c in CONFIGS if c.network.creates_vpc]
EXISTING_VPC = [c for c in CONFIGS if not c.network.creates_vpc]
GET_SUBNET = "aws:ec2/getSubnet:getSubnet"


def ids(configs: list[EnvironmentConfig]) -> list[str]:
    return [c.environment for c in configs]


def build(config: EnvironmentConfig, extra: Callable[[Network], Any] | None = None) -> Callable[[], None]:
    """The program: the environment's key and network, as the single-node stack composes them."""

    def program() -> None:
        provider = aws.Provider("aws", region=config.region)
        opts = pulumi.ResourceOptions(providers=[provider])
        key = EncryptionKey("key", EncryptionKeyProps(name_prefix=config.name_prefix, region=config.region), opts)
        network = Network(
            "network",
            NetworkProps(name_prefix=config.name_prefix, settings=config.network, log_key_arn=key.arn),
            opts,
        )
        if extra is not None:
            extra(network)

    return program


def run(config: EnvironmentConfig, extra: Callable[[Network], Any] | None = None) -> RecordingMocks:
    return run_program(build(config, extra), stack=config.environment, region=config.region)


def only(mocks: RecordingMocks, type_: str, name: str) -> RecordedResource:
    found = [r for r in mocks.resources if r.type == type_ and r.name == name]
    assert len(found) == 1, f"{type_} {name}: {len(found)} registered"
    return found[0]


def of_type(mocks: RecordingMocks, type_: str) -> dict[str, RecordedResource]:
    return {r.name: r for r in mocks.resources if r.type == type_}


def output(mocks: RecordingMocks, type_: str, name: str, key: str = "id") -> Any:
    """What the mocks returned as ``key`` (the id by default) of the one ``type_`` resource named ``name``."""
    return only(mocks, type_, name).outputs[key]


def answer_subnets(monkeypatch: pytest.MonkeyPatch, where: Callable[[str], tuple[str, str]]) -> None:
    """Makes the mocks report each subnet's ``(vpc id, availability zone)`` as ``where`` says."""
    original = RecordingMocks.call

    def call(self: RecordingMocks, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        answer = original(self, args)
        if args.token == GET_SUBNET:
            answer["vpcId"], answer["availabilityZone"] = where(answer["id"])
        return answer

    monkeypatch.setattr(RecordingMocks, "call", call)


def zones_of(config: EnvironmentConfig) -> Callable[[str], tuple[str, str]]:
    """Every private subnet in the configured VPC, each in its own zone."""
    zones = {s: f"{config.region}{'abc'[i % 3]}" for i, s in enumerate(config.network.private_subnet_ids)}
    return lambda subnet: (str(config.network.vpc_id), zones.get(subnet, f"{config.region}a"))


# --- encryption key ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", CONFIGS, ids=ids(CONFIGS))
def test_key_rotates_and_its_policy_scopes_each_service_to_the_account(config: EnvironmentConfig) -> None:
    mocks = run(config)
    key = only(mocks, "aws:kms/key:Key", "key-key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    assert key.inputs["description"] == f"{config.name_prefix}: logs, queues, topics and tables"
    alias = only(mocks, "aws:kms/alias:Alias", "key-alias")
    assert alias.inputs["name"] == f"alias/{config.name_prefix}"
    assert alias.inputs["targetKeyId"] == key.outputs["keyId"]

    statements = {s["Sid"]: s for s in key.json("policy")["Statement"]}
    assert list(statements) == ["AccountAdministers", "LogsUsesKey", "CloudwatchUsesKey", "EventsUsesKey", "SnsUsesKey"]
    admin = statements["AccountAdministers"]
    assert admin["Principal"] == {"AWS": f"arn:{PARTITION}:iam::{ACCOUNT}:root"}
    # Every operation of a symmetric key by name, never kms:* (tests/test_iam_least_privilege.py).
    assert "kms:*" not in admin["Action"] and {"kms:PutKeyPolicy", "kms:Decrypt"} <= set(admin["Action"])
    logs = statements["LogsUsesKey"]
    assert logs["Principal"] == {"Service": f"logs.{config.region}.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{PARTITION}:logs:{config.region}:{ACCOUNT}:*"}
    }
    assert "kms:*" not in logs["Action"] and "kms:Decrypt" in logs["Action"]
    assert "Condition" not in statements["CloudwatchUsesKey"]
    prefix, region = config.name_prefix, config.region
    for sid, service, source in (
        ("EventsUsesKey", "events", f"arn:{PARTITION}:events:{region}:{ACCOUNT}:rule/{prefix}-*"),
        ("SnsUsesKey", "sns", f"arn:{PARTITION}:sns:{region}:{ACCOUNT}:{prefix}-*"),
    ):
        assert statements[sid]["Principal"] == {"Service": f"{service}.amazonaws.com"}
        assert statements[sid]["Condition"] == {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": source},
        }


# --- a new VPC --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", NEW_VPC, ids=ids(NEW_VPC))
def test_new_vpc_has_a_public_and_a_private_subnet_per_zone(config: EnvironmentConfig) -> None:
    mocks = run(config)
    net, prefix = config.network, config.name_prefix
    vpc = only(mocks, "aws:ec2/vpc:Vpc", "network-vpc")
    assert vpc.inputs["cidrBlock"] == net.vpc_cidr
    assert vpc.inputs["enableDnsHostnames"] is True and vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["tags"] == {"Name": prefix}

    subnets = of_type(mocks, "aws:ec2/subnet:Subnet")
    assert len(subnets) == 2 * len(net.availability_zones)
    for i, zone in enumerate(net.availability_zones):
        for tier, cidr in (("public", net.public_subnet_cidrs[i]), ("private", net.private_subnet_cidrs[i])):
            subnet = subnets[f"network-{tier}_{i}"]
            assert subnet.inputs["availabilityZone"] == zone
            assert subnet.inputs["cidrBlock"] == cidr
            assert subnet.inputs["vpcId"] == vpc.outputs["id"]
            assert subnet.inputs["mapPublicIpOnLaunch"] is False, "nothing gets a public IP by default"
            assert subnet.inputs["tags"] == {"Name": f"{prefix}-{tier}-{zone}", "Tier": tier}

    default_sg = only(mocks, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "network-default_sg")
    assert "ingress" not in default_sg.inputs and "egress" not in default_sg.inputs, "every default rule removed"
    assert default_sg.inputs["tags"] == {"Name": f"{prefix}-default-deny"}
    assert default_sg.inputs["vpcId"] == vpc.outputs["id"]


@pytest.mark.parametrize("config", NEW_VPC, ids=ids(NEW_VPC))
def test_private_subnets_route_out_through_the_configured_nat_gateways(config: EnvironmentConfig) -> None:
    mocks = run(config)
    net, prefix = config.network, config.name_prefix
    nats = of_type(mocks, "aws:ec2/natGateway:NatGateway")
    expected = len(net.availability_zones) if net.nat_gateways == "one_per_az" else 1
    assert len(nats) == expected
    assert len(of_type(mocks, "aws:ec2/eip:Eip")) == expected
    subnet_ids = {name: r.outputs["id"] for name, r in of_type(mocks, "aws:ec2/subnet:Subnet").items()}
    eip_ids = {name: r.outputs["id"] for name, r in of_type(mocks, "aws:ec2/eip:Eip").items()}
    for i in range(expected):
        nat = nats[f"network-nat_{i}"]
        assert nat.inputs["subnetId"] == subnet_ids[f"network-public_{i}"], "a NAT gateway lives in a public subnet"
        assert nat.inputs["allocationId"] == eip_ids[f"network-nat_eip_{i}"]
        assert nat.inputs["tags"] == {"Name": f"{prefix}-nat-{net.availability_zones[i]}"}

    routes = of_type(mocks, "aws:ec2/route:Route")
    igw_id = output(mocks, "aws:ec2/internetGateway:InternetGateway", "network-igw")
    assert routes["network-public_default"].inputs["gatewayId"] == igw_id
    tables = {name: r.outputs["id"] for name, r in of_type(mocks, "aws:ec2/routeTable:RouteTable").items()}
    assert routes["network-public_default"].inputs["routeTableId"] == tables["network-public_rt"]
    associations = of_type(mocks, "aws:ec2/routeTableAssociation:RouteTableAssociation")
    for i in range(len(net.availability_zones)):
        route = routes[f"network-private_{i}_default"]
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
        assert route.inputs["natGatewayId"] == nats[f"network-nat_{i % expected}"].outputs["id"]
        assert route.inputs["routeTableId"] == tables[f"network-private_{i}_rt_table"]
        assert "gatewayId" not in route.inputs, "private subnets have no route to the internet gateway"
        assert associations[f"network-private_{i}_rt"].inputs == {
            "subnetId": subnet_ids[f"network-private_{i}"],
            "routeTableId": tables[f"network-private_{i}_rt_table"],
        }
        assert associations[f"network-public_{i}_rt"].inputs["subnetId"] == subnet_ids[f"network-public_{i}"]
        assert associations[f"network-public_{i}_rt"].inputs["routeTableId"] == tables["network-public_rt"]


@pytest.mark.parametrize("config", NEW_VPC, ids=ids(NEW_VPC))
def test_flow_logs_go_to_an_encrypted_group_through_a_role_scoped_to_it(config: EnvironmentConfig) -> None:
    mocks = run(config)
    prefix = config.name_prefix
    group = only(mocks, "aws:cloudwatch/logGroup:LogGroup", "network-flow_logs")
    assert group.inputs["name"] == f"/aws/vpc-flow-logs/{prefix}"
    assert group.inputs["retentionInDays"] == config.network.flow_logs_retention_days
    key_arn = output(mocks, "aws:kms/key:Key", "key-key", "arn")
    assert group.inputs["kmsKeyId"] == key_arn, "encrypted with the environment key"

    role = only(mocks, "aws:iam/role:Role", "network-flow_logs_role")
    assert role.inputs["name"] == f"{prefix}-vpc-flow-logs"
    trust = role.json("assumeRolePolicy")["Statement"]
    assert trust == [
        {"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    group_arn = group.outputs["arn"]
    policy = only(mocks, "aws:iam/rolePolicy:RolePolicy", "network-flow_logs_policy")
    assert policy.inputs["name"] == "write-flow-logs"
    assert policy.inputs["role"] == role.outputs["id"]
    (statement,) = policy.json("policy")["Statement"]
    assert statement["Resource"] == [group_arn, f"{group_arn}:*"], "the role writes to its own group only"
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]

    flow_log = only(mocks, "aws:ec2/flowLog:FlowLog", "network-flow_log")
    assert flow_log.inputs["vpcId"] == output(mocks, "aws:ec2/vpc:Vpc", "network-vpc")
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow_log.inputs["logDestination"] == group_arn
    assert flow_log.inputs["maxAggregationInterval"] == 60
    assert flow_log.inputs["iamRoleArn"] == role.outputs["arn"] == f"arn:aws:iam::{ACCOUNT}:role/{prefix}-vpc-flow-logs"


@pytest.mark.parametrize("config", NEW_VPC, ids=ids(NEW_VPC))
def test_new_vpc_has_no_zone_preconditions_and_no_subnet_lookups(config: EnvironmentConfig) -> None:
    seen: dict[str, Any] = {}
    mocks = run(config, lambda network: seen.update(preconditions=network.zone_preconditions))
    assert seen["preconditions"] == []
    assert not [token for token, _ in mocks.calls if token == GET_SUBNET]


# --- an existing VPC --------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", EXISTING_VPC, ids=ids(EXISTING_VPC))
def test_existing_vpc_is_used_as_given_and_its_private_subnets_are_looked_up(
    config: EnvironmentConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_subnets(monkeypatch, zones_of(config))
    seen: dict[str, Any] = {}

    def consume(network: Network) -> None:
        seen.update(
            vpc_id=network.vpc_id,
            public=network.public_subnet_ids,
            private=network.private_subnet_ids,
            count=len(network.zone_preconditions),
        )
        # A resource gated by the checks, as the data plane's autoscaling group is.
        aws.sns.Topic(
            "gated",
            display_name=after_checks(network.zone_preconditions, ",".join(network.private_subnet_ids)),
            opts=pulumi.ResourceOptions(parent=network),
        )
        pulumi.Output.all(*network.zone_preconditions).apply(lambda found: seen.update(found=found))

    mocks = run(config, consume)
    net = config.network
    assert seen["vpc_id"] == net.vpc_id
    assert seen["public"] == list(net.public_subnet_ids)
    assert seen["private"] == list(net.private_subnet_ids)
    assert seen["count"] == len(net.private_subnet_ids)
    assert [r.id for r in seen["found"]] == list(net.private_subnet_ids)
    assert sorted(args["id"] for token, args in mocks.calls if token == GET_SUBNET) == sorted(net.private_subnet_ids)
    created = {r.type for r in mocks.resources}
    assert not created & {"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway"}
    assert only(mocks, "aws:sns/topic:Topic", "gated").inputs["displayName"] == ",".join(net.private_subnet_ids)


@pytest.mark.parametrize("config", EXISTING_VPC, ids=ids(EXISTING_VPC))
def test_a_subnet_outside_the_vpc_fails_naming_the_field_and_the_fix(
    config: EnvironmentConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    stray = config.network.private_subnet_ids[1]
    good = zones_of(config)
    answer_subnets(monkeypatch, lambda s: ("vpc-0other", good(s)[1]) if s == stray else good(s))
    registered: list[str] = []
    original = RecordingMocks.new_resource

    def new_resource(self: RecordingMocks, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        registered.append(args.name)
        return original(self, args)

    monkeypatch.setattr(RecordingMocks, "new_resource", new_resource)

    def gated(network: Network) -> None:
        subnets = after_checks(network.zone_preconditions, list(network.private_subnet_ids))
        aws.ec2.SecurityGroup(
            "gated", vpc_id=subnets.apply(lambda _ids: "vpc-x"), opts=pulumi.ResourceOptions(parent=network)
        )

    with pytest.raises(ExistingNetworkError) as failure:
        run(config, gated)
    assert "gated" not in registered, "a resource depending on the checks is not created when they fail"
    message = str(failure.value)
    assert f"network.private_subnet_ids[1] is not in {config.network.vpc_id}." in message
    assert f"{stray} is in vpc-0other" in message
    assert "set network.vpc_id to vpc-0other" in message
    assert "private_subnet_ids[0]" not in message


@pytest.mark.parametrize("config", EXISTING_VPC, ids=ids(EXISTING_VPC))
def test_private_subnets_in_one_zone_fail_even_when_nothing_consumes_the_check(
    config: EnvironmentConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_subnets(monkeypatch, lambda _subnet: (str(config.network.vpc_id), f"{config.region}b"))
    with pytest.raises(ExistingNetworkError) as failure:
        run(config)
    message = str(failure.value)
    assert "network.private_subnet_ids must span at least two availability zones." in message
    assert f"They are all in {config.region}b" in message
    assert "is not in" not in message


def test_an_error_no_one_reads_is_recorded_by_the_mocks_and_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A failed program leaves futures whose exception no one read; asyncio reports each when it is freed,
    from whatever garbage collection frees it. The mocks keep the report as a line instead of logging a
    formatted traceback there (see :meth:`RecordingMocks.record_loop_error`)."""

    def program() -> None:
        unread = asyncio.get_event_loop().create_future()
        unread.set_exception(ExistingNetworkError("nobody reads this"))

    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        mocks = run_program(program, stack="dev", region="eu-west-1")
        gc.collect()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert mocks.loop_errors == ["Future exception was never retrieved: ExistingNetworkError('nobody reads this')"]


# --- front-end independence -------------------------------------------------------------------------------


def test_pulumi_components_and_specs_do_not_load_cdktf() -> None:
    modules = [
        "rudder_ha.parts.encryption_key.pulumi",
        "rudder_ha.parts.network.pulumi",
        "rudder_ha.parts.private_bucket.pulumi",
        "rudder_ha.parts.access_log_bucket.pulumi",
        "rudder_ha.parts.load_balancer.pulumi",
    ]
    code = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('cdktf', 'constructs', 'jsii')"
        " or m.startswith('cdktf_cdktf_provider') or (m.startswith('rudder_ha.') and 'cdktf' in m.split('.')))\n"
        "print(bad)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
