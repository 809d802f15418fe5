"""Benchmark this provider against the tools users would pick instead, in one run on one machine.

    python bench/run.py            # everything; writes bench/results.json and the tables in docs/benchmarks.md
    python bench/run.py --quick    # few repetitions and small counts; writes bench/quick-results.json only

Parts (``--parts``):

1. DAG parsing cost of the operator module, next to the Google provider's Looker operators and looker_sdk;
2. one delivery with latency added to every response: round trips and wall time, next to a curl + jq
   script and looker-sdk;
3. many deliveries under Looker's run_once rate limit: the batch operator, a looker-sdk loop and
   mapped tasks;
4. worker-slot time while waiting for a slow delivery, deferrable against synchronous.

Everything the benchmark talks to listens on 127.0.0.1: the bundled Looker emulator, started here.
The Google provider and looker-sdk go into ``bench/.venv-peers``, created with pip on the first run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import deferral
import many_deliveries
import parse_cost
import peers
import report
import single_delivery
from common import (
    ROOT,
    AirflowHome,
    machine_info,
    package_versions,
    start_emulator,
    tool_version,
)

DEFAULT_DOC = ROOT / "docs" / "benchmarks.md"
MAIN_PACKAGES = (
    "airflow-provider-looker-trigger",
    "apache-airflow",
    "apache-airflow-task-sdk",
    "apache-airflow-providers-common-compat",
    "requests",
    "urllib3",
    "looker-sdk",
)
PEER_PACKAGES = ("apache-airflow", "apache-airflow-providers-google", "looker-sdk")

FULL = {"import_reps": 30, "delivery_reps": 40, "count": 100, "job_delay": 60.0, "poll_interval": 5.0}
QUICK = {"import_reps": 3, "delivery_reps": 3, "count": 10, "job_delay": 2.0, "poll_interval": 0.5}


_PROBE = """
import inspect, json
found = {"batch": False, "wait": False, "looker_sdk": False}
try:
    from airflow_provider_looker_trigger.operators.batch import RunOncePlanBatchOperator
    found["batch"] = True
except ImportError:
    pass
try:
    from airflow_provider_looker_trigger.operators.looker import RunOncePlanOperator
    from airflow_provider_looker_trigger.triggers.looker import LookerDeliveryTrigger
    names = set(inspect.signature(RunOncePlanOperator.__init__).parameters)
    required = {"wait_for_delivery", "deferrable", "poll_interval", "delivery_timeout"}
    found["wait"] = required <= names and hasattr(RunOncePlanOperator, "execute_complete")
except ImportError:
    pass
try:
    import looker_sdk
    found["looker_sdk"] = True
except ImportError:
    pass
