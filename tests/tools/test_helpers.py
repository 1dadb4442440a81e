"""Building blocks of the checkers: covers globs, Rust lexing, YAML reading, the record schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from lockstep_tools import globs, native_records, rust_source
from lockstep_tools.common import REPO_ROOT, FrontMatterError, load_yaml, split_front_matter


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("rust/lockstep-core/**", "rust/lockstep-core/src/lib.rs", True),
        ("rust/*", "rust/Cargo.toml", True),
        ("rust/*", "rust/lockstep-core/src/lib.rs", False),
        ("rust/**/*.rs", "rust/a/b/c.rs", True),
        ("rust/**/*.rs", "rust/c.rs", True),
        ("rust/**/*.rs", "rust/a/Cargo.toml", False),
        ("rust/lockstep-core", "rust/lockstep-core/src/lib.rs", True),
        ("rust/lockstep-core", "rust/lockstep-core-extra/src/lib.rs", False),
        ("rust/lockstep-core/", "rust/lockstep-core/Cargo.toml", True),
        ("rust/Cargo.[tl]o*", "rust/Cargo.lock", True),
        ("Cargo.toml", "rust/Cargo.toml", False),
        ("**/Cargo.toml", "rust/Cargo.toml", True),
        ("**", "anything/at/all", True),
    ],
)
def test_globs(pattern: str, path: str, expected: bool) -> None:
    assert globs.matches(pattern, path) is expected


def test_strip_keeps_lines_and_blanks_comments_and_literals() -> None:
    source = 'let a = "x\\"unsafe"; // unsafe\n/* outer /* unsafe */ still */ let b = \'"\';\nunsafe {}\n'
    stripped = rust_source.strip_comments_and_literals(source)
    assert stripped.count("\n") == source.count("\n")
    assert stripped.count("unsafe") == 1
    assert "let b =" in stripped


def test_unsafe_uses_and_safety_comments(tmp_path: Path) -> None:
    path = tmp_path / "x.rs"
    path.write_text(
        "fn a() {\n    // SAFETY: fine\n    unsafe {}\n    unsafe {} // SAFETY: inline\n    unsafe {}\n}\n"
    )
    uses = rust_source.unsafe_uses(path)
    assert [(u.line, u.justified) for u in uses] == [(3, True), (4, True), (5, False)]


def test_defines(tmp_path: Path) -> None:
    path = tmp_path / "lib.rs"
    path.write_text(
        "pub(crate) struct A;\npub async fn b() {}\nenum C {}\nconst unsafe fn d() {}\nmacro_rules! e { () => {} }\n"
    )
    for item in ("A", "b", "C", "d", "e"):
        assert rust_source.defines([path], item), item
    assert not rust_source.defines([path], "Ab")


def test_yaml_keeps_words_and_zero_padded_numbers_as_strings() -> None:
    data = load_yaml("a: no\nb: yes\nc: [0010, 0002, 0008]\nd: true\ne: 12\nf: 2026-01-01\n")
    assert data["a"] == "no" and data["b"] == "yes"
    assert data["c"] == ["0010", "0002", "0008"]
    assert data["d"] is True and data["e"] == 12
    assert str(data["f"]) == "2026-01-01"


@pytest.mark.parametrize(
    "text", ["no front matter\n", "---\na: 1\n", "---\n- a\n---\n", "---\na: [\n---\n"]
)
def test_front_matter_errors(text: str) -> None:
    with pytest.raises(FrontMatterError):
        split_front_matter(text)


def test_native_record_schema_follows_the_contract_conventions() -> None:
    path = REPO_ROOT / native_records.SCHEMA_REL
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://lockstep.dev/schemas/native-record/v1.json"
    assert schema["additionalProperties"] is False
    assert schema["title"].strip() and len(schema["description"]) > 40
    assert schema["properties"]["measurement_baseline"]["additionalProperties"] is False
    assert set(schema["required"]) <= set(schema["properties"])
