#!/usr/bin/env bash
# Set up .venv, then run the benchmarks (bench/run.py); extra arguments go to it, e.g. --quick.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec .venv/bin/python bench/run.py "$@"
