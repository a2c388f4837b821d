"""The Pulumi RDS jobsdb (``jobsdb.mode: rds``) under Pulumi's in-process mocks: Multi-AZ, encrypted,
TLS-only, reachable from the data plane only, with the connection parameter the instances read."""

from __future__ import annotations

import dataclasses
import json

import pulumi
import pulumi_aws as aws
import pytest

from rudder_ha.config import EnvironmentConfig, load_environments, shipped_environment_files
from rudder_ha.instance.user_data import jobsdb_parameter
from rudder_ha.parts.jobsdb_database.pulumi import PARAMETERS, JobsdbDatabase, JobsdbDatabaseProps
from tests.support.pulumi_mocks import ACCOUNT, RecordedResource, RecordingMocks, run_program

SINGLE_NODE = [c for c in load_environments(shipped_environment_files()) if c.topology == "single_node"]
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SUBNETS = ["subnet-0aaa", "subnet-0bbb"]
CLIENT_SG = "sg-0dataplane"


def _rds_configs() -> list[EnvironmentConfig]:
    """Shipped environments as they are when on RDS, and switched to RDS otherwise (same sizing defaults)."""
    return [
        c if c.jobsdb.on_rds else dataclasses.replace(c, jobsdb=dataclasses.replace(c.jobsdb, mode="rds"))
        for c in SINGLE_NODE
    ]


CONFIGS = _rds_configs()
IDS = [c.environment for c in CONFIGS]


def _only(mocks: RecordingMocks, type_: str, name: str) -> RecordedResource:
    found = [r for r in mocks.resources if r.type == type_ and r.name == name]
    assert len(found) == 1, f"{type_} {name}: {[r.name for r in mocks.resources if r.type == type_]}"
    return found[0]


