"""A "Suggest a study" issue as the start of an entry: read the form, match its topics, report what happened.

GitHub writes an issue form's answers into the issue body as Markdown: one `### Label` heading per field, then
the answer, or `_No response_` for an optional field left empty. `read_suggestion` reads the fields kb needs
(the DOI, the title, the design and the topics) from such a body; `match_topics` turns the topic words into
vocabulary terms and keeps the words it could not place for a maintainer; `report` is the Markdown the workflow
posts on the issue and uses as the draft pull request's description.

Everything in a body is the suggester's text: it is read as plain text, never run, and shown escaped.

Example:

    >>> body = "### DOI\\n\\n10.1000/xyz\\n\\n### Title\\n\\nA trial\\n\\n### Study design\\n\\nQualitative study\\n"
    >>> read_suggestion(body).doi_text, read_suggestion(body).topics
    ('10.1000/xyz', [])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from kb.text import escape_markdown, without_controls
from kb.vocabulary import Term, Vocabulary

MAX_BODY_CHARS = 65_536  # GitHub's own limit on an issue body
MAX_TOPICS = 20
TOPIC_SIMILARITY = 80  # fuzz.ratio of folded names: spelling variants (psylocibin, depresion), not other words
FUZZY_MIN_CHARS = 5  # shorter words (lsd, dmt, ptsd) are matched exactly or not at all
TOPIC_FACETS = ("substances", "conditions", "mechanisms", "outcomes", "settings")

# The labels of .github/ISSUE_TEMPLATE/suggest-study.yml (a test keeps them in step with the form).
LABELS = {
    "doi": "DOI",
    "title": "Title",
    "design": "Study design",
    "topics": "Substances, conditions and mechanisms",
}
NO_RESPONSE = "_No response_"
# The form's design choices, and the designs term each stands for ("Other or not sure" stands for none).
DESIGN_CHOICES = {
    "Randomised controlled trial": "randomized-controlled-trial",
    "Secondary analysis of a trial": "secondary-analysis",
    "Open-label or uncontrolled trial": "open-label-trial",
    "Follow-up of an earlier trial": "follow-up-study",
    "Observational study": "observational-study",
    "Qualitative study": "qualitative-study",
    "Systematic review or meta-analysis": "systematic-review",
}

_HEADING = re.compile(r"^###[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_TOPIC_SEPARATORS = re.compile(r"[,;/\n]|\s+and\s+|\s+&\s+", re.IGNORECASE)


class SuggestionError(Exception):
    """A body kb cannot draft from; `str(error)` says why, for the suggester and a maintainer."""


@dataclass(frozen=True)
class Suggestion:
    doi_text: str  # as typed: a DOI, a doi.org link, or some other link
    title: str
    design: str
    topics: list[str]


@dataclass
class TopicMatch:
    tags: dict[str, list[str]] = field(default_factory=dict)  # facet -> term slugs, in the order suggested
    unmatched: list[str] = field(default_factory=list)


def read_suggestion(body: str) -> Suggestion:
    """The fields of a "Suggest a study" issue body; raises `SuggestionError` when the DOI field is missing."""
    if len(body) > MAX_BODY_CHARS:
        raise SuggestionError(f"the issue body is longer than {MAX_BODY_CHARS:,} characters; is it a form?")
    answers = form_answers(body)
    doi_text = answers.get(LABELS["doi"].casefold(), "")
    if not doi_text:
        raise SuggestionError(f"the issue has no '{LABELS['doi']}' answer; was it opened with the suggestion form?")
    return Suggestion(
        doi_text=doi_text,
        title=answers.get(LABELS["title"].casefold(), ""),
        design=answers.get(LABELS["design"].casefold(), ""),
        topics=split_topics(answers.get(LABELS["topics"].casefold(), "")),
    )


def form_answers(body: str) -> dict[str, str]:
    """Each `### Label` of an issue-form body (case-folded) and its answer, stripped; an empty answer for
    `_No response_`. Where a label comes twice (someone typed a heading into an answer), the first one counts:
    GitHub writes the form's own fields first, in the form's order."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    text = "\n".join(without_controls(line) for line in lines)
    headings = list(_HEADING.finditer(text))
    answers: dict[str, str] = {}
    ends = [heading.start() for heading in headings[1:]] + [len(text)]
    for heading, end in zip(headings, ends, strict=False):  # no heading: no answers
        answer = text[heading.end() : end].strip()
        answers.setdefault(heading[1].strip().casefold(), "" if answer == NO_RESPONSE else answer)
    return answers


