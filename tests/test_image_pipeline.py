"""The baked-AMI path: Image Builder components that install what the boot path installs, and the pipeline.

The boot path is the user data: it writes the settings and ``bootstrap.sh``, which fetches the instance
bundle named by its SHA-256, unpacks it and runs ``provision.sh boot``. The comparison decodes both
artifacts (the cloud-config plus the bundle it names, and the component YAML) and compares what lands
on disk: destination, mode and SHA-256 of every file.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import re
import stat
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from rudder_ha.config import EnvironmentConfig
from rudder_ha.config.defaults import AMI_SSM_PARAMETER, BAKED_AMI_PARAMETER
from rudder_ha.instance import image_component
from rudder_ha.instance.bundle import BOOTSTRAP, bundle_bytes
from rudder_ha.instance.files import PROVISION_SCRIPT, instance_files, shipped_files
from rudder_ha.instance.image_component import (
    BAKE_SETTINGS_PATH,
    COMPONENT_DATA_LIMIT,
    IMAGE_ROOT_VARIABLE,
    PAYLOAD_PART_LIMIT,
    ComponentDocument,
    environment_component_documents,
    install_parts,
    installed_files,
    written_files,
)
from rudder_ha.instance.user_data import BOOTSTRAP_PATH, cloud_config
from tests.support.synth import SynthOutput, only, resources

SETTINGS_FILES = {"/etc/rudder-ha/instance.env", "/etc/rudder-ha/backend.env"}
"""Per-environment settings the user data writes at every boot; not part of the baked software."""
NOT_SOFTWARE = SETTINGS_FILES | {BOOTSTRAP_PATH}
"""...and the bootstrap, which only delivers the bundle; the user data writes it on baked instances too."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def user_data(config: EnvironmentConfig) -> dict[str, Any]:
    """The rendered cloud-config, parsed."""
    text = cloud_config(config)
    assert text.startswith("#cloud-config\n")
    return yaml.safe_load(text)


def write_files(config: EnvironmentConfig) -> list[dict[str, Any]]:
    """The user data's write_files."""
    return user_data(config)["write_files"]


def content_of(entry: dict[str, Any]) -> bytes:
    """A write_files entry's bytes, honouring cloud-init's encodings."""
    encoding = entry.get("encoding", "text/plain")
    raw = entry["content"]
    if encoding in ("b64", "base64"):
        return base64.b64decode(raw)
    if encoding in ("gz+b64", "gzip+base64", "gz+base64", "gzip+b64"):
        return gzip.decompress(base64.b64decode(raw))
    assert encoding == "text/plain", encoding
    return raw.encode("utf-8")


def bundle_files(digest: str) -> set[tuple[str, str, str]]:
    """(destination, mode, sha256) of every file in the bundle whose SHA-256 is ``digest``."""
    data = bundle_bytes()
    assert sha256(data) == digest, "the user data names another bundle than ami/ builds"
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
        assert all(m.isfile() for m in members)
        return {
            ("/" + m.name, format(m.mode, "04o"), sha256(tar.extractfile(m).read()))  # type: ignore[union-attr]
            for m in members
        }


def user_data_installs(config: EnvironmentConfig) -> set[tuple[str, str, str]]:
    """(destination, mode, sha256) of the software the boot path installs: files the user data writes
    itself, and the bundle its bootstrap unpacks (named by digest in runcmd)."""
    document = user_data(config)
    installed = {
        (f["path"], f["permissions"], sha256(content_of(f)))
        for f in document["write_files"]
        if f["path"] not in NOT_SOFTWARE
    }
    for command in document["runcmd"]:
        if command[0] == BOOTSTRAP_PATH:
            _, environment, digest = command
            assert environment == config.environment
            installed |= bundle_files(digest)
    return installed


def image_installs(documents: list[ComponentDocument]) -> set[tuple[str, str, str]]:
    """(destination, mode, sha256) of the software the image components install."""
    return {f for f in installed_files(documents) if f[0] not in NOT_SOFTWARE}


SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it (the documents hold whole scripts: the pure-Python reader
spends most of these tests' time on them)."""


def parsed(document: ComponentDocument) -> dict[str, Any]:
    return yaml.load(document.data, Loader=SAFE_LOADER)


def steps(document: ComponentDocument, phase: str) -> list[dict[str, Any]]:
    phases = {p["name"]: p["steps"] for p in parsed(document)["phases"]}
    return phases.get(phase, [])


def scripts(documents: list[ComponentDocument], phase: str = "build") -> list[str]:
    return [
        c for d in documents for s in steps(d, phase) if s["action"] == "ExecuteBash" for c in s["inputs"]["commands"]
    ]


@pytest.fixture(scope="module")
def documents_by_env(shipped_configs: list[EnvironmentConfig]) -> dict[str, list[ComponentDocument]]:
    return {c.environment: environment_component_documents(c) for c in shipped_configs}


# (a) the image pipeline and the user data install the same things --------------------------------


def test_image_and_user_data_install_the_same_files(
    shipped_configs: list[EnvironmentConfig], documents_by_env: dict[str, list[ComponentDocument]]
) -> None:
    for config in shipped_configs:
        from_image = image_installs(documents_by_env[config.environment])
        from_user_data = user_data_installs(config)
        assert len(from_user_data) == len(instance_files()) > 0
        assert from_image == from_user_data, (
            f"{config.environment}: only in the image: {sorted(from_image - from_user_data)}; "
            f"only in the user data: {sorted(from_user_data - from_image)}"
        )


def test_the_image_bakes_and_the_user_data_boots(
    shipped_configs: list[EnvironmentConfig], documents_by_env: dict[str, list[ComponentDocument]]
) -> None:
    for config in shipped_configs:
        documents = documents_by_env[config.environment]
        # Boot: the user data runs the bootstrap, which ends by handing over to provision.sh boot.
        runcmd = user_data(config)["runcmd"]
        assert [c[0] for c in runcmd] == [BOOTSTRAP_PATH]
        handover = [line for line in BOOTSTRAP.read_text().splitlines() if line.startswith("exec ")]
        assert len(handover) == 1 and re.fullmatch(r'exec "\$\{[^"]*provision\.sh\}" boot', handover[0]), handover
        assert PROVISION_SCRIPT.lstrip("/") in handover[0]
        # The recipe runs its components in order: every file is in place before provision.sh runs.
        assert [d.key for d in documents][-1] == "bake"
        assert all(d.key.startswith("files-") for d in documents[:-1])
        bake = [(s["name"], s["inputs"]["commands"]) for s in steps(documents[-1], "build")]
        assert [name for name, _ in bake] == ["WriteBakeSettings", "Provision"]
        assert bake[1][1] == [f"{PROVISION_SCRIPT} bake"]
        runs = [line for c in scripts(documents) for line in c.splitlines() if line.startswith(PROVISION_SCRIPT)]
        assert runs == [f"{PROVISION_SCRIPT} bake"], "provision.sh runs exactly once, in bake mode"


def test_bake_time_settings_are_the_user_datas(
    shipped_configs: list[EnvironmentConfig], documents_by_env: dict[str, list[ComponentDocument]]
) -> None:
    for config in shipped_configs:
        baked = written_files(documents_by_env[config.environment])[BAKE_SETTINGS_PATH]
        at_boot = next(f for f in write_files(config) if f["path"] == BAKE_SETTINGS_PATH)
        assert baked == (at_boot["permissions"], content_of(at_boot))
        settings = dict(line.split("=", 1) for line in baked[1].decode().splitlines())
        assert settings["RUDDER_BACKEND_IMAGE"] == config.rudder.backend_image
        assert settings["RUDDER_TRANSFORMER_IMAGE"] == config.rudder.transformer_image
        assert settings["RUDDER_POSTGRES_IMAGE"] == config.rudder.postgres_image


def test_only_regular_files_ship(tmp_path: Path) -> None:
    """Bytecode Python leaves beside a script a test imported (``ami/bin/__pycache__``) and dotfiles are not
    instance files: once, a test run that wrote bytecode broke the next synthesis."""
    (tmp_path / "rudder-tool").write_text("#!/bin/sh\n", encoding="utf-8")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "rudder-tool.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / ".rudder-tool.swp").write_bytes(b"\0")
    assert shipped_files(tmp_path) == [tmp_path / "rudder-tool"]
    assert not [f for f in instance_files() if "__pycache__" in f.source or "/." in f.source]


def test_the_comparison_notices_a_difference(
    shipped_configs: list[EnvironmentConfig], documents_by_env: dict[str, list[ComponentDocument]]
) -> None:
    config = shipped_configs[0]
    documents = documents_by_env[config.environment]
    first = next(f for f in instance_files())
    # A file written with another mode, or with other bytes, must show up as a difference.
    tampered = [
        ComponentDocument(d.key, d.description, d.data.replace(f"MODE='{first.mode}'", "MODE='0700'", 1))
        for d in documents
    ]
    assert image_installs(tampered) != user_data_installs(config)
    with pytest.raises(ValueError, match="does not match its SHA-256"):
        written_files([swapped_payloads(documents[0])])


def swapped_payloads(document: ComponentDocument) -> ComponentDocument:
    """The document with its first two payloads exchanged: valid gzip, wrong content for its SHA-256."""
    lines = document.data.splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.lstrip().startswith("PAYLOAD='")][:2]
    assert len(at) == 2
    lines[at[0]], lines[at[1]] = lines[at[1]], lines[at[0]]
    return ComponentDocument(document.key, document.description, "".join(lines))


