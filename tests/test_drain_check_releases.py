"""rudder-drain-check against jobsdbs built as rudder-server v1.62.1 and v1.83.0 build them.

The truth is rudder-server's own notion of pending (tests.support.rudder_jobsdb.reference), over
the databases tests.support.rudder_jobsdb.builder builds per release:

* the scenarios of issue 13 (per-consumer status, pre-drop phantoms, a jobs table without its
  status table, pending warehouse uploads, a warehouse in its own database, plus ordinary and
  compacted datasets), for both releases;
* generated scenarios (hypothesis): the check's verdict, counts and oldest age equal the
  reference's.

``RUDDER_HA_DRAIN_CHECK_SCRIPT=<file>`` runs these tests against another version of the script
(e.g. ``git show <commit>:ami/bin/rudder-drain-check``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import jobsdb as simple_jobsdb
from tests.support.postgres import ConnectionParams, PostgresServer, jobsdb, postgres_server, psql_client  # noqa: F401
from tests.support.rudder_jobsdb import reference as ref
from tests.support.rudder_jobsdb.builder import JobsdbBuilder
from tests.support.rudder_jobsdb.drain_check import (
    EXIT_CANNOT_TELL,
    EXIT_DRAINED,
    EXIT_PENDING,
    DrainCheckRun,
    run_drain_check,
)
from tests.support.rudder_jobsdb.releases import NON_TERMINAL_STATES, SUPPORTED, TERMINAL_STATES, V1_83_0, Release
from tests.support.rudder_jobsdb.scenarios import SCENARIOS, Expected

AGE_SLACK_SECONDS = 60.0
CODE_FOR_VERDICT = {"drained": EXIT_DRAINED, "pending": EXIT_PENDING, "cannot tell": EXIT_CANNOT_TELL}
RELEASES = pytest.mark.parametrize("release", SUPPORTED, ids=lambda r: r.label)


@pytest.fixture(scope="module")
def psql(postgres_server: PostgresServer) -> str:  # noqa: F811
    """The psql client."""
    return psql_client(postgres_server.bindir)


@pytest.fixture
def conn(jobsdb: ConnectionParams) -> Iterator[Any]:  # noqa: F811
    """An autocommit connection to the test's fresh database."""
    with jobsdb.connect() as connection:
        yield connection


def check(params: ConnectionParams, psql: str, tmp_path: Path, expected: Expected | None = None) -> DrainCheckRun:
    """Run the drain check on ``params``'s database."""
    extra = expected.extra_env if expected else {}
    return run_drain_check(params.jobs_db_env(), psql=psql, workdir=tmp_path / "check", extra_env=extra)


def assert_matches(run: DrainCheckRun, expected: Expected) -> None:
    """The check says what rudder-server's notion says (exit code, count, oldest age, reason)."""
    assert run.code == CODE_FOR_VERDICT[expected.verdict], (run.code, run.data, run.stderr)
    if expected.verdict == "cannot tell":
        assert expected.reason is not None and expected.reason in run.data["error"], run.data
        return
    assert run.data["pending_jobs"] == expected.pending_jobs, run.data
    if expected.oldest_age_at_least is not None:
        age = run.data["oldest_pending_age_seconds"]
        assert expected.oldest_age_at_least <= age < expected.oldest_age_at_least + AGE_SLACK_SECONDS, run.data


def assert_agrees_with_reference(run: DrainCheckRun, truth: ref.ReferencePending) -> None:
    """Verdict, total, per-prefix counts, warehouse counts and oldest age equal the reference's."""
    assert run.code == (EXIT_PENDING if truth.total else EXIT_DRAINED), (run.data, truth)
    assert run.data["pending_jobs"] == truth.total
    prefixes = run.data["prefixes"]
    for name, entry in truth.prefixes.items():
        assert prefixes[name]["pending_jobs"] == entry.pending_jobs, (name, run.data, truth)
        assert prefixes[name]["datasets"] == entry.datasets, (name, run.data, truth)
    if truth.warehouse is not None:
        assert prefixes["warehouse"]["pending_uploads"] == truth.warehouse.uploads
        assert prefixes["warehouse"]["pending_staging_files"] == truth.warehouse.staging_files
    assert set(prefixes) == set(truth.prefixes) | ({"warehouse"} if truth.warehouse is not None else set())
    oldest = truth.oldest_age_seconds()
    if oldest is None:
        assert run.data["oldest_pending_age_seconds"] is None
    else:
        assert oldest - 1 <= run.data["oldest_pending_age_seconds"] < oldest + AGE_SLACK_SECONDS


