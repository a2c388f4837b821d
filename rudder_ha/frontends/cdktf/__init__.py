"""The cdktf front end: the environment stack (provider, default tags, S3 state), Terraform addressing and
the composer the topologies' wiring runs against.

Importing this package installs :mod:`rudder_ha.frontends.cdktf.lazy_providers`, so the provider
bindings imported after it load only the resource modules a stack uses."""

from rudder_ha.frontends.cdktf import lazy_providers

lazy_providers.install()
