"""A throwaway PostgreSQL cluster for tests: ``initdb`` and ``pg_ctl`` from Debian's ``postgresql`` package.

:class:`PostgresServer` makes a cluster in a fresh temporary directory, starts it on 127.0.0.1 and a free
port (the unix socket inside that directory, trust authentication: nothing else can reach it), and
:meth:`~PostgresServer.stop` stops it (``pg_ctl stop -m fast``) and removes the directory. It starts in
about a second, so a test session starts one (``postgres_server`` in ``tests/conftest.py``) and every test
gets its own database from :meth:`~PostgresServer.create_database`.

``initdb`` refuses to run as root, so as root every PostgreSQL command runs as the ``postgres`` user
(``runuser -u postgres --``), which owns the directory; as anyone else it runs as that user. Durability is
off (``fsync``, ``synchronous_commit``, ``full_page_writes``): a test cluster never survives a crash anyway.

``POSTGRES_TEST_URL`` (a ``postgresql://`` URL of a server whose user may create databases, e.g. a CI
service) is used instead when set, and left alone.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

__all__ = ["PostgresServer", "pg_bin"]

_SETTINGS = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
log_min_messages = warning
"""


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's ``bin`` directory (Debian keeps each major version apart)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One cluster (see the module docstring). ``url(db)`` is a ``postgresql+asyncpg://`` URL."""

    def __init__(self, external_url: str | None = None) -> None:
        self.external_url = external_url
        self.root: Path | None = None
        self.port: int | None = None
        self._bin = pg_bin()

    # -- lifecycle -----------------------------------------------------------------------------------------
    def start(self, *, attempts: int = 3) -> PostgresServer:
        """initdb and start; another free port is tried if the first is taken meanwhile."""
        if self.external_url is not None:
            return self
        if self._bin is None:
            raise RuntimeError("PostgreSQL is not installed (Debian package postgresql; run scripts/bootstrap)")
        self.root = Path(tempfile.mkdtemp(prefix="sidecar-pg-"))
        self.root.chmod(0o700)
        self._chown(self.root)
        data = self.root / "data"
        self._run(str(self._bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync", timeout=120)
        base = (data / "postgresql.conf").read_text()
        for attempt in range(attempts):
            self.port = _free_port()
            (data / "postgresql.conf").write_text(base + _SETTINGS.format(port=self.port, sockets=self.root))
            result = self._run(str(self._bin / "pg_ctl"), "-D", str(data), "-l", str(self.root / "server.log"),
                               "-w", "-t", "60", "start", check=False, timeout=90)
            if result.returncode == 0:
                return self
            if attempt == attempts - 1:
                log = (self.root / "server.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"pg_ctl start failed ({result.returncode}): {result.stderr}\n{log}")
        return self

    def stop(self) -> None:
        """Stop the cluster (fast: disconnects clients) and remove its directory; safe to call twice."""
        root, self.root = self.root, None
        if root is None or self._bin is None:
            return
        try:
            if (root / "data" / "postmaster.pid").exists():
                self._run(str(self._bin / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop",
                          check=False, timeout=60)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- databases -----------------------------------------------------------------------------------------
    def url(self, database: str = "postgres") -> str:
        """An asyncpg URL of ``database`` on this server."""
        if self.external_url is not None:
            from sqlalchemy.engine import make_url

            return make_url(self.external_url).set(drivername="postgresql+asyncpg", database=database) \
                .render_as_string(hide_password=False)
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.psql(f'CREATE DATABASE "{name}"')  # a name we made, never input
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database` (its connections are closed first)."""
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        if name and name.startswith("t_"):
            self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def psql(self, sql: str) -> str:
        """Run one statement as the superuser; its output."""
        if self.external_url is not None:
            from sqlalchemy.engine import make_url

            target = make_url(self.external_url).set(drivername="postgresql", database="postgres")
            args = ["psql", target.render_as_string(hide_password=False)]
        else:
            assert self._bin is not None and self.port is not None, "start() the server first"
            args = [str(self._bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "postgres"]
        result = subprocess.run([*args, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], capture_output=True, text=True,
                                timeout=60, check=False, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {result.stderr.strip()}")
        return result.stdout

    # -- running as postgres -------------------------------------------------------------------------------
    def _as_postgres(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, user="postgres", group="postgres")

    def _run(self, *args: str, check: bool = True, timeout: float) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*self._as_postgres(), *args], capture_output=True, text=True, timeout=timeout,
                                check=False, stdin=subprocess.DEVNULL, cwd="/")
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result
