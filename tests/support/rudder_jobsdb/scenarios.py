"""The jobsdb scenarios of issue 13, each built as a given rudder-server release leaves the database.

A scenario builds one database with :class:`~.builder.JobsdbBuilder` and returns what
rudder-server's notion of pending says about it (:class:`Expected`). Per-consumer status
(v1.82+) and pre-drop datasets (v1.77+) cannot come from v1.62.1 itself; for that release those
scenarios start from a jobsdb v1.62.1 built (with its datasets and jobs) and then run it with
v1.83.0, which is the upgrade the shipped environments make.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import psycopg

from tests.support.postgres import ConnectionParams
from tests.support.rudder_jobsdb.builder import JobsdbBuilder
from tests.support.rudder_jobsdb.releases import NEWEST, Release


@dataclasses.dataclass(frozen=True)
class Expected:
    """rudder-server's verdict on a scenario, and what the check must say about it."""

    verdict: str
    """``drained``, ``pending`` or ``cannot tell``."""
    pending_jobs: int | None = None
    oldest_age_at_least: float | None = None
    """Lower bound of the oldest pending age (None: not checked)."""
    reason: str | None = None
    """Part of the "cannot tell" reason."""
    extra_env: dict[str, str] = dataclasses.field(default_factory=dict)
    """Environment of the check beyond JOBS_DB_*."""
    reference_applies: bool = True
    """Whether :func:`~.reference.reference_pending` of this database is the truth (not when the
    warehouse is configured to live elsewhere)."""


Scenario = Callable[[psycopg.Connection[Any], Release, ConnectionParams], Expected]


def _finished_traffic(builder: JobsdbBuilder, prefixes: tuple[str, ...] = ("gw", "rt", "batch_rt")) -> None:
    """Start the jobsdbs and run some jobs through to terminal states."""
    builder.start(list(prefixes))
    for number, prefix in enumerate(prefixes):
        ds = builder.datasets(prefix)[-1]
        for job_id, history in zip(
            builder.store(ds, 4, age_seconds=3_600 + number),
            (["executing", "succeeded"], ["failed", "executing", "aborted"], ["filtered"], ["migrated"]),
            strict=True,
        ):
            for state in history:
                builder.set_status(ds, job_id, state)


def _on_newest(builder: JobsdbBuilder) -> None:
    """An older release's jobsdb is taken over by the newest release."""
    if builder.release != NEWEST:
        builder.upgrade(NEWEST)


def ordinary_drained(conn: psycopg.Connection[Any], release: Release, _params: ConnectionParams) -> Expected:
    """Every job terminal in gw, rt, batch_rt; a freshly rotated empty dataset; warehouse all exported."""
    builder = JobsdbBuilder(conn, release)
    _finished_traffic(builder)
    builder.add_dataset("gw")
    warehouse = builder.start_warehouse()
    files = [warehouse.stage_file("src-1", "dst-wh") for _ in range(2)]
    warehouse.create_upload("src-1", "dst-wh", files, status="exported_data")
    return Expected("drained", 0)


def compacted_pending(conn: psycopg.Connection[Any], release: Release, _params: ConnectionParams) -> Expected:
    """gw datasets 1 and 2 compacted into 2_1, which still holds 2 pending jobs."""
    builder = JobsdbBuilder(conn, release)
    _finished_traffic(builder)
    first = builder.datasets("gw")[-1]
    pending = builder.store(first, 2, age_seconds=5_400)
    builder.set_status(first, pending[0], "executing")
    builder.set_status(first, pending[0], "failed")
    second = builder.add_dataset("gw")
    for job_id in builder.store(second, 3, age_seconds=600):
        builder.set_status(second, job_id, "succeeded")
    builder.add_dataset("gw")
    builder.compact("gw", [first, second])
    return Expected("pending", 2, oldest_age_at_least=5_400)


def per_consumer_status(conn: psycopg.Connection[Any], release: Release, _params: ConnectionParams) -> Expected:
    """Finding 1: proc under destination isolation; 3 jobs whose latest row is one consumer's success
    while the other consumer has not finished."""
    builder = JobsdbBuilder(conn, release)
    _finished_traffic(builder)
    _on_newest(builder)
    builder.start(["proc"], destination_isolation=True)
    proc = builder.datasets("proc")[-1]
    done_a, done_b, failing, executing, unpicked = builder.store(
        proc, 5, consumers=["dest-a", "dest-b"], age_seconds=900
    )
    for job_id in (done_a, done_b):
        builder.set_statuses(proc, [(job_id, "succeeded", "dest-b"), (job_id, "succeeded", "dest-a")])
    builder.set_statuses(proc, [(failing, "executing", "dest-b"), (failing, "failed", "dest-b")])
    builder.set_statuses(proc, [(executing, "executing", "dest-b")])
    for job_id in (failing, executing, unpicked):
        builder.set_status(proc, job_id, "succeeded", consumer="dest-a")  # the latest row of each job
    return Expected("pending", 3, oldest_age_at_least=900)


