"""APA 7 references for study records, and the same citations as BibTeX, RIS and CSL-JSON downloads.

The reference line is produced by pybtex: a `Citation` becomes a pybtex `Entry` whose fields are read raw
(`field(..., raw=True)`), because pybtex would otherwise parse titles as LaTeX and a `%` would silently cut them
short. The APA rules pybtex does not know (initials, "&" before the last author, 21+ authors, "(n.d.)") live in
`APAStyle`, written in pybtex's template language.

    fields.py   Citation -> shared field values and a pybtex Entry (plain text, not LaTeX)
    apa.py      the APA 7 style and `format_reference` (plain text, escaped HTML, Markdown)
    exports.py  BibTeX, RIS and CSL-JSON

Example:

    >>> from kb.model import Author, Citation
    >>> citation = Citation(type="article", title="A trial", year=2024, journal="Journal of Trials",
    ...     authors=[Author(family="van der Kolk", given="Bessel A."), Author(family="Roy", given="Jean-Pierre")],
    ...     volume="3", pages="10-20", doi="10.1000/xyz")
    >>> print(format_reference(citation).text)
    van der Kolk, B. A., & Roy, J.-P. (2024). A trial. Journal of Trials, 3, 10–20. https://doi.org/10.1000/xyz
"""

from kb.references.apa import APAStyle, Reference, format_reference, sort_key, year_suffixes
from kb.references.exports import bibtex_entry, to_bibtex, to_csl_json, to_ris
from kb.references.fields import to_entry

__all__ = [
    "APAStyle",
    "bibtex_entry",
    "Reference",
    "format_reference",
    "year_suffixes",
    "sort_key",
    "to_bibtex",
    "to_csl_json",
    "to_entry",
    "to_ris",
]
