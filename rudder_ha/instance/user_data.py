"""Renders the instance user data: a cloud-config with the environment's settings and the bootstrap.

The bootstrap (``ami/bootstrap.sh``) fetches the instance bundle (everything else under ``ami/``)
from the artifacts bucket, checks its SHA-256 against the one written here and runs
``provision.sh boot``. Naming the digest here means any change to ``ami/`` changes the launch
template, so an instance refresh rolls it out. The document holds settings only, never a secret:
the workspace token is fetched on the instance by ``rudder-fetch-secrets`` with the instance role.
"""

from __future__ import annotations

import base64
import gzip

import yaml

from rudder_ha.config import defaults
from rudder_ha.config.model import GATEWAY_PORT, TRANSFORMER_PORT, EnvironmentConfig
from rudder_ha.instance.bundle import BOOTSTRAP, InstanceBundle, build_bundle
from rudder_ha.instance.env_file import render_env_file
from rudder_ha.instance.files import INSTALL_DIR
from rudder_ha.instance.server_metrics import namespace as server_metrics_namespace
from rudder_ha.parts.event_archive.spec import archive_parameter

BOOTSTRAP_PATH = f"{INSTALL_DIR}/bootstrap.sh"

USER_DATA_LIMIT_BYTES = 16 * 1024


def jobsdb_parameter(config: EnvironmentConfig) -> str:
    """The SSM String parameter holding the RDS jobsdb's connection settings (no secret)."""
    return f"/rudder-ha/{config.environment}/jobsdb"


def instance_settings(config: EnvironmentConfig) -> dict[str, str]:
    """``/etc/rudder-ha/instance.env``: what the provisioning script and units read."""
    token = config.rudder.workspace_token
    return {
        "AWS_REGION": config.region,
        "RUDDER_HA_ENVIRONMENT": config.environment,
        "RUDDER_BACKEND_IMAGE": config.rudder.backend_image,
        "RUDDER_TRANSFORMER_IMAGE": config.rudder.transformer_image,
        "RUDDER_POSTGRES_IMAGE": config.rudder.postgres_image,
        "RUDDER_JOBSDB_MODE": config.jobsdb.mode,
        "RUDDER_JOBSDB_PARAMETER": jobsdb_parameter(config) if config.jobsdb.on_rds else "",
        "RUDDER_TOKEN_STORE": token.kind,
        "RUDDER_TOKEN_REF": token.ssm_parameter or token.secrets_manager_arn or "",
        "RUDDER_CRASH_THRESHOLD": str(config.degraded_mode.crash_threshold),
        "RUDDER_CRASH_WINDOW_SECONDS": str(config.degraded_mode.window_seconds),
        **fence_settings(config),
        **rudder_server_settings(config),
    }


def rudder_server_settings(config: EnvironmentConfig) -> dict[str, str]:
    """The rudder-server release (``RudderSettings.server_version``, for on-node tools that need it), whether
    it archives gateway jobs and where the archive is named (read by ``rudder-archive-credentials prepare``),
    and the CloudWatch agent's namespace for its statsd metrics."""
    on = config.event_archive.enabled
    release = config.rudder.server_version
    return {
        "RUDDER_SERVER_VERSION": str(release) if release else "",
        "RUDDER_EVENT_ARCHIVE": "on" if on else "off",
        "RUDDER_EVENT_ARCHIVE_PARAMETER": archive_parameter(config.environment) if on else "",
        "RUDDER_METRICS_NAMESPACE": server_metrics_namespace(config.environment),
    }


def fence_settings(config: EnvironmentConfig) -> dict[str, str]:
    """The jobsdb fence agent's lease and, with a hot standby, its watch over the backend (rds mode only)."""
    if not config.jobsdb.on_rds:
        return {}
    failover = config.autoscaling.failover
    return {
        "RUDDER_FAILOVER_MODE": failover.mode,
        "RUDDER_JOBSDB_FENCE_TTL": str(failover.lease_ttl_seconds),
        # A standby waits in acquire for as long as the holder holds: a unit restart between two waits
        # would leave it deaf for RestartSec. Alone, a replacement gives up after 10 min and starts again.
        "RUDDER_JOBSDB_FENCE_MAX_WAIT": str(defaults.HOT_STANDBY_MAX_WAIT_SECONDS if failover.hot_standby else 600),
        "RUDDER_FENCE_HEALTH_URL": f"http://127.0.0.1:{GATEWAY_PORT}/health" if failover.hot_standby else "",
        "RUDDER_FENCE_HEALTH_FAILURES": str(defaults.HOT_STANDBY_HEALTH_FAILURES),
        "RUDDER_FENCE_HEALTH_START_SECONDS": str(config.autoscaling.health_check_grace_period_seconds),
    }


def backend_settings(config: EnvironmentConfig) -> dict[str, str]:
    """``/etc/rudder-ha/backend.env``: rudder-server's non-secret environment."""
    # instance mode: PostgreSQL on this host. rds mode: host, user and password are written at service
    # start by rudder-fetch-secrets from the connection parameter and the fence agent's role.
    local_db = {
        "JOBS_DB_HOST": "127.0.0.1",
        "JOBS_DB_PORT": "5432",
        "JOBS_DB_USER": "rudder",
        "JOBS_DB_DB_NAME": "jobsdb",
        "JOBS_DB_SSL_MODE": "disable",
    }
    values = {
        **({} if config.jobsdb.on_rds else local_db),
        "DEST_TRANSFORM_URL": f"http://127.0.0.1:{TRANSFORMER_PORT}",
        "CONFIG_BACKEND_URL": config.rudder.control_plane_url,
        "RSERVER_GATEWAY_WEB_PORT": str(GATEWAY_PORT),
    }
    values.update(config.rudder.extra_env)
    return values


def cloud_config(config: EnvironmentConfig, bundle: InstanceBundle | None = None) -> str:
    """The cloud-config document, as text starting with ``#cloud-config``."""
    bundle = bundle or build_bundle()
    files = [
        {
            "path": "/etc/rudder-ha/instance.env",
            "permissions": "0644",
            "owner": "root:root",
            "content": render_env_file(instance_settings(config)),
        },
        {
            "path": "/etc/rudder-ha/backend.env",
            "permissions": "0644",
            "owner": "root:root",
            "content": render_env_file(backend_settings(config)),
        },
    ]
    files.append(
        {"path": BOOTSTRAP_PATH, "permissions": "0755", "owner": "root:root", "content": BOOTSTRAP.read_text()}
    )
    document = {
        "write_files": files,
        "runcmd": [[BOOTSTRAP_PATH, config.environment, bundle.sha256]],
        "output": {"all": "| tee -a /var/log/rudder-ha-user-data.log"},
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, width=1000)


def encoded_user_data(config: EnvironmentConfig, bundle: InstanceBundle | None = None) -> str:
    """Base64 of the gzipped cloud-config, as a launch template takes it; reproducible byte for byte."""
    raw = gzip.compress(cloud_config(config, bundle).encode("utf-8"), compresslevel=9, mtime=0)
    if len(raw) > USER_DATA_LIMIT_BYTES:
        raise ValueError(f"user data is {len(raw)} bytes gzipped; EC2 accepts at most {USER_DATA_LIMIT_BYTES}")
    return base64.b64encode(raw).decode("ascii")
