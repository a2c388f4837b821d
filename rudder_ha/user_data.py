"""Renders the instance user data: a cloud-config that writes ``ami/`` and runs its provisioning.

The rendered document holds settings only, never a secret: the workspace token is fetched on the
instance by ``rudder-fetch-secrets`` with the instance role. The document is gzipped (cloud-init
detects the gzip header) so it stays far below the 16 KiB user-data limit as ``ami/`` grows.
"""

from __future__ import annotations

import base64
import gzip
import shlex

import yaml

from rudder_ha.config.model import GATEWAY_PORT, TRANSFORMER_PORT, EnvironmentConfig
from rudder_ha.instance_files import PROVISION_SCRIPT, instance_files

USER_DATA_LIMIT_BYTES = 16 * 1024


def _env_file(values: dict[str, str]) -> str:
    """KEY=VALUE lines that both systemd's EnvironmentFile and bash ``source`` read the same way."""
    lines = []
    for key, value in values.items():
        if any(c in value for c in "\n\r"):
            raise ValueError(f"{key} contains a line break")
        lines.append(f"{key}={shlex.quote(value)}" if value != shlex.quote(value) else f"{key}={value}")
    return "\n".join(lines) + "\n"


def instance_settings(config: EnvironmentConfig) -> dict[str, str]:
    """``/etc/rudder-ha/instance.env``: what the provisioning script and units read."""
    token = config.rudder.workspace_token
    return {
        "AWS_REGION": config.region,
        "RUDDER_HA_ENVIRONMENT": config.environment,
        "RUDDER_BACKEND_IMAGE": config.rudder.backend_image,
        "RUDDER_TRANSFORMER_IMAGE": config.rudder.transformer_image,
        "RUDDER_POSTGRES_IMAGE": config.rudder.postgres_image,
        "RUDDER_JOBSDB_MODE": "instance",
        "RUDDER_TOKEN_STORE": token.kind,
        "RUDDER_TOKEN_REF": token.ssm_parameter or token.secrets_manager_arn or "",
    }


def backend_settings(config: EnvironmentConfig) -> dict[str, str]:
    """``/etc/rudder-ha/backend.env``: rudder-server's non-secret environment."""
    values = {
        "JOBS_DB_HOST": "127.0.0.1",
        "JOBS_DB_PORT": "5432",
        "JOBS_DB_USER": "rudder",
        "JOBS_DB_DB_NAME": "jobsdb",
        "JOBS_DB_SSL_MODE": "disable",
        "DEST_TRANSFORM_URL": f"http://127.0.0.1:{TRANSFORMER_PORT}",
        "CONFIG_BACKEND_URL": config.rudder.control_plane_url,
        "RSERVER_GATEWAY_WEB_PORT": str(GATEWAY_PORT),
    }
    values.update(config.rudder.extra_env)
    return values


def cloud_config(config: EnvironmentConfig) -> str:
    """The cloud-config document, as text starting with ``#cloud-config``."""
    files = [
        {
            "path": "/etc/rudder-ha/instance.env",
            "permissions": "0644",
            "owner": "root:root",
            "content": _env_file(instance_settings(config)),
        },
        {
            "path": "/etc/rudder-ha/backend.env",
            "permissions": "0644",
            "owner": "root:root",
            "content": _env_file(backend_settings(config)),
        },
    ]
    files += [
        {"path": f.destination, "permissions": f.mode, "owner": "root:root", "content": f.read()}
        for f in instance_files()
    ]
    document = {
        "write_files": files,
        "runcmd": [[PROVISION_SCRIPT, "boot"]],
        "output": {"all": "| tee -a /var/log/rudder-ha-user-data.log"},
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, width=1000)


def encoded_user_data(config: EnvironmentConfig) -> str:
    """Base64 of the gzipped cloud-config, as a launch template takes it; reproducible byte for byte."""
    raw = gzip.compress(cloud_config(config).encode("utf-8"), compresslevel=9, mtime=0)
    if len(raw) > USER_DATA_LIMIT_BYTES:
        raise ValueError(f"user data is {len(raw)} bytes gzipped; EC2 accepts at most {USER_DATA_LIMIT_BYTES}")
    return base64.b64encode(raw).decode("ascii")
