"""The test jobsdb builder builds what each rudder-server release builds, and the reference reads it.

These pin the facts the drain check's tests rest on: migration bookkeeping, the columns,
indexes and views per release, the multi-consumer flip, compaction (drop before v1.77,
pre-drop after), upgrades, the warehouse tables, and rudder-server's notion of pending.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.postgres import ConnectionParams, PostgresServer, jobsdb, postgres_server  # noqa: F401
from tests.support.rudder_jobsdb import reference as ref
from tests.support.rudder_jobsdb.builder import Dataset, JobsdbBuilder, index_key
from tests.support.rudder_jobsdb.releases import PRE_DROP_COMMENT, SUPPORTED, V1_62_1, V1_83_0, Release

RELEASES = pytest.mark.parametrize("release", SUPPORTED, ids=lambda r: r.label)


@pytest.fixture
def conn(jobsdb: ConnectionParams) -> Iterator[Any]:  # noqa: F811
    """An autocommit connection to the test's fresh database."""
    with jobsdb.connect() as connection:
        yield connection


def columns(conn: Any, table: str) -> list[str]:
    """A table's columns in order."""
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped"
        " ORDER BY attnum",
        [table],
    ).fetchall()
    return [row[0] for row in rows]


def relations(conn: Any, like: str) -> set[str]:
    """Names of tables, views and indexes (not sequences or primary keys) in public matching a LIKE pattern."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'"
        " WHERE c.relname LIKE %s AND c.relkind IN ('r', 'v', 'i') AND c.relname NOT LIKE '%%\\_pkey'",
        [like],
    ).fetchall()
    return {row[0] for row in rows}


def comment(conn: Any, table: str) -> str | None:
    """A table's comment."""
    row = conn.execute("SELECT obj_description(to_regclass(%s), 'pg_class')", [table]).fetchone()
    return row[0] if row else None


def migration_version(conn: Any, table: str) -> tuple[int, bool]:
    """golang-migrate's (version, dirty) row."""
    row = conn.execute(f"SELECT version, dirty FROM {table}").fetchone()
    assert row is not None
    return int(row[0]), bool(row[1])


@RELEASES
def test_start_records_the_release_migrations_and_creates_the_first_dataset(conn: Any, release: Release) -> None:
    JobsdbBuilder(conn, release).start(["gw", "rt"])

    for prefix in ("gw", "rt"):
        assert migration_version(conn, f"{prefix}_schema_migrations") == (release.jobsdb_migration, False)
        assert migration_version(conn, f"{prefix}_runalways_migrations") == (release.jobsdb_always_migration, False)
        assert "owner" in columns(conn, f"{prefix}_journal")
        assert relations(conn, f"{prefix}\\_job%") == {f"{prefix}_jobs_1", f"{prefix}_job_status_1"}
    assert migration_version(conn, "node_migrations") == (release.node_migration, False)


def test_v1_62_1_dataset_shape(conn: Any) -> None:
    builder = JobsdbBuilder(conn, V1_62_1)
    builder.start(["gw"])

    assert columns(conn, "gw_jobs_1") == [
        "job_id", "workspace_id", "uuid", "user_id", "parameters", "custom_val", "event_payload",
        "event_count", "created_at", "expire_at",
    ]  # fmt: skip
    assert columns(conn, "gw_job_status_1") == [
        "id", "job_id", "job_state", "attempt", "exec_time", "retry_time", "error_code", "error_response",
        "parameters",
    ]  # fmt: skip
    assert relations(conn, "idx\\_gw%") == {
        "idx_gw_jobs_1_ws", "idx_gw_jobs_1_cv", "idx_gw_jobs_1_source_id", "idx_gw_jobs_1_destination_id",
        "idx_gw_job_status_1_jid_id_js", "idx_gw_job_status_1_id_js",
    }  # fmt: skip
    assert relations(conn, "v\\_last%") == {"v_last_gw_job_status_1"}
    assert comment(conn, "gw_jobs_1") is None