def split_topics(text: str) -> list[str]:
    """'psilocybin, depression and self-compassion' -> the three words, without duplicates or empties."""
    topics = []
    for part in _TOPIC_SEPARATORS.split(text):
        topic = " ".join(part.strip(" .\"'`*_").split())
        if topic and topic.casefold() not in (seen.casefold() for seen in topics):
            topics.append(topic)
    return topics[:MAX_TOPICS]


def design_term(choice: str, vocabulary: Vocabulary) -> str | None:
    """The designs term for the form's design choice, if the vocabulary has it."""
    slug = DESIGN_CHOICES.get(choice.strip())
    return slug if slug and vocabulary.term("designs", slug) else None


def match_topics(topics: list[str], vocabulary: Vocabulary) -> TopicMatch:
    """Each topic as a term of the first facet (substances, conditions, mechanisms, ...) where it is a term's
    slug, label or synonym, or a close spelling of one; the others are kept as unmatched."""
    match = TopicMatch()
    for topic in topics:
        term = _term_for(topic, vocabulary)
        if term is None:
            match.unmatched.append(topic)
        elif term.slug not in match.tags.setdefault(term.facet, []):
            match.tags[term.facet].append(term.slug)
    return match


def _term_for(topic: str, vocabulary: Vocabulary) -> Term | None:
    facets = [facet for facet in TOPIC_FACETS if facet in vocabulary.facets]
    for facet in facets:
        found = vocabulary.resolve(facet, topic).term
        if found is not None:
            return found
    if len(topic) < FUZZY_MIN_CHARS:
        return None
    scored = []
    for facet in facets:
        found = vocabulary.closest(facet, topic, scorer=fuzz.ratio, cutoff=TOPIC_SIMILARITY)
        if found is not None:
            scored.append((found[1], facet, found[0]))
    if not scored:
        return None
    _, facet, slug = max(scored, key=lambda item: item[0])  # the first facet wins a tie
    return vocabulary.term(facet, slug)


@dataclass(frozen=True)
class Outcome:
    """What `kb new --from-issue` did, for the report."""

    entry_path: str | None = None  # the draft written, when there is one
    entry_id: str | None = None
    reason: str | None = None  # why nothing was drafted
    design: str | None = None
    match: TopicMatch | None = None
    todo: list[str] = field(default_factory=list)  # what `kb validate` still finds in the draft
    duplicates: list[str] = field(default_factory=list)


def report(outcome: Outcome) -> str:
    """The Markdown comment for the issue (and description of the draft pull request)."""
    if outcome.reason is not None:
        return (
            "**kb could not draft an entry from this suggestion.**\n\n"
            f"Reason: {escape_markdown(outcome.reason)}\n\n"
            "A maintainer will look at it. If the DOI is wrong, edit the issue and the draft is tried again.\n"
        )
    drafted = f"`{outcome.entry_path}`" if outcome.entry_path else f"the entry `{outcome.entry_id}` (not saved)"
    lines = [
        f"**kb drafted {drafted}** from the DOI's record: the citation is filled in; everything a person must "
        "write from the paper is marked TODO.",
        "",
    ]
    if outcome.design:
        lines.append(f"- Design, as suggested: `{outcome.design}` (check it against the paper).")
    if outcome.match is not None:
        for facet, slugs in outcome.match.tags.items():
            lines.append(f"- {facet.capitalize()}: " + ", ".join(f"`{slug}`" for slug in slugs))
        if outcome.match.unmatched:
            words = ", ".join(f"“{escape_markdown(word)}”" for word in outcome.match.unmatched)
            lines.append(f"- Not in the vocabulary, for a maintainer to place or add as terms: {words}")
    for duplicate in outcome.duplicates:
        lines.append(f"- Possible duplicate: {escape_markdown(duplicate)}")
    if outcome.todo:
        lines += ["", f"`kb validate` finds {len(outcome.todo)} thing(s) still to write, for example:", ""]
        lines += fenced([without_controls(problem) for problem in outcome.todo[:8]])
    lines += ["", "Write the summary from the paper in your own words (see CONTRIBUTING.md), then mark the pull "
              "request ready for review."]  # fmt: skip
    return "\n".join(lines) + "\n"


def fenced(lines: list[str]) -> list[str]:
    """`lines` as a Markdown code block, shown as they are: the fence is longer than any run of backticks in
    them, so no line can close it early."""
    longest = max((len(run) for line in lines for run in re.findall("`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", *lines, fence]
