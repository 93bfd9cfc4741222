#!/usr/bin/env bash
# Prepare a fresh machine for `make test` / `make demo`: system packages, then .venv.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

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
if [ ${#missing[@]} -gt 0 ]; then
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

if [ ! -x "$VENV/bin/python" ]; then
    PY=${PYTHON:-$(pick_python)} || { echo "No Python >= 3.11 found." >&2; exit 1; }
    echo "Creating $VENV with $PY ($("$PY" --version))"
    "$PY" -m venv "$VENV"
fi

stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    # The package (editable) with its PyMySQL extra, and the development dependency groups
    # (test, lint, demo: pyproject.toml's [dependency-groups], never published).
    "$VENV/bin/python" -m pip install -q -e ".[pymysql]" --group dev
    # Without its dependencies: its metadata caps Django below the one tested (pyproject.toml).
    "$VENV/bin/python" -m pip install -q --no-deps --group django-prometheus
    touch "$stamp"
fi
"$VENV/bin/python" -c 'import sys, django, sqlalchemy, MySQLdb; print("Python %s, Django %s, SQLAlchemy %s, mysqlclient %s" % (sys.version.split()[0], django.__version__, sqlalchemy.__version__, ".".join(map(str, MySQLdb.version_info[:3]))))'