def test_v1_83_0_dataset_shape_single_and_multi_consumer(conn: Any) -> None:
    builder = JobsdbBuilder(conn, V1_83_0)
    builder.start(["gw"])
    builder.start(["proc"], destination_isolation=True)

    assert columns(conn, "gw_jobs_1")[-1] == "consumers" and "partition_id" in columns(conn, "gw_jobs_1")
    assert columns(conn, "gw_job_status_1")[-1] == "consumer"
    assert (comment(conn, "gw_jobs_1") or "").startswith("rudder:created_at:")
    assert "gw_consumers_1" not in relations(conn, "gw%")
    assert relations(conn, "proc\\_consumers%") == {"proc_consumers_1"}
    assert relations(conn, "v\\_last%") == {
        "v_last_gw_job_status_1",
        "v_last_proc_job_status_1",
        "v_last_c_proc_job_status_1",
    }
    assert {"idx_proc_jobs_1_consumers", "idx_proc_job_status_1_jid_c_id_js"} <= relations(conn, "idx\\_proc%")
    options = conn.execute("SELECT reloptions FROM pg_class WHERE relname = 'proc_jobs_1'").fetchone()
    assert options == (["autovacuum_vacuum_insert_scale_factor=0.02"],)


def test_destination_isolation_needs_v1_82(conn: Any) -> None:
    with pytest.raises(ValueError, match="no destination isolation"):
        JobsdbBuilder(conn, V1_62_1).start(["proc"], destination_isolation=True)


def test_consumers_are_registered_and_statuses_are_per_consumer(conn: Any) -> None:
    builder = JobsdbBuilder(conn, V1_83_0)
    builder.start(["proc"], destination_isolation=True)
    proc = builder.datasets("proc")[0]
    one, two = builder.store(proc, 2, consumers=["dest-b", "dest-a"])
    builder.set_statuses(proc, [(one, "succeeded", "dest-a"), (one, "failed", "dest-b"), (two, "succeeded", "dest-a")])

    registry = {row[0] for row in conn.execute("SELECT consumer FROM proc_consumers_1")}
    latest = conn.execute("SELECT job_id, consumer, job_state FROM v_last_c_proc_job_status_1 ORDER BY 1, 2").fetchall()
    assert registry == {"dest-a", "dest-b"}
    assert latest == [(one, "dest-a", "succeeded"), (one, "dest-b", "failed"), (two, "dest-a", "succeeded")]
    assert ref.reference_pending(conn).prefixes["proc"].pending_jobs == 2  # one: dest-b failed; two: dest-b never ran


def test_job_ids_continue_across_datasets(conn: Any) -> None:
    builder = JobsdbBuilder(conn, V1_83_0)
    builder.start(["gw"])
    first = builder.store(builder.datasets("gw")[0], 3)

    second = builder.store(builder.add_dataset("gw"), 2)

    assert second == [first[-1] + 1, first[-1] + 2]


@RELEASES
def test_compaction_moves_pending_jobs_and_retires_its_sources(conn: Any, release: Release) -> None:
    builder = JobsdbBuilder(conn, release)
    builder.start(["rt"])
    first = builder.datasets("rt")[0]
    done, failed, fresh = builder.store(first, 3, age_seconds=100)
    builder.set_statuses(first, [(done, "executing", ""), (done, "succeeded", ""), (failed, "failed", "")])
    builder.add_dataset("rt")

    compacted = builder.compact("rt", [first])

    assert compacted == Dataset("rt", "1_1")
    assert [row[0] for row in conn.execute("SELECT job_id FROM rt_jobs_1_1 ORDER BY 1")] == [failed, fresh]
    assert conn.execute("SELECT job_id, job_state FROM rt_job_status_1_1").fetchall() == [(failed, "failed")]
    if release.pre_drop:
        assert comment(conn, "rt_jobs_1") == comment(conn, "rt_job_status_1") == PRE_DROP_COMMENT
        assert builder.drop_pre_drop_datasets() == [first]
    assert relations(conn, "rt\\_jobs\\_1") == set()
    assert [ds.index for ds in builder.datasets("rt")] == ["1_1", "2"]
    assert ref.reference_pending(conn).prefixes["rt"].pending_jobs == 2


