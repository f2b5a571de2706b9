"""Shared by the site tests: a copy of the knowledge base with the test entries added, built once per session.

`built_site` copies the project as a clean clone would have it (no generated pages, no site/), adds the
fictional fixture entries of tests/fixtures/site/ (script injection, edge cases) and runs `kb -C <copy> build`.
Both tests/test_site.py and tests/test_browser.py ask for it; the build runs only once.
"""

from __future__ import annotations

import functools
import html
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

from kb.defaults import TEMPLATES_DIR
from kb.project import Project
from kb.render.output import GENERATED_DIRS, GENERATED_FILES

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "site"
SEED_ID = "agin-liebes-2025-self-compassion"
INJECTION_ID = "zz-2024-injection"
EDGE_ID = "zz-nd-edge-cases"
NOT_COPIED = {
    ".git",
    ".venv",
    "site",
    ".cache",
    "tests",
    "kb",
    "build",
    "dist",
    "benchmarks",
    "scripts",
    "node_modules",
}
SEED_REFERENCE = (
    "Agin-Liebes, G., Zeifman, R. J., & Mitchell, J. M. (2025). Self-compassion mediates treatment effects in "
    "MDMA-assisted therapy for posttraumatic stress disorder. European Journal of Psychotraumatology, 16(1), "
    "Article 2485513. https://doi.org/10.1080/20008066.2025.2485513"
)

# Debian's Chromium, driven by Playwright (whose own browser download does not work here)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

_built: dict[str, Path] = {}


def wait_for(condition, timeout: float = 60.0):
    """Poll until `condition()` is truthy; returns its value, or None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    return None


def override_template(root: Path, name: str) -> Path:
    """A copy of the generator's page template `name` in the knowledge base's templates/, where it wins."""
    target = root / "templates" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(TEMPLATES_DIR / name, target)
    return target


def copy_project(target: Path, with_fixtures: bool = True) -> Path:
    """The knowledge base as a fresh clone has it: hand-written files only, plus the test entries."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        if Path(folder).resolve() == ROOT:
            return {n for n in names if n in NOT_COPIED or n.endswith(".egg-info") or n.startswith(".")}
        return {n for n in names if n in ("__pycache__", ".pytest_cache", ".ruff_cache")}

    shutil.copytree(ROOT, target, ignore=ignore)
    for name in GENERATED_DIRS:
        shutil.rmtree(target / "docs" / name, ignore_errors=True)
    for name in GENERATED_FILES:
        (target / "docs" / name).unlink(missing_ok=True)
    if with_fixtures:
        for entry in FIXTURES.glob("*.yaml"):
            shutil.copy(entry, target / "entries" / entry.name)
    return target


def run_kb(*arguments: str | Path, **environment: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "kb.cli", *map(str, arguments)]
    return subprocess.run(command, capture_output=True, text=True, check=False, env=_env(**environment))


def _env(**extra: str) -> dict:
    return {**os.environ, "CI": "1", **extra}  # as in CI: no progress bars


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def built_site(tmp_path_factory) -> Project:
    """Build once per test session; later calls return the same project.

    The site is built for the address `site_url()` (KB_SITE_URL): Material's instant navigation only takes over
    links within its own site_url, so the browser tests serve the site exactly there.
    """
    if "project" not in _built:
        root = copy_project(tmp_path_factory.mktemp("kb") / "project")
        _built["port"] = free_port()
        completed = run_kb("-C", root, "build", KB_SITE_URL=site_url())
        assert completed.returncode == 0, completed.stdout + completed.stderr
        _built["project"] = root
    return Project(_built["project"])


def site_url() -> str:
    return f"http://127.0.0.1:{_built['port']}/"


def page(project: Project, url: str) -> str:
    """The built HTML of a site URL such as 'studies/<id>/'."""
    return (project.site_dir / url / "index.html").read_text(encoding="utf-8")


def article(document: str) -> str:
    """The page's own content (Material's <article>), without header, navigation and footer."""
    start = document.index('<article class="md-content__inner')
    return document[start : document.index("</article>", start)]


_INLINE_TAG = re.compile(r"</?(?:a|em|strong|span|i|b|small|code|time|abbr)\b[^>]*>")


def text_of(fragment: str) -> str:
    """Visible text of an HTML fragment: inline tags vanish, block tags separate words, whitespace collapsed."""
    text = re.sub(r"<[^>]+>", " ", _INLINE_TAG.sub("", fragment))
    return " ".join(html.unescape(text).split())


class TagCollector(HTMLParser):
    """Every start tag with its attributes, and the text inside each <script>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def collect_tags(document: str) -> TagCollector:
    collector = TagCollector()
    collector.feed(document)
    collector.close()
    return collector


def meta_tags(document: str) -> list[tuple[str, str]]:
    return [(a["name"], a.get("content") or "") for t, a in collect_tags(document).tags if t == "meta" and "name" in a]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def serve_folder(folder: Path, port: int = 0) -> tuple[http.server.ThreadingHTTPServer, str]:
    """A local HTTP server for a built site, in a daemon thread; returns it and its base URL."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"
