"""SSM Run Command on virtual time (moto records commands but runs nothing and reports success).

Reproduces ``SendCommand`` / ``GetCommandInvocation``: document and instance-state validation,
the invocation states ``Pending`` -> ``InProgress`` -> ``Success`` / ``Failed`` with the check's
exit code and (truncated) output, ``Delayed`` / ``DeliveryTimedOut`` for a stopped instance,
``Undeliverable`` / ``Terminated`` for a terminated one, and ``InvocationDoesNotExist`` right
after the send. The check itself is one of :mod:`~tests.support.aws_emulation.ssm_check_runners`.
A document registered as *waiting* runs ``ami/bin/rudder-drain-wait`` instead: the check again
every ``interval`` seconds until it says drained or ``max_seconds`` ran out (:class:`WaitingCheck`).
Every status change emits SSM's EventBridge events ("EC2 Command Invocation Status-change
Notification" and, for a final status, "EC2 Command Status-change Notification") on
:class:`~tests.support.aws_emulation.eventbridge_rules.EventBus`. Details in :class:`RunCommandEmulation`.
"""

from __future__ import annotations

import dataclasses
import importlib.machinery
import importlib.util
import uuid
from datetime import UTC, datetime
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tests.support.aws_emulation.account import ACCOUNT_ID
from tests.support.aws_emulation.api_calls import EmulatedError
from tests.support.aws_emulation.clock import iso
from tests.support.aws_emulation.ssm_check_runners import CheckExecution, CheckRunner
from tests.support.paths import REPO

if TYPE_CHECKING:
    from tests.support.aws_emulation.emulation import AwsEmulation

SSM_STDOUT_LIMIT = 24_000
SSM_STDERR_LIMIT = 8_000
FINAL_STATUSES = frozenset({"Success", "Failed", "TimedOut", "Cancelled"})
INVOCATION_EVENT = "EC2 Command Invocation Status-change Notification"
COMMAND_EVENT = "EC2 Command Status-change Notification"
DRAIN_WAIT_SCRIPT = REPO / "ami" / "bin" / "rudder-drain-wait"


