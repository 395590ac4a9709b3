"""A throwaway PostgreSQL server for the tests, and the `database` fixture over both backends.

The server is a fresh cluster (initdb) in a temporary folder, started with pg_ctl on a free
port of 127.0.0.1 only (no Unix socket), trust authentication, fsync off; it is stopped and
deleted when the session ends. PostgreSQL refuses to run as root: as root the cluster runs as
the `postgres` user (Debian's package creates it).

Binaries: $PG_BIN, else the newest /usr/lib/postgresql/*/bin, else initdb on PATH. Without
them the PostgreSQL tests fail under CI (the CI variable set) and are skipped, with the
reason, on a developer's machine.

Loaded as a plugin by tests/conftest.py.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

BACKENDS = ("sqlite", "postgresql")
USER = "deskloop"


def find_binaries() -> Path | None:
    explicit = os.environ.get("PG_BIN")
    candidates = [Path(explicit)] if explicit else []
    installed = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(installed, key=lambda p: _major(p.parent.name), reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _major(name: str) -> int:
    return int(name) if name.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    bin: Path
    data: Path
    port: int
    owner: str | None  # the user the server runs as, when this process is root

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.owner:
            command = ["runuser", "-u", self.owner, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        for step in (
            ("initdb", "-D", str(self.data), "-U", USER, "-A", "trust", "-E", "UTF8", "--no-sync"),
            (
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.data / "server.log"),
                "-w",
                "-o",
                f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories='' "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                "start",
            ),
        ):
            done = self.run(*step)
            if done.returncode != 0:
                log = self.data / "server.log"
                tail = log.read_text()[-2000:] if log.is_file() else ""
                raise RuntimeError(f"{step[0]} failed: {done.stderr or done.stdout}\n{tail}")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={USER} dbname=postgres", autocommit=True
        ) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={USER} dbname=postgres", autocommit=True
        ) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL server for these tests: {reason} (CI fails here instead)")


class PostgresUnavailable(Exception):
    """No PostgreSQL server can run here; the message says why."""


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A started throwaway cluster, stopped and deleted afterwards (the benchmarks use it too).

    PostgresUnavailable: no binaries, or root without a 'postgres' user; RuntimeError: it
    would not start."""
    binaries = find_binaries()
    if binaries is None:
        raise PostgresUnavailable(
            "initdb and pg_ctl not found (install Debian's postgresql package, or set PG_BIN)"
        )
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres").pw_name
        except KeyError:
            raise PostgresUnavailable(
                "running as root and there is no 'postgres' user to run the server as"
            ) from None
    # not under pytest's tmp dir: that is private to this user, the server's user cannot enter it
    data = Path(tempfile.mkdtemp(prefix="deskloop-pg-"))
    if owner:
        record = pwd.getpwnam(owner)
        os.chown(data, record.pw_uid, record.pw_gid)
    server = PostgresServer(binaries, data, _free_port(), owner)
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(data, ignore_errors=True)
        raise RuntimeError(f"cannot start a PostgreSQL server: {exc}") from None
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        with running_postgres() as server:
            yield server
    except PostgresUnavailable as exc:
        _unavailable(str(exc))
    except RuntimeError as exc:
        pytest.fail(f"{exc} (for the tests)", pytrace=False)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A database of its own on the test server, dropped after the test."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path) -> str:
    """Where a store lives, once per backend: a SQLite file path, then a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "deskloop.db")
    return request.getfixturevalue("postgres_url")
