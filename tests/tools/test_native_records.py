"""Native change records: schema and cross-field rules, each failing with file, field and fix."""

from __future__ import annotations

import json
from typing import Any

import pytest

from govkit import GOOD_RECORD, Repo, good_record
from lockstep_tools import native_records
from lockstep_tools.common import REPO_ROOT, Problem

RECORD = "changes/native/0001-change.md"


def problems(repo: Repo, meta: dict[str, Any]) -> list[Problem]:
    repo.record(1, meta)
    return native_records.check(repo.root, changed=None)


def fields(found: list[Problem]) -> list[str]:
    return [p.field for p in found]


def one(found: list[Problem], fld: str) -> Problem:
    matching = [p for p in found if p.field == fld]
    assert len(matching) == 1, found
    assert matching[0].file == RECORD
    return matching[0]


def test_records_of_this_repository_are_valid() -> None:
    assert native_records.check(REPO_ROOT, changed=None) == []


def test_good_record_passes(repo: Repo) -> None:
    assert problems(repo, good_record()) == []


# ------------------------------------------------------------------ schema


@pytest.mark.parametrize("key", sorted(GOOD_RECORD))
def test_every_field_is_required(repo: Repo, key: str) -> None:
    meta = good_record()
    del meta[key]
    problem = one(problems(repo, meta), key)
    assert "required" in problem.message


def test_schema_is_closed(repo: Repo) -> None:
    problem = one(problems(repo, good_record(owner="me")), "front matter")
    assert "owner" in problem.message and "remove" in problem.fix


def test_enum_fix_lists_the_choices(repo: Repo) -> None:
    problem = one(problems(repo, good_record(integration_shape="plugin")), "integration_shape")
    assert "'accelerator', 'engine', 'worker'" in problem.fix


def test_measurement_shape(repo: Repo) -> None:
    meta = good_record(
        measurement_baseline={"result": "results.json", "baseline": "x", "summary": "y"}
    )
    assert "measurement_baseline.result" in fields(problems(repo, meta))


def test_adr_numbers_must_be_four_digit_strings(repo: Repo) -> None:
    problem = one(problems(repo, good_record(adrs=[1])), "adrs.0")
    assert '"0002"' in problem.fix


def test_unquoted_yaml_words_stay_strings(repo: Repo) -> None:
    """`no`, `yes` and `0010` are what contributors type; they must not become bool/octal."""
    text = (REPO_ROOT / "tests/tools/data/unquoted_record.md").read_text()
    repo.write(RECORD, text)
    assert native_records.check(repo.root, changed=None) == []


def test_front_matter_required(repo: Repo) -> None:
    repo.write(RECORD, "# no front matter\n")
    assert fields(native_records.check(repo.root, changed=None)) == ["front matter"]


def test_record_file_names(repo: Repo) -> None:
    repo.record(1, good_record())
    repo.record(1, good_record(), slug="other")
    repo.write("changes/native/Bad Name.md", (repo.root / RECORD).read_text())
    found = native_records.check(repo.root, changed=None)
    assert sorted(p.message.split(" ")[0] for p in found if p.field == "file name") == [
        "number",
        "records",
    ]


# ------------------------------------------------------------- cross-field


@pytest.mark.parametrize(
    ("shape", "boundary", "frequency"),
    [
        ("accelerator", "callable", "per public call"),
        ("engine", "plan/batch/state", "per run"),
        ("engine", "plan/batch/state", "per operation"),
        ("engine", "plan/batch/state", "per plan"),
        ("engine", "plan/batch/state", "per batch"),
        ("engine", "plan/batch/state", "per flush"),
    ],
)
def test_shape_boundary_frequency_accepted(
    repo: Repo, shape: str, boundary: str, frequency: str
) -> None:
    meta = good_record(integration_shape=shape, boundary=boundary, crossing_frequency=frequency)
    assert problems(repo, meta) == []


@pytest.mark.parametrize(
    ("shape", "boundary"),
    [
        ("accelerator", "plan/batch/state"),
        ("engine", "callable"),
        ("engine", "message-passing"),
        ("worker", "callable"),
    ],
)
def test_shape_and_boundary_must_agree(repo: Repo, shape: str, boundary: str) -> None:
    frequency = native_records.SHAPE_FREQUENCIES[shape][0]
    meta = good_record(integration_shape=shape, boundary=boundary, crossing_frequency=frequency)
    problem = one(problems(repo, meta), "boundary")
    assert native_records.SHAPE_BOUNDARY[shape] in problem.fix