# --------------------------------------------------------------------------------------------
# issue 13's scenarios, per release
# --------------------------------------------------------------------------------------------


@RELEASES
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_scenario_verdict(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    psql: str,
    tmp_path: Path,
    release: Release,
    scenario: str,
) -> None:
    """Every scenario: the check's verdict is rudder-server's (and the reference agrees where it applies)."""
    expected = SCENARIOS[scenario](conn, release, jobsdb)

    run = check(jobsdb, psql, tmp_path, expected)

    assert_matches(run, expected)
    if not expected.reference_applies:
        return
    if expected.verdict == "cannot tell":
        with pytest.raises(ref.ServerWouldNotStart):
            ref.reference_pending(conn)
    else:
        assert_agrees_with_reference(run, ref.reference_pending(conn))


@RELEASES
def test_per_consumer_jobs_finish_when_every_consumer_has(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    psql: str,
    tmp_path: Path,
    release: Release,
) -> None:
    """Finding 1, continued: the check turns drained exactly when the last consumer finishes."""
    SCENARIOS["per_consumer_status"](conn, release, jobsdb)
    builder = JobsdbBuilder(conn, V1_83_0)
    builder.multi_consumer_prefixes.add("proc")
    proc = builder.datasets("proc")[-1]
    unfinished = [3, 4, 5]
    job_ids = [row[0] for row in conn.execute(f"SELECT job_id FROM {proc.jobs_table} ORDER BY job_id")]
    for position in unfinished[:-1]:
        builder.set_status(proc, job_ids[position - 1], "aborted", consumer="dest-b")
    assert check(jobsdb, psql, tmp_path).data["pending_jobs"] == 1

    builder.set_status(proc, job_ids[unfinished[-1] - 1], "succeeded", consumer="dest-b")
    run = check(jobsdb, psql, tmp_path)

    assert run.code == EXIT_DRAINED, run.data
    assert ref.reference_pending(conn).verdict == "drained"


@RELEASES
def test_pre_drop_datasets_once_dropped_change_nothing(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    psql: str,
    tmp_path: Path,
    release: Release,
) -> None:
    """Finding 2, continued: the background drop of the pre-drop datasets leaves the verdict as it was."""
    expected = SCENARIOS["pre_drop_phantoms"](conn, release, jobsdb)
    before = check(jobsdb, psql, tmp_path)
    dropped = JobsdbBuilder(conn, V1_83_0).drop_pre_drop_datasets()

    after = check(jobsdb, psql, tmp_path)

    assert [(ds.prefix, ds.index) for ds in dropped] == [("gw", "1"), ("gw", "2")]
    for run in (before, after):
        assert_matches(run, expected)
        assert run.data["prefixes"]["gw"]["datasets"] == 2  # 2_1 and 3


@RELEASES
def test_a_lone_warehouse_table_is_cannot_tell(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    psql: str,
    tmp_path: Path,
    release: Release,
) -> None:
    """wh_uploads without wh_staging_files is not understood: cannot tell."""
    SCENARIOS["warehouse_uploads"](conn, release, jobsdb)
    conn.execute("DROP TABLE wh_staging_files CASCADE")

    run = check(jobsdb, psql, tmp_path)

    assert run.code == EXIT_CANNOT_TELL
    assert "wh_uploads exists without wh_staging_files" in run.data["error"]


@RELEASES
def test_warehouse_can_be_left_out(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    psql: str,
    tmp_path: Path,
    release: Release,
) -> None:
    """--prefix-exclude warehouse: the upload state is not read (nor its own database refused)."""
    expected = SCENARIOS["warehouse_own_database"](conn, release, jobsdb)
    SCENARIOS["warehouse_uploads"](conn, release, jobsdb)

    run = run_drain_check(
        jobsdb.jobs_db_env(),
        psql=psql,
        workdir=tmp_path / "check",
        args=["--prefix-exclude", "warehouse"],
        extra_env=expected.extra_env,
    )

    assert run.code == EXIT_DRAINED, run.data
    assert "warehouse" not in run.data["prefixes"]


