"""Pagefind as the search backend (mkdocs.yml: extra: kb_search: pagefind), in headless Chromium.

`kb build` indexes the built site with Pagefind; Material's search box then asks Pagefind, never downloading
Material's whole-site search_index.json, and shows what contributors typed as text.
"""

from __future__ import annotations

import re

import pytest
from site_support import INJECTION_ID, SEED_ID, copy_project, run_kb, serve_folder

from kb.build import search_backend
from kb.project import Project

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest.importorskip("pagefind")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("kb") / "project")
    config = root / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8") + "\nextra:\n  kb_search: pagefind\n", encoding="utf-8")
    completed = run_kb("-C", root, "build")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return root / "site"


@pytest.fixture(scope="module")
def base_url(site):
    server, url = serve_folder(site)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture
def page(base_url):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}).new_page()
        tab.requested, tab.dialogs = [], []
        tab.on("request", lambda request: tab.requested.append(request.url))
        tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
        tab.route(re.compile(r"^(?!" + re.escape(base_url) + ").*"), lambda route: route.abort())
        yield tab
        browser.close()


def search(page, query: str):
    page.locator("input.md-search__input").click()
    page.locator("input.md-search__input").fill(query)
    results = page.locator(".md-search-result__item a")
    results.first.wait_for(timeout=30000)
    return results


@pytest.mark.parametrize(
    ("extra", "backend"),
    [("", "material"), ("extra:\n  kb_search: pagefind\n", "pagefind"), ("extra:\n  kb_search: lunr\n", "material")],
)
def test_the_backend_is_read_from_mkdocs_yml(tmp_path, extra, backend):
    (tmp_path / "mkdocs.yml").write_text(f"site_name: X\nsite_url: !ENV [KB_SITE_URL, 'http://x/']\n{extra}")
    assert search_backend(Project(tmp_path)) == backend


def test_the_build_writes_a_pagefind_index(site):
    assert (site / "pagefind" / "pagefind.js").is_file()
    assert list((site / "pagefind" / "index").glob("*.pf_index"))
    assert (site / "assets" / "javascripts" / "kb-pagefind.js").is_file()


def test_material_search_indexes_nothing_when_pagefind_is_the_search(site):
    assert not (site / "search" / "search_index.json").exists()  # no page parsed for an index nobody fetches
    home = (site / "index.html").read_text(encoding="utf-8")
    assert 'class="md-search__input"' in home and "kb-pagefind.js" in home  # the box Pagefind drives


def test_search_box_finds_the_seed_study_through_pagefind_only(page):
    page.goto("")
    results = search(page, "self-compassion")
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any(f"studies/{SEED_ID}/" in href for href in hrefs), hrefs
    assert "matching document" in page.locator(".md-search-result__meta").inner_text()
    assert any("/pagefind/" in url for url in page.requested)
    assert not any("search_index.json" in url for url in page.requested)  # Material's index is never fetched
    results.first.click()
    page.wait_for_load_state("load")
    assert "/studies/" in page.url


def test_injected_text_shows_as_text_in_results(page):
    page.goto(f"studies/{INJECTION_ID}/")
    results = search(page, "Injected headline")
    assert "<script>" in results.first.inner_text()
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []
