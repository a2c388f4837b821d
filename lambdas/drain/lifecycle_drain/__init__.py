"""Drain before terminate: the drain Lambda's code (boto3 + stdlib only).

Shipped at the root of the drain Lambda's zip next to ``handler.py``; imports inside the package
are relative so it works both zipped and from the test suite. This level holds the generic engine
and what every strategy shares (messages, state, lifecycle calls, scheduling, heartbeats,
alerts, configuration, clock, logs, AWS clients, wiring, the strategy protocol);
:mod:`lifecycle_drain.ec2` and :mod:`lifecycle_drain.eks` hold one drain strategy each.
"""
