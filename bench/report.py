"""Render the benchmark's JSON as Markdown tables and write them into docs/benchmarks.md between markers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

START_MARKER = "<!-- bench:results:start -->"
END_MARKER = "<!-- bench:results:end -->"

IMPORT_GOAL_MS = 10.0
BATCH_GOAL_RATIO = 1.15
DEFERRED_GOAL_S = 1.0


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _ratio(value: float | None, reference: float | None) -> str:
    if value is None or not reference:
        return "n/a"
    ratio = value / reference
    # Two significant digits keep a small ratio such as 0.0037 from showing as 0.00.
    return f"{ratio:.2f}×" if ratio >= 0.1 else f"{ratio:.2g}×"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def _skipped(part: dict[str, Any]) -> list[str]:
    return [f"Not measured: {name}: {reason}." for name, reason in sorted((part.get("skipped") or {}).items())]


def render_machine(results: dict[str, Any]) -> list[str]:
    machine = results["machine"]
    versions = results["versions"]
    lines = [
        f"Run finished at {results['finished_at']} with `{results['command']}`"
        + (" (quick mode: fewer repetitions and smaller counts)." if results["quick"] else "."),
        "",
    ]
    rows = [
        ["CPUs (nproc)", str(machine["nproc"])],
        ["memory", f"{machine['memory_gib']} GiB"],
        ["CPU model", machine["cpu_model"] or "n/a"],
        ["OS", machine["os"]],
        ["Python", machine["python"]],
    ]
    if machine.get("load_average_start") and machine.get("load_average_end"):
        start, end = machine["load_average_start"][0], machine["load_average_end"][0]
        rows.append(["load average (1 min), start and end of the run", f"{start:.2f}, {end:.2f}"])
    for environment, packages in versions.items():
        listed = ", ".join(f"{name} {_version_number(version)}" for name, version in packages.items() if version)
        rows.append([f"packages ({environment})", listed or "n/a"])
    return lines + _table(["item", "value"], rows)


def _version_number(text: str) -> str:
    """Return the first dotted version number in a ``--version`` line, e.g. ``7.88.1`` from curl's banner."""
    matched = re.search(r"\d+(?:\.\d+)+", text)
    return matched.group(0) if matched else text


def render_imports(part: dict[str, Any]) -> list[str]:
    lines = [
        f"### 1. DAG parsing cost ({part['reps']} fresh interpreters per module)",
        "",
    ]
    ours = {m["environment"]: m for m in part["modules"] if m["label"] == "ours"}
    rows = []
    for environment, baseline in part["baseline"].items():
        rows.append(["`import airflow.sdk` (baseline)", environment, _ms(baseline["median"]), "", "", "", ""])
    for module in part["modules"]:
        reference = ours.get(module["environment"])
        rows.append(
            [
                f"{module['label']}: `{module['module']}`",
                module["environment"],
                _ms(module["total_ms"]["median"]),
                _ms(module["marginal_ms"]["median"]),
                _ms(module["difference_ms"]),
                _ms(module["paired_difference_ms"]["median"]),
                _ratio(module["marginal_ms"]["median"], reference["marginal_ms"]["median"] if reference else None),
            ]
        )
    lines += _table(
        [
            "import",
            "environment",
            "median total (ms)",
            "median import after airflow.sdk (ms)",
            "difference of medians (ms)",
            "median of per-round differences (ms)",
            "× ours",
        ],
        rows,
    )
    main = ours.get("project")
    if main:
        cost = main["marginal_ms"]["median"]
        verdict = "met" if cost <= IMPORT_GOAL_MS else f"missed by {cost - IMPORT_GOAL_MS:.1f} ms"
        lines += [
            "",
            (
                f"Goal, ours at most {IMPORT_GOAL_MS:g} ms over `import airflow.sdk`, judged on the same-process "
                f"figure: {verdict} ({_ms(cost)} ms). The differences between processes were "
                f"{_ms(main['difference_ms'])} ms (of medians) and {_ms(main['paired_difference_ms']['median'])} ms "
                f"(per round), against a baseline that varied from {_ms(part['baseline']['project']['min'])} to "
                f"{_ms(part['baseline']['project']['max'])} ms."
            ),
        ]
    return lines + [""] + _skipped(part)


