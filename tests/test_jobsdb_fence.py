"""Tests for ami/bin/rudder-jobsdb-fence against a throwaway PostgreSQL server.

Two (or more) competing "instances" run as separate processes, as they would on two EC2 instances:
each runs the fence agent (``acquire``, then ``hold``) and a stand-in rudder-server that logs in with
the credentials ``acquire`` wrote and keeps inserting rows (instance, generation, database time),
reconnecting whenever its session drops, as rudder-server does. The tests freeze processes
(SIGSTOP), cut one instance off the database with a blackholing TCP proxy and race agents, then
check on the database that the old instance's writes all precede the new one's and that the old
instance can neither keep nor reopen a session.

No test depends on the machine's speed. The lease TTL is an hour, so no lease runs out while a step
is under way however slowly it runs; a test that needs one to run out moves the database clock past
its expiry (tests.support.postgres.DatabaseClock: clock_timestamp(), the fence's only clock, is
shifted in the test database) instead of sleeping. The agents poll and renew every 0.2 s. Every wait
polls for a state and fails only after HANG seconds, when something is really stuck.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import http.server
import json
import os
import secrets
import select
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support import rudder_server_sessions as rudder_server
from tests.support.postgres import ConnectionParams, DatabaseClock, PostgresServer, postgres_server, psql_client  # noqa: F401

pytestmark = pytest.mark.one_worker  # the scenarios wait on agents and leases: one at a time, beside other work
REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "ami" / "bin" / "rudder-jobsdb-fence"
UNIT = REPO_ROOT / "ami" / "systemd" / "rudder-jobsdb-fence.service"
TTL = 3600.0  # no lease runs out by itself during a test: World.run_out_lease moves the database clock
INTERVAL = 0.2  # renew and poll interval of the agents (the default, TTL/6, would be ten minutes), and
# the settle period between acquire's two session checks (the default is a second)
HANG = 120.0  # bound of every wait: it trips only when something is stuck, never because the machine is slow
EXIT_FENCED, EXIT_LOST, EXIT_UNHEALTHY, EXIT_UNAVAILABLE, EXIT_HELD, EXIT_CONFIG = 3, 4, 5, 69, 75, 78

# The stand-in rudder-server: reads the role env file once (as rudder-server reads its environment),
# then inserts a row every 50 ms (the tests poll every 50 ms; they check which instance wrote, and in what
# order, never how fast); on any error it logs it and reconnects.
STANDIN = r"""
import sys, time, psycopg
env_path, name, log_path = sys.argv[1:]
def log(message):
    with open(log_path, "a") as handle:
        handle.write(message.replace("\n", " ") + "\n")
while True:
    try:
        env = dict(line.split("=", 1) for line in open(env_path).read().splitlines() if "=" in line)
        break
    except FileNotFoundError:
        time.sleep(0.02)
login = dict(host=env["JOBS_DB_HOST"], port=env["JOBS_DB_PORT"], dbname=env["JOBS_DB_DB_NAME"],
             user=env["JOBS_DB_USER"], password=env["JOBS_DB_PASSWORD"], sslmode=env["JOBS_DB_SSL_MODE"],
             connect_timeout=10)
generation = int(env["RUDDER_HA_FENCE_GENERATION"])
conn = None
while True:
    try:
        if conn is None:
            conn = psycopg.connect(autocommit=True, **login)
            log("connected")
        conn.execute("INSERT INTO writes (instance, generation) VALUES (%s, %s)", (name, generation))
        time.sleep(0.05)
    except psycopg.Error as exc:
        log(f"error: {exc}")
        if conn is not None:
            conn.close()
        conn = None
        time.sleep(0.05)
"""


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = HANG) -> Any:
    """Poll until predicate() is truthy; fail after timeout seconds (a hang guard)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


