"""``make demo``: stock Django against this ENGINE under Gunicorn gevent workers, with numbers.

Starts a throwaway MariaDB with a realistic ``max_connections`` (60), seeds the demo project
(``testproject/``), then for each view and each database mode starts Gunicorn with gevent workers,
drives it with ``testproject/demo/load.py`` at a fixed concurrency for a fixed time and measures:

* requests/s and successful requests/s, p50/p99 latency of the successful requests;
* the error responses by cause (the MySQL error code the app puts in ``X-DB-Error``);
* server-side connections: ``Max_used_connections`` after ``FLUSH STATUS``, ``Threads_connected``
  sampled every 100 ms, and the connections opened (``Connections`` delta).

Prints a table and writes ``results.json`` and ``demo-connections.png`` to ``demo-results/``.
Server counts include the demo's own monitoring connection (one).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.mariadb_server import (  # noqa: E402
    ServerError,
    ThrowawayMariaDB,
    die_with_parent,
    free_port,
    terminate_as_exit,
)

PROJECT = ROOT / "testproject"
LOAD_CLIENT = Path(__file__).resolve().with_name("load.py")

DEFAULT_MODES = ("stock-age0", "stock-age60", "pooled", "pooled-pymysql")
ALL_MODES = (*DEFAULT_MODES, "pooled-blocking", "stock-pymysql")
VIEWS = {"read": "/read/", "write": "/write/", "db": "/db/"}
MODE_LABELS = {
    "stock-age0": "stock, CONN_MAX_AGE=0",
    "stock-age60": "stock, CONN_MAX_AGE=60",
    "pooled": "django_pooled_mysql (mysqlclient)",
    "pooled-blocking": "django_pooled_mysql (mysqlclient, cooperative=False)",
    "pooled-pymysql": "django_pooled_mysql (PyMySQL)",
    "stock-pymysql": "stock, CONN_MAX_AGE=0 (PyMySQL)",
}
# Overlapping lines stay visible: the pooled modes often sit on the same cap.
MODE_LINES = {"pooled-pymysql": (0, (4, 2)), "pooled-blocking": (0, (1, 1))}
APP_USER = "demo"
APP_PASSWORD = "demo-password"
DATABASE = "pooled_demo"
STATUS_NAMES = (
    "Threads_connected",
    "Max_used_connections",
    "Connections",
    "Aborted_connects",
    "Connection_errors_max_connections",
)


@dataclass
class Config:
    """What to run; every field is a command-line option."""

    modes: list[str] = field(default_factory=lambda: list(DEFAULT_MODES))
    views: list[str] = field(default_factory=lambda: ["read", "write"])
    concurrency: int = 200
    duration: float = 15.0
    warmup: float = 3.0
    pause_ms: int = 20
    workers: int = 2
    worker_connections: int = 1000
    max_connections: int = 60
    pool_size: int = 10
    max_overflow: int = 10
    pool_timeout: int = 10
    products: int = 1000
    new_connections: bool = False
    out: Path = ROOT / "demo-results"


def parse_args(argv: list[str] | None) -> Config:
    """The Config given on the command line."""
    defaults = Config()
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Modes: %s. Views: %s." % (", ".join(ALL_MODES), ", ".join(VIEWS)),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )

    def names(choices: tuple[str, ...] | list[str]) -> Any:
        def parse(text: str) -> list[str]:
            chosen = [name.strip() for name in text.split(",") if name.strip()]
            unknown = [name for name in chosen if name not in choices]
            if unknown or not chosen:
                raise argparse.ArgumentTypeError(
                    "choose from %s (comma-separated)" % ", ".join(choices)
                )
            return chosen

        return parse

    add = parser.add_argument
    add("--modes", type=names(ALL_MODES), default=defaults.modes, help="comma-separated")
    add("--views", type=names(list(VIEWS)), default=defaults.views, help="comma-separated")
    add("--concurrency", type=int, default=defaults.concurrency, help="requests in flight")
    add("--duration", type=float, default=defaults.duration, help="seconds per mode per view")
    add(
        "--warmup",
        type=float,
        default=defaults.warmup,
        help="unmeasured seconds first (longer until every client has had an answer)",
    )
    add("--pause-ms", type=int, default=defaults.pause_ms, help="the views' upstream pause")
    add("--workers", type=int, default=defaults.workers, help="Gunicorn gevent workers")
    add("--worker-connections", type=int, default=defaults.worker_connections)
    add("--max-connections", type=int, default=defaults.max_connections, help="server limit")
    add("--pool-size", type=int, default=defaults.pool_size)
    add("--max-overflow", type=int, default=defaults.max_overflow)
    add("--pool-timeout", type=int, default=defaults.pool_timeout, help="seconds")
    add("--products", type=int, default=defaults.products)
    add(
        "--new-connections",
        action="store_true",
        help="a TCP connection per request (nginx's upstream default) instead of keep-alive",
    )
    add("--out", type=Path, default=defaults.out, help="output directory")
    args = parser.parse_args(argv)
    return Config(**vars(args))


def log(message: str) -> None:
    """A progress line with the time since the demo started."""
    print("[%5.1fs] %s" % (time.monotonic() - _STARTED, message), flush=True)


_STARTED = time.monotonic()


# -- the database server ------------------------------------------------------------------------


class Monitor:
    """One root connection to the demo server for setup, status counters and sampling."""

    def __init__(self, server: ThrowawayMariaDB) -> None:
        import MySQLdb

        self.conn = MySQLdb.connect(
            host=server.host, port=server.port, user=server.user, password=server.password
        )
        self.conn.autocommit(True)
        # The sampler thread and the main thread never query at the same time, but make sure.
        self._lock = threading.Lock()

    def execute(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows."""
        with self._lock:
            cursor = self.conn.cursor()
            try:
                cursor.execute(sql, args)
                return list(cursor.fetchall() or ())
            finally:
                cursor.close()

    def status(self) -> dict[str, int]:
        """The global status counters the demo reports."""
        rows = self.execute(
            "SHOW GLOBAL STATUS WHERE Variable_name IN (%s)"
            % ", ".join("'%s'" % name for name in STATUS_NAMES)
        )
        return {name: int(value) for name, value in rows}

    def threads_connected(self) -> int:
        """Client connections open on the server right now (this one included)."""
        return int(self.execute("SHOW GLOBAL STATUS LIKE 'Threads_connected'")[0][1])

    @contextlib.contextmanager
    def sampling(self, interval: float = 0.1) -> Iterator[list[tuple[float, int]]]:
        """Sample Threads_connected every interval seconds (epoch time, count) while inside."""
        samples: list[tuple[float, int]] = []
        stop = threading.Event()

        def sample() -> None:
            next_at = time.monotonic()
            while not stop.is_set():
                samples.append((time.time(), self.threads_connected()))
                next_at += interval
                stop.wait(max(next_at - time.monotonic(), 0))

        thread = threading.Thread(target=sample, name="threads-connected", daemon=True)
        thread.start()
        try:
            yield samples
        finally:
            stop.set()
            thread.join()

    def wait_until_idle(self, timeout: float = 15.0) -> int:
        """Wait until only this connection is left; returns the count seen last."""
        deadline = time.monotonic() + timeout
        while True:
            count = self.threads_connected()
            if count <= 1 or time.monotonic() > deadline:
                return count
            time.sleep(0.2)


