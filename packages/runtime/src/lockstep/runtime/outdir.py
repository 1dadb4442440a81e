"""Output directories: unique default names, retrying after a failed run, reports that stay put.

The rules ``lockstep backtest``, ``report`` and ``demo`` share:

* The default ``--out`` is ``runs/<strategy>-<UTC time>-<random>``: the time
  keeps listings in order, the random part keeps two runs started in the same
  second (or in parallel) apart.
* A store that did not complete (status ``failed``, or ``running`` with no
  process writing it) is moved aside to ``run.failed-<its start time>.db``,
  so the same command can simply be run again once the cause is fixed. The
  failed store is kept, not deleted: it says what went wrong.
* A complete run is never replaced without ``--overwrite``.
* A report (``report.html``, ``trades.csv``, ``equity.png``) is never
  replaced by the report of another run without ``--overwrite``. Which run a
  page belongs to is read from its meta tags
  (:func:`lockstep.runtime.report.read_report_identity`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lockstep.core import LockstepError
from lockstep.runtime.claim import StoreClaim
from lockstep.runtime.errors import StoreError
from lockstep.runtime.report import CHART_PNG, REPORT_HTML, TRADES_CSV, read_report_identity
from lockstep.runtime.store import RunStore

RUNS_DIR = Path("runs")
SUFFIX_BYTES = 3
"""Random bytes in a default directory name (six hex digits)."""
REPORT_FILES = (REPORT_HTML, TRADES_CSV, CHART_PNG)
UNFINISHED = ("failed", "running")
OVERWRITE_HINT = "choose another --out, or pass --overwrite to replace it"


class OutputCollision(LockstepError, ValueError):
    """The output directory holds files of another run that were not to be replaced."""


def default_out_dir(
    strategy_id: str, *, now: datetime | None = None, suffix: str | None = None
) -> Path:
    """``runs/<strategy>-<YYYYmmdd-HHMMSS>-<hex>`` for a backtest given no ``--out``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return RUNS_DIR / f"{strategy_id}-{stamp}-{suffix or secrets.token_hex(SUFFIX_BYTES)}"


def set_aside_unfinished(
    db: Path,
    *,
    overwrite: bool,
    replaceable: Callable[[Mapping[str, Any]], bool] | None = None,
) -> Path | None:
    """Make way for a new run at ``db``; returns where an unfinished run was moved, if any.

    With ``overwrite`` nothing is looked at: :meth:`RunStore.create` replaces
    the store under its claim. Otherwise a complete run is refused unless
    ``replaceable(meta)`` says it may go (the demo replaces its own earlier
    run), and anything that is not a readable run store is refused too.
    """
    if overwrite or not (db.exists() or db.is_symlink()):
        return None
    with StoreClaim.acquire(db) as claim:
        try:
            with RunStore.open(db) as store:  # closing it folds a killed run's WAL into it
                meta = store.meta()
        except StoreError as err:
            raise StoreError(
                db,
                f"already exists and is not a run store this lockstep can read ({err.problem}); {OVERWRITE_HINT}",
            ) from None
        status = meta.get("status")
        if status == "complete":
            if replaceable is not None and replaceable(meta):
                return None
            raise StoreError(
                db,
                f"already exists and holds a complete run ({describe_run(meta)}); {OVERWRITE_HINT}",
            )
        if status not in UNFINISHED:
            raise StoreError(db, f"holds a run with status {status!r}; {OVERWRITE_HINT}")
        if status == "running" and not claim.held:  # pragma: no cover - platforms without flock
            raise StoreError(
                db,
                "holds a run that has not finished, and this platform cannot tell whether "
                f"another process is still writing it; {OVERWRITE_HINT}",
            )
        aside = _aside_path(db, meta)
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{db}{suffix}")
            if source.exists():
                source.rename(f"{aside}{suffix}")
        return aside


def describe_run(meta: Mapping[str, Any]) -> str:
    data = meta.get("data")
    name = data.get("name") if isinstance(data, Mapping) else data
    return f"{meta.get('strategy_id')} on {name}, finished {meta.get('finished')}"


def check_report_dir(
    out: Path, store: Path, final_state_hash: str | None, *, overwrite: bool
) -> None:
    """Refuse (:class:`OutputCollision`) to write the report of ``store`` over another run's.

    The same run is the same store path; a page in the store's own directory
    that names another path but the same final state is that run's too (its
    folder was moved or copied). Report files that name no run (an older
    lockstep, another tool, ``--no-report``) belong to the directory's own
    store, and to nobody else's.
    """
    present = [name for name in REPORT_FILES if (out / name).exists()]
    if overwrite or not present:
        return
    store = store.resolve()
    own = out.resolve() == store.parent
    identity = read_report_identity(out / REPORT_HTML)
    this = f"{store}{_final(final_state_hash)}"
    if identity is None:
        if own:
            return
        raise OutputCollision(
            f"{out} already holds {', '.join(present)}, which name no run (so they are not the "
            f"report of {this}); pass --overwrite to replace them, or choose another --out"
        )
    if identity.store == store:
        return
    if own and final_state_hash is not None and identity.final_state_hash == final_state_hash:
        return
    raise OutputCollision(
        f"{out} holds the report of another run, {identity.store}"
        f"{_final(identity.final_state_hash)}; this is the report of {this}: "
        "pass --overwrite to replace it, or choose another --out"
    )


def _final(final_state_hash: str | None) -> str:
    return f" (final state {final_state_hash[:16]})" if final_state_hash else ""


def _aside_path(db: Path, meta: Mapping[str, Any]) -> Path:
    """``run.failed-<start time>.db`` next to ``db``, numbered if that name is taken."""
    started = meta.get("started")
    try:
        when = datetime.strptime(str(started), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        when = datetime.now(UTC)
    base = f"{db.stem}.failed-{when.strftime('%Y%m%d-%H%M%S')}"
    candidate = db.with_name(f"{base}{db.suffix}")
    number = 1
    while candidate.exists():
        number += 1
        candidate = db.with_name(f"{base}-{number}{db.suffix}")
    return candidate
