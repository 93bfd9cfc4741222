"""Django's own test suite as the judge: run it with this ENGINE and with the stock MySQL backend.

Downloads the source distribution of the installed Django into ``.cache/django-suite/`` (once),
runs ``tests/runtests.py`` for a list of apps first with ENGINE ``django_pooled_mysql`` and then
with ``django.db.backends.mysql`` on the server named by ``DJANGO_POOLED_MYSQL_TEST_URL``, and
compares the outcomes test by test. Exits 1 if a test that passes on the stock backend fails,
errors or does not run with this ENGINE; 2 if a run could not be completed.

Run it through ``make django-suite`` (which starts a throwaway MariaDB), or directly:
``python -m tests.support.mariadb_server run -- .venv/bin/python -m tests.django_suite --quick``.

One module per step: ``apps`` (the lists), ``source`` (Django's tests and their dependencies),
``server`` (the test server), ``suite_settings`` (the settings per ENGINE), ``runs`` (runtests.py
per ENGINE), ``recording`` (the test runner inside runtests.py that records each outcome),
``results`` (reading the records), ``compare``, ``report`` and ``cli``. Import-light: the
recording runner imports this package inside Django's suite.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "django-suite"


class SuiteError(RuntimeError):
    """The suite could not be prepared or run."""


def relative(path: Path) -> str:
    """path relative to the repository, for messages (as given if it is elsewhere)."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)
