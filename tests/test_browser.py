"""The built site in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Served by a local HTTP server: Material's search, the study table's filters and sorting (through instant
navigation, as a reader would arrive), and the injected entry, whose payloads would set window.__pwned or open
a dialog if any of them ever ran.
"""

from __future__ import annotations

import re

import pytest
from site_support import INJECTION_ID, SEED_ID

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(base_url=base_url)
    tab = context.new_page()
    tab.dialogs = []
    tab.errors = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    # Anything outside the local server would be a network request the site must not make.
    tab.route(re.compile(r"^(?!" + re.escape(base_url) + ").*"), lambda route: route.abort())
    yield tab
    context.close()


def visible_rows(page) -> list:
    return page.locator("[data-kb-study-table] tbody tr:visible")


def search(page, query: str):
    """Type into Material's search once its index has loaded; returns the result links."""
    page.locator(".md-search__input").click()
    meta = page.locator(".md-search-result__meta")
    meta.filter(has_text="Type to start searching").wait_for(timeout=15000)  # until then it says "Initializing"
    page.locator(".md-search__input").press_sequentially(query, delay=20)  # Material listens for keys
    results = page.locator(".md-search-result__item a")
    results.first.wait_for(timeout=15000)
    return results


def test_search_finds_the_seed_study(page):
    page.goto("")
    results = search(page, "self-compassion")
    # results re-render while the query is typed: wait for the settled list instead of reading it mid-update
    found = (
        "id => [...document.querySelectorAll('.md-search-result__item a')].some(a => a.href.includes(`studies/${id}/`))"
    )
    page.wait_for_function(found, arg=SEED_ID, timeout=15000)
    hrefs = results.evaluate_all("links => links.map(link => link.getAttribute('href'))")
    assert any(f"studies/{SEED_ID}/" in href for href in hrefs), hrefs


def test_study_table_filters_by_facet_and_reads_the_query(page):
    page.goto("")
    page.evaluate("window.__sameDocument = true")
    page.locator(".md-tabs__link", has_text="Studies").click()
    page.wait_for_url("**/studies/")
    page.locator("[data-count]").filter(has_text="Showing").wait_for()
    assert page.evaluate("window.__sameDocument") is True  # instant navigation: the table set itself up anyway
    rows = visible_rows(page)
    total = page.locator("[data-kb-study-table] tbody tr").count()
    assert rows.count() == total > 3
    page.locator("select[data-filter=substances]").select_option("mdma")
    assert 0 < rows.count() < total
    for i in range(rows.count()):
        assert "mdma" in rows.nth(i).get_attribute("data-substances").split()
    assert page.locator("[data-count]").inner_text() == f"Showing {rows.count()} of {total} studies."
    assert "substances=mdma" in page.url
    page.locator("select[data-filter=conditions]").select_option("ptsd")
    both = rows.count()
    page.locator("[data-kb-study-filters] button[type=reset]").click()
    page.wait_for_function(
        f"document.querySelectorAll('[data-kb-study-table] tbody tr:not([hidden])').length == {total}"
    )
    page.goto("studies/?substances=mdma&conditions=ptsd")
    assert rows.count() == both
    assert page.locator("select[data-filter=conditions]").input_value() == "ptsd"
    page.locator("[data-text]").fill("self-compassion")
    assert rows.count() == 1 and SEED_ID in rows.first.inner_html()
    assert not page.errors


def test_study_table_filters_by_certainty_and_year(page):
    page.goto("studies/")
    rows = visible_rows(page)
    every = page.locator("[data-kb-study-table] tbody tr").evaluate_all("rows => rows.map(r => r.dataset.certainty)")
    assert 0 < every.count("low") < len(every)
    page.locator("select[data-filter=certainty]").select_option("low")
    assert rows.count() == every.count("low")  # all of them, not only none
    assert all(rows.nth(i).get_attribute("data-certainty") == "low" for i in range(rows.count()))
    page.locator("select[data-filter=certainty]").select_option("")
    offered = page.locator("select[data-year=from] option").evaluate_all("options => options.map(o => o.value)")
    first, last = int(offered[2]), int(offered[-2])  # skip "Any" and the oldest; leave out the newest
    page.locator("select[data-year=from]").select_option(str(first))
    page.locator("select[data-year=to]").select_option(str(last))
    years = [int(rows.nth(i).get_attribute("data-year")) for i in range(rows.count())]
    assert years and all(first <= year <= last for year in years)
    every = page.locator("[data-kb-study-table] tbody tr").evaluate_all("rows => rows.map(r => r.dataset.year)")
    assert len(years) == sum(1 for y in every if y and first <= int(y) <= last)


def test_study_table_sorts_by_column(page):
    page.goto("studies/")
    header = page.locator("[data-kb-study-table] thead th").nth(3)  # the "n" column
    assert header.inner_text().strip() == "n"

    def sample_sizes() -> list[int | None]:
        values = page.locator("[data-kb-study-table] tbody tr td:nth-child(4)").evaluate_all(
            "cells => cells.map(cell => cell.dataset.value)"
        )
        return [int(v) if v else None for v in values]

    header.locator("button").click()
    ascending = sample_sizes()
    known = [n for n in ascending if n is not None]
    assert known == sorted(known) and header.get_attribute("aria-sort") == "ascending"
    header.locator("button").click()
    descending = [n for n in sample_sizes() if n is not None]
    assert descending == sorted(known, reverse=True)
    page.locator("button.kb-sort", has_text="Study").click()
    titles = page.locator("[data-kb-study-table] tbody tr td:first-child").evaluate_all(
        "cells => cells.map(cell => cell.dataset.value.toLowerCase())"
    )
    assert titles == sorted(titles, key=lambda t: t)  # localeCompare and Python agree on these ASCII titles


