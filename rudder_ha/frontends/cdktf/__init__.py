"""The cdktf front end: the environment stack (provider, default tags, S3 state), Terraform addressing and
the composer the topologies' wiring runs against.

Importing this package installs :mod:`rudder_ha.frontends.cdktf.lazy_providers`, so the provider
bindings imported after it load only the resource modules a stack uses, and
:mod:`rudder_ha.frontends.cdktf.lazy_kernel_exports`, so the jsii kernel started after it does the same
with the providers' JavaScript."""

from rudder_ha.frontends.cdktf import lazy_kernel_exports, lazy_providers

lazy_kernel_exports.install()
lazy_providers.install()
