"""Run the example DAG end to end on Airflow against the bundled Looker emulator.

Airflow gets a fresh home with an SQLite metadata database under ``demo-output/``; the emulator
listens on 127.0.0.1 at a free port and writes what it delivers to ``demo-output/outbox``. The script
prints what Looker was asked to send, what the emulator delivered, and where the file is.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAG_FILE = ROOT / "example_dags" / "looker_after_load.py"


def airflow_environment(output: Path) -> dict[str, str]:
    """Return the environment for an Airflow that keeps everything under ``output``."""
    home = output / "airflow-home"
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILE.parent),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "LOOKER_DEMO_WAREHOUSE": str(output / "warehouse.sqlite"),
        }
    )
    return env


def run_logged(command: list[str], env: dict[str, str], log: Path) -> None:
    """Run ``command`` with its output going to ``log``; on failure show the log's end and exit."""
    with log.open("w") as handle:
        result = subprocess.run(command, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT, check=False)
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
        sys.exit(f"{' '.join(command[1:4])} failed with exit code {result.returncode}; full output in {log}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "demo-output", help="folder for Airflow, the warehouse and the outbox (emptied first)")
    args = parser.parse_args()

    output: Path = args.output.resolve()
    shutil.rmtree(output, ignore_errors=True)
    (output / "airflow-home").mkdir(parents=True)
    env = airflow_environment(output)

    from airflow_provider_looker_trigger.testing import LookerEmulator

    with LookerEmulator(outbox=output / "outbox", warehouse=output / "warehouse.sqlite") as emulator:
        env["AIRFLOW_CONN_LOOKER_DEFAULT"] = emulator.connection_json()
        print(f"Looker emulator listening on {emulator.url}")

        print("Creating the Airflow metadata database (SQLite)...")
        run_logged([sys.executable, "-m", "airflow", "db", "migrate"], env, output / "db-migrate.log")

        print(f"Running DAG looker_after_load from {DAG_FILE.relative_to(ROOT)} with dag.test()...")
        task_log = output / "dag-run.log"
        run_logged([sys.executable, str(DAG_FILE)], env, task_log)

        report(emulator, task_log, output)
    return 0


def report(emulator, task_log: Path, output: Path) -> None:
    """Print what Looker was asked for and what the emulator delivered."""
    calls = emulator.calls
    counted = {
        "login": sum(1 for c in calls if c.method == "POST" and c.path.endswith("/login")),
        "dashboard read (filter-name check)": sum(1 for c in calls if c.method == "GET" and "/dashboards/" in c.path),
        "run_once": sum(1 for c in calls if c.method == "POST" and c.path.endswith("/run_once")),
        "logout": sum(1 for c in calls if c.method == "DELETE" and c.path.endswith("/logout")),
    }
    print()
    print("Requests the emulator received: " + ", ".join(f"{count} {name}" for name, count in counted.items()))
    for call in calls:
        print(f"  {call.method} {call.path} -> {call.status}")

    for delivery in emulator.deliveries:
        print()
        print(f"Delivered plan {delivery.plan_id} ({delivery.plan.get('name')!r}): {delivery.source} {delivery.content_id}")
        print(f"  filters_string sent: {delivery.plan.get('filters_string')}")
        for name, value in delivery.filters.items():
            print(f"  filter {name} = {value}")
        if delivery.ignored_filters:
            print(f"  ignored filters (not on the dashboard): {', '.join(delivery.ignored_filters)}")
        dest = delivery.destination
        print(f"  {dest.get('type')} to {dest.get('address') or '-'} as {dest.get('format')}: {len(delivery.rows)} rows, status {delivery.status}")
        for row in delivery.rows[:3]:
            print("    " + " | ".join(str(value) for value in row.values()))
        if len(delivery.rows) > 3:
            print(f"    ... {len(delivery.rows) - 3} more rows")
        for path in delivery.files:
            print(f"  file: {Path(path).resolve()}")
    if not emulator.deliveries:
        print("Nothing was delivered.")

    log_text = task_log.read_text(errors="replace")
    leaked = [token for token in emulator.issued_tokens if token in log_text]
    secret_leaked = emulator.client_secret in log_text
    print()
    print(f"Task log: {task_log}")
    print(f"Client secret in the task log: {'YES' if secret_leaked else 'no'}; access tokens in the task log: {len(leaked)}")
    print(f"Everything from this run is under {output}")


if __name__ == "__main__":
    sys.exit(main())
