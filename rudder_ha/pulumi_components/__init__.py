"""Pulumi component resources of the single-node HA topology: one per cdktf construct in
:mod:`rudder_ha.constructs`, with the same props, physical names and settings (both render the
front-end-neutral definitions in :mod:`rudder_ha.specs`). Nothing here imports cdktf.

Conventions: a component is ``X(name, XProps, opts)``; its children are named ``<name>-<the cdktf
construct id>`` and parented to it (the provider is inherited); tests run under Pulumi's in-process mocks
(``tests/support/pulumi_mocks.py``) and ``tests/test_pulumi_parity.py`` holds both front ends equal."""
