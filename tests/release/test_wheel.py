"""What a user gets from PyPI: the sdist and the wheel are complete, and the wheel alone, installed
into a fresh virtualenv, runs a Django project against the test server within its pool's cap.

Slow for a test (about half a minute): the build runs in an isolated environment (setuptools from
the index), and the first run fills ``.cache/wheel-test/`` with wheels of the dependencies at the
versions in the running virtualenv (uv.lock's; mysqlclient's is built by ``pip wheel`` there, at
most once). Later runs install from there without the network.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import tarfile
import threading
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.settings import SERVER, admin_connect
from tests.support.helpers import ROOT, Admin, fetch_all

pytestmark = pytest.mark.packaging

PACKAGE = "django_pooled_mysql"
WHEELHOUSE = ROOT / ".cache" / "wheel-test" / ("wheelhouse-py%d.%d" % sys.version_info[:2])
# The distributions the wheel depends on, pinned to what this virtualenv runs.
DEPENDENCIES = ("Django", "SQLAlchemy", "mysqlclient")
POOL = {"pool_size": 2, "max_overflow": 1, "timeout": 30}
CAP = POOL["pool_size"] + POOL["max_overflow"]
THREADS = 8


def run(cmd: list[str | Path], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command; fail the test with its output if it fails."""
    result = subprocess.run(
        [str(part) for part in cmd], capture_output=True, text=True, timeout=timeout, **kwargs
    )
    if result.returncode != 0:
        pytest.fail(
            "%s exited with %d:\n%s\n%s"
            % (
                " ".join(map(str, cmd)),
                result.returncode,
                result.stdout[-4000:],
                result.stderr[-4000:],
            ),
            pytrace=False,
        )
    return result


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel built from it, as `python -m build` makes them for a release."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", out, ROOT], timeout=600)
    built = {path.suffix: path for path in out.iterdir()}
    assert set(built) == {".gz", ".whl"}, sorted(out.iterdir())
    return {"sdist": built[".gz"], "wheel": built[".whl"]}


def package_modules() -> set[str]:
    """The package's files in the source tree, relative to the repository root."""
    return {
        str(path.relative_to(ROOT))
        for path in (ROOT / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_sdist_has_the_package_license_and_py_typed(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as sdist:
        names = sdist.getnames()
    top = names[0].split("/")[0]
    files = {name.split("/", 1)[1] for name in names if "/" in name}
    assert package_modules() <= files
    assert {"LICENSE", "README.md", "pyproject.toml", "PKG-INFO"} <= files
    assert "%s/py.typed" % PACKAGE in files
    assert top == dists["sdist"].name.removesuffix(".tar.gz")


def test_wheel_has_the_package_py_typed_license_and_metadata(dists: dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = set(wheel.namelist())
        dist_info = next(name.split("/")[0] for name in names if ".dist-info/" in name)
        metadata = wheel.read("%s/METADATA" % dist_info).decode()
    assert package_modules() <= names
    assert "%s/py.typed" % PACKAGE in names
    assert "%s/licenses/LICENSE" % dist_info in names
    # Only the package: no tests, demo or benchmarks on users' sys.path.
    assert {name.split("/")[0] for name in names} == {PACKAGE, dist_info}
    assert "License-Expression: BSD-3-Clause" in metadata
    assert "Requires-Python: >=3.11" in metadata
    assert "Requires-Dist: SQLAlchemy<2.2,>=2.0" in metadata


@pytest.fixture
def database(admin: Admin) -> Iterator[str]:
    """An empty database on the test server for the installed project; dropped afterwards."""
    name = "pooled_wheel_%s" % uuid.uuid4().hex[:10]
    admin.query("CREATE DATABASE %s CHARACTER SET utf8mb4" % name)
    try:
        yield name
    finally:
        admin.query("DROP DATABASE IF EXISTS %s" % name)


def fresh_virtualenv(where: Path, wheel: Path) -> Path:
    """A virtualenv with the wheel and its dependencies only; returns its python."""
    # No --system-site-packages, and no pip of its own: this virtualenv's pip installs into it.
    run([sys.executable, "-m", "venv", "--without-pip", where], timeout=120)
    python = where / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check"]
    offline = [*pip, "install", "--no-index", "--find-links", WHEELHOUSE, wheel]
    if WHEELHOUSE.is_dir() and subprocess.run(offline, capture_output=True).returncode == 0:
        return python
    pins = ["%s==%s" % (name, importlib.metadata.version(name)) for name in DEPENDENCIES]
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "wheel", "--wheel-dir", WHEELHOUSE, *pins], timeout=900)
    run(offline, timeout=600)
    return python


SETTINGS = """\
DATABASES = {"default": %(database)r}
INSTALLED_APPS = ["django.contrib.contenttypes"]
SECRET_KEY = "wheel-test"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
"""

# Runs in the fresh virtualenv: migrate, then ORM writes and reads in threads, each transaction
# held long enough that the threads queue for the pool's connections.
PROJECT = """\
import json
import os
import sys
import threading

os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
import django

django.setup()
from django.core.management import call_command
from django.db import connection, transaction

import django_pooled_mysql
from django.contrib.contenttypes.models import ContentType

call_command("migrate", "contenttypes", verbosity=0)
errors = []


def work(i):
    try:
        for n in range(5):
            with transaction.atomic():
                ContentType.objects.create(app_label="wheel%%d" %% i, model="m%%d" %% n)
                with connection.cursor() as cursor:
                    cursor.execute("SELECT SLEEP(0.05)")
            assert ContentType.objects.filter(app_label="wheel%%d" %% i).count() == n + 1
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        connection.close()


threads = [threading.Thread(target=work, args=(i,)) for i in range(%(threads)d)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({
    "engine_file": django_pooled_mysql.__file__,
    "errors": errors,
    "rows": ContentType.objects.filter(app_label__startswith="wheel").count(),
    "stats": django_pooled_mysql.pool_stats(),
}))
connection.close()
sys.exit(0)
"""


def test_installed_wheel_runs_a_django_project_within_the_pool_cap(
    dists: dict[str, Path], database: str, tmp_path: Path
) -> None:
    python = fresh_virtualenv(tmp_path / "venv", dists["wheel"])
    project = tmp_path / "project"
    project.mkdir()
    settings = {
        "ENGINE": PACKAGE,
        "NAME": database,
        **SERVER,
        "OPTIONS": {"pool": POOL},
    }
    (project / "settings.py").write_text(SETTINGS % {"database": settings})
    (project / "main.py").write_text(PROJECT % {"threads": THREADS})

    # The server's view of the project's connections, sampled while it runs.
    seen: list[int] = []
    done = threading.Event()

    def sample() -> None:
        conn = admin_connect()
        try:
            while not done.is_set():
                rows = fetch_all(
                    conn,
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s",
                    (database,),
                )
                seen.append(int(rows[0][0]))
                done.wait(0.005)
        finally:
            conn.close()

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        # Warnings are errors here too; no PYTHONPATH: only the virtualenv and the project.
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        result = run([python, "-W", "error", "main.py"], timeout=300, cwd=project, env=env)
    finally:
        done.set()
        sampler.join(30)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["engine_file"]).is_relative_to(tmp_path / "venv"), report["engine_file"]
    assert report["errors"] == []
    assert report["rows"] == THREADS * 5
    # Eight threads queued for three connections: the server saw the pool fill, never more.
    assert seen and max(seen) <= CAP, (seen, report["stats"])
    assert max(seen) >= POOL["pool_size"], (seen, report["stats"])
    assert not sampler.is_alive()
