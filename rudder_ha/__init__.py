"""rudder-ha: a highly available RudderStack data plane on AWS, with CDK for Terraform."""

PROJECT = "rudder-ha"
