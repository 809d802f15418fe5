"""Shared pieces of the benchmark: statistics, subprocess environments, the emulator and machine facts."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

# The delivery every client sends: the example DAG's dashboard, filters and destination.
DASHBOARD_ID = "73"
FILTERS = {"Date": "90 days", "State / Region": "-Not State", "Brand": "Calvin Klein"}
DESTINATION = {"type": "email", "address": "business-pulse@example.com", "format": "wysiwyg_pdf"}

# Brand values of the demo warehouse, combined with a day count into distinct filter sets.
BRANDS = ("Calvin Klein", "Levi's", "Carhartt", "Columbia", "Nike")

LOOPBACK_ENV = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def filter_sets(count: int) -> list[dict[str, str]]:
    """Return ``count`` distinct filter sets that all name filters of dashboard 73."""
    return [{"Date": f"{index + 1} days", "Brand": BRANDS[index % len(BRANDS)]} for index in range(count)]


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """Return the median, min, max and count of a list of measurements (empty list: all None)."""
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Return the environment for a benchmark subprocess: no proxies, loopback exempt, ``extra`` added."""
    env = {key: value for key, value in os.environ.items() if key not in PROXY_VARIABLES}
    env.update(LOOPBACK_ENV)
    env.pop("AIRFLOW_CONN_LOOKER_DEFAULT", None)
    env.update(extra or {})
    return env


class AirflowHome:
    """A private Airflow home with an SQLite metadata database, created on first use."""

    def __init__(self, root: Path) -> None:
        self.path = root / "airflow-home"
        self.path.mkdir(parents=True, exist_ok=True)
        self._migrated = False

    @property
    def env(self) -> dict[str, str]:
        return {
            "AIRFLOW_HOME": str(self.path),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.path / 'airflow.db'}",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.path / "dags"),
        }

    def migrate(self, python: str = sys.executable) -> None:
        """Create the metadata database once (``airflow db migrate``)."""
        if self._migrated:
            return
        result = subprocess.run(
            [python, "-m", "airflow", "db", "migrate"],
            env=clean_env(self.env),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        self._migrated = True


def start_emulator(workdir: Path, **options: Any):
    """Start a Looker emulator on 127.0.0.1 with the demo orders; ``options`` go to ``LookerEmulator``."""
    from airflow_provider_looker_trigger.testing import LookerEmulator

    outbox = Path(tempfile.mkdtemp(prefix="outbox-", dir=workdir))
    return LookerEmulator(outbox=outbox, seed_demo_data=True, **options).start()


def emulator_env(emulator) -> dict[str, str]:
    """Return the variables every client reads: the Airflow connection and the looker-sdk settings."""
    return {
        "AIRFLOW_CONN_LOOKER_DEFAULT": emulator.connection_json(),
        "LOOKERSDK_BASE_URL": emulator.url,
        "LOOKERSDK_CLIENT_ID": emulator.client_id,
        "LOOKERSDK_CLIENT_SECRET": emulator.client_secret,
        "LOOKERSDK_VERIFY_SSL": "false",
        "LOOKER_BASE_URL": emulator.url,
        "LOOKER_CLIENT_ID": emulator.client_id,
        "LOOKER_CLIENT_SECRET": emulator.client_secret,
    }


def count_operations(calls: Iterable[Any]) -> dict[str, int]:
    """Return how many recorded emulator calls each Looker operation had."""
    counts: dict[str, int] = {}
    for call in calls:
        counts[call.operation] = counts.get(call.operation, 0) + 1
    return counts


def package_versions(python: str, names: Sequence[str]) -> dict[str, str | None]:
    """Return the installed versions of ``names`` in the environment of ``python`` (None when absent)."""
    if python == sys.executable:
        return {name: _version(name) for name in names}
    code = (
        "import json, sys\nfrom importlib import metadata\nout = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n        out[name] = metadata.version(name)\n"
        "    except metadata.PackageNotFoundError:\n        out[name] = None\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run([python, "-c", code, *names], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return dict.fromkeys(names)
    return json.loads(result.stdout)


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def tool_version(command: Sequence[str]) -> str | None:
    """Return the first output line of a ``--version`` command, or None when the tool is missing."""
    if shutil.which(command[0]) is None:
        return None
    result = subprocess.run(list(command), capture_output=True, text=True, check=False)
    lines = (result.stdout or result.stderr).splitlines()
    return lines[0].strip() if lines else None


def machine_info() -> dict[str, Any]:
    """Return the facts that place a run: CPUs, memory, CPU model, OS and Python."""
    cpu_model = None
    memory_kib = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1) if memory_kib else None,
        "cpu_model": cpu_model,
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
    }
