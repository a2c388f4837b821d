"""The cdktf front end: the environment stack (provider, default tags, S3 state), Terraform addressing and
the composer the topologies' wiring runs against."""
