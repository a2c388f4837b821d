"""``python -m rudder_ha drill ENV --scenario …``: a failure drill against a deployed single-node environment.

It injects one failure with the operator's own credentials, then measures from outside when the load
balancer saw the target fail, when the group launched a replacement, when the replacement was InService
and healthy, and when ``/health`` answered again through the load balancer; the measured timeline is
printed under the ``rto`` model's, term by term. One module per concern: :mod:`.arguments` (the command
line), :mod:`.clock` (time, backoff and deadlines), :mod:`.deployment` (finding the deployed resources),
:mod:`.scenarios` (injecting each failure), :mod:`.fis` (the az-loss experiment template),
:mod:`.probe` (``GET /health``), :mod:`.observe` (the measuring loop), :mod:`.timeline` (milestones,
phases, chart and JSON), :mod:`.run` (one drill end to end) and :mod:`.command` (confirmation, output).
"""

SCENARIOS = ("instance-loss", "hang", "scale-in", "az-loss")

__all__ = ["SCENARIOS"]
