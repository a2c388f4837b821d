"""The Pulumi EC2 Image Builder pipeline under Pulumi's in-process mocks: the same components (verbatim
documents), recipe, hardened build infrastructure, distribution to the AMI parameter, encrypted logs."""

from __future__ import annotations

import dataclasses

import pulumi
import pulumi_aws as aws
import pytest

from rudder_ha.config import EnvironmentConfig, load_environments, shipped_environment_files
from rudder_ha.config.defaults import AMI_SSM_PARAMETER, BAKED_AMI_PARAMETER
from rudder_ha.instance.image_component import bake_settings, component_documents
from rudder_ha.parts.image_pipeline.pulumi import DataPlaneImagePipeline, DataPlaneImagePipelineProps
from tests.support.pulumi_mocks import ACCOUNT, RecordedResource, RecordingMocks, run_program, shared_run

SINGLE_NODE = [c for c in load_environments(shipped_environment_files()) if c.topology == "single_node"]
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TAGS = {"project": "rudder-ha", "environment": "test"}


def _enabled(config: EnvironmentConfig) -> EnvironmentConfig:
    return dataclasses.replace(config, image_pipeline=dataclasses.replace(config.image_pipeline, enabled=True))


CONFIGS = [_enabled(c) for c in SINGLE_NODE]
IDS = [c.environment for c in CONFIGS]


def _only(mocks: RecordingMocks, type_: str, name: str) -> RecordedResource:
    found = [r for r in mocks.resources if r.type == type_ and r.name == name]
    assert len(found) == 1, f"{type_} {name}: {[r.name for r in mocks.resources if r.type == type_]}"
    return found[0]


def _component_name(key: str) -> str:
    return f"image_pipeline-component_{key.replace('-', '_')}"


def _components(mocks: RecordingMocks) -> dict[str, RecordedResource]:
    """The Image Builder components by logical name."""
    found = [r for r in mocks.resources if r.type == "aws:imagebuilder/component:Component"]
    assert len({r.name for r in found}) == len(found)
    return {r.name: r for r in found}


