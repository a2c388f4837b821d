"""Build rudder-server-shaped jobsdb datasets in a test database.

A dataset is a pair of tables ``<prefix>_jobs_<index>`` and
``<prefix>_job_status_<index>`` with the columns and indexes rudder-server
creates (including the ``v_last_<status table>`` view). Jobs get the
``created_at`` a test chooses (absolute, or an age relative to the database
clock); status rows are appended in call order, so the last call for a job
is its latest status (highest ``id``).

All functions take an open psycopg 3 connection in autocommit mode (as
returned by ``ConnectionParams.connect()`` of :mod:`tests.support.postgres`).

These helpers build one shape (v1.83's single-consumer dataset). For a jobsdb built
per rudder-server release (migrations, compaction with pre-drop, multi-consumer
``proc``, the warehouse tables) and rudder-server's own notion of pending, see
:mod:`tests.support.rudder_jobsdb`.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from tests.support.rudder_jobsdb.builder import Dataset
from tests.support.rudder_jobsdb.releases import NON_TERMINAL_STATES, TERMINAL_STATES

ALL_STATES = TERMINAL_STATES + NON_TERMINAL_STATES


def create_jobs_table(conn: psycopg.Connection[Any], prefix: str, index: str | int) -> Dataset:
    """Create ``<prefix>_jobs_<index>`` with rudder's columns and indexes."""
    ds = Dataset(prefix, str(index))
    table = sql.Identifier(ds.jobs_table)
    conn.execute(
        sql.SQL(
            """CREATE TABLE {table} (
                job_id BIGSERIAL PRIMARY KEY,
                workspace_id TEXT NOT NULL DEFAULT '',
                uuid UUID NOT NULL,
                user_id TEXT NOT NULL,
                partition_id TEXT NOT NULL DEFAULT '',
                parameters JSONB NOT NULL,
                custom_val VARCHAR(64) NOT NULL,
                event_payload JSONB NOT NULL,
                event_count INTEGER NOT NULL DEFAULT 1,
                created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
                expire_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
                consumers TEXT[] NOT NULL DEFAULT '{{""}}')"""
        ).format(table=table)
    )
    for suffix, expression in (
        ("ws", "(workspace_id)"),
        ("partid", "(partition_id)"),
        ("cv", "(custom_val)"),
        ("source_id", "USING BTREE ((parameters->>'source_id'))"),
        ("destination_id", "USING BTREE ((parameters->>'destination_id'))"),
    ):
        conn.execute(
            sql.SQL("CREATE INDEX {index} ON {table} " + expression).format(
                index=sql.Identifier(f"idx_{ds.jobs_table}_{suffix}"), table=table
            )
        )
    return ds


def create_status_table(conn: psycopg.Connection[Any], prefix: str, index: str | int) -> Dataset:
    """Create ``<prefix>_job_status_<index>`` with rudder's columns, indexes and v_last view."""
    ds = Dataset(prefix, str(index))
    table = sql.Identifier(ds.status_table)
    conn.execute(
        sql.SQL(
            """CREATE TABLE {table} (
                id BIGSERIAL,
                job_id BIGINT,
                job_state VARCHAR(64),
                attempt SMALLINT,
                exec_time TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
                retry_time TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
                error_code VARCHAR(32),
                error_response JSONB DEFAULT '{{}}'::JSONB,
                parameters JSONB DEFAULT '{{}}'::JSONB,
                consumer TEXT NOT NULL DEFAULT '')"""
        ).format(table=table)
    )
    conn.execute(
        sql.SQL("CREATE INDEX {index} ON {table} (id, job_state) INCLUDE (exec_time)").format(
            index=sql.Identifier(f"idx_{ds.status_table}_id_js"), table=table
        )
    )
    conn.execute(
        sql.SQL("CREATE INDEX {index} ON {table} (job_id ASC, id DESC, job_state)").format(
            index=sql.Identifier(f"idx_{ds.status_table}_jid_id_js"), table=table
        )
    )
    conn.execute(
        sql.SQL("CREATE VIEW {view} AS SELECT DISTINCT ON (job_id) * FROM {table} ORDER BY job_id ASC, id DESC").format(
            view=sql.Identifier(f"v_last_{ds.status_table}"), table=table
        )
    )
    return ds


def create_dataset(conn: psycopg.Connection[Any], prefix: str, index: str | int) -> Dataset:
    """Create both tables of a dataset."""
    create_jobs_table(conn, prefix, index)
    return create_status_table(conn, prefix, index)


