"""The built site, read as HTML: `kb build` on a copy of the knowledge base plus the fictional test entries.

The site is built once per session (see tests/site_support.py); the tests that need a failing or changing
build make their own, cheaper copies.
"""

from __future__ import annotations

import csv
import datetime
import html
import json
import re
import shutil
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import jsonschema
import pybtex.database
import pytest
import yaml
from site_support import (
    EDGE_ID,
    FIXTURES,
    INJECTION_ID,
    SEED_ID,
    SEED_REFERENCE,
    article,
    built_site,
    collect_tags,
    copy_project,
    meta_tags,
    override_template,
    page,
    run_kb,
    site_url,
    text_of,
    wait_for,
)

from kb.model import FACETS
from kb.validate import validate_entries
from kb.vocabulary import load_vocabulary

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    return built_site(tmp_path_factory)


@pytest.fixture(scope="session")
def studies(site):
    """The studies as the validator reads them, to check the pages against."""
    result = validate_entries(site.entry_paths(), load_vocabulary(site.vocabulary_path))
    assert result.ok(), [p.format() for p in result.errors]
    return {study.id: study for study in result.studies}


def html_pages(site) -> list[Path]:
    return sorted(site.site_dir.rglob("*.html"))


# --- study pages ---------------------------------------------------------------------------------------------


def test_seed_page_has_the_seed_sections_in_order(site):
    content = article(page(site, f"studies/{SEED_ID}"))
    headings = re.findall(r'<h2 id="([^"]+)"', content)
    seed_order = [
        "background",
        "study-overview",
        "key-findings",
        "safety",
        "discussion",
        "implications",
        "potential-application",
        "limitations",
        "conclusions",
        "certainty-of-the-evidence",
        "reference",
        "tags",
        "related-studies",
        "sources-and-review",
    ]
    assert headings == seed_order
    assert content.index("<h1") < content.index('<h2 id="background"')
    assert "How MDMA-assisted therapy boosts self-compassion and eases PTSD" in text_of(content.split("<h2")[0])


def test_seed_reference_is_exact_apa(site):
    content = article(page(site, f"studies/{SEED_ID}"))
    reference = re.search(r'<p class="kb-reference">(.*?)</p>', content, re.S).group(1)
    assert text_of(reference) == SEED_REFERENCE
    assert "<em>European Journal of Psychotraumatology</em>, <em>16</em>(1), Article 2485513." in reference
    assert '<a href="https://doi.org/10.1080/20008066.2025.2485513">' in reference


def test_seed_design_table_and_findings(site, studies):
    content = article(page(site, f"studies/{SEED_ID}"))
    design = text_of(re.search(r'<div class="kb-table-wrapper kb-design"[^>]*>(.*?)</div>', content, re.S).group(1))
    for expected in ("Design Secondary analysis", "Randomised Yes", "Blinding Double blind", "Phase Phase 3"):
        assert expected in design
    assert "Participants 82" in design and "Duration 18 weeks" in design and "Intervention MDMA: 3 sessions" in design
    findings = re.findall(r"<li>(.*?)</li>", re.search(r'<ul class="kb-findings">(.*?)</ul>', content, re.S).group(1))
    assert len(findings) == len(studies[SEED_ID].findings)
    assert text_of(findings[-1]).startswith("No difference Alcohol and other substance use:")
    assert "<svg" not in content  # the seed reports no effect sizes with intervals: no forest plot
    assert "Last reviewed" in text_of(content) or "last reviewed" in text_of(content)


