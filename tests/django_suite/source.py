"""Django's own tests: the sdist of the installed Django, and the suite's test-only dependencies."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from tests.django_suite import CACHE, SuiteError

# Test-only dependencies of Django's suite that change what runs: tblib carries tracebacks out
# of --parallel workers (without it a failure there is unreportable), PyYAML enables the YAML
# serializer tests. Both are in the locked `test` dependency group (pyproject.toml), so the
# suite runs them at the lock's versions from the project's virtualenv.
TEST_DEPENDENCIES = ("tblib", "PyYAML")


def installed_django_version() -> str:
    """The version of the Django this interpreter imports."""
    return importlib.metadata.version("django")


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SuiteError(
            "%s failed:\n%s%s" % (" ".join(cmd), result.stdout[-3000:], result.stderr[-3000:])
        )


def ensure_django_source(version: str, cache: Path = CACHE) -> Path:
    """Django's ``tests/`` directory for version, downloaded and unpacked on first use."""
    tests = cache / ("django-%s" % version) / "tests"
    if (tests / "runtests.py").is_file():
        return tests
    cache.mkdir(parents=True, exist_ok=True)
    print("Downloading the Django %s source distribution..." % version, flush=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        _pip("download", "--no-binary", ":all:", "--no-deps", "--dest", tmp, "django==%s" % version)
        archives = [p for p in Path(tmp).iterdir() if p.name.endswith((".tar.gz", ".zip"))]
        if len(archives) != 1:
            raise SuiteError("pip download left %s, expected one sdist" % archives)
        unpacked = Path(tmp) / "unpacked"
        _unpack(archives[0], unpacked)
        roots = list(unpacked.iterdir())
        if len(roots) != 1 or not (roots[0] / "tests" / "runtests.py").is_file():
            raise SuiteError("%s has no tests/runtests.py" % archives[0].name)
        # Renamed into place last, so an interrupted download is never mistaken for a source tree.
        roots[0].rename(cache / ("django-%s" % version))
    return tests


def _unpack(archive: Path, dest: Path) -> None:
    if archive.name.endswith(".zip"):
        import zipfile

        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest)
        return
    with tarfile.open(archive) as tf:
        if hasattr(tarfile, "data_filter"):
            # Refuses absolute paths and links out of dest (Python 3.11.4+, 3.12+).
            tf.extractall(dest, filter="data")
        else:
            # An sdist that pip fetched from the package index.
            tf.extractall(dest)


def check_test_dependencies() -> None:
    """Fail with the fix unless Django's test-only dependencies are installed here."""
    missing = []
    for name in TEST_DEPENDENCIES:
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        raise SuiteError(
            "%s not installed in %s: run `make venv` (the `test` group of uv.lock)"
            % (", ".join(missing), sys.prefix)
        )
