"""``python -m rudder_ha drill``: the guards (confirmation, prod), the run, and what is printed."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from rudder_ha import charts
from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.drill.clock import Clock, SystemClock
from rudder_ha.drill.deployment import DrillRefused
from rudder_ha.drill.probe import HttpProbe, Probe
from rudder_ha.drill.run import DrillOptions, run_drill
from rudder_ha.drill.timeline import render, to_dict


def refusal(config: EnvironmentConfig, args: argparse.Namespace, ask: Callable[[str], str] | None) -> str | None:
    """Why the drill must not start (None: go ahead). ``ask`` prompts on a terminal (None: no terminal)."""
    if config.is_prod and not args.i_mean_prod:
        return (
            f"drill: {config.environment} is a prod environment; a drill takes it down for real. "
            "Pass --i-mean-prod as well to go ahead"
        )
    if args.yes:
        return None
    if ask is None:
        return "drill: refused: it disrupts a live environment; pass --yes (no terminal to ask on)"
    answer = ask(
        f"This {args.scenario} drill disrupts {config.environment} ({config.tier}) in {config.region}. "
        f"Type the environment name to go ahead: "
    )
    if answer.strip() != config.environment:
        return "drill: not confirmed; nothing was done"
    return None


def region_clients(region: str) -> Callable[[str], Any]:
    """boto3 clients in ``region`` with standard retries (throttling is retried before the drill sees it)."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = session.client(service, region_name=region, config=config)  # type: ignore[call-overload]
        return cache[service]

    return client


def _terminal_ask(stream: TextIO) -> Callable[[str], str] | None:
    return input if stream.isatty() else None


def drill_command(
    config: EnvironmentConfig,
    args: argparse.Namespace,
    *,
    clients: Callable[[str], Any] | None = None,
    clock: Clock | None = None,
    probe: Probe | None = None,
    ask: Callable[[str], str] | None = None,
    out: TextIO | None = None,
) -> int:
    """Runs the drill the arguments describe; 0 when the environment recovered, 1 otherwise."""
    out = out or sys.stdout
    err = sys.stderr
    why = refusal(config, args, ask if ask is not None else _terminal_ask(sys.stdin))
    if why is not None:
        print(why, file=err)
        return 1
    options = DrillOptions(
        scenario=args.scenario,
        health_url=args.endpoint,
        timeout_seconds=args.timeout,
        fis_role_arn=args.fis_role_arn,
        fis_duration_minutes=args.fis_duration_minutes,
    )
    try:
        measured, model = run_drill(
            config,
            options,
            clients or region_clients(config.region),
            clock or SystemClock(),
            probe or HttpProbe(ca_file=args.ca_file),
        )
    except DrillRefused as exc:
        print(f"drill: {exc}", file=err)
        return 1
    except KeyboardInterrupt:
        print("drill: interrupted; check the environment (`rto` and the dashboard) before another drill", file=err)
        return 130
    except NoCredentialsError:
        print("drill: no AWS credentials found; set AWS_PROFILE (or run `aws sso login`) and rerun", file=err)
        return 1
    except ClientError as exc:
        error = exc.response.get("Error", {})
        print(f"drill: AWS answered {error.get('Code')}: {str(error.get('Message', ''))[:200]}", file=err)
        return 1
    except BotoCoreError as exc:
        print(f"drill: could not reach AWS ({exc})", file=err)
        return 1
    if args.json:
        print(json.dumps(to_dict(measured, model), indent=2), file=out)
    else:
        print(
            render(
                measured,
                model,
                width=charts.terminal_width(),
                ascii_only=args.ascii or not charts.can_draw_unicode(out),
            ),
            file=out,
        )
    return 0 if measured.outcome == "recovered" else 1
