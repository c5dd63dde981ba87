"""`Reconnecting`: a long-lived connection that is reopened on its next use once the
server dropped it (restart, network blip, ``pg_terminate_backend``), with a short backoff
so a server that is down is not hammered. The use that meets the drop fails (its caller
retries as it always does); the next one gets a new connection."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from psycopg import Connection

__all__ = ["RECONNECT_BACKOFF_S", "Reconnecting", "usable"]

logger = logging.getLogger("tickwork")

#: After a failed reconnection, the next attempt waits at least this long.
RECONNECT_BACKOFF_S = 0.5


def usable(conn: Connection[Any]) -> bool:
    """False once ``conn`` was closed or the server dropped it."""
    return not conn.closed and not conn.broken


class Reconnecting:
    """A connection opened by ``open`` (which raises on failure), reopened by `get` once
    broken. ``what`` names it in the log: one WARNING when it is found broken, one when
    it is back. Thread-safe; `get` on a healthy connection is two attribute reads."""

    def __init__(self, open: Callable[[], Connection[Any]], what: str, conn: Connection[Any] | None = None) -> None:
        self._open = open
        self.what = what
        #: The current connection (maybe broken); None before the first `get` or after `close`.
        self.conn = conn
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_try = 0.0

    def get(self) -> Connection[Any]:
        """A live connection: the current one, or a new one if it was dropped. Raises what
        ``open`` raises (or `psycopg.OperationalError` within the backoff after a failed attempt)."""
        conn = self.conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        with self._lock:
            conn = self.conn
            if conn is not None and usable(conn):
                return conn
            now = time.monotonic()
            if self._down_since is None:
                self._down_since = now
                if conn is not None:
                    logger.warning("tickwork: the %s connection was lost; reconnecting", self.what)
            elif now < self._next_try:
                raise psycopg.OperationalError(f"the {self.what} connection is down; retrying in {self._next_try - now:.1f}s")
            if conn is not None:
                _close(conn)
            try:
                conn = self._open()
            except BaseException:
                self._next_try = time.monotonic() + RECONNECT_BACKOFF_S
                raise
            if self.conn is not None:
                logger.warning(
                    "tickwork: the %s connection is back after %.1fs", self.what, time.monotonic() - self._down_since
                )
            self.conn, self._down_since = conn, None
            return conn

    @property
    def down(self) -> bool:
        """True while the connection is broken or being reopened (its failures are logged once)."""
        conn = self.conn
        return self._down_since is not None or (conn is not None and not usable(conn))

    def close(self) -> None:
        """Close the connection (a later `get` opens a new one)."""
        with self._lock:
            conn, self.conn = self.conn, None
            self._down_since = None
        if conn is not None:
            _close(conn)


def _close(conn: Connection[Any]) -> None:
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - closing a broken connection: nothing more to do
        pass
