"""What a reader (and a machine reading for one) meets besides the page text: the site's address, metadata for
search engines and link previews, Material's search index, and the Atom feed.

The fixture site (tests/site_support.py) is built with a local KB_SITE_URL; the address tests build their own
copies without the fixture entries, once without KB_SITE_URL and once with a published address under a path.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from site_support import (
    INJECTION_ID,
    SEED_ID,
    article,
    built_site,
    collect_tags,
    copy_project,
    page,
    run_kb,
    text_of,
)

from kb.project import Project

pytestmark = pytest.mark.slow

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
PUBLISHED = "https://example.org/kb/"
SEED_DOI = "10.1080/20008066.2025.2485513"


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    return built_site(tmp_path_factory)


def _build(tmp_path_factory, name: str, **environment: str) -> Project:
    root = copy_project(tmp_path_factory.mktemp(name) / "project", with_fixtures=False)
    completed = run_kb("-C", root, "build", **environment)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return Project(root)


@pytest.fixture(scope="module")
def unaddressed(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.delenv("KB_SITE_URL", raising=False)
    return _build(tmp_path_factory, "unaddressed")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    return _build(tmp_path_factory, "published", KB_SITE_URL=PUBLISHED)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _head(document: str) -> str:
    return document[: document.index("</head>")]


def _properties(document: str) -> dict[str, str]:
    """The Open Graph (property=) and Twitter (name=) meta tags of the page's <head>, unescaped."""
    tags = collect_tags(_head(document)).tags
    found = {}
    for tag, attributes in tags:
        key = attributes.get("property") or attributes.get("name") or ""
        if tag == "meta" and key.startswith(("og:", "twitter:")):
            found[key] = attributes.get("content") or ""
    return found


def _json_ld(document: str) -> dict:
    collected = collect_tags(document)
    scripts = [a for t, a in collected.tags if t == "script"]
    index = next(i for i, a in enumerate(scripts) if a.get("type") == "application/ld+json")
    return json.loads(collected.scripts[index])


# --- the site's address ----------------------------------------------------------------------------------------


def test_without_an_address_no_page_claims_one(unaddressed):
    """No KB_SITE_URL: no canonical link, sitemap entry, feed link or metadata names a made-up host."""
    site = unaddressed.site_dir
    for path in site.rglob("*.html"):
        document = path.read_text(encoding="utf-8")
        if path.parent.name == "contributing":  # CONTRIBUTING.md tells contributors where `kb serve` previews
            document = document.replace(article(document), "")
        assert "127.0.0.1" not in document and "localhost" not in document, path.relative_to(site)
        assert not any(t == "link" and a.get("rel") == "canonical" for t, a in collect_tags(document).tags), path
    for name in ("sitemap.xml", "feed.xml"):
        assert "127.0.0.1" not in (site / name).read_text(encoding="utf-8"), name
    assert ET.parse(site / "sitemap.xml").getroot().findall(f"{SITEMAP}url") == []
    for link in ET.parse(site / "feed.xml").getroot().iter(f"{ATOM}link"):
        assert not link.get("href").startswith(("http:", "https:", "/")), link.get("href")
    document = page(unaddressed, f"studies/{SEED_ID}")
    assert "og:url" not in _properties(document) and "url" not in _json_ld(document)


def test_without_an_address_instant_navigation_is_off(unaddressed, published):
    """Material's instant navigation needs site_url (it follows only links listed in the sitemap)."""

    def features(project: Project) -> list[str]:
        config = re.search(r'<script id="__config" type="application/json">(.*?)</script>', page(project, ""), re.S)
        return json.loads(config.group(1))["features"]

    assert "navigation.instant" not in features(unaddressed)
    assert "navigation.instant" in features(published)


def test_a_configured_address_is_used_everywhere(published):
    site = published.site_dir
    document = page(published, f"studies/{SEED_ID}")
    canonical = [a["href"] for t, a in collect_tags(document).tags if t == "link" and a.get("rel") == "canonical"]
    assert canonical == [f"{PUBLISHED}studies/{SEED_ID}/"]
    assert _properties(document)["og:url"] == f"{PUBLISHED}studies/{SEED_ID}/"
    data = _json_ld(document)
    assert data["url"] == f"{PUBLISHED}studies/{SEED_ID}/" and data["isPartOf"]["url"] == PUBLISHED
    locations = [loc.text for loc in ET.parse(site / "sitemap.xml").getroot().iter(f"{SITEMAP}loc")]
    assert locations and all(loc.startswith(PUBLISHED) for loc in locations)
    assert f"{PUBLISHED}studies/{SEED_ID}/" in locations
    feed = ET.parse(site / "feed.xml").getroot()
    links = [link.get("href") for link in feed.iter(f"{ATOM}link")]
    assert f"{PUBLISHED}feed.xml" in links and PUBLISHED in links
    assert all(link.startswith(PUBLISHED) for link in links)
    for path in site.rglob("*.html"):
        assert "127.0.0.1" not in _head(path.read_text(encoding="utf-8")), path.relative_to(site)


# --- metadata: JSON-LD, Open Graph, Twitter cards ------------------------------------------------------------


