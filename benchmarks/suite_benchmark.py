"""Prints the test suite's wall time now against the baseline commit's, paired and interleaved.

    .venv/bin/python benchmarks/suite_benchmark.py [--pairs N] [--workers N] [--baseline COMMIT]

The baseline is the suite as it was at ``--baseline`` (default 81330aa, the main the performance issue
measured: 825 tests), exported with ``git archive`` into a temporary directory (git's state is not
touched) and run with this checkout's virtualenv and checkov (linked in), as ``make test`` ran it then
(plain ``pytest``). Today's checkov is newer than the one that commit pinned, so two of its checkov tests
fail there (a skip list written for the older checks); they run to the end all the same, and the
baseline's failures are printed apart. "Now" is this working tree's suite as ``make test`` runs it
(``pytest -n <workers> --dist loadgroup``, bytecode caches written), started cold each time: the
checkout's ``__pycache__`` directories are removed first, as on a fresh clone.
The runs alternate A, B, A, B...; each pair's ratio is now / baseline, and the median of the pairs is
printed beside the goal (<= 0.5), with the number of tests each side ran (none may be dropped). The
suite grows between the two commits; the share of the test time spent in the test files the baseline
already had is printed too, with the ratio it suggests for them alone (an estimate, from pytest's
JUnit report).

A full pair takes about ten minutes on two cores; the machine should be otherwise idle.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASELINE_COMMIT = "81330aa"
GOAL = 0.5
CLOUD_INIT_SCHEMA = REPO / ".build" / "cloud-init" / "schema-cloud-config-v1.json"
VENV = Path(".venv")
CHECKOV_VENV = Path("tools/checkov/.venv")
NOW_ARGS: tuple[str, ...] = ("--dist", "loadgroup")
"""What ``make test`` adds to ``-n <workers>`` now (tests sharing a costly fixture stay on one worker)."""
NOW_ENV = {"PYTHONDONTWRITEBYTECODE": ""}
"""What ``make test`` sets now: bytecode caches are written."""
OUTCOME = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)")


@dataclass(frozen=True)
class SuiteRun:
    """One run of a suite: its wall time and what pytest's summary line counted."""

    label: str
    seconds: float
    returncode: int
    counts: dict[str, int]

    @property
    def tests(self) -> int:
        """Tests that ran to an outcome (passed, failed, skipped, errors...)."""
        return sum(self.counts.values())

    def __str__(self) -> str:
        outcome = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counts.items()))
        return f"{self.label}: {self.seconds:.0f} s, exit {self.returncode} ({outcome})"


def export_baseline(commit: str, directory: Path) -> None:
    """The tree of ``commit`` written into ``directory``, with this checkout's virtualenvs linked in."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    (directory / CHECKOV_VENV).symlink_to(REPO / CHECKOV_VENV, target_is_directory=True)
    mirror_venv(REPO / VENV, directory / VENV)


def mirror_venv(source: Path, target: Path) -> None:
    """``target`` as a virtualenv that is ``source``: real ``.venv`` and ``.venv/bin`` directories (a test
    checks that the Pulumi project's virtualenv resolves to the checkout's own) whose entries link to
    ``source``'s; Python started from ``target/bin`` reads ``target/pyvenv.cfg`` and so uses it."""
    (target / "bin").mkdir(parents=True)
    for entry in source.iterdir():
        if entry.name != "bin":
            (target / entry.name).symlink_to(entry)
    for entry in (source / "bin").iterdir():
        (target / "bin" / entry.name).symlink_to(entry)


def remove_bytecode(checkout: Path) -> None:
    """Removes the checkout's own ``__pycache__`` directories (none inside a virtualenv): a cold start."""
    for directory, subdirectories, _ in os.walk(checkout):
        subdirectories[:] = [d for d in subdirectories if d != VENV.name and d != ".git"]
        if "__pycache__" in subdirectories:
            shutil.rmtree(Path(directory) / "__pycache__", ignore_errors=True)
            subdirectories.remove("__pycache__")


