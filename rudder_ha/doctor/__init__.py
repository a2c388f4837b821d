"""``python -m rudder_ha doctor ENV``: a preflight of the AWS account before the first deploy.

Each check reads the account with boto3 (nothing is created or changed) and prints one line, ``OK``,
``FAIL`` with the fix, or ``SKIP`` with why it did not apply; any ``FAIL`` makes the exit code 1.
The checks, one module per concern: :mod:`.identity` (credentials, account, region, AZs),
:mod:`.state_bucket`, :mod:`.secrets` (workspace token, alert receivers, KMS keys),
:mod:`.certificate`, :mod:`.capacity` (quotas, AMI, EKS version, service-linked roles).
"""

from rudder_ha.doctor.results import Check, Status
from rudder_ha.doctor.run import run_doctor

__all__ = ["Check", "Status", "run_doctor"]
