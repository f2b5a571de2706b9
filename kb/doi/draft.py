"""The draft entry `kb new DOI` prints or writes: citation filled in, everything else marked for a person.

Only the citation can honestly come from a DOI. Every part a person must write from the paper (headline,
design, findings, tags, summary, certainty) is a `null` or `[]` value followed by a `# TODO:` comment. The
schema wants text, a term or a non-empty list in each of those places, so `kb validate` (and an editor that
reads the schema line) rejects the draft until every TODO has been replaced; a draft cannot be merged
unfinished. Optional details are commented-out lines to fill in or drop.

Example:

    >>> suggest_id([{"family": "Agin-Liebes", "given": "G."}], 2025, "Self-compassion mediates treatment effects")
    'agin-liebes-2025-self-compassion'
    >>> suggest_id([{"name": "The Østergaard Group"}], None, "The effects of a new drug")
    'ostergaard-group-nd-drug'
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml
from rapidfuzz import fuzz

from kb.atomic import write_atomic
from kb.doi.crossref import Cited
from kb.doi.fetch import Work
from kb.identifiers import normalise_doi
from kb.load import load_entry
from kb.problems import ProblemError
from kb.references.titles import is_title_case, sentence_case
from kb.text import without_controls
from kb.validate.corpus import TITLE_SIMILARITY
from kb.vocabulary import Vocabulary

MAX_ID_LENGTH = 80
CITATION_TYPES = ("article", "book", "chapter", "preprint", "report", "thesis")
# Words that say nothing about what a study is about, skipped when picking the keyword of an id.
_STOPWORD_TEXT = """
    a an the and or but nor of in on at to for from by with without into onto over under about after before
    during between among against within across through via per versus vs as is are was were be been being do
    does did can could may might should would will than then this that these those it its their our your his
    her how what when where which who whom why whether not no new novel using use used based effect effects
    study studies trial trials analysis analyses review systematic randomized randomised controlled pilot
    phase preliminary evaluation assessment open label double blind placebo i ii iii iv case report protocol
    results
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE", "ł": "l",
                       "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "þ": "th", "Þ": "Th", "ı": "i"})  # fmt: skip
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def ascii_slug(text: str) -> str:
    """Lowercase ASCII letters, digits and single hyphens: 'Müller-Łęcka' -> 'muller-lecka'."""
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD)).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", folded.lower()).strip("-")


def suggest_id(authors: list[dict], year: int | None, title: str | None) -> str:
    """firstauthor-year-keyword, with the first title word that is not a stopword as the keyword."""
    first = authors[0] if authors else {}
    if first.get("family"):
        author = ascii_slug(first["family"])
    else:
        words = [w for w in ascii_slug(first.get("name", "")).split("-") if w not in STOPWORDS]
        author = "-".join(words[:3])
    keyword = next((slug for slug in map(ascii_slug, re.split(r"[\s/]+", title or "")) if _significant(slug)), "")
    parts = [author or "anonymous", str(year) if year else "nd"]
    identifier = "-".join(parts + ([keyword] if keyword else []))
    return identifier[:MAX_ID_LENGTH].rstrip("-")


def _significant(slug: str) -> bool:
    return len(slug) > 1 and slug not in STOPWORDS and not slug.isdigit()


@dataclass(frozen=True)
class Draft:
    id: str
    text: str


@dataclass(frozen=True)
class Prefill:
    """What someone suggested for a draft (a "Suggest a study" issue): a design term and tags by facet, drafted
    with a CHECK note naming `origin` instead of a TODO, since nobody has checked them against the paper yet."""

    origin: str
    design: str | None = None
    tags: dict[str, list[str]] | None = None


