"""The generated part of docs/reference/order_lifecycle.md matches the contract."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT / "tools" / "gen_lifecycle_doc.py"
DOC = REPO_ROOT / "docs" / "reference" / "order_lifecycle.md"
BEGIN = "<!-- BEGIN GENERATED: transitions -->"


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_lifecycle_doc_is_up_to_date() -> None:
    result = run_tool("--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_fails_on_tampered_copy(tmp_path: Path) -> None:
    copy = tmp_path / "order_lifecycle.md"
    shutil.copyfile(DOC, copy)
    text = copy.read_text(encoding="utf-8")
    assert BEGIN in text
    # Drop one generated transition row, as a hand edit might.
    tampered = text.replace("| `cancel_pending` | `fill` | — | `cancel_pending` | yes |\n", "", 1)
    assert tampered != text
    copy.write_text(tampered, encoding="utf-8")

    result = run_tool("--check", "--doc", str(copy))
    assert result.returncode == 1
    assert "is stale; run: python tools/gen_lifecycle_doc.py" in result.stderr


def test_regenerating_a_tampered_copy_restores_it(tmp_path: Path) -> None:
    copy = tmp_path / "order_lifecycle.md"
    original = DOC.read_text(encoding="utf-8")
    copy.write_text(
        original.replace("stateDiagram-v2", "stateDiagram-v2\n    extra --> line", 1),
        encoding="utf-8",
    )

    assert run_tool("--doc", str(copy)).returncode == 0
    assert copy.read_text(encoding="utf-8") == original
    assert run_tool("--check", "--doc", str(copy)).returncode == 0


def test_missing_markers_is_an_error(tmp_path: Path) -> None:
    copy = tmp_path / "order_lifecycle.md"
    copy.write_text("# no markers here\n", encoding="utf-8")
    result = run_tool("--check", "--doc", str(copy))
    assert result.returncode == 2
    assert "markers" in result.stderr
