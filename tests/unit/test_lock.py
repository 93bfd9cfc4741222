"""uv.lock and what the docs say of it: the versions docs/tracing.md says were run are the
lock's, and the lock covers what the bootstrap and tox ask of it (issue 23)."""

from __future__ import annotations

import configparser
import re
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def locked_versions() -> dict[str, set[str]]:
    """Each package of uv.lock and the versions it holds (several where markers or conflicting
    groups split it)."""
    versions: dict[str, set[str]] = defaultdict(set)
    for package in tomllib.loads((ROOT / "uv.lock").read_text())["package"]:
        if "version" in package:
            versions[package["name"]].add(package["version"])
    return versions


def test_the_tracing_pages_versions_are_the_locks() -> None:
    page = (ROOT / "docs" / "tracing.md").read_text()
    section = page.split("## Versions run", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([\w.-]+)` \| ([^|]+) \|", section, flags=re.M)
    assert len(rows) >= 15, rows
    locked = locked_versions()
    for name, cell in rows:
        assert set(re.findall(r"`([^`]+)`", cell)) == locked[name], name


def test_the_sentry_majors_are_both_locked() -> None:
    majors = {version.split(".")[0] for version in locked_versions()["sentry-sdk"]}
    assert majors == {"2", "3"}


def test_every_group_tox_and_the_bootstrap_name_is_in_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    groups = set(pyproject["dependency-groups"])
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    named = set()
    for section in tox.sections():
        for line in tox[section].get("dependency_groups", "").split("\n"):
            named.add(line.rpartition(":")[2].strip())
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text()
    named |= set(re.findall(r"--group (\w+)", bootstrap))
    named.discard("")
    assert named and named <= groups, named - groups
    # Each tox matrix axis is a set of conflicting groups, so the lock holds each combination.
    conflicts = [
        {item["group"] for item in pairs} for pairs in pyproject["tool"]["uv"]["conflicts"]
    ]
    assert {"django52", "django61"} <= conflicts[0] and {"sqla20", "sqla21"} in conflicts
