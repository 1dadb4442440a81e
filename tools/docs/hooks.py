"""mkdocs hooks (``hooks:`` in mkdocs.yml): add the generated pages to the Lockstep site.

mkdocs loads this file by path, so it puts its own directory (for
``lockstep_docgen``) and ``tools/`` (for the governance checkers in
``lockstep_tools``) on ``sys.path`` first. All rendering lives in
``lockstep_docgen``; the hooks only connect it to the build:

* ``on_config``: render everything, extend the nav with the generated pages;
* ``on_files``: add the generated pages as virtual files (nothing is written
  into ``docs/``);
* ``on_page_markdown``: show the ownership matrix as the checker renders it
  now, and swap the lifecycle page's mermaid block for the SVG diagram;
* ``on_page_content``: put the SVG diagrams where pages ask for them.

Problems are logged as warnings, which ``mkdocs build --strict`` turns into
a failed build.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for _path in (_HERE, _HERE.parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from lockstep_docgen import REPO_ROOT, governance, lifecycle, outputs, site  # noqa: E402
from mkdocs.config.defaults import MkDocsConfig  # noqa: E402
from mkdocs.exceptions import PluginError  # noqa: E402
from mkdocs.structure.files import File, Files  # noqa: E402
from mkdocs.structure.pages import Page  # noqa: E402
from mkdocs.utils import get_relative_url  # noqa: E402

log = logging.getLogger("mkdocs.plugins.lockstep_docs")

_STATE: dict[str, site.Generated] = {}
"""The current build's generated content, set by ``on_config`` (a dict, so no ``global``)."""


def _state() -> site.Generated:
    if "generated" not in _STATE:
        raise PluginError("lockstep docs hooks: on_config did not run")
    return _STATE["generated"]


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Render every generated page once per build and list them in the nav."""
    try:
        generated = site.generate(REPO_ROOT)
    except (lifecycle.DiagramError, outputs.OutputError) as exc:
        raise PluginError(f"lockstep docs: {exc}") from exc
    except (ValueError, OSError) as exc:
        raise PluginError(f"lockstep docs: cannot generate pages: {exc}") from exc
    docs_dir = Path(config.docs_dir)
    _STATE["generated"] = generated
    config.nav = site.expand_nav(
        config.nav, generated.children, lambda rel: (docs_dir / rel).is_file()
    )
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated pages; a committed file at the same path is an error, not a silent override."""
    for path, markdown in _state().pages.items():
        if files.get_file_from_path(path) is not None:
            log.warning(
                "docs/%s exists but the site generates this page; delete the committed copy", path
            )
            continue
        files.append(File.generated(config, path, content=markdown))
    for path, content in _state().assets.items():
        files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Command output, a fresh ownership matrix, and the SVG instead of mermaid on the lifecycle page."""
    src = page.file.src_uri
    markdown, unknown = outputs.fill(markdown, _state().outputs)
    for name in unknown:
        log.warning("%s asks for the output of an unknown command %r", src, name)
    if src == "governance/ownership.md":
        page.meta.setdefault("hide", ["toc"])  # the matrix is wide; its only section is "Notes"
        rendered = governance.ownership_page(REPO_ROOT, markdown)
        if rendered.stale:
            log.warning("%s", rendered.stale)
        return rendered.markdown
    if src == "reference/order_lifecycle.md":
        return site.swap_mermaid_lifecycle(markdown)
    return markdown


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replace diagram placeholders with the SVG figures rendered in ``on_config``."""
    filled, unknown = site.diagram_html(
        html, _state().diagrams, lambda path: get_relative_url(path, page.url)
    )
    for name in unknown:
        log.warning("%s asks for an unknown diagram %r", page.file.src_uri, name)
    return filled
