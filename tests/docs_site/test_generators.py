"""The site generators (tools/docs/lockstep_docgen), tested as plain Python without mkdocs.

Each generated page claims to restate a source faithfully; these tests hold
the generators to it: every schema field, enum value and bound shows up,
examples validate, the diagram has one edge per transition pair, links are
retargeted only to pages that exist, and the benchmark page renders whatever
result files look like (hypothesis generates them).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lockstep_docgen import benchmarks, cli_ref, examples, governance, lifecycle, outputs, site
from lockstep_docgen.markdown import cell, fenced
from lockstep_docgen.schemas import SCHEMA_DIR_REL, Renderer, SchemaSet, anchor

from lockstep.contracts.schemas import SCHEMA_NAMES

REPO_ROOT = Path(__file__).resolve().parents[2]
TRANSITIONS = REPO_ROOT / site.TRANSITIONS_REL


@pytest.fixture(scope="module")
def schema_set() -> SchemaSet:
    return SchemaSet.load(REPO_ROOT / SCHEMA_DIR_REL, SCHEMA_NAMES)


def _walk_enums(node: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "enum" and isinstance(value, list):
                found += value
            else:
                found += _walk_enums(value)
    elif isinstance(node, list):
        for item in node:
            found += _walk_enums(item)
    return found


def test_every_schema_file_gets_a_page(schema_set: SchemaSet) -> None:
    on_disk = {
        p.name.removesuffix(".schema.json") for p in (REPO_ROOT / SCHEMA_DIR_REL).glob("*.json")
    }
    assert set(schema_set.schemas) == on_disk
    assert list(schema_set.schemas)[: len(SCHEMA_NAMES)] == list(SCHEMA_NAMES)


def test_schema_pages_show_every_field_enum_value_and_definition(schema_set: SchemaSet) -> None:
    renderer = Renderer(schema_set)
    for name, schema in schema_set.schemas.items():
        page = renderer.page(name, None)
        assert f"# {schema['title']}" in page
        for field in schema.get("properties", {}):
            assert f"| `{field}` |" in page, (name, field)
        for definition in schema.get("$defs", {}):
            assert f"{{#{anchor(definition)}}}" in page, (name, definition)
        for value in _walk_enums(schema):
            assert json.dumps(value) in page, (name, value)


def test_bounds_are_shown_with_their_names(schema_set: SchemaSet) -> None:
    page = Renderer(schema_set).page("common", None)
    section = page.split("{#money}", 1)[1].split("### ", 1)[0]
    assert "`-170141183460469231731687303715884105728` (-2^127, i128 min)" in section
    assert "`170141183460469231731687303715884105727` (2^127 - 1, i128 max)" in section


def test_links_point_at_existing_sections(schema_set: SchemaSet) -> None:
    renderer = Renderer(schema_set)
    pages = {name: renderer.page(name, None) for name in schema_set.schemas}
    for name, page in pages.items():
        for target_page, fragment in re.findall(r"\]\(([a-z_]*\.md)?#([a-z0-9-]+)\)", page):
            other = pages[target_page.removesuffix(".md")] if target_page else page
            assert f"{{#{fragment}}}" in other, (name, target_page, fragment)


def test_examples_come_from_contract_files_and_validate() -> None:
    found = examples.find_examples(REPO_ROOT, [*SCHEMA_NAMES, "native_record"])
    assert found["common"] is None  # definitions only
    for name, example in found.items():
        if name == "common":
            continue
        assert example is not None, name
        assert examples.validation_errors(name, example.value, REPO_ROOT / SCHEMA_DIR_REL) == []
    trace = found["trace_record"]
    assert trace is not None and trace.value["fills"], "the trace example should show a fill"


def test_an_invalid_example_is_reported_not_shown(tmp_path: Path) -> None:
    errors = examples.validation_errors("setup", {"not": "a setup"}, REPO_ROOT / SCHEMA_DIR_REL)
    assert errors


def test_lifecycle_dot_has_one_edge_per_state_pair_with_every_trigger() -> None:
    table = json.loads(TRANSITIONS.read_text(encoding="utf-8"))
    source = lifecycle.dot_source(table)
    edges = re.findall(r'^  "([a-z_]+)" -> "([a-z_]+)" \[label="([^"]*)"', source, re.MULTILINE)
    pairs = {(row["from"], row["to"]) for row in table["transitions"]}
    assert {(a, b) for a, b, _ in edges} == pairs
    assert len(edges) == len(pairs)
    for row in table["transitions"]:
        label = next(lab for a, b, lab in edges if (a, b) == (row["from"], row["to"]))
        expected = row["trigger"] + (f" [{row['guard']}]" if row.get("guard") else "")
        assert expected in label.split("\\n")
    for state in table["terminal_states"]:
        assert f'"{state}" [peripheries=2' in source


def test_lifecycle_svg_is_inline_and_scalable() -> None:
    table = json.loads(TRANSITIONS.read_text(encoding="utf-8"))
    svg = lifecycle.render_svg(lifecycle.dot_source(table))
    assert svg.startswith("<svg ") and "<?xml" not in svg and "<!DOCTYPE" not in svg
    assert 'viewBox="' in svg and "width:100%" in svg
    assert svg.count('class="node"') == len(table["states"]) + 1


def test_missing_dot_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(lifecycle.DiagramError, match="install Graphviz"):
        lifecycle.render_svg("digraph {}", dot=str(tmp_path / "no-such-dot"))


def test_reference_page_mermaid_is_swapped_for_the_svg_placeholder() -> None:
    page = (REPO_ROOT / "docs/reference/order_lifecycle.md").read_text(encoding="utf-8")
    swapped = site.swap_mermaid_lifecycle(page)
    assert "```mermaid" not in swapped
    assert f'<div data-lockstep-diagram="{site.LIFECYCLE_DIAGRAM}"></div>' in swapped
    diagram = site.Diagram(svg="<svg>drawn</svg>", caption="cap", file="assets/diagrams/x.svg")
    html, unknown = site.diagram_html(
        '<p>x</p><div data-lockstep-diagram="order-lifecycle"></div>'
        '<div data-lockstep-diagram="nope"></div>',
        {"order-lifecycle": diagram},
        href=lambda path: "../../" + path,
    )
    assert '<figure class="lockstep-diagram">' in html and "<svg>drawn</svg>" in html
    assert 'href="../../assets/diagrams/x.svg"' in html
    assert unknown == ["nope"]


def test_nav_gets_generated_children_and_drops_unwritten_guides() -> None:
    nav = [
        {"Guides": [{"Written": "guides/strategies.md"}, {"Later": "guides/cli.md"}]},
        {"Schemas": ["reference/schemas/index.md"]},
    ]
    children = {"reference/schemas/index.md": [{"setup": "reference/schemas/setup.md"}]}
    expanded = site.expand_nav(nav, children, exists=lambda rel: rel != "guides/cli.md")
    assert expanded == [
        {"Guides": [{"Written": "guides/strategies.md"}]},
        {"Schemas": ["reference/schemas/index.md", {"setup": "reference/schemas/setup.md"}]},
    ]
    kept = site.expand_nav(nav, {}, exists=lambda rel: True)
    assert kept[0]["Guides"][1] == {"Later": "guides/cli.md"}
    # A typo outside the pending guides is not hidden: mkdocs --strict reports it.
    typo = [{"Oops": "guides/strateggies.md"}]
    assert site.expand_nav(typo, {}, exists=lambda rel: False) == typo


@pytest.mark.parametrize(
    ("target", "page", "expected"),
    [
        (
            "0002-native-code-boundaries.md",
            "governance/adr/index.md",
            "[x](0002-native-code-boundaries.md)",
        ),
        (
            "../docs/reference/core_model.md#1-numbers",
            "governance/adr/0005-x.md",
            "[x](../../reference/core_model.md#1-numbers)",
        ),
        ("../CONTRIBUTING.md", "governance/adr/index.md", "[x](../contributing.md)"),
        ("template.md", "governance/adr/index.md", "x (`adr/template.md`)"),
        ("https://example.org/a", "governance/adr/index.md", "[x](https://example.org/a)"),
        ("#context", "governance/adr/index.md", "[x](#context)"),
    ],
)
def test_repository_links_are_retargeted_for_the_site(
    target: str, page: str, expected: str
) -> None:
    assert (
        governance.rewrite_links(f"see [x]({target}).", "adr/README.md", page) == f"see {expected}."
    )


def test_adr_pages_cover_every_adr_with_its_status() -> None:
    pages = {p.path: p.markdown for p in governance.adr_pages(REPO_ROOT)}
    adr_files = sorted(p.name for p in (REPO_ROOT / "adr").glob("[0-9][0-9][0-9][0-9]-*.md"))
    assert sorted(p.rsplit("/", 1)[1] for p in pages if not p.endswith("index.md")) == adr_files
    index = pages[f"{governance.ADR_DIR}/index.md"]
    assert "BEGIN GENERATED" not in index
    for name in adr_files:
        assert f"]({name})" in index


def test_native_record_index_has_a_verdict_per_record() -> None:
    pages = governance.record_pages(REPO_ROOT)
    records = sorted((REPO_ROOT / "changes/native").glob("[0-9]*.md"))
    index = pages[0].markdown
    for record in records:
        row = next(line for line in index.splitlines() if f"]({record.name})" in line)
        assert row.rstrip(" |").endswith(("valid", "problem(s))"))
    assert len(pages) == len(records) + 1


def test_lanes_are_read_from_the_noxfile(tmp_path: Path) -> None:
    noxfile = tmp_path / "noxfile.py"
    noxfile.write_text(
        "import nox\n"
        "nox.options.sessions = ['a']\n"
        "@nox.session(python='3.11')\n"
        "def a(session):\n    '''First lane.\n\n    More.'''\n"
        "@nox.session(name='b-lane')\n"
        "def b(session):\n    '''Second.'''\n"
        "def helper():\n    pass\n",
        encoding="utf-8",
    )
    lanes = governance.read_lanes(noxfile)
    assert [(lane.name, lane.default) for lane in lanes] == [("a", True), ("b-lane", False)]
    real = {lane.name for lane in governance.read_lanes(REPO_ROOT / "noxfile.py")}
    assert {"tests", "lint", "governance", "docs"} <= real


def test_cli_reference_has_every_subcommand() -> None:
    from lockstep.runtime.cli import build_parser

    page = cli_ref.render(build_parser)
    progs = [parser.prog for parser, _ in cli_ref.walk(build_parser())]
    assert "lockstep replay verify" in progs and "lockstep backtest" in progs
    for prog in progs:
        assert f"## `{prog}`" in page
    assert "usage: lockstep backtest" in page


def test_benchmarks_page_says_so_when_there_are_no_results(tmp_path: Path) -> None:
    page = benchmarks.render(tmp_path)
    assert "No benchmark results yet" in page


def test_benchmarks_page_renders_a_result_file(tmp_path: Path) -> None:
    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    (results / "replay.json").write_text(
        json.dumps(
            {
                "benchmark": "replay of 1,000,000 events",
                "machine": {"cpu": "test cpu", "cores": 2},
                "date": "2026-11-23",
                "baseline": {"name": "python backend at main", "events_per_s": 1000},
                "ratio_metric": "events_per_s / python events_per_s",
                "results": [
                    {"backend": "python", "events_per_s": 1000, "ratio": 1.0},
                    {"backend": "rust", "events_per_s": 35000, "ratio": 35.0},
                ],
            }
        ),
        encoding="utf-8",
    )
    (results / "broken.json").write_text("{not json", encoding="utf-8")
    page = benchmarks.render(tmp_path)
    assert "## replay of 1,000,000 events" in page
    assert "**Baseline:** python backend at main" in page
    assert "| `backend` | `events_per_s` | `ratio` |" in page
    assert "| rust | 35,000 | 35 |" in page
    assert "- **ratio_metric**: events_per_s / python events_per_s" in page
    assert "<svg" in page and "35x" in page
    assert "`benchmarks/results/broken.json`: not readable JSON" in page


def test_benchmarks_page_renders_a_peer_result_with_chosen_columns(tmp_path: Path) -> None:
    """Peer files: rows labelled by engine, the table limited to ``table_columns``, notes nested."""
    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    rows = [
        {"engine": "backtrader", "agrees": True, "bars_per_s": 1000, "ratio": 1.0, "runs": 3},
        {"engine": "lockstep-rust", "agrees": True, "bars_per_s": 2500, "ratio": 2.5, "runs": 3},
        {"engine": "wrong", "agrees": False, "differs": {"trades": {"got": [3], "expected": 4}}},
    ]
    document = {
        "benchmark": "peers 1a sma",
        "machine": {"cpu": "test cpu"},
        "date": "2026-12-07",
        "baseline": {"name": "backtrader", "bars_per_s": 1000},
        "engine_notes": {"backtrader": "GenericCSVData", "lockstep-rust": "no store"},
        "table_columns": ["engine", "agrees", "bars_per_s", "differs", "ratio", "absent"],
        "results": rows,
    }
    (results / "peers_1a_sma.json").write_text(json.dumps(document), encoding="utf-8")
    page = benchmarks.render(tmp_path)
    assert "| `engine` | `agrees` | `bars_per_s` | `differs` | `ratio` |" in page
    assert "`runs`" not in page and "`absent`" not in page
    assert "| lockstep-rust | `true` | 2,500 | — | 2.5 |" in page
    assert "- **engine_notes**:\n    - **backtrader**: GenericCSVData" in page
    assert "2.5x" in page and ">wrong<" not in page  # a disagreeing engine is not charted


_values = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=12),
    st.none(),
    st.booleans(),
)


def _cells(line: str) -> list[str]:
    return re.split(r"(?<!\\)\|", line)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.dictionaries(
            st.sampled_from(["backend", "metric_a", "metric b", "ratio", "note|pipe"]),
            _values,
            max_size=5,
        ),
        max_size=6,
    ),
    machine=st.one_of(
        st.text(max_size=20), st.dictionaries(st.text(max_size=8), _values, max_size=3)
    ),
)
def test_benchmarks_page_renders_any_rows(
    tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, Any]], machine: Any
) -> None:
    root = tmp_path_factory.mktemp("bench")
    (root / "benchmarks" / "results").mkdir(parents=True)
    document = {"benchmark": "x", "machine": machine, "date": "d", "baseline": "b", "results": rows}
    (root / "benchmarks" / "results" / "x.json").write_text(json.dumps(document), encoding="utf-8")
    page = benchmarks.render(root)
    table_lines = [line for line in page.splitlines() if line.startswith("| `")]
    if any(rows):
        # One table: header, rule, one line per row, every line with the header's cell count.
        start = page.splitlines().index(table_lines[0])
        body = page.splitlines()[start : start + len(rows) + 2]
        assert all(len(_cells(line)) == len(_cells(body[0])) for line in body)
        for row in rows:
            if isinstance(row.get("backend"), str) and row["backend"].strip():
                assert cell(row["backend"]) in page
    else:
        assert table_lines == []


@given(st.text())
def test_cells_never_contain_a_bare_pipe_or_newline(text: str) -> None:
    escaped = cell(text)
    assert "\n" not in escaped
    assert re.search(r"(?<!\\)\|", escaped) is None


@given(st.text())
def test_fenced_blocks_cannot_be_closed_early(text: str) -> None:
    lines = fenced(text, "text")
    fence = lines[-1]
    assert set(fence) == {"`"} and len(fence) >= 3
    assert all(not line.startswith(fence) for line in lines[1:-1])


def test_quick_start_outputs_are_real_command_output() -> None:
    captured = outputs.capture_all()
    assert "OK - " in captured["lockstep-demo"] and "runs/demo/run.db" in captured["lockstep-demo"]
    assert re.search(
        r"^\d+/\d+ golden cases reproduced byte for byte$", captured["core-demo"], re.M
    )
    filled, unknown = outputs.fill(
        "a\n<!-- lockstep:output core-demo -->\n<!-- lockstep:output nope -->\n", captured
    )
    assert "golden cases reproduced" in filled and unknown == ["nope"]


def test_strategy_guide_example_runs_as_written() -> None:
    """The complete strategy in guides/strategies.md is executed on the bundled daily data."""
    from lockstep.adapters import load_dataset, setup_for
    from lockstep.runtime import run_backtest

    guide = (REPO_ROOT / "docs/guides/strategies.md").read_text(encoding="utf-8")
    block = next(
        b for b in re.findall(r"```python\n(.*?)```", guide, re.S) if "class DipBuyer" in b
    )
    namespace: dict[str, Any] = {"__name__": "dip_buyer_example"}
    exec(compile(block, "docs/guides/strategies.md", "exec"), namespace)
    data = load_dataset("daily")
    result = run_backtest(namespace["DipBuyer"](), data, setup_for(data, cash="100000"))
    assert result.rejected_intents == 0
    assert result.metrics.trades > 0


def test_strategy_guide_signal_pair_trades_the_same() -> None:
    """The guide's SMA crossover written for every bar and on signals: the same run."""
    from lockstep.adapters import load_dataset, setup_for
    from lockstep.runtime import run_backtest

    guide = (REPO_ROOT / "docs/guides/strategies.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    namespace: dict[str, Any] = {"__name__": "signal_pair_example"}
    for name in ("EveryBarCross", "SignalCross"):
        block = next(b for b in blocks if f"class {name}" in b)
        exec(compile(block, "docs/guides/strategies.md", "exec"), namespace)
    data = load_dataset("daily")
    setup = setup_for(data, cash="100000")
    every_bar, on_signals = (
        run_backtest(namespace[name]("s"), data, setup) for name in ("EveryBarCross", "SignalCross")
    )
    assert every_bar.metrics.trades > 0
    assert every_bar.trades == on_signals.trades
    assert every_bar.final_state_hash == on_signals.final_state_hash