def _created_at_sql(
    created_at: datetime.datetime | None, age_seconds: float | None
) -> tuple[sql.Composable, list[Any]]:
    """SQL expression (and its parameters) for a job's created_at."""
    if created_at is not None and age_seconds is not None:
        raise ValueError("give created_at or age_seconds, not both")
    if created_at is not None:
        return sql.SQL("%s"), [created_at]
    if age_seconds is not None:
        return sql.SQL("now() - make_interval(secs => %s)"), [float(age_seconds)]
    return sql.SQL("now()"), []


def insert_jobs(
    conn: psycopg.Connection[Any],
    ds: Dataset,
    count: int,
    *,
    created_at: datetime.datetime | None = None,
    age_seconds: float | None = None,
    workspace_id: str = "workspace-1",
    user_id: str = "user-1",
    custom_val: str = "GW",
    parameters: dict[str, Any] | None = None,
    event_payload: dict[str, Any] | None = None,
) -> list[int]:
    """Insert ``count`` jobs and return their job_ids (ascending).

    ``created_at`` sets an absolute creation time; ``age_seconds`` makes the
    job that many seconds old on the database clock; neither means now().
    """
    if count <= 0:
        return []
    created_expr, created_params = _created_at_sql(created_at, age_seconds)
    query = sql.SQL(
        """INSERT INTO {table}
               (workspace_id, uuid, user_id, partition_id, parameters, custom_val,
                event_payload, event_count, created_at, expire_at)
           SELECT %s, gen_random_uuid(), %s, %s, %s::jsonb, %s, %s::jsonb, 1, c.t, c.t + interval '10 days'
           FROM generate_series(1, %s) AS g(n), (SELECT {created} AS t) AS c
           RETURNING job_id"""
    ).format(table=sql.Identifier(ds.jobs_table), created=created_expr)
    params: list[Any] = [
        workspace_id,
        user_id,
        f"{workspace_id}-partition",
        json.dumps(parameters if parameters is not None else {"source_id": "src-1", "destination_id": ""}),
        custom_val,
        json.dumps(event_payload if event_payload is not None else {"type": "track", "messageId": str(uuid.uuid4())}),
        count,
        *created_params,
    ]
    with conn.cursor() as cur:
        cur.execute(query, params)
        return sorted(row[0] for row in cur.fetchall())


def insert_job(
    conn: psycopg.Connection[Any],
    ds: Dataset,
    *,
    created_at: datetime.datetime | None = None,
    age_seconds: float | None = None,
    **kwargs: Any,
) -> int:
    """Insert one job and return its job_id (see :func:`insert_jobs`)."""
    return insert_jobs(conn, ds, 1, created_at=created_at, age_seconds=age_seconds, **kwargs)[0]


def add_status(
    conn: psycopg.Connection[Any],
    ds: Dataset,
    job_id: int,
    job_state: str,
    *,
    attempt: int = 1,
    error_code: str = "",
    error_response: dict[str, Any] | None = None,
) -> int:
    """Append a status row for a job (it becomes the job's latest) and return its id."""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                """INSERT INTO {table}
                       (job_id, job_state, attempt, exec_time, retry_time, error_code, error_response, parameters)
                   VALUES (%s, %s, %s, now(), now(), %s, %s::jsonb, '{{}}'::jsonb)
                   RETURNING id"""
            ).format(table=sql.Identifier(ds.status_table)),
            [job_id, job_state, attempt, error_code, json.dumps(error_response or {})],
        )
        row = cur.fetchone()
    assert row is not None
    return int(row[0])


def add_statuses(conn: psycopg.Connection[Any], ds: Dataset, rows: Iterable[tuple[int, str]]) -> list[int]:
    """Append several (job_id, job_state) status rows in the given order; return their ids."""
    return [add_status(conn, ds, job_id, state) for job_id, state in rows]


def set_history(conn: psycopg.Connection[Any], ds: Dataset, job_id: int, states: Sequence[str]) -> None:
    """Append a whole status history for one job, oldest first."""
    add_statuses(conn, ds, [(job_id, state) for state in states])


def latest_state(conn: psycopg.Connection[Any], ds: Dataset, job_id: int) -> str | None:
    """The job's current state (its highest-id status row), None without status rows."""
    row = conn.execute(
        sql.SQL("SELECT job_state FROM {table} WHERE job_id = %s ORDER BY id DESC LIMIT 1").format(
            table=sql.Identifier(ds.status_table)
        ),
        [job_id],
    ).fetchone()
    return None if row is None else row[0]


def reset_schema(conn: psycopg.Connection[Any]) -> None:
    """Drop everything in schema public (all datasets) and recreate it empty."""
    conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
    conn.execute("CREATE SCHEMA public")
