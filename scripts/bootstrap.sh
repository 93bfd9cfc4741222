#!/usr/bin/env bash
# Prepare a fresh machine for `make test` / `make demo`: system packages, uv, then .venv with
# the exact versions of uv.lock.
# Idempotent and quick when everything is already there.
#
#     scripts/bootstrap.sh         system packages, uv, .venv
#     scripts/bootstrap.sh --uv    uv only; prints its path (make lock, make test-latest)
set -euo pipefail
cd "$(dirname "$0")/.."
UV_ONLY=0
[ "${1:-}" = "--uv" ] && UV_ONLY=1

VENV=.venv
NEED_SERVER=1
[ -n "${DJANGO_POOLED_MYSQL_TEST_URL:-}" ] && NEED_SERVER=0

# --- system packages -----------------------------------------------------------------------
missing=()
pkg-config --version >/dev/null 2>&1 || missing+=(pkg-config)
pkg-config --exists libmariadb 2>/dev/null || pkg-config --exists mysqlclient 2>/dev/null \
    || missing+=(libmariadb-dev)
if [ "$NEED_SERVER" = 1 ]; then
    { command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ]; } \
        && command -v mariadb-install-db >/dev/null || missing+=(mariadb-server)
fi
if [ ${#missing[@]} -gt 0 ] && [ "$UV_ONLY" = 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "Installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # policy-rc.d keeps the package from starting a system-wide server we do not use.
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "Missing system packages: ${missing[*]}. Run:" >&2
        echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

# --- Python: the newest >= 3.12 (Django 6.x), else 3.11 (Django 5.2) -------------------------
pick_python() {
    local v candidate
    for v in 3.14 3.13 3.12 3.11; do
        for candidate in "python$v" $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/$v*/bin/python 2>/dev/null | sort -Vr); do
            if command -v "$candidate" >/dev/null 2>&1 \
                && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
                command -v "$candidate"
                return 0
            fi
        done
    done
    return 1
}

# --- uv, at the version uv.lock holds ---------------------------------------------------------
# uv installs .venv from uv.lock (docs/dev/development.md says why uv). It is itself locked (the
# test group needs it), so `make lock` moves it forward with the rest; here it comes from PyPI into
# a small virtualenv of its own under .cache/, nothing installed for the user or system-wide.
PY_FOR_UV=${PYTHON:-$(pick_python)} || { echo "No Python >= 3.11 found." >&2; exit 1; }
UV_VERSION=$("$PY_FOR_UV" -c 'import tomllib; print(next(p["version"] for p in tomllib.load(open("uv.lock", "rb"))["package"] if p["name"] == "uv"))')
UV_HOME=.cache/uv-$UV_VERSION
UV="$UV_HOME/bin/uv"
if [ ! -x "$UV" ] || [ "$("$UV" --version 2>/dev/null | cut -d" " -f1-2)" != "uv $UV_VERSION" ]; then
    echo "Installing uv $UV_VERSION into $UV_HOME" >&2
    rm -rf "$UV_HOME"
    "$PY_FOR_UV" -m venv "$UV_HOME"
    "$UV_HOME/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION" >&2
fi
if [ "$UV_ONLY" = 1 ]; then
    echo "$UV"
    exit 0
fi
# The interpreters are the machine's (pick_python): uv never downloads one of its own.
export UV_PYTHON_DOWNLOADS=never

# --- .venv: exactly what uv.lock holds for its Python --------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    PY=${PYTHON:-$(pick_python)} || { echo "No Python >= 3.11 found." >&2; exit 1; }
    echo "Creating $VENV with $PY ($("$PY" --version))"
    "$UV" venv -q --python "$PY" "$VENV"
fi

# Synced again only when the lock, pyproject.toml or uv changed since the last sync (a quick
# check for every make target). --locked: a lock that no longer matches pyproject.toml is an
# error, never silently re-resolved. The package is installed editable with its PyMySQL
# extra, with the `dev` group (test, lint, demo, docs and tox; pyproject.toml's
# [dependency-groups], never published); anything else in .venv is removed.
stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ uv.lock -nt "$stamp" ] \
    || [ "$(cat "$stamp")" != "uv $UV_VERSION" ]; then
    if ! UV_PROJECT_ENVIRONMENT=$VENV "$UV" sync -q --locked --extra pymysql --no-default-groups \
        --group dev; then
        echo "uv.lock does not match pyproject.toml, or cannot be installed (above). After editing" >&2
        echo "pyproject.toml, record the change with \`$UV lock\` (docs/dev/development.md)." >&2
        exit 1
    fi
    echo "uv $UV_VERSION" >"$stamp"
fi
"$VENV/bin/python" -c 'import sys, django, sqlalchemy, MySQLdb; print("Python %s, Django %s, SQLAlchemy %s, mysqlclient %s" % (sys.version.split()[0], django.__version__, sqlalchemy.__version__, ".".join(map(str, MySQLdb.version_info[:3]))))'