def _pipeline(config: EnvironmentConfig) -> RecordingMocks:
    def program() -> None:
        provider = aws.Provider("aws", region=config.region)
        pipeline = DataPlaneImagePipeline(
            "image_pipeline",
            DataPlaneImagePipelineProps(
                name_prefix=config.name_prefix,
                environment=config.environment,
                region=config.region,
                kms_key_arn=KEY_ARN,
                subnet_id="subnet-0private",
                vpc_id="vpc-0test",
                settings=config.image_pipeline,
                instance=config.instance,
                rudder=config.rudder,
                bake_settings=bake_settings(config),
                tags=TAGS,
            ),
            pulumi.ResourceOptions(providers=[provider]),
        )
        assert pipeline.ami_parameter == BAKED_AMI_PARAMETER.format(environment=config.environment)

    def execute() -> RecordingMocks:
        return run_program(program, stack=config.environment, region=config.region)

    if any(config is c for c in CONFIGS):
        return shared_run(("image_pipeline", config.environment), execute)  # a shipped environment, read only
    return execute()


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_components_carry_the_documents_verbatim_encrypted(config: EnvironmentConfig) -> None:
    mocks = _pipeline(config)
    documents = component_documents(config.name_prefix, config.rudder, bake_settings(config))
    # Registration order is up to the engine's scheduling; each document's component is found by its logical name.
    components = _components(mocks)
    assert set(components) == {_component_name(d.key) for d in documents}
    assert len(components) == len(documents)
    for doc in documents:
        resource = components[_component_name(doc.key)]
        i = resource.inputs
        assert i["name"] == f"{config.name_prefix}-{doc.key}"
        assert i["data"] == doc.data  # no Terraform escaping on this side
        assert (i["version"], i["platform"], i["kmsKeyId"]) == (doc.version, "Linux", KEY_ARN)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_recipe_bakes_every_component_on_an_encrypted_root(config: EnvironmentConfig) -> None:
    mocks = _pipeline(config)
    inst = config.instance
    recipe = _only(mocks, "aws:imagebuilder/imageRecipe:ImageRecipe", "image_pipeline-recipe").inputs
    assert recipe["name"] == f"{config.name_prefix}-data-plane"
    assert recipe["parentImage"] == f"ssm:{AMI_SSM_PARAMETER[inst.architecture]}"
    documents = component_documents(config.name_prefix, config.rudder, bake_settings(config))
    components = _components(mocks)
    baked = [components[_component_name(d.key)] for d in documents]
    assert [c.inputs["name"] for c in baked] == [f"{config.name_prefix}-{d.key}" for d in documents]
    assert [c["componentArn"] for c in recipe["components"]] == [c.outputs["arn"] for c in baked]
    (device,) = recipe["blockDeviceMappings"]
    assert device["deviceName"] == "/dev/xvda"
    assert device["ebs"]["encrypted"] == "true"
    assert (device["ebs"]["volumeType"], device["ebs"]["volumeSize"]) == ("gp3", inst.root_volume_size_gib)
    assert device["ebs"]["kmsKeyId"] == KEY_ARN  # the environment's key (no instance.ebs_kms_key_arn)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_build_instances_are_private_imdsv2_https_only(config: EnvironmentConfig) -> None:
    mocks = _pipeline(config)
    builder = f"{config.name_prefix}-image-builder"
    infra = _only(
        mocks,
        "aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration",
        "image_pipeline-infrastructure",
    ).inputs
    assert infra["instanceMetadataOptions"] == {"httpTokens": "required", "httpPutResponseHopLimit": 1}
    assert infra["subnetId"] == "subnet-0private"
    sg = _only(mocks, "aws:ec2/securityGroup:SecurityGroup", "image_pipeline-sg")
    assert sg.inputs["name"] == builder
    assert infra["securityGroupIds"] == [sg.outputs["id"]]
    profile = _only(mocks, "aws:iam/instanceProfile:InstanceProfile", "image_pipeline-profile")
    assert infra["instanceProfileName"] == profile.outputs["name"] == builder
    assert infra["terminateInstanceOnFailure"] is True
    assert infra["instanceTypes"] == [config.image_pipeline.build_instance_type]
    assert "keyPair" not in infra
    assert infra["resourceTags"] == {**TAGS, "Name": builder}

    rules = [r for r in mocks.resources if r.type.startswith("aws:vpc/securityGroup")]
    assert [r.name for r in rules] == ["image_pipeline-egress_https"]
    egress = rules[0].inputs
    assert (egress["ipProtocol"], egress["fromPort"], egress["toPort"]) == ("tcp", 443, 443)

    role = _only(mocks, "aws:iam/role:Role", "image_pipeline-role")
    assert role.inputs["name"] == builder
    # No AWS managed policy: the SSM agent's and the build's needs, inline.
    assert not [r for r in mocks.resources if r.type.startswith("aws:iam/rolePolicyAttachment")]
    agent = _only(mocks, "aws:iam/rolePolicy:RolePolicy", "image_pipeline-ssm_agent")
    build = _only(mocks, "aws:iam/rolePolicy:RolePolicy", "image_pipeline-build_policy")
    assert (agent.inputs["name"], build.inputs["name"]) == ("ssm-agent", "image-build")
    assert agent.inputs["role"] == build.inputs["role"] == role.outputs["id"]
    statements = {s["Sid"]: s for s in build.json("policy")["Statement"]}
    region = config.region
    assert statements["ReadOwnComponents"]["Resource"] == (
        f"arn:aws:imagebuilder:{region}:{ACCOUNT}:component/{config.name_prefix}-*"
    )
    assert statements["DecryptOwnComponents"]["Resource"] == KEY_ARN
    assert statements["FetchImageBuilderAgent"]["Resource"] == "arn:aws:s3:::ec2imagebuilder*"
    logs = _only(mocks, "aws:cloudwatch/logGroup:LogGroup", "image_pipeline-build_logs")
    assert statements["WriteBuildLogs"]["Resource"] == f"{logs.outputs['arn']}:*"
    register = agent.json("policy")["Statement"][0]
    assert register["Resource"] == f"arn:aws:ec2:{region}:{ACCOUNT}:instance/*"


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_autoscaling_may_launch_from_the_ami_encrypted_with_the_environments_key(config: EnvironmentConfig) -> None:
    mocks = _pipeline(config)
    grant = _only(mocks, "aws:kms/grant:Grant", "image_pipeline-launch_grant").inputs
    assert grant["keyId"] == KEY_ARN
    assert grant["granteePrincipal"] == (
        f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    )
    assert "CreateGrant" in grant["operations"] and "Decrypt" in grant["operations"]
    distribution = _only(
        mocks, "aws:imagebuilder/distributionConfiguration:DistributionConfiguration", "image_pipeline-distribution"
    )
    (target,) = distribution.inputs["distributions"]
    assert target["amiDistributionConfiguration"]["kmsKeyId"] == KEY_ARN


