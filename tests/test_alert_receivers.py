"""Receiver payloads, HTTP status rules, retry/backoff arithmetic and the secret cache."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.http_receivers import LocalReceiver
from tests.support.lambda_loader import loaded_lambda

MODULES = {
    "model": "alert_router.model",
    "pagerduty": "alert_router.receivers.pagerduty",
    "victorops": "alert_router.receivers.victorops",
    "slack": "alert_router.receivers.slack",
    "base": "alert_router.receivers.base",
    "http": "alert_router.http_client",
    "retry": "alert_router.retry",
    "secrets": "alert_router.secret_store",
    "logs": "alert_router.logs",
}


@pytest.fixture(scope="module")
def ar() -> Iterator[SimpleNamespace]:
    """The alert Lambda's modules, imported the way the zip root would make them importable."""
    with loaded_lambda("alert", **MODULES) as loaded:
        yield loaded


def make_alert(ar: SimpleNamespace, **overrides: Any) -> Any:
    """A critical trigger with one console link."""
    fields: dict[str, Any] = {
        "dedup_key": "rudder-ha:test:alarm:arn:aws:cloudwatch:eu-west-1:1:alarm:a",
        "action": ar.model.Action.TRIGGER,
        "severity": ar.model.Severity.CRITICAL,
        "summary": "[test] a is in ALARM: <boom> & more",
        "source": "Environment=test",
        "origin": "cloudwatch",
        "environment": "test",
        "timestamp": datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC),
        "component": "RudderHA",
        "group": "rudder-ha-test",
        "event_class": "Up",
        "details": {"alarm_name": "a"},
        "links": (ar.model.Link("https://console.example/a", "CloudWatch alarm"),),
    }
    fields.update(overrides)
    return ar.model.Alert(**fields)


def test_pagerduty_trigger_body(ar: SimpleNamespace) -> None:
    body = ar.pagerduty.PagerDutyReceiver("https://pd.example/v2/enqueue", "R0UTINGKEY").build(make_alert(ar))
    assert body == {
        "routing_key": "R0UTINGKEY",
        "dedup_key": "rudder-ha:test:alarm:arn:aws:cloudwatch:eu-west-1:1:alarm:a",
        "event_action": "trigger",
        "client": "rudder-ha alert router",
        "client_url": "https://console.example/a",
        "links": [{"href": "https://console.example/a", "text": "CloudWatch alarm"}],
        "payload": {
            "summary": "[test] a is in ALARM: <boom> & more",
            "source": "Environment=test",
            "severity": "critical",
            "timestamp": "2024-05-01T10:00:00.123Z",
            "component": "RudderHA",
            "group": "rudder-ha-test",
            "class": "Up",
            "custom_details": {"alarm_name": "a", "environment": "test", "origin": "cloudwatch"},
        },
    }


def test_pagerduty_resolve_is_minimal_and_info_triggers_are_skipped(ar: SimpleNamespace) -> None:
    receiver = ar.pagerduty.PagerDutyReceiver("https://pd.example/v2/enqueue", "KEY123")
    resolve = receiver.build(make_alert(ar, action=ar.model.Action.RESOLVE))
    assert resolve == {
        "routing_key": "KEY123",
        "dedup_key": "rudder-ha:test:alarm:arn:aws:cloudwatch:eu-west-1:1:alarm:a",
        "event_action": "resolve",
    }
    assert receiver.build(make_alert(ar, severity=ar.model.Severity.INFO)) is None


def test_pagerduty_summary_is_capped_and_empty_optionals_omitted(ar: SimpleNamespace) -> None:
    receiver = ar.pagerduty.PagerDutyReceiver("https://pd.example/v2/enqueue", "KEY123")
    body = receiver.build(make_alert(ar, summary="s" * 5000, component="", event_class="", links=()))
    assert len(body["payload"]["summary"]) == 1024
    assert "component" not in body["payload"] and "class" not in body["payload"]
    assert "links" not in body and "client_url" not in body


@pytest.mark.parametrize(
    ("action", "severity", "message_type"),
    [
        ("TRIGGER", "CRITICAL", "CRITICAL"),
        ("TRIGGER", "WARNING", "WARNING"),
        ("TRIGGER", "INFO", "INFO"),
        ("RESOLVE", "CRITICAL", "RECOVERY"),
        ("RESOLVE", "INFO", "RECOVERY"),
    ],
)
def test_victorops_message_types(ar: SimpleNamespace, action: str, severity: str, message_type: str) -> None:
    alert = make_alert(ar, action=ar.model.Action[action], severity=ar.model.Severity[severity])
    assert ar.victorops.VictorOpsReceiver("https://vo.example/x").build(alert)["message_type"] == message_type