def run_suite(
    label: str, checkout: Path, extra_args: list[str], basetemp: Path, extra_env: dict[str, str] | None = None
) -> SuiteRun:
    """Runs the suite of ``checkout`` once, with that checkout's virtualenv, and times it."""
    env = {
        **os.environ,
        "RUDDER_HA_REQUIRE_POSTGRES": "1",
        "CLOUD_INIT_SCHEMA": str(CLOUD_INIT_SCHEMA),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        **(extra_env or {}),
    }
    command = [
        str(checkout / VENV / "bin" / "python"),
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--basetemp={basetemp}",
        *extra_args,
    ]
    started = time.perf_counter()
    run = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    counts = {kind.rstrip("s") if kind.startswith("error") else kind: int(n) for n, kind in OUTCOME.findall(summary)}
    result = SuiteRun(label, seconds, run.returncode, counts)
    print(result, flush=True)
    if run.returncode != 0:
        print(f"  {label} did not pass; its last lines:\n" + "\n".join(run.stdout.splitlines()[-15:]), flush=True)
    return result


def share_of_files(junit_xml: Path, files: set[str]) -> float:
    """The fraction of the summed test time (pytest's JUnit report) spent in tests of ``files``
    (module names such as ``test_drain_check``)."""
    spent = {True: 0.0, False: 0.0}
    for case in ElementTree.parse(junit_xml).iter("testcase"):
        module = (case.get("classname") or "").split(".")[1:2]
        spent[bool(module) and module[0] in files] += float(case.get("time") or 0)
    total = spent[True] + spent[False]
    return spent[True] / total if total else 1.0


def main() -> None:
    """Runs the pairs and prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2, help="baseline/now pairs (default 2)")
    parser.add_argument("--workers", type=int, default=3, help="pytest-xdist workers for the suite now (default 3)")
    parser.add_argument("--baseline", default=BASELINE_COMMIT, help=f"the commit to compare with ({BASELINE_COMMIT})")
    args = parser.parse_args()
    if not CLOUD_INIT_SCHEMA.is_file():
        sys.exit(f"{CLOUD_INIT_SCHEMA} is missing: run `make test` once (it downloads the cloud-init schema)")
    baseline: list[SuiteRun] = []
    now: list[SuiteRun] = []
    shares: list[float] = []
    with tempfile.TemporaryDirectory(prefix="rudder-ha-suite-benchmark-") as scratch:
        checkout = Path(scratch) / "baseline"
        export_baseline(args.baseline, checkout)
        for pair in range(args.pairs):
            baseline.append(run_suite(f"pair {pair + 1} baseline {args.baseline}", checkout, [], Path(scratch) / "a"))
            report = Path(scratch) / f"now-{pair}.xml"
            now_args = ["-n", str(args.workers), *NOW_ARGS, f"--junitxml={report}"]
            remove_bytecode(REPO)
            now.append(run_suite(f"pair {pair + 1} now", REPO, now_args, Path(scratch) / "b", NOW_ENV))
            shares.append(share_of_files(report, {f.stem for f in (checkout / "tests").glob("test_*.py")}))
    ratios = [b.seconds / a.seconds for a, b in zip(baseline, now, strict=True)]
    ratio = statistics.median(ratios)
    for label, runs in ((f"baseline {args.baseline}", baseline), (f"now (-n {args.workers})", now)):
        print(f"{label}: median {statistics.median([r.seconds for r in runs]):.0f} s, {runs[0].tests} tests")
    passed = all(r.returncode == 0 for r in now)
    baseline_failed = max(r.counts.get("failed", 0) + r.counts.get("error", 0) for r in baseline)
    dropped = "none dropped" if min(r.tests for r in now) >= max(r.tests for r in baseline) else "FEWER tests now"
    verdict = "met" if ratio <= GOAL and passed else "NOT met"
    pairs_text = ", ".join(f"{r:.2f}" for r in ratios)
    print(
        f"suite time now/baseline: {ratio:.2f} (pairs: {pairs_text}; {dropped}; every run now passed: {passed}; "
        f"baseline failures: {baseline_failed}; goal <= {GOAL}: {verdict})"
    )
    share = statistics.median(shares)
    print(
        f"of that, the test files the baseline already had: {share:.0%} of the test time; estimated "
        f"now/baseline for them alone: {ratio * share:.2f} (an estimate: the rest is tests added since)"
    )


if __name__ == "__main__":
    main()