def prepare_database(server: ThrowawayMariaDB, monitor: Monitor, config: Config) -> str:
    """Create the database and an unprivileged app user, migrate and seed; returns its URL."""
    # The app connects as an ordinary user: MariaDB keeps one connection beyond max_connections
    # for SUPER users such as root, which would blur the limit this demo is about.
    monitor.execute("CREATE DATABASE %s CHARACTER SET utf8mb4" % DATABASE)
    monitor.execute("CREATE USER %s@'127.0.0.1' IDENTIFIED BY %s", (APP_USER, APP_PASSWORD))
    monitor.execute("GRANT ALL ON %s.* TO %%s@'127.0.0.1'" % DATABASE, (APP_USER,))
    url = "mysql://%s:%s@%s:%d/%s" % (APP_USER, APP_PASSWORD, server.host, server.port, DATABASE)
    env = app_env(config, "pooled", url)
    for command in (["migrate", "-v", "0"], ["seed", "--products", str(config.products)]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=PROJECT, env=env, check=True)
    return url


# -- the app under Gunicorn ---------------------------------------------------------------------


def app_env(config: Config, mode: str, url: str, **extra: str) -> dict[str, str]:
    """The environment of the demo project for one mode."""
    env = dict(os.environ)
    env.update(
        DJANGO_POOLED_MYSQL_TEST_URL=url,
        DEMO_DB_MODE=mode,
        DEMO_POOL_SIZE=str(config.pool_size),
        DEMO_MAX_OVERFLOW=str(config.max_overflow),
        DEMO_POOL_TIMEOUT=str(config.pool_timeout),
        DEMO_PAUSE_MS=str(config.pause_ms),
        DEMO_PRODUCTS=str(config.products),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


class Gunicorn:
    """The demo project under Gunicorn with gevent workers, for one mode."""

    def __init__(self, config: Config, mode: str, url: str, log_path: Path) -> None:
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.workers = config.workers
        self.log_path = log_path
        env = app_env(
            config,
            mode,
            url,
            GUNICORN_BIND="127.0.0.1:%d" % self.port,
            GUNICORN_WORKERS=str(config.workers),
            GUNICORN_WORKER_CONNECTIONS=str(config.worker_connections),
        )
        self._log = open(log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(PROJECT / "gunicorn.conf.py")],
            cwd=PROJECT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until every worker has loaded the app and the port answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("Gunicorn exited:\n%s" % self.log_tail())
            # post_worker_init in gunicorn.conf.py logs this line once per worker.
            booted = self.log_path.read_text(errors="replace").count("database mode")
            if booted >= self.workers and self._answers():
                return
            time.sleep(0.1)
        raise RuntimeError("Gunicorn was not ready in %.0f s:\n%s" % (timeout, self.log_tail()))

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.base + "/health/", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def log_tail(self) -> str:
        """The end of Gunicorn's log (for error messages)."""
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL if the workers do not stop in time."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


# -- load and results ---------------------------------------------------------------------------


def run_load(
    config: Config, url: str, out: Path, on_measuring: Callable[[], None]
) -> dict[str, Any]:
    """Run the load client in a process of its own; on_measuring runs when its window opens."""
    cmd = [
        sys.executable,
        str(LOAD_CLIENT),
        url,
        "--concurrency=%d" % config.concurrency,
        "--duration=%s" % config.duration,
        "--warmup=%s" % config.warmup,
        "--progress=5",
        "--out",
        str(out),
    ]
    if config.new_connections:
        cmd.append("--new-connections")
    client = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, text=True, bufsize=1, preexec_fn=die_with_parent
    )
    assert client.stdout is not None
    for line in client.stdout:
        print(line, end="", flush=True)
        if line.startswith("measuring"):
            on_measuring()
    if client.wait() != 0:
        raise RuntimeError("the load client failed (exit %d)" % client.returncode)
    with open(out) as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    # Nearest rank: the smallest value with at least `fraction` of the values at or below it.
    rank = math.ceil(fraction * len(sorted_values))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