@pytest.mark.parametrize(
    ("shape", "frequency"),
    [
        ("accelerator", "per batch"),
        ("engine", "per public call"),
        ("engine", "per protocol message"),
        ("worker", "per run"),
    ],
)
def test_crossing_frequency_must_suit_the_shape(repo: Repo, shape: str, frequency: str) -> None:
    meta = good_record(
        integration_shape=shape,
        boundary=native_records.SHAPE_BOUNDARY[shape],
        crossing_frequency=frequency,
        protocol_version="1",
        protocol_adr="0001",
    )
    problem = one(problems(repo, meta), "crossing_frequency")
    assert frequency in problem.message and "per" in problem.fix


def test_bridged_needs_bridge_adr(repo: Repo) -> None:
    problem = one(problems(repo, good_record(user_python_in_hot_loop="bridged")), "bridge_adr")
    assert "bridged" in problem.message


@pytest.mark.parametrize(
    ("adr", "word"), [("0003", "proposed"), ("0004", "rejected"), ("0042", "does not exist")]
)
def test_bridge_adr_must_be_accepted(repo: Repo, adr: str, word: str) -> None:
    meta = good_record(user_python_in_hot_loop="bridged", bridge_adr=adr)
    assert word in one(problems(repo, meta), "bridge_adr").message


def test_bridged_with_accepted_adr_passes(repo: Repo) -> None:
    assert problems(repo, good_record(user_python_in_hot_loop="bridged", bridge_adr="0002")) == []


def test_bridge_adr_without_bridge(repo: Repo) -> None:
    assert "is 'no'" in one(problems(repo, good_record(bridge_adr="0002")), "bridge_adr").message


def worker(**changes: Any) -> dict[str, Any]:
    meta = good_record(
        integration_shape="worker",
        boundary="message-passing",
        crossing_frequency="per protocol message",
        semantic_comparison="protocol equivalence",
        packaging_impact="worker artifact",
        protocol_version="1",
        protocol_adr="0002",
    )
    meta.update(changes)
    return meta


def test_worker_passes(repo: Repo) -> None:
    assert problems(repo, worker()) == []


def test_worker_needs_protocol_version(repo: Repo) -> None:
    assert (
        "protocol version"
        in one(problems(repo, worker(protocol_version=None)), "protocol_version").message
    )


def test_worker_needs_protocol_adr(repo: Repo) -> None:
    meta = worker()
    del meta["protocol_adr"]
    assert "worker" in one(problems(repo, meta), "protocol_adr").message
    assert "proposed" in one(problems(repo, worker(protocol_adr="0003")), "protocol_adr").message


def test_protocol_equivalence_only_for_workers(repo: Repo) -> None:
    assert one(
        problems(repo, good_record(semantic_comparison="protocol equivalence")),
        "semantic_comparison",
    )


def test_documented_tolerance_needs_an_adr(repo: Repo) -> None:
    meta = good_record(semantic_comparison="documented tolerance")
    assert one(problems(repo, meta), "tolerance_adr")
    assert (
        problems(
            repo, good_record(semantic_comparison="documented tolerance", tolerance_adr="0002")
        )
        == []
    )


def test_python_only_not_preserved_needs_an_exemption(repo: Repo) -> None:
    assert one(problems(repo, good_record(python_only_preserved="no")), "exemption_adr")
    meta = good_record(python_only_preserved="no", exemption_adr="0004")
    assert "rejected" in one(problems(repo, meta), "exemption_adr").message
    assert problems(repo, good_record(python_only_preserved="no", exemption_adr="0001")) == []


def test_cited_adrs_must_exist_and_be_accepted(repo: Repo) -> None:
    found = problems(repo, good_record(adrs=["0001", "0003", "0077"]))
    assert sorted(p.message for p in found if p.field == "adrs") == [
        "ADR 0003 is proposed, not accepted",
        "ADR 0077 does not exist in adr/",
    ]


# ------------------------------------------------------------- measurement


def measurement(result: str, baseline: str = "python backend at main") -> dict[str, Any]:
    return good_record(
        measurement_baseline={"result": result, "baseline": baseline, "summary": "s"}
    )


def test_measurement_file_must_exist(repo: Repo) -> None:
    problem = one(
        problems(repo, measurement("benchmarks/results/missing.json")),
        "measurement_baseline.result",
    )
    assert "does not exist" in problem.message


def test_measurement_file_must_be_json(repo: Repo) -> None:
    repo.write("benchmarks/results/broken.json", "{not json")
    problem = one(
        problems(repo, measurement("benchmarks/results/broken.json")), "measurement_baseline.result"
    )
    assert "not valid JSON" in problem.message


