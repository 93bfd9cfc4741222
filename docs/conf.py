"""Sphinx configuration for the django-pooled-mysql documentation site (``make docs``).

The pages are Markdown (MyST). The build runs with ``-W --keep-going -n``: every warning,
including a link to a page or heading that does not exist and a page left out of the
navigation, fails ``make docs``.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

project = "django-pooled-mysql"
author = "django-pooled-mysql contributors"
copyright = "django-pooled-mysql contributors"


def _package_version() -> str:
    """The version the package declares, read without importing it (no Django settings)."""
    source = (ROOT / "django_pooled_mysql" / "__init__.py").read_text()
    found = re.search(r'^__version__ = "([^"]+)"', source, re.M)
    if found is None:
        raise RuntimeError("django_pooled_mysql/__init__.py declares no __version__")
    return found.group(1)


release = version = _package_version()

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "examples/README.md"]

# Headings up to ### get anchors, so that [text](page.md#heading) links are checked too.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]
# Every cross-reference must resolve (a link to a missing page or anchor is a warning).
nitpicky = True

html_theme = "furo"
html_title = "django-pooled-mysql"
html_static_path = ["_static"]
html_css_files = ["site.css"]
html_copy_source = False
html_show_sourcelink = False
pygments_style = "sphinx"
pygments_dark_style = "monokai"
