"""Benchmark of the drain Lambda on the AWS emulation (virtual time).

Run from the repository root::

    python benchmarks/drain_benchmark.py [--trials 8] [--poll-interval 30] [--scripted]

It prints two figures:

1. AWS API calls per drain-hour, by operation and in total: one drain is kept pending for
   ``--hours`` hours and the calls of its steady state (after deregistration) are counted.
2. The delay from "nothing pending" (the moment the last job turns terminal) to
   ``CompleteLifecycleAction``, over ``--trials`` drains whose "nothing pending" moment falls at
   different points of the check cycle, with its analytical bound.

Checks run the real ``ami/bin/rudder-drain-check`` against a throwaway PostgreSQL when the
server binaries are available (``tests/support/postgres.py``), otherwise the emulation's
scripted results (same output format and exit codes), or always with ``--scripted``.

Bound of the delay. A check cycle is: send the check (step A); read its result
``d`` = ``check_result_delay_seconds`` later (step B); when pending, wait the poll interval ``P``
and send the next one. Each step waits for its SQS message, adding a latency ``lam`` (SQS
delivery + Lambda polling + the invocation itself). In the worst case the last job turns
terminal just after a check's query ran; the next check is sent at most ``d + P + 2*lam`` later
(minus the SSM delivery time ``s`` between the send and the query), its result is read
``d + lam`` after that and the action is completed in the same step::

    delay <= P + 2*d + 3*lam - s      (+ d more if the command takes longer than d to finish)

With the defaults (P = 30 s, d = 5 s) that is about 40 s plus three step latencies.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from moto import mock_aws  # noqa: E402

from tests.support import aws_emulation as ae  # noqa: E402

RESULT_DELAY_SECONDS = 5  # DrainConfig.check_result_delay_seconds (default)


@dataclass
class CheckBackend:
    """How checks are answered: a real database (with a job toggle) or scripted results."""

    name: str
    make_runner: Callable[[ae.AwsEmulation], ae.CheckRunner]
    set_pending: Callable[[bool], None]


@contextlib.contextmanager
def check_backend(scripted_only: bool) -> Iterator[CheckBackend]:
    """A throwaway PostgreSQL with one rudder-shaped jobsdb if possible, else scripted results."""
    pending = {"value": True}

    def scripted_runner(emu: ae.AwsEmulation) -> ae.CheckRunner:
        return ae.ScriptedCheckRunner(
            emu.clock, lambda _instance, _now: ("pending", 25) if pending["value"] else ("drained", 0)
        )

    def scripted_set(value: bool) -> None:
        pending["value"] = value

    server = None
    if not scripted_only:
        try:
            from tests.support import jobsdb as jobs
            from tests.support.postgres import PostgresServer, find_postgres_bindir

            if find_postgres_bindir() is not None:
                server = PostgresServer()
                server.start()
        except Exception as exc:  # no usable PostgreSQL here: fall back to scripted checks
            print(f"(PostgreSQL unavailable: {exc}; using scripted check results)")
            server = None
    if server is None:
        yield CheckBackend("scripted check results (emulation)", scripted_runner, scripted_set)
        return
    try:
        params = server.create_database("drain_benchmark")
        conn = params.connect()
        gw = jobs.create_dataset(conn, "gw", 1)
        rt = jobs.create_dataset(conn, "rt", 1)
        gw_jobs = jobs.insert_jobs(conn, gw, 20, age_seconds=60)
        rt_jobs = jobs.insert_jobs(conn, rt, 5)

        def db_set(value: bool) -> None:
            state = "failed" if value else "succeeded"
            jobs.add_statuses(conn, gw, [(job, state) for job in gw_jobs])
            jobs.add_statuses(conn, rt, [(job, "executing" if value else "aborted") for job in rt_jobs])

        db_set(True)
        yield CheckBackend(
            "rudder-drain-check + throwaway PostgreSQL",
            lambda emu: ae.ScriptCheckRunner(params.jobs_db_env()),
            db_set,
        )
        conn.close()
    finally:
        server.cleanup()


@contextlib.contextmanager
def emulation() -> Iterator[ae.AwsEmulation]:
    """A fresh AWS emulation with fake credentials."""
    saved = {key: os.environ.get(key) for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=ae.REGION)
    try:
        with mock_aws():
            yield ae.AwsEmulation()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def harness(emu: ae.AwsEmulation, args: argparse.Namespace) -> ae.DrainHarness:
    """One environment with the drain Lambda."""
    return ae.build_harness(
        emu,
        env={"POLL_INTERVAL_SECONDS": str(args.poll_interval), "DRAIN_DEADLINE_SECONDS": str(args.deadline)},
        heartbeat_timeout=args.heartbeat_timeout,
        deregistration_delay=args.deregistration_delay,
    )


def calls_per_hour(args: argparse.Namespace, backend: CheckBackend) -> tuple[Counter[str], float]:
    """API calls of a drain's steady state, scaled to one hour."""
    backend.set_pending(True)
    with emulation() as emu:
        h = harness(emu, args)
        emu.ssm.runner = backend.make_runner(emu)
        action = h.start()
        warmup = args.deregistration_delay + 2 * args.poll_interval
        h.driver.run(max_seconds=warmup)
        since = emu.clock.now()
        h.driver.run(max_seconds=args.hours * 3600)
        until = emu.clock.now()
        assert action.active and not action.timed_out, "the drain should still be waiting"
        counts = emu.calls.by_operation(since=since, until=until)
    hours = (until - since) / 3600
    return Counter({key: value / hours for key, value in counts.items()}), hours