def summarize(
    load: dict[str, Any], before: dict[str, int], after: dict[str, int]
) -> dict[str, Any]:
    """Throughput, latency, errors and server connection counts of one run."""
    duration = float(load["duration"])
    records = load["records"]
    # Throughput: answers that arrived within the window, whenever their request started (the
    # first ones started during the warm-up). Latency and errors: the requests started within it,
    # including those still in flight at its end (they are real waits too).
    completed = [r for r in records if 0 <= r[0] + r[1] <= duration]
    started = [r for r in records if r[0] >= 0]
    ok_latency = sorted(r[1] * 1000 for r in started if 200 <= r[2] < 400)
    all_latency = sorted(r[1] * 1000 for r in started)

    def stats(values: list[float]) -> dict[str, float | None]:
        return {
            "p50": percentile(values, 0.50),
            "p90": percentile(values, 0.90),
            "p99": percentile(values, 0.99),
            "max": values[-1] if values else None,
            "mean": statistics.fmean(values) if values else None,
        }

    errors = Counter(r[3] for r in started if not 200 <= r[2] < 400)
    return {
        "requests": len(started),
        "rps": len(completed) / duration,
        "ok_rps": sum(1 for r in completed if 200 <= r[2] < 400) / duration,
        "errors": dict(errors.most_common()),
        "error_count": sum(errors.values()),
        "latency_ok_ms": stats(ok_latency),
        "latency_all_ms": stats(all_latency),
        "server": {
            "max_used_connections": after["Max_used_connections"],
            "connections_opened": after["Connections"] - before["Connections"],
            "refused_max_connections": after["Connection_errors_max_connections"]
            - before["Connection_errors_max_connections"],
            "aborted_connects": after["Aborted_connects"] - before["Aborted_connects"],
        },
    }


