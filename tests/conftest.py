"""Test session set-up: a private Airflow home with its own SQLite metadata database.

The environment is set before anything imports Airflow, so no test reads or writes the Airflow
installation of the person running the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="looker-trigger-airflow-home-"))

os.environ["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}"
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "example_dags")
os.environ.pop("AIRFLOW_CONN_LOOKER_DEFAULT", None)

# Imported after the environment is set, because importing Airflow reads it.
from airflow_compat import configure_structlog_like_a_worker  # noqa: E402

configure_structlog_like_a_worker()


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Create the session's Airflow metadata database once and return the Airflow home folder."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return AIRFLOW_HOME
