"""The health probe Lambda against a local server emulating rudder-server's /health and the ALB.

No test depends on the machine's speed: the probe's timeout is a generous hang guard wherever the
server answers, and only the timeout test uses a short one, against a server that does not answer.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.support.http_receivers import LocalReceiver, Reply, unused_port
from tests.support.lambda_loader import loaded_lambda, run_from_zip, zip_lambda
from tests.support.tls import make_tls_material

HEALTHY = {
    "appType": "EMBEDDED",
    "server": "UP",
    "db": "UP",
    "acceptingEvents": "TRUE",
    "routingEvents": "TRUE",
    "mode": "NORMAL",
    "backendConfigMode": "API",
    "lastSync": "2024-05-01T10:00:00Z",
    "lastRegulationSync": "",
}
ALB_503 = (
    "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"
)
ALB_502 = ALB_503.replace("503 Service Temporarily Unavailable", "502 Bad Gateway")


@pytest.fixture(scope="module")
def probe() -> Iterator[SimpleNamespace]:
    """Load ``handler.py`` by file path with the Lambda directory as its import root."""
    with loaded_lambda(
        "probe", config="health_probe.config", metrics="health_probe.metrics", run="health_probe.probe"
    ) as loaded:
        yield loaded


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fake credentials, the probe's environment, and moto intercepting CloudWatch."""
    caplog.set_level(logging.INFO, logger="health_probe")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "ENVIRONMENT": "test",
        "PROBE_TIMEOUT_SECONDS": "60",  # a hang guard: an answering server is never timed out, however slow
        "PROBE_SAMPLES": "1",  # one probe per invocation here; the 10 s sampling grid has its own tests
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("METRIC_NAMESPACE", raising=False)
    monkeypatch.delenv("PROBE_CA_BUNDLE", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def rudder(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalReceiver]:
    """A local /health endpoint; HEALTH_URL points at it."""
    with LocalReceiver(Reply.json(200, HEALTHY)) as server:
        monkeypatch.setenv("HEALTH_URL", f"{server.url}/health")
        yield server


def published(namespace: str = "RudderHA", environment: str = "test") -> dict[str, float]:
    """Every metric in ``namespace``: name -> the single value published for the environment."""
    cloudwatch = boto3.client("cloudwatch")
    now = dt.datetime.now(dt.UTC)
    values: dict[str, float] = {}
    for metric in cloudwatch.list_metrics(Namespace=namespace)["Metrics"]:
        assert metric["Dimensions"] == [{"Name": "Environment", "Value": environment}]
        stats = cloudwatch.get_metric_statistics(
            Namespace=namespace,
            MetricName=metric["MetricName"],
            Dimensions=metric["Dimensions"],
            StartTime=now - dt.timedelta(minutes=10),
            EndTime=now + dt.timedelta(minutes=10),
            Period=3600,
            Statistics=["Maximum", "SampleCount"],
        )
        (point,) = stats["Datapoints"]
        assert point["SampleCount"] == 1.0
        values[metric["MetricName"]] = point["Maximum"]
    return values


def probe_logs(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The probe's structured log lines, decoded."""
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "health_probe"]


SCENARIOS: list[tuple[str, Reply, int, int, str]] = [
    ("healthy 200", Reply.json(200, HEALTHY), 1, 0, ""),
    ("routing stopped", Reply.json(200, {**HEALTHY, "routingEvents": "FALSE"}), 1, 1, "routingEvents is FALSE"),
    ("not accepting", Reply.json(200, {**HEALTHY, "acceptingEvents": "FALSE"}), 1, 1, "acceptingEvents is FALSE"),
    ("old server degraded mode", Reply.json(200, {**HEALTHY, "mode": "DEGRADED"}), 1, 1, "mode is DEGRADED"),
    ("db down in json", Reply.json(200, {**HEALTHY, "db": "DOWN"}), 1, 1, "db is 'DOWN'"),
    ("db field missing", Reply.json(200, {"server": "UP"}), 1, 1, "db is 'missing'"),
    ("lower-case values", Reply.json(200, {**HEALTHY, "db": "up", "routingEvents": "true"}), 1, 0, ""),
    (
        "rudder plain-text 503",
        Reply.text(503, "Database ping failed"),
        1,
        1,
        "rudder answered HTTP 503: Database ping failed",
    ),
    (
        "alb 503 no healthy target",
        Reply.text(503, ALB_503, "text/html", headers={"Server": "awselb/2.0"}),
        0,
        0,
        "load balancer answered HTTP 503",
    ),
    (
        "alb 502 bad gateway",
        Reply.text(502, ALB_502, "text/html", headers={"Server": "awselb/2.0"}),
        0,
        0,
        "load balancer answered HTTP 502",
    ),
    ("html 504 without server header", Reply.text(504, ALB_503, "text/html"), 0, 0, "load balancer answered HTTP 504"),
    (
        "alb fixed 200 response",
        Reply.text(200, "maintenance", headers={"Server": "awselb/2.0"}),
        0,
        0,
        "load balancer answered HTTP 200",
    ),
    ("invalid json", Reply.text(200, '{"db": "UP", ', "application/json"), 1, 1, "health body is not valid JSON"),
    ("json array", Reply.json(200, ["UP"]), 1, 1, "health body is not a JSON object"),
    ("binary garbage", Reply(200, b"\xff\xfe\x00garbage", {"Content-Type": "image/png"}), 1, 1, "not valid JSON"),
    ("html 200", Reply.text(200, "<html>hello</html>", "text/html"), 1, 1, "health body is not valid JSON"),
    ("not found", Reply.text(404, "404 page not found"), 0, 0, "unexpected HTTP 404"),
    ("plain 500", Reply.text(500, "internal error"), 0, 0, "unexpected HTTP 500"),
    ("redirect is not followed", Reply(301, b"", {"Location": "https://example.com/health"}), 0, 0, "HTTP 301"),
]


@pytest.mark.parametrize(
    ("reply", "up", "degraded", "reason"), [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS]
)
def test_answers_map_to_up_and_degraded(
    probe: SimpleNamespace,
    aws: None,
    rudder: LocalReceiver,
    caplog: pytest.LogCaptureFixture,
    reply: Reply,
    up: int,
    degraded: int,
    reason: str,
) -> None:
    rudder.set_default(reply)
    started = time.monotonic()
    result = probe.handler.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, None)
    elapsed_ms = (time.monotonic() - started) * 1000.0
    metrics = published()
    assert (metrics["Up"], metrics["Degraded"]) == (up, degraded)
    assert (result["up"], result["degraded"]) == (up, degraded)
    # In milliseconds and measured around the request alone: within the invocation's own duration.
    assert 0.0 < metrics["LatencyMs"] <= elapsed_ms
    (request,) = rudder.requests
    assert (request.method, request.path) == ("GET", "/health")
    assert request.headers["User-Agent"].startswith("rudder-ha-health-probe/")
    (line,) = [e for e in probe_logs(caplog) if e["event"] == "health_check"]
    assert line["HealthCheckFailed"] is bool(not up or degraded)
    assert line["status"] == reply.status
    assert (line["up"], line["degraded"]) == (up, degraded)
    if reason:
        assert any(reason in r for r in line["reasons"]), line["reasons"]
    else:
        assert line["reasons"] == []
        assert line["health"]["db"] in ("UP", "up")


