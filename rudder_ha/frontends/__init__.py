"""The two front ends a topology is written against: what each needs besides the parts (the cdktf
environment stack and Terraform addressing; Pulumi's output resolution, replacement order and state
backend), and the composer each implements so a topology's wiring is written once
(:mod:`rudder_ha.frontends.composer`)."""