def throughput_series(load: dict[str, Any], bin_seconds: float = 1.0) -> dict[str, list[float]]:
    """Successful and failed responses per second over the window, binned by completion time."""
    bins = max(int(load["duration"] / bin_seconds), 1)
    ok = [0] * bins
    failed = [0] * bins
    for start, latency, status, _cause in load["records"]:
        done = start + latency
        index = int(done / bin_seconds)
        if 0 <= done and index < bins:
            (ok if 200 <= status < 400 else failed)[index] += 1
    return {
        "t": [(i + 0.5) * bin_seconds for i in range(bins)],
        "ok_per_s": [n / bin_seconds for n in ok],
        "errors_per_s": [n / bin_seconds for n in failed],
    }


def measure(config: Config, monitor: Monitor, app_url: str, mode: str, view: str) -> dict[str, Any]:
    """One mode on one view: start Gunicorn, load it, collect the numbers, stop it."""
    tag = "%s-%s" % (view, mode)
    gunicorn = Gunicorn(config, mode, app_url, config.out / ("%s-gunicorn.log" % tag))
    before: dict[str, int] = {}

    def start_counting() -> None:
        # Max_used_connections restarts from the connections open now; Connections and the
        # error counters are compared with their values now.
        monitor.execute("FLUSH STATUS")
        before.update(monitor.status())

    try:
        gunicorn.wait_ready()
        url = "%s%s?pause_ms=%d" % (gunicorn.base, VIEWS[view], config.pause_ms)
        log(
            "%s / %s: %d clients, %.0f s warm-up then %.0f s measured"
            % (view, mode, config.concurrency, config.warmup, config.duration)
        )
        with monitor.sampling() as samples:
            load = run_load(config, url, config.out / ("%s.json" % tag), start_counting)
            after = monitor.status()
            # Keep sampling briefly: connections may outlive the load.
            time.sleep(0.5)
    finally:
        gunicorn.stop()
    left = monitor.wait_until_idle()
    result = summarize(load, before, after)
    started = float(load["started_wall"])
    result.update(
        mode=mode,
        view=view,
        concurrency=config.concurrency,
        duration=config.duration,
        pause_ms=config.pause_ms,
        connections_series={
            "t": [round(at - started, 3) for at, _ in samples],
            "threads_connected": [count for _, count in samples],
        },
        throughput_series=throughput_series(load),
        left_after_stop=left,
    )
    result["server"]["peak_sampled"] = max(
        (count for at, count in samples if started <= at <= started + config.duration),
        default=0,
    )
    lat = result["latency_ok_ms"]
    log(
        "%s / %s: %.0f req/s, %.0f ok/s, p50 %s ms, p99 %s ms, errors %s, peak %d connections"
        % (
            view,
            mode,
            result["rps"],
            result["ok_rps"],
            _ms(lat["p50"]),
            _ms(lat["p99"]),
            _errors(result["errors"]) or "none",
            result["server"]["max_used_connections"],
        )
    )
    return result


