"""``python -m tests.django_suite``: see tests/django_suite/__init__.py."""

from __future__ import annotations

import sys

from tests.django_suite.cli import main

if __name__ == "__main__":
    sys.exit(main())
