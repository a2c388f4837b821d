"""The project's own cdktf constructs: each takes (scope, id, props) and owns one concern."""