def make_draft(
    work: Work,
    cited: Cited,
    *,
    entry_id: str | None = None,
    vocabulary: Vocabulary | None = None,
    today=None,
    prefill: Prefill | None = None,
) -> Draft:
    """The draft YAML for a looked-up work: schema line, id, title, citation, and TODO placeholders."""
    citation = cited.citation
    entry_id = entry_id or suggest_id(citation["authors"], citation.get("year"), cited.title)
    today = today or datetime.date.today()
    title, notes = cited.title, list(cited.notes)
    if title and is_title_case(title):  # APA and reference managers expect sentence case
        title = sentence_case(title)
        notes.append("the title was in Title Case and is drafted in sentence case: put back proper names")
    lines = [
        "# yaml-language-server: $schema=../kb/schema/study.schema.json",
        _comment(f"Draft made by `kb new` on {today} from {work.source}'s record of https://doi.org/{work.doi}"),
        "# The citation comes from that record: check it against the paper. Everything marked TODO is yours to",
        "# write from the paper, in your own words (never copy the abstract; leave out numbers it does not report).",
        "# `kb validate` rejects this file until every TODO value (null or []) is replaced; delete the lines marked",
        '# "or delete" when the paper gives nothing for them.',
        *(_comment(f"CHECK: {note}") for note in notes),
        f"id: {entry_id}",
        _field("title", title, "TODO: the title exactly as published (the record has none)"),
        "headline: null  # TODO: a plain-language title for practitioners",
        "citation:",
        *_citation_lines(citation, cited.kind, work.source),
        *_prefilled(_SKELETON.format(**_term_hints(vocabulary), added=today.isoformat()).splitlines(), prefill),
    ]
    return Draft(id=entry_id, text="\n".join(lines) + "\n")


def _prefilled(lines: list[str], prefill: Prefill | None) -> list[str]:
    """The skeleton with the suggested design and tags in place of their TODO lines."""
    if prefill is None:
        return lines
    check = _one_line(f"CHECK: {prefill.origin}; confirm it against the paper")
    replacements = {f"{facet}: []": f"{facet}: {_scalar(slugs)}" for facet, slugs in (prefill.tags or {}).items()}
    if prefill.design:
        replacements["  type: null"] = f"  type: {_scalar(prefill.design)}"
    drafted = []
    for line in lines:
        start = next((key for key in replacements if line.startswith(key + "  #")), None)
        drafted.append(f"{replacements[start]}  # {check}" if start else line)
    return drafted


def _citation_lines(citation: dict, kind: str, source: str) -> list[str]:
    choices = ", ".join(CITATION_TYPES)
    lines = []
    for key, value in citation.items():
        if key == "type":
            note = _one_line(f"TODO: {source} calls this a '{kind}'; choose one of {choices}")
            lines.append("  " + _field(key, value, note))
        elif key in ("authors", "editors"):
            if not value:
                lines.append(f"  {key}: null  # TODO: {source} lists none; copy them from the paper")
                continue
            lines.append(f"  {key}:")
            lines += [f"    - {_scalar(person)}" for person in value]
        else:
            lines.append(f"  {key}: {_scalar(value)}")
    return lines


def _one_line(text: str) -> str:
    """Text for a YAML comment: a line break in what an agency sent would end the comment and start YAML of its
    own, and control characters have no place in an entry file."""
    return " ".join(without_controls(text).split())


def _comment(text: str) -> str:
    return f"# {_one_line(text)}"


def _field(key: str, value, todo: str) -> str:
    return f"{key}: {_scalar(value)}" if value is not None else f"{key}: null  # {todo}"


def _scalar(value) -> str:
    """A value as one line of YAML that reads back as the same value (quoted where YAML would misread it)."""
    text = yaml.safe_dump(value, allow_unicode=True, width=1_000_000, default_flow_style=True, sort_keys=False)
    return text.removesuffix("\n").removesuffix("\n...")


def _term_hints(vocabulary: Vocabulary | None) -> dict[str, str]:
    """A few terms of each facet to show in the comments, so the contributor sees what is expected."""
    hints = {}
    for facet in ("designs", "substances", "conditions", "mechanisms", "settings"):
        terms = list(vocabulary.facets[facet].terms) if vocabulary and facet in vocabulary.facets else []
        shown = ", ".join(terms[:6]) + (", ..." if len(terms) > 6 else "")
        hints[facet] = f" ({shown})" if shown else ""
    return hints


