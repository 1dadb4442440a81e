"""Helpers for tests/tools: throw-away repositories with ADRs, records and a crate.

The governance checkers take a ``root`` argument, so every rule can be
exercised in a small repository built under ``tmp_path`` (a git repository
when the diff rule is under test) instead of in the real one.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

BASELINE = "python backend at main"

GOOD_RECORD: dict[str, Any] = {
    "integration_shape": "engine",
    "user_visible_behaviour": "build_core(setup, backend='rust') runs the same core natively.",
    "boundary": "plan/batch/state",
    "crossing_frequency": "per batch",
    "user_python_in_hot_loop": "no",
    "measurement_baseline": {
        "result": "benchmarks/results/replay.json",
        "baseline": BASELINE,
        "summary": "replay of 1M events 40x faster; one crossing per batch",
    },
    "interpreter_behaviour": "apply_many releases the interpreter while the batch runs",
    "semantic_comparison": "identity",
    "fallback_behaviour": "none",
    "capability_check": "not applicable: the engine supports every input the Python core does",
    "protocol_version": None,
    "python_only_preserved": "yes",
    "packaging_impact": "same package native artifact",
    "unsafe_rust": "none",
    "covers": ["rust/lockstep-core/**"],
    "adrs": ["0001"],
}

ADR_TEXT = """---
number: {number}
title: {title}
status: {status}
date: 2026-01-01
supersedes: {supersedes}
superseded_by: {superseded_by}
---

# ADR {number:04d}: {title}

## Context

Why.

## Decision

What.

## Consequences

So what.

## Alternatives considered

Others.
"""

README_TEXT = """# ADRs

<!-- BEGIN GENERATED: adr-index -->
<!-- END GENERATED: adr-index -->
"""


def good_record(**changes: Any) -> dict[str, Any]:
    """A deep copy of :data:`GOOD_RECORD` with some top-level keys replaced."""
    record = copy.deepcopy(GOOD_RECORD)
    record.update(changes)
    return record


class Repo:
    """A small repository on disk; ``git_init`` makes it a git repository too."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # ------------------------------------------------------------- files
    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def adr(
        self,
        number: int,
        title: str = "A decision",
        status: str = "accepted",
        supersedes: Iterable[int] = (),
        superseded_by: Iterable[int] = (),
        slug: str = "decision",
    ) -> Path:
        text = ADR_TEXT.format(
            number=number,
            title=title,
            status=status,
            supersedes=list(supersedes),
            superseded_by=list(superseded_by),
        )
        return self.write(f"adr/{number:04d}-{slug}.md", text)

    def record(
        self, number: int, meta: dict[str, Any], slug: str = "change", body: str = ""
    ) -> Path:
        front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
        return self.write(
            f"changes/native/{number:04d}-{slug}.md", f"---\n{front}---\n\n# Record\n{body}"
        )

    def reindex(self) -> None:
        from lockstep_tools import adr_lint

        adr_lint.write_index(self.root)

    # --------------------------------------------------------------- git
    def git(self, *args: str) -> str:
        result = subprocess.run(
            [
                "git",
                "-c",
                "user.name=Test",
                "-c",
                "user.email=test@example.invalid",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
                "-C",
                str(self.root),
                *args,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    def git_init(self) -> None:
        self.git("init", "-q")

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()


def make_repo(root: Path) -> Repo:
    """ADRs 0001 (accepted), 0002 (accepted), 0003 (proposed), 0004 (rejected), a crate and a benchmark."""
    repo = Repo(root)
    repo.write("adr/README.md", README_TEXT)
    repo.write("adr/template.md", "not an ADR: exempt from the rules\n")
    repo.adr(1, "Native boundaries", slug="native-boundaries")
    repo.adr(2, "Callback bridge", slug="callback-bridge")
    repo.adr(3, "Still open", status="proposed", slug="still-open")
    repo.adr(4, "Declined", status="rejected", slug="declined")
    repo.reindex()
    repo.write("rust/lockstep-core/Cargo.toml", '[package]\nname = "lockstep-core"\n')
    repo.write(
        "rust/lockstep-core/src/lib.rs",
        "//! Core.\n\npub struct Core;\n\npub fn build() -> Core {\n    Core\n}\n",
    )
    repo.write(
        "benchmarks/results/replay.json", json.dumps({"baseline": BASELINE, "events_per_s": 1})
    )
    return repo
