"""Process and socket plumbing for the vendor tests (used by peers.py and moto.py).

* ``ManagedProcess``: a child in its own session, output in files, stopped by PID with a bounded
  wait and SIGKILL of its process group as the last resort.
* ``UdpSink`` / ``TcpSink``: listeners on a collector port that drain (or keep) what arrives.
* ``send_udp`` / ``send_tcp``: known-good messages from one socket (one transport session).
* ``free_port``, ``port_is_bound`` (from /proc/net), ``wait_for``, ``require_binary``: a missing
  binary is a ``PeerError`` naming the Debian package to install, never a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 20.0  # s until a peer listens
STOP_TIMEOUT = 20.0  # s for a peer to exit after its stop signal
DECODE_TIMEOUT = 60.0  # s for an offline decoder run (tshark -r, nfdump, ipfixDump)

# Debian package that ships each binary (the hint printed when one is missing).
PACKAGE_OF = {
    "tshark": "tshark",
    "nfcapd": "nfdump",
    "nfdump": "nfdump",
    "nfacctd": "pmacct",
    "ipfixDump": "libfixbuf-tools",
    "timeout": "coreutils",
}

# Searched after $PATH (nfacctd lives in /usr/sbin, which a non-root PATH may lack).
FALLBACK_DIRS = ("/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin", "/usr/local/bin")


class PeerError(AssertionError):
    """A peer failed to start, stop or decode; the message carries the peer's own output."""


# --------------------------------------------------------------------------------------------
# small helpers


def require_binary(name: str) -> str:
    """Path of a peer binary, or a failure naming the package that ships it."""
    path = shutil.which(name)
    if path is None:
        for d in FALLBACK_DIRS:
            cand = Path(d) / name
            if cand.is_file() and os.access(cand, os.X_OK):
                path = str(cand)
                break
    if path is None:
        pkg = PACKAGE_OF.get(name, name)
        raise PeerError(
            f"{name} is not installed: install it with `apt-get install -y {pkg}` "
            f"(scripts/test installs every vendor-test peer)"
        )
    return path


def free_port(host: str = LOOPBACK) -> int:
    """A port that is free for both UDP and TCP on ``host`` right now."""
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind((host, 0))
            port = u.getsockname()[1]
            t.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise PeerError("no free port found on loopback")


def port_is_bound(port: int, transport: str) -> bool:
    """Whether some socket listens on ``port`` (TCP LISTEN, or any bound UDP socket)."""
    want = f"{port:04X}"
    for path in (f"/proc/net/{transport}", f"/proc/net/{transport}6"):
        try:
            lines = Path(path).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 4:
                continue
            local_port = cols[1].rsplit(":", 1)[-1]
            state = cols[3]
            if local_port == want and (transport == "udp" or state == "0A"):
                return True
    return False


def udp_rx_queue(port: int) -> int | None:
    """Octets waiting unread in the receive queue of the UDP socket bound to ``port`` (None: no socket)."""
    want = f"{port:04X}"
    total = None
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(path).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 4 and cols[1].rsplit(":", 1)[-1] == want:
                total = (total or 0) + int(cols[4].split(":")[1], 16)
    return total


