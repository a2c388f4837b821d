"""checkov over everything rudder-ha deploys: no finding without a written reason, no reason without a finding.

Two scans, each with its own skips file:

- ``terraform_json``: the synthesized Terraform JSON of every stack (``tests/checkov_skips.yaml``);
- ``kubernetes``: the manifests the eks topology applies, ``render(workload_settings(config))`` of every
  shipped eks environment, written as YAML (``tests/checkov_skips_kubernetes.yaml``).

Each scan fails on a finding no skip explains and on a skip that matches no finding any more.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from rudder_ha.topologies.eks.k8s import render_yaml
from rudder_ha.topologies.eks.k8s.from_config import workload_settings
from tests.support.run_shared import once_per_run
from tests.support.synth import SynthOutput

pytestmark = pytest.mark.synth
TOOL_DIR = Path(__file__).resolve().parents[1] / "tools" / "checkov"
CHECKOV = TOOL_DIR / ".venv" / "bin" / "checkov"
"""checkov has its own locked virtualenv: its pins cannot share one resolution with pulumi and moto."""
FRAMEWORKS = ("terraform_json", "kubernetes")
SKIPS_FILES = {
    "terraform_json": Path(__file__).with_name("checkov_skips.yaml"),
    "kubernetes": Path(__file__).with_name("checkov_skips_kubernetes.yaml"),
}
MIN_PASSED = {"terraform_json": 500, "kubernetes": 100}
"""Fewer passed checks means checkov scanned (almost) nothing."""
ENV = {"BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "ERROR"}


@dataclass(frozen=True)
class Finding:
    check: str
    name: str
    environment: str
    """The stack without ``rudder-ha-`` (terraform_json), the eks environment (kubernetes)."""
    resource: str
    """``<terraform type>.<name>``, or checkov's ``<kind>.<namespace>.<name>`` for a manifest."""

    def __str__(self) -> str:
        return f"{self.environment}: {self.check} {self.resource}: {self.name}"


@dataclass(frozen=True)
class Scan:
    findings: list[Finding]
    reports: list[dict[str, Any]]


def pinned_version() -> str:
    """The checkov version tools/checkov/Pipfile pins."""
    match = re.search(r'^checkov\s*=\s*"==([^"]+)"', (TOOL_DIR / "Pipfile").read_text(), re.MULTILINE)
    assert match, "tools/checkov/Pipfile pins no exact checkov version"
    return match.group(1)