_SKELETON = """\
design:
  type: null  # TODO: a term of the designs facet in vocabulary.yml{designs}
  # randomized: true
  # blinding: double-blind  # open-label | single-blind | double-blind | triple-blind | not-applicable
  # control: placebo
  # phase: 3
  # registration: [NCT00000000]
  # duration_weeks: 12
  # follow_up: 12 months
sample:
  n: null  # TODO: participants analysed or randomised, as the paper reports (or delete)
  population: null  # TODO: who took part, e.g. Adults with treatment-resistant depression (or delete)
  # arms: [{{label: Psilocybin 25 mg, n: 30}}, {{label: Placebo, n: 30}}]
interventions:
  - substance: null  # TODO: a term of the substances facet, or delete the list
    # dose: 25 mg
    # sessions: 2
    # with: psychological support
findings:
  - outcome: null  # TODO: what was measured, e.g. Depression severity
    measure: null  # TODO: the scale or instrument, e.g. MADRS (or delete)
    direction: null  # TODO: improved | worsened | no-difference | mixed
    summary: null  # TODO: the result in one plain sentence
    # main: true
    # timepoint: week 6
    # effect: {{metric: cohen_d, value: 0.0, ci: [0.0, 0.0]}}  # only numbers the paper reports
    # p: "<0.001"
mechanisms: []  # terms of the mechanisms facet the paper studies, if any{mechanisms}
substances: []  # TODO: terms of the substances facet{substances}
conditions: []  # TODO: terms of the conditions facet{conditions}
summary:
  background: null  # TODO: why the study was done
  overview: null  # TODO: what the study did and with whom
  discussion: null  # TODO: what the results mean (or delete)
  implications: null  # TODO: what practitioners can take from it (or delete)
  conclusions: null  # TODO: the authors' conclusion, in your words
applications:
  - setting: null  # TODO: a term of the settings facet{settings}, or delete the list
    text: null  # TODO: how the finding could be used there
limitations:
  - null  # TODO: one limitation per item (or delete the list)
evidence:
  certainty: null  # TODO: high | moderate | low | very-low (GRADE)
  rationale: null  # TODO: why that certainty, e.g. risk of bias, imprecision, small sample
# sources:
#   - {{label: Trial registration, url: https://clinicaltrials.gov/study/NCT00000000}}
record:
  added: {added}
# related: [another-entry-id]"""


def existing_duplicates(entries: list[Path], doi: str, title: str | None) -> list[str]:
    """Warnings naming the entries that already have this DOI or a near-identical title.

    One new title against every existing one is a linear scan, so every entry is compared directly, and a
    spelling variant (randomised/randomized) cannot hide a duplicate."""
    wanted = ascii_slug(title or "")
    warnings = []
    for path in entries:
        try:
            entry = load_entry(path)
        except ProblemError:
            continue  # a broken entry is `kb validate`'s business, not a reason to refuse a lookup
        data = entry.data if isinstance(entry.data, dict) else {}
        citation = data.get("citation") if isinstance(data.get("citation"), dict) else {}
        name = f"{data.get('id') or path.stem}"
        if citation.get("doi") and normalise_doi(str(citation["doi"])) == doi:
            line = entry.locate(("citation", "doi"))[0]
            warnings.append(f"DOI {doi} is already in the knowledge base: {name} ({entry.path}:{line})")
        elif wanted and fuzz.ratio(wanted, ascii_slug(str(data.get("title") or ""))) >= TITLE_SIMILARITY:
            line = entry.locate(("title",))[0]
            warnings.append(f"title is nearly identical to {name} ({entry.path}:{line}): probable duplicate")
    return warnings


def write_draft(draft: Draft, entries_dir: Path) -> Path:
    """Save the draft as entries/<id>.yaml, atomically; raises FileExistsError rather than overwrite."""
    target = entries_dir / f"{draft.id}.yaml"
    if target.exists():
        raise FileExistsError(target)
    write_atomic(target, draft.text)
    return target
