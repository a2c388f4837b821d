"""The EKS node strategy (``DRAIN_STRATEGY=eks``): cordon the node, evict its pods, wait.

:mod:`.strategy` drives it; :mod:`.k8s_client` is its Kubernetes API client, :mod:`.auth` signs
its bearer tokens and :mod:`.config` reads ``DRAIN_STRATEGY`` and the ``EKS_*`` settings.
"""