def test_warehouse_password_elsewhere_is_cannot_tell(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    psql: str,
    tmp_path: Path,
) -> None:
    """HOST, USER and DB_NAME name another database, the password is not visible: cannot tell."""
    expected = SCENARIOS["warehouse_own_database"](conn, V1_83_0, jobsdb)
    env = {k: v for k, v in expected.extra_env.items() if k != "WAREHOUSE_JOBS_DB_PASSWORD"}

    run = run_drain_check(jobsdb.jobs_db_env(), psql=psql, workdir=tmp_path / "check", extra_env=env)

    assert run.code == EXIT_CANNOT_TELL
    assert "WAREHOUSE_JOBS_DB_PASSWORD" in run.data["error"]


def test_warehouse_settings_naming_the_jobsdb_are_the_shared_database(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    psql: str,
    tmp_path: Path,
) -> None:
    """WAREHOUSE_JOBS_DB_* that name the jobsdb itself: the uploads are counted as usual."""
    SCENARIOS["warehouse_uploads"](conn, V1_83_0, jobsdb)
    env = {f"WAREHOUSE_{k}": v for k, v in jobsdb.jobs_db_env().items()}

    run = run_drain_check(jobsdb.jobs_db_env(), psql=psql, workdir=tmp_path / "check", extra_env=env)

    assert run.code == EXIT_PENDING
    assert run.data["prefixes"]["warehouse"]["pending_jobs"] == 2


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("ALTER TABLE gw_jobs_1 DROP COLUMN created_at", "gw_jobs_1 lacks column(s) created_at"),
        ("ALTER TABLE gw_job_status_1 DROP COLUMN job_state CASCADE", "gw_job_status_1 lacks column(s) job_state"),
        ("ALTER TABLE proc_job_status_1 DROP COLUMN consumer CASCADE", "proc_jobs_1 has column consumers but"),
        ("ALTER TABLE proc_jobs_1 DROP COLUMN consumers CASCADE", "proc_consumers_1 exists but proc_jobs_1 has no"),
        ("ALTER TABLE wh_uploads DROP COLUMN status CASCADE", "wh_uploads lacks column(s) status"),
        ("ALTER TABLE wh_staging_files DROP COLUMN source_id CASCADE", "wh_staging_files lacks column(s) source_id"),
        (
            "DROP INDEX idx_proc_jobs_1_consumers; DROP INDEX idx_proc_jobs_1_jid_c;"
            " ALTER TABLE proc_jobs_1 ALTER COLUMN consumers DROP DEFAULT;"
            " ALTER TABLE proc_jobs_1 ALTER COLUMN consumers TYPE text USING array_to_string(consumers, ',')",
            "proc_jobs_1.consumers is not text[]",
        ),
        ("DROP TABLE proc_consumers_1; UPDATE proc_jobs_1 SET consumers = '{x}'", "without a consumers registry"),
    ],
)
def test_what_the_check_does_not_understand_is_cannot_tell(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    psql: str,
    tmp_path: Path,
    damage: str,
    reason: str,
) -> None:
    """A jobsdb shaped unlike any release's: cannot tell (69), with the reason, never drained."""
    builder = JobsdbBuilder(conn, V1_83_0)
    builder.start(["gw"])
    builder.start(["proc"], destination_isolation=True)
    builder.start_warehouse()
    for prefix in ("gw", "proc"):
        ds = builder.datasets(prefix)[0]
        for job_id in builder.store(ds, 2):
            builder.set_status(ds, job_id, "succeeded")
    assert check(jobsdb, psql, tmp_path).code == EXIT_DRAINED
    conn.execute(damage)

    run = check(jobsdb, psql, tmp_path)

    assert run.code == EXIT_CANNOT_TELL, run.data
    assert reason in run.data["error"]


# --------------------------------------------------------------------------------------------
# agreement with rudder-server's notion over generated scenarios
# --------------------------------------------------------------------------------------------

STATES = st.sampled_from((*TERMINAL_STATES, *NON_TERMINAL_STATES))
HISTORY = st.lists(STATES, max_size=3)
JOB = st.tuples(st.integers(min_value=0, max_value=50_000), HISTORY)
CONSUMERS = ("dest-a", "dest-b", "dest-c")
CONSUMER_JOB = st.tuples(
    st.integers(min_value=0, max_value=50_000),
    st.lists(st.sampled_from(CONSUMERS), min_size=1, max_size=3, unique=True),
    st.dictionaries(st.sampled_from(CONSUMERS), HISTORY, max_size=3),
)
WAREHOUSE = st.lists(
    st.tuples(
        st.sampled_from(("src-1", "src-2")),
        st.integers(min_value=1, max_value=3),
        st.one_of(st.none(), st.sampled_from(("waiting", "exporting_data", "failed", "exported_data", "aborted"))),
    ),
    max_size=4,
)


