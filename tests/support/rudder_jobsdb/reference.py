"""rudder-server's own notion of pending work in a jobsdb, as a reference for the drain check.

Written from the facts file and from reading rudder-server's jobsdb and warehouse code (its
dataset listing, compaction probe and pending-events queries), not copied; computed in Python
from the raw rows, so it shares no SQL with ``ami/bin/rudder-drain-check``:

* **Datasets** are listed the way the server lists them: every ordinary table named
  ``<prefix>_jobs_<idx>`` paired with ``<prefix>_job_status_<idx>``, leaving out both tables of a
  dataset when either carries a ``rudder:pre_drop:`` comment. A jobs table without its status
  table makes the server's listing fail an assertion: :class:`ServerWouldNotStart`.
* **Single-consumer datasets** (no ``<prefix>_consumers_<idx>`` registry): a job's state is its
  latest status row (highest ``id``); pending without a row or with a non-terminal latest state.
* **Multi-consumer datasets** (registry present, v1.82+ ``proc``): a job is done only when every
  consumer in ``jobs.consumers`` (an empty array means the legacy ``''``) has a terminal latest
  status row of its own.
* **Warehouse** (when ``wh_uploads`` exists): an upload is pending until ``exported_data`` or
  ``aborted``; a staging file is pending while no upload has taken it (``upload_id`` unset and
  its id above the highest ``end_staging_file_id`` of its source's and destination's uploads).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections import defaultdict
from typing import Any

import psycopg
from psycopg import sql

from tests.support.rudder_jobsdb.releases import TERMINAL_STATES, WAREHOUSE_DONE_STATES

JOBS_RE = re.compile(r"^(.+)_jobs_([0-9]+(?:_[0-9]+)*)$")
STATUS_RE = re.compile(r"^(.+)_job_status_([0-9]+(?:_[0-9]+)*)$")


class ServerWouldNotStart(Exception):
    """rudder-server's dataset listing would fail on this database (a jobs table without status table)."""


@dataclasses.dataclass
class PrefixPending:
    """Pending jobs of one jobsdb prefix."""

    datasets: int = 0
    pending_jobs: int = 0
    oldest_created_at: datetime.datetime | None = None


@dataclasses.dataclass
class WarehousePending:
    """Pending warehouse work (times are naive UTC, as the warehouse stores them)."""

    uploads: int = 0
    staging_files: int = 0
    oldest_created_at: datetime.datetime | None = None

    @property
    def total(self) -> int:
        """Uploads plus staging files."""
        return self.uploads + self.staging_files


@dataclasses.dataclass
class ReferencePending:
    """What rudder-server would consider pending in one database."""

    prefixes: dict[str, PrefixPending]
    warehouse: WarehousePending | None
    db_now: datetime.datetime

    @property
    def total(self) -> int:
        """All pending jobs, uploads and staging files."""
        return sum(p.pending_jobs for p in self.prefixes.values()) + (self.warehouse.total if self.warehouse else 0)

    @property
    def verdict(self) -> str:
        """``pending`` or ``drained``."""
        return "pending" if self.total else "drained"

    def oldest_age_seconds(self) -> float | None:
        """Age of the oldest pending job or warehouse item on the database clock (None: nothing pending)."""
        ages = [
            (self.db_now - p.oldest_created_at).total_seconds()
            for p in self.prefixes.values()
            if p.pending_jobs and p.oldest_created_at is not None
        ]
        if self.warehouse and self.warehouse.total and self.warehouse.oldest_created_at is not None:
            utc_now = self.db_now.astimezone(datetime.UTC).replace(tzinfo=None)
            ages.append((utc_now - self.warehouse.oldest_created_at).total_seconds())
        return max((max(0.0, age) for age in ages), default=None)


def _tables(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """Ordinary tables outside the system schemas, with their comments (as the server lists them)."""
    rows = conn.execute(
        """SELECT c.relname, coalesce(d.description, '')
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_description d ON d.objoid = c.oid AND d.objsubid = 0
           WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.relkind = 'r'"""
    ).fetchall()
    return {name: comment for name, comment in rows}


def _columns(conn: psycopg.Connection[Any], table: str) -> set[str]:
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
        [f'"{table}"'],
    ).fetchall()
    return {row[0] for row in rows}


