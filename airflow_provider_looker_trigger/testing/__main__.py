"""Command line: run the Looker emulator on 127.0.0.1 until interrupted.

python -m airflow_provider_looker_trigger.testing --port 0 --outbox DIR [--warehouse FILE]
    [--job-delay SECONDS] [--seed-demo-data]
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from .emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, LookerEmulator


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_looker_trigger.testing",
        description="Serve a Looker API 4.0 emulator on 127.0.0.1. Deliveries are written to the outbox, never sent.",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1; 0 picks a free port (default: 0)")
    parser.add_argument("--outbox", type=Path, required=True, help="directory for delivered files and the call logs")
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="SQLite file the content queries read (default: OUTBOX/warehouse.sqlite)",
    )
    parser.add_argument(
        "--job-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="seconds a scheduled job stays running before it finishes (default: 0)",
    )
    parser.add_argument(
        "--seed-demo-data",
        action="store_true",
        help="load 120 days of demo orders ending today into the warehouse before serving",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=10.0,
        metavar="CALLS_PER_SECOND",
        help="run_once calls allowed per second before 429; 0 turns the limit off (default: 10)",
    )
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="API client id to accept (default: %(default)s)")
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET, help="API client secret to accept (default: %(default)s)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser


def _interrupt(signal_number: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    emulator = LookerEmulator(
        outbox=args.outbox,
        warehouse=args.warehouse,
        client_id=args.client_id,
        client_secret=args.client_secret,
        job_delay=args.job_delay,
        run_once_rate_limit=args.rate_limit or None,
        seed_demo_data=args.seed_demo_data,
        port=args.port,
    )
    emulator.start()
    # SIGTERM (from a process manager or `kill`) stops the server as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"Looker emulator: {emulator.url}", flush=True)
    print(f"AIRFLOW_CONN_LOOKER_DEFAULT={shlex.quote(emulator.connection_uri())}", flush=True)
    print(f"Outbox: {emulator.outbox.root.resolve()}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
