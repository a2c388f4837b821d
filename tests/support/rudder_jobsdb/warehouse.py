"""The embedded warehouse's upload state, in the jobsdb's database, as rudder-server keeps it.

Without ``WAREHOUSE_JOBS_DB_*`` (all of HOST, USER, DB_NAME and PASSWORD) rudder-server's
warehouse migrates its tables into the jobsdb's database (``wh_schema_migrations``; migration
41 in both v1.62.1 and v1.83.0). Reproduced here, from the facts file and the warehouse
migrations (read, not copied), with the columns the upload state uses:

* ``wh_staging_files``: one row per staged file of a (source, destination), status
  ``waiting`` at first, ``upload_id`` set once an upload takes it;
* ``wh_uploads``: one row per load of a range of staging files
  (``start_staging_file_id`` .. ``end_staging_file_id``), pending until its status is
  ``exported_data`` or ``aborted``; times are ``TIMESTAMP`` in UTC.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import psycopg

from tests.support.rudder_jobsdb.releases import Release

UPLOAD_STATES = (
    "waiting",
    "generated_upload_schema",
    "created_table_uploads",
    "generating_load_files",
    "generated_load_files",
    "updated_table_uploads_counts",
    "created_remote_schema",
    "exporting_data",
    "exporting_data_failed",
    "failed",
    "exported_data",
    "aborted",
)

_TABLES = """
CREATE TABLE IF NOT EXISTS wh_uploads (
    id BIGSERIAL PRIMARY KEY,
    source_id VARCHAR(64) NOT NULL,
    namespace VARCHAR(128) NOT NULL,
    destination_id VARCHAR(64) NOT NULL,
    destination_type VARCHAR(64) NOT NULL,
    start_staging_file_id BIGINT,
    end_staging_file_id BIGINT,
    start_load_file_id BIGINT,
    end_load_file_id BIGINT,
    status VARCHAR(64) NOT NULL,
    schema JSONB NOT NULL,
    error JSONB,
    first_event_at TIMESTAMP,
    last_event_at TIMESTAMP,
    last_exec_at TIMESTAMP,
    timings JSONB,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    metadata JSONB DEFAULT '{}',
    in_progress BOOL NOT NULL DEFAULT false,
    workspace_id VARCHAR NOT NULL DEFAULT '',
    error_category VARCHAR NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS wh_uploads_id_destination_id_namespace_status_index
    ON wh_uploads (id, destination_id, namespace, status);
CREATE TABLE IF NOT EXISTS wh_staging_files (
    id BIGSERIAL PRIMARY KEY,
    location TEXT NOT NULL,
    source_id VARCHAR(64) NOT NULL,
    destination_id VARCHAR(64) NOT NULL,
    schema JSONB NOT NULL,
    error TEXT,
    status VARCHAR(64),
    first_event_at TIMESTAMP,
    last_event_at TIMESTAMP,
    total_events BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    metadata JSONB DEFAULT '{}',
    workspace_id VARCHAR NOT NULL DEFAULT '',
    total_bytes BIGINT NOT NULL DEFAULT 0,
    upload_id INTEGER REFERENCES wh_uploads (id) ON DELETE SET NULL,
    bytes_per_table JSONB);
CREATE INDEX IF NOT EXISTS wh_staging_files_source_id_destination_id_upload_id_id_index
    ON wh_staging_files (source_id, destination_id, upload_id, id);
CREATE TABLE IF NOT EXISTS wh_load_files (
    id BIGSERIAL PRIMARY KEY,
    location TEXT NOT NULL,
    source_id VARCHAR(64) NOT NULL,
    destination_id VARCHAR(64) NOT NULL,
    destination_type VARCHAR(64) NOT NULL,
    table_name TEXT NOT NULL,
    total_events BIGINT,
    created_at TIMESTAMP NOT NULL,
    metadata JSONB,
    upload_id INTEGER REFERENCES wh_uploads (id) ON DELETE SET NULL);
CREATE TABLE IF NOT EXISTS wh_table_uploads (
    id BIGSERIAL PRIMARY KEY,
    wh_upload_id BIGSERIAL NOT NULL,
    table_name TEXT,
    status VARCHAR(64) NOT NULL,
    error TEXT,
    last_exec_time TIMESTAMP,
    total_events TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    location TEXT);
"""


@dataclasses.dataclass
class Warehouse:
    """The warehouse tables of one database, and the writes the warehouse router makes."""

    conn: psycopg.Connection[Any]

    @classmethod
    def migrate(cls, conn: psycopg.Connection[Any], release: Release) -> Warehouse:
        """Create the tables and record the release's warehouse migration version."""
        with conn.transaction():
            conn.execute(_TABLES)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS wh_schema_migrations (version bigint NOT NULL PRIMARY KEY, "
                "dirty boolean NOT NULL)"
            )
            conn.execute("DELETE FROM wh_schema_migrations")
            conn.execute("INSERT INTO wh_schema_migrations VALUES (%s, false)", [release.warehouse_migration])
        return cls(conn)

    def stage_file(self, source_id: str, destination_id: str, *, age_seconds: float = 0.0) -> int:
        """A staged file waiting for an upload (created ``age_seconds`` ago); returns its id."""
        row = self.conn.execute(
            """INSERT INTO wh_staging_files (location, source_id, destination_id, schema, status, total_events,
                                             created_at, updated_at, workspace_id)
               VALUES (%s, %s, %s, %s::jsonb, 'waiting', 10,
                       (now() AT TIME ZONE 'UTC') - make_interval(secs => %s),
                       (now() AT TIME ZONE 'UTC') - make_interval(secs => %s), 'workspace-1')
               RETURNING id""",
            [
                f"s3://staging/{source_id}/{destination_id}.json.gz",
                source_id,
                destination_id,
                json.dumps({"tracks": {"id": "string"}}),
                float(age_seconds),
                float(age_seconds),
            ],
        ).fetchone()
        assert row is not None
        return int(row[0])

    def create_upload(
        self, source_id: str, destination_id: str, staging_file_ids: list[int], *, status: str = "waiting"
    ) -> int:
        """An upload of the given staging files (their range), which then point at it; returns its id."""
        if status not in UPLOAD_STATES:
            raise ValueError(f"unknown upload status {status!r}")
        with self.conn.transaction():
            row = self.conn.execute(
                """INSERT INTO wh_uploads (source_id, namespace, destination_id, destination_type,
                                           start_staging_file_id, end_staging_file_id, status, schema,
                                           created_at, updated_at, workspace_id)
                   VALUES (%s, 'rudder', %s, 'POSTGRES', %s, %s, %s, '{}'::jsonb,
                           now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', 'workspace-1')
                   RETURNING id""",
                [source_id, destination_id, min(staging_file_ids), max(staging_file_ids), status],
            ).fetchone()
            assert row is not None
            upload_id = int(row[0])
            self.conn.execute(
                "UPDATE wh_staging_files SET upload_id = %s WHERE id = ANY(%s)", [upload_id, staging_file_ids]
            )
        return upload_id

    def set_upload_status(self, upload_id: int, status: str) -> None:
        """Move an upload to another status (``exported_data`` finishes it)."""
        if status not in UPLOAD_STATES:
            raise ValueError(f"unknown upload status {status!r}")
        self.conn.execute(
            "UPDATE wh_uploads SET status = %s, updated_at = now() AT TIME ZONE 'UTC' WHERE id = %s",
            [status, upload_id],
        )
