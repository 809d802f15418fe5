"""Part 1: what importing an operator module adds to DAG parsing, over ``import airflow.sdk``.

Every sample is a fresh interpreter running ``import airflow.sdk`` (the baseline) or
``import airflow.sdk; import X``. The process times its own imports with ``time.perf_counter``, so
interpreter start-up is left out. Two figures come out per module:

* ``difference_ms``: median time of ``import airflow.sdk; import X`` minus median time of
  ``import airflow.sdk``, each median over its own processes;
* ``paired_difference_ms``: median over rounds of the same difference taken within one round, which
  cancels slow drifts of the machine's load;
* ``marginal_ms``: median, over the same processes, of the time ``import X`` took right after
  ``import airflow.sdk``. It measures the same cost without the baseline's noise.

Bytecode is cached under ``bench/.pycache`` (``PYTHONPYCACHEPREFIX``) and warmed before timing, so no
sample compiles source, as on a deployment where pip compiled the installed packages.
"""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass
from typing import Any

from common import BENCH_DIR, clean_env, summarize

BASELINE = "airflow.sdk"
OURS = "airflow_provider_looker_trigger.operators.looker"
GOOGLE = "airflow.providers.google.cloud.operators.looker"
LOOKER_SDK = "looker_sdk"

PYCACHE = BENCH_DIR / ".pycache"

_SAMPLE = """
import json, sys, time
started = time.perf_counter()
import airflow.sdk
baseline_done = time.perf_counter()
module = sys.argv[1] if len(sys.argv) > 1 else None
if module:
    __import__(module)
finished = time.perf_counter()
print(json.dumps({"total": finished - started, "marginal": finished - baseline_done}))
"""


@dataclass(frozen=True)
class Variant:
    """One module to time in one Python environment; ``module`` None is the baseline."""

    label: str
    environment: str
    python: str
    module: str | None


def _sample(variant: Variant, env: dict[str, str]) -> dict[str, float]:
    command = [variant.python, "-c", _SAMPLE] + ([variant.module] if variant.module else [])
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"importing {variant.module or BASELINE} with {variant.python} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(
    environments: dict[str, str], modules: dict[str, list[tuple[str, str]]], reps: int, *, warmup_rounds: int = 2
) -> dict[str, Any]:
    """Time each module of ``modules[environment]`` against that environment's baseline.

    ``environments`` maps an environment name to its Python; ``modules`` maps it to (label, module)
    pairs. Samples of all variants are interleaved in a shuffled order each round, so a slow spell of
    the machine affects every variant alike.
    """
    env = clean_env({"PYTHONPYCACHEPREFIX": str(PYCACHE)})
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    variants: list[Variant] = []
    for name, python in environments.items():
        variants.append(Variant("baseline", name, python, None))
        variants.extend(Variant(label, name, python, module) for label, module in modules.get(name, []))

    # Untimed rounds write the bytecode cache; a second one also confirms it.
    for _ in range(warmup_rounds):
        for variant in variants:
            _sample(variant, env)

    samples: dict[Variant, list[dict[str, float]]] = {variant: [] for variant in variants}
    order = list(variants)
    rng = random.Random(20260101)
    for _ in range(reps):
        rng.shuffle(order)
        for variant in order:
            samples[variant].append(_sample(variant, env))

    results: dict[str, Any] = {"reps": reps, "environments": environments, "modules": []}
    for name in environments:
        baseline = next(v for v in variants if v.environment == name and v.module is None)
        baseline_totals = [sample["total"] * 1000 for sample in samples[baseline]]
        results.setdefault("baseline", {})[name] = summarize(baseline_totals)
        for variant in variants:
            if variant.environment != name or variant.module is None:
                continue
            totals = [sample["total"] * 1000 for sample in samples[variant]]
            paired = [total - base for total, base in zip(totals, baseline_totals)]
            marginals = [sample["marginal"] * 1000 for sample in samples[variant]]
            total = summarize(totals)
            results["modules"].append(
                {
                    "label": variant.label,
                    "module": variant.module,
                    "environment": name,
                    "total_ms": total,
                    "marginal_ms": summarize(marginals),
                    "difference_ms": total["median"] - results["baseline"][name]["median"],
                    "paired_difference_ms": summarize(paired),
                }
            )
    return results
