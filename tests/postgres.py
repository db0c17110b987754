"""A throwaway PostgreSQL server on loopback for the destination-parametrized tests.

`LIVECHAT_TEST_POSTGRES_URL` points the tests at an existing server. Otherwise the server
binaries of the OS package (`initdb`, `pg_ctl`) start a private cluster in a temporary
directory on a free port, stopped when the session ends. When neither is possible, the
PostgreSQL variants are skipped with the reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

URL_VARIABLE = "LIVECHAT_TEST_POSTGRES_URL"


class PostgresUnavailable(Exception):
    """No server could be found or started; the message says why."""


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise PostgresUnavailable(
            f"`{name}` not found; install the OS package `postgresql` (the CI script does)"
        )
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a PostgreSQL server to create test databases on."""
    if os.environ.get(URL_VARIABLE):
        yield os.environ[URL_VARIABLE]
        return
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="livechat-pg-"))
    if os.geteuid() == 0:
        # initdb refuses to run as root: run the server as the package's `postgres` user
        runuser = shutil.which("runuser")
        if not runuser:
            raise PostgresUnavailable(
                "running as root without `runuser` to start PostgreSQL as postgres"
            )
        as_user = [runuser, "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        os.chmod(root, 0o700)
    data, port = root / "data", _free_port()

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(command[0]).name} failed: {done.stderr.strip()[-300:]}"
            )

    run(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync")
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    )
    run(pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start")
    try:
        # trust auth ignores the password, but dlt requires one in the URL
        yield f"postgresql://postgres:unused@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """Create a fresh database on the server and return its URL."""
    import psycopg2

    connection = psycopg2.connect(server_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'drop database if exists "{name}"')
        cursor.execute(f'create database "{name}"')
    connection.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