def test_huge_bodies_are_read_only_up_to_the_cap(
    probe: SimpleNamespace, aws: None, rudder: LocalReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    huge = json.dumps({**HEALTHY, "padding": "x" * (4 * 1024 * 1024)}).encode()
    rudder.set_default(Reply(200, huge, {"Content-Type": "application/json"}))
    result = probe.handler.handler({}, None)
    assert (result["up"], result["degraded"]) == (1, 1)
    assert result["reasons"] == ["health body exceeds the size cap"]


def test_connection_refused_is_down_without_latency(
    probe: SimpleNamespace, aws: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HEALTH_URL", f"http://127.0.0.1:{unused_port()}/health")
    result = probe.handler.handler({}, None)
    assert published() == {"Up": 0.0, "Degraded": 0.0}
    assert result["reasons"] == ["no answer: connection_refused"]
    (line,) = probe_logs(caplog)
    assert line["HealthCheckFailed"] is True and line["level"] == "WARNING"
    assert line["url"].endswith("/health")


def test_timeout_is_down_and_bounded_by_the_probe_timeout(
    probe: SimpleNamespace, aws: None, rudder: LocalReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROBE_TIMEOUT_SECONDS", "0.3")
    rudder.set_default(Reply.hang(30.0))  # answers only when the test ends (or after the receiver's cap)
    fetched: list[tuple[float, float]] = []
    real_get = probe.run.get

    def timed_get(url: str, timeout: float, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        answer = real_get(url, timeout, *args, **kwargs)
        fetched.append((timeout, time.monotonic() - started))
        return answer

    monkeypatch.setattr(probe.run, "get", timed_get)
    result = probe.handler.handler({}, None)
    # One GET, bounded by the configured 0.3 s (not the 5 s default): it waited at least that long and
    # then gave up by itself, since the server was still holding its answer back (else: "late", HTTP 200).
    ((timeout, elapsed),) = fetched
    assert timeout == 0.3 and elapsed >= 0.3
    assert result["reasons"] == ["no answer: timeout"]
    assert len(rudder.requests) == 1
    assert published() == {"Up": 0.0, "Degraded": 0.0}


def test_namespace_and_environment_come_from_the_environment(
    probe: SimpleNamespace, aws: None, rudder: LocalReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRIC_NAMESPACE", "Custom/Rudder")
    monkeypatch.setenv("ENVIRONMENT", "prod")
    probe.handler.handler({}, None)
    assert set(published("Custom/Rudder", "prod")) == {"Up", "Degraded", "LatencyMs"}
    assert boto3.client("cloudwatch").list_metrics(Namespace="RudderHA")["Metrics"] == []


def test_metric_units(probe: SimpleNamespace) -> None:
    verdict = SimpleNamespace(up=True, degraded=False, latency_ms=12.3456)
    settings = probe.config.load_settings({"HEALTH_URL": "https://rudder.example/health", "ENVIRONMENT": "e"})
    when = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    data = probe.metrics.metric_data(verdict, settings, when)
    assert [(d["MetricName"], d["Value"], d["Unit"]) for d in data] == [
        ("Up", 1.0, "Count"),
        ("Degraded", 0.0, "Count"),
        ("LatencyMs", 12.346, "Milliseconds"),
    ]
    assert all(d["Dimensions"] == [{"Name": "Environment", "Value": "e"}] and d["Timestamp"] == when for d in data)
    assert settings.timeout_seconds == 5.0 and settings.namespace == "RudderHA" and settings.ca_bundle is None


class FailingCloudWatch:
    """A CloudWatch client whose PutMetricData is denied."""

    def put_metric_data(self, **_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutMetricData")


def test_publish_failures_are_logged_and_raised(
    probe: SimpleNamespace,
    aws: None,
    rudder: LocalReceiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(probe.handler.boto3, "client", lambda *_a, **_k: FailingCloudWatch())
    with pytest.raises(probe.metrics.MetricPublishError, match="ClientError"):
        probe.handler.handler({}, None)
    events = probe_logs(caplog)
    assert [e["event"] for e in events] == ["health_check", "metric_publish_failed"]
    assert events[1]["level"] == "ERROR" and events[1]["namespace"] == "RudderHA"


@pytest.mark.parametrize("url", ["", "rudder.example/health", "ftp://rudder.example/health", "http:///health"])
def test_missing_or_invalid_health_url_raises(
    probe: SimpleNamespace, aws: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, url: str
) -> None:
    monkeypatch.setenv("HEALTH_URL", url)
    with pytest.raises(probe.config.ProbeConfigError):
        probe.handler.handler({}, None)
    assert [e["event"] for e in probe_logs(caplog)] == ["probe_misconfigured"]
    assert boto3.client("cloudwatch").list_metrics(Namespace="RudderHA")["Metrics"] == []


def test_invalid_timeout_falls_back_to_default(probe: SimpleNamespace) -> None:
    for raw in ("abc", "-1", "0"):
        settings = probe.config.load_settings({"HEALTH_URL": "http://127.0.0.1/health", "PROBE_TIMEOUT_SECONDS": raw})
        assert settings.timeout_seconds == 5.0


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A private CA and a server certificate for 127.0.0.1 signed by it."""
    material = make_tls_material(tmp_path_factory.mktemp("tls"), server_name="127.0.0.1")
    return SimpleNamespace(ca=Path(material.ca_file), cert=Path(material.cert_file), key=Path(material.key_file))


@pytest.fixture
def https_rudder(tls_files: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalReceiver]:
    """/health over HTTPS with a certificate from the private CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files.cert, tls_files.key)
    with LocalReceiver(Reply.json(200, HEALTHY), tls=context) as server:
        monkeypatch.setenv("HEALTH_URL", f"{server.url}/health")
        yield server


def test_tls_is_verified_against_the_system_trust_store(
    probe: SimpleNamespace, aws: None, https_rudder: LocalReceiver
) -> None:
    result = probe.handler.handler({}, None)
    assert result["reasons"] == ["no answer: tls_error"]
    assert published() == {"Up": 0.0, "Degraded": 0.0}
    assert https_rudder.requests == []


def test_probe_ca_bundle_is_trusted(
    probe: SimpleNamespace,
    aws: None,
    https_rudder: LocalReceiver,
    tls_files: SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROBE_CA_BUNDLE", str(tls_files.ca))
    result = probe.handler.handler({}, None)
    assert (result["up"], result["degraded"], result["status"]) == (1, 0, 200)
    assert published()["Up"] == 1.0
    assert len(https_rudder.requests) == 1


def test_one_trust_store_per_bundle_file_as_it_is_now(
    probe: SimpleNamespace, tls_files: SimpleNamespace, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(tls_files.ca.read_bytes())
    settings = probe.config.load_settings({"HEALTH_URL": "https://127.0.0.1/health", "PROBE_CA_BUNDLE": str(bundle)})
    first = probe.run.tls_context(settings)
    assert probe.run.tls_context(settings) is first  # every sample of a warm function
    bundle.write_bytes(tls_files.ca.read_bytes() + b"\n")  # the bundle replaced in place
    assert probe.run.tls_context(settings) is not first
    system = probe.config.load_settings({"HEALTH_URL": "https://127.0.0.1/health"})
    assert probe.run.tls_context(system) is probe.run.tls_context(system)
    bundle.unlink()
    with pytest.raises(FileNotFoundError):
        probe.run.tls_context(settings)


def test_handler_imports_from_a_zip_with_handler_at_its_root(tmp_path: Path) -> None:
    archive = zip_lambda("probe", tmp_path / "probe.zip")
    done = run_from_zip(archive, "import handler; print(callable(handler.handler))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


# --- sampling every 10 s within one invocation -------------------------------------------------------


class FakeClock:
    """Monotonic time that only moves when the probe sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_one_invocation_probes_on_a_ten_second_grid(
    probe: SimpleNamespace, aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = probe.config.load_settings({"HEALTH_URL": "http://127.0.0.1:9/health", "ENVIRONMENT": "e"})
    assert (settings.samples, settings.sample_interval_seconds) == (6, 10.0)
    clock = FakeClock()
    probed_at: list[float] = []

    def fake_run(_settings: object, _cw: object) -> object:
        probed_at.append(clock.now)
        clock.now += 0.4  # each probe takes a little time
        return SimpleNamespace(failed=False)

    monkeypatch.setattr(probe.handler, "run_probe", fake_run)
    verdicts = probe.handler.run_samples(settings, None, lambda: 600.0, sleep=clock.sleep, monotonic=clock.monotonic)
    assert len(verdicts) == 6
    assert [round(t - probed_at[0], 6) for t in probed_at] == [0, 10, 20, 30, 40, 50]


def test_sampling_stops_before_the_invocation_runs_out(
    probe: SimpleNamespace, aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = probe.config.load_settings({"HEALTH_URL": "http://127.0.0.1:9/health", "PROBE_TIMEOUT_SECONDS": "5"})
    clock = FakeClock()
    deadline = clock.now + 27.0  # the Lambda has 27 s left
    monkeypatch.setattr(probe.handler, "run_probe", lambda *_: SimpleNamespace(failed=True))
    verdicts = probe.handler.run_samples(
        settings, None, lambda: deadline - clock.now, sleep=clock.sleep, monotonic=clock.monotonic
    )
    # samples at 0, 10 and 20 s fit (each needs the 5 s timeout plus a 2 s margin); 30 s would not
    assert len(verdicts) == 3


def test_samples_are_published_at_high_resolution(probe: SimpleNamespace, aws: None) -> None:
    settings = probe.config.load_settings({"HEALTH_URL": "http://127.0.0.1:9/health", "ENVIRONMENT": "e"})
    verdict = SimpleNamespace(up=True, degraded=False, latency_ms=12.5)
    data = probe.metrics.metric_data(verdict, settings, datetime.now(UTC))
    assert {d["MetricName"] for d in data} == {"Up", "Degraded", "LatencyMs"}
    assert all(d["StorageResolution"] == 1 for d in data), "10-second alarms need high-resolution points"
