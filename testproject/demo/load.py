"""A closed-loop HTTP load client that records every request: ``make demo``'s load generator.

``python testproject/demo/load.py http://127.0.0.1:8000/read/ --concurrency 200 --duration 15
--out run.json`` keeps CONCURRENCY requests in flight for DURATION seconds (each greenlet sends
its next request as soon as the previous answer is read) and writes one record per request:
start offset, latency, HTTP status and the cause of an error. The cause is the response's
``X-DB-Error`` header (the MySQL error code the demo app puts there), ``http-<status>`` without
one, or the exception's name when no response came back (status 0).

Unlike wrk's coordinated-omission-corrected histogram, the percentiles computed from these
records are the latencies actually measured, nothing synthesised. Each client keeps its TCP
connection alive, as load balancers do towards their upstreams, so all CONCURRENCY requests are
inside the server; ``--new-connections`` opens one per request instead (nginx's upstream
default). Runs in a process of its own, with gevent only (no monkey-patching).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import gevent
import gevent.event
from gevent import socket as gsocket

ERROR_HEADER = b"x-db-error"

Record = tuple[float, float, int, str]


class ProtocolError(Exception):
    """The server's answer was not the HTTP/1.1 response expected."""


def build_request(url: str, keepalive: bool) -> tuple[tuple[str, int], bytes]:
    """The server address and the raw bytes of a GET for url."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise SystemExit("only http://host:port/path URLs are supported, not %r" % url)
    port = parts.port or 80
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    request = (
        "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: demo_load\r\nConnection: %s\r\n\r\n"
        % (
            target,
            parts.hostname,
            port,
            "keep-alive" if keepalive else "close",
        )
    )
    return (parts.hostname, port), request.encode("ascii")


def read_response(sock: Any, buffer: bytearray) -> tuple[int, str, bool]:
    """Read one response; returns (status, cause or "", whether the connection may be reused)."""
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            break
        chunk = sock.recv(65536)
        if not chunk:
            raise ProtocolError("connection closed before the response headers")
        buffer += chunk
    head = bytes(buffer[:end]).split(b"\r\n")
    del buffer[: end + 4]
    try:
        status = int(head[0].split(b" ", 2)[1])
    except (IndexError, ValueError):
        raise ProtocolError("bad status line %r" % head[0][:80]) from None
    length = None
    cause = ""
    reusable = True
    for line in head[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == ERROR_HEADER:
            cause = value.strip().decode("ascii", "replace")
        elif name == b"connection" and value.strip().lower() == b"close":
            reusable = False
    if length is None:
        # Without a length the body ends when the server closes the connection.
        while chunk := sock.recv(65536):
            buffer += chunk
        buffer.clear()
        reusable = False
    else:
        while len(buffer) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ProtocolError("connection closed in the middle of the body")
            buffer += chunk
        del buffer[:length]
    if status >= 400 and not cause:
        cause = "http-%d" % status
    return status, cause, reusable


def _connect(address: tuple[str, int]) -> Any:
    sock = gsocket.create_connection(address)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def run(
    url: str,
    concurrency: int,
    duration: float,
    *,
    keepalive: bool = True,
    warmup: float = 0.0,
    max_warmup: float = 10.0,
    connect_settle: float = 1.0,
    timeout: float = 30.0,
    progress: float = 0.0,
) -> tuple[float, list[Record]]:
    """Drive the load; returns the measurement's wall-clock start and every request's record.

    The measurement starts once ``warmup`` seconds have passed *and* every client has had its
    first answer (but at most ``max_warmup`` seconds): a busy server may leave the last
    connections in its accept queue for seconds, which says more about start-up than about
    the steady state. Records are timed from the start of the measurement.
    """
    address, request = build_request(url, keepalive)
    records: list[Record] = []
    answered_once = 0
    all_answered = gevent.event.Event()
    began = time.perf_counter()
    # Set when the measurement starts; clients stop starting requests at `deadline`.
    window = {"start": float("inf"), "deadline": float("inf")}

    go = gevent.event.Event()

    def client() -> None:
        nonlocal answered_once
        sock = None
        buffer = bytearray()
        first = True
        if keepalive:
            try:
                sock = _connect(address)
            except OSError:
                sock = None
        go.wait()
        while True:
            begin = time.perf_counter()
            if begin >= window["deadline"]:
                break
            reusable = False
            try:
                with gevent.Timeout(timeout):
                    if sock is None:
                        sock = _connect(address)
                        buffer.clear()
                    sock.sendall(request)
                    status, cause, reusable = read_response(sock, buffer)
            except (OSError, ProtocolError, gevent.Timeout) as exc:
                status, cause = 0, type(exc).__name__
            records.append((begin, time.perf_counter() - begin, status, cause))
            if first:
                first = False
                answered_once += 1
                if answered_once == concurrency:
                    all_answered.set()
            if sock is not None and not (keepalive and reusable):
                sock.close()
                sock = None
        if sock is not None:
            sock.close()

    def report(first_measured: int) -> None:
        while True:
            gevent.sleep(progress)
            now = time.perf_counter()
            if now >= window["deadline"]:
                return
            if now < window["start"]:
                continue
            measured = [
                record for record in records[first_measured:] if record[0] >= window["start"]
            ]
            errors = sum(1 for record in measured if not 200 <= record[2] < 400)
            print(
                "    %4.1f s: %6d responses, %6d errors"
                % (now - window["start"], len(measured), errors),
                flush=True,
            )

    greenlets = [gevent.spawn(client) for _ in range(concurrency)]
    if keepalive:
        # Let the server accept every connection while it is idle: Gunicorn's gevent workers
        # accept one connection per event-loop turn when there are several workers, so once
        # they are busy the last connections could wait in the accept queue for many seconds.
        gevent.sleep(connect_settle)
    go.set()
    gevent.sleep(warmup)
    all_answered.wait(max(max_warmup - warmup, 0))
    start = time.perf_counter()
    start_wall = time.time()
    window["start"], window["deadline"] = start, start + duration
    print(
        "measuring (warm-up %.1f s; %d of %d clients had an answer)"
        % (start - began, answered_once, concurrency),
        flush=True,
    )
    warm = len(records)
    reporter = gevent.spawn(report, warm) if progress > 0 else None
    gevent.joinall(greenlets)
    if reporter is not None:
        reporter.kill()
    # Offsets from the start of the measurement: warm-up requests have negative ones and are
    # kept, because some of them complete inside the window and count towards its throughput.
    return start_wall, [
        (begin - start, latency, status, cause) for begin, latency, status, cause in records
    ]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument(
        "--new-connections",
        action="store_true",
        help="a new TCP connection per request (nginx's upstream default); else keep-alive",
    )
    parser.add_argument("--warmup", type=float, default=0.0, help="minimum unmeasured seconds")
    parser.add_argument("--progress", type=float, default=0, help="print counts every N s")
    parser.add_argument("--out", help="write the records here as JSON")
    args = parser.parse_args(argv)
    started_wall, records = run(
        args.url,
        args.concurrency,
        args.duration,
        keepalive=not args.new_connections,
        warmup=args.warmup,
        timeout=args.timeout,
        progress=args.progress,
    )
    measured = [record for record in records if record[0] >= 0]
    ok = sum(1 for record in measured if 200 <= record[2] < 400)
    print(
        "    %d requests in %.1f s, %d successful" % (len(measured), args.duration, ok),
        flush=True,
    )
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(
                {
                    "url": args.url,
                    "concurrency": args.concurrency,
                    "duration": args.duration,
                    "keepalive": not args.new_connections,
                    "started_wall": started_wall,
                    "fields": ["start", "latency", "status", "cause"],
                    "records": records,
                },
                fh,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
