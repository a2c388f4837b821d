"""Prints synthesis figures: the bare import of the AWS provider through jsii, and a full synth.

    .venv/bin/python benchmarks/synth_benchmark.py [--runs N]

Each figure is measured in a fresh process (jsii's cost is per process), N times; the median and
the range are printed.
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


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, env=ENV, check=True, capture_output=True)
    return time.perf_counter() - started


def report(label: str, samples: list[float]) -> None:
    spread = f"min {min(samples):.1f}, max {max(samples):.1f}, n={len(samples)}"
    print(f"{label}: median {statistics.median(samples):.1f} s ({spread})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    python = sys.executable
    baseline = [timed([python, "-c", "import cdktf"]) for _ in range(runs)]
    provider = [
        timed([python, "-c", "import cdktf, cdktf_cdktf_provider_aws.provider, cdktf_cdktf_provider_aws.lb"])
        for _ in range(runs)
    ]
    synth = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as out:
            synth.append(timed([python, "-m", "rudder_ha", "synth", "--outdir", out]))
    environments = len(list((REPO / "environments").glob("*.yaml")))
    report("import cdktf (jsii runtime start)", baseline)
    report("import cdktf + AWS provider", provider)
    report(f"synth of all {environments} environments (whole process)", synth)


if __name__ == "__main__":
    main()