class Proxy:
    """A TCP proxy to PostgreSQL that can black-hole traffic: a network partition of one instance.

    While partitioned, nothing is forwarded in either direction and new connections hang (the peers
    see silence, not resets), exactly what a partitioned instance and the database would see.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.open = threading.Event()
        self.open.set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.sockets.append(client)
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self.open.wait()
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        self.sockets.append(upstream)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError, ValueError):
            while True:
                self.open.wait()
                if not select.select([source], [], [], 0.05)[0] or not self.open.is_set():
                    continue
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.close()

    def partition(self) -> None:
        self.open.clear()

    def heal(self) -> None:
        self.open.set()

    def close(self) -> None:
        self.open.set()
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


class World:
    """One fresh jobsdb database, a unique group role and the processes of the competing instances."""

    def __init__(self, server: PostgresServer, tmp: Path) -> None:
        self.server = server
        self.params = server.create_database()
        self.clock = DatabaseClock.install(self.params)
        self.tag = secrets.token_hex(3)
        self.group = f"rudder_jobsdb_{self.tag}"
        self.tmp = tmp
        self.processes: list[subprocess.Popen[bytes]] = []
        self.proxies: list[Proxy] = []
        self.psql = psql_client(server.bindir)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        self.env["PATH"] = os.pathsep.join([str(Path(self.psql).parent), self.env.get("PATH", os.defpath)])

    def observe(self) -> psycopg.Connection[Any]:
        """The test's own look at the database: as its owner, over the unix socket (no SCRAM exchange per
        poll; the agents and servers under test log in over TCP, through their proxies)."""
        return self.params.connect(via_socket=True)

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self.observe() as conn:
            return conn.execute(sql, args).fetchall()

    def execute(self, sql: str) -> None:
        with self.observe() as conn:
            conn.execute(sql)

    def one(self, sql: str, *args: Any) -> Any:
        return self.query(sql, *args)[0][0]

    def lease(self) -> dict[str, Any]:
        with self.observe() as conn, conn.cursor() as cur:
            cur.execute("SELECT * FROM rudder_ha_fence.lease")
            names = [c.name for c in cur.description or []]
            return dict(zip(names, cur.fetchone() or (), strict=True))

    def history(self, generation: int) -> dict[str, Any]:
        with self.observe() as conn, conn.cursor() as cur:
            cur.execute("SELECT * FROM rudder_ha_fence.history WHERE generation = %s", (generation,))
            names = [c.name for c in cur.description or []]
            return dict(zip(names, cur.fetchone() or (), strict=True))

    def expires_in(self) -> float:
        """Seconds until the lease expires, on the database clock."""
        return float(self.one("SELECT extract(epoch FROM expires_at - clock_timestamp()) FROM rudder_ha_fence.lease"))

    def run_out_lease(self) -> None:
        """Move the database clock just past the lease's expiry: what waiting out the TTL would do."""
        self.clock.advance(max(self.expires_in(), 0.0) + 1.0)

    def fence_statements_running(self) -> int:
        """Statements of fence agents the server is executing (one sent by a frozen psql still lands)."""
        return int(
            self.one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rudder-jobsdb-fence'"
                " AND state = 'active'"
            )
        )

    def instance(self, name: str, *, proxy: Proxy | None = None) -> Instance:
        return Instance(self, name, proxy.port if proxy else self.params.port)

    def proxy(self) -> Proxy:
        proxy = Proxy(self.params.port)
        self.proxies.append(proxy)
        return proxy

    def spawn(self, argv: list[str], out: Path) -> subprocess.Popen[bytes]:
        with open(out, "ab") as handle:
            process = subprocess.Popen(  # its own process group, so a whole "instance" can be frozen
                argv, stdout=handle, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        self.processes.append(process)
        return process

    def prepare(self, first: Instance) -> None:
        """Bootstrap the fence and create the table the stand-in servers write to (owned by the group)."""
        assert first.run("bootstrap").returncode == 0
        self.execute(
            "CREATE TABLE writes (seq bigserial PRIMARY KEY, instance text NOT NULL, generation bigint NOT NULL,"
            " at timestamptz NOT NULL DEFAULT clock_timestamp(), run_as name NOT NULL DEFAULT current_user);"
            f' ALTER TABLE writes OWNER TO "{self.group}"'
        )

    def rows(self, instance: Instance) -> int:
        return int(self.one("SELECT count(*) FROM writes WHERE instance = %s", instance.name))

    def sessions(self, role: str) -> int:
        return int(self.one("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", role))

    def can_login(self, role: str) -> bool:
        return bool(self.one("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", role))

    def assert_handover(self, old: Instance, new: Instance) -> None:
        """Every row the old instance committed precedes the new instance's first row (database clock)."""
        last_old, old_generations = self.query(
            "SELECT max(at), array_agg(DISTINCT generation) FROM writes WHERE instance = %s", old.name
        )[0]
        first_new, new_generations = self.query(
            "SELECT min(at), array_agg(DISTINCT generation) FROM writes WHERE instance = %s", new.name
        )[0]
        assert last_old is not None and first_new is not None
        assert last_old < first_new, f"{old.name} wrote at {last_old}, after {new.name}'s first row at {first_new}"
        assert len(old_generations) == 1 and len(new_generations) == 1
        assert old_generations[0] < new_generations[0]
        assert self.one("SELECT array_agg(DISTINCT run_as) FROM writes") == [self.group]

    def cleanup(self) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGCONT)
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=HANG)
        for proxy in self.proxies:
            proxy.close()
        self.server.drop_database(self.params.dbname)
        with self.server.connect() as conn:
            roles = [
                r
                for (r,) in conn.execute(
                    "SELECT u.rolname FROM pg_auth_members a JOIN pg_roles u ON u.oid = a.member"
                    " JOIN pg_roles g ON g.oid = a.roleid WHERE g.rolname = %s",
                    (self.group,),
                ).fetchall()
            ]
            for role in [*roles, self.group]:
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


