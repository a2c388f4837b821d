"""One Terraform stack (or more) per environment."""
