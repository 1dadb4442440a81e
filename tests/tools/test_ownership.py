"""The ownership matrix: every claim checked against the code, the page regenerated."""

from __future__ import annotations

import pytest

from govkit import Repo
from lockstep_tools import ownership
from lockstep_tools.common import REPO_ROOT, Problem

SURFACE = """
[[surface]]
id = "{id}"
name = "A surface"
owner = "{owner}"
rust_status = "{status}"
python_symbols = {py}
rust_symbols = {rs}
parity_tests = {tests}
adr = {adr}
notes = "{notes}"
"""


def write(repo: Repo, *surfaces: dict[str, object]) -> None:
    text = ""
    for index, given in enumerate(surfaces):
        values: dict[str, object] = {
            "id": f"surface-{index}",
            "owner": "python",
            "status": "not migrated",
            "py": '["json:dumps"]',
            "rs": "[]",
            "tests": "[]",
            "adr": "[]",
            "notes": "Stdlib stand-in.",
        }
        values.update(given)
        text += SURFACE.format(**values)
    repo.write("ownership.toml", text)


def problems(repo: Repo) -> list[Problem]:
    return ownership.evaluate(repo.root).all()


def messages(repo: Repo) -> str:
    return "\n".join(str(p) for p in problems(repo))


def test_this_repository_passes() -> None:
    """Runs where the distributions are installed (nox -s tests / governance)."""
    result = ownership.evaluate(REPO_ROOT)
    assert result.all() == []
    assert ownership.page_problems(REPO_ROOT, result) == []


def test_valid_matrix_passes(repo: Repo) -> None:
    write(repo, {}, {"py": '["json.decoder:JSONDecoder.decode"]'})
    assert problems(repo) == []


def test_missing_python_symbol(repo: Repo) -> None:
    write(repo, {"py": '["json:no_such_function"]'})
    text = messages(repo)
    assert "surface 'surface-0': python_symbols: json:no_such_function" in text
    assert "no_such_function" in text and "Fix:" in text


def test_module_that_does_not_import(repo: Repo) -> None:
    write(repo, {"py": '["json.nope:x"]'})
    assert "does not import" in messages(repo)


def test_uninstalled_package_reported_once(repo: Repo) -> None:
    write(repo, {"py": '["lockstep_nowhere.a:x", "lockstep_nowhere.b:y"]'})
    found = problems(repo)
    assert len(found) == 1 and "nox -s governance" in found[0].fix
    assert "UNCHECKED" in ownership.render(ownership.evaluate(repo.root))


def test_rust_symbols(repo: Repo) -> None:
    write(
        repo, {"rs": '["lockstep_core::Core", "lockstep-core::build", "lockstep_core::lib::Core"]'}
    )
    assert problems(repo) == []
    write(repo, {"rs": '["lockstep_core::Engine"]'})
    assert "no fn/struct/enum/trait/type/const/mod named 'Engine'" in messages(repo)
    write(repo, {"rs": '["lockstep_nope::Core"]'})
    assert "no crate directory rust/lockstep-nope/src" in messages(repo)


def test_rust_symbol_in_a_comment_does_not_count(repo: Repo) -> None:
    repo.write("rust/lockstep-core/src/lib.rs", "// pub struct Ghost;\npub struct Core;\n")
    write(repo, {"rs": '["lockstep_core::Ghost"]'})
    assert "Ghost" in messages(repo)


@pytest.mark.parametrize("status", ["optional", "default"])
def test_migrated_surface_needs_parity_tests(repo: Repo, status: str) -> None:
    write(repo, {"status": status, "rs": '["lockstep_core::Core"]', "adr": '["0001"]'})
    assert "no parity test is listed" in messages(repo)