def test_victorops_body(ar: SimpleNamespace) -> None:
    body = ar.victorops.VictorOpsReceiver("https://vo.example/x").build(make_alert(ar))
    assert body == {
        "message_type": "CRITICAL",
        "entity_id": "rudder-ha:test:alarm:arn:aws:cloudwatch:eu-west-1:1:alarm:a",
        "entity_display_name": "[test] a is in ALARM: <boom> & more",
        "state_message": '[test] a is in ALARM: <boom> & more\n\n{\n  "alarm_name": "a"\n}',
        "state_start_time": 1714557600,
        "monitoring_tool": "rudder-ha alert router",
        "environment": "test",
        "severity": "critical",
        "origin": "cloudwatch",
        "source": "Environment=test",
        "vo_annotate.u.CloudWatch alarm": "https://console.example/a",
    }


def test_slack_trigger_and_resolve(ar: SimpleNamespace) -> None:
    receiver = ar.slack.SlackReceiver("https://hooks.example/services/T/B/X")
    trigger = receiver.build(make_alert(ar))
    assert trigger["text"] == ":rotating_light: CRITICAL [test] a is in ALARM: &lt;boom&gt; &amp; more"
    assert trigger["attachments"][0]["color"] == "#d00000"
    blocks = trigger["attachments"][0]["blocks"]
    assert blocks[0]["text"]["text"] == trigger["text"]
    assert "<https://console.example/a|CloudWatch alarm>" in [e["text"] for e in blocks[2]["elements"]]
    resolved = receiver.build(make_alert(ar, action=ar.model.Action.RESOLVE, summary="[test] a is OK"))
    assert resolved["text"] == ":white_check_mark: RESOLVED [test] a is OK"
    assert resolved["attachments"][0]["color"] == "#2eb886"
    assert blocks[1]["fields"][0]["text"] == "*Status*\nCRITICAL"
    assert resolved["attachments"][0]["blocks"][1]["fields"][0]["text"] == "*Status*\nRESOLVED"


@pytest.mark.parametrize(
    ("status", "ok", "retryable"),
    [
        (200, True, False),
        (202, True, False),
        (400, False, False),
        (403, False, False),
        (404, False, False),
        (408, False, True),
        (429, False, True),
        (500, False, True),
        (502, False, True),
        (503, False, True),
        (301, False, False),
    ],
)
def test_status_rules(ar: SimpleNamespace, status: int, ok: bool, retryable: bool) -> None:
    outcome = ar.base.classify_status(ar.http.HttpResponse(status))
    assert (outcome.ok, outcome.retryable) == (ok, retryable)


def test_retry_after_is_read_on_retryable_answers_only(ar: SimpleNamespace) -> None:
    assert ar.base.classify_status(ar.http.HttpResponse(429, "", {"retry-after": "7"})).retry_after == 7.0
    assert ar.base.classify_status(ar.http.HttpResponse(429, "", {"retry-after": "soon"})).retry_after is None
    assert ar.base.classify_status(ar.http.HttpResponse(400, "", {"retry-after": "7"})).retry_after is None


@pytest.mark.parametrize(
    "url", ["http://hooks.slack.com/x", "ftp://127.0.0.1/x", "file:///etc/passwd", "/relative", "https:///nohost"]
)
def test_only_https_or_loopback_http_urls_are_used(ar: SimpleNamespace, url: str) -> None:
    with pytest.raises(ar.http.InvalidUrlError):
        ar.http.check_url(url)


def test_loopback_http_is_allowed(ar: SimpleNamespace) -> None:
    """Only when a test says so (``allow_loopback``, set by the test-only switch)."""
    for url in ("http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]:1/x", "https://events.pagerduty.com/"):
        ar.http.check_url(url, allow_loopback=True)


ALLOWED_URLS = [
    ("pagerduty", "https://events.pagerduty.com/v2/enqueue"),
    ("pagerduty", "https://events.eu.pagerduty.com/v2/enqueue"),
    ("victorops", "https://alert.victorops.com/integrations/generic/20131114/alert/key/route"),
    ("slack", "https://hooks.slack.com/services/T0/B0/X0"),
    ("slack", "https://HOOKS.slack.com.:443/services/T0/B0/X0"),
]
REFUSED_URLS = [
    ("slack", "https://hooks.slack.com.attacker.example/services/T0/B0/X0", "not on this receiver's allowlist"),
    ("slack", "https://attacker.example/?next=https://hooks.slack.com/", "not on this receiver's allowlist"),
    ("victorops", "https://hooks.slack.com/services/T0/B0/X0", "not on this receiver's allowlist"),
    ("pagerduty", "https://alert.victorops.com/v2/enqueue", "not on this receiver's allowlist"),
    ("slack", "https://user:pass@hooks.slack.com/services/T0/B0/X0", "credentials"),
    ("pagerduty", "http://events.pagerduty.com/v2/enqueue", "must use https"),
    ("pagerduty", "https://events.pagerduty.com:8443/v2/enqueue", "port 443"),
    ("slack", "https://127.0.0.1/services/T0/B0/X0", "loopback"),
    ("slack", "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next", "loopback"),
    ("slack", "https://localhost/x", "loopback"),
    ("slack", "https://[::1]/x", "loopback"),
    ("slack", "https://[::ffff:127.0.0.1]/x", "loopback"),
    ("slack", "https://0.0.0.0/x", "loopback"),
    ("slack", "https://169.254.169.254/latest/meta-data/", "link-local"),
]


