"""APA 7 reference lines, written as a pybtex formatting style in pybtex's template language.

pybtex knows nothing of APA: the rules it lacks (initials with hyphens kept, "&" before the last author, the
first 19 authors ". . ." the last, "(n.d.)", the DOI as a URL) are the nodes and templates below. Fields are read
raw, so a title is never parsed as LaTeX; the HTML and Markdown backends escape everything a contributor typed.

Example:

    >>> join_names(["Agin-Liebes, G.", "Zeifman, R. J.", "Mitchell, J. M."])
    'Agin-Liebes, G., Zeifman, R. J., & Mitchell, J. M.'
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from html import escape

from pybtex import richtext
from pybtex.backends import html as html_backend
from pybtex.backends import markdown as markdown_backend
from pybtex.backends import plaintext as plaintext_backend
from pybtex.database import Entry, Person
from pybtex.style.formatting import BaseStyle
from pybtex.style.template import (
    FieldIsMissing,
    field,
    first_of,
    href,
    join,
    node,
    optional,
    optional_field,
    sentence,
    tag,
    words,
)

from kb.model import Citation
from kb.references.fields import organisation_name, to_entry
from kb.references.titles import capitalise_after_colon

APA_MAX_AUTHORS = 20  # APA 7 lists up to 20; beyond that the first 19, an ellipsis and the last
DOI_RESOLVER = "https://doi.org/"


@dataclass(frozen=True)
class Reference:
    """One APA 7 reference in three renderings: plain text, HTML (escaped, <em>, DOI link) and Markdown."""

    text: str
    html: str
    markdown: str


_GIVEN_WORD = re.compile(r"[^\s.\-\u2010\u2011]+(?:[-\u2010\u2011]+[^\s.\-\u2010\u2011]+)*")


def initials(given: str) -> str:
    """APA initials of given names: hyphenated names keep their hyphen.

    >>> initials("Richard J."), initials("Jean-Pierre"), initials("J.-P."), initials("J.R.R.")
    ('R. J.', 'J.-P.', 'J.-P.', 'J. R. R.')
    """
    result = []
    for word in _GIVEN_WORD.findall(given.replace(".-", "-")):
        parts = [next((ch for ch in part if ch.isalpha()), "") for part in re.split(r"[-\u2010\u2011]+", word)]
        letters = [f"{ch}." for ch in parts if ch]
        if letters:
            result.append("-".join(letters))
    return " ".join(result)


def apa_name(person: Person, inverted: bool = True) -> str:
    """An author as "Family, G. M., Jr.", an editor as "G. M. Family Jr."; organisations as written.

    >>> apa_name(Person(first="Bessel A.", last="van der Kolk")), apa_name(Person(first="Ann", last="Lee"), False)
    ('van der Kolk, B. A.', 'A. Lee')
    """
    organisation = organisation_name(person)
    if organisation is not None:
        return organisation
    family = " ".join(person.prelast_names + person.last_names)
    given = initials(" ".join(person.first_names + person.middle_names))
    suffix = " ".join(person.lineage_names)
    if inverted:
        return ", ".join(part for part in (family, given, suffix) if part)
    return " ".join(part for part in (given, family, suffix) if part)


def join_names(names: list[str], inverted: bool = True) -> str:
    """APA 7 name list: "A, & B"; "A, B, & C" up to 20; then the first 19, ". . ." and the last.

    Editors ("In A & B (Eds.)", not inverted) take no comma before the "&" when there are two.

    >>> join_names(["A"]), join_names(["A", "B"]), join_names(["A", "B", "C"]), join_names(["A", "B"], False)
    ('A', 'A, & B', 'A, B, & C', 'A & B')
    """
    if len(names) <= 1:
        return "".join(names)
    if len(names) == 2:
        return names[0] + (", & " if inverted else " & ") + names[1]
    if len(names) <= APA_MAX_AUTHORS:
        return ", ".join(names[:-1]) + ", & " + names[-1]
    return ", ".join(names[: APA_MAX_AUTHORS - 1]) + ", . . . " + names[-1]


@node
def apa_names(children, context, role, inverted=True):
    """The entry's authors (or editors) as an APA 7 name list; missing role -> FieldIsMissing."""
    if children:
        raise ValueError(children)
    entry = context["entry"]
    if role not in entry.persons:
        raise FieldIsMissing(role, entry)
    return richtext.Text(join_names([apa_name(p, inverted) for p in entry.persons[role]], inverted))