def start_checkov(directory: Path, framework: str) -> subprocess.Popen[str]:
    """checkov scanning ``directory``, started (JSON reports with passed checks on its stdout)."""
    assert CHECKOV.is_file(), f"{CHECKOV} is missing: `make test` installs it (tools/checkov/Pipfile)"
    return subprocess.Popen(
        [str(CHECKOV), "-d", str(directory), "--framework", framework, "-o", "json", "--compact", "--skip-download"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )


def checkov_reports(run: subprocess.Popen[str], framework: str) -> list[dict[str, Any]]:
    """The JSON reports of a checkov run started by :func:`start_checkov`, once it has finished."""
    try:
        stdout, stderr = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode in (0, 1), stderr[-2000:]
    reports = json.loads(stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert reports and all(r["check_type"] == framework for r in reports), [r.get("check_type") for r in reports]
    assert sum(r["summary"]["passed"] for r in reports) > MIN_PASSED[framework], "checkov ran almost no checks"
    assert all(r["summary"]["parsing_errors"] == 0 for r in reports)
    return reports


def _failed(reports: list[dict[str, Any]], environment_of: Any) -> list[Finding]:
    out = []
    for report in reports:
        for failed in report["results"]["failed_checks"]:
            resource = failed["resource"].removeprefix("resource.")
            out.append(Finding(failed["check_id"], failed["check_name"], environment_of(failed["file_path"]), resource))
    return out


def scan_all(synth: SynthOutput, directory: Path) -> None:
    """Runs both scans side by side and writes their reports to ``directory``/reports.json."""
    manifests_dir = directory / "k8s-manifests"
    manifests_dir.mkdir()
    for environment, config in synth.configs.items():
        if config.topology == "eks":
            (manifests_dir / f"{environment}.yaml").write_text(render_yaml(workload_settings(config)), encoding="utf-8")
    assert list(manifests_dir.glob("*.yaml")), "no shipped eks environment to render"
    runs = {"terraform_json": start_checkov(synth.outdir / "stacks", "terraform_json")}
    runs["kubernetes"] = start_checkov(manifests_dir, "kubernetes")
    reports = {framework: checkov_reports(run, framework) for framework, run in runs.items()}
    (directory / "reports.json").write_text(json.dumps(reports), encoding="utf-8")


@pytest.fixture(scope="session")
def scans(synth: SynthOutput, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scan]:
    """Both scans: every stack's Terraform JSON, every eks environment's manifests. checkov runs once
    per test run, its reports shared by the pytest-xdist workers."""
    shared = once_per_run(tmp_path_factory, "checkov", lambda directory: scan_all(synth, directory))
    reports = json.loads((shared / "reports.json").read_text(encoding="utf-8"))
    terraform, kubernetes = reports["terraform_json"], reports["kubernetes"]
    return {
        "terraform_json": Scan(
            _failed(terraform, lambda path: Path(path).parent.name.removeprefix("rudder-ha-")), terraform
        ),
        "kubernetes": Scan(_failed(kubernetes, lambda path: Path(path).stem), kubernetes),
    }


def load_skips(framework: str) -> list[dict[str, Any]]:
    return yaml.safe_load(SKIPS_FILES[framework].read_text(encoding="utf-8"))


def _matches(skip: dict[str, Any], finding: Finding) -> bool:
    if skip["check"] != finding.check:
        return False
    if finding.environment not in skip.get("environments", [finding.environment]):
        return False
    # checkov names some resources "<type>.<name>" and others only by "<name>".
    return fnmatch.fnmatch(finding.resource, skip["resource"]) or fnmatch.fnmatch(
        finding.resource, skip["resource"].split(".", 1)[1]
    )


def test_the_installed_checkov_is_the_pinned_one(scans: dict[str, Scan]) -> None:
    """A virtualenv left from an older lock would scan with other checks: `make test` syncs it. Every report
    names the version of the checkov that wrote it (no extra run of ``checkov --version``, seconds of CPU)."""
    versions = {report["summary"]["checkov_version"] for scan in scans.values() for report in scan.reports}
    assert versions == {pinned_version()}, f"{versions}: tools/checkov/.venv is stale: run `make test` (pipenv sync)"
    lock = json.loads((TOOL_DIR / "Pipfile.lock").read_text(encoding="utf-8"))
    assert lock["default"]["checkov"]["version"] == f"=={pinned_version()}", "Pipfile.lock is not Pipfile's lock"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_skip_has_a_reason(framework: str) -> None:
    skips = load_skips(framework)
    assert skips, f"{SKIPS_FILES[framework].name} is empty"
    for skip in skips:
        assert set(skip) <= {"check", "resource", "environments", "reason"}, skip
        assert {"check", "resource"} <= set(skip), skip
        assert len(skip.get("reason", "").split()) >= 8, f"{skip['check']} needs a real reason"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_no_unexplained_findings(framework: str, scans: dict[str, Scan]) -> None:
    skips = load_skips(framework)
    unexplained = [str(f) for f in scans[framework].findings if not any(_matches(s, f) for s in skips)]
    assert unexplained == [], (
        f"fix these or add them to tests/{SKIPS_FILES[framework].name} with a reason:\n" + "\n".join(unexplained)
    )


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_no_stale_skips(framework: str, scans: dict[str, Scan]) -> None:
    skips = load_skips(framework)
    stale = [
        f"{s['check']} {s['resource']}" for s in skips if not any(_matches(s, f) for f in scans[framework].findings)
    ]
    assert stale == [], (
        f"these skips in tests/{SKIPS_FILES[framework].name} match nothing any more; remove them: {stale}"
    )


def test_the_kubernetes_scan_covers_every_workload_and_policy(scans: dict[str, Scan]) -> None:
    """The manifests were scanned as Kubernetes objects, and both workloads' pods are governed by a
    NetworkPolicy (CKV2_K8S_6, a graph check, passed for each: it connects a policy to the pods it selects)."""
    reports = scans["kubernetes"].reports
    checked = [
        check for report in reports for key in ("passed_checks", "failed_checks") for check in report["results"][key]
    ]
    assert {"StatefulSet", "Deployment", "Service", "Ingress", "ConfigMap"} <= {
        c["resource"].split(".")[0] for c in checked
    }
    governed = {
        c["resource"].split(".")[2]
        for report in reports
        for c in report["results"]["passed_checks"]
        if c["check_id"] == "CKV2_K8S_6"
    }
    assert governed == {"rudder-backend", "rudder-transformer"}, governed