print(json.dumps(found))
"""


def probe_features() -> dict[str, bool]:
    """Return which operators of this checkout exist (batch, deferrable wait) and whether looker_sdk imports here."""
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"importing the provider failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark the provider against curl + jq, looker-sdk and the Google provider.")
    parser.add_argument("--quick", action="store_true", help="few repetitions and small counts (about a minute)")
    parser.add_argument("--parts", default="1,2,3,4", help="comma-separated parts to run, from 1 to 4 (default: all)")
    parser.add_argument("--json", type=Path, help="file for the raw figures (default: bench/results.json, or bench/quick-results.json with --quick)")
    parser.add_argument("--doc", type=Path, help=f"Markdown file whose results block is rewritten (default: {DEFAULT_DOC.relative_to(ROOT)}, not written with --quick)")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite any Markdown file")
    parser.add_argument("--no-peers-venv", action="store_true", help="do not create or use bench/.venv-peers (no Google provider figures)")
    parser.add_argument("--no-install", action="store_true", help="do not install curl and jq with apt-get when they are missing")
    parser.add_argument("--import-reps", type=int, help="fresh interpreters per module in part 1")
    parser.add_argument("--delivery-reps", type=int, help="timed deliveries per client in part 2")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every response in part 2 (default: 0.05)")
    parser.add_argument("--count", type=int, help="deliveries in part 3 (default: 100, 10 with --quick)")
    parser.add_argument("--rate", type=float, default=10.0, help="run_once calls per second the emulator allows in part 3 (default: 10)")
    parser.add_argument("--job-delay", type=float, help="seconds a delivery takes to render in part 4 (default: 60, 2 with --quick)")
    parser.add_argument("--poll-interval", type=float, help="seconds between delivery status reads in part 4 (default: 5, 0.5 with --quick)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (Airflow home, outboxes, client output)")
    parser.add_argument("--render", type=Path, metavar="JSON", help="measure nothing: print the tables of an earlier run's JSON and rewrite --doc from it")
    args = parser.parse_args(argv)

    preset = QUICK if args.quick else FULL
    for name, value in preset.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.parts = sorted({int(part) for part in args.parts.split(",") if part.strip()})
    if not set(args.parts) <= {1, 2, 3, 4}:
        parser.error(f"--parts takes numbers from 1 to 4, got {args.parts}")
    if args.json is None:
        args.json = Path(__file__).resolve().parent / ("quick-results.json" if args.quick else "results.json")
    if args.no_doc or (args.quick and args.doc is None):
        args.doc = None
    elif args.doc is None:
        args.doc = DEFAULT_DOC
    return args


def publish(results: dict[str, Any], doc: Path | None) -> None:
    """Print the tables and, when ``doc`` is given, rewrite its results block."""
    tables = report.render(results)
    if doc is not None:
        report.update_doc(doc, tables)
        print(f"Wrote the results in {doc}", flush=True)
    print()
    print(tables)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render is not None:
        publish(json.loads(args.render.read_text()), args.doc)
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="looker-bench-"))
    airflow_home = AirflowHome(workdir)
    skipped: dict[str, str] = {}
    skipped_parts: dict[str, str] = {}

    airflow_version = package_versions(sys.executable, ["apache-airflow"])["apache-airflow"]
    peers_python = None
    if args.no_peers_venv:
        skipped["google provider"] = "the peer venv was turned off (--no-peers-venv)"
    elif 1 in args.parts or 2 in args.parts or 3 in args.parts:
        peers_python, missing = peers.ensure_peers_venv(airflow_version)
        skipped.update(missing)
    features = probe_features()
    sdk_python, reason = peers.sdk_python(peers_python, installed_here=features["looker_sdk"])
    if reason:
        skipped["looker-sdk"] = reason
    shell_reason = peers.ensure_shell_tools(install=not args.no_install) if 2 in args.parts else None
    if shell_reason:
        skipped["curl + jq"] = shell_reason
        print(f"Skipping the curl + jq client: {shell_reason}", flush=True)

    def emulator(**options: Any):
        return start_emulator(workdir, **options)

    results: dict[str, Any] = {
        "command": shlex.join(["python", "bench/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "quick": args.quick,
        "machine": {**machine_info(), "load_average_start": os.getloadavg()},
        "versions": {"project": package_versions(sys.executable, MAIN_PACKAGES)},
        "settings": {key: getattr(args, key) for key in ("import_reps", "delivery_reps", "latency", "count", "rate", "job_delay", "poll_interval")},
        "parts": {},
    }
    if peers_python:
        results["versions"]["peers"] = package_versions(peers_python, PEER_PACKAGES)
    results["versions"]["tools"] = {
        "bash": tool_version(["bash", "--version"]),
        "curl": tool_version(["curl", "--version"]),
        "jq": tool_version(["jq", "--version"]),
    }

    try:
        if 1 in args.parts:
            print(f"Part 1: import cost, {args.import_reps} interpreters per module...", flush=True)
            environments = {"project": sys.executable}
            modules = {"project": [("ours", parse_cost.OURS)]}
            if peers_python:
                environments["peers"] = peers_python
                modules["peers"] = [("ours", parse_cost.OURS), ("looker_sdk", parse_cost.LOOKER_SDK)]
                if peers.google_module_importable(peers_python):
                    modules["peers"].insert(1, ("google provider", parse_cost.GOOGLE))
                else:
                    skipped.setdefault("google provider", "its Looker operator module does not import in the peer venv")
            part = parse_cost.measure(environments, modules, args.import_reps, warmup_rounds=1 if args.quick else 2)
            part["skipped"] = {key: value for key, value in skipped.items() if key in ("google provider", "looker-sdk")}
            results["parts"]["imports"] = part

        if 2 in args.parts:
            print(f"Part 2: one delivery with {args.latency * 1000:g} ms per response, {args.delivery_reps} per client...", flush=True)
            results["parts"]["single"] = single_delivery.measure(
                start_emulator=emulator,
                workdir=workdir,
                airflow_env=airflow_home.env,
                reps=args.delivery_reps,
                rounds=1 if args.quick else 4,
                latency=args.latency,
                sdk_python=sdk_python,
                shell_ready=shell_reason is None,
                skipped=skipped,
            )

        if 3 in args.parts:
            print(f"Part 3: {args.count} deliveries at {args.rate:g} per second...", flush=True)
            airflow_home.migrate()
            available = features["batch"]
            if not available:
                skipped["batch operator"] = "airflow_provider_looker_trigger.operators.batch.RunOncePlanBatchOperator does not exist yet"
            results["parts"]["many"] = many_deliveries.measure(
                start_emulator=emulator,
                workdir=workdir,
                airflow_env=airflow_home.env,
                count=args.count,
                rate=args.rate,
                batch_available=available,
                sdk_python=sdk_python,
                skipped=skipped,
            )

        if 4 in args.parts:
            if features["wait"]:
                print(f"Part 4: waiting for a {args.job_delay:g} s render, synchronous and deferred...", flush=True)
                airflow_home.migrate()
                results["parts"]["wait"] = deferral.measure(
                    start_emulator=emulator,
                    workdir=workdir,
                    airflow_env=airflow_home.env,
                    job_delay=args.job_delay,
                    poll_interval=args.poll_interval,
                    timeout=max(600.0, args.job_delay * 5),
                )
            else:
                skipped_parts["4"] = "RunOncePlanOperator has no wait_for_delivery and deferrable arguments yet"
    finally:
        if args.keep:
            print(f"Temporary files kept in {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    results["machine"]["load_average_end"] = os.getloadavg()
    results["skipped_parts"] = skipped_parts
    results["finished_at"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"Wrote {args.json}", flush=True)
    publish(results, args.doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
