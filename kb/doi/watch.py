r"""The retraction watch's issue text: what `kb check-dois` found, as GitHub Markdown.

`kb check-dois --report-markdown FILE` writes it, and .github/workflows/retraction-watch.yml keeps it in one
issue, found again each week by its label and by `MARKER`, the body's first line. The text depends only on the
findings (no date, no count of entries checked), so the workflow can tell when they changed.

Every string that came from an entry or from a DOI record is escaped: it shows as it was typed, never as markup,
HTML, a link, a mention (@someone), an issue reference (#12) or an emoji.

Example:

    >>> print(escape_markdown("<b>@team</b> see #12 | [x](javascript:alert(1))"))
    \<b\>\@&#8203;team\<\/b\> see \#&#8203;12 \| \[x\]\(javascript\:&#8203;alert\(1\)\)
"""

from __future__ import annotations

from urllib.parse import quote

from kb.doi.check import CheckRun
from kb.text import escape_markdown

MARKER = "<!-- kb retraction watch -->"
NOTICE_HEADINGS = {  # the schema's notice types, most serious first
    "retraction": ("retraction", "retractions"),
    "withdrawal": ("withdrawal", "withdrawals"),
    "expression-of-concern": ("expression of concern", "expressions of concern"),
    "correction": ("correction", "corrections"),
    "other": ("other update", "other updates"),
}
NOTICE_HEADER = ("Entry", "Line", "Notice", "Date", "What the record says")
DRIFT_HEADER = ("Entry", "Line", "Field", "Entry says", "DOI record says")
PROBLEM_HEADER = ("Entry", "Line", "Column", "Problem")
CELL_LIMIT = 300  # characters of one table cell, before escaping
BODY_LIMIT = 60_000  # GitHub refuses an issue body longer than 65,536 characters
ROW_LIMITS = (100, 20, 5, 0)  # rows shown per table, fewer until the body fits

Section = tuple[tuple[str, str], tuple[str, ...], list[list[str]]]  # (singular, plural), header, rows

FOOTER = (
    "This description is rewritten by the weekly retraction watch (`.github/workflows/retraction-watch.yml`) "
    "when its findings change, and the issue is closed when a check finds nothing."
)
ADVICE = """### What to do

- **A notice** (retraction, withdrawal, expression of concern, correction): read it, record it with \
`kb check-dois --write-notices ENTRY` (the study page then shows it), and revisit the entry's summary and \
evidence certainty.
- **A citation difference**: correct the entry, or leave it where the DOI record is the one in error.
- **A problem**: the entry could not be checked; fix what the message says (`kb validate ENTRY` helps)."""


class _Markdown(str):
    """Text that is already Markdown (made here, from escaped parts), to be put in a cell as it is."""


def watch_report(run: CheckRun) -> str:
    """The issue body for a finished run (one that stopped early says nothing about the entries not checked)."""
    sections = _sections(run)
    if not sections:
        checked = sum(result.checked for result in run.results)
        return (
            f"{MARKER}\n## Retraction watch: all clear\n\n"
            f"`kb check-dois` checked {_count(checked, 'entry', 'entries')} with a DOI and found no "
            "retraction, withdrawal, expression of concern or correction that an entry does not record yet, no "
            "citation that differs from its record, and no entry it could not check.\n\n"
            f"{FOOTER}\n"
        )
    counts = [_count(len(rows), *names) for names, _, rows in sections]
    entries = {row[0] for _, _, rows in sections for row in rows}
    headline = f"## Retraction watch: {_join(counts)} in {_count(len(entries), 'entry', 'entries')}"
    for limit in ROW_LIMITS:
        tables = [_table(names[1], header, rows, limit) for names, header, rows in sections]
        body = "\n\n".join([MARKER + "\n" + headline, *tables, ADVICE, FOOTER]) + "\n"
        if len(body) <= BODY_LIMIT:
            break
    return body


def _sections(run: CheckRun) -> list[Section]:
    """(names, table header, rows) for each kind of finding that has any; a row starts with the entry's path."""
    notices: dict[str, list[list[str]]] = {kind: [] for kind in NOTICE_HEADINGS}
    drift, problems = [], []
    for result in run.results:
        for notice in result.notices:
            row = [result.path, str(result.notice_line), _doi_link(notice.get("doi")), notice.get("date") or ""]
            notices.get(notice.get("type"), notices["other"]).append([*row, notice.get("note") or ""])
        for mismatch in result.mismatches:
            row = [mismatch.path, str(mismatch.line), mismatch.field, mismatch.ours]
            drift.append([*row, f"{mismatch.theirs} ({mismatch.source})"])
        for problem in result.problems:
            problems.append([problem.path, str(problem.line), str(problem.col), f"{problem.severity}: {problem.text}"])
    sections = [(NOTICE_HEADINGS[kind], NOTICE_HEADER, rows) for kind, rows in notices.items()]
    sections.append((("citation difference", "citation differences"), DRIFT_HEADER, drift))
    sections.append((("problem", "problems"), PROBLEM_HEADER, problems))
    return [section for section in sections if section[2]]


def _table(title: str, header: tuple[str, ...], rows: list[list[str]], limit: int) -> str:
    lines = [f"### {title[0].upper()}{title[1:]} ({len(rows)})", ""]
    if limit:
        lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        lines += ["| " + " | ".join(map(_cell, row)) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        lines += ["", f"{len(rows) - limit} more not shown here: run `kb check-dois` to see them all."]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, _Markdown):
        return value
    text = str(value)
    return escape_markdown(text if len(text) <= CELL_LIMIT else text[: CELL_LIMIT - 1] + "\u2026")


def _doi_link(doi: str | None) -> str:
    """A link to the notice on doi.org; the DOI is percent-encoded in the address and escaped in the text."""
    if not doi:
        return ""
    return _Markdown(f"[{_cell(doi)}](https://doi.org/{quote(doi, safe='/')})")


def _count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