def _ms(value: float | None) -> str:
    return "-" if value is None else "%.0f" % value


def _errors(errors: dict[str, int]) -> str:
    return ", ".join("%s x%d" % (cause, n) for cause, n in errors.items())


def table(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table."""
    header = (
        "| view | mode | req/s | ok req/s | p50 ms | p99 ms | errors (cause x count) "
        "| Max_used_connections | peak sampled | connections opened |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in results:
        server = r["server"]
        lines.append(
            "| %s | %s | %.0f | %.0f | %s | %s | %s | %d | %d | %d |"
            % (
                r["view"],
                r["mode"],
                r["rps"],
                r["ok_rps"],
                _ms(r["latency_ok_ms"]["p50"]),
                _ms(r["latency_ok_ms"]["p99"]),
                _errors(r["errors"]) or "0",
                server["max_used_connections"],
                server["peak_sampled"],
                server["connections_opened"],
            )
        )
    return "\n".join(lines)


def plot(results: list[dict[str, Any]], config: Config, path: Path) -> None:
    """Server connections and successful requests/s over time, one column per view."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    views = [view for view in config.views if any(r["view"] == view for r in results)]
    fig, axes = plt.subplots(
        2, len(views), figsize=(5.2 * len(views), 6.4), sharex=True, squeeze=False
    )
    # tab10's first colours, one per mode (an integer picks the colormap's i-th entry).
    tab10 = plt.get_cmap("tab10")
    colors = {mode: tab10(i) for i, mode in enumerate(ALL_MODES)}
    shown_from = -3.0
    for column, view in enumerate(views):
        top, bottom = axes[0][column], axes[1][column]
        for r in (r for r in results if r["view"] == view):
            style = {
                "label": MODE_LABELS.get(r["mode"], r["mode"]),
                "color": colors[r["mode"]],
                "linestyle": MODE_LINES.get(r["mode"], "solid"),
            }
            series = r["connections_series"]
            top.plot(series["t"], series["threads_connected"], linewidth=1.4, **style)
            tput = r["throughput_series"]
            bottom.plot(tput["t"], tput["ok_per_s"], marker=".", linewidth=1.2, **style)
        top.axhline(config.max_connections, color="black", linestyle="--", linewidth=1)
        top.text(
            config.duration,
            config.max_connections + 1,
            "max_connections=%d" % config.max_connections,
            ha="right",
            va="bottom",
            fontsize=8,
        )
        top.set_title(
            "/%s/: %d clients, %d ms upstream pause, %d gevent workers"
            % (view, config.concurrency, config.pause_ms, config.workers),
            fontsize=9,
        )
        top.set_ylim(0, config.max_connections * 1.2)
        bottom.set_ylim(bottom=0)
        bottom.set_xlabel("seconds since the measurement started")
        for ax in (top, bottom):
            ax.axvspan(shown_from, 0, color="0.9", zorder=0)
            ax.set_xlim(shown_from, config.duration + 1)
            ax.grid(True, alpha=0.3)
        top.text(shown_from + 0.2, 2, "warm-up", fontsize=8, color="0.4")
    axes[0][0].set_ylabel("server connections (Threads_connected)")
    axes[1][0].set_ylabel("successful requests/s")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=80)
    plt.close(fig)


