"""``ami/bin/rudder-archive-credentials``: the backend's archive env file, and the loopback endpoint that gives
rudder-server's archiver the writer role's credentials, read by a real AWS SDK's container credentials
provider (botocore's, which follows the same documented protocol as the Go SDK rudder-server uses).

The aws CLI is stood in for by ``fake_aws`` below: it answers ``ssm get-parameter`` and ``sts assume-role``
with the JSON shapes the CLI prints (``--output json``) and logs every call, so the tests can count them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.credentials import ContainerProvider
from botocore.exceptions import CredentialRetrievalError
from botocore.utils import ContainerMetadataFetcher

from tests.support.paths import REPO

SCRIPT = REPO / "ami" / "bin" / "rudder-archive-credentials"
ROLE = "arn:aws:iam::111111111111:role/rudder-ha-dev-event-archive-writer"
BUCKET = "rudder-ha-dev-archive-20261206"
PARAMETER = "/rudder-ha/dev/event-archive"

FAKE_AWS = r'''#!{python}
"""Stands in for the aws CLI: ssm get-parameter and sts assume-role, as the CLI prints them."""
import datetime, json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_AWS_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
if os.environ.get("FAKE_AWS_FAIL"):
    print("An error occurred (AccessDenied)", file=sys.stderr)
    sys.exit(254)
if args[:2] == ["ssm", "get-parameter"]:
    value = os.environ["FAKE_PARAMETER_VALUE"]
    name = args[args.index("--name") + 1]
    print(json.dumps({{"Parameter": {{"Name": name, "Type": "SecureString", "Value": value}}}}))
elif args[:2] == ["sts", "assume-role"]:
    minutes = int(os.environ.get("FAKE_LIFETIME_MINUTES", "60"))
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    calls = sum(1 for _ in open(os.environ["FAKE_AWS_LOG"]))
    print(json.dumps({{"Credentials": {{
        "AccessKeyId": f"ASIAFAKE{{calls:08d}}",
        "SecretAccessKey": "fake-secret",
        "SessionToken": "fake-session-token",
        "Expiration": expires.isoformat(timespec="seconds"),
    }}, "AssumedRoleUser": {{"Arn": args[args.index("--role-arn") + 1] + "/session"}}}}))
else:
    sys.exit(2)
'''


@dataclass
class Host:
    """A fake instance: instance.env, the run directory and the aws CLI stand-in."""

    root: Path
    env: dict[str, str]

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    def write_instance_env(self, archive: str) -> None:
        lines = ["AWS_REGION=eu-west-1", f"RUDDER_EVENT_ARCHIVE={archive}"]
        lines.append(f"RUDDER_EVENT_ARCHIVE_PARAMETER={PARAMETER if archive == 'on' else ''}")
        (self.root / "instance.env").write_text("\n".join(lines) + "\n")

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SCRIPT), *args],
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def aws_calls(self) -> list[list[str]]:
        log = Path(self.env["FAKE_AWS_LOG"])
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def archive_env(self) -> dict[str, str]:
        text = (self.run_dir / "archive.env").read_text()
        return dict(line.split("=", 1) for line in text.splitlines())


@pytest.fixture
def host(tmp_path: Path) -> Host:
    fake = tmp_path / "aws"
    fake.write_text(FAKE_AWS.format(python=sys.executable))
    fake.chmod(0o755)
    env = {
        "PATH": os.environ["PATH"],
        "RUDDER_HA_INSTANCE_ENV": str(tmp_path / "instance.env"),
        "RUDDER_HA_RUN_DIR": str(tmp_path / "run"),
        "RUDDER_HA_AWS": str(fake),
        "FAKE_AWS_LOG": str(tmp_path / "aws.log"),
        "FAKE_PARAMETER_VALUE": json.dumps({"bucket": BUCKET, "prefix": "gateway-jobs", "writer_role_arn": ROLE}),
    }
    return Host(tmp_path, env)


def test_archive_off_turns_rudder_servers_own_archival_off(host: Host) -> None:
    host.write_instance_env("off")
    done = host.run("prepare")
    assert done.returncode == 0, done.stderr
    assert host.archive_env() == {"RSERVER_ARCHIVAL_ENABLED": "false"}
    assert host.aws_calls() == [], "nothing to look up when the archive is off"


def test_archive_on_points_rudder_server_at_the_bucket_and_the_endpoint(host: Host) -> None:
    host.write_instance_env("on")
    done = host.run("prepare")
    assert done.returncode == 0, done.stderr
    env = host.archive_env()
    token = (host.run_dir / "archive-credentials.token").read_text().strip()
    assert len(token) == 64
    assert env == {
        "RSERVER_ARCHIVAL_ENABLED": "true",
        "JOBS_BACKUP_STORAGE_PROVIDER": "S3",
        "JOBS_BACKUP_BUCKET": BUCKET,
        "JOBS_BACKUP_PREFIX": "gateway-jobs",
        "JOBS_BACKUP_DEFAULT_PREFIX": "gateway-jobs",
        "AWS_REGION": "eu-west-1",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:8129/event-archive-credentials",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": token,
    }
    for name in ("archive.env", "archive-credentials.token", "archive-writer.json"):
        assert stat.S_IMODE((host.run_dir / name).stat().st_mode) == 0o600, name
    (call,) = host.aws_calls()
    assert call[:2] == ["ssm", "get-parameter"] and "--with-decryption" in call and PARAMETER in call
    # A restart keeps the token (the endpoint and the env file must agree across backend restarts).
    assert host.run("prepare").returncode == 0
    assert host.archive_env()["AWS_CONTAINER_AUTHORIZATION_TOKEN"] == token


def test_an_unreadable_parameter_stops_the_backend_start(host: Host) -> None:
    host.write_instance_env("on")
    done = host.run("prepare", FAKE_AWS_FAIL="1")
    assert done.returncode == 1
    assert "cannot read the event archive" in done.stderr and "AccessDenied" in done.stderr
    assert not (host.run_dir / "archive.env").exists()


@pytest.fixture
def endpoint(host: Host) -> Iterator[tuple[Host, str, str]]:
    """``serve`` on a free loopback port; yields the host, the endpoint's URI and its token."""
    host.write_instance_env("on")
    assert host.run("prepare").returncode == 0
    token = host.archive_env()["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    server = subprocess.Popen(
        [sys.executable, str(SCRIPT), "serve"],
        env={**host.env, "RUDDER_HA_ARCHIVE_PORT": "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # blocks until the server has bound its socket
        assert line.startswith("listening on 127.0.0.1:"), line + (server.stderr.read() if server.stderr else "")
        port = int(line.rsplit(":", 1)[1])
        yield host, f"http://127.0.0.1:{port}/event-archive-credentials", token
    finally:
        server.terminate()
        server.wait(timeout=30)


def _sdk_credentials(uri: str, token: str) -> dict[str, str]:
    """What botocore's container credential provider gets from ``uri``. A refused caller is asked again as
    the SDK asks it (three attempts), without the SDK's one-second pause between attempts."""
    provider = ContainerProvider(
        environ={"AWS_CONTAINER_CREDENTIALS_FULL_URI": uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN": token},
        fetcher=ContainerMetadataFetcher(sleep=lambda _seconds: None),
    )
    credentials = provider.load()
    assert credentials is not None
    frozen = credentials.get_frozen_credentials()
    return {"access_key": frozen.access_key, "secret_key": frozen.secret_key, "token": frozen.token}


def _served(uri: str, token: str) -> dict[str, str]:
    """One GET of the endpoint, as the SDKs send it."""
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(uri, headers={"Authorization": token}), timeout=30) as reply:
        return json.loads(reply.read())


def _assume_role_calls(host: Host) -> list[list[str]]:
    return [c for c in host.aws_calls() if c[:2] == ["sts", "assume-role"]]


def test_an_sdk_gets_the_writer_roles_credentials(endpoint: tuple[Host, str, str]) -> None:
    host, uri, token = endpoint
    first = _sdk_credentials(uri, token)
    assert first["access_key"].startswith("ASIAFAKE")
    assert first["secret_key"] == "fake-secret" and first["token"] == "fake-session-token"
    (call,) = _assume_role_calls(host)
    assert call[call.index("--role-arn") + 1] == ROLE
    assert call[call.index("--duration-seconds") + 1] == "3600"
    # Fresh credentials are served again without another call to STS.
    assert _sdk_credentials(uri, token) == first
    assert len(_assume_role_calls(host)) == 1


def test_credentials_close_to_expiry_are_renewed(host: Host) -> None:
    host.env["FAKE_LIFETIME_MINUTES"] = "10"  # inside the 15-minute renewal margin
    host.write_instance_env("on")
    assert host.run("prepare").returncode == 0
    token = host.archive_env()["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    server = subprocess.Popen(
        [sys.executable, str(SCRIPT), "serve"],
        env={**host.env, "RUDDER_HA_ARCHIVE_PORT": "0"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().rsplit(":", 1)[1])
        uri = f"http://127.0.0.1:{port}/event-archive-credentials"
        first, second = (_served(uri, token) for _ in range(2))
        assert first["AccessKeyId"] != second["AccessKeyId"]
        assert len(_assume_role_calls(host)) == 2, "each request inside the margin assumes the role again"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("given", ["", "0" * 64, "Bearer x"])
def test_a_caller_without_the_token_gets_nothing(endpoint: tuple[Host, str, str], given: str) -> None:
    host, uri, _ = endpoint
    with pytest.raises(CredentialRetrievalError):
        _sdk_credentials(uri, given)
    assert _assume_role_calls(host) == [], "no role assumed for a refused caller"


def test_other_paths_are_not_found_and_a_refused_assume_role_is_a_503(endpoint: tuple[Host, str, str]) -> None:
    import urllib.error
    import urllib.request

    host, uri, token = endpoint
    other = urllib.request.Request(uri.replace("event-archive-credentials", "x"), headers={"Authorization": token})
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(other, timeout=30)
    assert missing.value.code == 404
    Path(host.env["FAKE_AWS_LOG"]).unlink()
    (host.run_dir / "archive-writer.json").unlink()  # as if prepare never found the archive
    with pytest.raises(urllib.error.HTTPError) as unavailable:
        urllib.request.urlopen(urllib.request.Request(uri, headers={"Authorization": token}), timeout=30)
    assert unavailable.value.code == 503


def test_the_backend_unit_runs_prepare_and_passes_the_env_files() -> None:
    unit = (REPO / "ami" / "systemd" / "rudder-backend.service").read_text()
    assert "ExecStartPre=/usr/local/bin/rudder-archive-credentials prepare" in unit
    assert "--env-file /run/rudder-ha/archive.env" in unit
    assert "--env-file /opt/rudder-ha/cloudwatch/rudder-server-stats.env" in unit
    relay = (REPO / "ami" / "systemd" / "rudder-archive-credentials.service").read_text()
    assert "ExecStart=/usr/local/bin/rudder-archive-credentials serve" in relay
    assert "rudder.slice" not in relay.replace("outside rudder.slice", ""), "the relay needs IMDS: not in the slice"
