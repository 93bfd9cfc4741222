"""The layout's promises: the pool side imports nothing of Django; only base.py meets Django's
backend."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "django_pooled_mysql"
DJANGO_FREE = [
    "pool",
    "registry",
    "idle_queue",
    "connect",
    "execute",
    "housekeeping",
    "ownership",
    "native",
    "options",
    "disconnect",
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
