"""Fixtures for the governance tool tests (helpers live in tests/support/govkit.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from govkit import Repo, make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """A small valid repository: four ADRs with their index, a crate, a benchmark result."""
    return make_repo(tmp_path / "repo")
