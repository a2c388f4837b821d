"""What a preflight check reports, and the boto3 plumbing every check shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["OK", "FAIL", "SKIP"]
ClientFactory = Callable[[str, str], Any]
"""``(service, region) -> boto3 client``."""


@dataclass(frozen=True)
class Check:
    """One check's verdict: ``detail`` says what was found, ``fix`` what to do about a failure."""

    status: Status
    name: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        """``OK    state bucket: ...`` / ``FAIL  ...; fix: ...``."""
        text = f"{self.status:<5} {self.name}: {self.detail}"
        return f"{text}; fix: {self.fix}" if self.status == "FAIL" and self.fix else text


def ok(name: str, detail: str) -> Check:
    """A passing check."""
    return Check("OK", name, detail)


def fail(name: str, detail: str, fix: str) -> Check:
    """A failing check and its fix."""
    return Check("FAIL", name, detail, fix)


def skip(name: str, why: str) -> Check:
    """A check that does not apply to this environment."""
    return Check("SKIP", name, why)


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ``ClientError`` (empty for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403"})
NOT_FOUND = frozenset(
    {
        "NoSuchBucket",
        "404",
        "NotFound",
        "ParameterNotFound",
        "ResourceNotFoundException",
        "NoSuchEntity",
        "NoSuchResourceException",
        "InvalidAMIID.NotFound",
        "InvalidAMIID.Malformed",
        "NotFoundException",
    }
)


def denied(name: str, action: str, exc: Exception) -> Check:
    """The failure for an API call the caller may not make."""
    return fail(name, f"{action} was refused ({error_code(exc) or type(exc).__name__})", f"allow {action}")
