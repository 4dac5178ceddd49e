"""A throw-away PostgreSQL server for tests and the local cluster topology: initdb in a
temporary directory (or one given), a free (or given) loopback port, trust
authentication, stopped and removed at the end.

PostgreSQL refuses to run as root; under root (as in CI) the server runs as the
``postgres`` system user that Debian's package creates.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from nrm_deploy.kafka_cluster import free_port

SUPERUSER = "nrm"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def server_binaries() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl`` (newest installed version)."""
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if installed:
        return installed[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise PostgresUnavailable(
        "PostgreSQL server not found: install it (Debian: apt-get install postgresql), "
        "or run `make setup` as root, which does"
    )


class PostgresServer:
    """One server; :meth:`create_database` gives each test a database of its own."""

    def __init__(self, base: Path | None = None, port: int | None = None) -> None:
        self.binaries = server_binaries()
        self.port = port or free_port()
        # Not pytest's tmp dir: that one is private to root, and the server may not be.
        self.base = base or Path(tempfile.mkdtemp(prefix="nrm-postgres-"))
        self.base.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.base / "data"
        self._run_as = _unprivileged_user()
        self._databases = 0

    def _command(self, *args: str) -> list[str]:
        if self._run_as is None:
            return list(args)
        return ["runuser", "-u", self._run_as, "--", *args]

    def start(self) -> PostgresServer:
        self.base.chmod(0o755)
        self.data_dir.mkdir()
        if self._run_as is not None:
            user = pwd.getpwnam(self._run_as)
            os.chown(self.data_dir, user.pw_uid, user.pw_gid)
        subprocess.run(
            self._command(
                str(self.binaries / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ),
            check=True,
            capture_output=True,
        )
        self.resume()
        return self

    def resume(self) -> None:
        """Start the server on its existing data directory (after :meth:`halt`)."""
        options = (
            f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 "
            # A test database: durability across power loss is not what is tested here.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        subprocess.run(
            self._command(
                str(self.binaries / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-o",
                options,
                "-l",
                str(self.data_dir / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def halt(self) -> None:
        """Stop the server, keeping its data: a database outage that :meth:`resume` ends.

        ``fast``: the clients' connections are cut at once, as when a server goes away.
        """
        subprocess.run(
            self._command(
                str(self.binaries / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"
            ),
            check=True,
            capture_output=True,
        )

    def create_database(self, name: str | None = None) -> str:
        """A new empty database (named ``name``, or a fresh test name); its asyncpg URL."""
        self._databases += 1
        name = name or f"test_{os.getpid()}_{self._databases}"
        subprocess.run(
            self._command(
                str(self.binaries / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                name,
            ),
            check=True,
            capture_output=True,
        )
        return self.url(name)

    def url(self, database: str) -> str:
        """The SQLAlchemy asyncpg URL of ``database`` on this server."""
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.data_dir.exists():
            subprocess.run(
                self._command(
                    str(self.binaries / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "fast",
                    "-w",
                    "stop",
                ),
                check=False,
                capture_output=True,
            )
        shutil.rmtree(self.base, ignore_errors=True)


def _unprivileged_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root, and no 'postgres' user to run the server"
        ) from None
    return "postgres"
