"""What each supported rudder-server release does to its jobsdb, as the builder needs to know it.

Read from rudder-server's public sources (tags v1.62.1 and v1.83.0) and the facts file
``rudder-server-facts.md`` (section "Added 2026-12-02"); nothing here is copied code.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Release:
    """One rudder-server release and the jobsdb features it has."""

    version: str
    """The release, e.g. ``1.62.1``."""
    jobsdb_migration: int
    """Last migration of ``sql/migrations/jobsdb`` (recorded in ``<prefix>_schema_migrations``)."""
    jobsdb_always_migration: int
    """Last migration of ``sql/migrations/jobsdb_always`` (``<prefix>_runalways_migrations``)."""
    node_migration: int
    """Last migration of ``sql/migrations/node`` (``node_migrations``)."""
    warehouse_migration: int
    """Last migration of ``sql/migrations/warehouse`` (``wh_schema_migrations``)."""
    partition_id: bool
    """Jobs tables have ``partition_id`` (jobsdb migration 13)."""
    consumers: bool
    """Jobs tables have ``consumers text[]``, status tables ``consumer`` (jobsdb migration 14)."""
    pre_drop: bool
    """Compaction marks its sources ``rudder:pre_drop:v1`` and a background loop drops them later (v1.77+)."""
    created_at_comment: bool
    """A new jobs table is commented ``rudder:created_at:<RFC 3339>``."""
    destination_isolation: bool
    """``proc`` can run multi-consumer (``Processor.DestinationIsolation.enabled``, v1.82+)."""
    autovacuum_options: bool
    """Dataset tables are created ``WITH (autovacuum_vacuum_insert_scale_factor = 0.02)``."""

    @property
    def label(self) -> str:
        """``v1.62.1``-style name for test ids."""
        return f"v{self.version}"


V1_62_1 = Release(
    version="1.62.1",
    jobsdb_migration=12,
    jobsdb_always_migration=12,
    node_migration=14,
    warehouse_migration=41,
    partition_id=False,
    consumers=False,
    pre_drop=False,
    created_at_comment=False,
    destination_isolation=False,
    autovacuum_options=False,
)

V1_83_0 = Release(
    version="1.83.0",
    jobsdb_migration=14,
    jobsdb_always_migration=16,
    node_migration=20,
    warehouse_migration=41,
    partition_id=True,
    consumers=True,
    pre_drop=True,
    created_at_comment=True,
    destination_isolation=True,
    autovacuum_options=True,
)

OLDEST = V1_62_1
NEWEST = V1_83_0
SUPPORTED = (V1_62_1, V1_83_0)

TERMINAL_STATES = ("succeeded", "aborted", "migrated", "filtered")
"""Job states after which rudder-server never touches a job again."""
NON_TERMINAL_STATES = ("failed", "executing", "waiting", "importing")
"""The other states rudder-server writes (no status row at all means "unprocessed")."""
WAREHOUSE_DONE_STATES = ("exported_data", "aborted")
"""``wh_uploads.status`` values after which an upload is finished."""
PRE_DROP_COMMENT = "rudder:pre_drop:v1"