@cache
def drain_wait_script() -> ModuleType:
    """``ami/bin/rudder-drain-wait`` loaded as a module: the emulation uses its own verdict rule."""
    loader = importlib.machinery.SourceFileLoader("rudder_drain_wait", str(DRAIN_WAIT_SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@dataclasses.dataclass(frozen=True)
class WaitingCheck:
    """A document that runs ``rudder-drain-wait --interval <interval> --max-seconds <max_seconds>``.

    ``check_seconds`` is the virtual time one ``rudder-drain-check`` run takes on the instance (a few
    catalog queries over a local socket); ``report_seconds`` the agent's delay in reporting the exit.
    """

    interval_seconds: float = 1.0
    max_seconds: float = 3300.0
    check_seconds: float = 0.3
    report_seconds: float = 0.3


@dataclasses.dataclass
class CommandInvocation:
    """One command on one instance."""

    command_id: str
    instance_id: str
    document_name: str
    comment: str
    requested_at: float
    delivery_timeout: int
    status: str = "Pending"
    status_details: str = "Pending"
    response_code: int = -1
    stdout: str = ""
    stderr: str = ""
    started_at: float | None = None
    ended_at: float | None = None
    #: Checks run by a waiting document (its last verdict and report stand for the command).
    checks_run: int = 0


class RunCommandEmulation:
    """SSM Run Command (moto records commands but runs nothing and reports success).

    Reproduces: ``SendCommand`` validates the document (``InvalidDocument``) and that the
    instance is running (``InvalidInstanceId``); an invocation is ``Pending`` until delivered
    (after ``delivery_latency``), then ``InProgress`` while the check runs (``execution_seconds``),
    then ``Success`` (exit 0) or ``Failed`` (any other exit code) with ``ResponseCode`` and
    ``StandardOutputContent`` (truncated to 24000 characters); a stopped instance leaves it
    ``Delayed`` until the delivery timeout (``TimedOut`` / ``DeliveryTimedOut``); a terminated
    instance makes it ``Failed`` / ``Undeliverable`` (before start) or ``Failed`` / ``Terminated``
    (while running). ``GetCommandInvocation`` answers ``InvocationDoesNotExist`` for unknown
    ids and for ``visibility_lag`` seconds after the send. The check itself runs at the virtual
    moment of delivery, so it sees the database as it is at that time.
    """

    def __init__(
        self,
        emu: AwsEmulation,
        runner: CheckRunner | None = None,
        *,
        delivery_latency: float = 1.0,
        execution_seconds: float = 2.0,
        visibility_lag: float = 0.0,
    ) -> None:
        """Attach to the emulation with a check runner (set later via :attr:`runner`)."""
        self._emu = emu
        self.runner = runner
        self.documents: set[str] = set()
        self.delivery_latency = delivery_latency
        self.execution_seconds = execution_seconds
        self.visibility_lag = visibility_lag
        self.invocations: dict[tuple[str, str], CommandInvocation] = {}
        self.forced: list[tuple[str, str, int]] = []
        #: Documents that wait on the instance (``rudder-drain-wait``) instead of answering at once.
        self.waiting_documents: dict[str, WaitingCheck] = {}

    def force_next(self, status: str, details: str, response_code: int = -1) -> None:
        """Make the next delivered command end with this status instead of running the check."""
        self.forced.append((status, details, response_code))

    def send_command(self, params: dict[str, Any]) -> dict[str, Any]:
        """SendCommand."""
        document = params["DocumentName"]
        if document not in self.documents:
            raise EmulatedError("InvalidDocument", f"Document {document} does not exist.")
        instance_ids = list(params.get("InstanceIds") or [])
        if not instance_ids:
            raise EmulatedError("InvalidParameters", "InstanceIds is required for this emulation")
        for instance_id in instance_ids:
            if self._emu.ec2_state(instance_id) != "running":
                raise EmulatedError(
                    "InvalidInstanceId", f"Instances [[{instance_id}]] not in a valid state for account {ACCOUNT_ID}"
                )
        command_id = str(uuid.uuid4())
        now = self._emu.clock.now()
        timeout = int(params.get("TimeoutSeconds") or 3600)
        for instance_id in instance_ids:
            invocation = CommandInvocation(
                command_id, instance_id, document, str(params.get("Comment", "")), now, timeout
            )
            self.invocations[(command_id, instance_id)] = invocation
            self._emu.clock.call_later(
                self.delivery_latency, lambda inv=invocation: self._deliver(inv), f"ssm deliver {command_id}"
            )
        return {
            "Command": {
                "CommandId": command_id,
                "DocumentName": document,
                "DocumentVersion": "$DEFAULT",
                "Comment": params.get("Comment", ""),
                "InstanceIds": instance_ids,
                "Status": "Pending",
                "StatusDetails": "Pending",
                "RequestedDateTime": datetime.fromtimestamp(now, tz=UTC),
                "TimeoutSeconds": timeout,
                "TargetCount": len(instance_ids),
            }
        }

    def get_command_invocation(self, params: dict[str, Any]) -> dict[str, Any]:
        """GetCommandInvocation."""
        key = (params["CommandId"], params["InstanceId"])
        invocation = self.invocations.get(key)
        if invocation is None or self._emu.clock.now() < invocation.requested_at + self.visibility_lag:
            raise EmulatedError("InvocationDoesNotExist", "An error occurred (InvocationDoesNotExist)")
        elapsed = 0.0
        if invocation.started_at is not None:
            elapsed = (invocation.ended_at or self._emu.clock.now()) - invocation.started_at
        return {
            "CommandId": invocation.command_id,
            "InstanceId": invocation.instance_id,
            "Comment": invocation.comment,
            "DocumentName": invocation.document_name,
            "DocumentVersion": "1",
            "PluginName": "runDrainCheck",
            "ResponseCode": invocation.response_code,
            "ExecutionStartDateTime": iso(invocation.started_at) if invocation.started_at else "",
            "ExecutionElapsedTime": f"PT{elapsed:.3f}S",
            "ExecutionEndDateTime": iso(invocation.ended_at) if invocation.ended_at else "",
            "Status": invocation.status,
            "StatusDetails": invocation.status_details,
            "StandardOutputContent": invocation.stdout[:SSM_STDOUT_LIMIT],
            "StandardOutputUrl": "",
            "StandardErrorContent": invocation.stderr[:SSM_STDERR_LIMIT],
            "StandardErrorUrl": "",
            "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
        }

    # -- internals --------------------------------------------------------------------

    def _deliver(self, invocation: CommandInvocation) -> None:
        """The agent picks the command up (or cannot)."""
        if invocation.status != "Pending" and invocation.status != "Delayed":
            return
        now = self._emu.clock.now()
        state = self._emu.ec2_state(invocation.instance_id)
        if state in (None, "terminated", "shutting-down"):
            self._finish(invocation, "Failed", "Undeliverable", -1)
            return
        if state != "running":
            if now >= invocation.requested_at + invocation.delivery_timeout:
                self._finish(invocation, "TimedOut", "DeliveryTimedOut", -1)
                return
            invocation.status = invocation.status_details = "Delayed"
            self._emu.clock.call_later(30.0, lambda: self._deliver(invocation), "ssm redeliver")
            return
        invocation.status = "InProgress"
        invocation.status_details = "InProgress"
        invocation.started_at = now
        self._emit(invocation)
        if self.forced:
            status, details, code = self.forced.pop(0)
            self._emu.clock.call_later(
                self.execution_seconds, lambda: self._finish(invocation, status, details, code), "ssm forced"
            )
            return
        if self.runner is None:
            raise RuntimeError("RunCommandEmulation has no check runner")
        waiting = self.waiting_documents.get(invocation.document_name)
        if waiting is not None:
            self._wait_tick(invocation, waiting)
            return
        execution = self.runner(invocation.instance_id)
        invocation.stdout = execution.stdout
        invocation.stderr = execution.stderr
        status = "Success" if execution.exit_code == 0 else "Failed"
        self._emu.clock.call_later(
            self.execution_seconds,
            lambda: self._finish(invocation, status, status, execution.exit_code),
            f"ssm finish {invocation.command_id}",
        )

    def _finish(self, invocation: CommandInvocation, status: str, details: str, code: int) -> None:
        """Terminal state of an invocation (unless the instance died meanwhile)."""
        if invocation.status in ("Success", "Failed", "TimedOut", "Cancelled"):
            return
        if invocation.status == "InProgress" and self._emu.ec2_state(invocation.instance_id) in (
            None,
            "terminated",
            "shutting-down",
        ):
            status, details, code = "Failed", "Terminated", -1
        invocation.status = status
        invocation.status_details = details
        invocation.response_code = code
        invocation.ended_at = self._emu.clock.now()
        self._emit(invocation)

    def _wait_tick(self, invocation: CommandInvocation, waiting: WaitingCheck) -> None:
        """One loop of ``rudder-drain-wait``: run the check, exit on drained or time up, else sleep."""
        if invocation.status != "InProgress":
            return
        if self._emu.ec2_state(invocation.instance_id) != "running":
            self._finish(invocation, "Failed", "Terminated", -1)
            return
        assert self.runner is not None
        execution = self.runner(invocation.instance_id)
        invocation.checks_run += 1
        script = drain_wait_script()
        code = script.verdict(execution.exit_code, script.parse_report(execution.stdout))
        report = execution.stdout.strip().splitlines()[-1:] if execution.stdout.strip() else []
        last = CheckExecution(code, "\n".join(report) + "\n" if report else "", execution.stderr)
        started = invocation.started_at or self._emu.clock.now()
        ends_at = self._emu.clock.now() + waiting.check_seconds
        if code == script.EXIT_DRAINED or ends_at - started >= waiting.max_seconds:
            self._emu.clock.call_at(
                ends_at + waiting.report_seconds,
                lambda: self._end_wait(invocation, last),
                f"ssm wait ends {invocation.command_id}",
            )
            return
        self._emu.clock.call_at(
            ends_at + waiting.interval_seconds,
            lambda: self._wait_tick(invocation, waiting),
            f"ssm wait tick {invocation.command_id}",
        )

    def _end_wait(self, invocation: CommandInvocation, last: CheckExecution) -> None:
        """The waiting script exited with its last verdict."""
        invocation.stdout = last.stdout
        invocation.stderr = last.stderr
        status = "Success" if last.exit_code == 0 else "Failed"
        self._finish(invocation, status, status, last.exit_code)

    def _emit(self, invocation: CommandInvocation) -> None:
        """SSM's status-change events for the invocation's new status (shapes of AWS's published samples)."""
        events = getattr(self._emu, "events", None)
        if events is None:
            return
        now = self._emu.clock.now()
        region = self._emu.region
        envelope = {
            "version": "0",
            "account": ACCOUNT_ID,
            "time": datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [f"arn:aws:ec2:{region}:{ACCOUNT_ID}:instance/{invocation.instance_id}"],
        }
        requested = iso(invocation.requested_at)
        events.put_event(
            {
                **envelope,
                "id": str(uuid.uuid4()),
                "detail-type": INVOCATION_EVENT,
                "source": "aws.ssm",
                "detail": {
                    "command-id": invocation.command_id,
                    "document-name": invocation.document_name,
                    "instance-id": invocation.instance_id,
                    "requested-date-time": requested,
                    "status": invocation.status,
                },
            }
        )
        if invocation.status in FINAL_STATUSES:
            events.put_event(
                {
                    **envelope,
                    "id": str(uuid.uuid4()),
                    "detail-type": COMMAND_EVENT,
                    "source": "aws.ssm",
                    "detail": {
                        "command-id": invocation.command_id,
                        "document-name": invocation.document_name,
                        "expire-after": iso(invocation.requested_at + invocation.delivery_timeout),
                        "parameters": {},
                        "requested-date-time": requested,
                        "status": invocation.status,
                    },
                }
            )