def wait_for(pred: Callable[[], bool], timeout: float, what: str, detail: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return
        if time.monotonic() >= deadline:
            raise PeerError(f"timed out after {timeout:.0f}s waiting for {what}\n{detail()}")
        time.sleep(0.05)


def tail_file(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no output file)"
    kept = text.splitlines()[-lines:]
    return "\n".join(kept) if kept else "(empty)"


def run_decoder(argv: list[str], *, timeout: float = DECODE_TIMEOUT, env: dict | None = None, what: str) -> str:
    """Run an offline decoder; a failure carries its stderr."""
    try:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise PeerError(f"{what} timed out after {timeout:.0f}s: {' '.join(argv)}") from e
    if proc.returncode != 0:
        raise PeerError(
            f"{what} failed (exit {proc.returncode}): {' '.join(argv)}\n"
            f"--- stderr ---\n{proc.stderr.decode(errors='replace')[-4000:]}"
        )
    return proc.stdout.decode(errors="replace")


def utc_env() -> dict:
    env = dict(os.environ)
    env["TZ"] = "UTC"
    env["LC_ALL"] = "C"
    return env


# --------------------------------------------------------------------------------------------
# process and socket plumbing


class ManagedProcess:
    """A child process with its stdout/stderr in files, started in its own session and stopped by PID."""

    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict | None = None):
        self.name = name
        self.argv = argv
        self.env = env
        self.stdout_path = workdir / f"{name}.stdout.log"
        self.stderr_path = workdir / f"{name}.stderr.log"
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=self.env,
                start_new_session=True,  # its own process group: plugins/forks die with it
            )

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        parts = []
        for p in (self.stdout_path, self.stderr_path):
            try:
                parts.append(p.read_text(errors="replace"))
            except OSError:
                pass
        return "\n".join(parts)

    def logs(self, lines: int = 60) -> str:
        return (
            f"--- {self.name} (pid {self.pid}): {' '.join(self.argv)}\n"
            f"--- stderr (last {lines} lines) ---\n{tail_file(self.stderr_path, lines)}\n"
            f"--- stdout (last {lines} lines) ---\n{tail_file(self.stdout_path, lines)}"
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Send ``sig`` to the process, wait; SIGKILL its process group if it does not exit in time."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise PeerError(
                    f"{self.name} (pid {self.proc.pid}) did not exit within {timeout:.0f}s after "
                    f"{signal.Signals(sig).name}; killed\n{self.logs()}"
                ) from None
        self.returncode = self.proc.returncode
        return self.returncode

    def kill(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


class UdpSink:
    """Binds the collector port and drains datagrams, optionally keeping them with their source."""

    def __init__(self, host: str, port: int, keep: bool):
        self.keep = keep
        self.datagrams: list[tuple[bytes, tuple[str, int]]] = []
        self.count = 0
        self.octets = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self._sock.bind((host, port))
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=f"udp-sink-{port}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                data, src = self._sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self._take(data, src)

    def _take(self, data: bytes, src: tuple[str, int]) -> None:
        with self._lock:
            self.count += 1
            self.octets += len(data)
            if self.keep:
                self.datagrams.append((data, src))

    def received(self) -> tuple[int, int]:
        with self._lock:
            return self.count, self.octets

    def close(self) -> None:
        """Stops the thread, then takes what is still queued (a sender that has exited has
        delivered everything on loopback), then closes."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.setblocking(False)
        while True:
            try:
                data, src = self._sock.recvfrom(65535)
            except (BlockingIOError, OSError):
                break
            self._take(data, src)
        self._sock.close()


class TcpSink:
    """Accepts connections on the collector port and keeps (or just counts) each stream's bytes."""

    def __init__(self, host: str, port: int, keep: bool):
        self.keep = keep
        self.streams: list[tuple[tuple[str, int], bytearray]] = []
        self.connections = 0
        self.octets = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._accept_loop, name=f"tcp-sink-{port}", daemon=True)
        self._accept.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            buf = bytearray()
            with self._lock:
                self.connections += 1
                self.streams.append((peer, buf))
            t = threading.Thread(target=self._read_loop, args=(conn, buf), daemon=True)
            t.start()
            self._threads.append(t)

    def _read_loop(self, conn: socket.socket, buf: bytearray) -> None:
        conn.settimeout(0.1)
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                with self._lock:
                    self.octets += len(data)
                    if self.keep:
                        buf.extend(data)

    def received(self) -> tuple[int, int]:
        with self._lock:
            return self.connections, self.octets

    def close(self) -> None:
        self._stop.set()
        self._accept.join(timeout=5)
        for t in self._threads:
            t.join(timeout=5)
        self._sock.close()


def send_udp(port: int, messages: Iterable[bytes], host: str = LOOPBACK, gap: float = 0.0) -> tuple[str, int]:
    """Send each message as one datagram from one socket (one transport session); returns its address."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((LOOPBACK, 0))
        for m in messages:
            s.sendto(m, (host, port))
            if gap:
                time.sleep(gap)
        return s.getsockname()
    finally:
        s.close()


def send_tcp(port: int, messages: Iterable[bytes], host: str = LOOPBACK) -> tuple[str, int]:
    """Send the messages back to back on one TCP connection, then close it."""
    s = socket.create_connection((host, port), timeout=10)
    try:
        src = s.getsockname()
        for m in messages:
            s.sendall(m)
        s.shutdown(socket.SHUT_WR)
        return src
    finally:
        s.close()