def test_a_configured_ebs_key_encrypts_the_ami_and_needs_no_grant() -> None:
    ebs_key = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/ebs"
    config = CONFIGS[0]
    config = dataclasses.replace(config, instance=dataclasses.replace(config.instance, ebs_kms_key_arn=ebs_key))
    mocks = _pipeline(config)
    assert not [r for r in mocks.resources if r.type == "aws:kms/grant:Grant"]
    recipe = _only(mocks, "aws:imagebuilder/imageRecipe:ImageRecipe", "image_pipeline-recipe").inputs
    assert recipe["blockDeviceMappings"][0]["ebs"]["kmsKeyId"] == ebs_key


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_distribution_publishes_the_ami_parameter(config: EnvironmentConfig) -> None:
    mocks = _pipeline(config)
    distribution = _only(
        mocks, "aws:imagebuilder/distributionConfiguration:DistributionConfiguration", "image_pipeline-distribution"
    )
    (target,) = distribution.inputs["distributions"]
    assert target["region"] == config.region
    assert target["ssmParameterConfigurations"] == [
        {"parameterName": BAKED_AMI_PARAMETER.format(environment=config.environment), "dataType": "aws:ec2:image"}
    ]
    ami = target["amiDistributionConfiguration"]
    assert ami["name"] == f"{config.name_prefix}-data-plane-{{{{ imagebuilder:buildDate }}}}"
    assert ami["amiTags"]["rudder-ha:backend-image"] == config.rudder.backend_image
    assert ami["amiTags"]["project"] == "rudder-ha"


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_pipeline_schedule_tests_and_encrypted_logs(config: EnvironmentConfig) -> None:
    mocks = _pipeline(config)
    name = f"{config.name_prefix}-data-plane"
    pipeline = _only(mocks, "aws:imagebuilder/imagePipeline:ImagePipeline", "image_pipeline-pipeline").inputs
    assert pipeline["name"] == name
    assert pipeline["schedule"] == {
        "scheduleExpression": config.image_pipeline.schedule,
        "pipelineExecutionStartCondition": "EXPRESSION_MATCH_ONLY",
    }
    assert pipeline["imageTestsConfiguration"] == {"imageTestsEnabled": True, "timeoutMinutes": 60}
    assert pipeline["status"] == "ENABLED"
    recipe = _only(mocks, "aws:imagebuilder/imageRecipe:ImageRecipe", "image_pipeline-recipe")
    infra = _only(
        mocks,
        "aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration",
        "image_pipeline-infrastructure",
    )
    distribution = _only(
        mocks, "aws:imagebuilder/distributionConfiguration:DistributionConfiguration", "image_pipeline-distribution"
    )
    assert recipe.inputs["name"] == infra.inputs["name"] == distribution.inputs["name"] == name
    assert pipeline["imageRecipeArn"] == recipe.outputs["arn"]
    assert pipeline["infrastructureConfigurationArn"] == infra.outputs["arn"]
    assert pipeline["distributionConfigurationArn"] == distribution.outputs["arn"]
    image = _only(mocks, "aws:imagebuilder/image:Image", "image_pipeline-image").inputs
    assert image["imageTestsConfiguration"] == {"imageTestsEnabled": True, "timeoutMinutes": 60}
    assert image["imageRecipeArn"] == recipe.outputs["arn"]
    assert image["infrastructureConfigurationArn"] == infra.outputs["arn"]
    assert image["distributionConfigurationArn"] == distribution.outputs["arn"]
    logs = {r.inputs["name"]: r.inputs for r in mocks.resources if r.type == "aws:cloudwatch/logGroup:LogGroup"}
    assert set(logs) == {f"/aws/imagebuilder/{name}", f"/aws/imagebuilder/pipeline/{name}"}
    for group in logs.values():
        assert (group["kmsKeyId"], group["retentionInDays"]) == (KEY_ARN, 365)
