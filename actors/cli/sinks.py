"""Where a schedule's messages go: ``udp://``, ``tcp://``, ``file:`` and ``stdout``.

What goes on the wire:

* ``udp://HOST:PORT`` — one datagram per message: ``Protocol.encode(msg)``.
* ``tcp://HOST:PORT`` — a stream of length-prefixed frames (``Protocol.frame``; read
  them with ``codec.FrameReader``). A background thread keeps the connection up:
  when the peer is down or goes away it reconnects with exponential backoff (0.1 s
  doubling to 5 s). Meanwhile sends fail at once (never block the scheduler): the
  failure is raised to the scheduler, which counts it, and the schedule goes on.
* ``file:PATH`` — the same frames, appended (``file:`` paths are relative to the
  spec's directory; ``file:///abs/path`` works too). Opened on first send; a send
  that cannot write fails and the next one tries again. The file only ever holds
  whole frames: a frame torn by a failed write or a killed run is cut off.
* ``stdout`` — one JSON line per message: ``{"schedule": ..., "type": ..., "fields": {...}}``.

One sink object serves every schedule that names the same URL (one TCP connection
per peer). A sink is used from several execution threads: sends are serialized.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import msgspec

import codec

__all__ = [
    "FileSink",
    "Sink",
    "SinkSpec",
    "SinkUnavailable",
    "StdoutSink",
    "TcpSink",
    "UdpSink",
    "open_sink",
    "parse_sink",
    "whole_frames_end",
]

_FORMS = "udp://HOST:PORT, tcp://HOST:PORT, file:PATH or stdout"


@dataclass(frozen=True)
class SinkSpec:
    """A parsed sink URL. ``key`` identifies the destination (schedules sharing it share the sink)."""

    kind: str  # "udp", "tcp", "file", "stdout"
    text: str
    host: str = ""
    port: int = 0
    path: Path | None = None

    @property
    def key(self) -> str:
        if self.kind in ("udp", "tcp"):
            return f"{self.kind}://{self.host}:{self.port}"
        if self.kind == "file":
            return f"file:{self.path}"
        return self.kind


def parse_sink(text: str, base_dir: Path) -> SinkSpec:
    """Parse a sink URL; ValueError saying what was expected."""
    t = text.strip()
    if t == "stdout":
        return SinkSpec("stdout", t)
    if t.startswith("file:"):
        rest = t[5:]
        if rest.startswith("//"):
            rest = urlsplit(t).path
        if not rest:
            raise ValueError(f"bad sink {text!r}: file: needs a path, e.g. file:out/heartbeats.frames")
        p = Path(rest)
        return SinkSpec("file", t, path=p if p.is_absolute() else base_dir / p)
    scheme = t.split("://", 1)[0] if "://" in t else ""
    if scheme not in ("udp", "tcp"):
        raise ValueError(f"bad sink {text!r}: expected {_FORMS}")
    u = urlsplit(t)
    if u.path not in ("", "/") or u.query or u.fragment or u.username or u.password:
        raise ValueError(f"bad sink {text!r}: expected {scheme}://HOST:PORT and nothing more")
    try:
        port = u.port
    except ValueError:
        raise ValueError(f"bad sink {text!r}: the port must be a number from 1 to 65535") from None
    if not u.hostname:
        raise ValueError(f"bad sink {text!r}: no host (expected {scheme}://HOST:PORT)")
    if port is None or port == 0:
        raise ValueError(f"bad sink {text!r}: no port (expected {scheme}://HOST:PORT, port 1-65535)")
    return SinkSpec(scheme, t, host=u.hostname, port=port)


class SinkUnavailable(ConnectionError):
    """The sink cannot take a message right now (e.g. not connected); the send failed."""


class Sink:
    """Base class: counts sends and failures, remembers the last error."""

    def __init__(self, spec: SinkSpec) -> None:
        self.spec = spec
        self.sent = 0
        self.failed = 0
        self.last_error: str | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.spec.key

    def open(self) -> None:
        """Start whatever the sink needs (connections are made in the background)."""

    def close(self) -> None:
        """Release sockets, files and threads (idempotent)."""

    def status(self) -> str:
        """One short phrase for the live view."""
        return "ok" if self.last_error is None else f"error: {self.last_error}"

    def send(self, schedule: str, msg: codec.Message, protocol: codec.Protocol) -> None:
        """Deliver one message; raises if it could not (the scheduler counts a failure)."""
        try:
            self._send(schedule, msg, protocol)
        except BaseException as exc:
            with self._lock:
                self.failed += 1
                self.last_error = _describe(exc)
            raise
        with self._lock:
            self.sent += 1
            self.last_error = None

    def _send(self, schedule: str, msg: codec.Message, protocol: codec.Protocol) -> None:
        raise NotImplementedError


def _describe(exc: BaseException) -> str:
    """Short text for the view: "Connection refused", "timed out", "ValueError: ..."."""
    if isinstance(exc, SinkUnavailable):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class UdpSink(Sink):
    """One datagram per message."""

    def __init__(self, spec: SinkSpec) -> None:
        super().__init__(spec)
        self._sock: socket.socket | None = None
        self._addr: Any = None

    def _ensure(self) -> tuple[socket.socket, Any]:
        if self._sock is None:
            infos = socket.getaddrinfo(self.spec.host, self.spec.port, type=socket.SOCK_DGRAM)
            family, _type, _proto, _canon, addr = infos[0]
            self._sock = socket.socket(family, socket.SOCK_DGRAM)
            self._addr = addr
        return self._sock, self._addr

    def open(self) -> None:
        try:
            self._ensure()
        except OSError as exc:  # e.g. a name that does not resolve: retried at each send
            self.last_error = _describe(exc)

    def _send(self, schedule: str, msg: codec.Message, protocol: codec.Protocol) -> None:
        data = protocol.encode(msg)
        sock, addr = self._ensure()
        sock.sendto(data, addr)

    def status(self) -> str:
        return "ready" if self.last_error is None else f"error: {self.last_error}"

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()


class TcpSink(Sink):
    """Length-prefixed frames on one TCP connection, kept up by a background thread."""

    initial_backoff = 0.1
    max_backoff = 5.0
    connect_timeout = 2.0
    io_timeout = 1.0

    def __init__(self, spec: SinkSpec) -> None:
        super().__init__(spec)
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._retry_at: float | None = None  # monotonic time of the next connection attempt
        self._conn_error: str | None = None
        self.connects = 0

    def open(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"tickwork-sink {self.url}", daemon=True)
            self._thread.start()

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def _run(self) -> None:
        backoff = self.initial_backoff
        while not self._closing.is_set():
            try:
                sock = socket.create_connection((self.spec.host, self.spec.port), timeout=self.connect_timeout)
            except OSError as exc:
                self._conn_error = _describe(exc)
                self._retry_at = time.monotonic() + backoff
                self._closing.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            sock.settimeout(self.io_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._send_lock:
                self._sock = sock
                self._retry_at = None
                self._conn_error = None
                self.connects += 1
            backoff = self.initial_backoff
            self._watch(sock)
            with self._send_lock:
                if self._sock is sock:
                    self._sock = None
            sock.close()
            if not self._closing.is_set():
                self._retry_at = time.monotonic()  # reconnect at once, then back off

    def _watch(self, sock: socket.socket) -> None:
        """Block until the peer closes the connection (or a send broke it, or close())."""
        while not self._closing.is_set():
            try:
                data = sock.recv(4096)  # the peer has nothing to say: this notices it leaving
            except TimeoutError:
                if self._sock is not sock:
                    return
                continue
            except OSError as exc:
                if self._sock is sock:
                    self._conn_error = _describe(exc)
                return
            if not data:
                if self._sock is sock:  # else a failed send dropped it and said why
                    self._conn_error = "peer closed the connection"
                return

    def _send(self, schedule: str, msg: codec.Message, protocol: codec.Protocol) -> None:
        data = protocol.frame(msg)
        with self._send_lock:
            sock = self._sock
            if sock is None:
                raise SinkUnavailable(f"{self.url} not connected ({self.status()})")
            try:
                sock.sendall(data)
            except OSError as exc:
                # A broken or stuck connection: drop it (a partial frame would desynchronize
                # the stream); the watcher thread wakes up and reconnects.
                self._sock = None
                self._conn_error = _describe(exc)
                _shutdown(sock)
                raise

    def status(self) -> str:
        if self._sock is not None:
            return "connected"
        if self._closing.is_set():
            return "closed"
        retry = self._retry_at
        err = f" ({self._conn_error})" if self._conn_error else ""
        if retry is None:
            return f"connecting{err}"
        wait = retry - time.monotonic()
        return f"reconnecting in {max(0.0, wait):.1f}s{err}"

    def close(self) -> None:
        self._closing.set()
        with self._send_lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            _shutdown(sock)
        if self._thread is not None:
            self._thread.join(self.connect_timeout + self.io_timeout + 1)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class FileSink(Sink):
    """Length-prefixed frames appended to a file (each written straight to the OS).

    The file only ever holds whole frames: opening it cuts off a partial frame left
    at its end (a run killed mid-write, a disk that filled up), and a write that
    fails is cut back off at once. So later frames never land behind a torn one,
    and the file stays readable with `codec.FrameReader` whatever happened before.
    """

    def __init__(self, spec: SinkSpec) -> None:
        super().__init__(spec)
        self._fd: int | None = None
        self._end = 0  # where the last whole frame ends (the file's length)
        self.repaired = 0  # bytes of torn frames cut off so far
        self._write_lock = threading.Lock()

    def _open(self) -> int:
        assert self.spec.path is not None
        fd = os.open(self.spec.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            end = whole_frames_end(self.spec.path)
            size = os.fstat(fd).st_size
            if end < size:
                os.ftruncate(fd, end)
                self.repaired += size - end
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._end = fd, end
        return fd

    def _send(self, schedule: str, msg: codec.Message, protocol: codec.Protocol) -> None:
        frame = protocol.frame(msg)
        with self._write_lock:
            fd = self._fd if self._fd is not None else self._open()
            data = memoryview(frame)
            try:
                while data:
                    data = data[os.write(fd, data):]
            except BaseException:
                self._cut_back(fd)
                raise
            self._end += len(frame)

    def _cut_back(self, fd: int) -> None:
        """A write failed part way: drop what it wrote (or, if even that fails, close
        the file: the next send reopens it, which cuts the torn frame off)."""
        try:
            size = os.fstat(fd).st_size
            if size > self._end:
                os.ftruncate(fd, self._end)
                self.repaired += size - self._end
            return
        except OSError:
            pass
        self._fd = None
        try:
            os.close(fd)
        except OSError:
            pass

    def status(self) -> str:
        if self.last_error is not None:
            return f"error: {self.last_error}"
        return "appending" if self._fd is not None else "not opened yet"

    def close(self) -> None:
        with self._write_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def whole_frames_end(path: Path) -> int:
    """Where the last whole length-prefixed frame of the file at ``path`` ends (0 if
    it has none or does not exist): the bytes after it are a frame cut short."""
    pos = 0  # file offset of the next frame's header
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return 0
    with f:
        size = os.fstat(f.fileno()).st_size
        while size - pos >= 4:
            f.seek(pos)
            header = f.read(4)
            if len(header) < 4:
                break
            nxt = pos + 4 + int.from_bytes(header, "big")
            if nxt > size:
                break
            pos = nxt
    return pos


_stdout_lock = threading.Lock()


class StdoutSink(Sink):
    """One JSON line per message on standard output (looked up at each write)."""

    def __init__(self, spec: SinkSpec, stream: Callable[[], IO[str]] | None = None) -> None:
        super().__init__(spec)
        self._stream = stream or (lambda: sys.stdout)
        self._json = msgspec.json.Encoder()

    def _send(self, schedule: str, msg: codec.Message, protocol: codec.Protocol) -> None:
        protocol.check(msg)  # the same validation as every other sink
        line = self._json.encode(
            {"schedule": schedule, "type": type(msg).__name__, "fields": msgspec.structs.asdict(msg)}
        ).decode()
        with _stdout_lock:
            out = self._stream()
            out.write(line + "\n")
            out.flush()


def open_sink(spec: SinkSpec) -> Sink:
    """A new sink for ``spec`` (call ``open()`` before sending)."""
    cls: type[Sink] = {"udp": UdpSink, "tcp": TcpSink, "file": FileSink, "stdout": StdoutSink}[spec.kind]
    return cls(spec)