def test_parity_tests_must_exist(repo: Repo) -> None:
    repo.write(
        "tests/test_parity.py",
        "def test_same():\n    pass\n\nclass TestBoth:\n    def test_x(self):\n        pass\n",
    )
    ok = '["tests/test_parity.py::test_same", "tests/test_parity.py::TestBoth::test_x", "tests/test_parity.py::test_same[rust]"]'
    write(repo, {"status": "optional", "rs": '["lockstep_core::Core"]', "tests": ok})
    assert problems(repo) == []
    write(
        repo,
        {
            "status": "optional",
            "rs": '["lockstep_core::Core"]',
            "tests": '["tests/test_parity.py::test_gone"]',
        },
    )
    assert "defines no test or class named 'test_gone'" in messages(repo)
    write(
        repo,
        {"status": "optional", "rs": '["lockstep_core::Core"]', "tests": '["tests/missing.py"]'},
    )
    assert "tests/missing.py does not exist" in messages(repo)


def test_optional_needs_rust_symbols(repo: Repo) -> None:
    repo.write("tests/test_parity.py", "def test_same():\n    pass\n")
    write(repo, {"status": "optional", "tests": '["tests/test_parity.py"]'})
    assert "no Rust symbol is listed" in messages(repo)


def test_default_needs_an_accepted_adr(repo: Repo) -> None:
    repo.write("tests/test_parity.py", "def test_same():\n    pass\n")
    base = {
        "status": "default",
        "rs": '["lockstep_core::Core"]',
        "tests": '["tests/test_parity.py"]',
    }
    write(repo, base)
    assert "needs an accepted ADR" in messages(repo)
    write(repo, {**base, "adr": '["0003"]'})
    assert "ADR 0003 is proposed, not accepted" in messages(repo)
    write(repo, {**base, "adr": '["0001"]'})
    assert problems(repo) == []


def test_rust_owner_needs_an_adr(repo: Repo) -> None:
    write(repo, {"owner": "rust"})
    assert "needs an accepted ADR" in messages(repo)


def test_listed_adrs_must_be_accepted(repo: Repo) -> None:
    write(repo, {"adr": '["0004", "0099"]'})
    text = messages(repo)
    assert "ADR 0004 is rejected" in text and "ADR 0099 does not exist" in text


def test_vocabularies(repo: Repo) -> None:
    write(repo, {"owner": "go", "status": "partial"})
    text = messages(repo)
    assert "'go' is not an owner" in text and "'partial' is not a Rust status" in text


def test_surface_without_symbols_must_say_planned(repo: Repo) -> None:
    write(repo, {"py": "[]"})
    assert "say in notes that the surface is planned" in messages(repo)
    write(repo, {"py": "[]", "notes": "Planned for later."})
    assert problems(repo) == []


def test_file_shape_errors(repo: Repo) -> None:
    write(repo, {"id": "Bad Id"}, {"id": "dup"}, {"id": "dup"})
    text = messages(repo)
    assert "lowercase-hyphenated" in text and "duplicate id" in text
    repo.write("ownership.toml", "[[surface]]\nid = 'x'\nextra = 1\n")
    text = messages(repo)
    assert "unknown key" in text and "required string is missing" in text


def test_stale_page_names_the_command(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo, {})
    root = ["--root", str(repo.root)]
    assert ownership.main([*root, "check"]) == 1
    assert "lockstep_tools.ownership render --write" in capsys.readouterr().err
    assert ownership.main([*root, "render", "--write"]) == 0
    assert ownership.main([*root, "check"]) == 0
    write(repo, {"notes": "Changed notes."})
    assert ownership.main([*root, "check"]) == 1
    assert "generated page is stale" in capsys.readouterr().err


def test_rendered_page_has_a_verdict_column(repo: Repo) -> None:
    write(repo, {}, {"py": "[]", "notes": "Planned."}, {"py": '["json:nope"]'})
    page = ownership.render(ownership.evaluate(repo.root))
    assert "| Verdict |" in page
    assert "verified: 1 Python symbol(s)" in page
    assert "planned: nothing to verify yet" in page
    assert "FAILING (1 problem(s)" in page