def test_json_ld_describes_the_summary_page_based_on_the_paper(site, studies_by_id):
    data = _json_ld(page(site, f"studies/{SEED_ID}"))
    study = studies_by_id[SEED_ID]
    assert data["@context"] == "https://schema.org" and data["@type"] == "MedicalWebPage"
    assert data["name"] == " ".join(study.headline.split()) and data["description"]
    assert data["dateModified"] == (study.record.reviewed or study.record.added)
    assert data["isPartOf"]["@type"] == "WebSite" and data["isPartOf"]["name"] == data["publisher"]["name"]
    assert "author" not in data  # the authors are the paper's, not the summary's
    for key in ("about", "isBasedOn"):
        paper = data[key]
        assert paper["@type"] == "ScholarlyArticle"
        assert paper["name"].startswith("Self-compassion mediates treatment effects")
        assert paper["identifier"] == {"@type": "PropertyValue", "propertyID": "DOI", "value": SEED_DOI}
        assert paper["sameAs"] == f"https://doi.org/{SEED_DOI}"
        assert paper["datePublished"] == "2025"
        assert paper["isPartOf"] == {"@type": "Periodical", "name": "European Journal of Psychotraumatology"}
        assert [a["name"] for a in paper["author"]][0] == "Gabrielle Agin-Liebes"


def test_study_pages_have_open_graph_and_twitter_tags(site, studies_by_id):
    document = page(site, f"studies/{SEED_ID}")
    tags = _properties(document)
    headline = " ".join(studies_by_id[SEED_ID].headline.split())
    assert tags["og:type"] == "article" and tags["twitter:card"] == "summary"
    assert tags["og:title"] == tags["twitter:title"] == headline
    assert tags["og:description"] == tags["twitter:description"] and len(tags["og:description"]) > 50
    assert tags["og:site_name"] == "Psychedelic Evidence Summaries"
    assert tags["og:url"].endswith(f"/studies/{SEED_ID}/")
    meta = [a.get("name") for t, a in collect_tags(_head(document)).tags if t == "meta"]
    assert "citation_title" in meta and "citation_doi" in meta  # Zotero reads these; they stay


def test_other_pages_have_basic_open_graph_tags(site):
    for url, title in (("", "Psychedelic Evidence Summaries"), ("about", "About and methodology")):
        tags = _properties(page(site, url))
        assert tags["og:type"] == "website" and tags["og:title"] == tags["twitter:title"] == title, url
        assert tags["og:description"] and tags["twitter:card"] == "summary"
    assert _properties(page(site, "conditions/ptsd"))["og:title"] == "Posttraumatic stress disorder"


def test_injected_headline_stays_escaped_in_link_preview_tags(site):
    document = page(site, f"studies/{INJECTION_ID}")
    head = _head(document)
    tags = _properties(document)
    assert tags["og:title"].startswith('Injected <script>window.__pwned = "headline"</script> headline')
    assert tags["twitter:title"] == tags["og:title"]
    assert '<meta property="og:title" content="Injected &lt;script&gt;window.__pwned' in head
    assert "&amp;lt;" not in head  # escaped once, not twice
    before = head.index('<meta property="og:title"')
    assert head.count("<script", before, head.index(">", before)) == 0
    assert all(not name.startswith("on") for _, a in collect_tags(head).tags for name in a)
    data = _json_ld(document)
    assert data["name"] == tags["og:title"]  # the same text, safely inside the <script> (no '<' in it)
    raw = re.search(r'<script type="application/ld\+json">(.*?)</script>', head, re.S).group(1)
    assert "<" not in raw and ">" not in raw


# --- Material's search index ---------------------------------------------------------------------------------


def test_search_index_leaves_out_listings_and_citation_blocks(site):
    docs = json.loads((site.site_dir / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    for doc in docs:
        assert "TY  - " not in doc["text"] and "ER  - " not in doc["text"], doc["location"]
        assert "@article{" not in doc["text"] and "@book{" not in doc["text"], doc["location"]
    condition = " ".join(d["text"] for d in docs if d["location"].startswith("conditions/ptsd/"))
    assert condition  # the page itself is still indexed: its description and findings
    assert "Main finding" not in condition and "<table" not in condition  # not the table of studies
    studies = next(d for d in docs if d["location"] == "conditions/ptsd/#studies")
    assert not text_of(studies["text"])
    seed = " ".join(d["text"] for d in docs if d["location"].startswith(f"studies/{SEED_ID}/"))
    assert "self-compassion" in seed.lower()  # the study's own page is still found


# --- the Atom feed -------------------------------------------------------------------------------------------


def test_feed_is_atom_with_a_readable_stylesheet(site):
    feed = site.site_dir / "feed.xml"
    text = feed.read_text(encoding="utf-8")
    assert '<?xml-stylesheet type="text/xsl" href="kb-assets/feed.xsl"?>' in text.split("<feed", 1)[0]
    root = ET.parse(feed).getroot()
    assert root.tag == f"{ATOM}feed" and root.findall(f"{ATOM}entry")
    stylesheet = ET.parse(site.site_dir / "kb-assets" / "feed.xsl").getroot()
    assert stylesheet.tag == "{http://www.w3.org/1999/XSL/Transform}stylesheet"
    templates = [t.get("match") for t in stylesheet.iter("{http://www.w3.org/1999/XSL/Transform}template")]
    assert "/atom:feed" in templates
    assert "disable-output-escaping" not in (site.site_dir / "kb-assets" / "feed.xsl").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def studies_by_id(site):
    from kb.validate import validate_entries
    from kb.vocabulary import load_vocabulary

    result = validate_entries(site.entry_paths(), load_vocabulary(site.vocabulary_path))
    return {study.id: study for study in result.studies}