def completion_delays(args: argparse.Namespace, backend: CheckBackend) -> list[float]:
    """Delay from "nothing pending" to CompleteLifecycleAction, per trial."""
    rng = random.Random(args.seed)
    cycle = args.poll_interval + RESULT_DELAY_SECONDS
    delays: list[float] = []
    for _ in range(args.trials):
        backend.set_pending(True)
        with emulation() as emu:
            h = harness(emu, args)
            emu.ssm.runner = backend.make_runner(emu)
            action = h.start()
            nothing_pending_at = emu.clock.now() + args.deregistration_delay + 3 * cycle + rng.uniform(0, cycle)
            emu.clock.call_at(nothing_pending_at, lambda: backend.set_pending(False), "all jobs terminal")
            record = h.run_until_finished(action.token, max_seconds=6 * 3600)
            assert record is not None and record.outcome.value == "CONTINUE", record
            [complete] = emu.calls.of("CompleteLifecycleAction", ok_only=True)
            delays.append(complete.at - nothing_pending_at)
    return delays


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8, help="drains for the delay figure (default 8)")
    parser.add_argument("--hours", type=float, default=1.0, help="steady-state hours for the call count (default 1)")
    parser.add_argument("--poll-interval", type=int, default=30, help="POLL_INTERVAL_SECONDS (default 30)")
    parser.add_argument("--heartbeat-timeout", type=int, default=900, help="hook HeartbeatTimeout (default 900)")
    parser.add_argument("--deregistration-delay", type=int, default=60, help="target group delay (default 60)")
    parser.add_argument("--deadline", type=int, default=86_400, help="DRAIN_DEADLINE_SECONDS (default: no alert)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the trial offsets")
    parser.add_argument("--scripted", action="store_true", help="use scripted check results, not PostgreSQL")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args(argv)
    logging.getLogger("rudder_ha.drain").setLevel(logging.WARNING)

    with check_backend(args.scripted) as backend:
        per_hour, hours = calls_per_hour(args, backend)
        delays = completion_delays(args, backend)

    invocation_latency = 0.2  # LambdaDriver.invocation_seconds: the emulated per-step latency
    ssm_delivery = 1.0  # RunCommandEmulation.delivery_latency
    bound = args.poll_interval + 2 * RESULT_DELAY_SECONDS + 3 * invocation_latency
    total = sum(per_hour.values())
    print(f"Drain benchmark - checks: {backend.name}")
    print(
        f"POLL_INTERVAL_SECONDS={args.poll_interval}, result delay d={RESULT_DELAY_SECONDS} s, "
        f"HeartbeatTimeout={args.heartbeat_timeout} s, deregistration delay={args.deregistration_delay} s"
    )
    print()
    print(f"1) AWS API calls per drain-hour (steady state, measured over {hours:.2f} h):")
    for key, value in sorted(per_hour.items(), key=lambda item: (-item[1], item[0])):
        print(f"   {key:<45} {value:8.1f}")
    print(f"   {'total':<45} {total:8.1f}")
    print()
    print(f'2) Delay from "nothing pending" to CompleteLifecycleAction ({len(delays)} trials, virtual seconds):')
    print(
        f"   min {min(delays):.1f}   median {statistics.median(delays):.1f}   "
        f"mean {statistics.fmean(delays):.1f}   max {max(delays):.1f}"
    )
    print(
        f"   bound: P + 2*d + 3*lam - s = {args.poll_interval} + 2*{RESULT_DELAY_SECONDS} + 3*{invocation_latency}"
        f" - {ssm_delivery} = {bound - ssm_delivery:.1f} s here (lam = per-step SQS/Lambda latency,"
    )
    print("   s = SSM delivery time); in AWS add about 1-2 s per step for SQS delivery and Lambda polling.")
    if args.json:
        print(
            json.dumps(
                {
                    "calls_per_drain_hour": dict(per_hour),
                    "calls_per_drain_hour_total": total,
                    "delay_seconds": delays,
                    "delay_bound_seconds": bound - ssm_delivery,
                    "checks": backend.name,
                }
            )
        )
    over = [delay for delay in delays if delay > bound - ssm_delivery + 1e-6]
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