def _jobsdb(config: EnvironmentConfig, final_snapshot: bool | None = None) -> RecordingMocks:
    def program() -> None:
        provider = aws.Provider("aws", region=config.region)
        db = JobsdbDatabase(
            "jobsdb",
            JobsdbDatabaseProps(
                name_prefix=config.name_prefix,
                vpc_id="vpc-0test",
                private_subnet_ids=SUBNETS,
                settings=config.jobsdb,
                kms_key_arn=KEY_ARN,
                connection_parameter=jobsdb_parameter(config),
                final_snapshot=config.is_prod if final_snapshot is None else final_snapshot,
            ),
            pulumi.ResourceOptions(providers=[provider]),
        )
        db.allow_from(CLIENT_SG)

    return run_program(program, stack=config.environment, region=config.region)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_instance_is_multi_az_encrypted_private_and_backed_up(config: EnvironmentConfig) -> None:
    mocks = _jobsdb(config)
    name = f"{config.name_prefix}-jobsdb"
    s = config.jobsdb
    db = _only(mocks, "aws:rds/instance:Instance", "jobsdb-db").inputs
    assert db["identifier"] == name
    assert (db["engine"], db["engineVersion"], db["instanceClass"]) == ("postgres", s.engine_version, s.instance_class)
    assert db["multiAz"] == s.multi_az
    assert db["publiclyAccessible"] is False
    assert (db["storageEncrypted"], db["kmsKeyId"], db["storageType"]) == (True, KEY_ARN, "gp3")
    assert (db["allocatedStorage"], db["maxAllocatedStorage"]) == (s.allocated_storage_gib, s.max_allocated_storage_gib)
    assert db["manageMasterUserPassword"] is True and "password" not in db
    assert db["masterUserSecretKmsKeyId"] == KEY_ARN
    assert (db["performanceInsightsEnabled"], db["performanceInsightsKmsKeyId"]) == (True, KEY_ARN)
    assert db["backupRetentionPeriod"] == s.backup_retention_days
    assert db["deletionProtection"] == s.deletion_protection
    assert db["iamDatabaseAuthenticationEnabled"] is True
    assert db["caCertIdentifier"] == "rds-ca-rsa2048-g1"
    assert db["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert (db["dbName"], db["username"], db["port"]) == ("jobsdb", "rudder_admin", 5432)
    subnets = _only(mocks, "aws:rds/subnetGroup:SubnetGroup", "jobsdb-subnets")
    assert db["dbSubnetGroupName"] == subnets.outputs["name"] == name
    sg = _only(mocks, "aws:ec2/securityGroup:SecurityGroup", "jobsdb-sg")
    assert sg.inputs["name"] == name
    assert db["vpcSecurityGroupIds"] == [sg.outputs["id"]]
    parameters = _only(mocks, "aws:rds/parameterGroup:ParameterGroup", "jobsdb-parameters")
    assert db["parameterGroupName"] == parameters.outputs["name"] == f"{name}-pg{s.engine_version.split('.')[0]}"
    assert db["monitoringInterval"] == 30
    monitoring = _only(mocks, "aws:iam/role:Role", "jobsdb-monitoring_role")
    assert monitoring.inputs["name"] == f"{name}-monitoring"
    assert db["monitoringRoleArn"] == monitoring.outputs["arn"]
    if config.is_prod:
        assert (db["skipFinalSnapshot"], db["finalSnapshotIdentifier"]) == (False, f"{name}-final")
    else:
        assert db["skipFinalSnapshot"] is True and "finalSnapshotIdentifier" not in db


def test_a_jobsdb_key_in_settings_wins_over_the_environment_key() -> None:
    config = CONFIGS[0]
    own = "arn:aws:kms:eu-west-1:999999999999:key/jobsdb"
    config = dataclasses.replace(config, jobsdb=dataclasses.replace(config.jobsdb, kms_key_arn=own))
    mocks = _jobsdb(config)
    db = _only(mocks, "aws:rds/instance:Instance", "jobsdb-db").inputs
    assert db["kmsKeyId"] == db["masterUserSecretKmsKeyId"] == db["performanceInsightsKmsKeyId"] == own
    assert _only(mocks, "aws:ssm/parameter:Parameter", "jobsdb-connection").inputs["keyId"] == own


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_parameter_group_forces_tls_and_fast_dead_peer_detection(config: EnvironmentConfig) -> None:
    mocks = _jobsdb(config)
    major = config.jobsdb.engine_version.split(".")[0]
    group = _only(mocks, "aws:rds/parameterGroup:ParameterGroup", "jobsdb-parameters").inputs
    assert group["family"] == f"postgres{major}"
    values = {p["name"]: p["value"] for p in group["parameters"]}
    assert values == PARAMETERS
    assert values["rds.force_ssl"] == "1"
    methods = {p["name"]: p.get("applyMethod") for p in group["parameters"]}
    assert methods["rds.force_ssl"] == "pending-reboot"
    assert {m for k, m in methods.items() if k != "rds.force_ssl"} <= {None, "immediate"}


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_only_the_data_plane_reaches_postgres(config: EnvironmentConfig) -> None:
    mocks = _jobsdb(config)
    name = f"{config.name_prefix}-jobsdb"
    sg = _only(mocks, "aws:ec2/securityGroup:SecurityGroup", "jobsdb-sg").inputs
    assert (sg["name"], sg["vpcId"], sg["tags"]) == (name, "vpc-0test", {"Name": name})
    assert not sg.get("ingress")
    rules = [r for r in mocks.resources if r.type.startswith("aws:vpc/securityGroup")]
    assert [r.name for r in rules] == ["jobsdb-ingress_postgres"]
    rule = rules[0].inputs
    assert rule["referencedSecurityGroupId"] == CLIENT_SG
    assert rule["securityGroupId"] == _only(mocks, "aws:ec2/securityGroup:SecurityGroup", "jobsdb-sg").outputs["id"]
    assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 5432, 5432)
    subnets = _only(mocks, "aws:rds/subnetGroup:SubnetGroup", "jobsdb-subnets").inputs
    assert subnets["subnetIds"] == SUBNETS
    assert subnets["description"] == "Managed by Terraform"  # what the cdktf stack gets by default


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_connection_parameter_names_host_and_secret_without_password(config: EnvironmentConfig) -> None:
    mocks = _jobsdb(config)
    db = _only(mocks, "aws:rds/instance:Instance", "jobsdb-db")
    assert db.inputs["identifier"] == f"{config.name_prefix}-jobsdb"
    (master,) = db.outputs["masterUserSecrets"]
    parameter = _only(mocks, "aws:ssm/parameter:Parameter", "jobsdb-connection").inputs
    assert parameter["name"] == jobsdb_parameter(config)
    assert (parameter["type"], parameter["keyId"]) == ("SecureString", KEY_ARN)
    value = parameter["value"]
    text = value["value"] if isinstance(value, dict) else value  # a secret input arrives wrapped
    # Terraform's jsonencode: sorted keys, no whitespace.
    assert text == (
        f'{{"admin_secret_arn":"{master["secretArn"]}","dbname":"jobsdb",'
        f'"host":"{db.outputs["address"]}","port":5432,"sslmode":"require"}}'
    )
    assert "password" not in json.loads(text)


def test_monitoring_role_is_for_rds_enhanced_monitoring_only() -> None:
    config = CONFIGS[0]
    mocks = _jobsdb(config)
    name = f"{config.name_prefix}-jobsdb"
    role = _only(mocks, "aws:iam/role:Role", "jobsdb-monitoring_role")
    assert role.inputs["name"] == f"{name}-monitoring"
    (statement,) = role.json("assumeRolePolicy")["Statement"]
    assert statement["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    attachment = _only(mocks, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "jobsdb-monitoring_policy")
    assert attachment.inputs == {
        "role": f"{name}-monitoring",
        "policyArn": "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
    }
