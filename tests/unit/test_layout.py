"""The layout's promises: imports go one way (Django's side -> lease -> pool -> driver; sql/
imports nothing of the package), the four layers import nothing of Django, only base.py meets
Django's backend, sql/ (text in, verdict out) imports only the standard library, and the unit
tests mirror the package's tree."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "django_pooled_mysql"
UNIT = Path(__file__).resolve().parent
# The four layers below Django's side, and what each may import of the package: imports go
# one way (Django's side -> lease -> pool -> driver; sql is used by lease and imports nothing).
LAYERS = {
    "lease": {"lease", "pool", "driver", "sql", "exceptions"},
    "pool": {"pool", "driver", "exceptions"},
    "driver": {"driver", "exceptions"},
    "sql": {"sql"},
}
DJANGO_FREE = sorted(
    ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
    for layer in LAYERS
    for path in (PACKAGE / layer).rglob("*.py")
)


def test_the_pool_side_imports_nothing_of_django() -> None:
    code = (
        "import sys\n"
        + "".join("import django_pooled_mysql.%s\n" % name for name in DJANGO_FREE)
        + "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_only_base_imports_djangos_backend() -> None:
    importers = sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "django.db.backends" in path.read_text()
    )
    # The ENGINE, and the ENGINE with django-prometheus' metrics (ENGINE modules are base.py).
    assert importers == ["base.py", "prometheus/base.py"]


def test_sql_imports_nothing_but_itself_and_the_standard_library() -> None:
    # Not Django, not a driver, nothing of the package outside sql/ (the package imports sql,
    # never the other way round). Read from the import statements: a lazy import counts too.
    offending = []
    for path in sorted((PACKAGE / "sql").rglob("*.py")):
        relative = path.relative_to(PACKAGE).with_suffix("")
        module = ".".join(("django_pooled_mysql", *relative.parts))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):  # the names too: from .. import exceptions
                base = package.rsplit(".", node.level - 1)[0] if node.level else ""
                names = [
                    ".".join(part for part in (base, node.module, alias.name) if part)
                    for alias in node.names
                ]
            else:
                continue
            for name in names:
                inside = name == "django_pooled_mysql.sql" or name.startswith(
                    "django_pooled_mysql.sql."
                )
                if not inside and name.partition(".")[0] not in sys.stdlib_module_names:
                    offending.append("%s imports %s" % (path.relative_to(PACKAGE), name))
    assert offending == []


def package_imports(path: Path, text: str | None = None) -> list[str]:
    """The modules of this package that a file (or text standing at path) imports, lazy
    imports included, absolute."""
    relative = path.relative_to(PACKAGE).with_suffix("")
    module = ".".join(("django_pooled_mysql", *relative.parts))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text() if text is None else text)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            names = [".".join(part for part in (base, node.module) if part)]
        else:
            continue
        found += [name for name in names if name.startswith("django_pooled_mysql")]
    return found


def test_imports_go_one_way() -> None:
    offending = []
    for layer, allowed in LAYERS.items():
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for name in package_imports(path):
                parts = name.split(".")
                target = parts[1] if len(parts) > 1 else "(the package)"
                if target not in allowed:
                    offending.append("%s imports %s" % (path.relative_to(PACKAGE), name))
    assert offending == []


def test_the_one_way_test_sees_a_wrong_way_import() -> None:
    # Relative imports are read as the interpreter resolves them, lazy ones too.
    wire = PACKAGE / "driver" / "wire.py"
    text = wire.read_text() + "\n\ndef late() -> None:\n    from ..pool import housekeeping\n"
    assert "django_pooled_mysql.pool" in package_imports(wire, text)
    assert "django_pooled_mysql.pool" not in package_imports(wire)


def misplaced_unit_tests(paths: list[Path]) -> list[str]:
    """Unit test modules that do not mirror the package: a folder of tests/unit/ names a
    subpackage (tests/unit/pool/ for django_pooled_mysql/pool/), and a test module named after
    a module (test_idle_queue.py for pool/idle_queue.py) lives in the folder of that module's
    package (tests/unit/ itself for a top-level module such as checks.py)."""
    subpackages = {
        path.name for path in PACKAGE.iterdir() if path.is_dir() and any(path.glob("*.py"))
    }
    misplaced = []
    for path in paths:
        folder = path.parent.relative_to(UNIT).parts
        where = path.relative_to(UNIT).as_posix()
        if folder and folder[0] not in subpackages:
            misplaced.append("%s: there is no django_pooled_mysql/%s/" % (where, folder[0]))
            continue
        name = path.stem.removeprefix("test_")
        homes = {(module.parent.name,) for module in PACKAGE.glob("*/%s.py" % name)}
        if (PACKAGE / ("%s.py" % name)).exists():
            homes.add(())
        if homes and folder[:1] not in homes:
            places = sorted("tests/unit/%s" % "/".join((*home, path.name)) for home in homes)
            misplaced.append("%s: belongs in %s" % (where, " or ".join(places)))
    return misplaced


def test_unit_tests_mirror_the_package() -> None:
    assert misplaced_unit_tests(sorted(UNIT.rglob("test_*.py"))) == []


def test_the_mirror_test_sees_a_misplaced_module() -> None:
    assert misplaced_unit_tests(
        [UNIT / "test_idle_queue.py", UNIT / "pool" / "test_checks.py"]
    ) == [
        "test_idle_queue.py: belongs in tests/unit/pool/test_idle_queue.py",
        "pool/test_checks.py: belongs in tests/unit/test_checks.py",
    ]
    assert misplaced_unit_tests([UNIT / "pools" / "test_x.py"]) == [
        "pools/test_x.py: there is no django_pooled_mysql/pools/"
    ]
    assert misplaced_unit_tests([UNIT / "pool" / "test_idle_queue.py", UNIT / "test_x.py"]) == []
