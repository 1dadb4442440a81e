"""Golden-case discovery and strict reading; every bundled case matches the schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from contract_examples import load_example

from lockstep.contracts import (
    GoldenFormatError,
    golden_root,
    list_cases,
    load_case,
    read_json,
    read_jsonl,
)


def test_golden_root_is_the_packaged_directory() -> None:
    root = golden_root()
    assert root.is_dir()
    assert root.parts[-3:] == ("contracts", "data", "golden")
    readme = (root / "README.md").read_text()
    assert "nox -s golden -- --update" in readme
    for name in ("setup.json", "input.jsonl", "expected_trace.jsonl", "expected_state.json"):
        assert name in readme


def test_list_cases_is_sorted_and_only_lists_cases() -> None:
    cases = list_cases()
    assert cases == sorted(cases)
    for name in cases:
        assert (golden_root() / name / "setup.json").is_file()


def test_every_bundled_case_is_complete_and_schema_valid() -> None:
    # Runs over whatever cases exist; each must carry its expected files.
    problems: dict[str, list[str]] = {}
    for name in list_cases():
        case = load_case(name)
        assert case.name == name
        assert case.inputs, f"{name}: empty input.jsonl"
        missing = [
            f
            for f, v in (("trace", case.expected_trace), ("state", case.expected_state))
            if v is None
        ]
        found = case.schema_violations() + [f"missing expected {m}" for m in missing]
        if found:
            problems[name] = found
    assert problems == {}


def make_case(root: Path, *, trace: bool = True, state: bool = True) -> Path:
    case = root / "my_case"
    case.mkdir()
    (case / "setup.json").write_text(json.dumps(load_example("setup/minimal")))
    items = [load_example("envelope/bar"), load_example("intent_batch/batch")]
    (case / "input.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    if trace:
        records = [
            load_example("trace_record/place_order"),
            load_example("trace_record/generated_fill"),
        ]
        (case / "expected_trace.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    if state:
        (case / "expected_state.json").write_text(
            json.dumps(load_example("state/snapshot"), indent=2)
        )
    return case


def test_load_case_from_a_path(tmp_path: Path) -> None:
    path = make_case(tmp_path)
    case = load_case(path)
    assert case.name == "my_case" and case.path == path
    assert case.setup == load_example("setup/minimal")
    assert [i["kind"] for i in case.inputs] == ["event", "intent_batch"]
    assert case.expected_trace is not None and len(case.expected_trace) == 2
    assert case.expected_state == load_example("state/snapshot")
    assert case.schema_violations() == []
    assert load_case(str(path)) == case


def test_expected_files_are_optional(tmp_path: Path) -> None:
    case = load_case(make_case(tmp_path, trace=False, state=False))
    assert case.expected_trace is None
    assert case.expected_state is None


def test_schema_violations_name_file_and_line(tmp_path: Path) -> None:
    path = make_case(tmp_path)
    bad = load_example("envelope/trade")
    bad["payload"]["price"] = 1.5
    with (path / "input.jsonl").open("a") as fh:
        fh.write(json.dumps(bad) + "\n")
    assert load_case(path).schema_violations() == [
        "input.jsonl:3: input_item: $.payload.price: 1.5 is not of type 'integer'"
    ]


def test_missing_case_or_required_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_case(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match=r"setup\.json"):
        load_case(tmp_path)
    path = make_case(tmp_path)
    (path / "input.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match=r"input\.jsonl"):
        load_case(path)


def test_read_jsonl_skips_blank_lines_and_keeps_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n   \n{"b": 2}\n')
    assert read_jsonl(path) == [{"a": 1}, {"b": 2}]
    path.write_text('{"a": 1}\n\n{"b": \n')
    with pytest.raises(GoldenFormatError) as info:
        read_jsonl(path)
    assert info.value.line == 3
    assert info.value.path == path
    assert str(info.value).startswith(f"{path}:3: invalid JSON")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("[1, 2]", "expected a JSON object, got list"),
        ('"text"', "expected a JSON object, got str"),
        ('{"a": NaN}', "NaN is not valid JSON"),
        ('{"a": -Infinity}', "-Infinity is not valid JSON"),
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
        ("{'a': 1}", "invalid JSON"),
    ],
)
def test_read_jsonl_rejects_non_objects_and_non_json(
    tmp_path: Path, line: str, reason: str
) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"ok": true}\n' + line + "\n")
    with pytest.raises(GoldenFormatError, match=rf"x\.jsonl:2: .*{re.escape(reason)}"):
        read_jsonl(path)


def test_read_jsonl_rejects_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": "\xff"}\n')
    with pytest.raises(GoldenFormatError, match=r"x\.jsonl:2: not UTF-8"):
        read_jsonl(path)


def test_read_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "setup.json"
    path.write_text('{\n  "a": 1,\n  "b": \n}\n')
    with pytest.raises(GoldenFormatError) as info:
        read_json(path)
    assert info.value.line == 4
    path.write_text("[]")
    with pytest.raises(GoldenFormatError, match="expected a JSON object"):
        read_json(path)
    assert isinstance(info.value, ValueError)