def test_study_pages_carry_citation_meta_and_json_ld(site):
    document = page(site, f"studies/{SEED_ID}")
    meta = meta_tags(document)
    assert ("citation_title", studies_title := "Self-compassion mediates treatment effects in MDMA-assisted "
            "therapy for posttraumatic stress disorder") in meta  # fmt: skip
    authors = [content for name, content in meta if name == "citation_author"]
    assert authors == ["Agin-Liebes, Gabrielle", "Zeifman, Richard J.", "Mitchell, Jennifer M."]
    for pair in [
        ("citation_publication_date", "2025"),
        ("citation_journal_title", "European Journal of Psychotraumatology"),
        ("citation_volume", "16"),
        ("citation_issue", "1"),
        ("citation_firstpage", "2485513"),
        ("citation_doi", "10.1080/20008066.2025.2485513"),
    ]:
        assert pair in meta
    scripts = [a for t, a in collect_tags(document).tags if t == "script" and a.get("type") == "application/ld+json"]
    assert len(scripts) == 1
    data = json.loads(collect_tags(document).scripts[_json_ld_index(document)])
    assert data["@type"] == "MedicalWebPage" and "author" not in data  # the summary, not the paper
    paper = data["isBasedOn"]
    assert paper == data["about"] and paper["@type"] == "ScholarlyArticle" and paper["name"] == studies_title
    assert [a["familyName"] for a in paper["author"]] == ["Agin-Liebes", "Zeifman", "Mitchell"]
    assert paper["sameAs"] == "https://doi.org/10.1080/20008066.2025.2485513"


def _json_ld_index(document: str) -> int:
    scripts = [a for t, a in collect_tags(document).tags if t == "script"]
    return next(i for i, a in enumerate(scripts) if a.get("type") == "application/ld+json")


def test_every_page_links_the_atom_feed_in_its_head(site):
    for url in ("", f"studies/{SEED_ID}", "about"):
        tags = collect_tags(page(site, url)).tags
        assert any(t == "link" and a.get("rel") == "alternate" and a.get("type") == "application/atom+xml"
                   for t, a in tags), url  # fmt: skip


def test_cite_this_shows_bibtex_and_ris_that_parse(site, studies):
    """Each study page shows its BibTeX and RIS, with buttons that save them as <id>.bib and <id>.ris."""
    for study_id in studies:
        content = page(site, f"studies/{study_id}")
        shown = {
            key: html.unescape(text) for key, text in re.findall(r'<code id="cite-(\w+)">(.*?)</code>', content, re.S)
        }
        assert list(pybtex.database.parse_string(shown["bibtex"], "bibtex").entries) == [study_id]
        assert shown["ris"].startswith("TY  - ") and shown["ris"].rstrip().endswith("ER  -")
        buttons = re.findall(r'data-kb-download="cite-(\w+)" data-kb-file-name="([^"]+)"', content)
        assert buttons == [("bibtex", f"{study_id}.bib"), ("ris", f"{study_id}.ris")]
    assert not (site.site_dir / "downloads" / "cite").exists()  # no file per study: the page carries them


def test_forest_plots_only_where_effects_have_intervals(site):
    content = article(page(site, f"studies/{EDGE_ID}"))
    plots = re.findall(r"<svg.*?</svg>", content, re.S)
    assert len(plots) == 3  # mean difference, Hedges' g, hazard ratio: one plot per metric
    hazard = next(p for p in plots if "Hazard ratio" in p)
    assert "log scale" in hazard
    ticks = re.findall(r'class="kb-forest__tick" x="([\d.]+)"[^>]*>([^<]+)<', hazard)
    positions = {label: float(x) for x, label in ticks}
    # On a log scale 1 lies as far from 0.5 as 2 does from 1.
    assert positions["1"] - positions["0.5"] == pytest.approx(positions["2"] - positions["1"], abs=0.2)
    point = re.search(r'class="kb-forest__point" x="([\d.]+)"', hazard)
    assert positions["1"] < float(point.group(1)) + 5 < positions["2"]  # 1.8 lies between 1 and 2
    assert "Mean difference -4.5 [-7.25, -1.75]; p &lt; 0.001" in content


def test_tags_link_to_term_pages_and_term_pages_link_back(site, studies):
    for study in studies.values():
        content = article(page(site, f"studies/{study.id}"))
        for facet in FACETS:
            for slug in study.tags(facet):
                assert f'href="../../{facet}/{slug}/"' in content, (study.id, facet, slug)
                term = article(page(site, f"{facet}/{slug}"))
                assert f'href="../../studies/{study.id}/"' in term, (facet, slug, study.id)
    chips = re.findall(r'<a href="([^"]+)" class="md-tag">', page(site, f"studies/{SEED_ID}"))
    assert "../../mechanisms/self-compassion/" in chips