def test_documents_parse_with_build_and_validate_phases(documents_by_env: dict[str, list[ComponentDocument]]) -> None:
    for documents in documents_by_env.values():
        names = [d.key for d in documents]
        assert len(set(names)) == len(names)
        for document in documents:
            doc = parsed(document)
            assert doc["schemaVersion"] == 1.0
            phases = [p["name"] for p in doc["phases"]]
            assert phases[:2] == ["build", "validate"], phases
            assert set(phases) <= {"build", "validate", "test"}
            for phase in doc["phases"]:
                assert phase["steps"], phase["name"]
                step_names = [s["name"] for s in phase["steps"]]
                assert len(set(step_names)) == len(step_names)
                assert all(n.isalnum() for n in step_names), step_names
                assert all(s["action"] == "ExecuteBash" for s in phase["steps"])
            # CreateComponent takes at most 16,000 characters of inline data.
            assert len(document.data.encode("utf-8")) <= COMPONENT_DATA_LIMIT
            # Image Builder substitutes {{ ... }}; no document may contain it.
            assert "{{" not in document.data


def test_libyaml_and_pure_python_dump_the_same_documents(
    documents_by_env: dict[str, list[ComponentDocument]],
    shipped_configs: list[EnvironmentConfig],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The components are dumped with libyaml's emitter where PyYAML has it, the pure-Python one elsewhere:
    every shipped environment's documents must come out byte for byte the same either way."""
    assert image_component.DUMPER is not image_component.PURE_DUMPER, "this PyYAML has no libyaml"
    monkeypatch.setattr(image_component, "DUMPER", image_component.PURE_DUMPER)
    for config in shipped_configs:
        assert environment_component_documents(config) == documents_by_env[config.environment], config.environment


def test_each_file_round_trips_byte_for_byte(documents_by_env: dict[str, list[ComponentDocument]]) -> None:
    for documents in documents_by_env.values():
        written = written_files(documents)
        for f in instance_files():
            assert written[f.destination] == (f.mode, f.read().encode("utf-8")), f.source
        assert set(written) == {f.destination for f in instance_files()} | {BAKE_SETTINGS_PATH}


def _run_build_steps(documents: list[ComponentDocument], root: Path) -> subprocess.CompletedProcess[str]:
    """Runs every file-writing build step with bash, into ``root`` (chown is a no-op shim)."""
    shims = root.parent / "shims"
    shims.mkdir(exist_ok=True)
    (shims / "chown").write_text("#!/bin/sh\nexit 0\n")
    (shims / "chown").chmod(0o755)
    env = {**os.environ, IMAGE_ROOT_VARIABLE: str(root), "PATH": f"{shims}:{os.environ['PATH']}"}
    script = "\n".join(s for s in scripts(documents) if "PAYLOAD=" in s)
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=False)


def test_build_steps_write_exact_bytes_and_modes(
    tmp_path: Path, documents_by_env: dict[str, list[ComponentDocument]]
) -> None:
    documents = documents_by_env["prod"]
    root = tmp_path / "root"
    run = _run_build_steps(documents, root)
    assert run.returncode == 0, run.stderr
    on_disk = {
        str(Path("/") / p.relative_to(root)): (format(stat.S_IMODE(p.stat().st_mode), "04o"), p.read_bytes())
        for p in root.rglob("*")
        if p.is_file()
    }
    assert on_disk == written_files(documents), "leftover temporary files or differences"
    for f in instance_files():
        assert on_disk[f.destination] == (f.mode, f.read().encode("utf-8")), f.source


