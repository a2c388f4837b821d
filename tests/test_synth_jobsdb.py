"""Where the jobsdb lives: on the instance (dev, staging) or on a Multi-AZ RDS PostgreSQL (prod)."""

from __future__ import annotations

import json

import pytest
import yaml

from rudder_ha.instance.user_data import cloud_config
from tests.support.synth import SynthOutput, only, resources

pytestmark = pytest.mark.synth


def test_prod_keeps_its_jobsdb_on_multi_az_rds(synth: SynthOutput) -> None:
    stack = synth.stack("prod")
    db = only(stack, "aws_db_instance")
    settings = synth.configs["prod"].jobsdb
    assert db["engine"] == "postgres" and db["engine_version"] == settings.engine_version
    assert db["multi_az"] is True
    assert db["storage_encrypted"] is True and db["kms_key_id"].startswith("${aws_kms_key.")
    assert db["manage_master_user_password"] is True
    assert "password" not in db, "the master password must never be in config or state"
    assert db["master_user_secret_kms_key_id"].startswith("${aws_kms_key.")
    assert db["publicly_accessible"] is False
    assert db["backup_retention_period"] == settings.backup_retention_days >= 7
    assert db["deletion_protection"] is True
    assert db["skip_final_snapshot"] is False and db["final_snapshot_identifier"] == "rudder-ha-prod-jobsdb-final"
    assert db["performance_insights_enabled"] is True
    assert db["enabled_cloudwatch_logs_exports"] == ["postgresql", "upgrade"]
    params = {p["name"]: p["value"] for p in only(stack, "aws_db_parameter_group")["parameter"]}
    assert params["rds.force_ssl"] == "1"
    assert int(params["tcp_keepalives_idle"]) <= 60
    subnets = only(stack, "aws_db_subnet_group")["subnet_ids"]
    assert len(subnets) == 3 and all(s.startswith("${aws_subnet.network_private_") for s in subnets)


def test_only_the_data_plane_reaches_the_database(synth: SynthOutput) -> None:
    stack = synth.stack("prod")
    groups = stack["resource"]["aws_security_group"]
    db_sg = next(k for k, g in groups.items() if g["name"] == "rudder-ha-prod-jobsdb")
    instance_sg = next(k for k, g in groups.items() if g["name"] == "rudder-ha-prod-data-plane")
    rules = [r for r in resources(stack, "aws_vpc_security_group_ingress_rule") if db_sg in r["security_group_id"]]
    assert len(rules) == 1
    (rule,) = rules
    assert rule["from_port"] == rule["to_port"] == 5432
    assert instance_sg in rule["referenced_security_group_id"]
    assert "cidr_ipv4" not in rule
    db = only(stack, "aws_db_instance")
    assert db["vpc_security_group_ids"] == [f"${{aws_security_group.{db_sg}.id}}"]


def test_connection_settings_reach_the_instance_without_secrets(synth: SynthOutput) -> None:
    stack = synth.stack("prod")
    (param,) = [p for p in resources(stack, "aws_ssm_parameter") if p["name"] == "/rudder-ha/prod/jobsdb"]
    assert param["type"] == "SecureString" and param["key_id"].startswith("${aws_kms_key.")
    assert "aws_db_instance." in param["value"] and "master_user_secret[0].secret_arn" in param["value"]
    assert "password" not in param["value"]
    statements = [
        s
        for p in resources(stack, "aws_iam_role_policy")
        if p["name"] == "read-jobsdb-connection"
        for s in json.loads(p["policy"])["Statement"]
    ]
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["ReadJobsdbConnection"]["Resource"].endswith(":parameter/rudder-ha/prod/jobsdb")
    assert by_sid["ReadJobsdbAdminSecret"]["Resource"].endswith(".master_user_secret[0].secret_arn}")
    assert by_sid["DecryptJobsdbAdminSecret"]["Condition"]["StringEquals"]["kms:ViaService"] == [
        "secretsmanager.eu-west-1.amazonaws.com",
        "ssm.eu-west-1.amazonaws.com",
    ]
    files = {f["path"]: f["content"] for f in yaml.safe_load(cloud_config(synth.configs["prod"]))["write_files"]}
    instance_env = files["/etc/rudder-ha/instance.env"]
    assert "RUDDER_JOBSDB_MODE=rds" in instance_env
    assert "RUDDER_JOBSDB_PARAMETER=/rudder-ha/prod/jobsdb" in instance_env
    assert "JOBS_DB_HOST" not in files["/etc/rudder-ha/backend.env"]
    text = json.dumps(files)
    assert "${aws_" not in text and "${data." not in text, "user data must not carry Terraform values"


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_instance_mode_elsewhere(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    assert resources(stack, "aws_db_instance") == []
    files = {f["path"]: f["content"] for f in yaml.safe_load(cloud_config(synth.configs[env]))["write_files"]}
    assert "RUDDER_JOBSDB_MODE=instance" in files["/etc/rudder-ha/instance.env"]
    assert "JOBS_DB_HOST=127.0.0.1" in files["/etc/rudder-ha/backend.env"]
