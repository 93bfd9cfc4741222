"""pytest-django and Django's runner on a sample project with this ENGINE (issue 15, item 3).

tests/sample_pytest_project/ is a small site with its own pytest.ini and manage.py, run here as
its developers run it: ``pytest`` with ``--reuse-db`` and ``--create-db``, ``pytest -n 2``
(pytest-xdist) and ``manage.py test --parallel 2``, with this ENGINE and with the stock backend
(SAMPLE_ENGINE=stock). Its tests note where they ran (shop/checks.py); the assertions about
workers, databases and pools are made here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import Admin

PROJECT = Path(__file__).resolve().parents[1] / "sample_pytest_project"
TEST_DB = "test_sample_pooled"


def run(tmp_path: Path, *args: str, engine: str = "pooled") -> list[dict[str, Any]]:
    """Run a command in the sample project; the records its tests wrote."""
    report = tmp_path / ("report-%d.jsonl" % len(list(tmp_path.iterdir())))
    env = {**os.environ, "SAMPLE_ENGINE": engine, "SAMPLE_REPORT": str(report)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    command = [sys.executable, *args]
    result = subprocess.run(
        command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    if args[:2] == ("-m", "pytest"):
        assert " passed" in result.stdout and " failed" not in result.stdout, output[-3000:]
    else:
        assert "\nOK" in output, output[-3000:]
    return [json.loads(line) for line in report.read_text().splitlines()]


def tables(admin: Admin, database: str) -> set[str]:
    rows = admin.query(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (database,)
    )
    return {row[0] for row in rows}


@pytest.fixture
def admin_only(admin: Admin) -> Any:
    yield admin
    for suffix in ("", "_gw0", "_gw1", "_1", "_2"):
        for engine in ("pooled", "stock"):
            admin.query("DROP DATABASE IF EXISTS test_sample_%s%s" % (engine, suffix))


def test_reuse_db_keeps_the_test_database_and_create_db_rebuilds_it(
    admin_only: Admin, tmp_path: Path
) -> None:
    admin = admin_only
    first = run(tmp_path, "-m", "pytest", "--reuse-db", "--create-db")
    assert {entry["db"] for entry in first} == {TEST_DB}
    assert "shop_product" in tables(admin, TEST_DB)
    # Something the next run would lose if it rebuilt the database.
    admin.query("CREATE TABLE %s.reuse_marker (id INT)" % TEST_DB)
    run(tmp_path, "-m", "pytest", "--reuse-db")
    assert "reuse_marker" in tables(admin, TEST_DB)
    run(tmp_path, "-m", "pytest", "--reuse-db", "--create-db")
    assert tables(admin, TEST_DB) >= {"shop_product"}
    assert "reuse_marker" not in tables(admin, TEST_DB)
    # Every pooled connection of those runs is gone with its process.
    assert admin.connection_ids(TEST_DB) == set()


@pytest.mark.parametrize("engine", ["pooled", "stock"])
def test_xdist_gives_each_worker_its_own_database_and_pool(
    admin_only: Admin, tmp_path: Path, engine: str
) -> None:
    records = run(tmp_path, "-m", "pytest", "-n", "2", engine=engine)
    # Grouped by process: xdist hands each worker a first chunk of two tests in collection
    # order, which Django TestCases (recorded as "django") may fill; pytest tests record
    # their worker_id.
    by_pid: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for entry in records:
        by_pid[entry["pid"]].append(entry)
    workers: dict[str, list[dict[str, Any]]] = {}
    for entries in by_pid.values():
        # Every test of a worker's process (its Django TestCases too) ran on one database.
        (database,) = {entry["db"] for entry in entries}
        workers[database.removeprefix("test_sample_%s_" % engine)] = entries
    assert set(workers) == {"gw0", "gw1"}, records
    ids = {}
    for worker, entries in workers.items():
        database = "test_sample_%s_%s" % (engine, worker)
        assert {entry["worker"] for entry in entries} <= {worker, "django"}, entries
        pools = {entry["pool"] for entry in entries}
        if engine == "pooled":
            # One pool per worker process, serving that worker's database only.
            (pool,) = pools
            assert pool.endswith("/%s)" % database)
        else:
            assert pools == {None}
        ids[worker] = {entry["connection_id"] for entry in entries}
    # No connection served both workers.
    assert not ids["gw0"] & ids["gw1"]
    # The test databases were destroyed, and with them every connection to them.
    assert admin_only.connection_ids("test_sample_%s_gw0" % engine) == set()


@pytest.mark.parametrize("engine", ["pooled", "stock"])
def test_djangos_runner_in_parallel_gives_each_process_its_clone(
    admin_only: Admin, tmp_path: Path, engine: str
) -> None:
    records = run(tmp_path, "manage.py", "test", "--parallel", "2", "-v", "0", engine=engine)
    assert len(records) == 5, records
    clones = {"test_sample_%s_%d" % (engine, n) for n in (1, 2)}
    by_pid: dict[int, set[str]] = defaultdict(set)
    for entry in records:
        by_pid[entry["pid"]].add(entry["db"])
        if engine == "pooled":
            assert entry["pool"].endswith("/%s)" % entry["db"])
    # Each worker process ran on one clone of the test database, its own.
    assert all(len(databases) == 1 for databases in by_pid.values())
    databases = [next(iter(databases)) for databases in by_pid.values()]
    assert len(set(databases)) == len(databases) and set(databases) <= clones
