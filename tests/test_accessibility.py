"""Accessibility and phone layout of the built site, in headless Chromium (see tests/test_browser.py).

axe-core (installed from npm by `npm ci`, pinned in package.json) audits the main kinds of page in the light and
the dark palette (Material picks one by `prefers-color-scheme`) at a desktop and a phone width, against WCAG 2.1
A and AA; any serious or critical violation fails. The phone checks: no page scrolls sideways, the columns a
reader decides by are on screen, forest plot text stays legible, the wide tables can be reached by keyboard.
"""

from __future__ import annotations

import pytest
from site_support import ROOT, SEED_ID

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PAGES = [
    "",
    f"studies/{SEED_ID}/",
    "conditions/ptsd/",
    "evidence/",
    "studies/",
    "bibliography/",
    "downloads/",
    "about/",
]
PHONE, DESKTOP = 390, 1280
PLOTTED_ID = "goodwin-2022-psilocybin-trd"  # a study with a forest plot
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def open_context(browser, base_url, width: int, scheme: str = "light", axe: bool = False):
    context = browser.new_context(
        base_url=base_url, viewport={"width": width, "height": 900}, color_scheme=scheme, reduced_motion="reduce"
    )
    if axe:
        context.add_init_script(path=str(AXE))
    return context


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_no_serious_axe_violations(browser, base_url, width, scheme):
    if not AXE.exists():
        pytest.fail(f"{AXE.relative_to(ROOT)} is missing: run `npm ci` (see package.json)")
    context = open_context(browser, base_url, width, scheme, axe=True)
    page = context.new_page()
    problems = []
    for url in PAGES:
        page.goto(url)
        page.wait_for_function("window.axe !== undefined && document.querySelector('.md-content')")
        assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == (
            "slate" if scheme == "dark" else "default"
        )
        violations = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"
            ".then(result => result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " targets: v.nodes.map(node => node.target.join(' '))})))",
            WCAG_21_AA,
        )
        for violation in violations:
            if violation["impact"] in ("serious", "critical"):
                targets = ", ".join(violation["targets"][:8]) + (" ..." if len(violation["targets"]) > 8 else "")
                problems.append(f"/{url} [{violation['impact']}] {violation['id']}: {violation['help']} -> {targets}")
    context.close()
    assert not problems, f"{scheme} palette at {width} px:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def phone(browser, base_url):
    context = open_context(browser, base_url, PHONE)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("url", [*PAGES, "mechanisms/self-compassion/", "substances/mdma/", "outcomes/"])
def test_no_page_scrolls_sideways_on_a_phone(phone, url):
    phone.goto(url)
    widths = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"/{url} is {widths[0]} px wide in a {widths[1]} px window"


def right_edges(page, selector: str) -> dict[str, float]:
    """The right edge of each header cell of a table, by its text."""
    return page.locator(selector).evaluate_all(
        "cells => Object.fromEntries(cells.map(c => [c.textContent.replace(/[▲▼]/g, '').trim(),"
        " c.getBoundingClientRect().right]))"
    )


def test_the_study_table_shows_certainty_next_to_the_study_on_a_phone(phone):
    phone.goto("studies/")
    phone.locator("[data-count]").filter(has_text="Showing").wait_for()
    edges = right_edges(phone, "[data-kb-study-table] thead th")
    width = phone.evaluate("window.innerWidth")
    for column in ("Study", "Certainty"):
        assert edges[column] <= width, (column, edges)


