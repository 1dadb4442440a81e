"""The diff rule, in temporary git repositories: native changes need a covering record."""

from __future__ import annotations

import pytest

from govkit import Repo, good_record
from lockstep_tools import gitrange, native_records


@pytest.fixture
def committed(repo: Repo) -> Repo:
    """The fixture repository as one commit on main, with a record covering the crate."""
    repo.git_init()
    repo.record(1, good_record(), slug="core-crate")
    repo.commit("initial")
    repo.commit("an unrelated second commit")  # so HEAD~1 exists
    return repo


def run(repo: Repo, *args: str) -> tuple[int, str]:
    import contextlib
    import io

    err = io.StringIO()
    out = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = native_records.main(["--root", str(repo.root), "check", *args])
    return code, out.getvalue() + err.getvalue()


def test_clean_tree_passes(committed: Repo) -> None:
    assert run(committed)[0] == 0


def test_rust_change_without_a_record_fails(committed: Repo) -> None:
    base = committed.git("rev-parse", "HEAD").strip()
    committed.write("rust/lockstep-core/src/lib.rs", "pub struct Core;\npub struct More;\n")
    code, output = run(committed, "--base", base)
    assert code == 1
    assert "rust/lockstep-core/src/lib.rs: covers: native file changed since" in output
    assert "add a record changes/native/NNNN-slug.md" in output


def test_rust_change_with_a_covering_record_passes(committed: Repo) -> None:
    base = committed.git("rev-parse", "HEAD").strip()
    committed.write("rust/lockstep-core/src/lib.rs", "pub struct Core;\npub struct More;\n")
    committed.record(2, good_record(covers=["rust/lockstep-core/src/*.rs"]), slug="more")
    assert run(committed, "--base", base)[0] == 0


def test_editing_an_existing_record_counts(committed: Repo) -> None:
    base = committed.git("rev-parse", "HEAD").strip()
    committed.write("rust/lockstep-core/src/extra.rs", "pub fn extra() {}\n")
    committed.record(1, good_record(user_visible_behaviour="now with extra"), slug="core-crate")
    assert run(committed, "--base", base)[0] == 0


def test_a_record_whose_covers_miss_the_change_fails(committed: Repo) -> None:
    base = committed.git("rev-parse", "HEAD").strip()
    committed.write("rust/lockstep-python/src/lib.rs", "pub fn bind() {}\n")
    committed.record(2, good_record(covers=["rust/lockstep-core/**"]), slug="bindings")
    code, output = run(committed, "--base", base)
    assert code == 1
    assert "rust/lockstep-python/src/lib.rs: covers:" in output
    assert "changes/native/0002-bindings.md" in output  # the fix names the record to extend


def test_an_old_record_does_not_cover_a_new_change(committed: Repo) -> None:
    """Record 0001 covers the crate but was not touched in this range."""
    base = committed.git("rev-parse", "HEAD").strip()
    committed.write("rust/lockstep-core/src/lib.rs", "pub struct Core;\n// changed\n")
    assert run(committed, "--base", base)[0] == 1


def test_committed_changes_since_base_count(committed: Repo) -> None:
    base = committed.git("rev-parse", "HEAD").strip()
    committed.write("rust/lockstep-core/src/lib.rs", "pub struct Core;\n// changed\n")
    committed.commit("rust change, no record")
    assert run(committed, "--base", base)[0] == 1
    assert run(committed)[0] == 1  # default base on main: HEAD~1, the change itself


def test_deleted_and_untracked_native_files_count(committed: Repo) -> None:
    base = committed.git("rev-parse", "HEAD").strip()
    (committed.root / "rust/lockstep-core/Cargo.toml").unlink()
    committed.write("rust/new-crate/src/lib.rs", "pub fn f() {}\n")
    code, output = run(committed, "--base", base)
    assert code == 1
    assert "rust/lockstep-core/Cargo.toml: covers" in output
    assert "rust/new-crate/src/lib.rs: covers" in output


def test_cargo_files_outside_rust_count(committed: Repo) -> None:
    base = committed.git("rev-parse", "HEAD").strip()
    committed.write("Cargo.toml", "[workspace]\n")
    assert run(committed, "--base", base)[0] == 1
    committed.record(2, good_record(covers=["Cargo.toml"]), slug="root-workspace")
    assert run(committed, "--base", base)[0] == 0


def test_python_only_changes_need_no_record(committed: Repo) -> None:
    base = committed.git("rev-parse", "HEAD").strip()
    committed.write("packages/core/src/x.py", "X = 1\n")
    committed.write("changes/native/README.md", "notes\n")
    assert run(committed, "--base", base)[0] == 0