def pre_drop_phantoms(conn: psycopg.Connection[Any], release: Release, _params: ConnectionParams) -> Expected:
    """Finding 2: 5 old jobs moved by compaction and then delivered; their pre-drop source still shows
    them unfinished. One fresh job is really pending: the count is 1 and the oldest age is its age."""
    builder = JobsdbBuilder(conn, release)
    _finished_traffic(builder)
    first = builder.datasets("gw")[-1]
    old = builder.store(first, 5, age_seconds=7_200)
    for job_id in old:
        builder.set_statuses(first, [(job_id, "executing", ""), (job_id, "failed", "")])
    _on_newest(builder)
    newer = builder.add_dataset("gw")
    builder.store(newer, 1, age_seconds=60)
    builder.add_dataset("gw")
    compacted = builder.compact("gw", [first, newer])
    assert compacted is not None
    for job_id in old:
        builder.set_status(compacted, job_id, "succeeded")
    return Expected("pending", 1, oldest_age_at_least=60)


def jobs_without_status(conn: psycopg.Connection[Any], release: Release, _params: ConnectionParams) -> Expected:
    """A jobs table holding 4 jobs whose status table is gone (a half-restored backup, a manual drop)."""
    builder = JobsdbBuilder(conn, release)
    _finished_traffic(builder)
    orphan = builder.add_dataset("rt")
    builder.store(orphan, 4, age_seconds=300)
    conn.execute(f'DROP TABLE "{orphan.status_table}" CASCADE')
    return Expected("cannot tell", reason=f"{orphan.jobs_table} has no status table")


def warehouse_uploads(conn: psycopg.Connection[Any], release: Release, _params: ConnectionParams) -> Expected:
    """Every job terminal, but the embedded warehouse has an upload exporting and a file not yet taken."""
    builder = JobsdbBuilder(conn, release)
    _finished_traffic(builder)
    warehouse = builder.start_warehouse()
    exported = [warehouse.stage_file("src-1", "dst-wh", age_seconds=7_200) for _ in range(2)]
    warehouse.create_upload("src-1", "dst-wh", exported, status="exported_data")
    exporting = [warehouse.stage_file("src-1", "dst-wh", age_seconds=1_800) for _ in range(2)]
    warehouse.create_upload("src-1", "dst-wh", exporting, status="exporting_data")
    warehouse.stage_file("src-1", "dst-wh", age_seconds=300)
    return Expected("pending", 2, oldest_age_at_least=300)


def warehouse_own_database(conn: psycopg.Connection[Any], release: Release, params: ConnectionParams) -> Expected:
    """Every job terminal; WAREHOUSE_JOBS_DB_* send the warehouse to a database of its own."""
    builder = JobsdbBuilder(conn, release)
    _finished_traffic(builder)
    return Expected(
        "cannot tell",
        reason="its own database",
        extra_env={
            "WAREHOUSE_JOBS_DB_HOST": params.host,
            "WAREHOUSE_JOBS_DB_PORT": str(params.port),
            "WAREHOUSE_JOBS_DB_USER": params.user,
            "WAREHOUSE_JOBS_DB_PASSWORD": params.password,
            "WAREHOUSE_JOBS_DB_DB_NAME": "rudder_warehouse",
        },
        reference_applies=False,
    )


SCENARIOS: dict[str, Scenario] = {
    "ordinary_drained": ordinary_drained,
    "compacted_pending": compacted_pending,
    "per_consumer_status": per_consumer_status,
    "pre_drop_phantoms": pre_drop_phantoms,
    "jobs_without_status": jobs_without_status,
    "warehouse_uploads": warehouse_uploads,
    "warehouse_own_database": warehouse_own_database,
}
FINDINGS = ("per_consumer_status", "pre_drop_phantoms", "jobs_without_status", "warehouse_uploads")
"""The scenarios today's main script gets wrong."""
