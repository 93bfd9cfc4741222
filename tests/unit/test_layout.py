"""The layout's promises: the pool side imports nothing of Django; only base.py meets Django's
backend; sql/ (text in, verdict out) imports nothing but itself and the standard library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "django_pooled_mysql"
DJANGO_FREE = [
    "pool",
    "pool.pool",
    "pool.registry",
    "pool.idle_queue",
    "pool.housekeeping",
    "pool.options",
    "pool.cancel",
    "connect",
    "execute",
    "ownership",
    "native",
    "disconnect",
    "sql",
    "sql.tokens",
    "sql.lexer",
    "sql.statements",
    "sql.words",
    "sql.scan",
    "sql.rules",
    "sql.dispatch",
    "sql.verdicts",
    "sql.inserts",
]


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
