"""Add a Looker connection in the Airflow UI with headless Chromium, press Test and check the result.

Runs only when RUN_BROWSER_TESTS=1, because it needs Chromium, Node.js and the playwright-core package
from ``tests/browser/`` (``scripts/browser-test.sh`` installs them and sets the variable). It starts
``airflow api-server`` on 127.0.0.1 with a private AIRFLOW_HOME, SimpleAuthManager with every user an
admin and connection testing enabled, and the Looker emulator as the connection's target.

Screenshots go to ``tests/browser/artifacts/`` (or BROWSER_ARTIFACTS_DIR). With UPDATE_DOC_IMAGES=1
the form and Test screenshots are also copied to ``docs/img/``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from airflow_provider_looker_trigger import get_provider_info

ROOT = Path(__file__).resolve().parents[1]
BROWSER_DIR = ROOT / "tests" / "browser"
SCRIPT = BROWSER_DIR / "connection_form.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NODE = shutil.which("node")
SERVER_START_TIMEOUT = 120.0
CONN_ID = "looker_browser"

pytestmark = [
    pytest.mark.skipif(os.environ.get("RUN_BROWSER_TESTS") != "1", reason="browser tests run only with RUN_BROWSER_TESTS=1 (see scripts/browser-test.sh)"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium not found at {CHROMIUM}; install Debian's chromium package or set CHROMIUM"),
    pytest.mark.skipif(NODE is None, reason="node (Node.js) is not installed"),
    pytest.mark.skipif(
        not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir(),
        reason="playwright-core is not installed: run `npm ci` in tests/browser/",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def airflow_ui(tmp_path: Path) -> Iterator[str]:
    """Start ``airflow api-server`` with a private AIRFLOW_HOME and return its URL."""
    home = tmp_path / "airflow-home"
    home.mkdir()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
    }
    airflow = [sys.executable, "-m", "airflow"]
    subprocess.run([*airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = home / "api-server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*airflow, "api-server", "--port", str(port), "--host", "127.0.0.1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail(f"airflow api-server exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if requests.get(f"{url}/api/v2/monitor/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"airflow api-server did not start within {SERVER_START_TIMEOUT:g} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture
def artifacts_dir() -> Path:
    folder = Path(os.environ.get("BROWSER_ARTIFACTS_DIR", BROWSER_DIR / "artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nBrowser screenshots: {folder}")
    return folder


def test_connection_form_test_button(airflow_ui, looker_emulator, artifacts_dir):
    entry = next(item for item in get_provider_info()["connection-types"] if item["connection-type"] == "looker")
    assert "conn-fields" in entry, "get_provider_info() does not declare conn-fields, so the form has no Looker fields"

    # Port carries the emulator's port instead of Looker URL: Airflow 3.3.2's Test button in the connection
    # list sends port 0 for an empty Port, and the API then rejects the test as a changed endpoint (400).
    config = {
        "airflowUrl": airflow_ui,
        "connId": CONN_ID,
        "host": "http://127.0.0.1",
        "port": looker_emulator.port,
        "login": looker_emulator.client_id,
        "password": looker_emulator.client_secret,
        "timeout": 30,
        "verify": "true",
        "artifactsDir": str(artifacts_dir),
        "chromium": CHROMIUM,
    }
    run = subprocess.run(
        [NODE, str(SCRIPT), json.dumps(config)],
        cwd=BROWSER_DIR,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.stdout.strip(), f"the browser script printed nothing; stderr:\n{run.stderr[-3000:]}"
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert "error" not in result, result.get("error")

    labels = result["labels"]
    assert "Looker URL" in labels
    assert "Client ID" in labels
    assert "Client Secret" in labels
    assert "Timeout (seconds)" in labels
    assert "TLS verification" in labels
    assert "Proxy" in labels
    assert not result["schemaFieldShown"]
    assert result["hostPlaceholder"] == "https://mycompany.cloud.looker.com"

    assert result["testHttpStatus"] == 200
    assert result["testAnswer"]["status"] is True, result["testAnswer"]["message"]
    assert result["testAnswer"]["message"].startswith(f"Connected to Looker 26.12.3 at {looker_emulator.url}")
    assert result["toastText"].startswith("Test Connection Successful")

    operations = [call.operation for call in looker_emulator.calls]
    assert operations == ["versions", "login", "me", "logout"]

    for name in ("connection-form.png", "connection-form-extras.png", "connection-test.png"):
        assert (artifacts_dir / name).stat().st_size > 10_000, f"{name} is missing or empty"
    if os.environ.get("UPDATE_DOC_IMAGES") == "1":
        images = ROOT / "docs" / "img"
        images.mkdir(parents=True, exist_ok=True)
        for name in ("connection-form.png", "connection-form-extras.png", "connection-test.png"):
            shutil.copyfile(artifacts_dir / name, images / name)
