"""Prints the synth/import ratio: a full synthesis against a bare import of the AWS provider, paired.

    .venv/bin/python benchmarks/synth_benchmark.py [--pairs N]

Each pair runs, in fresh processes (jsii's cost is per process) and one right after the other, a bare
import of the AWS provider bindings (``import cdktf, cdktf_cdktf_provider_aws.provider, ...lb``, as any
program using them pays it) and ``python -m rudder_ha synth`` of every shipped environment. The ratio
of each pair is synth / import; the median over pairs is printed beside the goal (<= 1.2).

Synthesis loads the provider bindings one resource module at a time
(``rudder_ha.frontends.cdktf.lazy_providers``), and the jsii kernel loads their JavaScript the same way
(``rudder_ha.frontends.cdktf.lazy_kernel_exports``), so it can take less than the bare import; the lazy
import alone is printed too, as the floor synthesis now stands on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
GOAL = 1.2
BARE_IMPORT = "import cdktf, cdktf_cdktf_provider_aws.provider, cdktf_cdktf_provider_aws.lb"
LAZY_IMPORT = (
    "from rudder_ha.frontends.cdktf import lazy_providers; lazy_providers.install(); "
    "import cdktf, cdktf_cdktf_provider_aws.provider, cdktf_cdktf_provider_aws.lb"
)


def timed(cmd: list[str]) -> float:
    """Wall seconds of one command (it must succeed)."""
    started = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, env=ENV, check=True, capture_output=True)
    return time.perf_counter() - started


def spread(samples: list[float]) -> str:
    """Median, min and max of samples, in seconds."""
    return f"median {statistics.median(samples):.1f} s (min {min(samples):.1f}, max {max(samples):.1f})"


def main() -> None:
    """Runs the pairs and prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3, help="import/synth pairs (default 3)")
    pairs = parser.parse_args().pairs
    python = sys.executable
    imports: list[float] = []
    synths: list[float] = []
    lazy: list[float] = []
    for _ in range(pairs):
        imports.append(timed([python, "-c", BARE_IMPORT]))
        with tempfile.TemporaryDirectory() as out:
            synths.append(timed([python, "-m", "rudder_ha", "synth", "--outdir", out]))
        lazy.append(timed([python, "-c", LAZY_IMPORT]))
    environments = len(list((REPO / "environments").glob("*.yaml")))
    ratios = [s / i for s, i in zip(synths, imports, strict=True)]
    print(f"bare import of the AWS provider: {spread(imports)}")
    print(f"synth of all {environments} environments (whole process): {spread(synths)}")
    print(f"lazy import of the AWS provider (synth's floor): {spread(lazy)}")
    ratio = statistics.median(ratios)
    verdict = "met" if ratio <= GOAL else "NOT met"
    pairs_text = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"synth/import ratio: {ratio:.2f} (pairs: {pairs_text}; goal <= {GOAL}: {verdict})")


if __name__ == "__main__":
    main()