def _job_done(consumers: list[str] | None, statuses: list[tuple[int, str | None, str]], *, multi: bool) -> bool:
    """Whether rudder-server considers one job finished (statuses: (id, state, consumer))."""
    if not statuses:
        return False
    if not multi:
        return max(statuses)[1] in TERMINAL_STATES
    latest: dict[str, tuple[int, str | None]] = {}
    for status_id, state, consumer in statuses:
        if consumer not in latest or status_id > latest[consumer][0]:
            latest[consumer] = (status_id, state)
    wanted = consumers if consumers else [""]
    return all(c in latest and latest[c][1] in TERMINAL_STATES for c in wanted)


def _dataset_pending(
    conn: psycopg.Connection[Any], prefix: str, index: str, *, multi: bool
) -> tuple[int, datetime.datetime | None]:
    jobs_table, status_table = f"{prefix}_jobs_{index}", f"{prefix}_job_status_{index}"
    has_consumers = "consumers" in _columns(conn, jobs_table)
    has_consumer = "consumer" in _columns(conn, status_table)
    jobs = conn.execute(
        sql.SQL("SELECT job_id, created_at, {} FROM {}").format(
            sql.SQL("consumers" if has_consumers else "NULL::text[]"), sql.Identifier(jobs_table)
        )
    ).fetchall()
    by_job: dict[int, list[tuple[int, str | None, str]]] = defaultdict(list)
    for status_id, job_id, state, consumer in conn.execute(
        sql.SQL("SELECT id, job_id, job_state, {} FROM {}").format(
            sql.SQL("consumer" if has_consumer else "''"), sql.Identifier(status_table)
        )
    ).fetchall():
        by_job[job_id].append((status_id, state, consumer))
    pending = [created for job_id, created, consumers in jobs if not _job_done(consumers, by_job[job_id], multi=multi)]
    return len(pending), min(pending, default=None)


def _warehouse_pending(conn: psycopg.Connection[Any]) -> WarehousePending:
    uploads = conn.execute("SELECT source_id, destination_id, status, end_staging_file_id, created_at FROM wh_uploads")
    upload_rows = uploads.fetchall()
    covered: dict[tuple[str, str], int] = defaultdict(int)
    result = WarehousePending()
    oldest: list[datetime.datetime] = []
    for source_id, destination_id, status, end_id, created_at in upload_rows:
        covered[(source_id, destination_id)] = max(covered[(source_id, destination_id)], end_id or 0)
        if status not in WAREHOUSE_DONE_STATES:
            result.uploads += 1
            oldest.append(created_at)
    for file_id, source_id, destination_id, upload_id, created_at in conn.execute(
        "SELECT id, source_id, destination_id, upload_id, created_at FROM wh_staging_files"
    ).fetchall():
        if upload_id is None and file_id > covered[(source_id, destination_id)]:
            result.staging_files += 1
            oldest.append(created_at)
    result.oldest_created_at = min(oldest, default=None)
    return result


def reference_pending(conn: psycopg.Connection[Any]) -> ReferencePending:
    """rudder-server's pending work in ``conn``'s database (raises :class:`ServerWouldNotStart`)."""
    tables = _tables(conn)
    pre_drop: set[tuple[str, str]] = set()
    for name, comment in tables.items():
        match = JOBS_RE.match(name) or STATUS_RE.match(name)
        if match and comment.startswith("rudder:pre_drop:"):
            pre_drop.add((match.group(1), match.group(2)))
    prefixes: dict[str, PrefixPending] = {}
    for name in sorted(tables):
        match = JOBS_RE.match(name)
        if not match or (match.group(1), match.group(2)) in pre_drop:
            continue
        prefix, index = match.group(1), match.group(2)
        if f"{prefix}_job_status_{index}" not in tables:
            raise ServerWouldNotStart(f"{name} has no {prefix}_job_status_{index}")
        multi = f"{prefix}_consumers_{index}" in tables
        count, oldest = _dataset_pending(conn, prefix, index, multi=multi)
        entry = prefixes.setdefault(prefix, PrefixPending())
        entry.datasets += 1
        entry.pending_jobs += count
        if oldest is not None and (entry.oldest_created_at is None or oldest < entry.oldest_created_at):
            entry.oldest_created_at = oldest
    warehouse = _warehouse_pending(conn) if "wh_uploads" in tables else None
    row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    return ReferencePending(prefixes=prefixes, warehouse=warehouse, db_now=row[0])
