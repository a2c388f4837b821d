"""A jobsdb built the way a given rudder-server release builds it, in a test database.

Emulates, for the releases in :mod:`.releases`, what rudder-server does to its PostgreSQL
jobsdb (written from the facts file and from reading rudder-server's public sources, not
copied from them):

* **Start** (:meth:`JobsdbBuilder.start`): per jobsdb prefix the journal table and the
  ``readonly_table_exception()`` function of the migration templates, the dataset
  migrations of the release applied to every existing dataset (``partition_id``,
  ``consumers``/``consumer`` and the re-created ``v_last_`` view), the versions recorded in
  ``<prefix>_schema_migrations`` / ``<prefix>_runalways_migrations`` (golang-migrate's
  ``version``/``dirty`` table) and ``node_migrations``; a first dataset when a prefix has none;
  for ``proc`` under destination isolation (v1.82+) the multi-consumer flip: a
  ``v_last_c_`` view and a ``<prefix>_consumers_<idx>`` registry seeded with ``''`` for every
  dataset without one.
* **Dataset creation** (:meth:`JobsdbBuilder.add_dataset`): the release's jobs and status
  columns, indexes, ``v_last_`` view (and for multi-consumer datasets the registry, the
  per-consumer index and the ``v_last_c_`` view), the ``rudder:created_at:`` comment (v1.83)
  and the job-id sequence continuing after the previous dataset.
* **Writes**: jobs (with ``consumers`` registered in the registry) and status rows (one per
  consumer in multi-consumer datasets).
* **Compaction** (:meth:`JobsdbBuilder.compact`): the still-pending jobs of the sources move
  to a new dataset inserted after them (``2_1``), with their latest statuses; in a
  multi-consumer dataset a job moves with the consumers that are not done yet. The sources are
  then dropped (v1.62) or marked ``rudder:pre_drop:v1`` on both tables (v1.77+) until the
  background loop (:meth:`JobsdbBuilder.drop_pre_drop_datasets`) drops them.
* **Upgrade** (:meth:`JobsdbBuilder.upgrade`): a newer release starting on the same database.

The warehouse's tables live in :mod:`.warehouse`; rudder-server's own notion of pending, to
compare the drain check with, in :mod:`.reference`.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from tests.support.rudder_jobsdb import warehouse
from tests.support.rudder_jobsdb.releases import NON_TERMINAL_STATES, PRE_DROP_COMMENT, TERMINAL_STATES, Release

INDEX_RE = re.compile(r"^[0-9]+(_[0-9]+)*$")
PARAMETER_FILTERS = ("source_id", "destination_id")


def index_key(index: str) -> tuple[int, ...]:
    """Sort key of a dataset index (``2`` < ``2_1`` < ``3``)."""
    return tuple(int(part) for part in index.split("_"))


@dataclasses.dataclass(frozen=True)
class Dataset:
    """One dataset of a jobsdb prefix."""

    prefix: str
    index: str

    @property
    def jobs_table(self) -> str:
        """``<prefix>_jobs_<index>``."""
        return f"{self.prefix}_jobs_{self.index}"

    @property
    def status_table(self) -> str:
        """``<prefix>_job_status_<index>``."""
        return f"{self.prefix}_job_status_{self.index}"

    @property
    def registry_table(self) -> str:
        """``<prefix>_consumers_<index>``: the consumers registry of a multi-consumer dataset."""
        return f"{self.prefix}_consumers_{self.index}"


class JobsdbBuilder:
    """Builds and changes one database's jobsdb as a rudder-server release would.

    ``conn`` is an autocommit psycopg 3 connection; each server operation runs in its own
    transaction, as the server's do.
    """

    def __init__(self, conn: psycopg.Connection[Any], release: Release) -> None:
        """Work on ``conn``'s database as ``release`` would."""
        self.conn = conn
        self.release = release
        self.multi_consumer_prefixes: set[str] = set()
        self.prefixes: list[str] = []

    # -- catalogue ---------------------------------------------------------------------

    def _table_exists(self, name: str) -> bool:
        row = self.conn.execute("SELECT to_regclass(%s) IS NOT NULL", [f'public."{name}"']).fetchone()
        return bool(row and row[0])

    def _comment(self, name: str) -> str | None:
        row = self.conn.execute("SELECT obj_description(to_regclass(%s), 'pg_class')", [f'public."{name}"']).fetchone()
        return None if row is None else row[0]

    def datasets(self, prefix: str) -> list[Dataset]:
        """The prefix's live datasets (pre-drop ones left out), in index order."""
        rows = self.conn.execute(
            """SELECT c.relname, coalesce(d.description, '')
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
               LEFT JOIN pg_description d ON d.objoid = c.oid AND d.objsubid = 0
               WHERE c.relkind = 'r' AND c.relname LIKE %s""",
            [f"{prefix}\\_jobs\\_%"],
        ).fetchall()
        found = []
        for name, comment in rows:
            index = name[len(prefix) + len("_jobs_") :]
            if INDEX_RE.match(index) and not comment.startswith("rudder:pre_drop:"):
                status_comment = self._comment(Dataset(prefix, index).status_table) or ""
                if not status_comment.startswith("rudder:pre_drop:"):
                    found.append(Dataset(prefix, index))
        return sorted(found, key=lambda ds: index_key(ds.index))

    def is_multi_consumer(self, ds: Dataset) -> bool:
        """Whether the dataset has a consumers registry (is read per consumer)."""
        return self._table_exists(ds.registry_table)

    # -- start and migrations ----------------------------------------------------------

    def _record_migration(self, table: str, version: int) -> None:
        """golang-migrate's bookkeeping: one (version, dirty) row."""
        ident = sql.Identifier(table)
        self.conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)"
            ).format(ident)
        )
        self.conn.execute(sql.SQL("DELETE FROM {}").format(ident))
        self.conn.execute(sql.SQL("INSERT INTO {} (version, dirty) VALUES (%s, false)").format(ident), [version])

    def start(self, prefixes: Sequence[str], *, destination_isolation: bool = False) -> None:
        """What the release does at start for these jobsdbs (see the module docstring)."""
        if destination_isolation and not self.release.destination_isolation:
            raise ValueError(f"rudder-server {self.release.version} has no destination isolation")
        self._record_migration("node_migrations", self.release.node_migration)
        self.conn.execute(
            """CREATE OR REPLACE FUNCTION readonly_table_exception() RETURNS trigger LANGUAGE plpgsql AS
               $$BEGIN RAISE EXCEPTION 'table is readonly' USING ERRCODE = 'RS001'; END;$$"""
        )
        for prefix in prefixes:
            if prefix not in self.prefixes:
                self.prefixes.append(prefix)
            with self.conn.transaction():
                self.conn.execute(
                    sql.SQL(
                        """CREATE TABLE IF NOT EXISTS {} (
                               id BIGSERIAL PRIMARY KEY, operation VARCHAR(32) NOT NULL, done BOOLEAN,
                               operation_payload JSONB NOT NULL, start_time TIMESTAMP NOT NULL,
                               end_time TIMESTAMP, owner TEXT NOT NULL DEFAULT '')"""
                    ).format(sql.Identifier(f"{prefix}_journal"))
                )
                for ds in self.datasets(prefix):
                    self._migrate_dataset(ds)
                self._record_migration(f"{prefix}_schema_migrations", self.release.jobsdb_migration)
                self._record_migration(f"{prefix}_runalways_migrations", self.release.jobsdb_always_migration)
            if destination_isolation and prefix == "proc":
                self.multi_consumer_prefixes.add(prefix)
                self._multi_consumer_flip(prefix)
            if not self.datasets(prefix):
                self.add_dataset(prefix)

    def _migrate_dataset(self, ds: Dataset) -> None:
        """The release's dataset migrations on an existing dataset (idempotent)."""
        jobs, status = sql.Identifier(ds.jobs_table), sql.Identifier(ds.status_table)
        if self.release.partition_id:
            self.conn.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS partition_id TEXT NOT NULL DEFAULT ''").format(jobs)
            )
        if self.release.consumers:
            self.conn.execute(
                sql.SQL(
                    """ALTER TABLE {} ADD COLUMN IF NOT EXISTS consumers TEXT[] NOT NULL DEFAULT '{{""}}'"""
                ).format(jobs)
            )
            self.conn.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS consumer TEXT NOT NULL DEFAULT ''").format(status)
            )
            self.conn.execute(
                sql.SQL(
                    "CREATE OR REPLACE VIEW {} AS SELECT DISTINCT ON (job_id) * FROM {} ORDER BY job_id ASC, id DESC"
                ).format(sql.Identifier(f"v_last_{ds.status_table}"), status)
            )

    def _multi_consumer_flip(self, prefix: str) -> None:
        """Give every dataset without a registry the v_last_c_ view and a registry seeded with ''."""
        with self.conn.transaction():
            for ds in self.datasets(prefix):
                if self.is_multi_consumer(ds):
                    continue
                self._create_last_consumer_view(ds, replace=True)
                registry = sql.Identifier(ds.registry_table)
                self.conn.execute(sql.SQL("CREATE TABLE {} (consumer TEXT PRIMARY KEY)").format(registry))
                self.conn.execute(sql.SQL("INSERT INTO {} VALUES ('')").format(registry))

    def upgrade(self, release: Release, *, destination_isolation: bool = False) -> None:
        """A newer release starts on this database."""
        self.release = release
        self.start(list(self.prefixes), destination_isolation=destination_isolation)

    # -- datasets ----------------------------------------------------------------------

    def _create_last_consumer_view(self, ds: Dataset, *, replace: bool = False) -> None:
        self.conn.execute(
            sql.SQL(
                "CREATE {} VIEW {} AS SELECT DISTINCT ON (job_id, consumer) * FROM {} "
                "ORDER BY job_id ASC, consumer, id DESC"
            ).format(
                sql.SQL("OR REPLACE" if replace else ""),
                sql.Identifier(f"v_last_c_{ds.status_table}"),
                sql.Identifier(ds.status_table),
            )
        )

    def _create_tables(self, ds: Dataset, *, multi_consumer: bool) -> None:
        """The release's CREATE TABLEs (and registry, and creation-time comment) for one dataset."""
        release = self.release
        options = sql.SQL(" WITH (autovacuum_vacuum_insert_scale_factor = 0.02)" if release.autovacuum_options else "")
        partition = "partition_id TEXT NOT NULL DEFAULT ''," if release.partition_id else ""
        consumers = """, consumers TEXT[] NOT NULL DEFAULT '{{""}}'""" if release.consumers else ""
        consumer = ", consumer TEXT NOT NULL DEFAULT ''" if release.consumers else ""
        self.conn.execute(
            sql.SQL(
                "CREATE TABLE {} (job_id BIGSERIAL PRIMARY KEY, workspace_id TEXT NOT NULL DEFAULT '', "
                "uuid UUID NOT NULL, user_id TEXT NOT NULL, " + partition + "parameters JSONB NOT NULL, "
                "custom_val VARCHAR(64) NOT NULL, event_payload JSONB NOT NULL, "
                "event_count INTEGER NOT NULL DEFAULT 1, "
                "created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(), "
                "expire_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()" + consumers + "){}"
            ).format(sql.Identifier(ds.jobs_table), options)
        )
        self.conn.execute(
            sql.SQL(
                "CREATE TABLE {} (id BIGSERIAL, job_id BIGINT, job_state VARCHAR(64), attempt SMALLINT, "
                "exec_time TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(), "
                "retry_time TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(), error_code VARCHAR(32), "
                "error_response JSONB DEFAULT '{{}}'::JSONB, parameters JSONB DEFAULT '{{}}'::JSONB" + consumer + "){}"
            ).format(sql.Identifier(ds.status_table), options)
        )
        if multi_consumer:
            self.conn.execute(
                sql.SQL("CREATE TABLE {} (consumer TEXT PRIMARY KEY)").format(sql.Identifier(ds.registry_table))
            )
        if release.created_at_comment:
            stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            self.conn.execute(
                sql.SQL("COMMENT ON TABLE {} IS {}").format(
                    sql.Identifier(ds.jobs_table), sql.Literal(f"rudder:created_at:{stamp}")
                )
            )

    def _create_indices(self, ds: Dataset, *, multi_consumer: bool) -> None:
        """The release's indexes and views for one dataset."""
        jobs, status = ds.jobs_table, ds.status_table

        def index(suffix: str, table: str, body: str) -> None:
            self.conn.execute(
                sql.SQL("CREATE INDEX {} ON {} " + body).format(
                    sql.Identifier(f"idx_{table}_{suffix}"), sql.Identifier(table)
                )
            )

        index("ws", jobs, "(workspace_id)")
        if self.release.partition_id:
            index("partid", jobs, "(partition_id)")
        index("cv", jobs, "(custom_val)")
        for param in PARAMETER_FILTERS:
            index(param, jobs, f"USING BTREE ((parameters->>'{param}'))")
        if multi_consumer:
            index("consumers", jobs, "USING GIN (consumers)")
            index("jid_c", jobs, "(job_id) INCLUDE (consumers)")
        index("id_js", status, "(id, job_state) INCLUDE (exec_time)")
        self.conn.execute(
            sql.SQL("CREATE VIEW {} AS SELECT DISTINCT ON (job_id) * FROM {} ORDER BY job_id ASC, id DESC").format(
                sql.Identifier(f"v_last_{status}"), sql.Identifier(status)
            )
        )
        if multi_consumer:
            index("jid_c_id_js", status, "(job_id ASC, consumer, id DESC, job_state)")
            self._create_last_consumer_view(ds)
        else:
            index("jid_id_js", status, "(job_id ASC, id DESC, job_state)")

    def _journal(self, prefix: str, operation: str, payload: dict[str, Any]) -> None:
        self.conn.execute(
            sql.SQL(
                "INSERT INTO {} (operation, done, operation_payload, start_time, end_time) "
                "VALUES (%s, true, %s::jsonb, now(), now())"
            ).format(sql.Identifier(f"{prefix}_journal")),
            [operation, json.dumps(payload)],
        )

    def add_dataset(self, prefix: str) -> Dataset:
        """Create the prefix's next dataset (index after the last one) as the release does."""
        existing = self.datasets(prefix)
        next_index = str(index_key(existing[-1].index)[0] + 1) if existing else "1"
        ds = Dataset(prefix, next_index)
        multi = prefix in self.multi_consumer_prefixes
        with self.conn.transaction():
            self._create_tables(ds, multi_consumer=multi)
            self._create_indices(ds, multi_consumer=multi)
            self._journal(prefix, "ADD_DS", {"To": {"Index": ds.index}})
            if existing:
                row = self.conn.execute(
                    sql.SQL("SELECT max(job_id) FROM {}").format(sql.Identifier(existing[-1].jobs_table))
                ).fetchone()
                start = (row[0] or 0) + 1 if row else 1
                self.conn.execute(
                    sql.SQL("ALTER SEQUENCE {} MINVALUE {} START {} RESTART {}").format(
                        sql.Identifier(f"{ds.jobs_table}_job_id_seq"),
                        sql.Literal(start),
                        sql.Literal(start),
                        sql.Literal(start),
                    )
                )
        return ds

    # -- writes ------------------------------------------------------------------------

    def store(
        self,
        ds: Dataset,
        count: int,
        *,
        age_seconds: float = 0.0,
        consumers: Sequence[str] | None = None,
        workspace_id: str = "workspace-1",
        custom_val: str = "GW",
    ) -> list[int]:
        """Store ``count`` jobs created ``age_seconds`` ago (database clock); return their ids.

        ``consumers`` (multi-consumer datasets only) is the jobs' consumer list; the values are
        registered in the dataset's registry as the server does.
        """
        if count <= 0:
            return []
        columns = ["workspace_id", "uuid", "user_id", "parameters", "custom_val", "event_payload", "event_count"]
        values = ["%s", "gen_random_uuid()", "%s", "%s::jsonb", "%s", "%s::jsonb", "1"]
        params: list[Any] = [
            workspace_id,
            "user-1",
            json.dumps({"source_id": "src-1", "destination_id": "dst-1"}),
            custom_val,
            json.dumps({"type": "track", "messageId": str(uuid.uuid4())}),
        ]
        if self.release.partition_id:
            columns.append("partition_id")
            values.append("%s")
            params.append(f"{workspace_id}-0")
        if consumers is not None:
            if not self.release.consumers:
                raise ValueError(f"rudder-server {self.release.version} jobs have no consumers")
            columns.append("consumers")
            values.append("%s::text[]")
            params.append(list(consumers))
        columns += ["created_at", "expire_at"]
        values += [
            "now() - make_interval(secs => %s)",
            "now() - make_interval(secs => %s) + interval '10 days'",
        ]
        params += [float(age_seconds), float(age_seconds)]
        query = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM generate_series(1, %s) RETURNING job_id").format(
            sql.Identifier(ds.jobs_table),
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.SQL(", ".join(values)),
        )
        with self.conn.transaction():
            job_ids = sorted(row[0] for row in self.conn.execute(query, [*params, count]).fetchall())
            if self.is_multi_consumer(ds):
                self.conn.execute(
                    sql.SQL("INSERT INTO {} SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING").format(
                        sql.Identifier(ds.registry_table)
                    ),
                    [sorted(set(consumers or [""]))],
                )
        return job_ids

    def set_status(self, ds: Dataset, job_id: int, state: str, *, consumer: str = "") -> None:
        """Append a status row (the job's, or the consumer's, latest)."""
        if consumer and not self.release.consumers:
            raise ValueError(f"rudder-server {self.release.version} statuses have no consumer")
        columns = ["job_id", "job_state", "attempt", "error_code", "error_response", "parameters"]
        params: list[Any] = [job_id, state, 1, "", "{}", "{}"]
        if self.release.consumers:
            columns.append("consumer")
            params.append(consumer)
        self.conn.execute(
            sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                sql.Identifier(ds.status_table),
                sql.SQL(", ").join(sql.Identifier(c) for c in columns),
                sql.SQL(", ").join(sql.Placeholder() for _ in columns),
            ),
            params,
        )

    def set_statuses(self, ds: Dataset, rows: Iterable[tuple[int, str, str]]) -> None:
        """Append (job_id, state, consumer) rows in order."""
        for job_id, state, consumer in rows:
            self.set_status(ds, job_id, state, consumer=consumer)

    # -- compaction --------------------------------------------------------------------

    def compact(self, prefix: str, sources: Sequence[Dataset]) -> Dataset | None:
        """Compact ``sources`` (consecutive, not the newest dataset): move their pending jobs.

        Returns the new dataset (``None`` when nothing was pending). The sources are dropped
        (before v1.77) or marked pre-drop.
        """
        if not sources:
            raise ValueError("nothing to compact")
        live = self.datasets(prefix)
        if sources[-1] == live[-1]:
            raise ValueError("rudder-server never compacts the dataset it writes to")
        last = index_key(sources[-1].index)
        dest_index = "_".join(str(p) for p in (*last[:-1], last[-1] + 1)) if len(last) > 1 else f"{last[0]}_1"
        dest = Dataset(prefix, dest_index)
        multi = self.is_multi_consumer(sources[0])
        with self.conn.transaction():
            self._create_tables(dest, multi_consumer=multi)
            moved = 0
            for source in sources:
                moved += self._copy_pending(source, dest, multi_consumer=multi)
            if moved:
                self._create_indices(dest, multi_consumer=multi)
                self._journal(prefix, "MIGRATE_COPY", {"To": {"Index": dest.index}})
            else:
                for table in (dest.status_table, dest.jobs_table, dest.registry_table):
                    self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(table)))
            for source in sources:
                self._retire(source)
        return dest if moved else None

    def _copy_pending(self, src: Dataset, dest: Dataset, *, multi_consumer: bool) -> int:
        """Copy the source's unfinished jobs and their latest statuses; return the job count."""
        common = "job_id, workspace_id, uuid, user_id, parameters, custom_val, event_payload, event_count, " + (
            "created_at, expire_at"
        )
        if self.release.partition_id:
            common += ", partition_id"
        terminal = list(TERMINAL_STATES)
        if multi_consumer:
            moved = self.conn.execute(
                sql.SQL(
                    """WITH done AS (
                           SELECT l.job_id, array_agg(l.consumer) AS consumers
                           FROM (SELECT DISTINCT ON (job_id, consumer) job_id, consumer, job_state FROM {src_status}
                                 ORDER BY job_id, consumer, id DESC) l
                           WHERE l.job_state = ANY(%s) GROUP BY l.job_id)
                       INSERT INTO {dest_jobs} ({cols}, consumers)
                       SELECT {jcols}, CASE WHEN d.consumers IS NULL THEN j.consumers
                                            ELSE array(SELECT c FROM unnest(j.consumers) c WHERE c <> ALL (d.consumers))
                                       END
                       FROM {src_jobs} j LEFT JOIN done d ON d.job_id = j.job_id
                       WHERE d.consumers IS NULL OR NOT (j.consumers <@ d.consumers)
                       ORDER BY j.job_id
                       RETURNING consumers"""
                ).format(
                    src_status=sql.Identifier(src.status_table),
                    dest_jobs=sql.Identifier(dest.jobs_table),
                    src_jobs=sql.Identifier(src.jobs_table),
                    cols=sql.SQL(common),
                    jcols=sql.SQL(", ".join(f"j.{c.strip()}" for c in common.split(","))),
                ),
                [terminal],
            ).fetchall()
            self.conn.execute(
                sql.SQL("INSERT INTO {} SELECT DISTINCT unnest(%s::text[]) ON CONFLICT DO NOTHING").format(
                    sql.Identifier(dest.registry_table)
                ),
                [sorted({c for (consumers,) in moved for c in consumers})],
            )
            self.conn.execute(
                sql.SQL(
                    """INSERT INTO {dest_status}
                           (job_id, job_state, attempt, exec_time, retry_time, error_code, error_response,
                            parameters, consumer)
                       SELECT l.job_id, l.job_state, l.attempt, l.exec_time, l.retry_time, l.error_code,
                              l.error_response, l.parameters, l.consumer
                       FROM (SELECT DISTINCT ON (job_id, consumer) * FROM {src_status}
                             ORDER BY job_id, consumer, id DESC) l
                       JOIN {dest_jobs} dj ON dj.job_id = l.job_id AND l.consumer = ANY (dj.consumers)
                       ORDER BY l.id"""
                ).format(
                    dest_status=sql.Identifier(dest.status_table),
                    src_status=sql.Identifier(src.status_table),
                    dest_jobs=sql.Identifier(dest.jobs_table),
                ),
            )
            return len(moved)
        extra = ", consumers" if self.release.consumers else ""
        moved = self.conn.execute(
            sql.SQL(
                """INSERT INTO {dest_jobs} ({cols}{extra})
                   SELECT {jcols}{jextra} FROM {src_jobs} j
                   LEFT JOIN (SELECT DISTINCT ON (job_id) job_id, job_state FROM {src_status}
                              ORDER BY job_id, id DESC) l ON l.job_id = j.job_id
                   WHERE l.job_id IS NULL OR l.job_state = ANY(%s)
                   ORDER BY j.job_id
                   RETURNING job_id"""
            ).format(
                dest_jobs=sql.Identifier(dest.jobs_table),
                src_jobs=sql.Identifier(src.jobs_table),
                src_status=sql.Identifier(src.status_table),
                cols=sql.SQL(common),
                extra=sql.SQL(extra),
                jcols=sql.SQL(", ".join(f"j.{c.strip()}" for c in common.split(","))),
                jextra=sql.SQL(", j.consumers" if extra else ""),
            ),
            [list(NON_TERMINAL_STATES)],
        ).fetchall()
        status_cols = "job_id, job_state, attempt, exec_time, retry_time, error_code, error_response, parameters"
        if self.release.consumers:
            status_cols += ", consumer"
        self.conn.execute(
            sql.SQL(
                """INSERT INTO {dest_status} ({cols})
                   SELECT {lcols} FROM (SELECT DISTINCT ON (job_id) * FROM {src_status} ORDER BY job_id, id DESC) l
                   WHERE EXISTS (SELECT 1 FROM {dest_jobs} dj WHERE dj.job_id = l.job_id)
                   ORDER BY l.id"""
            ).format(
                dest_status=sql.Identifier(dest.status_table),
                src_status=sql.Identifier(src.status_table),
                dest_jobs=sql.Identifier(dest.jobs_table),
                cols=sql.SQL(status_cols),
                lcols=sql.SQL(", ".join(f"l.{c.strip()}" for c in status_cols.split(","))),
            )
        )
        return len(moved)

    def _retire(self, ds: Dataset) -> None:
        """After compaction: drop the source (before v1.77) or mark it pre-drop."""
        if self.release.pre_drop:
            for table in (ds.status_table, ds.jobs_table):
                self.conn.execute(
                    sql.SQL("COMMENT ON TABLE {} IS {}").format(sql.Identifier(table), sql.Literal(PRE_DROP_COMMENT))
                )
        else:
            self._drop(ds)

    def _drop(self, ds: Dataset) -> None:
        for table in (ds.status_table, ds.jobs_table):
            self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(table)))
        self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(ds.registry_table)))

    def drop_pre_drop_datasets(self) -> list[Dataset]:
        """The background loop: drop every dataset marked pre-drop; return them."""
        rows = self.conn.execute(
            """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_description d ON d.objoid = c.oid AND d.objsubid = 0
               WHERE n.nspname = 'public' AND c.relkind = 'r' AND d.description LIKE 'rudder:pre_drop:%'"""
        ).fetchall()
        dropped = set()
        for (name,) in rows:
            match = re.match(r"^(.+)_(?:jobs|job_status)_([0-9]+(?:_[0-9]+)*)$", name)
            if match:
                dropped.add(Dataset(match.group(1), match.group(2)))
        with self.conn.transaction():
            for ds in sorted(dropped, key=lambda d: (d.prefix, index_key(d.index))):
                self._drop(ds)
        return sorted(dropped, key=lambda d: (d.prefix, index_key(d.index)))

    # -- warehouse ---------------------------------------------------------------------

    def start_warehouse(self) -> warehouse.Warehouse:
        """The embedded warehouse's migrations in this database (it shares the jobsdb)."""
        return warehouse.Warehouse.migrate(self.conn, self.release)
