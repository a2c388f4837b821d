"""Print the drain check's verdict on every scenario of issue 13, for every supported release.

Usage (from the repository root)::

    .venv/bin/python -m tests.support.rudder_jobsdb.verdicts [--script PATH]

Starts a throwaway PostgreSQL server, builds each scenario of
:mod:`tests.support.rudder_jobsdb.scenarios` in a fresh database as each release leaves it, runs
the drain check (the repository's, or ``--script``) and prints a Markdown table: rudder-server's
verdict (the reference), the check's exit code and its message. Exits 1 when a verdict differs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from tests.support.postgres import PostgresServer, psql_client
from tests.support.rudder_jobsdb import reference as ref
from tests.support.rudder_jobsdb.drain_check import SCRIPT_ENV, run_drain_check
from tests.support.rudder_jobsdb.releases import SUPPORTED
from tests.support.rudder_jobsdb.scenarios import SCENARIOS, Expected

CODE_FOR_VERDICT = {"drained": 0, "pending": 75, "cannot tell": 69}


def expected_text(expected: Expected) -> str:
    """rudder-server's verdict as a table cell."""
    if expected.verdict == "pending":
        return f"pending ({expected.pending_jobs})"
    return expected.verdict


def main(argv: list[str] | None = None) -> int:
    """Build, check and print; 1 when the check disagrees with rudder-server anywhere."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", type=Path, help="drain check to run (default: ami/bin/rudder-drain-check)")
    args = parser.parse_args(argv)
    if args.script is not None:
        os.environ[SCRIPT_ENV] = str(args.script.resolve())
    disagreements = 0
    print("| release | scenario | rudder-server | exit | check's message |")
    print("|---|---|---|---|---|")
    with PostgresServer() as server, tempfile.TemporaryDirectory() as workdir:
        psql = psql_client(server.bindir)
        for release in SUPPORTED:
            for name, build in SCENARIOS.items():
                params = server.create_database()
                with params.connect() as conn:
                    expected = build(conn, release, params)
                    if expected.reference_applies and expected.verdict != "cannot tell":
                        truth = ref.reference_pending(conn)
                        assert truth.verdict == expected.verdict and truth.total == expected.pending_jobs, name
                run = run_drain_check(
                    params.jobs_db_env(), psql=psql, workdir=Path(workdir), extra_env=expected.extra_env
                )
                server.drop_database(params.dbname)
                agrees = run.code == CODE_FOR_VERDICT[expected.verdict] and (
                    expected.verdict != "pending" or run.data.get("pending_jobs") == expected.pending_jobs
                )
                disagreements += not agrees
                message = run.message.replace("|", "/")
                mark = "" if agrees else " **(wrong)**"
                print(f"| {release.label} | {name} | {expected_text(expected)} | {run.code}{mark} | {message} |")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
