"""A hostile `vocabulary.yml` (contributors change it by pull request): every label, description and synonym of
every facet and term carries Markdown links, attribute lists, raw HTML and script, and the built site is read
both as HTML and in headless Chromium, where a payload that ran would open a dialog.

Labels cannot hold < > " ` (kb validate refuses them, tested in test_validate.py), so their payloads are the
Markdown ones: a `javascript:` link and attribute lists that would add event handlers to a heading.
"""

from __future__ import annotations

import re

import pytest
import yaml
from site_support import collect_tags, copy_project, run_kb, serve_folder

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LABEL_PAYLOAD = "{ onfocus=alert(1) autofocus tabindex=0 } [x](javascript:alert(2)) *em* {: onclick=alert(3) }"
TEXT_PAYLOAD = (
    LABEL_PAYLOAD + ' <img src=x onerror=alert(4)> <script>alert(5)</script> "><svg onload=alert(6)> '
    "[y](javascript:alert(7)){ onmouseover=alert(8) } <a href=javascript:alert(9)>z</a>"
)
FACETS = ("mechanisms", "substances", "conditions", "designs", "settings")


def hostile_vocabulary(vocabulary: dict) -> dict:
    for facet in vocabulary.values():
        facet["label"] = f"{LABEL_PAYLOAD} {facet['label']}"
        facet["description"] = f"{TEXT_PAYLOAD} {facet.get('description', '')}"
        for slug, term in facet["terms"].items():
            term["label"] = f"{LABEL_PAYLOAD} {term['label']}"
            term["description"] = f"{TEXT_PAYLOAD} {term.get('description', '')}"
            term["synonyms"] = [*term.get("synonyms", []), f"{TEXT_PAYLOAD} {slug}"]
    return vocabulary


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("hostile") / "project", with_fixtures=False)
    path = root / "vocabulary.yml"
    path.write_text(yaml.safe_dump(hostile_vocabulary(yaml.safe_load(path.read_text("utf-8")))), "utf-8")
    completed = run_kb("-C", root, "build")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return root / "site"


def pages_of(site) -> list[str]:
    """Home, every facet index, one term page per facet, the matrix, the table, the bibliography, every study."""
    urls = ["", "evidence/", "studies/", "bibliography/", "downloads/"]
    for facet in FACETS:
        urls.append(f"{facet}/")
        terms = sorted(p.parent.name for p in (site / facet).glob("*/index.html"))
        urls += [f"{facet}/{slug}/" for slug in terms[:2]]
    urls += sorted(f"studies/{p.parent.name}/" for p in (site / "studies").glob("*/index.html"))
    return urls


def test_no_page_carries_a_handler_or_a_script_link(hostile_site):
    urls = pages_of(hostile_site)
    assert len(urls) > 20
    for url in urls:
        document = (hostile_site / url / "index.html").read_text("utf-8")
        for tag, attributes in collect_tags(document).tags:
            handlers = [name for name in attributes if name.startswith("on")]
            assert not handlers, f"{url}: <{tag}> has {handlers}"
            for name in ("href", "src", "action", "formaction", "xlink:href"):
                value = (attributes.get(name) or "").strip().lower()
                assert not value.startswith(("javascript:", "data:text/html")), f"{url}: <{tag} {name}={value}>"
        assert "alert(5)</script>" not in document  # the raw <script> stayed text
        assert not re.search(r"^(title|tags|jsonld):", document, re.MULTILINE)  # front matter never shown as text


@pytest.fixture(scope="module")
def served(hostile_site):
    server, url = serve_folder(hostile_site)
    yield url
    server.shutdown()
    server.server_close()


def test_nothing_runs_in_chromium_when_a_reader_focuses_hovers_and_clicks(hostile_site, served, browser):
    context = browser.new_context(base_url=served)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.route(re.compile(r"^(?!" + re.escape(served) + ").*"), lambda route: route.abort())
    for url in pages_of(hostile_site):
        page.goto(url)
        page.wait_for_load_state("load")
        shown = page.locator("article").inner_text()
        if url.startswith(FACETS) and url.count("/") == 2:
            assert "[x](javascript:alert(2))" in shown, url  # the label shows as typed, as text
        # what a reader does: tab through, hover and focus everything focusable, click same-page controls
        page.evaluate(
            """() => document.querySelectorAll('article a, article button, article [tabindex], h1, h2, td')
                 .forEach(el => { el.focus(); ['mouseover', 'mouseenter', 'focus', 'click'].forEach(type =>
                   el.dispatchEvent(new Event(type, {bubbles: true}))); })"""
        )
        for _ in range(8):
            page.keyboard.press("Tab")
        assert not page.evaluate(
            "[...document.querySelectorAll('*')].some(el => [...el.attributes].some(a => a.name.startsWith('on')))"
        ), url
        assert dialogs == [], f"{url}: {dialogs}"
    context.close()