@st.composite
def layouts(draw: st.DrawFn, release: Release) -> dict[str, Any]:
    """A jobsdb layout: datasets with job histories, an optional compaction, proc, warehouse."""
    prefixes = draw(
        st.dictionaries(
            st.sampled_from(("gw", "rt", "batch_rt")),
            st.lists(st.lists(JOB, max_size=4), min_size=1, max_size=3),
            min_size=1,
            max_size=3,
        )
    )
    return {
        "prefixes": prefixes,
        "compact": draw(st.booleans()),
        "after_compaction": draw(st.lists(STATES, max_size=3)),
        "proc": draw(st.lists(CONSUMER_JOB, max_size=4)) if release.destination_isolation else [],
        "warehouse": draw(st.one_of(st.none(), WAREHOUSE)),
    }


def build_layout(conn: Any, release: Release, layout: dict[str, Any]) -> None:
    """Build a generated layout as ``release`` would."""
    simple_jobsdb.reset_schema(conn)
    builder = JobsdbBuilder(conn, release)
    builder.start(sorted(layout["prefixes"]))
    for prefix, datasets in sorted(layout["prefixes"].items()):
        for number, jobs in enumerate(datasets):
            ds = builder.datasets(prefix)[-1] if number == 0 else builder.add_dataset(prefix)
            for age, history in jobs:
                (job_id,) = builder.store(ds, 1, age_seconds=age)
                for state in history:
                    builder.set_status(ds, job_id, state)
        live = builder.datasets(prefix)
        if layout["compact"] and len(live) > 1:
            compacted = builder.compact(prefix, live[:-1])
            if compacted is not None:
                moved = [row[0] for row in conn.execute(f"SELECT job_id FROM {compacted.jobs_table} ORDER BY 1")]
                for job_id, state in zip(moved, layout["after_compaction"], strict=False):
                    builder.set_status(compacted, job_id, state)
    if layout["proc"]:
        builder.start(["proc"], destination_isolation=True)
        proc = builder.datasets("proc")[-1]
        for age, consumers, histories in layout["proc"]:
            (job_id,) = builder.store(proc, 1, age_seconds=age, consumers=consumers)
            for consumer, history in sorted(histories.items()):
                for state in history:
                    builder.set_status(proc, job_id, state, consumer=consumer)
    if layout["warehouse"] is not None:
        warehouse = builder.start_warehouse()
        for source, files, upload_status in layout["warehouse"]:
            staged = [warehouse.stage_file(source, "dst-wh", age_seconds=120) for _ in range(files)]
            if upload_status is not None:
                warehouse.create_upload(source, "dst-wh", staged, status=upload_status)


def _agreement(conn: Any, params: ConnectionParams, psql: str, tmp_path: Path, release: Release, layout: Any) -> None:
    build_layout(conn, release, layout)
    truth = ref.reference_pending(conn)

    run = check(params, psql, tmp_path)

    assert_agrees_with_reference(run, truth)


AGREEMENT_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@AGREEMENT_SETTINGS
@given(layout=layouts(SUPPORTED[0]))
def test_agrees_with_rudder_server_v1_62_1(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    psql: str,
    tmp_path: Path,
    layout: dict[str, Any],
) -> None:
    """Generated v1.62.1 jobsdbs (compaction drops its sources): the check agrees with the reference."""
    _agreement(conn, jobsdb, psql, tmp_path, SUPPORTED[0], layout)


@AGREEMENT_SETTINGS
@given(layout=layouts(SUPPORTED[1]))
def test_agrees_with_rudder_server_v1_83_0(
    conn: Any,
    jobsdb: ConnectionParams,  # noqa: F811
    psql: str,
    tmp_path: Path,
    layout: dict[str, Any],
) -> None:
    """Generated v1.83.0 jobsdbs (pre-drop compaction, multi-consumer proc, warehouse): the check agrees."""
    _agreement(conn, jobsdb, psql, tmp_path, SUPPORTED[1], layout)