def test_term_pages_list_exactly_their_studies(site, studies):
    for facet in FACETS:
        expected = defaultdict(set)
        for study in studies.values():
            for slug in study.tags(facet):
                expected[slug].add(study.id)
        index = article(page(site, f"{facet}/"))
        for slug, ids in expected.items():
            term = article(page(site, f"{facet}/{slug}"))
            table = term[term.index("<table") :]
            assert set(re.findall(r'href="\.\./\.\./studies/([^/"]+)/"', table)) == ids
            row = re.search(rf'<a href="\.\./{facet}/{slug}/">[^<]+</a></td><td>(\d+)</td>', index)
            assert row and int(row.group(1)) == len(ids), (facet, slug)
        folder = site.site_dir / facet
        assert {p.name for p in folder.iterdir() if p.is_dir()} == set(expected)


def test_term_page_shows_description_synonyms_and_broader_term(site):
    content = text_of(article(page(site, "mechanisms/self-criticism")))
    assert "Harsh, judgemental attitudes toward oneself" in content
    assert "Also called: self-judgement" in content
    assert "Broader term: Self-compassion" in content
    assert 'href="../../mechanisms/self-compassion/"' in article(page(site, "mechanisms/self-criticism"))


# GRADE's rule, written out here and not taken from kb: high > moderate > low > very low
GRADE_BEST_FIRST = ("high", "moderate", "low", "very-low")


def test_evidence_matrix_counts_agree_with_the_entries(site, studies):
    content = article(page(site, "evidence"))
    for rows, columns in (("substances", "conditions"), ("mechanisms", "conditions")):
        expected = defaultdict(list)
        for study in studies.values():
            for row in study.tags(rows):
                for column in study.tags(columns):
                    expected[row, column].append(study)
        cell = r'data-count="(\d+)" data-participants="(\d+)" data-certainty="([a-z-]+)">'
        link = rf'<a href="\.\./studies/\?{rows}=([a-z0-9-]+)&amp;{columns}=([a-z0-9-]+)"'
        cells = re.findall(cell + link, content)
        found = {(r, c): (int(n), int(p), cert) for n, p, cert, r, c in cells}
        assert set(found) == set(expected)  # the shipped vocabulary is small enough for the whole grid
        for key, members in expected.items():
            best = min(members, key=lambda s: GRADE_BEST_FIRST.index(s.evidence.certainty)).evidence.certainty
            assert found[key] == (len(members), unique_participants(members, studies), best), key


def unique_participants(members, studies) -> int:
    """The rule written out again: reports joined into trials by parent entry ids and shared registration ids;
    a trial counts the largest n of its reports that name no parent entry (or of all, if each names one);
    reviews (systematic-review) count nobody."""
    trial = {s.id: s.id for s in studies.values()}

    def root(study_id):
        while trial[study_id] != study_id:
            study_id = trial[study_id]
        return study_id

    by_registration = {}
    for s in studies.values():
        if s.design.parent in studies:
            trial[root(s.id)] = root(s.design.parent)
        for registration in s.design.registration:
            key = registration.replace(" ", "").upper()
            if key in by_registration:
                trial[root(s.id)] = root(by_registration[key])
            by_registration.setdefault(key, s.id)
    groups = defaultdict(list)
    for s in members:
        if s.design.type != "systematic-review":
            groups[root(s.id)].append(s)
    total = 0
    for reports in groups.values():
        primary = [s for s in reports if s.design.parent not in studies] or reports
        total += max((s.sample.n or 0 for s in primary), default=0)
    return total


def test_study_table_has_every_study_with_filter_data(site, studies):
    content = article(page(site, "studies"))
    rows = re.findall(r"<tr data-substances=\"([^\"]*)\" data-conditions=\"([^\"]*)\".*?</tr>", content, re.S)
    assert len(rows) == len(studies)
    links = re.findall(r'<tr data-substances.*?<a href="\.\./studies/([^/"]+)/">', content)
    assert set(links) == set(studies)
    mdma_option = re.search(r'<option value="mdma">MDMA \((\d+)\)</option>', content)
    assert int(mdma_option.group(1)) == sum("mdma" in s.substances for s in studies.values())


