"""Shared fixtures. The cdktf synthesis runs once per test session (jsii loads the AWS provider in
10-15 s per process) and every synth test reads the same JSON."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

from rudder_ha.config import EnvironmentConfig, load_environments, shipped_environment_files
from tests.support.synth import SynthOutput


@pytest.fixture(scope="session")
def shipped_configs() -> list[EnvironmentConfig]:
    """Every environment file in environments/, loaded."""
    return load_environments(shipped_environment_files())


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory, shipped_configs: list[EnvironmentConfig]) -> SynthOutput:
    """Synthesizes all shipped environments once for the whole session."""
    from rudder_ha.app import synthesize

    outdir = tmp_path_factory.mktemp("cdktf.out")
    names = synthesize(shipped_configs, outdir)
    stacks = {
        name: json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text(encoding="utf-8")) for name in names
    }
    return SynthOutput(outdir=outdir, configs={c.environment: c for c in shipped_configs}, stacks=stacks)


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials so nothing can reach a real AWS account."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The AWS emulation (:class:`tests.support.aws_emulation.emulation.AwsEmulation`) inside moto,
    with fake credentials so nothing can reach a real account."""
    from moto import mock_aws

    from tests.support.aws_emulation.account import use_fake_credentials
    from tests.support.aws_emulation.emulation import AwsEmulation

    use_fake_credentials(monkeypatch)
    with mock_aws():
        yield AwsEmulation()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Captures the drain Lambda's JSON log lines (read them with ``aws_emulation.drain_log_events``)."""
    from tests.support.lambda_loader import DRAIN_LOGGER

    caplog.set_level(logging.INFO, logger=DRAIN_LOGGER)
    return caplog


os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def pulumi_runs(shipped_configs: list[EnvironmentConfig]) -> dict[str, Any]:
    """The Pulumi program run once per shipped single-node environment under in-process mocks.

    Maps environment -> :class:`tests.support.pulumi_mocks.RecordingMocks` (what was registered; its
    ``result`` holds the outputs the program exports).
    """
    from rudder_ha.topologies.single_node.pulumi import build
    from tests.support.pulumi_mocks import run_program

    runs = {}
    for config in shipped_configs:
        if config.topology == "single_node":
            runs[config.environment] = run_program(
                lambda config=config: build(config).outputs(), stack=config.environment, region=config.region
            )
    return runs
