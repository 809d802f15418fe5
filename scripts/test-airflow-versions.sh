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

# Requirements that a line needs beyond its own metadata. Airflow 3.0's task runner sends JSON to the
# Execution API without a Content-Type header, and FastAPI 0.132 and later reject such requests, so every
# task fails with HTTP 422. Airflow 3.3 sends the header and caps FastAPI itself.
extra_requirements() {
    case "$1" in
        3.0) echo "fastapi<0.132" ;;
    esac
}

failed=()
for spec in "${versions[@]}"; do
    line="${spec%.\*}"
    venv=".venv-airflow-$line"
    extras=$(extra_requirements "$line")
    stamp="$venv/.installed-$( (cat pyproject.toml; echo "$extras") | sha256sum | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        echo "Setting up $venv with apache-airflow==$spec $extras..."
        "$PYTHON" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
        # $extras is unquoted on purpose: it contains zero or more requirements separated by spaces.
        # shellcheck disable=SC2086
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "apache-airflow==$spec" $extras -e ".[test]"
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
