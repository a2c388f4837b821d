"""The AWS Load Balancer Controller of the eks topology (cdktf only)."""