def render_single(part: dict[str, Any]) -> list[str]:
    latency_ms = part["latency_s"] * 1000
    lines = [
        f"### 2. One delivery, {latency_ms:g} ms added to every response ({part['reps']} timed deliveries per client)",
        "",
    ]
    reference = next((c for c in part["clients"] if c["label"] == "ours (hook)"), None)
    rows = []
    for client in part["clients"]:
        wall = client["wall_ms"]
        operations = ", ".join(f"{name} {count:g}" for name, count in client["operations_per_delivery"].items())
        rows.append(
            [
                client["label"],
                f"{client['round_trips']:g}",
                operations,
                _ms(wall["median"]),
                f"{_ms(wall['min'])}–{_ms(wall['max'])}",
                _ms(wall["median"] - part["floor_ms"]),
                _ratio(wall["median"], reference["wall_ms"]["median"] if reference else None),
            ]
        )
    lines += _table(
        [
            "client",
            "round trips",
            "calls per delivery",
            "median wall (ms)",
            "min–max (ms)",
            f"over the {part['floor_ms']:g} ms floor (ms)",
            "× ours (hook)",
        ],
        rows,
    )
    if reference:
        peers = [c for c in part["clients"] if not c["label"].startswith("ours")]
        best = min(peers, key=lambda c: c["wall_ms"]["median"]) if peers else None
        trips = "met" if reference["round_trips"] <= part["round_trip_floor"] else f"missed ({reference['round_trips']:g})"
        lines += ["", f"Goal, {part['round_trip_floor']} round trips for the hook: {trips}."]
        if best:
            gap = reference["wall_ms"]["median"] - best["wall_ms"]["median"]
            verdict = "met" if gap <= 0 else f"missed by {gap:.1f} ms"
            lines.append(
                f"Goal, wall time no worse than the best peer ({best['label']}, {_ms(best['wall_ms']['median'])} ms): {verdict}."
            )
    return lines + [""] + _skipped(part)


def render_many(part: dict[str, Any]) -> list[str]:
    lines = [
        (
            f"### 3. {part['count']} deliveries at {part['rate_per_s']:g} run_once calls per second "
            f"(floor {part['floor_s']:g} s)"
        ),
        "",
    ]
    rows = []
    for client in part["clients"]:
        rows.append(
            [
                client["label"],
                f"{client['delivered']} of {part['count']}",
                str(client["rejected_429"]),
                str(client["round_trips"]),
                _s(client["window_s"]),
                _ratio(client["window_s"], part["floor_s"]),
                _s(client.get("dag_test_s")),
            ]
        )
    lines += _table(
        ["client", "delivered", "429 answers", "round trips", "delivery window (s)", "× floor", "whole dag.test() (s)"],
        rows,
    )
    ours = next((c for c in part["clients"] if c["label"].startswith("ours")), None)
    if ours:
        ratio = ours["window_s"] / part["floor_s"]
        everything = ours["delivered"] == part["count"]
        verdict = (
            "met"
            if everything and ratio <= BATCH_GOAL_RATIO
            else f"missed ({ours['delivered']} delivered, {ratio:.2f}× the floor)"
        )
        lines += ["", f"Goal, all {part['count']} delivered within {BATCH_GOAL_RATIO:g}× the floor: {verdict}."]
    return lines + [""] + _skipped(part)


def render_wait(part: dict[str, Any]) -> list[str]:
    lines = [
        (
            f"### 4. Waiting for a delivery that renders for {part['job_delay_s']:g} s "
            f"(poll interval {part['poll_interval_s']:g} s)"
        ),
        "",
    ]
    sync = next((c for c in part["clients"] if c["label"] == "synchronous wait"), None)
    rows = []
    for client in part["clients"]:
        rows.append(
            [
                client["label"],
                client["dag_run_state"],
                _s(client["operator_slot_s"]),
                _s(client["task_run_slot_s"]),
                str(client["task_runs"]),
                _s(client["task_total_s"]),
                _ratio(client["task_run_slot_s"], sync["task_run_slot_s"] if sync else None),
            ]
        )
    lines += _table(
        [
            "mode",
            "DAG run",
            "worker slot, operator code (s)",
            "worker slot, task runs (s)",
            "task runs",
            "task start to end (s)",
            "× synchronous",
        ],
        rows,
    )
    deferred = next((c for c in part["clients"] if c["label"] == "deferrable wait"), None)
    if deferred:
        slot_seconds = deferred["task_run_slot_s"]
        verdict = "met" if slot_seconds < DEFERRED_GOAL_S else f"missed by {slot_seconds - DEFERRED_GOAL_S:.2f} s"
        lines += ["", f"Goal, under {DEFERRED_GOAL_S:g} s of worker slot when deferred (task runs): {verdict}."]
    return lines + [""] + _skipped(part)


def render(results: dict[str, Any]) -> str:
    """Return the Markdown that goes between the markers: machine, then one table per part."""
    sections = [render_machine(results)]
    parts = results["parts"]
    renderers = {"imports": render_imports, "single": render_single, "many": render_many, "wait": render_wait}
    for key, renderer in renderers.items():
        if key in parts:
            sections.append(renderer(parts[key]))
    for key, reason in sorted(results.get("skipped_parts", {}).items()):
        sections.append([f"Part {key} was not run: {reason}."])
    text = "\n\n".join("\n".join(lines).rstrip() for lines in sections)
    return text + "\n"


def update_doc(path: Path, body: str) -> None:
    """Replace the text between the result markers of ``path`` with ``body``."""
    text = path.read_text()
    start = text.find(START_MARKER)
    end = text.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError(f"{path} has no {START_MARKER} ... {END_MARKER} block to write the results into")
    path.write_text(text[: start + len(START_MARKER)] + "\n\n" + body + "\n" + text[end:])
