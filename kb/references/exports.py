r"""The citations as downloads: BibTeX (references.bib), RIS (references.ris) and CSL-JSON (references.json).

Each takes a list of studies and keys records by study id; a study page's "cite this" passes one study.
BibTeX values are LaTeX-escaped so that BibTeX, biblatex and pybtex read back the characters that were typed.

Example:

    >>> print(latex_escape("5% & 10_mg"))
    5\% \& 10\_mg
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pybtex.database import Entry, Person

from kb.model import Author, Citation, Study
from kb.references.fields import (
    clean,
    container_title,
    doi,
    flat_fields,
    organisation_name,
    page_range,
    publisher,
    to_entry,
)

RIS_TYPES = {
    "article": "JOUR",
    "book": "BOOK",
    "chapter": "CHAP",
    "preprint": "UNPB",
    "report": "RPRT",
    "thesis": "THES",
}
CSL_TYPES = {
    "article": "article-journal",
    "book": "book",
    "chapter": "chapter",
    "preprint": "article",
    "report": "report",
    "thesis": "thesis",
}

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",  # not \{: BibTeX counts escaped braces too, and would see them unbalanced
    "}": r"\textbraceright{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_PATTERN = re.compile("|".join(re.escape(ch) for ch in _LATEX_SPECIALS))
_VERBATIM_FIELDS = {"doi", "url"}  # biblatex reads these verbatim: escape nothing, but keep braces balanced


def latex_escape(text: str) -> str:
    r"""Text as a BibTeX field value that reads back as the same characters.

    >>> print(latex_escape("5% & {x}"))
    5\% \& \textbraceleft{}x\textbraceright{}
    """
    return _LATEX_PATTERN.sub(lambda match: _LATEX_SPECIALS[match.group()], text)


def _protect_case(title: str) -> str:
    """Brace every word with a capital (except the title's first letter): BibTeX styles lower-case the rest."""
    words_ = title.split(" ")
    out = []
    for index, word in enumerate(words_):
        checked = word[1:] if index == 0 else word
        escaped = latex_escape(word)
        out.append("{" + escaped + "}" if any(ch.isupper() for ch in checked) else escaped)
    return " ".join(out)


def _bibtex_name_part(text: str) -> str:
    """A name part, braced when a comma or the word "and" would otherwise split it."""
    escaped = latex_escape(text)
    return "{" + escaped + "}" if "," in text or re.search(r"\band\b", text, re.IGNORECASE) else escaped


def _bibtex_name(person: Person) -> str:
    organisation = organisation_name(person)
    if organisation is not None:
        return "{" + latex_escape(organisation) + "}"
    family = _bibtex_name_part(" ".join(person.prelast_names + person.last_names))
    given = " ".join(person.first_names + person.middle_names)
    suffix = " ".join(person.lineage_names)
    parts = [family] + ([_bibtex_name_part(suffix)] if suffix else []) + [_bibtex_name_part(given)]
    return ", ".join(parts) if given or suffix or " " in family else family


def _bibtex_value(name: str, value: str) -> str:
    if name in _VERBATIM_FIELDS:
        return value.replace("{", "%7B").replace("}", "%7D")
    return _protect_case(value) if name == "title" else latex_escape(value)


def bibtex_entry(key: str, entry: Entry) -> str:
    """One @type{key, ...} block; values are brace-delimited, so quotes need no escaping."""
    lines = [f"@{entry.type}{{{key},"]
    for role, persons in entry.persons.items():
        lines.append(f"  {role} = {{{' and '.join(_bibtex_name(p) for p in persons)}}},")
    for name, value in entry.fields.items():
        lines.append(f"  {name} = {{{_bibtex_value(name, value)}}},")
    return "\n".join(lines) + "\n}\n"


def to_bibtex(studies: Iterable[Study]) -> str:
    """BibTeX for the studies, keyed by study id; `to_bibtex([study])` is a study page's "cite this".

    >>> from types import SimpleNamespace
    >>> from kb.model import Author, Citation
    >>> study = SimpleNamespace(id="roy-2024", citation=Citation(type="article", title="5% of MDMA", year=2024,
    ...     authors=[Author(family="Roy", given="Jean-Pierre")]))
    >>> print(to_bibtex([study]))
    @article{roy-2024,
      author = {Roy, Jean-Pierre},
      title = {5\\% of {MDMA}},
      year = {2024},
    }
    <BLANKLINE>
    """
    return "\n".join(bibtex_entry(study.id, to_entry(study.citation)) for study in studies)


# --- RIS ---------------------------------------------------------------------------------------------------


def _ris_name(author: Author) -> str:
    if author.is_organisation:
        return clean(author.name) or ""
    parts = [clean(author.family), clean(author.given), clean(author.suffix)]
    if parts[2] and not parts[1]:
        parts[1] = ""
    return ", ".join(p for p in parts if p is not None)


RIS_TAGS = {
    "title": "TI",
    "container": "T2",
    "year": "PY",
    "volume": "VL",
    "issue": "IS",
    "first_page": "SP",
    "last_page": "EP",
    "publisher": "PB",
    "doi": "DO",
    "url": "UR",
    "pmid": "AN",
}


def ris_record(key: str, citation: Citation) -> str:
    """One RIS record (TY ... ER), one tag per line, CRLF line ends as the RIS specification asks."""
    tags = [("TY", RIS_TYPES[citation.type]), ("ID", key)]
    tags += [("AU", _ris_name(a)) for a in citation.authors]
    tags += [("A2", _ris_name(a)) for a in citation.editors]
    tags += [(RIS_TAGS[name], value) for name, value in flat_fields(citation).items()]
    lines = [f"{name}  - {value}" for name, value in tags if value]
    return "\r\n".join([*lines, "ER  - "]) + "\r\n"


def to_ris(studies: Iterable[Study]) -> str:
    """RIS records for the studies (Zotero, EndNote, Mendeley); `to_ris([study])` for one study.

    >>> from types import SimpleNamespace
    >>> from kb.model import Author, Citation
    >>> study = SimpleNamespace(id="roy-2024", citation=Citation(type="article", title="T", year=2024,
    ...     authors=[Author(family="Roy", given="Jean-Pierre")]))
    >>> to_ris([study]).splitlines()
    ['TY  - JOUR', 'ID  - roy-2024', 'AU  - Roy, Jean-Pierre', 'TI  - T', 'PY  - 2024', 'ER  - ']
    """
    return "\r\n".join(ris_record(study.id, study.citation) for study in studies)


# --- CSL-JSON ----------------------------------------------------------------------------------------------


def _csl_name(author: Author) -> dict[str, str]:
    if author.is_organisation:
        return {"literal": clean(author.name) or ""}
    name = {"family": clean(author.family), "given": clean(author.given), "suffix": clean(author.suffix)}
    return {key: value for key, value in name.items() if value}


def csl_item(key: str, citation: Citation) -> dict:
    """One CSL-JSON item (the input format of citeproc, Zotero and Pandoc)."""
    pages = page_range(citation.pages)
    item: dict = {
        "id": key,
        "type": CSL_TYPES[citation.type],
        "title": clean(citation.title),
        "author": [_csl_name(a) for a in citation.authors],
    }
    if citation.editors:
        item["editor"] = [_csl_name(a) for a in citation.editors]
    if citation.year is not None:
        item["issued"] = {"date-parts": [[citation.year]]}
    optional_fields = {
        "container-title": container_title(citation),
        "publisher": publisher(citation),
        "genre": "Preprint" if citation.type == "preprint" else None,
        "volume": clean(citation.volume),
        "issue": clean(citation.issue),
        "page": "-".join(p for p in pages if p) if pages else None,
        "number": clean(citation.article_number),
        "DOI": doi(citation),
        "URL": clean(citation.url),
        "PMID": clean(citation.pmid),
    }
    item.update((name, value) for name, value in optional_fields.items() if value)
    return item


def to_csl_json(studies: Iterable[Study]) -> list[dict]:
    """CSL-JSON items for the studies (serialise with `json.dumps`); `to_csl_json([study])` for one study.

    >>> from types import SimpleNamespace
    >>> from kb.model import Author, Citation
    >>> study = SimpleNamespace(id="roy-2024", citation=Citation(type="article", title="T", year=2024,
    ...     authors=[Author(family="Roy", given="Jean-Pierre")]))
    >>> item = to_csl_json([study])[0]
    >>> item["type"], item["author"], item["issued"]
    ('article-journal', [{'family': 'Roy', 'given': 'Jean-Pierre'}], {'date-parts': [[2024]]})
    """
    return [csl_item(study.id, study.citation) for study in studies]
