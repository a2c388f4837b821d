"""Prints figures for the Pulumi front end: how long the program takes to declare each environment
(in a fresh process, under Pulumi's in-process mocks: no engine, no plugin), and how much the parity
comparison with the cdktf stack covers.

    .venv/bin/python benchmarks/pulumi_benchmark.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PROGRAM_RUN = """
import sys, time
started = time.perf_counter()
from rudder_ha.config import load_environments, shipped_environment_files
from rudder_ha.topologies.single_node.pulumi import build
from tests.support.pulumi_mocks import run_program
imported = time.perf_counter()
config = {c.environment: c for c in load_environments(shipped_environment_files())}[sys.argv[1]]
mocks = run_program(lambda: build(config), stack=config.environment, region=config.region)
done = time.perf_counter()
print(imported - started, done - imported, sum(r.type.startswith("aws:") for r in mocks.resources))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs

    from rudder_ha.config import load_environments, shipped_environment_files

    environments = [c for c in load_environments(shipped_environment_files()) if c.topology == "single_node"]
    for config in environments:
        samples = []
        for _ in range(runs):
            out = subprocess.run(
                [sys.executable, "-c", PROGRAM_RUN, config.environment],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            samples.append((float(out[0]), float(out[1]), int(out[2])))
        imports = statistics.median(s[0] for s in samples)
        declare = statistics.median(s[1] for s in samples)
        print(
            f"pulumi {config.environment}: import {imports:.2f} s, declare {declare:.2f} s "
            f"(median of {runs}), {samples[0][2]} AWS resources"
        )

    from rudder_ha.topologies.single_node.pulumi import build
    from tests.support.parity import cdktf_resources, compare, leaves, pulumi_resources
    from tests.support.pulumi_mocks import run_program
    from tests.test_pulumi_parity import ASPECTS

    with tempfile.TemporaryDirectory() as outdir:
        started = time.perf_counter()
        names = [c.environment for c in environments]
        subprocess.run(
            [sys.executable, "-m", "rudder_ha", "synth", *names, "--outdir", outdir],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        print(f"cdktf synth of {', '.join(names)} for comparison: {time.perf_counter() - started:.1f} s")
        for config in environments:
            stack = json.loads((Path(outdir) / "stacks" / config.name_prefix / "cdk.tf.json").read_text())
            cdktf = cdktf_resources(stack, config.region)
            mocks = run_program(lambda config=config: build(config), stack=config.environment, region=config.region)
            pulumi = pulumi_resources(mocks, config.region)
            settings = sum(len(leaves(r.props)) for r in cdktf)
            differences = sum(len(compare(aspect, cdktf, pulumi)) for aspect in ASPECTS)
            print(
                f"parity {config.environment}: {len(cdktf)} cdktf / {len(pulumi)} Pulumi resources, "
                f"{settings} settings compared, {differences} differences"
            )


if __name__ == "__main__":
    main()