def test_a_corrupted_payload_fails_the_build(
    tmp_path: Path, documents_by_env: dict[str, list[ComponentDocument]]
) -> None:
    documents = documents_by_env["prod"]
    first = documents[0]
    # Flip one character inside the first payload (after its gzip header): decoding or the SHA-256 check fails.
    start = first.data.index("PAYLOAD='") + len("PAYLOAD='") + 40
    flipped = "A" if first.data[start] != "A" else "B"
    broken = ComponentDocument(first.key, first.description, first.data[:start] + flipped + first.data[start + 1 :])
    run = _run_build_steps([broken], tmp_path / "root")
    assert run.returncode != 0
    assert not (tmp_path / "root" / PROVISION_SCRIPT.lstrip("/")).exists(), "a corrupted file was installed"
    # Intact gzip, other content: the SHA-256 check stops it.
    run = _run_build_steps([swapped_payloads(first)], tmp_path / "root2")
    assert run.returncode != 0
    assert "FAILED" in run.stdout + run.stderr
    assert not (tmp_path / "root2" / PROVISION_SCRIPT.lstrip("/")).exists(), "a wrong file was installed"


def _run_parts(scripts: list[str], root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, IMAGE_ROOT_VARIABLE: str(root)}
    return subprocess.run(["bash", "-c", "\n".join(scripts)], env=env, capture_output=True, text=True, check=False)


def test_a_file_too_large_for_one_step_is_installed_in_parts(tmp_path: Path) -> None:
    content = os.urandom(40_000)  # incompressible: about 54,000 base64 characters, five parts
    parts = install_parts("/opt/rudder-ha/bin/big", "0644", content)
    assert len(parts) >= 2
    assert all(len(p.script) <= PAYLOAD_PART_LIMIT + 2_000 for p in parts)
    run = _run_parts([p.script.replace("chown root:root", ": chown") for p in parts], tmp_path / "root")
    assert run.returncode == 0, run.stderr
    installed = tmp_path / "root/opt/rudder-ha/bin/big"
    assert installed.read_bytes() == content
    assert format(stat.S_IMODE(installed.stat().st_mode), "04o") == "0644"
    assert not [p for p in (tmp_path / "root").rglob("*.b64")], "the staging file is left behind"


@pytest.mark.parametrize("order", ["skip-first", "swap", "repeat"])
def test_parts_out_of_order_install_nothing(tmp_path: Path, order: str) -> None:
    content = os.urandom(40_000)
    scripts_in_order = [
        p.script.replace("chown root:root", ": chown") for p in install_parts("/opt/x/big", "0644", content)
    ]
    broken = {
        "skip-first": scripts_in_order[1:],
        "swap": [scripts_in_order[1], scripts_in_order[0], *scripts_in_order[2:]],
        "repeat": [scripts_in_order[0], scripts_in_order[1], *scripts_in_order[1:]],
    }[order]
    # Each step is its own bash in Image Builder: a failing step stops the build.
    for script in broken:
        run = _run_parts([script], tmp_path / "root")
        if run.returncode != 0:
            break
    assert run.returncode != 0
    assert not (tmp_path / "root/opt/x/big").exists()


def test_generated_scripts_pass_shellcheck(documents_by_env: dict[str, list[ComponentDocument]]) -> None:
    shellcheck = Path(sys.executable).with_name("shellcheck")
    assert shellcheck.exists()
    documents = documents_by_env["prod"]
    for phase in ("build", "validate", "test"):
        for script in scripts(documents, phase):
            run = subprocess.run(
                [str(shellcheck), "--severity=style", "--shell=bash", "-"],
                input=script,
                capture_output=True,
                text=True,
                check=False,
            )
            assert run.returncode == 0, run.stdout + script[:300]


