"""A TCP proxy between the pool and a MariaDB server that can fail the way real networks do.

In the spirit of psycopg_pool's tests/fix_proxy.py, but able to fail silently: modes are

- ``forward``: pass bytes both ways;
- ``blackhole``: stop passing bytes (nothing is closed, nothing is answered): a partition, a
  failover that left the old address dangling, a load balancer that forgot the flow;
- ``delay``: pass bytes after ``delay`` seconds each way;
- ``reset``: reset every connection now (RST) and go back to ``forward``;
- ``mute``: accept new connections but never connect them upstream nor answer (a server that
  accepts TCP but never sends its handshake); existing connections are blackholed too;
- ``half_open``: close each connection's upstream side (the server sees the client go and ends
  its session: a transaction rolls back, locks are released) while the client side stays open
  and silent, its bytes read and dropped: a server host that crashed or failed over behind a
  link that sends no RST. New connections are muted. Back to ``forward``, the half-open
  connections are reset, as a host that forgot the flow answers once it is reachable again;
- ``drop_replies``: pass the client's bytes to the server, drop the server's answers (a one-way
  partition: a COMMIT arrives and commits, its OK never comes back).

Runs in its own process (so that it behaves the same for threads and for gevent tests that
monkey-patch), bound to loopback only, and is driven over a control socket:

    proxy = TcpProxy(upstream_host, upstream_port)   # starts it
    proxy.set("blackhole"); proxy.set("forward", delay=0.02); proxy.stop()

Every blocking step of the proxy has a deadline; the process exits when its parent goes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class TcpProxy:
    """Controls a proxy process (see the module docstring)."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.tcp_proxy", upstream_host, str(upstream_port)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        ports = json.loads(line)
        self.host = "127.0.0.1"
        self.port = int(ports["listen"])
        self._control = socket.create_connection(("127.0.0.1", int(ports["control"])), 10)
        self._replies = self._control.makefile("r")

    def set(self, mode: str, delay: float = 0.0) -> None:
        """Switch mode; returns once the proxy applied it."""
        self._control.sendall((json.dumps({"mode": mode, "delay": delay}) + "\n").encode())
        self._control.settimeout(10)
        assert self._replies.readline().strip() == "ok"

    def stop(self) -> None:
        """End the proxy process and every connection through it."""
        with contextlib.suppress(OSError):
            self._replies.close()
            self._control.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the proxy process ------------------------------------------------------------------------


class _Pair:
    """One client connection and its upstream connection, with bytes waiting each way."""

    def __init__(self, client: socket.socket, upstream: socket.socket | None) -> None:
        self.client = client
        self.upstream = upstream
        # (due time, bytes) per direction
        self.to_upstream: list[tuple[float, bytes]] = []
        self.to_client: list[tuple[float, bytes]] = []
        self.half_open = False


def _serve(upstream: tuple[str, int]) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    control_listener = socket.create_server(("127.0.0.1", 0))
    print(
        json.dumps(
            {"listen": listener.getsockname()[1], "control": control_listener.getsockname()[1]}
        ),
        flush=True,
    )
    control, _ = control_listener.accept()
    control_buffer = b""
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(control, selectors.EVENT_READ, "control")
    pairs: list[_Pair] = []
    mode, delay = "forward", 0.0
    parent = os.getppid()

    def close(pair: _Pair, reset: bool = False) -> None:
        for sock in (pair.client, pair.upstream):
            if sock is None:
                continue
            with contextlib.suppress(KeyError, ValueError):
                selector.unregister(sock)
            if reset:
                # SO_LINGER 0: close() sends RST instead of FIN.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        if pair in pairs:
            pairs.remove(pair)

    while os.getppid() == parent:
        for key, _ in selector.select(timeout=0.005):
            if key.data == "accept":
                client, _ = listener.accept()
                if mode in ("mute", "half_open"):
                    pairs.append(_Pair(client, None))  # accepted, never answered
                    continue
                try:
                    far = socket.create_connection(upstream, 5)
                except OSError:
                    client.close()
                    continue
                pair = _Pair(client, far)
                pairs.append(pair)
                if mode not in ("blackhole", "mute"):
                    selector.register(client, selectors.EVENT_READ, pair)
                    selector.register(far, selectors.EVENT_READ, pair)
            elif key.data == "control":
                chunk = control.recv(4096)
                if not chunk:
                    return
                control_buffer += chunk
                while b"\n" in control_buffer:
                    line, control_buffer = control_buffer.split(b"\n", 1)
                    command = json.loads(line)
                    was_silent = mode in ("blackhole", "mute")
                    mode, delay = command["mode"], float(command.get("delay", 0.0))
                    if mode == "reset":
                        for pair in list(pairs):
                            close(pair, reset=True)
                        mode = "forward"
                    elif mode == "half_open":
                        for pair in pairs:
                            if pair.upstream is not None:
                                with contextlib.suppress(KeyError, ValueError):
                                    selector.unregister(pair.upstream)
                                pair.upstream.close()  # FIN to the server only
                                pair.upstream = None
                                pair.half_open = True
                                pair.to_upstream.clear()
                                pair.to_client.clear()
                    elif mode != "drop_replies":
                        for pair in [pair for pair in pairs if pair.half_open]:
                            close(pair, reset=True)
                    silent = mode in ("blackhole", "mute")
                    if silent != was_silent:
                        # Silent: nothing is read, so the kernel's buffers fill and stay.
                        for pair in pairs:
                            for sock in (pair.client, pair.upstream):
                                if sock is None:
                                    continue
                                if silent:
                                    with contextlib.suppress(KeyError, ValueError):
                                        selector.unregister(sock)
                                else:
                                    selector.register(sock, selectors.EVENT_READ, pair)
                    control.sendall(b"ok\n")
            else:
                pair = key.data
                ready: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    data = ready.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    close(pair)
                    continue
                if pair.half_open or (mode == "drop_replies" and ready is pair.upstream):
                    continue  # read and dropped
                due = time.monotonic() + delay
                if ready is pair.client:
                    pair.to_upstream.append((due, data))
                else:
                    pair.to_client.append((due, data))
        if mode in ("blackhole", "mute"):
            continue
        now = time.monotonic()
        for pair in list(pairs):
            for queue, target in ((pair.to_upstream, pair.upstream), (pair.to_client, pair.client)):
                while queue and queue[0][0] <= now and target is not None:
                    _, data = queue.pop(0)
                    try:
                        target.sendall(data)
                    except OSError:
                        close(pair)
                        break


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    args = parser.parse_args(argv)
    _serve((args.host, args.port))


if __name__ == "__main__":
    main()
