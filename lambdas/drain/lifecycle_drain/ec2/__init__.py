"""The EC2 data-plane strategy (``DRAIN_STRATEGY=ec2``): target groups, then the on-node check.

:mod:`.strategy` drives it; its collaborators are :mod:`.instances` (is the instance still
there), :mod:`.target_groups` (deregistration) and :mod:`.ssm_check` (``rudder-drain-check``
through SSM).
"""