def environment() -> dict[str, Any]:
    """Versions and machine facts for results.json."""
    from importlib import metadata

    import django_pooled_mysql

    def version(distribution: str) -> str | None:
        # Distribution metadata: PyMySQL's __version__ imitates mysqlclient's, for Django.
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            return None

    return {
        "engine": {
            "path": os.path.dirname(django_pooled_mysql.__file__),
            "git": _git_describe(),
        },
        "python": platform.python_version(),
        **{
            name.lower(): version(name)
            for name in ("Django", "SQLAlchemy", "gunicorn", "gevent", "mysqlclient", "PyMySQL")
        },
        "mariadb": None,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_client": "testproject/demo/load.py (gevent, one record per request)",
    }


def _git_describe() -> str | None:
    # Which ENGINE was measured: the commit, marked dirty if its files have local changes.
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "django_pooled_mysql"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return None
    if not commit:
        return None
    return commit + ("-dirty" if dirty else "")


def run(config: Config) -> tuple[list[dict[str, Any]], str]:
    """The whole demo; returns one result per view and mode, and the server's version."""
    config.out.mkdir(parents=True, exist_ok=True)
    runs = len(config.modes) * len(config.views)
    log(
        "%d runs of %.0f s (+%.0f s warm-up): views %s x modes %s"
        % (runs, config.duration, config.warmup, ", ".join(config.views), ", ".join(config.modes))
    )
    cap = config.workers * (config.pool_size + config.max_overflow)
    if any(mode.startswith("pooled") for mode in config.modes) and cap >= config.max_connections:
        log(
            "note: %d workers x (pool_size %d + max_overflow %d) = %d reaches max_connections=%d;"
            " pooled modes may meet the server's limit too"
            % (config.workers, config.pool_size, config.max_overflow, cap, config.max_connections)
        )
    results: list[dict[str, Any]] = []
    with ThrowawayMariaDB(max_connections=config.max_connections) as server:
        log("throwaway MariaDB at %s, max_connections=%d" % (server.url, config.max_connections))
        monitor = Monitor(server)
        server_version = str(monitor.execute("SELECT VERSION()")[0][0])
        app_url = prepare_database(server, monitor, config)
        log("database migrated and seeded (%d products)" % config.products)
        for view in config.views:
            for mode in config.modes:
                results.append(measure(config, monitor, app_url, mode, view))
        monitor.conn.close()
    return results, server_version


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    config = parse_args(argv)
    try:
        import gevent  # noqa: F401
        import gunicorn  # noqa: F401
        import matplotlib  # noqa: F401
    except ImportError as exc:
        print("error: %s; run `make venv` (installs the demo extra)." % exc, file=sys.stderr)
        return 2
    if "pymysql" in " ".join(config.modes):
        try:
            import pymysql  # noqa: F401
        except ImportError:
            print("error: PyMySQL modes need `pip install PyMySQL`.", file=sys.stderr)
            return 2
    try:
        with terminate_as_exit():
            results, server_version = run(config)
    except ServerError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 3
    settings = asdict(config)
    settings["out"] = str(config.out)
    report: dict[str, Any] = {
        "settings": settings,
        "environment": environment(),
        "results": results,
    }
    report["environment"]["mariadb"] = server_version
    (config.out / "results.json").write_text(json.dumps(report, indent=1))
    plot(results, config, config.out / "demo-connections.png")
    print()
    print(table(results))
    print()
    print(
        "Latency: successful requests only. Server counts include the demo's one monitoring "
        "connection; pooled modes allow %d workers x (%d + %d) = %d."
        % (
            config.workers,
            config.pool_size,
            config.max_overflow,
            config.workers * (config.pool_size + config.max_overflow),
        )
    )
    log("wrote %s/results.json and %s/demo-connections.png" % (config.out, config.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