# --- APA 7 style -------------------------------------------------------------------------------------------


def en_dash(pages: str) -> str:
    return pages.replace("--", "\u2013")


def chapter_pages(pages: str) -> str:
    """A chapter's pages as APA 7 writes them: "(pp. 3–9)" or "(p. 3)"."""
    return f"(pp. {en_dash(pages)})" if "--" in pages else f"(p. {pages})"


def doi_link(value: str) -> str:
    """The href for a DOI: percent-encode what would break a URL or a Markdown link, e.g. parentheses."""
    return DOI_RESOLVER + urllib.parse.quote(value, safe="/:;,.-_~!$&'*+=@")


def doi_text(value: str) -> str:
    return DOI_RESOLVER + value


authors = sentence[apa_names("author")]
date = join["(", first_of[optional_field("year", raw=True), "n.d."], optional_field("year_suffix", raw=True), ")."]
title = sentence[field("title", raw=True, apply_func=capitalise_after_colon)]
italic_title = tag("em")[field("title", raw=True, apply_func=capitalise_after_colon)]
link = first_of[
    optional[href(field("doi", raw=True, apply_func=doi_link))[field("doi", raw=True, apply_func=doi_text)]],
    optional[href(field("url", raw=True))[field("url", raw=True)]],
]
journal_source = sentence[
    optional[tag("em")[field("journal", raw=True)]],
    join[optional[tag("em")[field("volume", raw=True)]], optional["(", field("number", raw=True), ")"]],
    first_of[
        optional[field("pages", raw=True, apply_func=en_dash)], optional[join["Article ", field("eid", raw=True)]]
    ],
]


class APAStyle(BaseStyle):
    """APA 7 reference-list entries (Publication Manual, 7th ed., chapters 9-10) as a pybtex formatting style.

    Titles keep their case as typed; the DOI, when there is one, stands in for the URL.
    """

    def get_article_template(self, e):
        return words[authors, date, title, journal_source, link]

    def get_book_template(self, e):
        return words[authors, date, sentence[italic_title], self._publisher(e, "publisher"), link]

    def get_incollection_template(self, e):
        label = "(Eds.)" if len(e.persons.get("editor", [])) > 1 else "(Ed.)"
        editors = optional[words[apa_names("editor", inverted=False), label]]
        book = words[
            optional[tag("em")[field("booktitle", raw=True)]],
            optional[field("pages", raw=True, apply_func=chapter_pages)],
        ]
        return words[
            authors,
            date,
            title,
            sentence[words["In", join(sep=", ")[editors, book]]],
            self._publisher(e, "publisher"),
            link,
        ]

    def get_techreport_template(self, e):
        return words[authors, date, sentence[italic_title], self._publisher(e, "institution"), link]

    def get_thesis_template(self, e):
        degree = first_of[optional_field("type", raw=True), "Thesis"]  # Doctoral dissertation, Master's thesis
        kind = join["[", join(sep=", ")[degree, optional_field("school", raw=True)], "]"]
        return words[authors, date, sentence[words[italic_title, kind]], link]

    def get_misc_template(self, e):
        """Preprints: "*Title* [Preprint]. Server."."""
        return words[authors, date, sentence[words[italic_title, "[Preprint]"]], self._publisher(e, "publisher"), link]

    @staticmethod
    def _publisher(e, name):
        """APA 7 leaves the publisher out when it is the (organisation) author."""
        organisations = {organisation_name(p) for p in e.persons.get("author", [])} - {None}
        if e.fields.get(name) in organisations:
            return ""
        return sentence[optional_field(name, raw=True)]