class Instance:
    """One competing data-plane instance: its fence agent's files and its stand-in server."""

    def __init__(self, world: World, name: str, port: int) -> None:
        self.world = world
        self.name = name
        self.holder = f"i-{name}-{world.tag}"
        self.role = "rudder_ha_" + self.holder.replace("-", "_")
        self.dir = world.tmp / name
        self.dir.mkdir(exist_ok=True)
        params = world.params
        self.admin_env = self.dir / "admin.env"
        self.admin_env.write_text(
            f"JOBS_DB_HOST={params.host}\nJOBS_DB_PORT={port}\nJOBS_DB_DB_NAME={params.dbname}\n"
            f"JOBS_DB_SSL_MODE=disable\nJOBS_DB_GROUP_ROLE={world.group}\n"
            f"JOBS_DB_ADMIN_USER={params.user}\nJOBS_DB_ADMIN_PASSWORD={params.password}\n"
        )
        self.role_env = self.dir / "run" / "jobsdb-role.env"
        self.stopped = self.dir / "backend-stopped"  # the stub stop command appends a line per call
        self.server_log = self.dir / "server.log"
        self.server_log.touch()

    def argv(self, *args: str, **options: str) -> list[str]:
        """The agent's command line: args, then options (keyword names with _ for -) over the test defaults."""
        defaults = {
            "env_file": str(self.admin_env),
            "holder": self.holder,
            "role_env": str(self.role_env),
            "ttl": str(TTL),
            "interval": str(INTERVAL),
            "settle": str(INTERVAL),
            "timeout": "10",
            "psql": self.world.psql,
            "stop_command": f"sh -c 'echo stopped >> {self.stopped}'",
        }
        merged = {**defaults, **options}
        flags = [item for key, value in merged.items() for item in ("--" + key.replace("_", "-"), value)]
        return [sys.executable, str(SCRIPT), *args, *flags]

    def run(self, *args: str, **options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args, **options), capture_output=True, text=True, env=self.world.env, timeout=HANG, check=False
        )

    def spawn(self, *args: str, **options: str) -> subprocess.Popen[bytes]:
        return self.world.spawn(self.argv(*args, **options), self.dir / f"{args[0]}.log")

    def polls(self) -> int:
        """How often the spawned acquire found the lease held by another and went on waiting."""
        log = self.dir / "acquire.log"
        return log.read_text().count("rudder-jobsdb-fence: waiting: ") if log.exists() else 0

    def serve(self) -> subprocess.Popen[bytes]:
        """Start the stand-in rudder-server (it waits for the role env file)."""
        code = self.world.tmp / "standin.py"
        if not code.exists():
            code.write_text(STANDIN)
        argv = [sys.executable, str(code), str(self.role_env), self.name, str(self.server_log)]
        return self.world.spawn(argv, self.dir / "server.out")

    def server_lines(self) -> list[str]:
        return self.server_log.read_text().splitlines()

    def refused(self) -> int:
        """How often the stand-in server's login was refused."""
        return sum("is not permitted to log in" in line for line in self.server_lines())

    def env(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.role_env.read_text().splitlines())

    def login(self) -> dict[str, Any]:
        """rudder-server's login as the role env file gives it (psycopg keyword arguments)."""
        env = self.env()
        return {
            "host": env["JOBS_DB_HOST"],
            "port": env["JOBS_DB_PORT"],
            "dbname": env["JOBS_DB_DB_NAME"],
            "user": env["JOBS_DB_USER"],
            "password": env["JOBS_DB_PASSWORD"],
            "sslmode": env["JOBS_DB_SSL_MODE"],
            "connect_timeout": 10,
        }


