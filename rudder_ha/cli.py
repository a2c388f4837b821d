"""Command line: ``validate`` environment files, ``synth`` their stacks, ``deploy`` or ``diff`` one environment
with Terraform, print a failover timeline (``rto``) and where a Pulumi stack keeps its state
(``pulumi-backend``), check an AWS account before deploying (``doctor``) and measure a failover in a deployed
environment (``drill``).

Every command validates first and imports cdktf only once the configuration is known to be good,
so a bad file is refused in well under a second, with no traceback and nothing written.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rudder_ha.config import (
    ConfigError,
    EnvironmentConfig,
    Problem,
    load_environments,
    shipped_environment_files,
)
from rudder_ha.config.loader import ENVIRONMENTS_DIR, cross_file_problems

DEFAULT_OUTDIR = "cdktf.out"


def _validate(args: argparse.Namespace) -> int:
    """Each file on its own, then the files together (names and state keys must not be shared); one line
    per file that is OK, one per problem otherwise."""
    results: list[tuple[str, EnvironmentConfig | None, list[Problem]]] = []
    for name in dict.fromkeys(args.files):  # a file named twice is one file
        try:
            (config,) = load_environments([name])
        except ConfigError as exc:
            results.append((name, None, exc.problems))
        else:
            results.append((name, config, []))
    shared = cross_file_problems(config for _, config, _ in results if config is not None)
    ok = not shared
    for name, config, problems in results:
        mine = problems or [p for p in shared if config is not None and p.file == config.source]
        for problem in mine:
            print(problem)
        if config is not None and not mine:
            print(f"{name}: OK: {config.summary()}")
        ok = ok and not problems
    return 0 if ok else 1


def select_environments(names: Sequence[str], directory: Path = ENVIRONMENTS_DIR) -> list[EnvironmentConfig]:
    """Loads the named environments (all shipped ones when none is named); raises ConfigError."""
    files = shipped_environment_files(directory)
    if not names:
        return load_environments(files)
    by_stem = {f.stem: f for f in files}
    unknown = [n for n in names if n not in by_stem]
    if unknown:
        raise ConfigError(
            [
                Problem(str(directory / f"{n}.yaml"), "", f"no such environment; pick one of {', '.join(by_stem)}")
                for n in unknown
            ]
        )
    return load_environments([by_stem[n] for n in names])


def _synth(args: argparse.Namespace) -> int:
    names = [n for arg in args.environments for n in arg.split(",") if n]
    try:
        configs = select_environments(names, Path(args.environments_dir))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("synth: refused; nothing was written", file=sys.stderr)
        return 1
    started = time.perf_counter()
    from rudder_ha.app import synthesize  # deferred: loads jsii and the AWS provider

    outdir = Path(args.outdir)
    stacks = synthesize(configs, outdir)
    took = time.perf_counter() - started
    for stack in stacks:
        print(f"synthesized {stack} -> {outdir / 'stacks' / stack / 'cdk.tf.json'}")
    print(f"synth: {len(stacks)} stack(s) for {len(configs)} environment(s) in {took:.1f}s")
    return 0


def _one_environment(args: argparse.Namespace) -> EnvironmentConfig | None:
    """The environment named by ``args.environment``, or None once its problems are printed."""
    try:
        (config,) = select_environments([args.environment], Path(args.environments_dir))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None
    return config


def _rto(args: argparse.Namespace) -> int:
    config = _one_environment(args)
    if config is None:
        return 1
    from rudder_ha.topologies import registry

    topology = registry.named(config.topology)
    line = topology.failover_timeline(config)
    if line is None:
        modelled = ", ".join(t.name for t in registry.TOPOLOGIES.values() if t.failover_model)
        print(
            f"{config.source}: topology: no failover model for {topology.name} yet (rto models: {modelled}); "
            "see the README's EKS section for how pods and nodes are replaced",
            file=sys.stderr,
        )
        return 1
    if args.json:
        import json

        print(json.dumps(line.to_dict(), indent=2))
        return 0
    from rudder_ha import charts

    print(line.render(ascii_only=args.ascii or not charts.can_draw_unicode(sys.stdout)))
    return 0


def _pulumi_backend(args: argparse.Namespace) -> int:
    config = _one_environment(args)
    if config is None:
        return 1
    from rudder_ha.frontends.pulumi.backend import pulumi_backend

    print(pulumi_backend(config).shell())
    return 0


def _deploy(args: argparse.Namespace) -> int:
    config = _one_environment(args)
    if config is None:
        return 1
    from rudder_ha.deploy.command import deploy_environment

    return deploy_environment(config, args.command, Path(args.outdir))


def _doctor(args: argparse.Namespace) -> int:
    config = _one_environment(args)
    if config is None:
        return 1
    try:
        from rudder_ha.doctor import run_doctor
    except ModuleNotFoundError as exc:  # boto3 is an extra: requirements/aws.txt
        print(f"doctor: needs {exc.name}; run `make install-aws` (or pip install '.[aws]')", file=sys.stderr)
        return 1
    return run_doctor(config)


def _drill(args: argparse.Namespace) -> int:
    config = _one_environment(args)
    if config is None:
        return 1
    try:
        from rudder_ha.drill.command import drill_command
    except ModuleNotFoundError as exc:  # boto3 is an extra: requirements/aws.txt
        print(f"drill: needs {exc.name}; run `make install-aws` (or pip install '.[aws]')", file=sys.stderr)
        return 1
    return drill_command(config, args)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m rudder_ha`` argument parser."""
    parser = argparse.ArgumentParser(prog="rudder-ha", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="check environment files; one line per problem")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(run=_validate)
    synth = sub.add_parser("synth", help="synthesize the stacks of every environment, or of the named ones")
    synth.add_argument("environments", nargs="*", metavar="ENV", help="environment names (default: all)")
    synth.add_argument("--outdir", default=os.environ.get("CDKTF_OUTDIR", DEFAULT_OUTDIR))
    synth.add_argument("--environments-dir", default=str(ENVIRONMENTS_DIR), help="where the *.yaml files are")
    synth.set_defaults(run=_synth)
    rto = sub.add_parser("rto", help="print the worst-case failover timeline of an environment")
    rto.add_argument("environment", metavar="ENV")
    rto.add_argument("--environments-dir", default=str(ENVIRONMENTS_DIR), help="where the *.yaml files are")
    rto.add_argument("--json", action="store_true", help="print the timeline as JSON, for tools")
    rto.add_argument("--ascii", action="store_true", help="draw the chart with ASCII characters only")
    rto.set_defaults(run=_rto)
    backend = sub.add_parser("pulumi-backend", help="print the Pulumi state backend and secrets provider of ENV")
    backend.add_argument("environment", metavar="ENV")
    backend.add_argument("--environments-dir", default=str(ENVIRONMENTS_DIR), help="where the *.yaml files are")
    backend.set_defaults(run=_pulumi_backend)
    for action, text in (("deploy", "terraform init + apply"), ("diff", "terraform init + plan")):
        command = sub.add_parser(
            action, help=f"synthesize ENV, then {text} in each of its stacks in order (TF=tofu for OpenTofu)"
        )
        command.add_argument("environment", metavar="ENV")
        command.add_argument("--outdir", default=os.environ.get("CDKTF_OUTDIR", DEFAULT_OUTDIR))
        command.add_argument("--environments-dir", default=str(ENVIRONMENTS_DIR), help="where the *.yaml files are")
        command.set_defaults(run=_deploy)
    doctor = sub.add_parser("doctor", help="check the AWS account is ready for ENV; one line per check")
    doctor.add_argument("environment", metavar="ENV")
    doctor.add_argument("--environments-dir", default=str(ENVIRONMENTS_DIR), help="where the *.yaml files are")
    doctor.set_defaults(run=_doctor)
    from rudder_ha.drill.arguments import add_drill_parser  # light: argparse only

    add_drill_parser(sub, str(ENVIRONMENTS_DIR)).set_defaults(run=_drill)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:
        # The reader went away (``rto prod | head``): stop quietly, as other command-line tools do.
        sys.stderr.close()
        return 0


__all__ = ["main", "select_environments"]
