"""The integration suite passes with PyMySQL installed as MySQLdb too (issue 3, rule 10)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.driver import DRIVER, DRIVER_ENV
from tests.support.helpers import ROOT


@pytest.mark.skipif(DRIVER == "pymysql", reason="this is the nested PyMySQL run itself")
def test_integration_suite_passes_with_pymysql() -> None:
    env = {
        **os.environ,
        DRIVER_ENV: "pymysql",
        "DJANGO_POOLED_MYSQL_TEST_DB_PREFIX": "pooled_pymysql",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/integration",
            "--deselect",
            "tests/integration/test_pymysql.py",
            # These choose their drivers themselves, PyMySQL included.
            "--deselect",
            "tests/integration/test_gevent.py",
            "--deselect",
            "tests/integration/test_gevent_interruptions.py",
            # Exports figures the pool keeps the same way with either driver; a Gunicorn run
            # is enough.
            "--deselect",
            "tests/integration/test_prometheus.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    tail = (result.stdout + result.stderr)[-6000:]
    assert result.returncode == 0, tail
    assert " passed" in result.stdout and "failed" not in result.stdout, tail
