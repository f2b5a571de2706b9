"""`kb serve` in front of either engine: a broken edit keeps the server up and the last good page served, shows
the error in the terminal and on the page, and the fix shows like any edit; while the engine rebuilds, the last
good pages stay served. Also the site built by the second engine, Zensical."""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from site_support import SEED_ID, article, copy_project, free_port, page, run_kb, text_of, wait_for

from kb import preview
from kb.engines import ENGINE_CONFIG
from kb.project import Project

TIMEOUT = 120


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:
        return 0, ""


def waited(condition, what: str = "the preview"):
    found = wait_for(condition, TIMEOUT)
    assert found, f"{what} did not happen within {TIMEOUT} s"
    return found


class Serving:
    """`kb serve` on a free port, stopped (with its engine) at the end."""

    def __init__(self, root: Path, engine: str, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "kb.cli", "-C", str(root), "serve", "--engine", engine]
        self.log = log
        with log.open("wb") as output:
            env = {**os.environ, "CI": "1"}
            address = ["-a", f"127.0.0.1:{self.port}"]
            self.process = subprocess.Popen(command + address, stdout=output, stderr=output, env=env)

    def page(self, path: str) -> tuple[int, str]:
        return fetch(self.url + path)

    def status(self) -> list[str]:
        code, body = fetch(self.url + preview.STATUS_PATH)
        return json.loads(body)["problems"] if code == 200 else ["(no answer)"]

    def said(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["mkdocs", "zensical"])
def test_a_broken_edit_keeps_the_last_good_page_and_shows_the_error(tmp_path, engine):
    root = copy_project(tmp_path / "kb", with_fixtures=False)
    entry = root / "entries" / f"{SEED_ID}.yaml"
    good = entry.read_text(encoding="utf-8")
    server = Serving(root, engine, tmp_path / "serve.log")
    path = f"/studies/{SEED_ID}/"
    try:
        first = waited(lambda: (lambda answer: answer if answer[0] == 200 else None)(server.page(path)))[1]
        assert preview.STATUS_PATH in first  # the banner script is on every page

        entry.write_text(good.replace("\nheadline:", "\nheadlin:", 1), encoding="utf-8")
        problems = waited(lambda: [p for p in server.status() if "headlin" in p], what="the error")
        assert any(re.search(rf"{SEED_ID}\.yaml:\d+:1: error: unknown key 'headlin'", p) for p in problems)
        assert "unknown key 'headlin'" in server.said()  # and in the terminal
        code, body = server.page(path)
        assert code == 200 and text_of(article(body)) == text_of(article(first))  # the last good page, still served
        assert server.process.poll() is None

        edited = good.replace("\nheadline: ", "\nheadline: Edited after a mistake, ", 1)
        entry.write_text(edited, encoding="utf-8")
        waited(lambda: "Edited after a mistake" in server.page(path)[1], what="the fixed edit")
        assert server.status() == []
    finally:
        server.stop()
    assert not (root / ENGINE_CONFIG).exists()


@pytest.mark.browser
@pytest.mark.parametrize("engine", ["mkdocs", "zensical"])
def test_the_error_shows_on_the_open_page_and_the_fix_reloads_it(tmp_path, browser, engine):
    """Through kb's preview server: the banner comes and goes, and the engine's live reload (MkDocs: long-polled
    HTTP; Zensical: a WebSocket) still reloads the open page."""
    root = copy_project(tmp_path / "kb", with_fixtures=False)
    entry = root / "entries" / f"{SEED_ID}.yaml"
    good = entry.read_text(encoding="utf-8")
    server = Serving(root, engine, tmp_path / "serve.log")
    try:
        waited(lambda: server.page(f"/studies/{SEED_ID}/")[0] == 200)
        tab = browser.new_page()
        tab.goto(f"{server.url}/studies/{SEED_ID}/")
        entry.write_text(good.replace("\nheadline:", "\nheadlin:", 1), encoding="utf-8")
        banner = tab.locator("#kb-preview-error")
        banner.wait_for(state="visible", timeout=TIMEOUT * 1000)
        assert banner.get_attribute("role") == "alert"
        assert "unknown key 'headlin'" in banner.inner_text()
        entry.write_text(good.replace("\nheadline: ", "\nheadline: Reloaded by itself, ", 1), encoding="utf-8")
        banner.wait_for(state="detached", timeout=TIMEOUT * 1000)
        tab.locator("h1", has_text="Reloaded by itself").wait_for(timeout=TIMEOUT * 1000)  # no goto: live reload
        tab.close()
    finally:
        server.stop()


