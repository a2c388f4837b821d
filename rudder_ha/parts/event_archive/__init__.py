"""The event archive: the bucket rudder-server's archiver writes gateway jobs to, and the role it writes with."""
