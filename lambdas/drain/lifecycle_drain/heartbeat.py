"""When to record a lifecycle heartbeat, and how long the next step may wait.

The hook times out ``HeartbeatTimeout`` seconds after the action started or after the last
heartbeat, and never later than ``GlobalTimeout`` after the start. Steps run only when their
SQS message arrives: ``delay`` seconds after being scheduled plus some latency (SQS delivery,
Lambda polling, throttling, a retry). ``margin`` is the allowance for that latency.

Rule: record a heartbeat now if the *next* step might come too late, i.e. when
``now + delay + margin >= last_heartbeat + HeartbeatTimeout``; and never schedule the next step
later than ``HeartbeatTimeout - margin`` after the newest heartbeat. Then, as long as the latency
stays below ``margin``, consecutive heartbeats are less than ``HeartbeatTimeout`` apart. The
margin is capped at a third of the heartbeat timeout so short timeouts still leave room to poll.
A heartbeat cannot push the wait past the global timeout, so none is sent when it would not
move the hook's expiry.

A failed step is redelivered only after a retry backoff (20 s, 40 s, 80 s, ... set by the
function), or after the queue's visibility timeout when the invocation crashed or was throttled;
either can exceed the margin. So a heartbeat is also sent as soon as less than
``refresh_fraction`` (default one half) of the heartbeat timeout remains: the hook then always
keeps at least half its timeout in reserve, which absorbs redeliveries as long as their delays
plus the poll interval stay below ``HeartbeatTimeout / 2``. Heartbeats are one cheap call, so
this costs about ``2 x 3600 / HeartbeatTimeout`` calls per hour.

A step that waits long for a wake-up signal (an event-driven drain reads its command only every few
minutes) cannot rely on that half: its delay plus a crashed invocation's redelivery exceed it. Such a
step passes ``reserve`` (the queue's visibility timeout): the heartbeat is then sent whenever the next
step plus ``margin`` plus ``reserve`` would reach the expiry, and the next step is never scheduled later
than ``HeartbeatTimeout - margin - reserve`` after the newest heartbeat, so even a crashed next step
is redelivered while the hook still waits. The reserve shrinks for short hooks so that a step can
still wait :data:`MIN_RESERVED_DELAY_SECONDS`; ``reserve=0`` is the rule above unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_DELAY_SECONDS = 900
MIN_RESERVED_DELAY_SECONDS = 30
"""The shortest wait a ``reserve`` may leave a step (short hooks give up part of the reserve instead)."""


@dataclass(frozen=True)
class HeartbeatPlan:
    """Decision of one step."""

    send_now: bool
    delay_seconds: int
    #: When the hook times out if the decision is followed (before the next heartbeat).
    hook_expires_at: float
    #: The next step (plus margin) would reach the global timeout: nothing can extend it.
    near_global_timeout: bool
    past_global_timeout: bool


def effective_margin(heartbeat_timeout: int, margin: float) -> float:
    """The latency allowance actually used for a hook (at least 1 s, at most a third of its timeout)."""
    return max(1.0, min(float(margin), heartbeat_timeout / 3.0))


def plan_heartbeat(
    *,
    now: float,
    last_heartbeat_at: float,
    heartbeat_timeout: int,
    global_deadline: float,
    requested_delay: int,
    margin: float,
    refresh_fraction: float = 0.5,
    reserve: float = 0.0,
) -> HeartbeatPlan:
    """Decide whether to heartbeat now and clamp the delay of the next step (``reserve``: see the module docstring)."""
    margin_used = effective_margin(heartbeat_timeout, margin)
    reserve_used = max(0.0, min(float(reserve), heartbeat_timeout - margin_used - MIN_RESERVED_DELAY_SECONDS))
    requested = max(0, min(int(requested_delay), MAX_DELAY_SECONDS))
    expires = min(last_heartbeat_at + heartbeat_timeout, global_deadline)
    extended = min(now + heartbeat_timeout, global_deadline)
    past_global = now >= global_deadline
    running_low = expires - now <= heartbeat_timeout * refresh_fraction
    needed = now + requested + margin_used + reserve_used >= expires
    send = (not past_global) and (needed or running_low) and extended > expires
    newest = now if send else last_heartbeat_at
    hook_expires_at = extended if send else expires
    latest_useful = math.floor(newest + heartbeat_timeout - margin_used - reserve_used - now)
    delay = min(requested, max(1, latest_useful))
    delay = max(0, min(delay, MAX_DELAY_SECONDS))
    near_global = now + delay + margin_used >= global_deadline
    return HeartbeatPlan(
        send_now=send,
        delay_seconds=delay,
        hook_expires_at=hook_expires_at,
        near_global_timeout=near_global,
        past_global_timeout=past_global,
    )
