"""The Pulumi front end: resolving outputs for the specs, Terraform's replacement order, the state backend,
and the composer the topologies' wiring runs against. Nothing here imports cdktf."""
