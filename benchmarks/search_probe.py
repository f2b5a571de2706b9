"""Bytes a browser fetches for search before it shows the first result, measured in headless Chromium.

The built site is served from a local HTTP server; the probe opens the home page, types a query into the search
box, waits for the first result and adds up the search files the browser requested (Pagefind's script, its
WebAssembly, index chunks and result fragments, and kb-pagefind.js; or Material's index and worker). Sizes are
counted gzipped, as a static host would send them (Pagefind's index files are compressed already).
"""

from __future__ import annotations

import functools
import gzip
import http.server
import threading
import urllib.parse
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
SEARCH_FILES = ("/pagefind/", "/search/", "/assets/javascripts/workers/", "/assets/javascripts/kb-pagefind.js")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def wire_size(path: Path) -> int:
    """Bytes on the wire: gzipped, unless the file is compressed already (then as it is)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        return len(raw)
    return min(len(raw), len(gzip.compress(raw, compresslevel=6, mtime=0)))


def first_query_bytes(site: Path, query: str) -> dict:
    from playwright.sync_api import sync_playwright

    server, url = serve(site)
    fetched: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda request: fetched.append(urllib.parse.urlsplit(request.url).path))
            page.goto(url, wait_until="load")
            page.locator("input.md-search__input").click()
            page.locator("input.md-search__input").fill(query)
            page.locator(".md-search-result__item a").first.wait_for(timeout=60_000)
            results = page.locator(".md-search-result__item a").count()
            meta = page.locator(".md-search-result__meta").inner_text()
            browser.close()
    finally:
        server.shutdown()
    files = sorted({path for path in fetched if path.startswith(SEARCH_FILES)})
    sizes = {path: wire_size(site / urllib.parse.unquote(path).lstrip("/")) for path in files}
    return {
        "query": query,
        "bytes": sum(sizes.values()),
        "requests": len(files),
        "results": results,
        "meta": meta,
        "files": sizes,
    }
