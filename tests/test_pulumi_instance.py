"""The Pulumi compute side (instance role, artifacts bucket, single-node group) under Pulumi's in-process
mocks: the same names and settings as the cdktf constructs, policies scoped to the right ARNs."""

from __future__ import annotations

import base64
import dataclasses
import gzip
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.runtime import rpc

from rudder_ha.config import EnvironmentConfig, load_environments, shipped_environment_files
from rudder_ha.config.model import GATEWAY_PORT, SecretRef
from rudder_ha.instance.bundle import InstanceBundle, build_bundle
from rudder_ha.instance.user_data import encoded_user_data, jobsdb_parameter
from rudder_ha.parts.instance_artifacts.pulumi import InstanceArtifacts, InstanceArtifactsProps
from rudder_ha.parts.instance_role.pulumi import InstanceRole, InstanceRoleProps
from rudder_ha.parts.single_node_group.pulumi import SingleNodeGroup, SingleNodeGroupProps
from tests.support.pulumi_mocks import ACCOUNT, RecordedResource, RecordingMocks, run_program

SINGLE_NODE = [c for c in load_environments(shipped_environment_files()) if c.topology == "single_node"]
IDS = [c.environment for c in SINGLE_NODE]
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALB_SG = "sg-0alb"
TARGET_GROUP_ARN = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:targetgroup/gw/73e2d6bc24d8a067"
SUBNETS = ["subnet-0aaa", "subnet-0bbb"]
TAGS = {"project": "rudder-ha", "environment": "test", "managed-by": "pulumi"}


@pytest.fixture(scope="module")
def bundle() -> InstanceBundle:
    return build_bundle()


def _only(mocks: RecordingMocks, type_: str, name: str) -> RecordedResource:
    found = [r for r in mocks.resources if r.type == type_ and r.name == name]
    assert len(found) == 1, f"{type_} {name}: {[r.name for r in mocks.resources if r.type == type_]}"
    return found[0]


def _run(config: EnvironmentConfig, build: Callable[[pulumi.ResourceOptions], Any]) -> RecordingMocks:
    def program() -> None:
        provider = aws.Provider("aws", region=config.region)
        build(pulumi.ResourceOptions(providers=[provider]))

    return run_program(program, stack=config.environment, region=config.region)


def _compute(
    config: EnvironmentConfig,
    bundle: InstanceBundle,
    jobsdb: bool = False,
    checks: Callable[[], list[pulumi.Output[Any]]] = list,
) -> RecordingMocks:
    """Artifacts, role and group wired as the stack wires them; ``checks`` makes extra Output preconditions
    (inside the program, where Outputs live)."""

    def build(opts: pulumi.ResourceOptions) -> None:
        name = config.name_prefix
        artifacts = InstanceArtifacts(
            "artifacts",
            InstanceArtifactsProps(name, config.environment, config.region, KEY_ARN, bundle),
            opts,
        )
        role = InstanceRole(
            "instance_role", InstanceRoleProps(name, config.region, config.rudder.workspace_token), opts
        )
        data_plane = SingleNodeGroup(
            "data_plane",
            SingleNodeGroupProps(
                name_prefix=name,
                vpc_id="vpc-0test",
                private_subnet_ids=SUBNETS,
                alb_security_group_id=ALB_SG,
                target_group_arn=TARGET_GROUP_ARN,
                instance_profile_arn=role.profile.arn,
                user_data_base64=encoded_user_data(config, bundle),
                instance=config.instance,
                autoscaling=config.autoscaling,
                propagated_tags=TAGS,
                preconditions=[artifacts.bundle_object, *checks()],
            ),
            opts,
        )
        artifacts.grant_read(role.role.name)
        if jobsdb:
            role.allow_jobsdb(jobsdb_parameter(config), "arn:aws:secretsmanager:eu-west-1:1:secret:rds!db-x", KEY_ARN)
        assert data_plane.group_name == f"{name}-data-plane"
        assert data_plane.lifecycle_hook_name == f"{name}-drain"

    return _run(config, build)