@pytest.mark.parametrize(
    "url",
    [f"studies/{INJECTION_ID}/", "studies/", "evidence/", "bibliography/", "mechanisms/self-compassion/", ""],
)
def test_injected_script_never_runs(page, url):
    page.goto(url)
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)  # let onerror/onload handlers fire, if there were any
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []


def test_injected_text_is_visible_as_text_and_search_is_safe(page):
    page.goto(f"studies/{INJECTION_ID}/")
    heading = page.locator("article h1").first.inner_text()
    assert heading.startswith('Injected <script>window.__pwned = "headline"</script> headline')
    assert page.locator("article img").count() == 0 and page.locator("article iframe").count() == 0
    results = search(page, "Injected headline")
    assert "<script>" in results.first.inner_text()  # the title shows as text in the results, too
    page.wait_for_timeout(300)
    results.first.click()
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []


def test_term_page_link_opens_the_table_filtered(page):
    page.goto("mechanisms/self-compassion/")
    page.get_by_role("link", name="Filter them in the study table").click()
    page.wait_for_url("**/studies/?mechanisms=self-compassion")
    page.locator("[data-count]").filter(has_text="Showing").wait_for()
    assert page.locator("select[data-filter=mechanisms]").input_value() == "self-compassion"
    rows = visible_rows(page)
    assert rows.count() >= 2  # the seed and the injection fixture
    assert all("self-compassion" in rows.nth(i).get_attribute("data-mechanisms").split() for i in range(rows.count()))


def test_every_evidence_matrix_cell_opens_the_table_with_exactly_its_studies(page):
    """Every cell of both matrices, clicked through instant navigation as a reader does, then Back to the matrix.
    (The URL may end in the matrix's heading anchor: Material's anchor tracking, on the page being left, can write
    its hash onto the new address.)"""
    page.goto("evidence/")
    cells = page.locator("td.kb-cell[data-count]:not(.kb-cell--empty)")
    expected = cells.evaluate_all(
        "cells => cells.map(c => [c.dataset.count, c.querySelector('a').getAttribute('href')])"
    )
    assert len(expected) == cells.count() >= 5 and len({href for _, href in expected}) == len(expected)
    for count, href in expected:
        page.locator(f'td.kb-cell a[href="{href}"]').click()
        page.wait_for_url(re.compile(r".*/studies/\?\w+=[\w-]+&\w+=[\w-]+(#[\w-]*)?$"))
        page.locator("[data-count]").filter(has_text="Showing").wait_for()
        facets = dict(part.split("=") for part in href.split("?", 1)[1].split("&"))
        shown = visible_rows(page).evaluate_all("rows => rows.map(row => ({...row.dataset}))")
        assert len(shown) == int(count) > 0, href
        for facet, slug in facets.items():
            assert page.locator(f"select[data-filter={facet}]").input_value() == slug
            assert all(slug in row[facet].split() for row in shown), (href, shown)
        page.go_back()
        page.wait_for_url(re.compile(r".*/evidence/(#[\w-]*)?$"))


def test_cite_buttons_save_the_shown_bibtex_and_ris_as_files(page):
    """Reached through instant navigation (the buttons must work on a page swapped in without a reload)."""
    page.goto("studies/")
    page.locator(f'a[href$="{SEED_ID}/"]').first.click()
    page.wait_for_url(f"**/studies/{SEED_ID}/")
    for button_name, file_name, shown in (
        ("Download BibTeX", f"{SEED_ID}.bib", "#cite-bibtex"),
        ("Download RIS", f"{SEED_ID}.ris", "#cite-ris"),
    ):
        with page.expect_download() as download_info:
            page.get_by_role("button", name=button_name).click()
        download = download_info.value
        assert download.suggested_filename == file_name
        with open(download.path(), encoding="utf-8") as saved:
            assert saved.read() == page.locator(shown).text_content()
    bibtex = page.locator("#cite-bibtex").text_content()
    assert bibtex.startswith(f"@article{{{SEED_ID},") and "doi = {10.1080/20008066.2025.2485513}" in bibtex
    assert page.errors == []


def test_text_filter_ignores_case_and_hyphens_and_an_impossible_year_range_says_so(page):
    page.goto("studies/")
    rows = visible_rows(page)
    page.locator("[data-text]").fill("self-compassion")
    hyphenated = sorted(rows.nth(i).get_attribute("data-mechanisms") or "" for i in range(rows.count()))
    assert hyphenated
    page.locator("[data-text]").fill("Self  Compassion")
    spaced = sorted(rows.nth(i).get_attribute("data-mechanisms") or "" for i in range(rows.count()))
    assert spaced == hyphenated
    page.locator("[data-text]").fill("")
    years = page.locator("select[data-year=from] option").evaluate_all("options => options.map(o => o.value)")
    years = [year for year in years if year]
    page.locator("select[data-year=from]").select_option(years[-1])
    page.locator("select[data-year=to]").select_option(years[0])
    assert page.locator("[data-count]").inner_text() == (
        f"No study can match: the first year ({years[-1]}) is after the last ({years[0]})."
    )
