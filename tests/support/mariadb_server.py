"""Throwaway MariaDB servers for tests, the demo and the Django suite (standard library only).

Used two ways:

* as a module: ``with ThrowawayMariaDB() as server: ...`` gives a private server in a temporary
  directory on a free port, which the caller may restart, kill or reconfigure;
* as a command: ``python -m tests.support.mariadb_server run -- CMD ...`` runs CMD with
  ``DJANGO_POOLED_MYSQL_TEST_URL`` pointing at a server. If that variable is already set, the given
  server is used as is (its global variables are never changed); otherwise a throwaway server is
  started and is stopped afterwards, also when CMD fails, on Ctrl-C or on SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self
from urllib.parse import unquote, urlsplit

URL_ENV = "DJANGO_POOLED_MYSQL_TEST_URL"
# CPUs to pin the server to (taskset list, e.g. "1"), for benchmarks: a loopback round trip costs
# ~25 us when client and server share a CPU and ~100 us across CPUs, and the scheduler picks
# either per connection unless both sides are pinned.
CPUS_ENV = "MARIADB_CPUS"
SERVER_CANDIDATES = ("mariadbd", "/usr/sbin/mariadbd", "mysqld", "/usr/sbin/mysqld")
INSTALL_DB_CANDIDATES = ("mariadb-install-db", "/usr/bin/mariadb-install-db", "mysql_install_db")
PR_SET_PDEATHSIG = 1


def parse_url(url: str) -> dict[str, str]:
    """Django's HOST/PORT/USER/PASSWORD settings from a URL in the form URL_ENV takes.

    ``mysql://user:password@host:port/``; raises ValueError for anything else.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mariadb"):
        # Not the URL itself: it may hold a password.
        raise ValueError(
            "%s must look like mysql://user:password@host:port/ (its scheme is %r)"
            % (URL_ENV, parts.scheme)
        )
    return {
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 3306),
        "USER": unquote(parts.username or "root"),
        "PASSWORD": unquote(parts.password or ""),
    }


class ServerError(RuntimeError):
    """The throwaway server could not be prepared or started."""


