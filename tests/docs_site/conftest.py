"""Fixtures for the documentation site tests (run by ``nox -s docs``, not by ``nox -s tests``).

The site is built once per session with ``mkdocs build --strict`` (or taken
from ``$LOCKSTEP_DOCS_SITE`` when the nox session has just built it), served
from 127.0.0.1 by the standard library's HTTP server in a thread, and opened
in headless Chromium through chromedriver. Screenshots go to
``build/docs-artifacts/`` (``$LOCKSTEP_DOCS_ARTIFACTS`` overrides it).

Nothing is skipped: without Chromium, chromedriver or selenium the browser
tests fail and say how to install them (``.ci/install-chromium.sh``).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS_TOOLS = REPO_ROOT / "tools" / "docs"
INSTALL_HINT = "run `bash .ci/install-chromium.sh` (root, or a user with sudo)"

# The generators are plain modules under tools/docs (not a distribution).
for _path in (DOCS_TOOLS, REPO_ROOT / "tools"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots are saved for a person (or CI) to look at."""
    path = Path(os.environ.get("LOCKSTEP_DOCS_ARTIFACTS", REPO_ROOT / "build" / "docs-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site: ``$LOCKSTEP_DOCS_SITE`` if set, else a fresh strict build."""
    given = os.environ.get("LOCKSTEP_DOCS_SITE")
    if given:
        path = Path(given)
        assert (path / "index.html").is_file(), f"$LOCKSTEP_DOCS_SITE={given} holds no built site"
        return path
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr}"
    return out


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        """Keep the test output readable; failures are reported by the assertions."""


@pytest.fixture(scope="session")
def base_url(site_dir: Path) -> Iterator[str]:
    """Serve the site on 127.0.0.1 (an ephemeral port) for the whole session."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="docs-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by chromedriver; fails (never skips) when either is missing.

    External hosts resolve to nothing (``--host-resolver-rules``), so a page
    that tried to load a font, script or style from the web would visibly
    miss it; the tests also assert that no such request was made.
    """
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        pytest.fail(f"selenium is not installed ({exc}); run the tests through `nox -s docs`")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None:
        pytest.fail(f"Chromium is not installed (no `chromium` on PATH); {INSTALL_HINT}")
    if driver_path is None:
        pytest.fail(
            f"chromedriver is not installed (Debian package chromium-driver); {INSTALL_HINT}"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
