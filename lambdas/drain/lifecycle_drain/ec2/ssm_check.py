"""The on-node jobsdb check, run through SSM Run Command, and the reading of its result.

``SendCommand`` runs the document ``DRAIN_CHECK_DOCUMENT`` (which runs ``rudder-drain-check``
and exits with its exit code) on the instance; later steps read ``GetCommandInvocation``.

Exit-code contract of the on-node script (``ResponseCode``):

* ``0``  drained. Counts only with a matching stdout report (``"status": "drained"``).
* ``75`` pending (SSM reports the invocation as ``Failed`` because the code is non-zero).
* ``69`` cannot tell (database down, tables unreadable, ...).
* anything else, or an invocation that is ``Cancelled`` / ``TimedOut`` / undeliverable /
  terminated, or a ``Success`` whose stdout does not say drained: cannot tell.

"Cannot tell" never counts as drained. Stdout is one JSON object
``{"status", "pending_jobs", "oldest_pending_age_seconds", "prefixes", "error", "checked_at"}``;
the last line that parses as a JSON object is used.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from ..aws import error_message, is_client_error

EXIT_DRAINED = 0
EXIT_PENDING = 75
EXIT_CANNOT_TELL = 69

RUNNING_STATUSES = frozenset({"Pending", "InProgress", "Delayed", "Cancelling"})
_COMMENT_MAX = 100


class Verdict(enum.StrEnum):
    """What a finished check says."""

    DRAINED = "drained"
    PENDING = "pending"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CheckResult:
    """Interpretation of one finished command invocation."""

    verdict: Verdict
    reason: str
    response_code: int | None = None
    ssm_status: str | None = None
    status_details: str | None = None
    pending_jobs: int | None = None
    oldest_pending_age_seconds: float | None = None
    prefixes: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    checked_at: str | None = None

    @classmethod
    def unknown(cls, reason: str, **fields: Any) -> CheckResult:
        """A "cannot tell" result."""
        return cls(Verdict.UNKNOWN, reason, **fields)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (persisted in the strategy state)."""
        return {
            "verdict": self.verdict.value,
            "reason": self.reason,
            "response_code": self.response_code,
            "ssm_status": self.ssm_status,
            "status_details": self.status_details,
            "pending_jobs": self.pending_jobs,
            "oldest_pending_age_seconds": self.oldest_pending_age_seconds,
            "prefixes": self.prefixes,
            "error": self.error,
            "checked_at": self.checked_at,
        }


class CheckUndeliverable(Exception):
    """SSM refused to send the command to the instance (not running / not managed)."""


def parse_report(stdout: str | None) -> dict[str, Any] | None:
    """The check's JSON report: the last stdout line that is a JSON object (None if none)."""
    if not stdout:
        return None
    for line in reversed(stdout.strip().splitlines()):
        text = line.strip()
        if not text.startswith("{"):
            continue
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _int_or_none(value: Any) -> int | None:
    """An integer count, or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _number_or_none(value: Any) -> float | None:
    """A number, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def interpret(
    *,
    ssm_status: str | None,
    response_code: int | None,
    stdout: str | None,
    status_details: str | None = None,
) -> CheckResult:
    """Classify a finished invocation according to the exit-code contract."""
    report = parse_report(stdout) or {}
    prefixes = report.get("prefixes")
    fields: dict[str, Any] = {
        "response_code": response_code,
        "ssm_status": ssm_status,
        "status_details": status_details,
        "pending_jobs": _int_or_none(report.get("pending_jobs")),
        "oldest_pending_age_seconds": _number_or_none(report.get("oldest_pending_age_seconds")),
        "prefixes": prefixes if isinstance(prefixes, dict) else {},
        "error": report.get("error") if isinstance(report.get("error"), str) else None,
        "checked_at": report.get("checked_at") if isinstance(report.get("checked_at"), str) else None,
    }
    if ssm_status not in ("Success", "Failed"):
        return CheckResult.unknown(f"command_{(ssm_status or 'unknown').lower()}", **fields)
    if response_code == EXIT_DRAINED:
        pending = fields["pending_jobs"]
        if report.get("status") == "drained" and (pending is None or pending == 0):
            return CheckResult(Verdict.DRAINED, "jobsdb_drained", **fields)
        return CheckResult.unknown("exit_0_without_drained_report", **fields)
    if response_code == EXIT_PENDING:
        return CheckResult(Verdict.PENDING, "jobs_pending", **fields)
    if response_code == EXIT_CANNOT_TELL:
        return CheckResult.unknown("check_cannot_tell", **fields)
    if ssm_status == "Failed" and (response_code is None or response_code < 0):
        return CheckResult.unknown("command_failed_to_run", **fields)
    return CheckResult.unknown(f"unexpected_exit_code_{response_code}", **fields)


class DrainCheck:
    """Sends the check document to an instance and reads its result."""

    def __init__(self, ssm: Any, document_name: str, timeout_seconds: int) -> None:
        """Use ``document_name`` with a delivery timeout of ``timeout_seconds`` (>= 30)."""
        self._ssm = ssm
        self._document = document_name
        self._timeout = max(30, int(timeout_seconds))

    @property
    def timeout_seconds(self) -> int:
        """The command's delivery timeout."""
        return self._timeout

    def send(self, instance_id: str, comment: str) -> str:
        """Send the check; return the command id. :class:`CheckUndeliverable` if SSM refuses."""
        try:
            response = self._ssm.send_command(
                DocumentName=self._document,
                InstanceIds=[instance_id],
                TimeoutSeconds=self._timeout,
                Comment=comment[:_COMMENT_MAX],
            )
        except Exception as exc:
            if is_client_error(exc, "InvalidInstanceId"):
                raise CheckUndeliverable(error_message(exc)) from exc
            raise
        return str(response["Command"]["CommandId"])

    def fetch(self, command_id: str, instance_id: str) -> CheckResult | None:
        """The result, or None while the command has not finished (or is not visible yet)."""
        try:
            response = self._ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        except Exception as exc:
            # Right after SendCommand the invocation may not exist yet.
            if is_client_error(exc, "InvocationDoesNotExist"):
                return None
            raise
        status = response.get("Status")
        if status in RUNNING_STATUSES:
            return None
        code = response.get("ResponseCode")
        return interpret(
            ssm_status=status,
            response_code=int(code) if isinstance(code, int) else None,
            stdout=response.get("StandardOutputContent"),
            status_details=response.get("StatusDetails"),
        )
