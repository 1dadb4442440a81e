"""Whether a stored run was verified, and whether that still holds.

``lockstep replay verify`` records each outcome in the store's
``verifications`` table. That record alone proves nothing (anyone can write a
row), so readers combine it with what they can check at once: the seal
(:func:`lockstep.runtime.seal.seal_problems`, no replay needed) and the run
hash the verification saw. ``runs show`` and ``report`` state the result in
one of four words: ``verified``, ``failed``, ``changed`` (verified once, edited
since) and ``unverified`` (never checked).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lockstep.runtime.replay import VerifyReport, verify_run
from lockstep.runtime.seal import run_hash, seal_problems
from lockstep.runtime.store import RunStore
from lockstep.runtime.versions import distribution_versions


@dataclass(frozen=True, slots=True)
class VerificationStatus:
    state: str
    """``verified``, ``failed``, ``changed`` or ``unverified``."""
    summary: str
    """One line for people: what was checked, when, and what to do next."""
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.state == "verified"


def verify_and_record(
    path: str | Path,
    *,
    backend: str | None = None,
    data: str | Path | None = None,
    allow_incomplete: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[VerifyReport, bool]:
    """Verify the run and append the outcome to its store; the report and whether it was recorded.

    A refused verification (a run that did not complete) is not recorded:
    nothing was checked.
    """
    report = verify_run(
        path,
        backend=backend,
        data=data,
        allow_incomplete=allow_incomplete,
        on_progress=on_progress,
    )
    if report.refused:
        return report, False
    entry = verification_entry(report)
    with RunStore.open(path) as store:
        recorded = store.record_verification(entry)
    return report, recorded


def current_status(
    meta: Mapping[str, Any], results: Mapping[str, Any], history: Sequence[Mapping[str, Any]]
) -> VerificationStatus:
    """What can be said about the run now, from its last recorded verification and its seal."""
    problems = tuple(seal_problems(meta, results)) if meta.get("status") == "complete" else ()
    last = history[-1] if history else None
    if last is None:
        if problems:
            return VerificationStatus(
                "failed", "never verified, and its seal does not match", problems
            )
        return VerificationStatus(
            "unverified", "never verified: run `lockstep replay verify` on the store"
        )
    if last.get("ok") and (problems or last.get("run_hash") != run_hash(results)):
        return VerificationStatus(
            "changed",
            f"verified {last.get('at')} on {last.get('backend')}, but the store was changed "
            "since (seal or run hash differs): verify it again",
            problems,
        )
    return _entry_status(last)


def store_status(store: RunStore) -> VerificationStatus:
    return current_status(store.meta(), store.results(), store.verifications())


def status_of_report(report: VerifyReport) -> VerificationStatus:
    """The status a verification just made gives (for a report written right after it)."""
    return _entry_status(verification_entry(report))


def verification_entry(report: VerifyReport) -> dict[str, Any]:
    """What the ``verifications`` table keeps of one outcome."""
    return {
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ok": report.ok,
        "backend": report.backend,
        "run_hash": report.run_hash,
        "trace": report.trace,
        "data_checked": report.data_checked,
        "first_divergence": report.first_divergence,
        "reason": report.reason,
        "problems": list(report.problems),
        "lockstep_runtime": distribution_versions()["lockstep-runtime"],
    }


def _entry_status(entry: Mapping[str, Any]) -> VerificationStatus:
    """``verified`` or ``failed``, as one recorded outcome says (nothing re-checked here)."""
    when = f"{entry.get('at')} on {entry.get('backend')}"
    if not entry.get("ok"):
        problems = tuple(str(p) for p in entry.get("problems") or ())
        return VerificationStatus(
            "failed", f"FAILED verification ({when}): {entry.get('reason')}", problems
        )
    data = ", data files checked" if entry.get("data_checked") else ""
    return VerificationStatus(
        "verified",
        f"verified {when}: trace, results and metadata match{data}; run hash {entry.get('run_hash')}",
    )
