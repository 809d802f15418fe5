"""The documentation's code snippets match the example DAGs, and the example DAGs load.

A snippet in ``docs/*.md`` is an HTML comment ``<!-- snippet: <example file> <marker> -->`` followed by
a fenced Python block. The block must equal the lines between ``# [START <marker>]`` and
``# [END <marker>]`` in that file, with their common indentation removed (``textwrap.dedent``), byte
for byte otherwise.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest
from airflow_compat import dag_bag

import airflow_provider_looker_trigger

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
EXAMPLES = ROOT / "example_dags"

SNIPPET = re.compile(r"<!-- snippet: (?P<path>\S+) (?P<marker>\S+) -->\n```python\n(?P<code>.*?)```", re.S)
PYTHON_BLOCK = re.compile(r"```python\n(?P<code>.*?)```", re.S)


def _snippets() -> list:
    found = []
    for doc in DOCS:
        for match in SNIPPET.finditer(doc.read_text()):
            found.append(pytest.param(doc, match["path"], match["marker"], match["code"], id=f"{doc.name}:{match['marker']}"))
    return found


def _region(path: Path, marker: str) -> str:
    lines = path.read_text().splitlines(keepends=True)
    starts = [index for index, line in enumerate(lines) if line.strip() == f"# [START {marker}]"]
    ends = [index for index, line in enumerate(lines) if line.strip() == f"# [END {marker}]"]
    assert len(starts) == 1, f"{path.name} has {len(starts)} '# [START {marker}]' lines"
    assert len(ends) == 1, f"{path.name} has {len(ends)} '# [END {marker}]' lines"
    assert starts[0] < ends[0], f"{path.name}: '# [END {marker}]' comes before its START"
    return textwrap.dedent("".join(lines[starts[0] + 1 : ends[0]]))


SNIPPETS = _snippets()


def test_docs_have_snippets():
    assert len(SNIPPETS) >= 10


@pytest.mark.parametrize(("doc", "path", "marker", "code"), SNIPPETS)
def test_snippet_matches_example(doc, path, marker, code):
    example = ROOT / path

    assert example.is_file(), f"{doc.name} names {path}, which does not exist"
    assert code == _region(example, marker), f"{doc.name}: the snippet {marker} differs from {path}; copy it again"


@pytest.mark.parametrize("doc", DOCS, ids=[doc.name for doc in DOCS])
def test_python_blocks_parse(doc):
    for number, match in enumerate(PYTHON_BLOCK.finditer(doc.read_text()), start=1):
        try:
            ast.parse(match["code"])
        except SyntaxError as err:
            pytest.fail(f"{doc.name}: Python block {number} does not parse: {err}")


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.py")), ids=lambda path: path.name)
def test_markers_paired(example):
    text = example.read_text()
    starts = re.findall(r"# \[START (\S+)\]", text)
    ends = re.findall(r"# \[END (\S+)\]", text)

    assert sorted(starts) == sorted(ends)
    assert len(starts) == len(set(starts)), f"{example.name} repeats a START marker"


def test_examples_load_in_dagbag():
    bag = dag_bag(EXAMPLES)

    assert bag.import_errors == {}
    assert {"looker_after_load", "looker_asset_load_orders", "looker_asset_deliver"} <= set(bag.dag_ids)


def test_version_defined_once():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())

    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "airflow_provider_looker_trigger.__version__"}


def test_changelog_has_current_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()

    assert f"## {airflow_provider_looker_trigger.__version__} " in changelog


def update_snippets() -> list[str]:
    """Copy every snippet from its example DAG into the docs; return the names of the docs changed."""
    changed = []
    for doc in DOCS:
        text = doc.read_text()

        def copy(match: re.Match) -> str:
            code = _region(ROOT / match["path"], match["marker"])
            return f"<!-- snippet: {match['path']} {match['marker']} -->\n```python\n{code}```"

        updated = SNIPPET.sub(copy, text)
        if updated != text:
            doc.write_text(updated)
            changed.append(doc.name)
    return changed


if __name__ == "__main__":
    # python tests/test_docs_snippets.py copies the example DAGs' snippets into docs/*.md.
    print("Updated:", ", ".join(update_snippets()) or "nothing")
