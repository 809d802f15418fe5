#!/usr/bin/env bash
# Run the test suite on each supported Airflow line, each in its own virtual environment:
# the oldest supported 2.x (2.11), the oldest supported 3.x (3.0) and the current one (3.3).
# Usage: scripts/test-airflow-versions.sh [AIRFLOW_SPEC ...] [-- PYTEST_ARGS ...]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
versions=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    versions+=("$1")
    shift
done
[ "${1:-}" = "--" ] && shift
[ ${#versions[@]} -eq 0 ] && versions=("2.11.*" "3.0.*" "3.3.*")

failed=()
for spec in "${versions[@]}"; do
    line="${spec%.\*}"
    venv=".venv-airflow-$line"
    stamp="$venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        echo "Setting up $venv with apache-airflow==$spec..."
        "$PYTHON" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "apache-airflow==$spec" -e ".[test]"
        rm -f "$venv"/.installed-*
        touch "$stamp"
    fi
    installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("apache-airflow"))')
    echo "=== Airflow $installed ($venv)"
    if ! "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"; then
        failed+=("$installed")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "The suite failed on Airflow ${failed[*]}" >&2
    exit 1
fi
echo "The suite passed on every Airflow line: ${versions[*]}"