@pytest.fixture
def world(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[World]:  # noqa: F811
    w = World(postgres_server, tmp_path)
    try:
        yield w
    finally:
        w.cleanup()


def freeze(process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGSTOP) -> None:
    os.killpg(process.pid, sig)


def start_holding(
    world: World, instance: Instance, **options: str
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    """acquire, then hold and the stand-in server, as the units would; returns (hold, server)."""
    run = instance.run("acquire", **options)
    assert run.returncode == 0, run.stderr
    hold = instance.spawn("hold", **options)
    server = instance.serve()
    wait_until(lambda: world.rows(instance) >= 20, f"{instance.name}'s server to write")
    return hold, server


def wait_for_polls(instance: Instance, process: subprocess.Popen[bytes], holder: Instance) -> None:
    """Wait until the spawned acquire has twice more found the lease held by holder, and is still waiting.

    Two more polls, not one: the second began after the first was logged, so after everything the
    test did before calling this (a clock step, a renewal), and it still did not take the lease.
    """
    seen = instance.polls()
    wait_until(lambda: instance.polls() >= seen + 2 or process.poll() is not None, f"{instance.name} to poll")
    assert process.poll() is None, f"{instance.name} acquired a lease {holder.name} held"
    last = [line for line in (instance.dir / "acquire.log").read_text().splitlines() if "waiting: " in line][-1]
    assert f"waiting: {holder.holder} holds generation" in last, last


# --------------------------------------------------------------------------
# (a) instance refresh: clean handover
# --------------------------------------------------------------------------


def test_clean_handover_waits_for_release_then_fences_the_old_server(world: World) -> None:
    a, b = world.instance("a"), world.instance("b")
    world.prepare(a)
    hold_a, _server_a = start_holding(world, a)
    generation_a = world.lease()["generation"]

    acquire_b = b.spawn("acquire")
    wait_for_polls(b, acquire_b, a)
    # While A renews, B waits: the database clock moves on 2.5 TTLs, half a TTL at a time. After each
    # step A renews (a lease runs out only one TTL after its last renewal) and B, polling again, still
    # finds the lease A's and keeps waiting: well past the expiry A's acquire set, the lease is A's.
    first_expiry = world.lease()["expires_at"]
    for _ in range(5):
        world.clock.advance(TTL / 2)
        stepped = world.clock.now()
        wait_until(lambda: world.lease()["renewed_at"] >= stepped, "A's hold to renew after the clock moved")  # noqa: B023
        wait_for_polls(b, acquire_b, a)
        lease = world.lease()
        assert (lease["holder"], lease["generation"], lease["released"]) == (a.holder, generation_a, False)
    assert world.clock.now() > first_expiry + dt.timedelta(seconds=TTL)
    assert world.can_login(a.role) and not b.role_env.exists()

    # A releases cleanly (here while its server still writes: the worst case); B need not wait for expiry.
    assert a.run("release").returncode == 0
    assert acquire_b.wait(timeout=HANG) == 0
    history = world.history(generation_a + 1)
    assert (history["holder"], history["previous_holder"], history["previous_released"]) == (b.holder, a.holder, True)
    assert world.sessions(a.role) == 0
    assert not world.can_login(a.role) and world.can_login(b.role)

    b.serve()
    wait_until(lambda: world.rows(b) >= 20, "B's server to write")
    # A's server was cut off and keeps failing to log in again.
    refused = a.refused()
    wait_until(lambda: a.refused() >= refused + 2, "A's server to be refused again")
    assert hold_a.wait(timeout=HANG) == EXIT_FENCED  # A's agent noticed the lease is gone ...
    assert a.stopped.read_text().count("stopped") == 1  # ... and stopped its backend
    world.assert_handover(a, b)


# --------------------------------------------------------------------------
# (b) hung instance: frozen agent and server keep their sessions open
# --------------------------------------------------------------------------


def test_frozen_instance_is_fenced_after_ttl_and_cannot_come_back(world: World) -> None:
    a, b = world.instance("a"), world.instance("b")
    world.prepare(a)
    hold_a, server_a = start_holding(world, a)
    freeze(hold_a)
    freeze(server_a)
    # A renewal A's frozen psql had already sent lands now, not later.
    wait_until(lambda: world.fence_statements_running() == 0, "A's last renewal to land")
    generation_a = world.lease()["generation"]
    assert world.sessions(a.role) >= 1  # the frozen server still has its session
    assert world.expires_in() > 0

    acquire_b = b.spawn("acquire")
    wait_for_polls(b, acquire_b, a)  # B waits while A's lease is live ...
    world.run_out_lease()  # ... until it runs out on the database clock: frozen, A renewed no more
    assert acquire_b.wait(timeout=HANG) == 0
    history = world.history(generation_a + 1)
    assert history["previous_holder"] == a.holder and history["previous_released"] is False
    assert history["acquired_at"] >= history["previous_expires_at"]  # only once A's lease expired (DB clock)
    assert world.sessions(a.role) == 0  # the frozen server's session was terminated
    assert not world.can_login(a.role)

    b.serve()
    wait_until(lambda: world.rows(b) >= 20, "B's server to write")
    freeze(hold_a, signal.SIGCONT)
    freeze(server_a, signal.SIGCONT)
    assert hold_a.wait(timeout=HANG) == EXIT_FENCED
    assert a.stopped.read_text().count("stopped") == 1
    wait_until(lambda: a.refused() >= 2, "A's resumed server to be refused")
    rows_b = world.rows(b)
    wait_until(lambda: world.rows(b) > rows_b + 20, "B's server to keep writing")
    world.assert_handover(a, b)
    assert world.lease()["holder"] == b.holder


# --------------------------------------------------------------------------
# (c) network partition: the old server's sessions stay open on the database side
# --------------------------------------------------------------------------


def test_partitioned_instance_is_fenced_and_cannot_reconnect_after_healing(world: World) -> None:
    proxy = world.proxy()
    a, b = world.instance("a", proxy=proxy), world.instance("b")
    world.prepare(b)
    # A short lease (its grace 2 s) and database calls that give up after 2 s, for A: they bound how
    # long A's agent tries across the partition and when A's lease runs out on the database clock once
    # its renewals stop. Speed does not matter: if a slow renewal failed or the lease ran out before
    # the partition, that would only stop A sooner (nobody else wants the lease until then).
    hold_a, _server_a = start_holding(world, a, ttl="3", timeout="2")
    assert a.env()["JOBS_DB_PORT"] == str(proxy.port)  # A's server goes through the partitionable link
    generation_a = world.lease()["generation"]

    proxy.partition()
    acquire_b = b.spawn("acquire")
    # A's agent cannot renew; past its grace (2/3 TTL) it stops its backend itself: belt and braces.
    assert hold_a.wait(timeout=HANG) == EXIT_LOST
    assert a.stopped.read_text().count("stopped") == 1
    assert acquire_b.wait(timeout=HANG) == 0
    history = world.history(generation_a + 1)
    assert history["previous_holder"] == a.holder and history["previous_released"] is False
    assert history["acquired_at"] >= history["previous_expires_at"]
    assert world.sessions(a.role) == 0  # its database-side sessions are gone although A never noticed

    b.serve()
    wait_until(lambda: world.rows(b) >= 20, "B's server to write")
    rows_a = world.rows(a)
    proxy.heal()
    wait_until(lambda: a.refused() >= 2, "A's server to be refused after healing")
    assert world.rows(a) == rows_a  # its write in flight across the partition failed
    assert world.sessions(a.role) == 0
    world.assert_handover(a, b)


# --------------------------------------------------------------------------
# (d) the generation only increases; one winner per race
# --------------------------------------------------------------------------


def test_racing_agents_one_winner_and_generations_increase(world: World) -> None:
    racers = [world.instance(name) for name in ("x", "y", "z")]  # the database is not bootstrapped yet
    winners = []
    for round_number in range(1, 3):
        # The winner does not renew: its lease (an hour long) lasts the whole race, however slow.
        processes = [world.spawn(r.argv("acquire", max_wait="0.8"), r.dir / "race.log") for r in racers]
        codes = [p.wait(timeout=HANG) for p in processes]
        assert sorted(codes) == [0, EXIT_HELD, EXIT_HELD], codes
        winner = racers[codes.index(0)]
        lease = world.lease()
        assert (lease["holder"], lease["generation"], lease["released"]) == (winner.holder, round_number, False)
        logins = "SELECT count(*) FROM pg_roles WHERE rolcanlogin AND rolname = ANY(%s)"
        assert world.one(logins, [r.role for r in racers]) == 1
        winners.append(winner.holder)
        assert winner.run("release").returncode == 0
        for racer in racers:
            racer.role_env.unlink(missing_ok=True)
    history = world.query("SELECT generation, holder FROM rudder_ha_fence.history ORDER BY generation")
    assert history == [(n, h) for n, h in enumerate(winners, 1)]

    x, y = racers[0], racers[1]
    assert x.run("acquire").returncode == 0  # generation 3
    hold_x = x.spawn("hold")
    wait_until(lambda: "holding generation 3" in (x.dir / "hold.log").read_text(), "x's hold to adopt the lease")
    password = x.env()["JOBS_DB_PASSWORD"]
    # The backend restarts on x (its ExecStartPre acquires again): same generation, new password, and
    # x's own hold goes on renewing instead of taking it for a fence.
    assert x.run("acquire").returncode == 0
    assert world.lease()["generation"] == 3
    assert x.env()["JOBS_DB_PASSWORD"] != password
    old_login = world.params.replace(user=x.role, password=password)
    with pytest.raises(Exception, match="password authentication failed"):
        old_login.connect()
    renewed = world.lease()["renewed_at"]
    wait_until(lambda: world.lease()["renewed_at"] > renewed, "x's hold to renew again")
    assert hold_x.poll() is None and not x.stopped.exists()
    assert y.run("acquire", "--max-wait", "0.5").returncode == EXIT_HELD
    assert world.lease()["generation"] == 3
    freeze(hold_x, signal.SIGKILL)
    assert hold_x.wait(timeout=HANG) == -signal.SIGKILL
    wait_until(lambda: world.fence_statements_running() == 0, "x's last renewal to land")
    # x no longer renews: once its lease expires on the database clock, y takes over with generation 4.
    acquire_y = y.spawn("acquire")
    wait_for_polls(y, acquire_y, x)
    world.run_out_lease()
    assert acquire_y.wait(timeout=HANG) == 0
    assert (world.lease()["generation"], world.lease()["holder"]) == (4, y.holder)
    assert x.run("release").returncode == EXIT_FENCED  # not the holder: nothing released
    assert world.lease()["released"] is False


# --------------------------------------------------------------------------
# (e) status and bootstrap
# --------------------------------------------------------------------------


def test_bootstrap_is_idempotent_and_status_reports_the_lease(world: World) -> None:
    a, b = world.instance("a"), world.instance("b")
    together = [world.spawn(a.argv("bootstrap"), a.dir / f"bootstrap-{n}.log") for n in range(3)]
    assert [p.wait(timeout=HANG) for p in together] == [0, 0, 0]
    assert a.run("bootstrap").returncode == 0
    assert world.one("SELECT count(*) FROM rudder_ha_fence.lease") == 1
    assert world.one("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", world.group) is False

    assert a.run("acquire").returncode == 0
    assert b.run("bootstrap").returncode == 0  # does not reset the lease
    status = a.run("status")
    assert status.returncode == 0
    data = json.loads(status.stdout)
    assert (data["generation"], data["holder"], data["role"]) == (1, a.holder, a.role)
    assert data["live"] is True and data["released"] is False and data["held_by_me"] is True
    assert data["me"] == a.holder and data["ttl"] == TTL
    assert data["roles"] == [{"role": a.role, "login": True, "sessions": 0}]
    assert [h["generation"] for h in data["history"]] == [1]
    assert json.loads(b.run("status").stdout)["held_by_me"] is False

    assert a.run("release").returncode == 0
    data = json.loads(a.run("status").stdout)
    assert data["released"] is True and data["live"] is False and data["held_by_me"] is False
    assert b.run("acquire").returncode == 0  # the next holder fences the released one
    data = json.loads(a.run("status").stdout)
    assert (data["generation"], data["holder"], data["held_by_me"]) == (2, b.holder, False)
    logins = {r["role"]: r["login"] for r in data["roles"]}
    assert logins == {a.role: False, b.role: True}
    assert [h["generation"] for h in data["history"]] == [2, 1]

    broken = world.instance("broken")
    broken.admin_env.write_text("JOBS_DB_HOST=127.0.0.1\nJOBS_DB_PORT=1\nJOBS_DB_DB_NAME=x\nJOBS_DB_ADMIN_USER=u\n")
    failed = broken.run("status")
    assert failed.returncode == EXIT_UNAVAILABLE and "error" in json.loads(failed.stdout)
    broken.admin_env.unlink()
    assert broken.run("status").returncode == EXIT_CONFIG


# --------------------------------------------------------------------------
# (f) rudder-server's start-up cleanup of its own leftover sessions
# --------------------------------------------------------------------------


def live_pids(world: World, pids: set[int]) -> set[int]:
    return {pid for (pid,) in world.query("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", list(pids))}


def restart_server(world: World, instance: Instance, previous: rudder_server.ServerRun) -> rudder_server.ServerRun:
    """The backend restarts as systemd runs it: acquire again (ExecStartPre), then the server starts and
    its cleanup ends the sessions the previous run left behind (its client side is gone, as after a kill)."""
    assert instance.run("acquire").returncode == 0
    assert live_pids(world, previous.pids) == previous.pids  # the leftovers are there when the server starts
    run = rudder_server.start(instance.login(), previous.release, previous.host)
    assert set(run.ended) == previous.pids
    wait_until(lambda: not live_pids(world, previous.pids), "the leftover sessions to end")
    previous.close()
    return run


def write_as(run: rudder_server.ServerRun, instance: Instance) -> None:
    """The new run works: a pool writes, as the group (so the next instance may alter what it creates)."""
    conn = next(c for c in run.sessions if not c.pgconn.is_busy())
    conn.execute("INSERT INTO writes (instance, generation) VALUES (%s, %s)", (instance.name, 0))


@pytest.mark.parametrize("release", rudder_server.RELEASES)
def test_server_start_up_cleanup_works_after_a_restart_and_after_a_handover(world: World, release: str) -> None:
    a, b = world.instance("a"), world.instance("b")
    world.prepare(a)
    host_a, host_b = "ip-10-30-1-17.eu-west-1.compute.internal", "ip-10-30-2-41.eu-west-1.compute.internal"
    admin = world.params.connect()
    admin.execute("SET application_name = 'rudder-jobsdb-fence'")  # a fence agent's session, not the server's
    try:
        assert a.run("acquire").returncode == 0
        run_a = rudder_server.start(a.login(), release, host_a)
        assert run_a.ended == []
        # A restart of the same instance: same generation, new password, the old run's sessions still open.
        run_a = restart_server(world, a, run_a)
        write_as(run_a, a)
        assert world.lease()["generation"] == 1

        # A handover: A lets go, B fences it (A's sessions end) and B's server starts, then restarts.
        assert a.run("release").returncode == 0
        assert b.run("acquire").returncode == 0
        assert not live_pids(world, run_a.pids) and not world.can_login(a.role)
        run_b = rudder_server.start(b.login(), release, host_b)
        assert run_b.ended == []
        run_b = restart_server(world, b, run_b)
        write_as(run_b, b)
        assert world.lease()["generation"] == 2
        # The cleanup ended only the server's own sessions, and B still cannot reach A's role.
        assert admin.execute("SELECT 1").fetchone() == (1,)
        assert world.one("SELECT array_agg(DISTINCT run_as) FROM writes") == [world.group]
        with pytest.raises(psycopg.OperationalError, match="is not permitted to log in"):
            psycopg.connect(**{**a.login(), "password": a.env()["JOBS_DB_PASSWORD"]})
        run_b.close()
    finally:
        admin.close()


# --------------------------------------------------------------------------
# (g) hot standby: the holder's backend fails, the waiting standby takes over at once
# --------------------------------------------------------------------------


class BackendHealth:
    """A stand-in for rudder-server's /health on one instance: 200 or 503 as the test sets it."""

    def __init__(self) -> None:
        self.ok = True
        self.served = 0
        health = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                health.served += 1
                self.send_response(200 if health.ok else 503)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/health"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def health() -> Iterator[BackendHealth]:
    h = BackendHealth()
    try:
        yield h
    finally:
        h.close()


def watched(instance: Instance, health: BackendHealth) -> dict[str, str]:
    """hold's options in hot-standby mode, the unhealthy command recording the instance it reports."""
    record = instance.dir / "reported-unhealthy"
    return {"health_url": health.url, "unhealthy_command": f"sh -c 'echo {{holder}} >> {record}'"}


def test_hot_standby_takes_over_at_once_when_the_holders_backend_fails(world: World, health: BackendHealth) -> None:
    a, b = world.instance("a"), world.instance("b")
    world.prepare(a)
    hold_a, _server_a = start_holding(world, a, **watched(a, health))
    wait_until(lambda: health.served >= 2, "A's hold to see its backend healthy")
    generation_a = world.lease()["generation"]
    acquire_b = b.spawn("acquire")
    wait_for_polls(b, acquire_b, a)

    health.ok = False  # A's backend fails; A's agent still renews, its lease would last another hour
    assert hold_a.wait(timeout=HANG) == EXIT_UNHEALTHY
    assert (a.dir / "reported-unhealthy").read_text().split() == [a.holder]
    assert a.stopped.read_text().count("stopped") == 1
    assert acquire_b.wait(timeout=HANG) == 0  # no clock moved: the yield, not the TTL, let B in
    history = world.history(generation_a + 1)
    assert (history["holder"], history["previous_holder"], history["previous_released"]) == (b.holder, a.holder, True)
    assert world.sessions(a.role) == 0 and not world.can_login(a.role)
    # A's backend restarts and its acquire now waits as the standby: B holds the lease.
    assert a.run("acquire", max_wait="0.5").returncode == EXIT_HELD
    b.serve()
    wait_until(lambda: world.rows(b) >= 20, "B's server to write")
    wait_until(lambda: a.refused() >= 2, "A's server to be refused")
    world.assert_handover(a, b)


def test_a_yielded_lease_returns_to_its_failed_holder_only_a_ttl_later(world: World, health: BackendHealth) -> None:
    a = world.instance("a")
    world.prepare(a)
    hold_a, _server_a = start_holding(world, a, **watched(a, health))
    wait_until(lambda: health.served >= 2, "A's hold to see its backend healthy")
    health.ok = False
    assert hold_a.wait(timeout=HANG) == EXIT_UNHEALTHY
    lease = world.lease()
    assert lease["released"] is True and lease["yielded"] is True
    # No standby: A's own acquire waits one TTL from the yield (on the database clock), then takes it back.
    acquire_a = a.spawn("acquire")
    wait_for_polls(a, acquire_a, a)
    world.clock.advance(TTL + 1)
    assert acquire_a.wait(timeout=HANG) == 0
    lease = world.lease()
    assert (lease["holder"], lease["generation"], lease["yielded"]) == (a.holder, 2, False)


def test_a_holder_cut_off_from_the_database_does_not_yield(world: World, health: BackendHealth) -> None:
    proxy = world.proxy()
    a = world.instance("a", proxy=proxy)
    world.prepare(a)
    # A short lease for A (see the partition test): its grace bounds how long its agent tries.
    hold_a, _server_a = start_holding(world, a, ttl="3", timeout="2", **watched(a, health))
    wait_until(lambda: health.served >= 2, "A's hold to see its backend healthy")
    proxy.partition()
    health.ok = False  # its /health fails because the database is out of reach, not because it broke
    assert hold_a.wait(timeout=HANG) == EXIT_LOST
    assert not (a.dir / "reported-unhealthy").exists()  # a database outage never replaces the holders
    proxy.heal()


# --------------------------------------------------------------------------
# secrets, identity, the unit, the script itself
# --------------------------------------------------------------------------


def test_passwords_never_on_a_command_line_and_role_env_is_private(world: World) -> None:
    a = world.instance("a")
    log = world.tmp / "psql-argv.log"
    wrapper = world.tmp / "psql"
    wrapper.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{log}'\nexec '{world.psql}' \"$@\"\n")
    wrapper.chmod(0o755)
    run = a.run("acquire", psql=str(wrapper))
    assert run.returncode == 0, run.stderr
    env = a.env()
    assert stat.S_IMODE(a.role_env.stat().st_mode) == 0o600
    assert env["JOBS_DB_USER"] == a.role and env["RUDDER_HA_FENCE_GENERATION"] == "1"
    assert len(env["JOBS_DB_PASSWORD"]) >= 40
    recorded = log.read_text()
    assert recorded and world.params.password not in recorded and env["JOBS_DB_PASSWORD"] not in recorded
    stored = world.one("SELECT rolpassword FROM pg_authid WHERE rolname = %s", a.role)
    assert stored.startswith("SCRAM-SHA-256$4096:") and env["JOBS_DB_PASSWORD"] not in stored
    with world.params.replace(user=a.role, password=env["JOBS_DB_PASSWORD"]).connect() as conn:
        assert conn.execute("SELECT current_user::text, session_user::text").fetchone() == (world.group, a.role)


def test_holder_from_imdsv2_and_admin_login_from_secrets_manager(world: World) -> None:
    a = world.instance("a")
    assert a.run("bootstrap").returncode == 0

    class Imds(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            ok = self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            self._answer(200 if ok else 400, "token-123")

        def do_GET(self) -> None:
            ok = self.path == "/latest/meta-data/instance-id" and self.headers.get("X-aws-ec2-metadata-token") == (
                "token-123"
            )
            self._answer(200 if ok else 401, a.holder)

        def _answer(self, code: int, body: str) -> None:
            self.send_response(code)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    imds = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Imds)
    threading.Thread(target=imds.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    bindir = world.tmp / "bin"
    bindir.mkdir()
    aws_log = world.tmp / "aws.log"
    secret = json.dumps({"username": world.params.user, "password": world.params.password})
    (world.tmp / "secret.json").write_text(secret)
    (bindir / "aws").write_text(f"#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{aws_log}'\ncat '{world.tmp / 'secret.json'}'\n")
    (bindir / "aws").chmod(0o755)
    settings = a.admin_env.read_text().splitlines()
    settings = [line for line in settings if not line.startswith("JOBS_DB_ADMIN_")]
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1"
    a.admin_env.write_text("\n".join([*settings, f"JOBS_DB_ADMIN_SECRET_ID={arn}", ""]))
    argv = [arg for arg in a.argv("status") if arg not in ("--holder", a.holder)]
    env = {**world.env, "RUDDER_HA_IMDS_URL": f"http://127.0.0.1:{imds.server_port}/latest"}
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"
    try:
        run = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=HANG, check=False)
    finally:
        imds.shutdown()
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["me"] == a.holder
    assert aws_log.read_text().split() == [
        *["secretsmanager", "get-secret-value", "--secret-id"],
        arn,
        *["--query", "SecretString", "--output", "text", "--region", "eu-west-1"],
    ]


def test_unit_runs_hold_in_rds_mode_before_the_backend() -> None:
    unit = UNIT.read_text()
    assert "ExecStart=/usr/local/bin/rudder-jobsdb-fence hold " in unit
    assert '--stop-command "systemctl restart --no-block rudder-backend.service"' in unit
    # The lease and the hot standby's watch come from instance.env (empty: the script's defaults, no watch).
    assert '--ttl "${RUDDER_JOBSDB_FENCE_TTL}"' in unit and '--health-url "${RUDDER_FENCE_HEALTH_URL}"' in unit
    assert "aws autoscaling set-instance-health --instance-id {holder} --health-status Unhealthy" in unit
    backend = (REPO_ROOT / "ami" / "systemd" / "rudder-backend.service").read_text()
    assert 'acquire --max-wait "$RUDDER_JOBSDB_FENCE_MAX_WAIT" --ttl "$RUDDER_JOBSDB_FENCE_TTL"' in backend
    assert "Before=rudder-backend.service" in unit
    assert 'ExecCondition=/usr/bin/test "${RUDDER_JOBSDB_MODE}" = rds' in unit
    assert "EnvironmentFile=/etc/rudder-ha/instance.env" in unit
    assert "Restart=always" in unit
    release = next(line for line in unit.splitlines() if line.startswith("ExecStopPost="))
    assert '"$$SERVICE_RESULT" = success' in release and "rudder-jobsdb-fence release" in release
    assert "! systemctl is-active --quiet rudder-backend.service" in release


def test_script_is_python39_stdlib_and_documents_its_exit_codes(world: World) -> None:
    source = SCRIPT.read_text()
    assert source.startswith("#!/usr/bin/env python3\n") and os.access(SCRIPT, os.X_OK)
    tree = ast.parse(source, feature_version=(3, 9))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(name=node.module or "")])
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
    pyenv_39 = sorted(Path.home().glob(".pyenv/versions/3.9*/bin/python3.9"))
    python = str(pyenv_39[-1]) if pyenv_39 else sys.executable  # Amazon Linux 2023 ships Python 3.9

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([python, *argv], capture_output=True, text=True, env=world.env, timeout=HANG, check=False)

    helped = run(str(SCRIPT), "--help")
    assert helped.returncode == 0, helped.stderr
    tokens = ("acquire", "hold", "release", "status", "bootstrap", "3 fenced", "4 lease lost", "5 backend failed")
    for token in (*tokens, "69", "75", "78"):
        assert token in helped.stdout
    assert run(str(SCRIPT), "explode").returncode == 2
    a = world.instance("a")
    acquired = run(*a.argv("acquire")[1:])
    assert acquired.returncode == 0, acquired.stderr
    assert json.loads(run(*a.argv("status")[1:]).stdout)["held_by_me"] is True
    assert run(*a.argv("release")[1:]).returncode == 0
    assert run(*a.argv("acquire", ttl="", max_wait="")[1:]).returncode == 0  # unset variables: the defaults
    assert world.lease()["ttl"] == 30.0
