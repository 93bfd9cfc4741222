#!/usr/bin/env bash
# make test-latest: the whole suite (what `make test` runs) in .venv-latest, a virtualenv with the
# newest release of every package pyproject.toml allows instead of uv.lock's versions; then a
# report of what differs from the lock and whether the suite passed. uv.lock and .venv are left
# as they are (docs/dev/development.md: when to run it, and what to do with a failure).
set -uo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-latest
REPORT_DIR=.cache/test-latest
mkdir -p "$REPORT_DIR"
UV=$(scripts/bootstrap.sh --uv) || exit 1
export UV_PYTHON_DOWNLOADS=never

# The same Python as .venv (make venv picked it), so the versions compare one to one.
rm -rf "$VENV"
"$UV" venv -q --python .venv/bin/python "$VENV" || exit 1
# No lock: the highest version of everything the ranges allow, looked up afresh (--upgrade),
# the package editable with its PyMySQL extra and the dev group, as make venv installs them.
# [tool.uv]'s dependency-metadata (django-prometheus' Django cap) applies here too.
if ! "$UV" pip install -q --python "$VENV/bin/python" --upgrade --resolution highest \
    -e ".[pymysql]" --group dev; then
    echo "make test-latest: the newest releases cannot be installed together (above)." >&2
    exit 1
fi

"$UV" pip freeze -q --python .venv/bin/python --exclude-editable | sort -f >"$REPORT_DIR/locked.txt"
"$UV" pip freeze -q --python "$VENV/bin/python" --exclude-editable | sort -f >"$REPORT_DIR/latest.txt"

# The suite as make test runs it, with .venv-latest's interpreter; side environments of other
# dependency groups (tests/support/helpers.py: locked_environment()) take the newest releases too.
status=0
DJANGO_POOLED_MYSQL_LATEST=1 make --no-print-directory test PY="$VENV/bin/python" \
    2>&1 | tee "$REPORT_DIR/output.txt"
status=${PIPESTATUS[0]}

python=$("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')
"$VENV/bin/python" - "$REPORT_DIR/locked.txt" "$REPORT_DIR/latest.txt" "$status" "$python" \
    >"$REPORT_DIR/report.txt" <<'EOF'
import sys

def versions(path):
    pins = {}
    for line in open(path):
        name, sep, version = line.strip().partition("==")
        if sep:
            pins[name.lower().replace("_", "-")] = version
    return pins

locked, latest, status, python = versions(sys.argv[1]), versions(sys.argv[2]), sys.argv[3], sys.argv[4]
changed = sorted(name for name in locked.keys() | latest.keys() if locked.get(name) != latest.get(name))
print("make test-latest on Python %s: newest releases against uv.lock" % python)
if changed:
    width = max(len(name) for name in changed)
    print("  %-*s  %-14s  %s" % (width, "package", "uv.lock", "newest"))
    for name in changed:
        print("  %-*s  %-14s  %s" % (width, name, locked.get(name, "-"), latest.get(name, "-")))
else:
    print("  every package is at the lock's version: the lock is up to date")
if status == "0":
    print("PASSED: the suite passes on the newest releases; `make lock` may take them.")
else:
    print("FAILED (exit %s): the suite fails on the newest releases (output: .cache/test-latest/"
          "output.txt). If `make test` passes on the lock, a release above broke it: fix the code "
          "or the test so that both versions pass, or cap its range in pyproject.toml, before "
          "`make lock`." % status)
EOF
echo
cat "$REPORT_DIR/report.txt"
exit "$status"