def test_bibliography_is_alphabetical_by_first_author(site, studies):
    content = article(page(site, "bibliography"))
    items = re.findall(r'<span class="kb-reference">(.*?)</span> <a class="kb-summary-link"', content, re.S)
    assert len(items) == len(studies)
    first_authors = [text_of(item).split(",")[0].casefold() for item in items]
    assert first_authors == sorted(first_authors)  # APA 9.44: by the first author's family name
    letters = [letter for letter in re.findall(r'<h2 id="letter-([a-z]+)"', content) if letter != "other"]
    assert letters == sorted(letters) and {"a", "g", "m"} <= set(letters)
    assert SEED_REFERENCE in text_of(content)


def test_home_page_counts_studies_and_links_the_feed(site, studies):
    content = text_of(article(page(site, "")))
    assert f"{len(studies)} studies summarised" in content
    home = article(page(site, ""))
    for target in ('href="mechanisms/"', 'href="evidence/"', 'href="studies/"', 'href="feed.xml"'):
        assert target in home


def test_about_page_explains_the_certainty_words(site):
    content = text_of(article(page(site, "about")))
    for word in ("High", "Moderate", "Low", "Very low", "GRADE"):
        assert word in content


def test_study_pages_stay_out_of_the_navigation(site, studies):
    document = page(site, "about")
    navigation = re.findall(r'<a href="([^"]+)" class="md-nav__link', document)
    assert navigation and not any("studies/" in href and href.rstrip("/").split("/")[-1] in studies
                                  for href in navigation)  # fmt: skip


# --- downloads -----------------------------------------------------------------------------------------------