def test_multi_consumer_compaction_keeps_only_unfinished_consumers(conn: Any) -> None:
    builder = JobsdbBuilder(conn, V1_83_0)
    builder.start(["proc"], destination_isolation=True)
    first = builder.datasets("proc")[0]
    half, whole = builder.store(first, 2, consumers=["dest-a", "dest-b"])
    builder.set_statuses(
        first,
        [(half, "succeeded", "dest-a"), (half, "failed", "dest-b"), (whole, "succeeded", "dest-a")],
    )
    builder.set_status(first, whole, "aborted", consumer="dest-b")
    builder.add_dataset("proc")

    compacted = builder.compact("proc", [first])

    assert compacted is not None
    assert conn.execute(f"SELECT job_id, consumers FROM {compacted.jobs_table}").fetchall() == [(half, ["dest-b"])]
    assert conn.execute(f"SELECT job_id, consumer, job_state FROM {compacted.status_table}").fetchall() == [
        (half, "dest-b", "failed")
    ]
    assert {row[0] for row in conn.execute(f"SELECT consumer FROM {compacted.registry_table}")} == {"dest-b"}
    assert ref.reference_pending(conn).prefixes["proc"].pending_jobs == 1  # the pre-drop copy is not counted


def test_nothing_pending_compacts_to_no_dataset(conn: Any) -> None:
    builder = JobsdbBuilder(conn, V1_83_0)
    builder.start(["gw"])
    first = builder.datasets("gw")[0]
    (job,) = builder.store(first, 1)
    builder.set_status(first, job, "succeeded")
    builder.add_dataset("gw")

    assert builder.compact("gw", [first]) is None
    assert [ds.index for ds in builder.datasets("gw")] == ["2"]
    with pytest.raises(ValueError, match="never compacts"):
        builder.compact("gw", builder.datasets("gw"))


def test_upgrade_from_v1_62_1_adds_the_new_columns_to_old_datasets(conn: Any) -> None:
    builder = JobsdbBuilder(conn, V1_62_1)
    builder.start(["gw", "proc"])
    old = builder.datasets("proc")[0]
    (job,) = builder.store(old, 1)

    builder.upgrade(V1_83_0, destination_isolation=True)

    assert {"partition_id", "consumers"} <= set(columns(conn, "proc_jobs_1"))
    assert "consumer" in columns(conn, "proc_job_status_1")
    assert conn.execute("SELECT consumers FROM proc_jobs_1").fetchone() == ([""],)
    assert [row[0] for row in conn.execute("SELECT consumer FROM proc_consumers_1")] == [""]
    assert "v_last_c_proc_job_status_1" in relations(conn, "v\\_last\\_c%")
    assert migration_version(conn, "gw_schema_migrations") == (V1_83_0.jobsdb_migration, False)
    builder.set_status(old, job, "succeeded")
    assert ref.reference_pending(conn).total == 0


@RELEASES
def test_warehouse_tables_and_reference_counts(conn: Any, release: Release) -> None:
    builder = JobsdbBuilder(conn, release)
    builder.start(["gw"])
    warehouse = builder.start_warehouse()
    files = [warehouse.stage_file("src", "dst", age_seconds=30) for _ in range(3)]
    upload = warehouse.create_upload("src", "dst", files[:2])
    other_destination = warehouse.stage_file("src", "dst-2")

    truth = ref.reference_pending(conn)

    assert migration_version(conn, "wh_schema_migrations") == (release.warehouse_migration, False)
    assert truth.warehouse is not None
    assert (truth.warehouse.uploads, truth.warehouse.staging_files) == (1, 2)  # files[2] and other_destination
    warehouse.set_upload_status(upload, "exported_data")
    warehouse.create_upload("src", "dst", [files[2]], status="aborted")
    warehouse.create_upload("src", "dst-2", [other_destination], status="exported_data")
    assert ref.reference_pending(conn).total == 0


def test_reference_refuses_a_jobs_table_without_status_table(conn: Any) -> None:
    builder = JobsdbBuilder(conn, V1_83_0)
    builder.start(["gw"])
    conn.execute("DROP TABLE gw_job_status_1 CASCADE")

    with pytest.raises(ref.ServerWouldNotStart, match="gw_jobs_1"):
        ref.reference_pending(conn)


def test_index_order() -> None:
    assert sorted(["10", "2_1", "2", "1_1", "1"], key=index_key) == ["1", "1_1", "2", "2_1", "10"]
