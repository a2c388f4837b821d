"""rudder-server's statsd reaches the CloudWatch agent: the agent's configuration and rudder-server's stats
settings (both under ``ami/cloudwatch/``, shipped in the instance bundle) agree on the address, the bundle
installs them, and provisioning installs the agent and starts it with the environment's namespace."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from rudder_ha.config import load_environment
from rudder_ha.instance import server_metrics
from rudder_ha.instance.bundle import bundle_bytes
from rudder_ha.instance.files import SERVER_STATS_ENV_FILE, STATSD_AGENT_CONFIG, instance_files
from rudder_ha.instance.user_data import instance_settings
from tests.support.paths import REPO


def _stats_env() -> dict[str, str]:
    """The docker env file: KEY=VALUE, taken literally (docker does no shell unquoting)."""
    lines = server_metrics.SERVER_STATS_ENV_SOURCE.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_agent_listens_where_rudder_server_sends() -> None:
    agent = json.loads(server_metrics.AGENT_CONFIG_SOURCE.read_text())
    statsd = agent["metrics"]["metrics_collected"]["statsd"]
    assert statsd["service_address"] == server_metrics.STATSD_ADDRESS
    assert _stats_env()["STATSD_SERVER_URL"] == server_metrics.STATSD_ADDRESS
    assert server_metrics.STATSD_ADDRESS.startswith("127.0.0.1:"), "loopback only"
    # One series per metric and tag set, not per host: replacements keep the same series.
    assert agent["agent"]["omit_hostname"] is True
    assert "append_dimensions" not in agent["metrics"]


def test_rudder_server_sends_dogstatsd_tags_without_per_entity_ids() -> None:
    env = _stats_env()
    assert env["RSERVER_ENABLE_STATS"] == "true"
    assert env["RSERVER_STATS_TAGS_FORMAT"] == "datadog", "the CloudWatch agent reads DogStatsD tags"
    excluded = env["RSERVER_STATS_EXCLUDED_TAGS"].split()
    # Every id-like tag the dashboard's metrics carry becomes a CloudWatch dimension (a paid custom metric per
    # value): rudder-server drops them before sending. Quotes would reach rudder-server literally.
    for tag in ("workspaceId", "sourceID", "destID", "destId", "writeKey", "destination", "source"):
        assert tag in excluded
    assert not any(c in env["RSERVER_STATS_EXCLUDED_TAGS"] for c in "'\"")
    # The tags the dashboard filters on stay.
    for kept in ("module", "respStatusCode", "job_state"):
        assert kept not in excluded


def test_the_bundle_carries_both_files() -> None:
    by_destination = {f.destination: f for f in instance_files()}
    assert by_destination[STATSD_AGENT_CONFIG].source == "cloudwatch/rudder-statsd-agent.json"
    assert by_destination[SERVER_STATS_ENV_FILE].source == "cloudwatch/rudder-server-stats.env"
    import gzip
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(bundle_bytes()))) as tar:
        names = set(tar.getnames())
    assert STATSD_AGENT_CONFIG.lstrip("/") in names and SERVER_STATS_ENV_FILE.lstrip("/") in names


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is what provision.sh uses on the instance")
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_provision_sets_the_environments_namespace(tmp_path: Path, env: str) -> None:
    """The jq program of ``start_metrics_agent`` in ``ami/provision.sh``, run on the shipped agent config."""
    provision = (REPO / "ami" / "provision.sh").read_text()
    assert "amazon-cloudwatch-agent" in provision.split("local packages=(", 1)[1].split(")", 1)[0]
    assert "amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s" in provision
    program = "'.metrics.namespace = $namespace'"
    assert program in provision
    namespace = instance_settings(load_environment(REPO / "environments" / f"{env}.yaml"))["RUDDER_METRICS_NAMESPACE"]
    assert namespace == server_metrics.namespace(env)
    done = subprocess.run(
        ["jq", "--arg", "namespace", namespace, program.strip("'"), str(server_metrics.AGENT_CONFIG_SOURCE)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout)["metrics"]["namespace"] == f"RudderHA/{env}/rudder-server"


def test_search_expressions_name_the_metric_exactly() -> None:
    search = server_metrics.ROUTER_FAILED.search("prod")
    assert search == (
        'SEARCH(\'"RudderHA/prod/rudder-server" MetricName="router_response_counts" '
        "NOT respStatusCode=\"200\"', 'Sum', 60)"
    )
    assert server_metrics.GATEWAY_REQUESTS.search("dev", "Average", 300).endswith("'Average', 300)")
