"""``python -m lockstep.core``: exit codes and error messages users act on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lockstep.core.canonical import canonical_json
from testkit import SETUP, T0, bar, python_only_env


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lockstep.core", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def _case(tmp_path: Path, lines: list[str]) -> Path:
    (tmp_path / "setup.json").write_text(json.dumps(SETUP))
    (tmp_path / "input.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_trace_writes_canonical_records_and_prints_the_state_hash(tmp_path: Path) -> None:
    case = _case(tmp_path, [json.dumps(bar(T0, 100, 101, 99, 100))])
    out = tmp_path / "trace.jsonl"
    result = _cli("trace", str(case), "--out", str(out))
    assert result.returncode == 0, result.stderr
    (line,) = out.read_bytes().splitlines()
    record = json.loads(line)
    assert canonical_json(record) == line
    assert len(result.stdout.strip().splitlines()[-1]) == 64


def test_schema_invalid_input_exits_2_naming_file_line_and_field(tmp_path: Path) -> None:
    bad = bar(T0 + 1, 100, 101, 99, 100)
    bad["payload"]["volume"] = -5
    case = _case(tmp_path, [json.dumps(bar(T0, 100, 101, 99, 100)), json.dumps(bad)])
    result = _cli("trace", str(case))
    assert result.returncode == 2
    message = result.stderr.strip()
    assert message.count("\n") == 0
    assert f"{case / 'input.jsonl'}:2: $.payload.volume" in message


def test_broken_json_exits_2_with_the_line(tmp_path: Path) -> None:
    case = _case(tmp_path, ['{"kind": "event",'])
    result = _cli("trace", str(case))
    assert result.returncode == 2
    assert "input.jsonl:1: $: invalid JSON" in result.stderr


def test_missing_native_backend_exits_3(tmp_path: Path) -> None:
    case = _case(tmp_path, [json.dumps(bar(T0, 100, 101, 99, 100))])
    result = _cli("trace", str(case), "--backend", "rust", env=python_only_env(tmp_path))
    assert result.returncode == 3
    assert "NativeBackendUnavailable" not in result.stderr  # a message, not a traceback
    assert "lockstep_native" in result.stderr


def test_demo_reproduces_every_bundled_case() -> None:
    result = _cli("demo")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "golden cases reproduced byte for byte" in result.stdout
    assert "MISMATCH" not in result.stdout