def _is_web_url(url: str) -> bool:
    return url.lower().startswith(("https://", "http://"))


class HTMLBackend(html_backend.Backend):
    """pybtex's HTML backend with the link target escaped too, and only http(s) links."""

    def format_href(self, url, text, external=False):
        if not text or not _is_web_url(url):
            return text
        return f'<a href="{escape(url, quote=True)}">{text}</a>'


class MarkdownBackend(markdown_backend.Backend):
    """pybtex's Markdown backend with only http(s) links, and link targets that cannot end the link early."""

    def format_href(self, url, text, external=False):
        if not text or not _is_web_url(url):
            return text
        target = urllib.parse.quote(url, safe="/:;,.-_~!$&'*+=@?#%")
        return f"[{text}]({target})"


_STYLE = APAStyle()
_TEXT, _HTML, _MARKDOWN = plaintext_backend.Backend(), HTMLBackend(), MarkdownBackend()


def format_reference(citation: Citation, entry: Entry | None = None, year_suffix: str = "") -> Reference:
    """The APA 7 reference for a citation, as plain text, HTML and Markdown (`entry`: the citation's pybtex Entry,
    when the caller has made it already, for its BibTeX; `year_suffix`: "a", "b" for the same authors' works of
    one year, from `year_suffixes`).

    >>> from kb.model import Author, Citation
    >>> ref = format_reference(Citation(type="article", title="<b>5% & more</b>", authors=[Author(name="WHO")]))
    >>> ref.text
    'WHO. (n.d.). <b>5% & more</b>.'
    >>> ref.html
    'WHO. (n.d.). &lt;b&gt;5% &amp; more&lt;/b&gt;.'
    """
    entry = entry or to_entry(citation)
    if year_suffix:  # a copy: the caller's entry also makes the BibTeX, whose year stays a number
        entry = Entry(entry.type, fields={**entry.fields, "year_suffix": _suffix_text(citation, year_suffix)})
        entry.persons = to_entry(citation).persons
    text = _STYLE.format_entry("", entry).text
    return Reference(text=text.render(_TEXT), html=text.render(_HTML), markdown=text.render(_MARKDOWN))


def _suffix_text(citation: Citation, suffix: str) -> str:
    return f"-{suffix}" if citation.year is None else suffix  # (n.d.-a), (2016a)


def year_suffixes(citations: dict[str, Citation]) -> dict[str, str]:
    """'a', 'b', ... for works by the same authors (same names, same order) in the same year, in the order of
    their titles (APA 7, 9.47), keyed by study id; other works get no entry.

    >>> from kb.model import Author, Citation
    >>> def work(title): return Citation("article", [Author("Griffiths", "R. R.")], title, year=2016)
    >>> year_suffixes({"x": work("Psilocybin produces substantial..."), "y": work("Mystical experiences...")})
    {'y': 'a', 'x': 'b'}
    """
    groups: dict[tuple, list[str]] = {}
    for study_id, citation in citations.items():
        authors = tuple(((a.name or a.family or "").casefold(), (a.given or "").casefold()) for a in citation.authors)
        groups.setdefault((authors, citation.year), []).append(study_id)
    suffixes = {}
    for ids in groups.values():
        if len(ids) > 1:
            ids.sort(key=lambda i: (_title_key(citations[i].title), i))
            suffixes.update(
                {study_id: "abcdefghijklmnopqrstuvwxyz"[n % 26] * (1 + n // 26) for n, study_id in enumerate(ids)}
            )
    return suffixes


def _title_key(title: str) -> str:
    """APA orders by title ignoring a leading article."""
    return re.sub(r"^(a|an|the)\s+", "", title.casefold())


def sort_key(citation: Citation) -> tuple:
    """APA order for a reference list: first author, then the other authors, then year (n.d. first), title."""
    names = [(a.name or a.family or "").casefold() + " " + (a.given or "").casefold() for a in citation.authors]
    return (names, citation.year or 0, citation.title.casefold())