def test_the_evidence_matrix_scrolls_with_its_row_headings_in_view(browser, base_url):
    for width in (PHONE, DESKTOP):
        context = open_context(browser, base_url, width)
        page = context.new_page()
        page.goto("evidence/")
        wrapper = page.locator(".kb-matrix").first
        assert wrapper.get_attribute("tabindex") == "0" and wrapper.get_attribute("role") == "region"
        assert wrapper.get_attribute("aria-label")
        # every column is there (none hidden); scrolling to the far end leaves the row heading at the left edge
        columns = wrapper.locator("thead th").evaluate_all(
            "cells => cells.filter(c => getComputedStyle(c).display === 'none' || !c.offsetWidth).length"
        )
        assert columns == 0
        wrapper.evaluate("w => { w.scrollLeft = w.scrollWidth; }")
        heading = wrapper.locator("tbody th").first.bounding_box()
        box = wrapper.bounding_box()
        assert abs(heading["x"] - box["x"]) < 1.5, (width, heading, box)
        last = wrapper.locator("thead th").last.bounding_box()
        assert last["x"] + last["width"] <= box["x"] + box["width"] + 1.5
        context.close()


def test_scrollable_tables_are_keyboard_regions_with_names(phone):
    for url in (f"studies/{SEED_ID}/", "studies/", "conditions/ptsd/"):
        phone.goto(url)
        phone.wait_for_function("document.querySelectorAll('.kb-table-wrapper:not([tabindex])').length === 0")
        regions = phone.locator(".kb-table-wrapper").evaluate_all(
            "ws => ws.map(w => [w.getAttribute('role'), w.getAttribute('aria-label'), w.tabIndex])"
        )
        assert regions and all(role == "region" and label and index == 0 for role, label, index in regions), regions
    phone.goto("studies/")
    phone.locator("select[data-year=to]").focus()
    phone.keyboard.press("Tab")  # a keyboard reader arrives at the text filter
    field = phone.locator("[data-text]")
    assert field.evaluate("e => e === document.activeElement && e.matches(':focus-visible')")
    outline = field.evaluate("e => [getComputedStyle(e).outlineStyle, parseFloat(getComputedStyle(e).outlineWidth)]")
    assert outline[0] != "none" and outline[1] >= 2, outline


def test_copy_citation_buttons_are_named(phone):
    phone.goto(f"studies/{SEED_ID}/")
    names = phone.locator(".kb-cite details button").evaluate_all("bs => bs.map(b => b.getAttribute('aria-label'))")
    assert names == ["Copy the BibTeX citation to the clipboard", "Copy the RIS citation to the clipboard"]


@pytest.mark.parametrize("url", [f"studies/{PLOTTED_ID}/", "conditions/ptsd/"])
def test_forest_plot_text_is_legible_and_whole_on_a_phone(phone, url):
    phone.goto(url)
    texts = phone.locator(".kb-forest svg text").evaluate_all(
        "ts => ts.map(t => { const r = t.getBoundingClientRect(); return {text: t.textContent, height: r.height,"
        " left: r.left, right: r.right, clipped: getComputedStyle(t.ownerSVGElement).overflow !== 'visible'}; })"
    )
    width = phone.evaluate("window.innerWidth")
    assert texts
    for text in texts:
        assert text["height"] >= 10, text
        assert text["left"] >= 0 and text["right"] <= width and not text["clipped"], text  # whole, on screen


def test_study_page_on_a_phone_starts_with_its_title(phone):
    phone.goto(f"studies/{SEED_ID}/")
    assert phone.locator("article .md-tags").count() == 0 or not phone.locator("article .md-tags").is_visible()
    title = phone.locator(".kb-study-header h1").bounding_box()
    assert title["y"] < 200, title


def test_study_page_prints_as_a_handout(browser, base_url):
    context = open_context(browser, base_url, DESKTOP)
    page = context.new_page()
    page.goto(f"studies/{PLOTTED_ID}/")
    page.emulate_media(media="print")
    hidden = ".md-header, .md-tabs, .md-sidebar--primary, .md-sidebar--secondary, .md-footer, .kb-cite__downloads"
    assert page.locator(hidden).evaluate_all("es => es.every(e => !e.offsetParent && !e.getClientRects().length)")
    assert page.locator(".kb-forest svg").first.is_visible()
    after = page.locator(".kb-text a[href^=http]").first.evaluate("a => getComputedStyle(a, '::after').content")
    assert "http" in after, after
    context.close()