def test_downloads_parse(site, studies):
    downloads = site.site_dir / "downloads"
    bib = pybtex.database.parse_file(str(downloads / "references.bib"))
    assert set(bib.entries) == set(studies)
    assert bib.entries[SEED_ID].fields["title"].startswith("Self-compassion mediates")
    ris = (downloads / "references.ris").read_text(encoding="utf-8")
    assert ris.count("TY  - ") == len(studies) and ris.count("ER  - ") == len(studies)
    csl = json.loads((downloads / "references.json").read_text(encoding="utf-8"))
    assert {item["id"] for item in csl} == set(studies)
    records = json.loads((downloads / "studies.json").read_text(encoding="utf-8"))
    schema = json.loads((downloads / "study.schema.json").read_text(encoding="utf-8"))
    for record in records:
        jsonschema.validate(record, schema)
    assert {r["id"] for r in records} == set(studies)
    with open(downloads / "studies.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["id"] for r in rows} == set(studies)
    seed = next(r for r in rows if r["id"] == SEED_ID)
    assert seed["n"] == "82" and seed["doi"] == "10.1080/20008066.2025.2485513" and seed["certainty"] == "low"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet cell a formula (OWASP)


def test_csv_cells_cannot_run_as_spreadsheet_formulas(tmp_path):
    """An entry whose texts start with =, +, -, @ and a tab: studies.csv keeps each text behind an apostrophe, and
    no cell starts like a formula. (Validation refuses a CR in an entry; tests/test_regressions.py gives csv_line
    one directly.) The fixture site has no such text, so this builds a small knowledge base of its own."""
    root = copy_project(tmp_path / "project", with_fixtures=False)
    for entry in (root / "entries").glob("*.yaml"):
        if entry.stem not in (SEED_ID, "mitchell-2021-mdma-ptsd") and not entry.name.startswith("_"):
            entry.unlink()
    data = yaml.safe_load((root / "entries" / f"{SEED_ID}.yaml").read_text(encoding="utf-8"))
    data.update(id="zz-2025-formulas", headline='=HYPERLINK("https://example.org","click")', title="+1 for formulas")
    data["citation"].update(
        authors=[{"family": "-2+3", "given": "Ann"}, {"family": "Plain", "given": "Bob"}],
        journal="@SUM(A1:A9)",
        volume="\t=1+1",
        issue="\tplain after a tab",
        doi="10.5555/fixture.formulas",
    )
    data["findings"][0]["outcome"] = "-cmd|' /C calc'!A0"
    for key in ("parent", "registration"):
        data["design"].pop(key)
    del data["related"]
    (root / "entries" / "zz-2025-formulas.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    completed = run_kb("-C", root, "build", "--markdown-only")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    with open(root / "docs" / "downloads" / "studies.csv", newline="", encoding="utf-8") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    assert len(rows) == 3
    for row in rows.values():
        for column, value in row.items():
            assert not value.startswith(FORMULA_START), (column, value)
    formulas = rows["zz-2025-formulas"]
    assert formulas["headline"] == '\'=HYPERLINK("https://example.org","click")'
    assert formulas["title"] == "'+1 for formulas"
    assert formulas["authors"] == "'-2+3, Ann; Plain, Bob"
    assert formulas["journal"] == "'@SUM(A1:A9)"
    assert formulas["volume"] == "'=1+1" and formulas["issue"] == "plain after a tab"
    assert formulas["main_outcome"] == "'-cmd|' /C calc'!A0"
    assert rows[SEED_ID]["headline"] == "How MDMA-assisted therapy boosts self-compassion and eases PTSD"  # untouched


def test_atom_feed_lists_newest_additions_first(site, studies):
    tree = ET.parse(site.site_dir / "feed.xml")
    atom = "{http://www.w3.org/2005/Atom}"
    entries = tree.getroot().findall(f"{atom}entry")
    assert len(entries) == min(len(studies), 50)  # the newest 50
    published = [e.find(f"{atom}published").text for e in entries]
    assert published == sorted(published, reverse=True)
    links = [e.find(f"{atom}link").get("href") for e in entries]
    assert all(link.startswith(site_url()) for link in links)  # the site was built with KB_SITE_URL
    links = [link.removeprefix(site_url()) for link in links]
    assert all((site.site_dir / link / "index.html").is_file() for link in links)
    newest = max(studies.values(), key=lambda s: (s.record.added, s.id))
    assert links[0] == f"studies/{newest.id}/"
    datetime.datetime.fromisoformat(tree.getroot().find(f"{atom}updated").text.replace("Z", "+00:00"))


# --- escaping ------------------------------------------------------------------------------------------------


def test_injected_markup_is_shown_as_text_on_every_page(site):
    """No page anywhere runs or renders what the injection entry typed; its payloads all set window.__pwned."""
    for path in html_pages(site):
        document = path.read_text(encoding="utf-8")
        collected = collect_tags(document)
        for tag, attributes in collected.tags:
            handlers = [name for name in attributes if name.startswith("on")]
            assert not handlers, (path, tag, attributes)
            assert tag not in ("iframe", "img") or attributes.get("src") != "x", path
        for script in collected.scripts:
            assert "__pwned" not in script or script.startswith("{"), path  # only the escaped JSON-LD mentions it
    content = article(page(site, f"studies/{INJECTION_ID}"))
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", content, re.S).group(1)
    assert text_of(heading).startswith('Injected <script>window.__pwned = "headline"</script> headline')
    assert "&lt;img src=x onerror=" in content


def test_injected_page_has_no_extra_scripts_and_safe_json_ld(site):
    injected, clean = page(site, f"studies/{INJECTION_ID}"), page(site, f"studies/{SEED_ID}")
    assert len(collect_tags(injected).scripts) == len(collect_tags(clean).scripts)
    head = injected[: injected.index("</head>")]
    json_ld = collect_tags(injected).scripts[_json_ld_index(injected)]
    assert "</" not in json_ld and "<" not in json_ld
    data = json.loads(json_ld)
    assert data["about"]["name"].startswith('<script>window.__pwned = "title"</script> Trial of')
    assert data["name"].startswith('Injected <script>window.__pwned = "headline"</script> headline')
    assert '<meta name="citation_title" content="&lt;script&gt;' in head
    title = re.search(r"<title>(.*?)</title>", head, re.S).group(1)
    assert "<" not in title and "&lt;script&gt;" in title


def test_markdown_in_entry_text_stays_literal(site):
    content = article(page(site, f"studies/{INJECTION_ID}"))
    assert "**no bold**" in content and "<strong>no bold</strong>" not in content
    assert "*not emphasised*" in content and "<em>not emphasised</em>" not in content
    assert "[a link](https://example.org) and `code`" in content
    assert "--8&lt;-- &#34;mkdocs.yml&#34;" in content and "site_name:" not in content  # no snippet included
    assert "<pre><code>code" not in content and "<hr" not in content
    assert "onclick" not in content.replace("{: onclick=&#34;", "")


def test_notices_show_a_banner(site):
    retracted = article(page(site, f"studies/{INJECTION_ID}"))
    banner = re.search(r'<div class="admonition danger kb-notice" role="alert">(.*?)</div>', retracted, re.S)
    assert banner and "Retracted (2026-01-03)" in text_of(banner.group(1))
    assert retracted.index("kb-notice") < retracted.index("<h1")
    corrected = article(page(site, f"studies/{EDGE_ID}"))
    assert 'class="admonition warning kb-notice"' in corrected
    assert 'href="https://doi.org/10.5555/fixture.correction"' in corrected
    assert "Retracted" in text_of(article(page(site, "studies")).split(INJECTION_ID)[1][:2000])


def test_related_studies_link_both_ways(site):
    seed = article(page(site, f"studies/{SEED_ID}"))
    related = re.search(r'<ul class="kb-related">(.*?)</ul>', seed, re.S).group(1)
    linked = re.findall(r'href="\.\./\.\./studies/([^/"]+)/"', related)
    assert {"mitchell-2021-mdma-ptsd", EDGE_ID} <= set(linked)  # the seed names Mitchell; the edge case names it
    assert linked.index(EDGE_ID) < 2 and linked.index("mitchell-2021-mdma-ptsd") < 2  # explicit links first
    edge = article(page(site, f"studies/{EDGE_ID}"))
    assert f'href="../../studies/{SEED_ID}/"' in edge.split('id="related-studies"')[1]


def test_internal_links_resolve(site):
    """Every relative link in the generated pages points at a file of the built site."""
    for path in html_pages(site):
        if path.parent.name == "search" or path.name == "404.html":  # 404 links by absolute URL on purpose
            continue
        for tag, attributes in collect_tags(path.read_text(encoding="utf-8")).tags:
            href = attributes.get("href") if tag == "a" else None
            if not href or href.startswith(("http:", "https:", "#", "mailto:")):
                continue
            target = (path.parent / href.split("#")[0].split("?")[0]).resolve()
            target = target / "index.html" if target.is_dir() else target
            assert target.is_file(), (path.relative_to(site.site_dir), href)


# --- failures, incremental generation ------------------------------------------------------------------------


def test_bad_entry_fails_with_position_and_leaves_site_untouched(tmp_path):
    root = copy_project(tmp_path / "project", with_fixtures=False)
    (root / "site").mkdir()
    (root / "site" / "index.html").write_text("the published site", encoding="utf-8")
    bad = (root / "entries" / f"{SEED_ID}.yaml").read_text(encoding="utf-8").replace("certainty: low", "certainty: lo")
    (root / "entries" / f"{SEED_ID}.yaml").write_text(bad, encoding="utf-8")
    line = bad.splitlines().index("  certainty: lo") + 1
    completed = run_kb("-C", root, "build")
    assert completed.returncode == 1
    assert re.search(rf"entries/{SEED_ID}\.yaml:{line}:\d+: error: ", completed.stdout + completed.stderr)
    assert "Traceback" not in completed.stderr
    assert [p.name for p in (root / "site").iterdir()] == ["index.html"]
    assert (root / "site" / "index.html").read_text(encoding="utf-8") == "the published site"
    assert not (root / "docs" / "studies").exists()  # nothing generated either


def test_mkdocs_failure_leaves_site_untouched(tmp_path):
    root = copy_project(tmp_path / "project", with_fixtures=False)
    (root / "site").mkdir()
    (root / "site" / "index.html").write_text("the published site", encoding="utf-8")
    about = root / "docs" / "about.md"
    about.write_text(about.read_text(encoding="utf-8") + "\nSee [a page that is not there](missing.md).\n")
    completed = run_kb("-C", root, "build")
    assert completed.returncode == 1
    assert "missing.md" in completed.stderr and "site/ was not changed" in completed.stderr
    assert [p.name for p in (root / "site").iterdir()] == ["index.html"]
    assert not list((root / ".cache").glob("site-*"))  # the staging folder is cleaned up


def test_broken_template_points_at_the_template_line(tmp_path):
    root = copy_project(tmp_path / "project", with_fixtures=False)
    template = override_template(root, "term.md.j2")
    lines = template.read_text(encoding="utf-8").splitlines()
    lines.insert(5, "{{ page.no_such_field }}")
    template.write_text("\n".join(lines) + "\n", encoding="utf-8")
    completed = run_kb("-C", root, "build", "--markdown-only")
    assert completed.returncode == 1
    assert re.search(r"templates/term\.md\.j2:6:1: error: template error: .*no_such_field", completed.stdout)
    assert "Traceback" not in completed.stderr


def test_regeneration_writes_only_what_changed_and_removes_stale_pages(tmp_path):
    root = copy_project(tmp_path / "project", with_fixtures=False)
    entry = root / "entries" / f"{EDGE_ID}.yaml"
    shutil.copy(FIXTURES / entry.name, entry)
    assert run_kb("-C", root, "build", "--markdown-only").returncode == 0
    untouched = root / "docs" / "mechanisms" / "self-compassion.md"  # lists no study changed below
    before = untouched.stat().st_mtime_ns
    again = run_kb("-C", root, "build", "--markdown-only")
    assert again.returncode == 0 and " 0 file(s) written, 0 removed" in again.stderr
    entry.write_text(entry.read_text(encoding="utf-8") + "\n# a comment changes no page\n", encoding="utf-8")
    assert " 0 file(s) written" in run_kb("-C", root, "build", "--markdown-only").stderr
    text = entry.read_text(encoding="utf-8").replace("headline: An undated", "headline: A renamed undated")
    entry.write_text(text, encoding="utf-8")
    changed = run_kb("-C", root, "build", "--markdown-only")
    written = int(re.search(r"(\d+) file\(s\) written", changed.stderr).group(1))
    assert 0 < written < 30 and "A renamed undated" in (root / "docs" / "studies" / f"{EDGE_ID}.md").read_text()
    entry.unlink()
    removed = run_kb("-C", root, "build", "--markdown-only")
    assert removed.returncode == 0 and re.search(r"[1-9]\d* removed", removed.stderr)
    assert not (root / "docs" / "studies" / f"{EDGE_ID}.md").exists()
    assert EDGE_ID not in (root / "docs" / "downloads" / "references.bib").read_text(encoding="utf-8")
    assert untouched.stat().st_mtime_ns == before


def test_serve_regenerates_on_entry_changes_and_stops_cleanly(tmp_path):
    root = copy_project(tmp_path / "project", with_fixtures=False)
    entry = root / "entries" / f"{EDGE_ID}.yaml"
    shutil.copy(FIXTURES / entry.name, entry)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "kb.cli", "-C", str(root), "serve", "-a", f"127.0.0.1:{port}"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        served = wait_for(lambda: _http_get(f"http://127.0.0.1:{port}/studies/{EDGE_ID}/"))
        assert "An undated fictional study" in served
        entry.write_text(entry.read_text(encoding="utf-8").replace("headline: An", "headline: A renamed"), "utf-8")
        assert wait_for(lambda: "A renamed undated" in (root / "docs" / "studies" / f"{EDGE_ID}.md").read_text())
        assert wait_for(lambda: "A renamed undated" in _http_get(f"http://127.0.0.1:{port}/studies/{EDGE_ID}/"))
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert "Regenerated pages for" in errors
    assert wait_for(lambda: not _http_get(f"http://127.0.0.1:{port}/"), timeout=10) is not None  # MkDocs stopped


def _http_get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode("utf-8")
    except OSError:
        return ""