def test_checks_cover_images_units_and_scripts(
    shipped_configs: list[EnvironmentConfig], documents_by_env: dict[str, list[ComponentDocument]]
) -> None:
    for config in shipped_configs:
        bake = documents_by_env[config.environment][-1]
        for phase in ("validate", "test"):
            (check,) = scripts([bake], phase)
            for image in (config.rudder.backend_image, config.rudder.transformer_image, config.rudder.postgres_image):
                assert f"docker image inspect {image} " in check
            assert "systemctl is-enabled --quiet docker.service " in check
            for unit in ("rudder-backend.service", "rudder-transformer.service"):
                # installed on the image, enabled only at boot once the instance has its own settings
                assert f"[[ -f /etc/systemd/system/{unit} ]]" in check
                assert f"is-enabled --quiet {unit}" not in check
            for f in instance_files():
                if f.mode == "0755":
                    assert f"[[ -x {f.destination} ]]" in check
                if f.source.startswith("bin/"):
                    assert f"[[ -x /usr/local/bin/{Path(f.destination).name} ]]" in check
        for files_doc in documents_by_env[config.environment][:-1]:
            (verify,) = scripts([files_doc], "validate")
            for dest, (mode, content) in written_files([files_doc]).items():
                assert f"echo '{sha256(content)}  '{dest} | sha256sum" in verify
                assert f'"{format(int(mode, 8), "o")}"' in verify


# (c) the synthesized prod stack ------------------------------------------------------------------


def unescape(text: str) -> str:
    """Terraform JSON strings escape ``${`` and ``%{`` by doubling the sigil."""
    return text.replace("$${", "${").replace("%%{", "%{")


