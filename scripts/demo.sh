#!/usr/bin/env bash
# Set up .venv, then run the example DAG on Airflow (SQLite metadata database) against the Looker emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec .venv/bin/python scripts/run_demo.py "$@"
