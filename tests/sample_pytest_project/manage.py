#!/usr/bin/env python
"""The sample project's manage.py (Django's runner: ``manage.py test --parallel 2``)."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sampleproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