def test_the_preview_serves_the_last_good_answer_while_the_engine_has_none(tmp_path):
    """A stand-in engine that answers 404 (MkDocs while it rebuilds) or not at all (restarting)."""
    answers = {"/a/": (200, b"<html><body><p>A page</p></body></html>")}

    class Engine(http.server.BaseHTTPRequestHandler):
        def log_message(self, *arguments):
            pass

        def do_GET(self):  # noqa: N802
            code, body = answers.get(self.path, (404, b"not found"))
            self.send_response(code)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    engine = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Engine)
    threading.Thread(target=engine.serve_forever, daemon=True).start()
    state = preview.PreviewState()
    proxy = preview.make_server(("127.0.0.1", 0), engine.server_address, state)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{proxy.server_address[1]}"
    try:
        code, body = fetch(url + "/a/")
        assert code == 200 and "A page" in body and body.count(preview.STATUS_PATH) == 1
        answers["/a/"] = (404, b"gone while rebuilding")
        assert fetch(url + "/a/")[1] == body  # the last good answer
        assert fetch(url + "/never/")[0] == 404  # nothing good to fall back on: the engine's answer
        state.set(["entries/x.yaml:3:1: error: <b>broken</b>"])
        status = json.loads(fetch(url + preview.STATUS_PATH)[1])
        assert status == {"problems": ["entries/x.yaml:3:1: error: <b>broken</b>"]}
        engine.shutdown()
        engine.server_close()
        assert fetch(url + "/a/")[1] == body  # the engine is down: still the last good page
        assert fetch(url + "/b/")[0] == 503
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_the_banner_script_sets_text_never_html():
    """The problems reach the page as JSON and are set with textContent: an entry's text cannot become markup."""
    script = preview.BANNER_SCRIPT.decode()
    assert "textContent" in script and "innerHTML" not in script and "insertAdjacentHTML" not in script


@pytest.mark.slow
def test_the_shipped_site_builds_with_zensical(tmp_path):
    root = copy_project(tmp_path / "kb")
    (root / "site").mkdir()
    (root / "site" / "old.html").write_text("the site before", encoding="utf-8")
    built = run_kb("-C", root, "build", "--engine", "zensical")
    assert built.returncode == 0, built.stdout + built.stderr
    assert "(Zensical" in built.stderr
    assert not (root / "site" / "old.html").exists() and not (root / ENGINE_CONFIG).exists()
    study = page(Project(root), f"studies/{SEED_ID}/")
    assert '<script type="application/ld+json">' in study
    assert 'class="md-tag' in study  # the tags partial of the theme overrides
    assert (root / "site" / "kb-assets" / "kb.css").is_file()
    for listing in ("studies/", "evidence/", "bibliography/", "mechanisms/self-compassion/"):
        assert (root / "site" / listing / "index.html").is_file(), listing
    broken = _broken_links(root / "site")
    assert not broken, broken[:10]


def _broken_links(site: Path) -> list[str]:
    """Relative links and sources of every page that point at no file of the site."""
    import html
    from urllib.parse import unquote, urljoin, urlparse

    broken = []
    for document in site.rglob("*.html"):
        base = "http://site/" + document.relative_to(site).as_posix()
        for target in re.findall(r'(?:href|src)="([^"]*)"', document.read_text(encoding="utf-8", errors="replace")):
            target = html.unescape(target)
            if not target or target.startswith(("http:", "https:", "mailto:", "#", "data:")):
                continue
            path = site / unquote(urlparse(urljoin(base, target)).path.lstrip("/"))
            if not (path.exists() or (path / "index.html").exists()):
                broken.append(f"{document.relative_to(site)} -> {target}")
    return broken