def named(stack: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return stack.get("resource", {}).get(kind, {})


@pytest.mark.synth
def test_components_are_the_rendered_documents_encrypted(
    synth: SynthOutput, documents_by_env: dict[str, list[ComponentDocument]]
) -> None:
    stack = synth.stack("prod")
    components = {c["name"]: c for c in resources(stack, "aws_imagebuilder_component")}
    documents = documents_by_env["prod"]
    assert set(components) == {f"rudder-ha-prod-{d.key}" for d in documents}
    for d in documents:
        component = components[f"rudder-ha-prod-{d.key}"]
        assert unescape(component["data"]) == d.data
        assert component["version"] == d.version
        assert component["platform"] == "Linux"
        assert component["kms_key_id"].startswith("${aws_kms_key.")
        assert component["lifecycle"]["create_before_destroy"] is True


@pytest.mark.synth
def test_recipe_starts_from_latest_al2023_with_an_encrypted_root_volume(synth: SynthOutput) -> None:
    stack = synth.stack("prod")
    config = synth.configs["prod"]
    recipe = only(stack, "aws_imagebuilder_image_recipe")
    assert recipe["parent_image"] == f"ssm:{AMI_SSM_PARAMETER[config.instance.architecture]}"
    assert recipe["parent_image"].startswith("ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-")
    (mapping,) = recipe["block_device_mapping"]
    assert mapping["device_name"] == "/dev/xvda"
    assert mapping["ebs"]["encrypted"] == "true"
    assert mapping["ebs"]["volume_type"] == "gp3"
    assert mapping["ebs"]["volume_size"] == config.instance.root_volume_size_gib
    # Files first, the bake last, in the documents' order.
    components = named(stack, "aws_imagebuilder_component")
    order = [components[c["component_arn"].split(".")[1]]["name"] for c in recipe["component"]]
    assert order == [f"rudder-ha-prod-{d.key}" for d in environment_component_documents(config)]


@pytest.mark.synth
def test_build_instances_are_private_imdsv2_keyless_and_scoped(synth: SynthOutput) -> None:
    stack = synth.stack("prod")
    config = synth.configs["prod"]
    infra = only(stack, "aws_imagebuilder_infrastructure_configuration")
    assert infra["instance_metadata_options"] == {"http_tokens": "required", "http_put_response_hop_limit": 1}
    assert infra["subnet_id"].startswith("${aws_subnet.network_private_")
    assert "key_pair" not in infra
    assert infra["terminate_instance_on_failure"] is True
    assert infra["instance_types"] == [config.image_pipeline.build_instance_type]

    (sg_ref,) = infra["security_group_ids"]
    sg_name = sg_ref.split(".")[1]
    sg = named(stack, "aws_security_group")[sg_name]
    assert not sg.get("ingress")
    refers = f"${{aws_security_group.{sg_name}.id}}"
    assert not [r for r in resources(stack, "aws_vpc_security_group_ingress_rule") if r["security_group_id"] == refers]
    egress = [r for r in resources(stack, "aws_vpc_security_group_egress_rule") if r["security_group_id"] == refers]
    assert [(r["ip_protocol"], r["from_port"], r["to_port"]) for r in egress] == [("tcp", 443, 443)]

    profile_name = infra["instance_profile_name"].split(".")[1]
    profile = named(stack, "aws_iam_instance_profile")[profile_name]
    role_name = profile["role"].split(".")[1]
    role = named(stack, "aws_iam_role")[role_name]
    trust = json.loads(role["assume_role_policy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ec2.amazonaws.com"}]
    # No AWS managed policy: the SSM agent's and the build's needs, inline.
    attached = [a for a in resources(stack, "aws_iam_role_policy_attachment") if role_name in a["role"]]
    assert attached == []
    inline = {
        p["name"]: json.loads(p["policy"]) for p in resources(stack, "aws_iam_role_policy") if role_name in p["role"]
    }
    assert set(inline) == {"ssm-agent", "image-build"}
    build = {s["Sid"]: s for s in inline["image-build"]["Statement"]}
    assert set(build) == {"ReadOwnComponents", "DecryptOwnComponents", "FetchImageBuilderAgent", "WriteBuildLogs"}
    assert build["ReadOwnComponents"]["Resource"].endswith(":component/rudder-ha-prod-*")
    assert build["DecryptOwnComponents"]["Resource"] == "${aws_kms_key.key_F64E54E4.arn}"
    assert build["DecryptOwnComponents"]["Condition"]["ForAnyValue:StringEquals"]["aws:CalledVia"] == [
        "imagebuilder.amazonaws.com"
    ]
    assert build["FetchImageBuilderAgent"]["Resource"].endswith(":s3:::ec2imagebuilder*")
    logs = named(stack, "aws_cloudwatch_log_group")
    build_logs = next(k for k, g in logs.items() if g["name"] == f"/aws/imagebuilder/{infra['name']}")
    assert build["WriteBuildLogs"]["Resource"] == f"${{aws_cloudwatch_log_group.{build_logs}.arn}}:*"
    granted = {a for s in inline["ssm-agent"]["Statement"] for a in s["Action"]}
    assert not [a for a in granted if a.startswith(("ssm:Get", "ssm:Put", "ssm:List", "ssm:Describe"))]


@pytest.mark.synth
def test_the_ami_is_encrypted_with_the_environments_key_and_autoscaling_may_launch_it(synth: SynthOutput) -> None:
    stack = synth.stack("prod")
    assert synth.configs["prod"].instance.ebs_kms_key_arn is None
    key = "${aws_kms_key.key_F64E54E4.arn}"
    (mapping,) = only(stack, "aws_imagebuilder_image_recipe")["block_device_mapping"]
    assert (mapping["ebs"]["encrypted"], mapping["ebs"]["kms_key_id"]) == ("true", key)
    (target,) = only(stack, "aws_imagebuilder_distribution_configuration")["distribution"]
    assert target["ami_distribution_configuration"]["kms_key_id"] == key
    grant = only(stack, "aws_kms_grant")
    assert grant["key_id"] == key
    assert grant["grantee_principal"].endswith(
        ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    )
    assert set(grant["operations"]) == {
        *("CreateGrant", "Decrypt", "DescribeKey", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext"),
        *("ReEncryptFrom", "ReEncryptTo"),
    }
    grant_name = next(iter(named(stack, "aws_kms_grant")))
    # The first image waits for the grant, and the launch template and group wait for the first image.
    assert f"aws_kms_grant.{grant_name}" in only(stack, "aws_imagebuilder_image")["depends_on"]
    # EC2 Image Builder's service-linked role needs no grant: its AWS managed policy allows the key through EC2
    # and the key policy delegates to IAM every action that policy uses.
    account = next(
        s for s in json.loads(only(stack, "aws_kms_key")["policy"])["Statement"] if s["Sid"] == "AccountAdministers"
    )
    image_builder_slr = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo"}
    image_builder_slr |= {"kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey", "kms:CreateGrant"}
    assert image_builder_slr <= set(account["Action"])


@pytest.mark.synth
def test_distribution_writes_the_parameter_the_launch_template_resolves(synth: SynthOutput) -> None:
    stack = synth.stack("prod")
    distribution = only(stack, "aws_imagebuilder_distribution_configuration")
    (target,) = distribution["distribution"]
    assert target["region"] == synth.configs["prod"].region
    parameter = BAKED_AMI_PARAMETER.format(environment="prod")
    assert parameter == "/rudder-ha/prod/data-plane-ami"
    assert target["ssm_parameter_configuration"] == [{"parameter_name": parameter, "data_type": "aws:ec2:image"}]
    ami = target["ami_distribution_configuration"]
    assert "{{ imagebuilder:buildDate }}" in ami["name"]
    assert ami["ami_tags"]["environment"] == "prod"
    assert ami["ami_tags"]["project"] == "rudder-ha"
    assert only(stack, "aws_launch_template")["image_id"] == f"resolve:ssm:{parameter}"


@pytest.mark.synth
def test_pipeline_runs_on_schedule_with_image_tests(synth: SynthOutput) -> None:
    stack = synth.stack("prod")
    pipeline = only(stack, "aws_imagebuilder_image_pipeline")
    assert pipeline["schedule"]["schedule_expression"] == synth.configs["prod"].image_pipeline.schedule
    assert pipeline["schedule"]["pipeline_execution_start_condition"] == "EXPRESSION_MATCH_ONLY"
    assert pipeline["image_tests_configuration"]["image_tests_enabled"] is True
    assert pipeline["status"] == "ENABLED"
    for key, kind in (
        ("image_recipe_arn", "aws_imagebuilder_image_recipe"),
        ("infrastructure_configuration_arn", "aws_imagebuilder_infrastructure_configuration"),
        ("distribution_configuration_arn", "aws_imagebuilder_distribution_configuration"),
    ):
        assert pipeline[key].startswith(f"${{{kind}."), key
    name = next(iter(named(stack, "aws_imagebuilder_image_pipeline")))
    assert stack["output"]["image_pipeline_arn"]["value"] == f"${{aws_imagebuilder_image_pipeline.{name}.arn}}"


@pytest.mark.synth
def test_first_image_is_built_before_anything_launches(synth: SynthOutput) -> None:
    stack = synth.stack("prod")
    (image_name,) = named(stack, "aws_imagebuilder_image")
    image = named(stack, "aws_imagebuilder_image")[image_name]
    pipeline = only(stack, "aws_imagebuilder_image_pipeline")
    for key in ("image_recipe_arn", "infrastructure_configuration_arn", "distribution_configuration_arn"):
        assert image[key] == pipeline[key]
    assert image["image_tests_configuration"]["image_tests_enabled"] is True
    dependency = f"aws_imagebuilder_image.{image_name}"
    assert dependency in only(stack, "aws_autoscaling_group")["depends_on"]
    assert dependency in only(stack, "aws_launch_template")["depends_on"]


@pytest.mark.synth
def test_build_logs_are_encrypted_and_expire(synth: SynthOutput) -> None:
    stack = synth.stack("prod")
    groups = {g["name"]: g for g in resources(stack, "aws_cloudwatch_log_group")}
    recipe = only(stack, "aws_imagebuilder_image_recipe")
    pipeline = only(stack, "aws_imagebuilder_image_pipeline")
    for name in (f"/aws/imagebuilder/{recipe['name']}", f"/aws/imagebuilder/pipeline/{pipeline['name']}"):
        assert groups[name]["kms_key_id"].startswith("${aws_kms_key.")
        assert groups[name]["retention_in_days"] >= 365


# (d) only environments that enable it get a pipeline -----------------------------------------------


@pytest.mark.synth
@pytest.mark.parametrize("env", ["dev", "staging"])
def test_no_pipeline_where_not_enabled(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    config = synth.configs[env]
    assert not config.image_pipeline.enabled
    assert not [kind for kind in stack.get("resource", {}) if kind.startswith("aws_imagebuilder_")]
    assert "image_pipeline_arn" not in stack.get("output", {})
    for kind in ("aws_autoscaling_group", "aws_launch_template"):
        assert not [d for d in only(stack, kind).get("depends_on", []) if "imagebuilder" in d]
    assert (
        only(stack, "aws_launch_template")["image_id"]
        == f"resolve:ssm:{AMI_SSM_PARAMETER[config.instance.architecture]}"
    )


def test_prod_enables_the_pipeline(shipped_configs: list[EnvironmentConfig]) -> None:
    prod = next(c for c in shipped_configs if c.environment == "prod")
    assert prod.image_pipeline.enabled
    assert prod.instance.ami == f"resolve:ssm:{BAKED_AMI_PARAMETER.format(environment='prod')}"
