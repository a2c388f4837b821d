"""Deploying the synthesized stacks with Terraform (or OpenTofu) itself, no cdktf CLI and no Node.

``python -m rudder_ha deploy ENV`` / ``diff ENV`` (``make deploy ENV=…`` / ``make diff ENV=…``) validate the
environment, synthesize its stacks with Python and run ``terraform init`` then ``apply`` (or ``plan``) in each
stack's directory, in the order its topology lists them (the EKS cluster before the workload planned against
it), stopping at the first failure. ``TF=tofu`` selects OpenTofu.
"""
