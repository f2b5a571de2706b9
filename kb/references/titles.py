"""Title case versus sentence case (APA 7, 6.17): reference titles are in sentence case, with a capital after a
colon, and acronyms and proper names kept as they are.

Crossref and many publishers give titles in Title Case; pasted as they are, a reference list looks mixed and a
reference manager cannot tell acronyms from capitals. `kb validate` warns on a Title Case title and proposes the
sentence-case form, and `kb new` drafts that form. A word keeps its capitals when it has a capital after its first
letter (MDMA, PTSD, LSD-25, McLean, DSM-5) or is a known proper name; a reviewer checks the rest (a person's name
in the middle of a title is written in lower case by the proposal and must be put back).

Example:

    >>> sentence_case("MDMA-Assisted Therapy for Severe PTSD: A Randomized, Double-Blind Phase 3 Study")
    'MDMA-assisted therapy for severe PTSD: A randomized, double-blind phase 3 study'
    >>> is_title_case("Psilocybin for treatment-resistant depression: fMRI-measured brain mechanisms")
    False
"""

from __future__ import annotations

import re

# Small words Title Case leaves in lower case: a title whose other words all start with a capital is Title Case.
SMALL_WORDS = frozenset(
    "a an and as at but by for from in into nor of on or over per the to up via vs versus with within without".split()  # noqa: SIM905
)
# Proper names and adjectives that open with a capital in sentence case too (extend as entries need them).
PROPER_WORDS = frozenset(
    """
    american african asian australian british canadian chinese dutch english european french german indian israeli
    japanese swiss swedish norwegian danish brazilian mexican spanish portuguese italian alzheimer's parkinson's
    crohn's hodgkin's huntington's english-speaking january february april june july august september october
    november december monday tuesday wednesday thursday friday saturday sunday
    """.split()  # noqa: SIM905
)
_WORD = re.compile(r"[^\s]+")


def _keeps_capitals(word: str) -> bool:
    """An acronym or a mixed-case word (MDMA, PTSD, fMRI, DSM-5, McLean): written as it is in any case."""
    letters = re.sub(r"[^A-Za-z]", "", word)
    return any(c.isupper() for c in letters[1:]) or bool(re.search(r"[A-Za-z]*\d", word) and word[:1].isupper())


def is_title_case(title: str) -> bool:
    """True when nearly every word that would be lower case in a sentence starts with a capital."""
    words = [w.strip("\"'“”‘’()[],;:.?!") for w in title.split()]
    candidates = [w for w in words[1:] if w and w[0].isalpha() and not _keeps_capitals(w)]
    candidates = [w for w in candidates if w.casefold() not in SMALL_WORDS]
    if len(candidates) < 3:
        return False
    capitalised = sum(w[0].isupper() for w in candidates)
    return capitalised / len(candidates) >= 0.8


def sentence_case(title: str) -> str:
    """The title with ordinary words in lower case, and a capital on the first word and after a colon."""

    def lower(match: re.Match) -> str:
        word = match.group(0)
        parts = word.split("-")
        out = []
        for part in parts:
            bare = part.strip("\"'“”‘’()[],;:.?!")
            if _keeps_capitals(bare) or bare.casefold() in PROPER_WORDS:
                out.append(part)
            else:
                out.append(part.lower())
        return "-".join(out)

    lowered = _WORD.sub(lower, title)
    return capitalise_after_colon(lowered)


def capitalise_after_colon(title: str) -> str:
    """A capital on the first letter of the title and of the first word after a colon (APA 7, 6.17).

    >>> capitalise_after_colon("self-compassion in PTSD: a secondary analysis")
    'Self-compassion in PTSD: A secondary analysis'
    """
    return re.sub(r"(^|:\s+)([\"'“‘(\[]*)([a-z])", lambda m: m.group(1) + m.group(2) + m.group(3).upper(), title)
