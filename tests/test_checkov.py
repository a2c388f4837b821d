"""checkov over the synthesized Terraform JSON: no finding without a written reason."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.synth import SynthOutput

pytestmark = pytest.mark.synth
SKIPS_FILE = Path(__file__).with_name("checkov_skips.yaml")
CHECKOV = Path(__file__).resolve().parents[1] / "tools" / "checkov" / ".venv" / "bin" / "checkov"
"""checkov has its own locked virtualenv: its pins cannot share one resolution with pulumi and moto."""


@dataclass(frozen=True)
class Finding:
    check: str
    name: str
    environment: str
    resource: str

    def __str__(self) -> str:
        return f"{self.environment}: {self.check} {self.resource}: {self.name}"


@pytest.fixture(scope="module")
def skips() -> list[dict[str, Any]]:
    return yaml.safe_load(SKIPS_FILE.read_text())


@pytest.fixture(scope="module")
def findings(synth: SynthOutput) -> list[Finding]:
    checkov = CHECKOV
    assert checkov.is_file(), f"{checkov} is missing: `make test` installs it (tools/checkov/Pipfile)"
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "ERROR"}
    run = subprocess.run(
        [
            str(checkov),
            "-d",
            str(synth.outdir / "stacks"),
            "--framework",
            "terraform_json",
            "-o",
            "json",
            "--quiet",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert run.returncode in (0, 1), run.stderr[-2000:]
    reports = json.loads(run.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert reports and all(r["check_type"] == "terraform_json" for r in reports)
    assert sum(r["summary"]["passed"] for r in reports) > 100, "checkov ran almost no checks"
    assert all(r["summary"]["parsing_errors"] == 0 for r in reports)
    out = []
    for report in reports:
        for failed in report["results"]["failed_checks"]:
            stack = Path(failed["file_path"]).parent.name
            resource = failed["resource"].removeprefix("resource.")
            out.append(Finding(failed["check_id"], failed["check_name"], stack.removeprefix("rudder-ha-"), resource))
    return out


def _matches(skip: dict[str, Any], finding: Finding) -> bool:
    if skip["check"] != finding.check:
        return False
    if finding.environment not in skip.get("environments", [finding.environment]):
        return False
    # checkov names some resources "<type>.<name>" and others only by "<name>".
    return fnmatch.fnmatch(finding.resource, skip["resource"]) or fnmatch.fnmatch(
        finding.resource, skip["resource"].split(".", 1)[1]
    )


def test_every_skip_has_a_reason(skips: list[dict[str, Any]]) -> None:
    for skip in skips:
        assert set(skip) <= {"check", "resource", "environments", "reason"}, skip
        assert len(skip.get("reason", "").split()) >= 8, f"{skip['check']} needs a real reason"


def test_no_unexplained_findings(findings: list[Finding], skips: list[dict[str, Any]]) -> None:
    unexplained = [str(f) for f in findings if not any(_matches(s, f) for s in skips)]
    assert unexplained == [], "fix these or add them to tests/checkov_skips.yaml with a reason:\n" + "\n".join(
        unexplained
    )


def test_no_stale_skips(findings: list[Finding], skips: list[dict[str, Any]]) -> None:
    stale = [f"{s['check']} {s['resource']}" for s in skips if not any(_matches(s, f) for f in findings)]
    assert stale == [], f"these skips match nothing any more; remove them: {stale}"