def receiver_hosts(ar: SimpleNamespace, name: str) -> frozenset[str]:
    return {"pagerduty": ar.pagerduty.PagerDutyReceiver, "victorops": ar.victorops.VictorOpsReceiver}.get(
        name, ar.slack.SlackReceiver
    ).allowed_hosts


@pytest.mark.parametrize(("receiver", "url"), ALLOWED_URLS)
def test_receiver_urls_on_the_allowlist_are_accepted(ar: SimpleNamespace, receiver: str, url: str) -> None:
    target = ar.http.check_url(url, receiver_hosts(ar, receiver))
    assert (target.scheme, target.port, target.loopback) == ("https", 443, False)


@pytest.mark.parametrize(("receiver", "url", "why"), REFUSED_URLS)
def test_anything_else_is_refused_without_the_test_switch(
    ar: SimpleNamespace, receiver: str, url: str, why: str
) -> None:
    """HTTPS to a host of this receiver's allowlist only: plain HTTP, loopback, other hosts are refused."""
    with pytest.raises(ar.http.InvalidUrlError, match=why):
        ar.http.check_url(url, receiver_hosts(ar, receiver))


def test_the_test_switch_opens_loopback_only(ar: SimpleNamespace) -> None:
    slack = ar.slack.SlackReceiver.allowed_hosts
    assert ar.http.check_url("http://127.0.0.1:8080/x", slack, allow_loopback=True).loopback
    for url, why in (("http://hooks.slack.com/x", "https"), ("https://attacker.example/x", "allowlist")):
        with pytest.raises(ar.http.InvalidUrlError, match=why):
            ar.http.check_url(url, slack, allow_loopback=True)