def test_measurement_file_must_name_its_baseline(repo: Repo) -> None:
    repo.write("benchmarks/results/anon.json", json.dumps({"events_per_s": 3}))
    problem = one(
        problems(repo, measurement("benchmarks/results/anon.json")), "measurement_baseline.result"
    )
    assert "does not name its baseline" in problem.message


def test_measurement_baseline_must_agree(repo: Repo) -> None:
    problem = one(
        problems(repo, measurement("benchmarks/results/replay.json", "v0.1.0")),
        "measurement_baseline.baseline",
    )
    assert "v0.1.0" in problem.message


def test_measurement_baseline_as_object(repo: Repo) -> None:
    repo.write(
        "benchmarks/results/obj.json", json.dumps({"baseline": {"name": "v0.1.0", "commit": "abc"}})
    )
    assert problems(repo, measurement("benchmarks/results/obj.json", "v0.1.0")) == []


def test_not_yet_measured_allowed_without_binding(repo: Repo) -> None:
    assert problems(repo, measurement("not-yet-measured")) == []


@pytest.mark.parametrize(
    "covers",
    [["rust/lockstep-python/**"], ["rust/**"], ["rust"], ["rust/lockstep-python/src/lib.rs"]],
)
def test_not_yet_measured_refused_once_the_binding_is_covered(
    repo: Repo, covers: list[str]
) -> None:
    repo.write("rust/lockstep-python/src/lib.rs", "pub fn f() {}\n")
    meta = measurement("not-yet-measured")
    meta["covers"] = covers
    problem = one(problems(repo, meta), "measurement_baseline.result")
    assert "rust/lockstep-python" in problem.message and "benchmarks/results/" in problem.fix


# ------------------------------------------------------------------ unsafe


def test_unsafe_none_refuses_unsafe_code(repo: Repo) -> None:
    repo.write(
        "rust/lockstep-core/src/raw.rs", "pub fn f(p: *const u8) -> u8 {\n    unsafe { *p }\n}\n"
    )
    problem = one(problems(repo, good_record()), "unsafe_rust")
    assert "rust/lockstep-core/src/raw.rs:2" in problem.message


def test_unsafe_in_comments_and_strings_does_not_count(repo: Repo) -> None:
    repo.write(
        "rust/lockstep-core/src/doc.rs",
        '#![forbid(unsafe_code)]\n// no unsafe here\n/* unsafe { } */\npub const S: &str = "unsafe";\n'
        "pub const R: &str = r#\"unsafe\"#;\npub const C: char = 'u';\npub fn f<'a>(s: &'a str) -> &'a str {\n    s\n}\n",
    )
    assert problems(repo, good_record()) == []


def test_unsafe_outside_covers_is_not_this_records_business(repo: Repo) -> None:
    repo.write("rust/other/src/lib.rs", "pub fn f() { unsafe {} }\n")
    assert problems(repo, good_record()) == []


def test_audited_requires_safety_comments(repo: Repo) -> None:
    repo.write(
        "rust/lockstep-core/src/raw.rs",
        "pub fn f(p: *const u8) -> u8 {\n    // SAFETY: p comes from a live slice.\n    unsafe { *p }\n}\n\n"
        "pub fn g(p: *const u8) -> u8 {\n    unsafe { *p }\n}\n",
    )
    problem = one(problems(repo, good_record(unsafe_rust="audited")), "unsafe_rust")
    assert "raw.rs:7" in problem.message and "SAFETY" in problem.fix


def test_audited_with_every_use_justified_passes(repo: Repo) -> None:
    repo.write(
        "rust/lockstep-core/src/raw.rs",
        "// SAFETY: the caller guarantees p is valid;\n// see the module docs.\n#[inline]\n"
        "pub unsafe fn f(p: *const u8) -> u8 {\n    // SAFETY: same as above.\n    unsafe { *p }\n}\n",
    )
    assert problems(repo, good_record(unsafe_rust="audited")) == []


def test_audited_without_any_unsafe(repo: Repo) -> None:
    problem = one(problems(repo, good_record(unsafe_rust="audited")), "unsafe_rust")
    assert "'none'" in problem.fix


def test_message_format(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.git_init()
    repo.record(1, good_record(crossing_frequency="per public call"))
    assert native_records.main(["--root", str(repo.root), "check"]) == 1
    err = capsys.readouterr().err
    assert (
        f"{RECORD}: crossing_frequency: 'per public call' is not allowed for an engine. Fix: use 'per run'"
        in err
    )