@pytest.mark.parametrize("config", SINGLE_NODE, ids=IDS)
def test_instance_role_reads_only_the_workspace_token(config: EnvironmentConfig, bundle: InstanceBundle) -> None:
    mocks = _compute(config, bundle)
    name = config.name_prefix
    role = _only(mocks, "aws:iam/role:Role", "instance_role-role")
    assert role.inputs["name"] == f"{name}-data-plane"
    trust = role.json("assumeRolePolicy")["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    # Session Manager and Run Command inline; no AWS managed policy (AmazonSSMManagedInstanceCore would read
    # every SSM parameter of the account).
    assert not [r for r in mocks.resources if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"]
    agent = _only(mocks, "aws:iam/rolePolicy:RolePolicy", "instance_role-ssm_agent")
    assert agent.inputs["name"] == "ssm-agent"
    assert agent.inputs["role"] == role.outputs["id"]
    register, channels, messages = agent.json("policy")["Statement"]
    instances = f"arn:aws:ec2:{config.region}:{ACCOUNT}:instance/*"
    assert (register["Action"], register["Resource"]) == (["ssm:UpdateInstanceInformation"], instances)
    assert register["Condition"] == {"ArnLike": {"ec2:SourceInstanceARN": instances}}
    assert all(a.startswith("ssmmessages:") for a in channels["Action"]) and channels["Resource"] == "*"
    assert all(a.startswith("ec2messages:") for a in messages["Action"]) and messages["Resource"] == "*"
    granted = {a for s in agent.json("policy")["Statement"] for a in s["Action"]}
    assert not {a for a in granted if a.startswith("ssm:Get") or a.startswith("ssm:Put")}
    profile = _only(mocks, "aws:iam/instanceProfile:InstanceProfile", "instance_role-profile")
    assert profile.inputs == {"name": f"{name}-data-plane", "role": f"{name}-data-plane"}

    secrets = _only(mocks, "aws:iam/rolePolicy:RolePolicy", "instance_role-secrets")
    assert secrets.inputs["name"] == "read-workspace-token"
    (statement,) = secrets.json("policy")["Statement"]
    token = config.rudder.workspace_token
    if token.ssm_parameter:
        assert statement["Action"] == "ssm:GetParameter"
        assert statement["Resource"] == f"arn:aws:ssm:{config.region}:{ACCOUNT}:parameter{token.ssm_parameter}"
    else:
        assert statement["Action"] == "secretsmanager:GetSecretValue"
        assert statement["Resource"] == token.secrets_manager_arn
    assert not [r for r in mocks.resources if r.name == "instance_role-jobsdb"]


@pytest.mark.parametrize("kind", ["ssm", "secretsmanager"])
def test_a_customer_key_is_decryptable_only_through_the_token_service(kind: str, bundle: InstanceBundle) -> None:
    config = SINGLE_NODE[0]
    key = "arn:aws:kms:eu-west-1:999999999999:key/token-key"
    token = (
        SecretRef(ssm_parameter="/x/token", kms_key_arn=key)
        if kind == "ssm"
        else SecretRef(secrets_manager_arn="arn:aws:secretsmanager:eu-west-1:1:secret:t-AbCdEf", kms_key_arn=key)
    )
    config = dataclasses.replace(config, rudder=dataclasses.replace(config.rudder, workspace_token=token))
    mocks = _compute(config, bundle)
    read, decrypt = _only(mocks, "aws:iam/rolePolicy:RolePolicy", "instance_role-secrets").json("policy")["Statement"]
    assert read["Sid"] == "ReadWorkspaceToken"
    assert decrypt == {
        "Sid": "DecryptWorkspaceToken",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": key,
        "Condition": {"StringEquals": {"kms:ViaService": f"{kind}.{config.region}.amazonaws.com"}},
    }


def test_allow_jobsdb_reads_the_connection_parameter_and_admin_secret(bundle: InstanceBundle) -> None:
    config = SINGLE_NODE[0]
    mocks = _compute(config, bundle, jobsdb=True)
    policy = _only(mocks, "aws:iam/rolePolicy:RolePolicy", "instance_role-jobsdb")
    assert policy.inputs["name"] == "read-jobsdb-connection"
    role = _only(mocks, "aws:iam/role:Role", "instance_role-role")
    assert role.inputs["name"] == f"{config.name_prefix}-data-plane"
    assert policy.inputs["role"] == role.outputs["id"]
    parameter, secret, decrypt = policy.json("policy")["Statement"]
    assert parameter["Resource"] == f"arn:aws:ssm:{config.region}:{ACCOUNT}:parameter{jobsdb_parameter(config)}"
    assert (secret["Action"], secret["Resource"]) == (
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:eu-west-1:1:secret:rds!db-x",
    )
    assert decrypt["Resource"] == KEY_ARN
    assert decrypt["Condition"]["StringEquals"]["kms:ViaService"] == [
        f"secretsmanager.{config.region}.amazonaws.com",
        f"ssm.{config.region}.amazonaws.com",
    ]


@pytest.mark.parametrize("config", SINGLE_NODE, ids=IDS)
def test_artifacts_bucket_holds_the_bundle_encrypted(config: EnvironmentConfig, bundle: InstanceBundle) -> None:
    mocks = _compute(config, bundle)
    name = config.name_prefix
    bucket = _only(mocks, "aws:s3/bucket:Bucket", "artifacts-bucket")
    assert bucket.inputs["bucketPrefix"] == f"{name}-artifacts-"
    encryption = _only(
        mocks,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "artifacts-encryption",
    )
    assert encryption.get("rules.0.applyServerSideEncryptionByDefault") == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": KEY_ARN,
    }
    lifecycle = _only(mocks, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "artifacts-lifecycle")
    assert lifecycle.get("rules.0.id") == "expire-old-versions"
    assert lifecycle.get("rules.0.noncurrentVersionExpiration.noncurrentDays") == 90

    obj = _only(mocks, "aws:s3/bucketObjectv2:BucketObjectv2", "artifacts-bundle")
    assert obj.inputs["key"] == bundle.key == f"instance-bundle/{bundle.sha256}.tar.gz"
    assert obj.inputs["kmsKeyId"] == KEY_ARN
    assert obj.inputs["contentType"] == "application/gzip"
    assert obj.inputs["bucket"] == bucket.outputs["id"]
    source = obj.inputs["source"]
    assert isinstance(source, pulumi.FileAsset) and source.path == str(bundle.path)

    parameter = _only(mocks, "aws:ssm/parameter:Parameter", "artifacts-bucket_name")
    assert parameter.inputs["name"] == f"/rudder-ha/{config.environment}/artifacts-bucket"
    assert (parameter.inputs["type"], parameter.inputs["keyId"]) == ("SecureString", KEY_ARN)
    assert parameter.inputs["description"] == f"{name}: bucket holding the instance bundle"
    # The provider marks a parameter's value secret; the engine sends it wrapped as one.
    assert parameter.inputs["value"] == {
        rpc._special_sig_key: rpc._special_secret_sig,
        "value": bucket.outputs["bucket"],
    }


@pytest.mark.parametrize("config", SINGLE_NODE, ids=IDS)
def test_grant_read_is_scoped_to_bundles_and_the_parameter(config: EnvironmentConfig, bundle: InstanceBundle) -> None:
    mocks = _compute(config, bundle)
    policy = _only(mocks, "aws:iam/rolePolicy:RolePolicy", "artifacts-instance_read")
    assert policy.inputs["role"] == f"{config.name_prefix}-data-plane"
    assert policy.inputs["name"] == "read-instance-bundle"
    find, read, decrypt = policy.json("policy")["Statement"]
    parameter = f"/rudder-ha/{config.environment}/artifacts-bucket"
    assert (find["Action"], find["Resource"]) == (
        "ssm:GetParameter",
        f"arn:aws:ssm:{config.region}:{ACCOUNT}:parameter{parameter}",
    )
    bucket = _only(mocks, "aws:s3/bucket:Bucket", "artifacts-bucket")
    assert bucket.inputs["bucketPrefix"] == f"{config.name_prefix}-artifacts-"
    assert (read["Action"], read["Resource"]) == ("s3:GetObject", f"{bucket.outputs['arn']}/instance-bundle/*")
    assert decrypt["Resource"] == KEY_ARN
    assert decrypt["Condition"]["StringEquals"]["kms:ViaService"] == [
        f"s3.{config.region}.amazonaws.com",
        f"ssm.{config.region}.amazonaws.com",
    ]


@pytest.mark.parametrize("config", SINGLE_NODE, ids=IDS)
def test_security_group_admits_the_gateway_from_the_alb_only(config: EnvironmentConfig, bundle: InstanceBundle) -> None:
    mocks = _compute(config, bundle)
    name = config.name_prefix
    group = _only(mocks, "aws:ec2/securityGroup:SecurityGroup", "data_plane-sg")
    assert group.inputs["name"] == f"{name}-data-plane"
    assert group.inputs["vpcId"] == "vpc-0test"
    assert group.inputs["tags"] == {"Name": f"{name}-data-plane"}
    ingress = [r for r in mocks.resources if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"]
    assert [r.name for r in ingress] == ["data_plane-ingress_gateway"]
    rule = ingress[0].inputs
    assert rule["referencedSecurityGroupId"] == ALB_SG
    assert "cidrIpv4" not in rule
    assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", GATEWAY_PORT, GATEWAY_PORT)
    assert rule["securityGroupId"] == group.outputs["id"]


@pytest.mark.parametrize("config", SINGLE_NODE, ids=IDS)
def test_launch_template_imdsv2_encrypted_private(config: EnvironmentConfig, bundle: InstanceBundle) -> None:
    mocks = _compute(config, bundle)
    name = config.name_prefix
    inst = config.instance
    template = _only(mocks, "aws:ec2/launchTemplate:LaunchTemplate", "data_plane-launch_template")
    assert template.inputs["name"] == f"{name}-data-plane"
    assert (template.inputs["imageId"], template.inputs["instanceType"]) == (inst.ami, inst.instance_type)
    assert template.inputs["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
        "instanceMetadataTags": "enabled",
    }
    (device,) = template.inputs["blockDeviceMappings"]
    assert device["deviceName"] == "/dev/xvda"
    ebs = device["ebs"]
    assert (ebs["encrypted"], ebs["volumeType"], ebs["deleteOnTermination"]) == ("true", "gp3", "true")
    assert (ebs["volumeSize"], ebs["iops"], ebs["throughput"]) == (
        inst.root_volume_size_gib,
        inst.root_volume_iops,
        inst.root_volume_throughput_mibps,
    )
    assert ebs.get("kmsKeyId") == inst.ebs_kms_key_arn
    (interface,) = template.inputs["networkInterfaces"]
    assert interface["associatePublicIpAddress"] == "false"
    group = _only(mocks, "aws:ec2/securityGroup:SecurityGroup", "data_plane-sg")
    assert group.inputs["name"] == f"{name}-data-plane"
    assert interface["securityGroups"] == [group.outputs["id"]]
    assert "keyName" not in template.inputs
    profile = _only(mocks, "aws:iam/instanceProfile:InstanceProfile", "instance_role-profile")
    assert profile.inputs["name"] == f"{name}-data-plane"
    assert template.get("iamInstanceProfile.arn") == profile.outputs["arn"]
    assert template.inputs["monitoring"] == {"enabled": True}
    assert template.inputs["updateDefaultVersion"] is True
    user_data = template.inputs["userData"]
    assert user_data == encoded_user_data(config, bundle)
    assert bundle.sha256 in gzip.decompress(base64.b64decode(user_data)).decode()
    specs = template.inputs["tagSpecifications"]
    assert [s["resourceType"] for s in specs] == ["instance", "volume", "network-interface"]
    assert all(s["tags"] == {**TAGS, "Name": f"{name}-data-plane"} for s in specs)


@pytest.mark.parametrize("config", SINGLE_NODE, ids=IDS)
def test_autoscaling_group_of_one_with_drain_hook(config: EnvironmentConfig, bundle: InstanceBundle) -> None:
    mocks = _compute(config, bundle)
    name = config.name_prefix
    scaling = config.autoscaling
    group = _only(mocks, "aws:autoscaling/group:Group", "data_plane-group")
    i = group.inputs
    assert i["name"] == f"{name}-data-plane"
    standby = scaling.failover.hot_standby
    # a hot standby (README "Failover") is a group of two on EC2 health; otherwise one on the ALB's health
    size = 2 if standby else 1
    assert (i["minSize"], i["maxSize"], i["desiredCapacity"]) == (size, size, size)
    assert i["healthCheckType"] == ("EC2" if standby else "ELB")
    assert i["healthCheckGracePeriod"] == scaling.health_check_grace_period_seconds
    assert i["defaultInstanceWarmup"] == scaling.default_instance_warmup_seconds
    assert i["vpcZoneIdentifiers"] == SUBNETS
    assert i["targetGroupArns"] == [TARGET_GROUP_ARN]
    template = _only(mocks, "aws:ec2/launchTemplate:LaunchTemplate", "data_plane-launch_template")
    assert template.inputs["name"] == f"{name}-data-plane"
    assert group.get("launchTemplate.id") == template.outputs["id"]
    assert group.get("launchTemplate.version") == str(template.outputs["latestVersion"])
    assert i["instanceRefresh"] == {
        "strategy": "Rolling",
        "preferences": {
            "minHealthyPercentage": 50 if standby else 0,
            "maxHealthyPercentage": 100,
            "skipMatching": True,
            "instanceWarmup": str(scaling.default_instance_warmup_seconds),
        },
    }
    assert i["instanceMaintenancePolicy"] == {"minHealthyPercentage": 50 if standby else 0, "maxHealthyPercentage": 100}
    assert i["initialLifecycleHooks"] == [
        {
            "name": f"{name}-drain",
            "lifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
            "heartbeatTimeout": scaling.lifecycle_hook.heartbeat_timeout_seconds,
            "defaultResult": scaling.lifecycle_hook.default_result,
        }
    ]
    if scaling.warm_pool.enabled:
        assert i["warmPool"] == {
            "poolState": scaling.warm_pool.pool_state,
            "minSize": scaling.warm_pool.min_size,
            "instanceReusePolicy": {"reuseOnScaleIn": False},
        }
    else:
        assert "warmPool" not in i
    assert i["metricsGranularity"] == "1Minute"
    assert "GroupInServiceInstances" in i["enabledMetrics"]
    tags = {**TAGS, "Name": f"{name}-data-plane"}
    assert i["tags"] == [{"key": k, "value": v, "propagateAtLaunch": True} for k, v in sorted(tags.items())]


def test_the_warm_pool_follows_the_settings(bundle: InstanceBundle) -> None:
    """Every shipped environment may leave it off; the component must still build it when asked."""
    config = SINGLE_NODE[0]
    scaling = config.autoscaling
    warm = dataclasses.replace(scaling.warm_pool, enabled=True, pool_state="Hibernated", min_size=1)
    config = dataclasses.replace(config, autoscaling=dataclasses.replace(scaling, warm_pool=warm))
    group = _only(_compute(config, bundle), "aws:autoscaling/group:Group", "data_plane-group")
    assert group.get("warmPool.poolState") == "Hibernated"
    assert group.get("warmPool.instanceReusePolicy.reuseOnScaleIn") is False


def test_output_preconditions_gate_the_group(bundle: InstanceBundle) -> None:
    """An Output precondition (the network's zone check) must resolve before the group is declared, and a
    failing one fails the deployment instead of placing the group."""
    config = SINGLE_NODE[0]
    mocks = _compute(config, bundle, checks=lambda: [pulumi.Output.from_input({"availabilityZone": "eu-west-1a"})])
    group = _only(mocks, "aws:autoscaling/group:Group", "data_plane-group")
    assert group.inputs["vpcZoneIdentifiers"] == SUBNETS

    def fail(_: Any) -> Any:
        raise ValueError("network.private_subnet_ids must span at least two availability zones.")

    with pytest.raises(Exception, match="at least two availability zones"):
        _compute(config, bundle, checks=lambda: [pulumi.Output.from_input(1).apply(fail)])
