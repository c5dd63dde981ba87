"""A real PostgreSQL server for the PostgresStore tests.

`TICKWORK_TEST_PG_DSN` if set (``.ci/run`` starts a throwaway server and sets it);
otherwise a throwaway server of our own, started with ``.ci/postgres`` when the server
binaries are installed (stopped when the test session ends); otherwise the tests that
need it are skipped, saying why. Each test gets a group of its own (`unique_group`),
so tests never see each other's schedules.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import uuid
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "postgres"

_counter = itertools.count(1)


def have_psycopg() -> bool:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return False
    return True


def server_binaries() -> bool:
    return bool(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or shutil.which("pg_config") is not None


def start_server() -> tuple[str, str]:
    """Start a throwaway server: (dsn, data dir for `stop_server`)."""
    out = subprocess.run([str(SCRIPT), "start"], check=True, capture_output=True, text=True, timeout=120)
    pg_dir = out.stdout.strip().splitlines()[-1]
    dsn = subprocess.run([str(SCRIPT), "dsn", pg_dir], check=True, capture_output=True, text=True).stdout.strip()
    return dsn, pg_dir


def stop_server(pg_dir: str) -> None:
    subprocess.run([str(SCRIPT), "stop", pg_dir], check=False, timeout=60)


def unique_group(prefix: str = "t") -> str:
    """A group name no other test (nor an earlier run on the same server) uses."""
    return f"{prefix}-{os.getpid()}-{next(_counter)}-{uuid.uuid4().hex[:8]}"
