"""Throwaway PostgreSQL servers for tests.

:class:`PostgresServer` runs a private PostgreSQL cluster (``initdb`` +
``pg_ctl``) in a temporary directory, listening on 127.0.0.1 on a free port
and on a unix socket in that directory. TCP connections use password
(SCRAM) authentication, so clients really exercise ``PGPASSWORD``; the unix
socket trusts local users. The server can be stopped and started again to
simulate an unreachable database.

PostgreSQL refuses to run as root. When the tests run as root (CI does), the
server processes run as an unprivileged account (``postgres`` if it exists,
else ``nobody``) through ``subprocess``'s ``user``/``group`` arguments, and the
temporary directory is handed to that account.

Pytest fixtures (import them into a test module to use them):

* ``postgres_server`` (session scope): the running :class:`PostgresServer`, one per test process
  (:func:`process_server`), whichever modules import the fixture.
* ``jobsdb`` (function scope): :class:`ConnectionParams` of a fresh, empty
  database, dropped after the test.

:class:`DatabaseClock` makes ``clock_timestamp()`` of one database a clock the
test moves forward, so something timed on the database clock (a lease) can run
out without the test sleeping.

Tests are skipped only when no PostgreSQL server binaries exist at all; set
``RUDDER_HA_REQUIRE_POSTGRES=1`` to turn that skip into a failure.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import psycopg

SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
PREFERRED_MAJOR = 15
BINDIR_ENV = "RUDDER_HA_PG_BINDIR"
REQUIRE_ENV = "RUDDER_HA_REQUIRE_POSTGRES"


class PostgresError(RuntimeError):
    """The throwaway server could not be set up, started or stopped."""


def _has_server_binaries(directory: Path) -> bool:
    """Tell whether a directory holds initdb, pg_ctl and postgres."""
    return all(os.access(directory / name, os.X_OK) and (directory / name).is_file() for name in SERVER_BINARIES)


def _major_version(directory: str) -> int:
    """Major version from a /usr/lib/postgresql/<major>/bin path (0 when unknown)."""
    match = re.search(r"/postgresql/(\d+)/", directory)
    return int(match.group(1)) if match else 0


def find_postgres_bindir() -> Path | None:
    """Locate a directory with the PostgreSQL server binaries.

    Looks at ``$RUDDER_HA_PG_BINDIR``, ``pg_config --bindir``,
    ``/usr/lib/postgresql/*/bin`` (version 15 first, then newest first) and
    the directory of ``initdb`` on PATH. Returns None when none qualifies.
    """
    candidates: list[Path] = []
    if os.environ.get(BINDIR_ENV):
        candidates.append(Path(os.environ[BINDIR_ENV]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
    versioned = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major_version, reverse=True)
    versioned.sort(key=lambda d: _major_version(d) != PREFERRED_MAJOR)
    candidates.extend(Path(d) for d in versioned)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for candidate in candidates:
        if _has_server_binaries(candidate):
            return candidate
    return None


def psql_client(bindir: Path | None = None) -> str:
    """The psql client: the one beside the server binaries of ``bindir`` (the client of the server's own
    release, as an instance has it), else the one on PATH; FileNotFoundError if there is none. Debian's
    ``/usr/bin/psql`` is a Perl wrapper that picks among the installed releases on every call, about 20 ms
    of CPU each: the fence and drain tests call psql hundreds of times."""
    if bindir is not None and os.access(bindir / "psql", os.X_OK):
        return str(bindir / "psql")
    found = shutil.which("psql")
    if not found:
        raise FileNotFoundError("psql client not found (install postgresql-client)")
    return found


def _free_port() -> int:
    """Ask the kernel for a currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unprivileged_account() -> pwd.struct_passwd | None:
    """The account to run PostgreSQL as when we are root (None when not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            continue
        if account.pw_uid != 0:
            return account
    raise PostgresError("running as root, and neither a 'postgres' nor a 'nobody' account exists to run PostgreSQL")


def _world_traversable(path: Path) -> bool:
    """Tell whether every directory from / down to path lets others search it."""
    current = path.resolve()
    for directory in [current, *current.parents]:
        try:
            mode = directory.stat().st_mode
        except OSError:
            return False
        if not mode & stat.S_IXOTH:
            return False
    return True


@dataclasses.dataclass(frozen=True)
class ConnectionParams:
    """How to reach one database of a :class:`PostgresServer`."""

    host: str
    port: int
    user: str
    password: str
    dbname: str
    socket_dir: str

    def replace(self, **changes: Any) -> ConnectionParams:
        """A copy with some fields changed (e.g. a wrong password)."""
        return dataclasses.replace(self, **changes)

    def conninfo(self, *, via_socket: bool = False) -> str:
        """A libpq connection string (TCP with password, or the unix socket)."""
        from psycopg.conninfo import make_conninfo

        if via_socket:
            return make_conninfo(host=self.socket_dir, port=self.port, user=self.user, dbname=self.dbname)
        return make_conninfo(host=self.host, port=self.port, user=self.user, password=self.password, dbname=self.dbname)

    def connect(self, *, autocommit: bool = True, via_socket: bool = False) -> psycopg.Connection[Any]:
        """Open a psycopg connection (autocommit by default)."""
        import psycopg

        return psycopg.connect(self.conninfo(via_socket=via_socket), autocommit=autocommit, connect_timeout=10)

    def jobs_db_env(self, *, via_socket: bool = False) -> dict[str, str]:
        """The JOBS_DB_* variables rudder-server (and rudder-drain-check) read."""
        return {
            "JOBS_DB_HOST": self.socket_dir if via_socket else self.host,
            "JOBS_DB_PORT": str(self.port),
            "JOBS_DB_USER": self.user,
            "JOBS_DB_PASSWORD": self.password,
            "JOBS_DB_DB_NAME": self.dbname,
            "JOBS_DB_SSL_MODE": "disable",
        }

    def libpq_env(self) -> dict[str, str]:
        """The PG* variables for libpq clients such as psql (TCP, password in PGPASSWORD)."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": self.dbname,
            "PGSSLMODE": "disable",
        }


class PostgresServer:
    """A private PostgreSQL cluster in a temporary directory.

    Use :meth:`start` / :meth:`stop` / :meth:`restart` / :meth:`cleanup`, or
    the object as a context manager (start on enter, cleanup on exit).
    """

    def __init__(
        self,
        *,
        bindir: Path | str | None = None,
        user: str = "rudder",
        password: str | None = None,
        start_timeout: int = 60,
    ) -> None:
        """Prepare (not start) a server; the binaries are looked up unless bindir is given."""
        found = Path(bindir) if bindir is not None else find_postgres_bindir()
        if found is None or not _has_server_binaries(found):
            raise PostgresError("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found")
        self.bindir: Path = found
        self.host = "127.0.0.1"
        self.user = user
        # Punctuation on purpose: quoting bugs in clients should show up in tests.
        self.password = password if password is not None else f"pw#{secrets.token_hex(8)}$'x"
        self.port = 0
        self.start_timeout = start_timeout
        self.account = _unprivileged_account()
        self.base_dir: Path | None = None
        self._running = False
        self._initialised = False
        self._db_counter = 0
        self._atexit_registered = False

    # -- paths -------------------------------------------------------------

    def _path(self, name: str) -> Path:
        """A path inside the temporary directory."""
        if self.base_dir is None:
            raise PostgresError("server has no directory yet (call start())")
        return self.base_dir / name

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self._path("data")

    @property
    def socket_dir(self) -> Path:
        """The directory of the server's unix socket."""
        return self._path("socket")

    @property
    def log_path(self) -> Path:
        """The server log file."""
        return self._path("postgres.log")

    @property
    def is_running(self) -> bool:
        """Whether this object started the server and has not stopped it since."""
        return self._running

    # -- process helpers ---------------------------------------------------

    def _run(self, args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL binary, as the unprivileged account when we are root."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env.update({"LC_ALL": "C", "LANG": "C", "HOME": str(self.base_dir), "TZ": "UTC"})
        kwargs: dict[str, Any] = {}
        if self.account is not None:
            kwargs = {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
        return subprocess.run(
            args,
            capture_output=True,
            text=True,
            env=env,
            cwd=str(self.base_dir),
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
            **kwargs,
        )

    def _chown(self, path: Path) -> None:
        """Give a path to the unprivileged account (no-op when not root)."""
        if self.account is not None:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def _log_tail(self, lines: int = 20) -> str:
        """The last lines of the server log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def _make_base_dir(self) -> Path:
        """Create the temporary directory, reachable by the server's account."""
        parent: str | None = None
        if self.account is not None and not _world_traversable(Path(tempfile.gettempdir())):
            parent = "/tmp"  # the account needs a directory it can reach
        base = Path(tempfile.mkdtemp(prefix="rudder-ha-pg-", dir=parent))
        self._chown(base)
        return base

    def _initdb(self) -> None:
        """Create the cluster and write its configuration."""
        assert self.base_dir is not None
        pwfile = self._path("pwfile")
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        self._chown(pwfile)
        self.socket_dir.mkdir(mode=0o755)
        self._chown(self.socket_dir)
        result = self._run(
            [
                str(self.bindir / "initdb"),
                "--pgdata",
                str(self.data_dir),
                "--username",
                self.user,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            timeout=120,
        )
        pwfile.unlink()
        if result.returncode != 0:
            raise PostgresError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        self._initialised = True

    def _write_config(self) -> None:
        """(Re)write the settings this harness controls, including the port."""
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "password_encryption": "'scram-sha-256'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "50",
            "shared_buffers": "32MB",
            "log_min_messages": "warning",
            "log_timezone": "'UTC'",
            "timezone": "'UTC'",
        }
        conf = self.data_dir / "rudder_ha_test.conf"
        conf.write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))
        self._chown(conf)
        main_conf = self.data_dir / "postgresql.conf"
        include = "include = 'rudder_ha_test.conf'\n"
        text = main_conf.read_text()
        if include not in text:
            main_conf.write_text(text + "\n" + include)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Create the cluster on first use and start the server (on a free port)."""
        if self._running:
            return
        if self.base_dir is None:
            self.base_dir = self._make_base_dir()
        if not self._atexit_registered:
            atexit.register(self.cleanup)
            self._atexit_registered = True
        if not self._initialised:
            self._initdb()
        attempts = 1 if self.port else 3
        last_error = ""
        for _ in range(attempts):
            if not self.port or attempts > 1:
                self.port = _free_port()
            self._write_config()
            result = self._run(
                [
                    str(self.bindir / "pg_ctl"),
                    "start",
                    "--pgdata",
                    str(self.data_dir),
                    "--log",
                    str(self.log_path),
                    "--wait",
                    f"--timeout={self.start_timeout}",
                    "--silent",
                ],
                timeout=self.start_timeout + 30,
            )
            if result.returncode == 0:
                self._running = True
                return
            last_error = f"{result.stdout}\n{result.stderr}\n{self._log_tail()}"
        raise PostgresError(f"pg_ctl start failed:\n{last_error}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (mode: smart, fast or immediate); keeps the cluster."""
        if not self._running:
            return
        result = self._run(
            [
                str(self.bindir / "pg_ctl"),
                "stop",
                "--pgdata",
                str(self.data_dir),
                f"--mode={mode}",
                "--wait",
                f"--timeout={self.start_timeout}",
                "--silent",
            ],
            timeout=self.start_timeout + 30,
        )
        if result.returncode != 0:
            raise PostgresError(f"pg_ctl stop failed:\n{result.stdout}\n{result.stderr}\n{self._log_tail()}")
        self._running = False

    def restart(self) -> None:
        """Stop (if running) and start again on the same port."""
        self.stop()
        self.start()

    def ensure_running(self) -> None:
        """Start the server if a test left it stopped."""
        if not self._running:
            self.start()

    @contextlib.contextmanager
    def stopped(self) -> Iterator[PostgresServer]:
        """Context manager: the server is down inside the block, up again after it."""
        self.stop()
        try:
            yield self
        finally:
            self.start()

    def cleanup(self) -> None:
        """Stop the server (immediately) and delete its directory."""
        if self._running:
            with contextlib.suppress(PostgresError, OSError, subprocess.SubprocessError):
                self.stop(mode="immediate")
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
        self._initialised = False
        self._running = False
        self.port = 0

    def __enter__(self) -> PostgresServer:
        """Start the server."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the server and delete its files."""
        self.cleanup()

    # -- databases ---------------------------------------------------------

    def params(self, dbname: str = "postgres") -> ConnectionParams:
        """Connection parameters for one database of this server."""
        if not self.port:
            raise PostgresError("server was never started")
        return ConnectionParams(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname,
            socket_dir=str(self.socket_dir),
        )

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        """An autocommit psycopg connection to a database of this server, over its unix socket: the tests'
        own administration (creating and dropping databases) skips the SCRAM exchange a TCP login costs
        (about 4 ms of CPU per connection), which the sessions under test still go through."""
        return self.params(dbname).connect(via_socket=True)

    def create_database(self, name: str | None = None) -> ConnectionParams:
        """Create an empty database (a unique name unless given) and return its parameters."""
        from psycopg import sql

        if name is None:
            self._db_counter += 1
            name = f"jobsdb_{self._db_counter}_{secrets.token_hex(3)}"
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
        return self.params(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting its sessions."""
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


CLOCK_SCHEMA = "rudder_test_clock"


class DatabaseClock:
    """A controllable database clock: in one database, ``clock_timestamp()`` is the server's clock
    plus a shift that only the test moves, forward (:meth:`advance`).

    :meth:`install` creates ``rudder_test_clock.clock_timestamp()`` and sets the database's
    ``search_path`` (``ALTER DATABASE``, so every later session of every role has it) to
    ``"$user", public, rudder_test_clock, pg_catalog``: naming ``pg_catalog`` last lets the
    schema's function win, so an unqualified ``clock_timestamp()`` in a client's statement, in a
    PL/pgSQL block or in a column default created afterwards reads the shifted clock. Sessions
    opened before :meth:`install` keep the real one; ``now()`` and ``CURRENT_TIMESTAMP`` are not
    shifted. The clock never goes back, and it still runs with the server's clock between steps.
    """

    def __init__(self, params: ConnectionParams) -> None:
        """Use :meth:`install`."""
        self.params = params

    @classmethod
    def install(cls, params: ConnectionParams) -> DatabaseClock:
        """Give the database of ``params`` (connected to as its owner or a superuser) the clock."""
        from psycopg import sql

        with params.connect() as conn:
            conn.execute(
                f"CREATE SCHEMA {CLOCK_SCHEMA};"
                f" CREATE TABLE {CLOCK_SCHEMA}.shift (one boolean PRIMARY KEY DEFAULT true CHECK (one),"
                " seconds float8 NOT NULL DEFAULT 0);"
                f" INSERT INTO {CLOCK_SCHEMA}.shift DEFAULT VALUES;"
                f" CREATE FUNCTION {CLOCK_SCHEMA}.clock_timestamp() RETURNS timestamptz LANGUAGE sql VOLATILE"
                " SET search_path = pg_catalog"
                f" AS 'SELECT clock_timestamp() + make_interval(secs => (SELECT seconds FROM {CLOCK_SCHEMA}.shift))';"
                f" GRANT USAGE ON SCHEMA {CLOCK_SCHEMA} TO PUBLIC;"
                f" GRANT SELECT ON {CLOCK_SCHEMA}.shift TO PUBLIC"
            )
            conn.execute(
                sql.SQL('ALTER DATABASE {} SET search_path = "$user", public, {}, pg_catalog').format(
                    sql.Identifier(params.dbname), sql.Identifier(CLOCK_SCHEMA)
                )
            )
        clock = cls(params)
        assert clock.shift() == 0.0, "a new session does not resolve clock_timestamp() to the test clock"
        return clock

    def shift(self) -> float:
        """Seconds the clock is ahead of the server's (as a new session resolves ``clock_timestamp()``)."""
        with self.params.connect() as conn:
            row = conn.execute(
                "SELECT s.seconds, to_regprocedure('clock_timestamp()')::oid"
                f" = '{CLOCK_SCHEMA}.clock_timestamp()'::regprocedure::oid FROM {CLOCK_SCHEMA}.shift s"
            ).fetchone()
        assert row is not None and row[1], "clock_timestamp() does not resolve to the test clock"
        return float(row[0])

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` at once, for every session."""
        if not seconds > 0:
            raise ValueError("the database clock only moves forward")
        with self.params.connect() as conn:
            conn.execute(f"UPDATE {CLOCK_SCHEMA}.shift SET seconds = seconds + %s", (float(seconds),))

    def now(self) -> Any:
        """The shifted ``clock_timestamp()`` (a timezone-aware datetime)."""
        with self.params.connect() as conn:
            row = conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        return row[0]


_PROCESS_SERVER: list[PostgresServer] = []
"""The one server of this test process (see :func:`process_server`)."""


def process_server(bindir: Path) -> PostgresServer:
    """This process's test server, created and started on first use (and again after a clean-up).

    Every test module that imports the ``postgres_server`` fixture gets its own copy of it (pytest keys
    fixtures by where they are defined), so the fixture asks here: one ``initdb`` per process (per
    pytest-xdist worker) instead of one per module. Tests isolate themselves by database (``jobsdb``).
    """
    if not _PROCESS_SERVER:
        _PROCESS_SERVER.append(PostgresServer(bindir=bindir))
    server = _PROCESS_SERVER[0]
    server.ensure_running()  # start() registers the clean-up at exit
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server of this test process (skips only without binaries); one per pytest-xdist
    worker, shared by every module that imports this fixture."""
    bindir = find_postgres_bindir()
    if bindir is None:
        message = (
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found via "
            f"${BINDIR_ENV}, pg_config --bindir, /usr/lib/postgresql/*/bin or PATH; "
            "install PostgreSQL 15 (e.g. apt-get install postgresql-15)"
        )
        if os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0"):
            pytest.fail(message)
        pytest.skip(message)
    server = process_server(bindir)
    try:
        yield server
    finally:
        server.cleanup()  # at the session's end (every copy's teardown runs then; the first one stops it)


@pytest.fixture
def jobsdb(postgres_server: PostgresServer) -> Iterator[ConnectionParams]:
    """A fresh, empty database for one test (dropped afterwards)."""
    postgres_server.ensure_running()
    params = postgres_server.create_database()
    try:
        yield params
    finally:
        postgres_server.ensure_running()
        postgres_server.drop_database(params.dbname)
