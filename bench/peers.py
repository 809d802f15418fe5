"""The tools the benchmark compares against: a separate venv for the Google provider and looker-sdk, curl and jq."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from common import BENCH_DIR, ROOT

PEERS_VENV = BENCH_DIR / ".venv-peers"
PEER_LOG = BENCH_DIR / ".venv-peers.log"


def peer_requirements(airflow_version: str) -> list[str]:
    """Return what the peer venv installs: the same Airflow as the project, the Google provider and looker-sdk."""
    return [f"apache-airflow=={airflow_version}", "apache-airflow-providers-google", "looker-sdk"]


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(python), "-m", "pip", "--disable-pip-version-check", *args]
    with PEER_LOG.open("a") as log:
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        return subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, text=True, check=False)


def _link_project(python: Path) -> None:
    """Make this repository's package importable in the peer venv through a .pth file, without installing it or writing into the checkout."""
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "looker_trigger_bench.pth").write_text(str(ROOT) + "\n")


def ensure_peers_venv(airflow_version: str) -> tuple[str | None, dict[str, str]]:
    """Create or reuse ``bench/.venv-peers`` and return its Python and the reasons for anything missing.

    The venv is rebuilt when the requirement list changes. pip's output goes to ``bench/.venv-peers.log``.
    When the Google provider cannot be installed next to this Airflow version, looker-sdk is installed
    alone and the reason names the log.
    """
    requirements = peer_requirements(airflow_version)
    stamp = PEERS_VENV / f".installed-{hashlib.sha256(' '.join(requirements).encode()).hexdigest()[:16]}"
    python = _venv_python(PEERS_VENV)
    missing: dict[str, str] = {}
    if stamp.exists() and python.exists():
        return str(python), _read_missing(stamp)

    print(f"Creating {PEERS_VENV.relative_to(ROOT)} with {', '.join(requirements)} (pip output: {PEER_LOG.relative_to(ROOT)})...", flush=True)
    shutil.rmtree(PEERS_VENV, ignore_errors=True)
    PEER_LOG.write_text("")
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(PEERS_VENV)], check=True)
    _pip(python, "install", "--quiet", "--upgrade", "pip")
    if _pip(python, "install", *requirements).returncode != 0:
        missing["google provider"] = (
            f"pip could not install {' '.join(requirements)} together; see {PEER_LOG.relative_to(ROOT)}"
        )
        if _pip(python, "install", f"apache-airflow=={airflow_version}", "looker-sdk").returncode != 0:
            missing["looker-sdk"] = f"pip could not install looker-sdk; see {PEER_LOG.relative_to(ROOT)}"
            return None, missing
    _link_project(python)
    for old in PEERS_VENV.glob(".installed-*"):
        old.unlink()
    stamp.write_text("".join(f"{key}\t{value}\n" for key, value in missing.items()))
    return str(python), missing


def _read_missing(stamp: Path) -> dict[str, str]:
    missing = {}
    for line in stamp.read_text().splitlines():
        key, _, value = line.partition("\t")
        if key:
            missing[key] = value
    return missing


def ensure_shell_tools(install: bool) -> str | None:
    """Return None when curl and jq are on PATH, else why the curl + jq client is skipped.

    With ``install`` and root rights, missing tools are installed from Debian's packages first.
    """
    missing = [tool for tool in ("curl", "jq") if shutil.which(tool) is None]
    if not missing:
        return None
    if install and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"Installing {' '.join(missing)} with apt-get...", flush=True)
        result = subprocess.run(["apt-get", "install", "-y", *missing], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            subprocess.run(["apt-get", "update"], capture_output=True, text=True, check=False)
            subprocess.run(["apt-get", "install", "-y", *missing], capture_output=True, text=True, check=False)
        missing = [tool for tool in missing if shutil.which(tool) is None]
        if not missing:
            return None
    return f"{' and '.join(missing)} not found; install with: sudo apt-get install -y curl jq"


def sdk_python(peers_python: str | None, *, installed_here: bool) -> tuple[str | None, str | None]:
    """Return the Python that has looker_sdk (this one when ``installed_here``, else the peer venv's) and why there is none."""
    if installed_here:
        return sys.executable, None
    if peers_python:
        result = subprocess.run([peers_python, "-c", "import looker_sdk"], capture_output=True, check=False)
        if result.returncode == 0:
            return peers_python, None
    return None, "looker_sdk is not installed here (pip install looker-sdk) and there is no peer venv with it"


def google_module_importable(python: str | None) -> bool:
    if python is None:
        return False
    code = "import airflow.providers.google.cloud.operators.looker"
    return subprocess.run([python, "-c", code], capture_output=True, check=False).returncode == 0

