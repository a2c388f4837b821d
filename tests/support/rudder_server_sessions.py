"""rudder-server's own database sessions: how each supported release names them and cleans them up at start.

Reproduces two documented behaviours of rudder-server (``/work/shared/reference/rudder-server-facts.md``,
"Added 2026-12-02", checked against the releases' ``utils/misc/dbutils.go`` and
``services/validators/envValidator.go``), nothing else of the server:

* **Application names.** Every pool of the server sets ``application_name`` so that it ends with the
  server's host name. v1.62.1 prefixes the whole component name (``jobsdb_gw-<host>``; PostgreSQL cuts
  names past 63 bytes) and its start-up validator connects as just ``<host>``; v1.83.0 prefixes the
  component's first two characters (``jo-<host>``) and takes at most 60 characters of the host name
  (``$HOSTNAME``, else the system's), so the suffix survives.
* **Start-up cleanup** (``killDanglingDBConnections``). Before anything else the server opens one
  connection as its own login, named ``<host>``, and in one query calls ``pg_terminate_backend`` on every
  other session whose ``application_name`` is not empty and ends with its own. The query is the same in
  both releases; an error from it makes the server exit 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from tests.support.rudder_jobsdb.releases import NEWEST, SUPPORTED

RELEASES = tuple(f"v{release.version}" for release in SUPPORTED)
"""The oldest and the newest supported rudder-server release (``rudder_jobsdb.releases.SUPPORTED``)."""
SHORT_NAMES_SINCE = f"v{NEWEST.version}"
"""The release whose pools name themselves by a two-letter prefix and a host cut to 60 characters."""

COMPONENTS = ("jobsdb_gw", "jobsdb_rt", "jobsdb_batch_rt", "backend-config", "rsources")
"""Some of the pools a running server keeps open (the jobsdb prefixes, config cache, rsources)."""

NAMEDATALEN = 63
"""PostgreSQL keeps at most this many bytes of an application name."""

CLEANUP = """SELECT activity.pid, pg_terminate_backend(activity.pid)
FROM pg_stat_activity AS activity
WHERE activity.pid <> pg_backend_pid() AND activity.application_name <> ''
  AND activity.application_name LIKE '%' || current_setting('application_name')"""
"""The start-up cleanup, written from the behaviour described above."""


def own_name(release: str, host: str) -> str:
    """The start-up connection's application name: the suffix every pool of that server shares."""
    return host[:60] if release == SHORT_NAMES_SINCE else host[:NAMEDATALEN]


def pool_names(release: str, host: str) -> list[str]:
    """The application names of the server's pools (as PostgreSQL stores them)."""
    if release == SHORT_NAMES_SINCE:
        return [f"{component[:2]}-{host[:60]}" for component in COMPONENTS]
    return [f"{component}-{host}"[:NAMEDATALEN] for component in COMPONENTS]


@dataclass
class ServerRun:
    """One run of the server: what its start-up cleanup ended and the pools it then opened."""

    release: str
    host: str
    ended: list[int]
    sessions: list[psycopg.Connection[Any]] = field(default_factory=list)

    @property
    def pids(self) -> set[int]:
        """Backend pids of this run's pools."""
        return {conn.info.backend_pid for conn in self.sessions}

    def close(self) -> None:
        """Drop the client side of every pool (the database side may already be gone)."""
        for conn in self.sessions:
            conn.close()


def start(login: dict[str, Any], release: str, host: str, *, busy: int = 2) -> ServerRun:
    """Start a server run as ``login`` (psycopg keyword arguments): the cleanup, then the pools.

    Raises the database error the cleanup query hit, as the server would exit on it. ``busy`` of the pools
    are left running a long statement (the "old statements" a killed server leaves behind); the others idle.
    """
    with psycopg.connect(autocommit=True, application_name=own_name(release, host), **login) as conn:
        ended = [pid for pid, _ in conn.execute(CLEANUP).fetchall()]
    run = ServerRun(release, host, ended)
    for index, name in enumerate(pool_names(release, host)):
        conn = psycopg.connect(autocommit=True, application_name=name, **login)
        run.sessions.append(conn)
        if index < busy:
            conn.pgconn.send_query(b"SELECT pg_sleep(3600)")  # sent, never awaited: a statement in flight
    return run