def test_refused_urls_send_nothing_not_even_a_lookup(ar: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused before any name lookup or connection; a name resolving to loopback is refused before connecting."""
    lookups: list[str] = []
    with LocalReceiver() as local:
        port = int(local.url.rsplit(":", 1)[1])

        def resolver(host: str, *args: Any, **kwargs: Any) -> list[Any]:
            lookups.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

        monkeypatch.setattr(socket, "getaddrinfo", resolver)
        slack = ar.slack.SlackReceiver.allowed_hosts
        for url in ("https://attacker.example/x", "http://hooks.slack.com/x", f"http://127.0.0.1:{port}/x"):
            with pytest.raises(ar.http.InvalidUrlError):
                ar.http.post_json(url, {"a": 1}, 1.0, allowed_hosts=slack)
        assert lookups == []
        with pytest.raises(ar.http.InvalidUrlError, match="resolves to a loopback"):
            ar.http.post_json("https://hooks.slack.com/services/x", {"a": 1}, 1.0, allowed_hosts=slack)
        assert lookups == ["hooks.slack.com"]
        assert local.requests == []


def test_answers_are_read_whole_chunked_or_after_interim_ones(ar: SimpleNamespace) -> None:
    """The status comes after any 1xx; chunked bodies are decoded; the body is capped."""
    answers = {
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n4\r\nslow\r\n5;x=y\r\n down\r\n0\r\n\r\n": (429, "slow down"),
        b"HTTP/1.0 202 Accepted\r\nContent-Length: 2\r\n\r\nokEXTRA": (202, "ok"),
        b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 10_000: (200, "x" * 4096),
    }
    for raw, (status, body) in answers.items():
        client, server = socket.socketpair()
        with client, server:
            server.sendall(raw)
            server.shutdown(socket.SHUT_WR)
            response = ar.http._read_response(client, ar.http._Clock(5.0, time.monotonic))
        assert (response.status, response.body) == (status, body)
    assert response.headers == {}
    client, server = socket.socketpair()
    with client, server:
        server.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")
        with pytest.raises(ar.http.TransportError, match="malformed"):
            ar.http._read_response(client, ar.http._Clock(5.0, time.monotonic))


def test_a_delivery_deadline_is_the_earlier_of_the_invocation_and_the_budget(ar: SimpleNamespace) -> None:
    clock = FakeClock()
    invocation = ar.retry.Deadline(30.0, clock)
    assert invocation.within(5.0).remaining() == 5.0
    assert invocation.within(60.0).remaining() == 30.0
    clock.now += 28
    assert invocation.within(5.0).remaining() == 2.0


@settings(deadline=None)
@given(attempt=st.integers(min_value=1, max_value=12), jitter=st.floats(min_value=0.0, max_value=1.0))
def test_backoff_is_exponential_with_bounded_jitter(ar: SimpleNamespace, attempt: int, jitter: float) -> None:
    policy = ar.retry.RetryPolicy(base_delay=0.5, max_delay=8.0)
    ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
    assert ceiling / 2 <= policy.backoff(attempt, lambda: jitter) <= ceiling


class FakeClock:
    """A monotonic clock that only moves when told to (or when the fake sleep is called)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_retries_stop_after_max_attempts(ar: SimpleNamespace) -> None:
    clock = FakeClock()
    timeouts: list[float] = []

    def attempt(timeout: float) -> Any:
        timeouts.append(timeout)
        return ar.retry.Outcome(ok=False, retryable=True, status=500, error="HTTP 500")

    outcome, attempts = ar.retry.run_with_retries(
        attempt, ar.retry.RetryPolicy(max_attempts=4), ar.retry.Deadline(60, clock), clock.sleep, lambda: 1.0
    )
    assert (outcome.status, attempts) == (500, 4)
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert timeouts == [5.0, 5.0, 5.0, 5.0]


def test_retries_respect_the_lambda_deadline(ar: SimpleNamespace) -> None:
    clock = FakeClock()
    timeouts: list[float] = []

    def attempt(timeout: float) -> Any:
        timeouts.append(timeout)
        clock.now += timeout  # the request times out
        return ar.retry.Outcome(ok=False, retryable=True, error="timeout")

    policy = ar.retry.RetryPolicy(max_attempts=10, request_timeout=5.0, safety_margin=1.0)
    _, attempts = ar.retry.run_with_retries(attempt, policy, ar.retry.Deadline(9.0, clock), clock.sleep, lambda: 0.0)
    assert attempts == 2
    assert timeouts == [5.0, pytest.approx(2.75)]
    assert clock.now <= 1000.0 + 9.0 - 1.0


def test_no_attempt_without_time_left(ar: SimpleNamespace) -> None:
    clock = FakeClock()
    outcome, attempts = ar.retry.run_with_retries(
        lambda _t: pytest.fail("must not be called"),
        ar.retry.RetryPolicy(),
        ar.retry.Deadline(0.5, clock),
        clock.sleep,
        lambda: 0.0,
    )
    assert attempts == 0 and not outcome.ok and "no time left" in outcome.error


def test_permanent_failures_and_successes_are_not_retried(ar: SimpleNamespace) -> None:
    clock = FakeClock()
    for result in (ar.retry.Outcome(ok=False, retryable=False, status=400), ar.retry.Outcome(ok=True, status=202)):
        _, attempts = ar.retry.run_with_retries(
            lambda _t, r=result: r, ar.retry.RetryPolicy(), ar.retry.Deadline(60, clock), clock.sleep, lambda: 0.0
        )
        assert attempts == 1
    assert clock.sleeps == []


def test_retry_after_extends_the_backoff(ar: SimpleNamespace) -> None:
    clock = FakeClock()
    replies = iter([ar.retry.Outcome(ok=False, retryable=True, status=429, retry_after=3.0), ar.retry.Outcome(ok=True)])
    outcome, attempts = ar.retry.run_with_retries(
        lambda _t: next(replies), ar.retry.RetryPolicy(), ar.retry.Deadline(60, clock), clock.sleep, lambda: 0.0
    )
    assert outcome.ok and attempts == 2
    assert clock.sleeps == [3.0]


class CountingSsm:
    """Stands in for the SSM client; counts calls and can fail on demand."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.calls: list[dict[str, Any]] = []
        self.fail = False

    def get_parameter(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.fail:
            raise ConnectionError("boom")
        return {"Parameter": {"Value": self.value}}


def test_secret_cache_expires_and_failures_are_not_cached(ar: SimpleNamespace) -> None:
    clock = FakeClock()
    ssm = CountingSsm("sekrit-value-1")
    store = ar.secrets.SecretStore(300.0, clock=clock, client_factory=lambda _service: ssm)
    assert store.get("/p") == "sekrit-value-1"
    clock.now += 299
    assert store.get("/p") == "sekrit-value-1"
    assert ssm.calls == [{"Name": "/p", "WithDecryption": True}]
    clock.now += 2
    ssm.fail = True
    with pytest.raises(ar.secrets.SecretUnavailableError, match="ConnectionError"):
        store.get("/p")
    ssm.fail = False
    ssm.value = "sekrit-value-2"
    assert store.get("/p") == "sekrit-value-2"
    assert len(ssm.calls) == 3
    assert ar.logs.scrub("x sekrit-value-2 y") == "x [REDACTED] y"
