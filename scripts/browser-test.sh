#!/usr/bin/env bash
# Run the browser test of the Looker connection form: headless Chromium adds a Looker connection in
# the Airflow UI, presses Test and keeps screenshots in tests/browser/artifacts/.
#
# Installs what the test needs: Debian's chromium package (only when running as root and it is
# missing) and playwright-core in tests/browser/ (npm ci). Extra arguments go to pytest.
# --update-doc-images also copies the screenshots to docs/img/. TEST_PYTHON names the Python of an
# existing environment with the provider installed; without it, scripts/bootstrap.sh sets up .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--update-doc-images" ]]; then
    export UPDATE_DOC_IMAGES=1
    shift
fi

if [[ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]]; then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
    else
        echo "Chromium is missing: install Debian's chromium package (apt-get install chromium) or set CHROMIUM." >&2
        exit 1
    fi
fi
if ! command -v npm >/dev/null; then
    echo "npm is missing: install Node.js 18 or newer." >&2
    exit 1
fi
(cd tests/browser && npm ci --no-audit --no-fund)

# TEST_PYTHON selects an existing environment with the provider installed; otherwise .venv is used.
python="${TEST_PYTHON:-}"
if [[ -z "$python" ]]; then
    ./scripts/bootstrap.sh
    python=.venv/bin/python
fi
export RUN_BROWSER_TESTS=1
exec "$python" -m pytest tests/test_browser_connection_form.py -p no:cacheprovider -rs -s "$@"
