"""The ADR linter: every rule of adr/README.md fails with file, field and fix."""

from __future__ import annotations

import pytest

from govkit import ADR_TEXT, Repo
from lockstep_tools import adr_lint
from lockstep_tools.common import REPO_ROOT, Problem


def problems(repo: Repo) -> list[Problem]:
    return adr_lint.lint(repo.root)


def only(found: list[Problem], fld: str) -> Problem:
    matching = [p for p in found if p.field == fld]
    assert matching, found
    return matching[0]


def test_this_repository_passes() -> None:
    assert adr_lint.lint(REPO_ROOT) == []


def test_fixture_repository_passes(repo: Repo) -> None:
    assert problems(repo) == []
    assert adr_lint.main(["--root", str(repo.root), "check"]) == 0


def test_accepted_adrs_lists_only_accepted(repo: Repo) -> None:
    assert adr_lint.accepted_adrs(repo.root) == frozenset({"0001", "0002"})
    assert adr_lint.adr_statuses(repo.root)["0004"] == "rejected"


def test_template_and_readme_are_exempt(repo: Repo) -> None:
    names = [p.name for p in adr_lint.adr_files(repo.root)]
    assert "template.md" not in names and "README.md" not in names


def test_missing_front_matter(repo: Repo) -> None:
    repo.write("adr/0005-bare.md", "# ADR 0005: Bare\n")
    found = problems(repo)
    assert only(found, "front matter").file == "adr/0005-bare.md"


@pytest.mark.parametrize("key", adr_lint.REQUIRED_KEYS)
def test_missing_required_key(repo: Repo, key: str) -> None:
    text = repo.adr(5, slug="five").read_text()
    lines = [line for line in text.splitlines() if not line.startswith(f"{key}:")]
    repo.write("adr/0005-five.md", "\n".join(lines) + "\n")
    problem = only(problems(repo), key)
    assert "missing" in problem.message and "template" in problem.fix


def test_number_must_match_file_name(repo: Repo) -> None:
    text = ADR_TEXT.format(number=7, title="T", status="accepted", supersedes=[], superseded_by=[])
    repo.write("adr/0006-mismatch.md", text)
    problem = only(problems(repo), "number")
    assert "0006" in problem.message and problem.file == "adr/0006-mismatch.md"


def test_numbers_are_unique(repo: Repo) -> None:
    repo.adr(1, "Another one", slug="another-one")
    repo.reindex()
    problem = only(problems(repo), "number")
    assert "already used" in problem.message


def test_bad_file_name(repo: Repo) -> None:
    text = ADR_TEXT.format(number=5, title="T", status="accepted", supersedes=[], superseded_by=[])
    repo.write("adr/5-Bad_Name.md", text)
    assert only(problems(repo), "file name").file == "adr/5-Bad_Name.md"


def test_invalid_status(repo: Repo) -> None:
    repo.adr(5, status="approved", slug="five")
    problem = only(problems(repo), "status")
    assert "approved" in problem.message and "accepted" in problem.fix


def test_superseded_needs_superseded_by(repo: Repo) -> None:
    repo.adr(1, "Native boundaries", status="superseded", slug="native-boundaries")
    assert "superseded_by is empty" in only(problems(repo), "superseded_by").message


def test_superseded_by_needs_superseded_status(repo: Repo) -> None:
    repo.adr(1, "Native boundaries", superseded_by=[5], slug="native-boundaries")
    repo.adr(5, "New boundaries", supersedes=[1], slug="new-boundaries")
    repo.reindex()
    assert "status: superseded" in only(problems(repo), "status").fix


def test_supersede_links_both_ways_pass(repo: Repo) -> None:
    repo.adr(
        1, "Native boundaries", status="superseded", superseded_by=[5], slug="native-boundaries"
    )
    repo.adr(5, "New boundaries", supersedes=[1], slug="new-boundaries")
    repo.reindex()
    assert problems(repo) == []


def test_supersedes_without_back_link(repo: Repo) -> None:
    repo.adr(5, "New boundaries", supersedes=[1], slug="new-boundaries")
    repo.reindex()
    problem = only(problems(repo), "superseded_by")
    assert problem.file == "adr/0001-native-boundaries.md" and "5" in problem.fix


def test_superseded_by_without_forward_link(repo: Repo) -> None:
    repo.adr(
        1, "Native boundaries", status="superseded", superseded_by=[5], slug="native-boundaries"
    )
    repo.adr(5, "New boundaries", slug="new-boundaries")
    repo.reindex()
    problem = only(problems(repo), "supersedes")
    assert problem.file == "adr/0005-new-boundaries.md"


def test_supersede_link_to_missing_adr(repo: Repo) -> None:
    repo.adr(5, "New boundaries", supersedes=[9], slug="new-boundaries")
    repo.reindex()
    assert "does not exist" in only(problems(repo), "supersedes").message


def test_only_an_accepted_adr_supersedes(repo: Repo) -> None:
    repo.adr(
        1, "Native boundaries", status="superseded", superseded_by=[5], slug="native-boundaries"
    )
    repo.adr(5, "New boundaries", status="proposed", supersedes=[1], slug="new-boundaries")
    repo.reindex()
    assert "proposed" in only(problems(repo), "superseded_by").message


def test_required_sections(repo: Repo) -> None:
    path = repo.adr(5, slug="five")
    path.write_text(path.read_text().replace("## Alternatives considered", "## Options"))
    problem = only(problems(repo), "sections")
    assert "Alternatives considered" in problem.message


def test_sections_in_order(repo: Repo) -> None:
    path = repo.adr(5, slug="five")
    text = path.read_text().replace("## Context", "## TMP").replace("## Decision", "## Context")
    path.write_text(text.replace("## TMP", "## Decision"))
    assert "out of order" in only(problems(repo), "sections").message


def test_heading_matches_front_matter(repo: Repo) -> None:
    path = repo.adr(5, "Right title", slug="five")
    path.write_text(path.read_text().replace("# ADR 0005: Right title", "# ADR 0005: Wrong title"))
    repo.reindex()
    assert "# ADR 0005: Right title" in only(problems(repo), "heading").fix


def test_stale_index_names_the_command(repo: Repo) -> None:
    repo.adr(5, "New one", slug="new-one")
    problem = only(problems(repo), "adr-index")
    assert problem.file == "adr/README.md"
    assert "lockstep_tools.adr_lint index --write" in problem.fix
    assert adr_lint.main(["--root", str(repo.root), "index", "--write"]) == 0
    assert problems(repo) == []
    assert (
        "[0005](0005-new-one.md) | New one | accepted | 2026-01-01"
        in (repo.root / "adr/README.md").read_text()
    )


def test_missing_index_markers(repo: Repo) -> None:
    repo.write("adr/README.md", "# ADRs\n")
    assert "markers" in only(problems(repo), "adr-index").message


def test_check_exit_code_and_message(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.adr(5, status="approved", slug="five")
    repo.reindex()
    assert adr_lint.main(["--root", str(repo.root), "check"]) == 1
    err = capsys.readouterr().err
    assert "adr/0005-five.md: status: 'approved' is not a valid status. Fix: use one of" in err


def test_citations(repo: Repo) -> None:
    statuses = adr_lint.adr_statuses(repo.root)
    found = adr_lint.citation_problems(
        "x.md", "adrs", ["0001", "0003", "0004", "0099", 2], statuses
    )
    messages = [p.message for p in found]
    assert len(found) == 4
    assert any("0003 is proposed" in m for m in messages)
    assert any("0004 is rejected" in m for m in messages)
    assert any("0099 does not exist" in m for m in messages)
    assert any("not an ADR number" in m for m in messages)