def test_staged_mode_sees_only_the_index(committed: Repo) -> None:
    committed.write("rust/lockstep-core/src/lib.rs", "pub struct Core;\n// changed\n")
    assert run(committed, "--staged")[0] == 0  # nothing staged yet
    committed.git("add", "rust/lockstep-core/src/lib.rs")
    assert run(committed, "--staged")[0] == 1
    committed.record(2, good_record(covers=["rust/lockstep-core/src/lib.rs"]), slug="staged")
    assert run(committed, "--staged")[0] == 1  # written but not staged
    committed.git("add", "changes/native/0002-staged.md")
    assert run(committed, "--staged")[0] == 0


def test_unknown_base_is_reported(committed: Repo) -> None:
    code, output = run(committed, "--base", "no-such-rev")
    assert code == 1 and "--base: --base 'no-such-rev' is not a commit" in output


# ----------------------------------------------------------- default base


def test_default_base_on_main_is_the_previous_commit(committed: Repo) -> None:
    base = gitrange.default_base(committed.root)
    assert base.rev == committed.git("rev-parse", "HEAD~1").strip()
    assert "HEAD~1" in base.reason


def test_default_base_on_a_branch_is_the_merge_base(committed: Repo) -> None:
    fork = committed.git("rev-parse", "HEAD").strip()
    committed.git("checkout", "-q", "-b", "feature")
    committed.commit("one")
    committed.commit("two")
    base = gitrange.default_base(committed.root)
    assert base.rev == fork and "merge-base" in base.reason


def test_branch_change_without_record_fails_with_default_base(committed: Repo) -> None:
    committed.git("checkout", "-q", "-b", "feature")
    committed.write("rust/lockstep-core/src/lib.rs", "pub struct Core;\n// changed\n")
    committed.commit("rust change")
    committed.commit("docs")  # HEAD~1 alone would miss the rust change; the merge-base does not
    assert run(committed)[0] == 1


def test_single_commit_compares_with_the_empty_tree(repo: Repo) -> None:
    repo.git_init()
    repo.commit("only")
    base = gitrange.default_base(repo.root)
    assert base.rev == gitrange.EMPTY_TREE
    code, output = run(repo)
    assert code == 1 and "rust/lockstep-core/src/lib.rs: covers" in output
    repo.record(1, good_record(covers=["rust/lockstep-core"]), slug="crate")
    assert run(repo)[0] == 0


def test_shallow_clone_falls_back_to_the_empty_tree(
    committed: Repo, tmp_path_factory: pytest.TempPathFactory
) -> None:
    clone = Repo(tmp_path_factory.mktemp("shallow") / "clone")
    committed.git("clone", "-q", "--depth", "1", f"file://{committed.root}", str(clone.root))
    base = gitrange.default_base(clone.root)
    assert base.rev == gitrange.EMPTY_TREE and "shallow" in base.reason
    assert (
        run(clone)[0] == 0
    )  # record 0001 is "added" relative to the empty tree and covers the crate


def test_fresh_clone_of_main_uses_head_parent(
    committed: Repo, tmp_path_factory: pytest.TempPathFactory
) -> None:
    clone = Repo(tmp_path_factory.mktemp("clone") / "clone")
    committed.git("clone", "-q", str(committed.root), str(clone.root))
    base = gitrange.default_base(clone.root)
    assert base.rev == committed.git("rev-parse", "HEAD~1").strip()


def test_each_commit_catches_an_uncovered_commit_hidden_behind_a_later_one(
    committed: Repo,
) -> None:
    """A multi-commit submission is checked commit by commit, not only on its last one."""
    committed.write("rust/lockstep-core/src/sneaky.rs", "pub fn sneaky() {}\n")
    sneaky = committed.commit("native change without a record")
    committed.write("README.md", "docs only\n")
    committed.commit("a later commit that touches nothing native")
    assert run(committed)[0] == 0  # the default base only sees the last commit
    code, output = run(committed, "--each-commit")
    assert code == 1
    assert f"since commit {sneaky[:12]}" in output
    assert "rust/lockstep-core/src/sneaky.rs: covers" in output


def test_each_commit_passes_when_every_native_commit_carries_its_record(committed: Repo) -> None:
    committed.write("rust/lockstep-core/src/more.rs", "pub fn more() {}\n")
    committed.record(2, good_record(covers=["rust/lockstep-core/src/more.rs"]), slug="more")
    committed.commit("native change with its record")
    code, output = run(committed, "--each-commit")
    assert code == 0, output
    assert "every commit covered" in output


def test_each_commit_starts_where_records_start(committed: Repo) -> None:
    """History before the first record predates the rule and is not judged by it."""
    rev_range = gitrange.since_first_addition(committed.root, "changes/native")
    assert (
        gitrange.commits(committed.root, rev_range)[0]
        == committed.git("rev-list", "--max-parents=0", "HEAD").strip()
    )