def _find(candidates: tuple[str, ...]) -> str:
    for name in candidates:
        found = shutil.which(name) or (name if os.path.isfile(name) else None)
        if found:
            return found
    raise ServerError(
        "MariaDB server binaries not found (looked for %s). On Debian/Ubuntu run: "
        "sudo apt-get install -y mariadb-server" % ", ".join(candidates)
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:
    """For preexec_fn: the kernel sends SIGTERM to the child if its parent dies outright.

    So no mariadbd (or Gunicorn, or load client) outlives a run that was killed with SIGKILL.
    """
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class ThrowawayMariaDB:
    """A private MariaDB server in a temporary directory; root with an empty password."""

    def __init__(
        self,
        *,
        max_connections: int = 400,
        durable: bool = False,
        extra_args: tuple[str, ...] = (),
        basedir: str | None = None,
    ) -> None:
        self.max_connections = max_connections
        self.durable = durable
        self.extra_args = extra_args
        self.port = free_port()
        self.host = "127.0.0.1"
        self.user = "root"
        self.password = ""
        self._basedir = basedir
        self.dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's address in the form ``DJANGO_POOLED_MYSQL_TEST_URL`` takes."""
        return "mysql://%s@%s:%d/" % (self.user, self.host, self.port)

    @property
    def datadir(self) -> Path:
        assert self.dir is not None
        return self.dir / "data"

    @property
    def socket_path(self) -> Path:
        assert self.dir is not None
        return self.dir / "mysqld.sock"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()

    def start(self) -> None:
        """Create the data directory on first use, start the server, wait until it answers."""
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="pooled-mysql-", dir=self._basedir))
            self._install()
        self._launch()

    def _install(self) -> None:
        install_db = _find(INSTALL_DB_CANDIDATES)
        cmd = [
            install_db,
            "--no-defaults",
            "--datadir=%s" % self.datadir,
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]
        if os.geteuid() == 0:
            cmd.append("--user=root")
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise ServerError("%s failed:\n%s%s" % (install_db, result.stdout, result.stderr))

    def server_args(self) -> list[str]:
        """The mariadbd command line; private paths and port, no global config files read."""
        assert self.dir is not None
        args = [
            _find(SERVER_CANDIDATES),
            "--no-defaults",
            "--datadir=%s" % self.datadir,
            "--socket=%s" % self.socket_path,
            "--pid-file=%s" % (self.dir / "mysqld.pid"),
            "--log-error=%s" % (self.dir / "error.log"),
            # A private tmpdir: MariaDB deletes every "#sql*" file in its tmpdir at start-up, so a
            # shared /tmp lets each new throwaway server delete the temporary tables of running
            # ones ("Error on delete of '/tmp/#sql-temptable-...MAI'").
            "--tmpdir=%s" % self._tmpdir(),
            "--port=%d" % self.port,
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--max-connections=%d" % self.max_connections,
            "--innodb-buffer-pool-size=128M",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
        ]
        if not self.durable:
            # Test data is thrown away: trade crash safety for speed.
            args += ["--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0"]
        if os.geteuid() == 0:
            args.append("--user=root")
        cpus = os.environ.get(CPUS_ENV)
        prefix = ["taskset", "-c", cpus] if cpus and shutil.which("taskset") else []
        return prefix + args + list(self.extra_args)

    def _tmpdir(self) -> Path:
        assert self.dir is not None
        path = self.dir / "tmp"
        path.mkdir(exist_ok=True)
        return path

    def _launch(self) -> None:
        self.process = subprocess.Popen(
            self.server_args(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError("mariadbd exited at start-up:\n%s" % self.error_log())
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise ServerError("mariadbd did not answer within 60 s:\n%s" % self.error_log())

    def _answers(self) -> bool:
        # A MySQL server speaks first: a handshake packet means it accepts clients.
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                return len(sock.recv(4)) == 4
        except OSError:
            return False

    def error_log(self) -> str:
        """The tail of the server's error log (for failure messages)."""
        assert self.dir is not None
        path = self.dir / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(no error log)"

    def stop(self, timeout: float = 30) -> None:
        """Shut the server down cleanly (SIGTERM), killing it if it does not stop in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Kill the server outright (SIGKILL), as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def restart(self) -> None:
        """Stop the server cleanly and start it again on the same port and data."""
        self.stop()
        self._launch()

    def destroy(self) -> None:
        """Stop the server and delete its directory."""
        self.stop()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


@contextlib.contextmanager
def terminate_as_exit() -> Iterator[None]:
    """Make SIGTERM (CI cancelling the job) unwind through ``finally`` as Ctrl-C does."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_child(cmd: list[str], env: dict[str, str]) -> int:
    child = subprocess.Popen(cmd, env=env)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            # The terminal sent SIGINT to the child too; let it finish its own clean-up.
            continue
        except SystemExit:
            child.terminate()
            child.wait()
            raise


def run(cmd: list[str], max_connections: int) -> int:
    """Run cmd with URL_ENV set, starting (and always stopping) a throwaway server if needed."""
    env = dict(os.environ)
    with terminate_as_exit():
        if env.get(URL_ENV):
            print("Using the server in %s; its global variables are left alone." % URL_ENV)
            return _run_child(cmd, env)
        with ThrowawayMariaDB(max_connections=max_connections) as server:
            print("Started a throwaway MariaDB at %s (data in %s)" % (server.url, server.dir))
            env[URL_ENV] = server.url
            try:
                return _run_child(cmd, env)
            finally:
                print("Stopping the throwaway MariaDB.")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="run a command against a test server")
    run_parser.add_argument("--max-connections", type=int, default=400)
    run_parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("give the command to run after --")
    try:
        return run(cmd, args.max_connections)
    except ServerError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
