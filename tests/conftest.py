"""Shared fixtures. The cdktf synthesis runs once per test run, shared by the pytest-xdist workers
(:func:`tests.support.synth.shared_synthesis`), and every synth test reads the same JSON. The provider
bindings load lazily (:mod:`rudder_ha.frontends.cdktf.lazy_providers`) in every test process, moto
keeps only its built-in EC2 images (:mod:`tests.support.aws_emulation.moto_images`) and generates no
unused RSA pair per symmetric KMS key (:mod:`tests.support.aws_emulation.moto_kms_keys`) and lists a response
class's methods once (:mod:`tests.support.aws_emulation.moto_dispatch`), writes DynamoDB items without its
generic shape walk (:mod:`tests.support.aws_emulation.moto_dynamodb_items`) and works out a member's candidate
names once per kind of object (:mod:`tests.support.aws_emulation.moto_attribute_names`), botocore sessions
share their parsed service models, client classes, event-name aliases and cleaned user-agent components
(:mod:`tests.support.aws_emulation.botocore_models`, :mod:`tests.support.aws_emulation.botocore_client_classes`,
:mod:`tests.support.aws_emulation.botocore_event_names`, :mod:`tests.support.aws_emulation.botocore_user_agent`),
and jsii's bindings evaluate their argument types once (:mod:`tests.support.jsii_type_hints`)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    # Build outputs (Lambda zips, the instance bundle) are written under fixed names: one directory per
    # pytest-xdist worker, so two workers never write the same file at once. Set before rudder_ha.paths
    # reads it; subprocesses the tests start inherit it.
    _build = os.environ.get("RUDDER_HA_BUILD_DIR") or str(Path(__file__).resolve().parents[1] / ".build")
    os.environ["RUDDER_HA_BUILD_DIR"] = str(Path(_build) / f"xdist-{worker}")

from rudder_ha.config import EnvironmentConfig, load_environments, shipped_environment_files
from rudder_ha.frontends.cdktf import lazy_providers
from rudder_ha.paths import BUILD_DIR
from tests.support import bytecode_share, gc_tuning, worker_groups
from tests.support.aws_emulation.botocore_client_classes import share_client_classes
from tests.support.aws_emulation.botocore_event_names import share_alias_answers
from tests.support.aws_emulation.botocore_models import share_service_models
from tests.support.aws_emulation.botocore_user_agent import remember_sanitized_components
from tests.support.aws_emulation.moto_attribute_names import remember_candidate_names
from tests.support.aws_emulation.moto_dispatch import list_methods_once
from tests.support.aws_emulation.moto_dynamodb_items import write_items_directly
from tests.support.aws_emulation.moto_images import use_builtin_images_only
from tests.support.aws_emulation.moto_kms_keys import share_unused_key_pairs
from tests.support.jsii_type_hints import remember_stub_type_hints
from tests.support.synth import SynthOutput, shared_synthesis

lazy_providers.install()
use_builtin_images_only(BUILD_DIR)  # before any test module imports moto's EC2 models
share_service_models()
share_client_classes()
share_alias_answers()
share_unused_key_pairs()
list_methods_once()
write_items_directly()
remember_candidate_names()
remember_sanitized_components()
remember_stub_type_hints()


def pytest_configure(config: pytest.Config) -> None:
    """The controller of a ``--dist loadgroup`` run makes the directory the workers write groups to; a
    worker skips pytest's full collection at its end (:mod:`tests.support.gc_tuning`)."""
    worker_groups.configure(config)
    gc_tuning.no_sweep_at_worker_exit(config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """On a cold checkout each pytest-xdist worker compiles its share of the modules before collection
    (:mod:`tests.support.bytecode_share`)."""
    bytecode_share.compile_share(session.config)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests sharing a costly fixture go to one pytest-xdist worker (:mod:`tests.support.worker_groups`)."""
    worker_groups.assign_groups(items)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection loaded is frozen and the collector runs less often (:mod:`tests.support.gc_tuning`)."""
    gc_tuning.tune_for_tests()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Schedules by the groups the workers wrote (pytest-xdist's own reading of them predates pytest 9)."""
    return worker_groups.make_scheduler(config, log)


@pytest.fixture(scope="session")
def shipped_configs() -> list[EnvironmentConfig]:
    """Every environment file in environments/, loaded."""
    return load_environments(shipped_environment_files())


@pytest.fixture(scope="session")
def in_process_synthesis() -> ModuleType:
    """``rudder_ha.app``, for the tests that synthesize their own variants of an environment in this process.

    Loading jsii and the providers costs seconds of CPU per process: the tests that request this fixture
    run on one pytest-xdist worker (:data:`tests.support.worker_groups.SHARED_SESSION`), so at most that
    worker and the one producing the shared ``synth`` ever load them."""
    from rudder_ha import app

    return app


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory, shipped_configs: list[EnvironmentConfig]) -> SynthOutput:
    """All shipped environments, synthesized once for the whole run (shared by the xdist workers)."""
    return shared_synthesis(tmp_path_factory, shipped_configs)


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
