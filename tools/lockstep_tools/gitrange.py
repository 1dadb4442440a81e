"""Which files changed between a base revision and the working tree.

The diff rule of the native-record checker needs "every file a reviewer will
see in this change", so the comparison is base..working tree (staged and
unstaged edits) plus untracked files that are not ignored. Renames are split
into a deletion and an addition so both paths must be covered.

The default base is chosen so that the same command works on a feature branch,
on main, in a fresh CI clone and in a brand-new repository:

1. the merge-base of ``HEAD`` with ``main`` (or ``origin/main``) when that is
   not ``HEAD`` itself, i.e. on a branch: everything the branch changed;
2. otherwise ``HEAD~1``: on main (or a fresh clone of it) the last commit;
3. otherwise (one commit, or a shallow clone whose parent is missing) the
   empty tree, so every file counts as added.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
"""The id of git's empty tree (same in every SHA-1 repository)."""


class GitError(RuntimeError):
    """A git command failed; the message carries git's own error."""


def git(root: Path, *args: str, check: bool = True) -> str:
    """Run ``git -C root args...`` and return its stdout."""
    result = subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def _rev(root: Path, rev: str) -> str | None:
    result = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None


@dataclass(frozen=True)
class Base:
    """A resolved base revision and why it was chosen (printed by the checker)."""

    rev: str
    reason: str


def default_base(root: Path) -> Base:
    """The base described in the module docstring."""
    head = _rev(root, "HEAD")
    if head is None:
        return Base(EMPTY_TREE, "no commit yet: comparing with the empty tree")
    for branch in ("main", "origin/main"):
        if _rev(root, branch) is None:
            continue
        merge_base = git(root, "merge-base", "HEAD", branch, check=False).strip()
        if merge_base and merge_base != head:
            return Base(merge_base, f"merge-base of HEAD and {branch}")
        break
    parent = _rev(root, "HEAD~1")
    if parent is not None:
        return Base(parent, "HEAD~1 (HEAD is on main)")
    return Base(
        EMPTY_TREE,
        "HEAD has no parent here (single commit or shallow clone): comparing with the empty tree",
    )


def resolve_base(root: Path, rev: str | None) -> Base:
    """``rev`` as a commit id, or the default base when ``rev`` is None."""
    if rev is None:
        return default_base(root)
    if rev == EMPTY_TREE:
        return Base(EMPTY_TREE, "the empty tree")
    resolved = _rev(root, rev)
    if resolved is None:
        raise GitError(f"--base {rev!r} is not a commit in this repository")
    return Base(resolved, f"--base {rev}")


def _names(output: str) -> set[str]:
    return {line for line in output.split("\0") if line}


def changed_files(root: Path, base: str) -> set[str]:
    """Paths changed between ``base`` and the working tree, plus untracked files."""
    diffed = git(root, "diff", "--name-only", "--relative", "--no-renames", "-z", base, "--")
    untracked = git(root, "ls-files", "--others", "--exclude-standard", "-z")
    return _names(diffed) | _names(untracked)


def staged_files(root: Path) -> set[str]:
    """Paths staged for the next commit (what pre-commit is about to commit)."""
    base = "HEAD" if _rev(root, "HEAD") else EMPTY_TREE
    return _names(
        git(root, "diff", "--cached", "--name-only", "--relative", "--no-renames", "-z", base, "--")
    )


def commits(root: Path, rev_range: str = "HEAD") -> list[str]:
    """Commits of ``rev_range`` (``git rev-list`` syntax), oldest first."""
    return git(root, "rev-list", "--reverse", rev_range).split()


def commit_changes(root: Path, commit: str) -> set[str]:
    """Paths one commit changed against its first parent (all its files for a root commit)."""
    parents = git(root, "rev-list", "--parents", "-n", "1", commit).split()[1:]
    base = parents[0] if parents else EMPTY_TREE
    return _names(
        git(root, "diff", "--name-only", "--relative", "--no-renames", "-z", base, commit, "--")
    )


def file_at(root: Path, commit: str, path: str) -> str | None:
    """The text of ``path`` in ``commit``, or None when it does not exist there."""
    result = subprocess.run(
        ["git", "-C", str(root), "show", f"{commit}:{path}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout if result.returncode == 0 else None


def since_first_addition(root: Path, pathspec: str) -> str:
    """``FIRST^..HEAD`` where FIRST is the oldest commit adding a file under ``pathspec``.

    Rules that start with the files they check (native change records) apply
    from that commit on; the history before it predates them. ``HEAD`` when
    FIRST has no parent, and an empty range (``HEAD..HEAD``) when no commit
    adds such a file yet.
    """
    added = git(root, "log", "--diff-filter=A", "--format=%H", "--", pathspec).split()
    if not added:
        return "HEAD..HEAD"
    first = added[-1]
    return f"{first}^..HEAD" if _rev(root, f"{first}^") else "HEAD"
