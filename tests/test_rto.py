"""``python -m rudder_ha rto``: the worst-case failover timeline, against the guide's two minutes."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from rudder_ha.config import EnvironmentConfig, load_environment
from rudder_ha.config.model import FailoverSettings
from rudder_ha.topologies.single_node.rto import (
    FAILOVER_GOAL_SECONDS,
    GUIDE_DOWNTIME_SECONDS,
    Timeline,
    render,
    timeline,
)
from tests.support.paths import REPO


@pytest.fixture(scope="module")
def prod() -> EnvironmentConfig:
    return load_environment(REPO / "environments" / "prod.yaml")


def with_failover(config: EnvironmentConfig, mode: str, ttl: int) -> EnvironmentConfig:
    failover = FailoverSettings(mode=mode, lease_ttl_seconds=ttl)  # type: ignore[arg-type]
    return dataclasses.replace(config, autoscaling=dataclasses.replace(config.autoscaling, failover=failover))


@pytest.fixture(scope="module")
def replacing(prod: EnvironmentConfig) -> EnvironmentConfig:
    """The shipped prod with the group of one it had before its hot standby (replace, 30 s lease)."""
    return with_failover(prod, "replace", 30)


def test_shipped_prod_fails_over_within_the_45_second_goal(prod: EnvironmentConfig) -> None:
    assert prod.autoscaling.failover.hot_standby
    line = timeline(prod)
    assert line.total_seconds <= FAILOVER_GOAL_SECONDS == 45
    assert line.total_seconds < GUIDE_DOWNTIME_SECONDS
    assert "within the 45 s failover goal" in render(line)


def test_a_group_of_one_takes_82_seconds(replacing: EnvironmentConfig) -> None:
    steps = {s.name: s.seconds for s in timeline(replacing).steps}
    assert timeline(replacing).total_seconds == 82
    assert steps["detection"] == 14 and steps["start from the warm pool (Stopped)"] == 25
    assert "over the 45 s failover goal" in render(timeline(replacing))


def test_hot_standby_skips_detection_replacement_and_boot(prod: EnvironmentConfig) -> None:
    steps = {s.name: s for s in timeline(prod).steps}
    assert list(steps) == [
        "the holder's lease runs out",
        "the standby's next poll",
        "jobsdb fence handover",
        "backend pre-start",
        "application start",
        "healthy threshold",
    ]
    ttl = prod.autoscaling.failover.lease_ttl_seconds
    assert steps["the holder's lease runs out"].seconds == ttl and steps["the holder's lease runs out"].kind == "config"
    assert steps["the standby's next poll"].seconds == ttl / 6
    assert (
        steps["healthy threshold"].seconds == prod.health_check.interval_seconds * prod.health_check.healthy_threshold
    )
    assert all(s.kind != "estimate" or s.seconds <= 15 for s in steps.values())


def test_hot_standby_lease_sets_the_pace(prod: EnvironmentConfig) -> None:
    for ttl in (6, 10, 30, 120):
        line = timeline(with_failover(prod, "hot_standby", ttl))
        assert line.total_seconds == pytest.approx(ttl * 7 / 6 + 3 + 3 + 15 + 10)
    # A failed backend on a live holder is handed over within the lease: the silent holder is the worst case.
    source = timeline(prod).steps[0].source
    assert "3 failed /health checks 1.7 s apart" in source and "(6.7 s)" in source
    assert timeline(with_failover(prod, "hot_standby", 60)).total_seconds > FAILOVER_GOAL_SECONDS


def test_every_figure_has_a_source(prod: EnvironmentConfig) -> None:
    for config in (prod, with_failover(prod, "replace", 30), load_environment(REPO / "environments" / "dev.yaml")):
        for step in timeline(config).steps:
            assert step.kind in {"config", "documented", "estimate"}
            assert len(step.source) > 20, step
            assert step.seconds >= 0


def test_detection_and_healthy_threshold_follow_the_health_check(replacing: EnvironmentConfig) -> None:
    slower = dataclasses.replace(
        replacing, health_check=dataclasses.replace(replacing.health_check, interval_seconds=30, unhealthy_threshold=5)
    )
    steps = {s.name: s.seconds for s in timeline(slower).steps}
    assert steps["detection"] == 30 * 5 + replacing.health_check.timeout_seconds
    assert steps["healthy threshold"] == 30 * replacing.health_check.healthy_threshold
    assert timeline(slower).total_seconds > timeline(replacing).total_seconds


def test_without_warm_pool_or_baked_image_it_is_slower(replacing: EnvironmentConfig) -> None:
    no_pool = dataclasses.replace(
        replacing,
        autoscaling=dataclasses.replace(
            replacing.autoscaling, warm_pool=dataclasses.replace(replacing.autoscaling.warm_pool, enabled=False)
        ),
        image_pipeline=dataclasses.replace(replacing.image_pipeline, enabled=False),
        instance=dataclasses.replace(replacing.instance, ami="resolve:ssm:/aws/service/ami-amazon-linux-latest/x"),
    )
    names = [s.name for s in timeline(no_pool).steps]
    assert "cold launch and boot" in names
    assert timeline(no_pool).total_seconds > timeline(replacing).total_seconds + 100


def test_rds_adds_the_fence_wait_only_when_the_lease_can_still_be_live(replacing: EnvironmentConfig) -> None:
    fence = next(s for s in timeline(replacing).steps if s.name == "jobsdb fence")
    assert fence.seconds == 0, "by the time the replacement asks, a dead holder's lease has expired"
    longer = next(s for s in timeline(with_failover(replacing, "replace", 120)).steps if s.name == "jobsdb fence")
    assert longer.seconds == 120 - 57
    dev = load_environment(REPO / "environments" / "dev.yaml")
    assert all(s.name != "jobsdb fence" for s in timeline(dev).steps)


def test_cli_prints_each_environment_against_the_guide() -> None:
    for env in ("dev", "staging", "prod"):
        run = subprocess.run(
            [sys.executable, "-m", "rudder_ha", "rto", env], capture_output=True, text=True, cwd=REPO, check=False
        )
        assert run.returncode == 0, run.stderr
        assert f"Worst-case failover for {env} (the HA guide: 120 s)" in run.stdout
        assert "total " in run.stdout and "Knobs and what they trade:" in run.stdout
        assert "[config]" in run.stdout and "[estimate]" in run.stdout


def test_cli_refuses_an_unknown_environment() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "rudder_ha", "rto", "qa"], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert run.returncode == 1
    assert "no such environment" in run.stderr and "Traceback" not in run.stderr


def test_render_accumulates(prod: EnvironmentConfig) -> None:
    text = render(timeline(prod))
    assert f"total {timeline(prod).total_seconds:.0f} s: within" in text


BAR = "\u2588"
MARKER = "\u25b2"


def _chart(text: str, steps: int, bar: str = BAR) -> tuple[list[tuple[int, int]], str, list[str]]:
    """(first column, length) of each step's bar, the scale's axis line and the marker lines."""
    lines = text.splitlines()
    rows = lines[2 : 2 + steps]
    spans = []
    for row in rows:
        if bar in row:
            first = row.index(bar)
            spans.append((first, row.rindex(bar) + 1 - first))
        else:
            spans.append((row.index("\u258f" if bar == BAR else "|", row.index("[") + 10), 0))
    axis, markers = lines[2 + steps], lines[2 + steps + 2 : 2 + steps + 4]
    return spans, axis, markers


def test_chart_bars_are_proportional_and_start_where_the_previous_ended(prod: EnvironmentConfig) -> None:
    line = timeline(prod)
    for width in (72, 100, 140):
        spans, _, _ = _chart(render(line, width=width), len(line.steps))
        origin = spans[0][0]
        per_second = sum(length for _, length in spans) / line.total_seconds
        clock = 0.0
        for (first, length), step in zip(spans, line.steps, strict=True):
            assert abs(length - step.seconds * per_second) <= 1, (width, step)
            assert abs(first - origin - clock * per_second) <= 1, (width, step)
            clock += step.seconds
        ends = [first + length for first, length in spans if length]
        starts = [first for first, length in spans if length]
        assert starts[1:] == ends[:-1], "a waterfall: each bar starts in the column after the previous one ends"


def test_chart_rows_carry_name_seconds_cumulative_time_and_kind(prod: EnvironmentConfig) -> None:
    line = timeline(prod)
    rows = render(line, width=100).splitlines()[2 : 2 + len(line.steps)]
    clock = 0.0
    for row, step in zip(rows, line.steps, strict=True):
        clock += step.seconds
        assert row.lstrip().startswith(step.name[:30])
        assert f"+{step.seconds:5.1f} s" in row and f"={clock:5.0f} s" in row and f"[{step.kind}]" in row


def test_chart_marks_the_total_and_the_goal_on_the_scale(prod: EnvironmentConfig) -> None:
    line = timeline(prod)
    for width in (72, 100, 140):
        text = render(line, width=width)
        spans, axis, (total, goal) = _chart(text, len(line.steps))
        origin = spans[0][0]
        last_first, last_length = spans[-1]
        assert f"total {line.total_seconds:.0f} s" in total and "the HA guide 120 s" in goal
        assert total.index(MARKER) == last_first + last_length, "the total is where the last bar ends"
        per_second = (last_first + last_length - origin) / line.total_seconds
        # The total's column is rounded (half a column at most); scaled out to the goal, that error grows.
        slack = 1 + 0.5 * GUIDE_DOWNTIME_SECONDS / line.total_seconds
        assert abs(goal.index(MARKER) - origin - GUIDE_DOWNTIME_SECONDS * per_second) <= slack
        assert axis[goal.index(MARKER)] == "\u2534", "the goal sits on a tick of the scale"
        assert max(len(row) for row in text.splitlines()[: 2 + len(line.steps) + 4]) <= width


def test_ascii_chart_has_no_non_ascii(prod: EnvironmentConfig) -> None:
    dev = load_environment(REPO / "environments" / "dev.yaml")
    for config in (prod, dev):
        text = render(timeline(config), width=90, ascii_only=True)
        assert text.isascii()
        assert "#" in text and "^" in text
        spans, _, _ = _chart(text, len(timeline(config).steps), bar="#")
        assert spans[0][1] > 0


def test_json_round_trips_and_matches_the_timeline(prod: EnvironmentConfig) -> None:
    line = timeline(prod)
    data = json.loads(json.dumps(line.to_dict()))
    assert list(data) == ["environment", "goal_seconds", "total_seconds", "within_goal", "steps", "tradeoffs"]
    assert Timeline.from_dict(data) == line
    assert data["total_seconds"] == line.total_seconds and data["goal_seconds"] == GUIDE_DOWNTIME_SECONDS
    clock = 0.0
    for entry, step in zip(data["steps"], line.steps, strict=True):
        assert list(entry) == ["name", "seconds", "start", "end", "source_kind", "explanation"]
        assert (entry["name"], entry["seconds"], entry["source_kind"], entry["explanation"]) == (
            step.name,
            step.seconds,
            step.kind,
            step.source,
        )
        assert entry["start"] == clock and entry["end"] == clock + step.seconds
        clock += step.seconds


def test_cli_json_is_the_only_thing_on_stdout() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "rudder_ha", "rto", "prod", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data == timeline(load_environment(REPO / "environments" / "prod.yaml")).to_dict()


def test_cli_draws_ascii_when_stdout_cannot_encode_blocks_or_when_asked() -> None:
    for extra, encoding in (([], "ascii"), (["--ascii"], "utf-8")):
        run = subprocess.run(
            [sys.executable, "-m", "rudder_ha", "rto", "prod", *extra],
            capture_output=True,
            cwd=REPO,
            check=False,
            env={**os.environ, "PYTHONIOENCODING": encoding},
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.isascii() and b"#" in run.stdout and b"Knobs and what they trade:" in run.stdout
    run = subprocess.run(
        [sys.executable, "-m", "rudder_ha", "rto", "prod"],
        capture_output=True,
        cwd=REPO,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert BAR.encode() in run.stdout


@pytest.mark.parametrize(("environment", "message"), [("qa", "no such environment"), ("prod-eks", "no failover model")])
def test_cli_json_still_refuses_unknown_and_unmodelled_environments(environment: str, message: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "rudder_ha", "rto", environment, "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert run.returncode == 1
    assert message in run.stderr and "Traceback" not in run.stderr and run.stdout == ""
